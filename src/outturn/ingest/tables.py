"""The one table reader: a CSV or XLSX file's cells, its header found by one policy, each cell named by its row.

Every reader in ``outturn.ingest`` reads its file here: ``ingest.grid.read_grid`` for the cells, then
``read_table`` for a table keyed by canonical column name or ``read_layout`` for a published layout such as the
national tariff, and its rows with ``RowReader``. The hardening of ``csv_files`` and ``workbooks`` (encodings,
strict quotes, field counts, formulas with no saved value, hidden rows, a cap on cells per sheet) applies to every
one.

The header policy:

- Column names match by canonical name (``canonical_name``: case, spacing and punctuation ignored), through the
  reader's aliases; a layout column marked ``prefix`` matches any header that starts with it (a header that names
  its year).
- The header is row 1, or the row the caller names (``header_row``). A published layout whose title rows sit
  above its header asks for a search (``header_search=N``): the header is the first of the first N rows that
  holds the layout's first (key) column.
- When the header is not where expected but one of the first ``HEADER_SEARCH_ROWS`` rows holds every required
  column, the fault names that row.
- Below the header, blank rows are skipped; so are note rows where the reader asks (``notes=True``): a footnote
  is text starting ``*`` in the first column with nothing in the others. Rows are numbered as a person sees them.
- Cells keep their type (an XLSX number is a number, a CSV cell is text): ``RowReader`` reads a number stored
  as text like the number, and a blank cell as no value; a reader's own ``RowReader`` adds its layout's published
  conventions (the tariff's ``-`` for "no price", and where a blank price is allowed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

from outturn.domain import problems as _problems
from outturn.domain.money import MoneyError, Pence, parse_money
from outturn.domain.periods import FinancialMonth, FinancialYear, parse_month_number
from outturn.domain.problems import Problem, ProblemsError
from outturn.ingest.csv_files import too_many_fields
from outturn.ingest.grid import Grid, is_blank, read_grid
from outturn.ingest.workbooks import UNSAVED_FORMULA, UNSAVED_FORMULA_REASON

HEADER_SEARCH_ROWS = 10
NOTE_MARK = "*"
file_fault = _problems.file_fault  # defined beside ProblemsError; the readers take it from here
HIDDEN_ROW_REASON = "this row is hidden in Excel: unhide it, or delete it if it should not be read"
NO_DATA_ROWS = "the file has a header but no data rows"


@dataclass(frozen=True)
class RawTable:
    """Cells keyed by column name, each row with the row number a person sees in the file.

    ``labels`` names a column in problems as the file publishes it (a layout's key -> its header), where given.
    """

    source: str
    sheet: str | None
    columns: tuple[str, ...]
    rows: tuple[tuple[int, Mapping[str, object]], ...]
    encoding: str | None = None  # how a CSV's text was read (``csv_files.ENCODING_LABELS``); None for XLSX
    header_row: int = 1
    labels: Mapping[str, str] = field(default_factory=dict)

    def problem(self, reason: str, row: int | None = None, column: str | None = None) -> Problem:
        label = self.labels.get(column, column) if column is not None else None
        return Problem(self.source, reason, row=row, column=label, sheet=self.sheet)


def canonical_name(header: object) -> str:
    """``Org Code`` / ``org-code`` / `` ORG_CODE `` all become ``org_code``."""
    text = "" if header is None else str(header)
    return "_".join(re.sub(r"[^0-9a-z]+", " ", text.strip().lower()).split())


def find_header(
    grid: Grid, names: Callable[[Sequence[object]], Collection[str]], wanted: Collection[str], within: int
) -> int | None:
    """The index of the first of the first ``within`` rows whose ``names`` include every one of ``wanted``."""
    for index, row in enumerate(grid.rows[:within]):
        found = names(row)
        if all(name in found for name in wanted):
            return index
    return None


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
    grid = read_grid(path, sheet)
    aliases = aliases or {}

    def names(row_cells: Sequence[object]) -> list[str]:
        return [aliases.get(canonical_name(cell), canonical_name(cell)) for cell in row_cells]

    if grid.is_empty():
        raise grid.fault("the file is empty")
    header_index = (header_row or 1) - 1
    if header_index >= len(grid.rows):
        raise grid.fault(f"there is no row {header_row}", row=header_row)
    header = names(grid.rows[header_index])
    missing = [column for column in required if column not in header]
    if missing:
        below = find_header(grid, names, required, HEADER_SEARCH_ROWS) if header_row is None else None
        if below is not None:
            raise grid.fault(
                f"the header is on row {below + 1}, below a title row: remove the rows above it "
                f"or give the header row (--header-row {below + 1})",
                row=1,
            )
        found = ", ".join(column for column in header if column) or "nothing"
        raise grid.fault(f"missing column(s): {', '.join(missing)} (found: {found})", row=header_index + 1)
    wanted = set(required) | set(optional)
    duplicated = sorted({column for column in header if column in wanted and header.count(column) > 1})
    if duplicated:
        raise grid.fault(f"column(s) appear more than once: {', '.join(duplicated)}", row=header_index + 1)
    positions = {column: header.index(column) for column in wanted if column in header}
    table = rows_below(grid, header_index, positions)
    if not table.rows:
        raise grid.fault(NO_DATA_ROWS, row=header_index + 1)
    _check_cells(grid, table, header_index)
    return table


@dataclass(frozen=True)
class Column:
    """A column of a published layout: ``key`` in the table, found by its published ``label``'s canonical name
    (any header that starts with it where ``prefix``: the MFF's header names its year)."""

    key: str
    label: str
    prefix: bool = False

    def matches(self, name: str) -> bool:
        wanted = canonical_name(self.label)
        return name == wanted or (self.prefix and name.startswith(wanted))


def read_layout(
    path: Path,
    columns: Sequence[Column],
    *,
    sheet: str | None = None,
    header_search: int | None = None,
    notes: bool = False,
) -> RawTable:
    """The table of a published layout: its header on row 1, or found in the first ``header_search`` rows by the
    first column; every missing or repeated column is a problem, named by its label; cells keyed by ``key`` and
    named in problems by the header as published. The table may have no rows (the caller says what that means)."""
    grid = read_grid(path, sheet)
    if grid.is_empty():
        raise grid.fault("the file is empty")
    header_index = 0
    if header_search is not None:
        key = canonical_name(columns[0].label)
        found = find_header(grid, lambda row: [canonical_name(cell) for cell in row], (key,), header_search)
        if found is None:
            raise grid.fault(f"no header row (a {key!r} cell) in the first {header_search} rows")
        header_index = found
    header = [canonical_name(cell) for cell in grid.rows[header_index]]
    problems: list[Problem] = []
    positions: dict[str, int] = {}
    for column in columns:
        matched = [index for index, name in enumerate(header) if column.matches(name)]
        if len(matched) == 1:
            positions[column.key] = matched[0]
            continue
        reason = "missing column" if not matched else "the column appears more than once"
        problems.append(Problem(grid.source, reason, header_index + 1, column.label, grid.sheet))
    if problems:
        raise ProblemsError(problems, f"cannot import {grid.source}")
    published = grid.rows[header_index]
    labels = {key: " ".join(text_of(published[index]).split()) for key, index in positions.items()}
    return table_below(grid, header_index, positions, labels, notes=notes)


def rows_below(
    grid: Grid,
    header_index: int,
    positions: Mapping[str, int],
    labels: Mapping[str, str] | None = None,
    *,
    notes: bool = False,
) -> RawTable:
    """The non-blank rows below the header (and not notes, where ``notes``), keyed by ``positions``' columns."""
    first = next(iter(positions), None)
    rows = []
    for number, row in enumerate(grid.rows[header_index + 1 :], start=header_index + 2):
        if is_blank(row):
            continue
        cells = {column: (row[index] if index < len(row) else None) for column, index in positions.items()}
        if notes and first is not None and is_note(cells, first):
            continue
        rows.append((number, cells))
    return RawTable(
        grid.source, grid.sheet, tuple(positions), tuple(rows), grid.encoding, header_index + 1, dict(labels or {})
    )


# look-alike of rows_below's signature: declarative, this wraps it and adds the checks every reader makes.
def table_below(
    grid: Grid,
    header_index: int,
    positions: Mapping[str, int],
    labels: Mapping[str, str] | None = None,
    *,
    notes: bool = False,
) -> RawTable:
    """The rows below the header at ``header_index`` (as ``read_layout`` keeps them), keyed by ``positions``'
    columns, once every cell of the file has passed the checks every reader makes (field counts, formulas with no
    saved value, hidden rows)."""
    table = rows_below(grid, header_index, positions, labels, notes=notes)
    _check_cells(grid, table, header_index)
    return table


def is_note(cells: Mapping[str, object], first: str) -> bool:
    """A footnote below a table: text starting ``*`` in its first column and nothing in the others."""
    if not text_of(cells.get(first)).startswith(NOTE_MARK):
        return False
    return all(not text_of(cell) for column, cell in cells.items() if column != first)


def cell_problems(grid: Grid, table: RawTable, header_index: int) -> list[Problem]:
    """A problem for every record with more fields than the header, formula with no saved value in the table's
    columns and hidden row of data: the checks every reader makes."""
    problems = too_many_fields(grid.source, grid.records, header_index) if grid.records else []
    return problems + unreadable_cells(table, grid.hidden_rows)


def _check_cells(grid: Grid, table: RawTable, header_index: int) -> None:
    if problems := cell_problems(grid, table, header_index):
        raise ProblemsError(sorted(problems, key=lambda problem: problem.row or 0), f"cannot import {grid.source}")


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
K = TypeVar("K")


def earlier_row(first_row_of: dict[K, int], key: K, number: int) -> int | None:
    """The row that first gave ``key`` when row ``number`` gives it again (a duplicate), else None (and row
    ``number`` is recorded as its first). ``first_row_of`` (key -> first row) is shared across the rows of one
    file; each reader words its own problem, naming the row, the column and what is repeated."""
    first = first_row_of.setdefault(key, number)
    return None if first == number else first


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
        elif (earlier := earlier_row(first_row, code, self.number)) is not None:
            self.fault(f"practice {code} already appears in row {earlier}", column)
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
