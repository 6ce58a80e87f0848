"""Line commentary from CSV or XLSX: one row per ledger line and month.

Columns (case, spacing and punctuation do not matter): ``org_code`` (or ``entity``, ``organisation``),
``cost_centre``, ``subjective_code`` (or ``subjective``, ``account``), ``month`` (M06, 6, Sep, or a date in the
year) and ``commentary`` (or ``comment``, ``explanation``); an optional ``year`` (2025/26) must be the year being
imported. For a ledger imported at category level the cost centre is the category (``acute``) and the subjective
code the subcategory (blank for a category with none). A line and month may appear once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from outturn.domain.commentary import clean_text
from outturn.domain.periods import FinancialYear
from outturn.domain.problems import Problem
from outturn.domain.trial_balance import TrialBalanceLineKey
from outturn.ingest.tables import RowReader, earlier_row, organisation_parser, read_table

REQUIRED_COLUMNS = ("org_code", "cost_centre", "subjective_code", "month", "commentary")
OPTIONAL_COLUMNS = ("year",)
COLUMN_ALIASES = MappingProxyType(
    {
        "entity": "org_code",
        "entity_code": "org_code",
        "organisation": "org_code",
        "organisation_code": "org_code",
        "org": "org_code",
        "cost_centre_code": "cost_centre",
        "cost_center": "cost_centre",
        "cc": "cost_centre",
        "subjective": "subjective_code",
        "account": "subjective_code",
        "account_code": "subjective_code",
        "expense_code": "subjective_code",
        "period": "month",
        "comment": "commentary",
        "comments": "commentary",
        "explanation": "commentary",
        "variance_commentary": "commentary",
        "financial_year": "year",
    }
)


@dataclass(frozen=True)
class CommentaryRow:
    row: int  # as a person sees it in the file
    key: TrialBalanceLineKey
    month: int
    text: str


def _row(
    reader: RowReader, year: FinancialYear, known_org_codes: Collection[str]
) -> tuple[str | None, int | None, str | None]:
    org_code = reader.parse("org_code", organisation_parser(known_org_codes))
    stated = reader.parse("year", FinancialYear.parse, required=False)
    if stated is not None and stated != year:
        reader.fault(f"the row is for {stated.label}, but the file is imported into {year.label}", "year")
    month = reader.month("month", year)
    text = reader.parse("commentary", clean_text)
    if not reader.text("cost_centre"):
        reader.fault("a value is required", "cost_centre")
    return org_code, month, text


# look-alike of read_ledger and read_trial_balance: declarative, read_table with this file's own columns, and the
# loop's own row type and key.
def read_commentary(
    path: Path,
    *,
    year: FinancialYear,
    known_org_codes: Collection[str],
    sheet: str | None = None,
    header_row: int | None = None,
) -> tuple[list[CommentaryRow], list[Problem]]:
    """Every valid row, and every problem (row, column, reason); the caller stores nothing if there is any."""
    table = read_table(
        path,
        required=REQUIRED_COLUMNS,
        optional=OPTIONAL_COLUMNS,
        aliases=COLUMN_ALIASES,
        sheet=sheet,
        header_row=header_row,
    )
    rows: list[CommentaryRow] = []
    problems: list[Problem] = []
    first_row_of: dict[tuple[TrialBalanceLineKey, int], int] = {}
    memo: dict[tuple[str, str], object] = {}
    for number, cells in table.rows:
        reader = RowReader(table, number, cells, memo)
        org_code, month, text = _row(reader, year, known_org_codes)
        problems.extend(reader.problems)
        if reader.problems or org_code is None or month is None or text is None:
            continue
        key = TrialBalanceLineKey(org_code, reader.text("cost_centre"), reader.text("subjective_code"))
        earlier = earlier_row(first_row_of, (key, month), number)
        if earlier is not None:
            problems.append(table.problem(f"duplicate of row {earlier}: {key.label} M{month:02d}", number))
            continue
        rows.append(CommentaryRow(number, key, month, text))
    return rows, problems
