"""A file's cells as a person sees them, CSV or XLSX, read with the hardening of ``csv_files`` and ``workbooks``.

The first step of the one table reader (``ingest.tables``): every reader gets its cells here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from outturn.domain.problems import Problem, ProblemsError, file_fault
from outturn.ingest.csv_files import read_csv_records
from outturn.ingest.workbooks import SheetCells, open_workbook, read_sheet, sheet_title


@dataclass(frozen=True)
class Grid:
    """A file's cells as a person sees them: ``rows[0]`` is row 1; for a CSV, its records and encoding too."""

    source: str
    sheet: str | None
    rows: tuple[Sequence[object], ...]
    hidden_rows: frozenset[int] = frozenset()
    encoding: str | None = None  # how a CSV's text was read (``csv_files.ENCODING_LABELS``); None for XLSX
    records: tuple[list[str], ...] = ()  # a CSV's records, for their field counts

    def fault(self, reason: str, row: int | None = None, column: str | None = None) -> ProblemsError:
        problem = Problem(self.source, reason, row=row, column=column, sheet=self.sheet)
        return ProblemsError([problem], f"cannot import {self.source}")

    def is_empty(self) -> bool:
        return all(is_blank(row) for row in self.rows)


def is_blank(cells: Sequence[object]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def read_grid(path: Path, sheet: str | None = None) -> Grid:
    """The cells of ``path`` (``.csv``, or ``.xlsx``: ``sheet``, else the first sheet, which must be visible)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        with open_workbook(path) as workbook:
            return sheet_grid(path.name, read_sheet(workbook, sheet_title(workbook, path.name, sheet), path.name))
    if path.suffix.lower() == ".csv":
        if sheet is not None:
            raise file_fault(path.name, f"a sheet ({sheet!r}) was named, but a CSV file has no sheets")
        csv_file = read_csv_records(path)
        return Grid(path.name, None, csv_file.records, encoding=csv_file.encoding, records=csv_file.records)
    raise ProblemsError([Problem(path.name, "unsupported file type: expected .csv or .xlsx")], "cannot read")


def read_sheets(path: Path, titles: Sequence[str]) -> dict[str, Grid]:
    """The sheets ``titles`` of the workbook ``path``, opened once; a missing sheet is a fault naming those held."""
    with open_workbook(path) as workbook:
        missing = [title for title in titles if title not in workbook.sheetnames]
        if missing:
            held = ", ".join(workbook.sheetnames)
            raise file_fault(path.name, f"no sheet(s) {', '.join(missing)} (sheets: {held})")
        return {title: sheet_grid(path.name, read_sheet(workbook, title, path.name)) for title in titles}


def sheet_grid(source: str, cells: SheetCells) -> Grid:
    """A sheet already read (a workbook of several tables is opened once) as the reader's cells."""
    return Grid(source, cells.title, cells.rows, cells.hidden_rows)
