"""Writing tables to an Excel sheet (openpyxl): headings, numbers as numbers, money in pounds with a £ format and
again in whole pence under its JSON field name, so a workbook reconciles exactly with the JSON it came from."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from outturn.domain.money import VARIANCE_CONVENTION

Row = Mapping[str, Any]

POUNDS_FORMAT = "£#,##0.00;[Red](£#,##0.00)"  # negatives in brackets, as every other surface shows them
THOUSANDS_FORMAT = "#,##0;[Red](#,##0)"  # £000, as returns to NHS England are made
PENCE_FORMAT = "0"
SHARE_FORMAT = "0.0%"
RATE_FORMAT = "#,##0.000"
BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="E8EDEE")
_PENCE_FONT = Font(italic=True, color="768692")


@dataclass(frozen=True)
class Column:
    """A column of a table: its heading and how to read its value from a row. ``money`` columns hold pence: they
    are shown in pounds and repeated, in pence, at the end of the table under ``key``."""

    heading: str
    key: str
    kind: str = "text"  # text, money, thousands (money shown in £000), int, float, share
    read: Callable[[Row], Any] | None = None

    def value(self, row: Row) -> Any:
        return self.read(row) if self.read else row.get(self.key)


def money(heading: str, key: str, read: Callable[[Row], Any] | None = None) -> Column:
    return Column(heading, key, "money", read)


def thousands(heading: str, key: str, read: Callable[[Row], Any] | None = None) -> Column:
    """A money column shown in £000 (and repeated in pence at the end of the table, as ``money`` is)."""
    return Column(heading, key, "thousands", read)


MONEY_KINDS = frozenset({"money", "thousands"})


def write_table(sheet: Worksheet, start_row: int, columns: Sequence[Column], rows: Iterable[Row]) -> int:
    """Headings at ``start_row``, then one line per row; returns the next free row."""
    pence = [column for column in columns if column.kind in MONEY_KINDS]
    headings = [column.heading for column in columns] + [column.key for column in pence]
    for index, heading in enumerate(headings, start=1):
        cell = sheet.cell(start_row, index, heading)
        cell.font, cell.fill = BOLD, _HEADER_FILL
        if index > len(columns):
            cell.font = Font(bold=True, italic=True, color="768692")
    number = start_row
    for number, row in enumerate(rows, start=start_row + 1):
        for index, column in enumerate(columns, start=1):
            put_cell(sheet.cell(number, index), column.kind, column.value(row))
        for offset, column in enumerate(pence, start=len(columns) + 1):
            cell = sheet.cell(number, offset, column.value(row))
            cell.number_format, cell.font = PENCE_FORMAT, _PENCE_FONT
    return number + 2


def put_cell(cell: Any, kind: str, value: Any) -> None:
    if kind == "money":
        cell.value = None if value is None else value / 100
        cell.number_format = POUNDS_FORMAT
    elif kind == "thousands":
        cell.value = None if value is None else value / 100_000
        cell.number_format = THOUSANDS_FORMAT
    elif kind == "share":
        cell.value = None if value is None else float(value)
        cell.number_format = SHARE_FORMAT
    elif kind == "float":
        cell.value = None if value is None else float(value)
        cell.number_format = RATE_FORMAT
    elif isinstance(value, list | tuple):
        cell.value = ", ".join(str(item) for item in value)
    else:
        cell.value = value


def new_sheet(
    book: Workbook, title: str, note: str | None = None, *, convention: bool = False
) -> tuple[Worksheet, int]:
    """A sheet with its title, an optional note, and with ``convention`` the variance sign convention (row 3)."""
    sheet = book.create_sheet(title)
    sheet.cell(1, 1, title).font = Font(bold=True, size=13, color="003087")
    if note:
        sheet.cell(2, 1, note).font = Font(italic=True, color="425563")
    if convention:
        sheet.cell(3, 1, VARIANCE_CONVENTION).font = Font(italic=True, color="425563")
    return sheet, 4


def fit_widths(sheet: Worksheet) -> None:
    for index, column in enumerate(sheet.iter_cols(min_row=4), start=1):
        longest = max((len(str(cell.value)) for cell in column if cell.value is not None), default=8)
        sheet.column_dimensions[get_column_letter(index)].width = min(max(10, longest + 2), 60)


def field_rows(document: Row, fields: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"label": label, "field": key, "value": document[key]} for label, key in fields]


FIELD_COLUMNS = (Column("Figure", "label"), money("£", "pence", lambda row: row["value"]), Column("Field", "field"))
