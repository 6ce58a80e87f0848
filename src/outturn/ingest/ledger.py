"""The monthly ledger from CSV or XLSX: budget and actual by organisation, cost category and month.

Columns (case and spacing do not matter): ``org_code``, ``year`` (2025/26), ``month`` (M08, 8 or Nov),
``category``, ``budget``, ``actual`` (blank for months not yet reported); optional ``subcategory``,
``one_off`` (the part of the actual that is a known one-off item) and ``note``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from outturn.domain.ledger import CostCategory, LedgerLine
from outturn.domain.money import MoneyError, Pence, parse_money
from outturn.domain.periods import FinancialYear, PeriodError, parse_month_number
from outturn.domain.problems import Problem
from outturn.ingest.tables import RawTable, read_table, text_of

REQUIRED_COLUMNS = ("org_code", "year", "month", "category", "budget", "actual")
OPTIONAL_COLUMNS = ("subcategory", "one_off", "note")
COLUMN_ALIASES = MappingProxyType(
    {
        "organisation": "org_code",
        "organisation_code": "org_code",
        "org": "org_code",
        "code": "org_code",
        "financial_year": "year",
        "fy": "year",
        "period": "month",
        "cost_category": "category",
        "budget_gbp": "budget",
        "actual_gbp": "actual",
        "actuals": "actual",
        "line": "subcategory",
        "one_off_items": "one_off",
        "non_recurrent": "one_off",
    }
)

T = TypeVar("T")


class _RowReader:
    """Parses one row's cells, collecting a problem for each bad cell instead of stopping at the first."""

    def __init__(
        self, table: RawTable, number: int, cells: dict[str, object], memo: dict[tuple[str, str], object]
    ) -> None:
        self.table, self.number, self.cells, self.memo = table, number, cells, memo
        self.problems: list[Problem] = []

    def parse(self, column: str, parser: Callable[[str], T]) -> T | None:
        """Parse a required cell; codes, years, months and categories repeat, so each text is parsed once."""
        text = text_of(self.cells.get(column))
        if not text:
            self.problems.append(self.table.problem("a value is required", self.number, column))
            return None
        key = (column, text)
        if key not in self.memo:
            try:
                self.memo[key] = parser(text)
            except (ValueError, MoneyError, PeriodError) as error:
                self.memo[key] = error
        value = self.memo[key]
        if isinstance(value, Exception):
            self.problems.append(self.table.problem(str(value), self.number, column))
            return None
        return value  # type: ignore[return-value]

    def money(self, column: str, *, required: bool) -> Pence | None:
        cell = self.cells.get(column)
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            if required:
                self.problems.append(self.table.problem("a money amount is required", self.number, column))
            return None
        try:
            return parse_money(cell)
        except MoneyError as error:
            self.problems.append(self.table.problem(str(error), self.number, column))
            return None


def _org_parser(known_org_codes: Collection[str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        code = text.upper()
        if code not in known_org_codes:
            raise ValueError(f"unknown organisation {code!r} (load organisations first)")
        return code

    return parse


def _line_from_row(
    table: RawTable,
    number: int,
    cells: dict[str, object],
    known_org_codes: Collection[str],
    memo: dict[tuple[str, str], object],
) -> tuple[LedgerLine | None, list[Problem]]:
    month_cell = cells.get("month")
    if isinstance(month_cell, date):  # a month typed as a date in Excel ("Nov-25")
        cells["month"] = month_cell.strftime("%B")
    reader = _RowReader(table, number, cells, memo)
    org_code = reader.parse("org_code", _org_parser(known_org_codes))
    year = reader.parse("year", FinancialYear.parse)
    month = reader.parse("month", parse_month_number)
    category = reader.parse("category", CostCategory.parse)
    budget = reader.money("budget", required=True)
    actual = reader.money("actual", required=False)
    one_off = reader.money("one_off", required=False) or 0
    if one_off and not text_of(cells.get("actual")):
        reader.problems.append(table.problem("a one-off amount needs an actual in the same row", number, "one_off"))
    if reader.problems or org_code is None or year is None or month is None or category is None or budget is None:
        return None, reader.problems
    line = LedgerLine(
        org_code=org_code,
        year=year,
        month=month,
        category=category,
        subcategory=text_of(cells.get("subcategory")),
        budget_pence=budget,
        actual_pence=actual,
        one_off_pence=one_off,
        note=text_of(cells.get("note")),
    )
    return line, []


def read_ledger(
    path: Path,
    *,
    known_org_codes: Collection[str],
    sheet: str | None = None,
    header_row: int | None = None,
) -> tuple[list[LedgerLine], list[Problem]]:
    """Every valid line, and every problem (row, column, reason); the caller stores nothing if any."""
    table = read_table(
        path,
        required=REQUIRED_COLUMNS,
        optional=OPTIONAL_COLUMNS,
        aliases=COLUMN_ALIASES,
        sheet=sheet,
        header_row=header_row,
    )
    lines: list[LedgerLine] = []
    problems: list[Problem] = []
    first_row_of: dict[tuple[str, int, int, str, str], int] = {}
    memo: dict[tuple[str, str], object] = {}
    for number, cells in table.rows:
        line, row_problems = _line_from_row(table, number, dict(cells), known_org_codes, memo)
        problems.extend(row_problems)
        if line is None:
            continue
        earlier = first_row_of.setdefault(line.key, number)
        if earlier != number:
            problems.append(
                table.problem(
                    f"duplicate of row {earlier}: {line.org_code} {line.year} M{line.month:02d} "
                    f"{line.category.value}" + (f" / {line.subcategory}" if line.subcategory else ""),
                    number,
                )
            )
            continue
        lines.append(line)
    return lines, problems
