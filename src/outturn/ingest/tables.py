"""Reading a rectangular table from CSV or XLSX, finding its header, and naming where each cell came from."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

from outturn.domain import problems as _problems
from outturn.domain.money import MoneyError, Pence, parse_money
from outturn.domain.periods import FinancialMonth, FinancialYear, parse_month_number
from outturn.domain.problems import Problem, ProblemsError
from outturn.ingest.csv_files import read_csv_records, too_many_fields
from outturn.ingest.workbooks import (
    UNSAVED_FORMULA,
    UNSAVED_FORMULA_REASON,
    SheetCells,
    open_workbook,
    read_sheet,
    sheet_title,
)

HEADER_SEARCH_ROWS = 10
file_fault = _problems.file_fault  # defined beside ProblemsError; the readers take it from here
HIDDEN_ROW_REASON = "this row is hidden in Excel: unhide it, or delete it if it should not be read"


@dataclass(frozen=True)
class RawTable:
    """Cells keyed by canonical column name, each row with the row number a person sees in the file."""

    source: str
    sheet: str | None
    columns: tuple[str, ...]
    rows: tuple[tuple[int, Mapping[str, object]], ...]
    encoding: str | None = None  # how a CSV's text was read (``csv_files.ENCODING_LABELS``); None for XLSX

    def problem(self, reason: str, row: int | None = None, column: str | None = None) -> Problem:
        return Problem(self.source, reason, row=row, column=column, sheet=self.sheet)


def canonical_name(header: object) -> str:
    """``Org Code`` / ``org-code`` / `` ORG_CODE `` all become ``org_code``."""
    text = "" if header is None else str(header)
    return "_".join(re.sub(r"[^0-9a-z]+", " ", text.strip().lower()).split())


def _read_xlsx(path: Path, sheet: str | None) -> SheetCells:
    with open_workbook(path) as workbook:
        return read_sheet(workbook, sheet_title(workbook, path.name, sheet), path.name)


def _is_blank(cells: Sequence[object]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def read_table(
    path: Path,
    *,
    required: Collection[str],
    optional: Collection[str] = (),
    aliases: Mapping[str, str] | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
) -> RawTable:
    """Read ``path`` (``.csv`` or ``.xlsx``) whose header is on row 1, or on ``header_row`` when given.

    Raises ``ProblemsError`` for an empty file, a missing column, or a header that sits below title rows
    (naming the row, so the user can remove the rows above it or pass ``header_row``).
    """
    aliases = aliases or {}
    sheet_name: str | None = None
    encoding: str | None = None
    hidden_rows: frozenset[int] = frozenset()
    records: tuple[list[str], ...] = ()
    cells: list[Sequence[object]]
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        sheet_cells = _read_xlsx(path, sheet)
        sheet_name, hidden_rows = sheet_cells.title, sheet_cells.hidden_rows
        cells = list(sheet_cells.rows)
    elif path.suffix.lower() == ".csv":
        if sheet is not None:
            raise _problems.file_fault(path.name, f"a sheet ({sheet!r}) was named, but a CSV file has no sheets")
        csv_file = read_csv_records(path)
        records, encoding = csv_file.records, csv_file.encoding
        cells = list(records)
    else:
        raise ProblemsError([Problem(path.name, "unsupported file type: expected .csv or .xlsx")], "cannot read")

    def fail(reason: str, row: int | None = None, column: str | None = None) -> ProblemsError:
        problem = Problem(path.name, reason, row=row, column=column, sheet=sheet_name)
        return ProblemsError([problem], f"cannot import {path.name}")

    def names(row_cells: Sequence[object]) -> list[str]:
        return [aliases.get(canonical_name(cell), canonical_name(cell)) for cell in row_cells]

    if not cells or all(_is_blank(row) for row in cells):
        raise fail("the file is empty")
    header_index = (header_row or 1) - 1
    if header_index >= len(cells):
        raise fail(f"there is no row {header_row}", row=header_row)
    header = names(cells[header_index])
    missing = [column for column in required if column not in header]
    if missing:
        if header_row is None:
            for index in range(1, min(HEADER_SEARCH_ROWS, len(cells))):
                if all(column in names(cells[index]) for column in required):
                    raise fail(
                        f"the header is on row {index + 1}, below a title row: remove the rows above it "
                        f"or give the header row (--header-row {index + 1})",
                        row=1,
                    )
        found = ", ".join(column for column in header if column) or "nothing"
        raise fail(f"missing column(s): {', '.join(missing)} (found: {found})", row=header_index + 1)
    wanted = set(required) | set(optional)
    duplicated = sorted({column for column in header if column in wanted and header.count(column) > 1})
    if duplicated:
        raise fail(f"column(s) appear more than once: {', '.join(duplicated)}", row=header_index + 1)
    positions = {column: header.index(column) for column in wanted if column in header}
    rows = tuple(
        (
            number,
            {column: (row[index] if index < len(row) else None) for column, index in positions.items()},
        )
        for number, row in enumerate(cells[header_index + 1 :], start=header_index + 2)
        if not _is_blank(row)
    )
    if not rows:
        raise fail("the file has a header but no data rows", row=header_index + 1)
    table = RawTable(path.name, sheet_name, tuple(positions), rows, encoding)
    problems = too_many_fields(path.name, records, header_index) if records else []
    problems += unreadable_cells(table, hidden_rows)
    if problems:
        raise ProblemsError(sorted(problems, key=lambda problem: problem.row or 0), f"cannot import {path.name}")
    return table


def unreadable_cells(table: RawTable, hidden_rows: Collection[int] = ()) -> list[Problem]:
    """A problem for each formula with no saved value in the table's columns, and for each hidden row of data."""
    problems = []
    for number, cells in table.rows:
        if number in hidden_rows:
            problems.append(table.problem(HIDDEN_ROW_REASON, number))
        problems += [
            table.problem(UNSAVED_FORMULA_REASON, number, column)
            for column, cell in cells.items()
            if cell is UNSAVED_FORMULA
        ]
    return problems


def text_of(cell: object) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


T = TypeVar("T")


class RowReader:
    """Reads one row's cells; each bad cell adds a problem (row, column, reason) instead of stopping at the first.

    ``memo`` (shared across the rows of one file) parses each distinct text of a column once: codes, years,
    months and categories repeat on every row of a ledger.
    """

    def __init__(
        self,
        table: RawTable,
        number: int,
        cells: Mapping[str, object],
        memo: dict[tuple[str, str], object] | None = None,
    ) -> None:
        self.table, self.number, self.cells, self.memo = table, number, cells, memo
        self.problems: list[Problem] = []

    def fault(self, reason: str, column: str | None = None) -> None:
        self.problems.append(self.table.problem(reason, self.number, column))

    def text(self, column: str) -> str:
        return text_of(self.cells.get(column))

    def practice_code(self, column: str, first_row: dict[str, int], *, required: bool = True) -> str:
        """The practice code in ``column`` (upper case); a fault when it is missing (``required``) or when an
        earlier row of the file (``first_row``: code -> row, shared across the rows) already gave it."""
        code = self.text(column).upper()
        if required and not code:
            self.fault("a practice code is required", column)
        elif first_row.setdefault(code, self.number) != self.number:
            self.fault(f"practice {code} already appears in row {first_row[code]}", column)
        return code

    def parse(self, column: str, parser: Callable[[str], T], *, required: bool = True) -> T | None:
        cell = self.cells.get(column)
        if cell is UNSAVED_FORMULA:  # reported once, by ``unreadable_cells``
            return None
        text = cell.strftime("%B") if isinstance(cell, date) else text_of(cell)  # a month typed as a date: Nov-25
        if not text:
            if required:
                self.fault("a value is required", column)
            return None
        if self.memo is None:
            parsed = self._parsed(column, text, parser)
            return None if parsed is _FAILED else parsed  # type: ignore[return-value]
        key = (column, text)
        if key not in self.memo:
            self.memo[key] = self._parsed(column, text, parser)
        elif self.memo[key] is _FAILED:
            self._parsed(column, text, parser)  # record this row's problem too
        value = self.memo[key]
        return None if value is _FAILED else value  # type: ignore[return-value]

    def month(self, column: str, year: FinancialYear | None, *, required: bool = True) -> int | None:
        """A month of the financial year ``year`` (M08, 8, Nov); a date (a cell Excel shows as Dec-25) must fall
        in that year: December 2025 is M09 of 2025/26, never of 2024/25."""
        cell = self.cells.get(column)
        if not isinstance(cell, date):
            return self.parse(column, parse_month_number, required=required)
        try:
            month = FinancialMonth.from_calendar(cell.year, cell.month)
        except ValueError as error:  # a year outside those outturn knows
            self.fault(f"the date {cell:%d %B %Y} is not a month outturn can hold: {error}", column)
            return None
        if year is not None and month.year != year:
            self.fault(
                f"the date {cell:%d %B %Y} falls in {month.year.label} ({month.label}), not in {year.label}: "
                "give the month as M01-M12 or a date in the row's year",
                column,
            )
            return None
        return month.number

    def _parsed(self, column: str, text: str, parser: Callable[[str], T]) -> T | object:
        try:
            return parser(text)
        except ValueError as error:  # MoneyError and PeriodError are ValueErrors
            self.fault(str(error), column)
            return _FAILED

    def money(self, column: str, *, required: bool) -> Pence | None:
        cell = self.cells.get(column)
        if cell is UNSAVED_FORMULA:  # reported once, by ``unreadable_cells``
            return None
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            if required:
                self.fault("a money amount is required", column)
            return None
        try:
            return parse_money(cell)
        except MoneyError as error:
            self.fault(str(error), column)
            return None


_FAILED = object()


def non_negative_number(text: str, what: str = "a number") -> Decimal:
    """``text`` as an exact decimal, zero or more; ``ValueError`` saying what was expected otherwise."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"not {what} (a number, zero or more): {text!r}")
    return value


def organisation_parser(known_org_codes: Collection[str]) -> Callable[[str], str]:
    """Parses an organisation code (any case) that must already be loaded."""

    def parse(text: str) -> str:
        code = text.upper()
        if code not in known_org_codes:
            raise ValueError(f"unknown organisation {code!r} (load organisations first)")
        return code

    return parse
