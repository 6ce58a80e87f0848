"""Excel workbooks read safely: only the cells that exist, a cap on their number, and what Excel hides shown.

openpyxl's read-only sheets pad every row to the sheet's declared ``<dimension>`` (a 1.5 KB file declaring
A1:XFD1048576 would ask for billions of cells) and read a formula saved without its value as an empty cell. So the
sheet's XML is streamed here through openpyxl's own parser (``WorkSheetParser``, the one its read-only sheets
use), keeping only cells that exist, trimming empty cells at the end of each row, and marking a formula with no
saved value (as scripts write them: Excel saves the value, openpyxl and most libraries do not) with
``UNSAVED_FORMULA``. Rows Excel hides are listed, so a reader can refuse data it would otherwise take on trust.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

from outturn.domain.problems import file_fault

MAX_SHEET_CELLS = 5_000_000  # rows x columns as read (a row counts at least one cell); ledgers use ~0.5m
MAX_UNPACKED_BYTES = 2**31  # the workbook's parts, unpacked: a small zip can unpack to gigabytes
NOT_A_WORKBOOK = "cannot read the workbook: not an Excel workbook (.xlsx); open it in Excel and save it as one"
UNSAVED_FORMULA_REASON = "formula with no saved value: open and save the file in Excel"


class _UnsavedFormula:
    """A formula cell whose value was never saved: readers report it, never read it as blank."""

    def __repr__(self) -> str:
        return "UNSAVED_FORMULA"

    def __str__(self) -> str:
        return ""


UNSAVED_FORMULA = _UnsavedFormula()


@dataclass(frozen=True)
class SheetCells:
    """A sheet's values: ``rows[0]`` is row 1; each row ends at its last non-empty cell; hidden rows listed."""

    title: str
    rows: tuple[tuple[object, ...], ...]
    hidden_rows: frozenset[int]


@contextmanager
def open_workbook(path: Path) -> Iterator[Workbook]:
    """``path`` opened read-only with saved values; a file that is not a workbook raises ``ProblemsError``."""
    _check_unpacked_size(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, zlib.error, KeyError, ValueError, TypeError, ParseError,
            EOFError, OSError) as error:  # fmt: skip
        raise file_fault(path.name, f"{NOT_A_WORKBOOK} ({type(error).__name__})") from None
    try:
        yield book
    finally:
        book.close()


def _check_unpacked_size(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise file_fault(path.name, NOT_A_WORKBOOK) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise file_fault(path.name, f"the workbook unpacks to {unpacked:,} bytes, more than {MAX_UNPACKED_BYTES:,}")


def sheet_title(book: Workbook, source: str, sheet: str | None) -> str:
    """The sheet named ``sheet``, else the first sheet, which must not be hidden (a person would not see it)."""
    if sheet is not None:
        if sheet not in book.sheetnames:
            raise file_fault(source, f"no sheet named {sheet!r} (sheets: {', '.join(book.sheetnames)})")
        return sheet
    if not book.worksheets:
        raise file_fault(source, "the workbook has no worksheets")
    first = book.worksheets[0]
    if first.sheet_state != "visible":
        visible = [ws.title for ws in book.worksheets if ws.sheet_state == "visible"]
        reason = (
            f"the first sheet {first.title!r} is hidden: unhide it, or name the sheet to read "
            f"(visible sheets: {', '.join(visible) or 'none'})"
        )
        raise file_fault(source, reason, sheet=first.title)
    return str(first.title)


class _Parser(WorkSheetParser):  # type: ignore[misc]
    def parse_cell(self, element: Any) -> dict[str, Any]:
        cell: dict[str, Any] = super().parse_cell(element)
        # Excel saves a formula's result in <v>, an empty text result as t="str" with an empty <v>; openpyxl and
        # most scripts write no <v>, or an empty one on a number cell: the value was never worked out.
        if cell["value"] is None and element.find(FORMULA_TAG) is not None and element.get("t") != "str":
            cell["value"] = UNSAVED_FORMULA
        return cell


def read_sheet(book: Workbook, title: str, source: str) -> SheetCells:
    """The values of sheet ``title``; more than ``MAX_SHEET_CELLS`` cells raises ``ProblemsError``."""
    rows: list[tuple[object, ...]] = []
    hidden: set[int] = set()
    cells_read = 0
    try:
        for number, values, is_hidden in _rows(book, title):
            if number <= len(rows):  # rows out of order: a malformed file
                raise file_fault(source, f"{NOT_A_WORKBOOK} (row {number} appears twice)", sheet=title)
            cells_read += number - len(rows) + len(values)
            if cells_read > MAX_SHEET_CELLS:
                reason = f"the sheet has more than {MAX_SHEET_CELLS:,} cells (rows x columns): is this the right file?"
                raise file_fault(source, reason, row=number, sheet=title)
            rows.extend(() for _ in range(number - 1 - len(rows)))
            rows.append(values)
            if is_hidden and values:
                hidden.add(number)
    except (ParseError, ValueError, KeyError, TypeError, IndexError, zlib.error, zipfile.BadZipFile, EOFError):
        raise file_fault(source, f"{NOT_A_WORKBOOK} (sheet {title!r} cannot be read)", sheet=title) from None
    while rows and not rows[-1]:
        rows.pop()
    return SheetCells(title, tuple(rows), frozenset(hidden))


def _rows(book: Workbook, title: str) -> Iterator[tuple[int, tuple[object, ...], bool]]:
    """Each row in the sheet's XML: its number, its values up to the last non-empty one, and whether hidden."""
    worksheet = book[title]
    with worksheet._get_source() as xml:  # the sheet's XML part, as openpyxl's read-only sheets open it
        parser = _Parser(
            xml,
            worksheet._shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        for number, cells in parser.parse():
            values = {cell["column"]: cell["value"] for cell in cells if cell["value"] not in (None, "")}
            attributes = parser.row_dimensions.get(str(number), {})
            is_hidden = str(attributes.get("hidden", "")).lower() in ("1", "true")
            yield number, tuple(values.get(column) for column in range(1, max(values, default=0) + 1)), is_hidden
