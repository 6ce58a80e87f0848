"""The monthly ledger from CSV or XLSX: budget and actual by organisation, cost category and month.

Columns (case and spacing do not matter): ``org_code``, ``year`` (2025/26), ``month`` (M08, 8 or Nov),
``category``, ``budget``, ``actual`` (blank for months not yet reported); optional ``subcategory``,
``one_off`` (the part of the actual that is a known one-off item) and ``note``. Subcategories that differ only in
case or spacing are one line, spelt as first stored, else as first in the file.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from outturn.domain.ledger import CostCategory, LedgerLine
from outturn.domain.periods import FinancialYear
from outturn.domain.problems import Problem
from outturn.ingest.tables import RawTable, RowReader, earlier_row, organisation_parser, read_table, text_of

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


def _line_from_row(
    table: RawTable,
    number: int,
    cells: dict[str, object],
    known_org_codes: Collection[str],
    memo: dict[tuple[str, str], object],
) -> tuple[LedgerLine | None, list[Problem]]:
    reader = RowReader(table, number, cells, memo)
    org_code = reader.parse("org_code", organisation_parser(known_org_codes))
    year = reader.parse("year", FinancialYear.parse)
    month = reader.month("month", year)
    category = reader.parse("category", CostCategory.parse)
    budget = reader.money("budget", required=True)
    actual = reader.money("actual", required=False)
    one_off = reader.money("one_off", required=False) or 0
    if one_off and not text_of(cells.get("actual")):
        reader.fault("a one-off amount needs an actual in the same row", "one_off")
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


def first_spelling(subcategory: str, spellings: dict[str, str]) -> str:
    """``subcategory`` with runs of spaces made one, as first spelt in the file ignoring case: "acute  - main"
    after "Acute - Main" is the same line, not a second one."""
    tidy = " ".join(subcategory.split())
    return spellings.setdefault(tidy.casefold(), tidy)


def read_ledger(
    path: Path,
    *,
    known_org_codes: Collection[str],
    sheet: str | None = None,
    header_row: int | None = None,
    subcategories: Iterable[str] = (),
) -> tuple[list[LedgerLine], list[Problem]]:
    """Every valid line, and every problem (row, column, reason); the caller stores nothing if any.

    ``subcategories``: the spellings already stored; a subcategory differing from one only in case or spacing
    takes that spelling (the first, where several do)."""
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
    first_row_of: dict[tuple[object, ...], int] = {}
    memo: dict[tuple[str, str], object] = {}
    spellings: dict[str, str] = {}
    for stored in subcategories:
        first_spelling(stored, spellings)
    for number, cells in table.rows:
        line, row_problems = _line_from_row(table, number, dict(cells), known_org_codes, memo)
        problems.extend(row_problems)
        if line is None:
            continue
        line = replace(line, subcategory=first_spelling(line.subcategory, spellings))
        earlier = earlier_row(first_row_of, line.key, number)
        if earlier is not None:
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
