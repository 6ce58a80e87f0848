"""Importing a monthly ledger into a workspace: CSV and XLSX, replacement by month, every problem, atomicity, CLI."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.ledger import CostCategory, LedgerLine
from outturn.domain.ledger_replacement import compare_ledger
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.problems import Problem, ProblemsError
from outturn.services import savings
from outturn.services.imports import (
    FileChanged,
    ImportSummary,
    MonthClosed,
    ReplaceRequired,
    import_ledger,
    import_organisations,
)
from outturn.services.savings import SavingsError
from outturn.services.workspace import Workspace, init_workspace, open_workspace
from outturn.store import repository
from outturn.store.models import ImportRow, LedgerLineRow

ORGANISATIONS_CSV = (
    "code,name,kind,parent_code\n"
    "Y59,South East,region,\n"
    "Q1,Test ICB,icb,Y59\n"
    "Q2,Test Cluster,cluster,Y59\n"
    "01A,Alpha CCG,ccg,Q1\n"
    "02B,Beta PCT,pct,Q2\n"
)
ORG_CODES = ("Y59", "Q1", "Q2", "01A", "02B")
YEAR = 2025
HEADER = ["org_code", "year", "month", "category", "subcategory", "budget", "actual", "one_off", "note"]
BASIC_HEADER = ["org_code", "year", "month", "category", "budget", "actual"]

# The happy CSV: every money form finance sheets use, month and category aliases, lower-case codes.
GOOD_ROWS = [
    ["01A", "2025/26", "M01", "acute", "Trust X", "£1,234.56", "£1,300.00", "", ""],
    ["01A", "2025/26", "M01", "Mental health", "", "1.2m", "(1,234.00)", "", "credit note"],
    ["01A", "2025/26", "M01", "CHC", "", "£45k", "46,500.10", "1,000", "one-off package"],
    ["02B", "2025/26", "1", "prescribing", "", "100000", "", "", "not yet reported"],
    ["02b", "2025-26", "Apr", "reserves_contingency", "", "-£2,500.00", "0", "", ""],
]
# What each row above must become (org, start year, month, category), written out by hand.
GOOD_KEYS = [
    ("01A", 2025, 1, "acute", "Trust X"),
    ("01A", 2025, 1, "mental_health", ""),
    ("01A", 2025, 1, "continuing_healthcare", ""),
    ("02B", 2025, 1, "prescribing", ""),
    ("02B", 2025, 1, "reserves_contingency", ""),
]


# --- independent arithmetic over the file ----------------------------------------------------------------


def pence_of_text(text: str) -> int | None:
    """A deliberately simple reading of the test's own money texts (not outturn's parser)."""
    cleaned = text.strip()
    if not cleaned:
        return None
    negative = (cleaned.startswith("(") and cleaned.endswith(")")) or cleaned.startswith("-")
    cleaned = cleaned.strip("()-").replace("£", "").replace(",", "")
    multiplier = {"k": 1_000, "m": 1_000_000}.get(cleaned[-1].lower(), 1)
    if multiplier != 1:
        cleaned = cleaned[:-1]
    value = Decimal(cleaned) * multiplier * 100
    assert value == value.to_integral_value()
    return int(-value if negative else value)


def pence_of_cell(cell: object) -> int | None:
    if cell is None:
        return None
    if isinstance(cell, float):
        value = Decimal(repr(cell)) * 100
    elif isinstance(cell, int):
        value = Decimal(cell) * 100
    else:
        return pence_of_text(str(cell))
    assert value == value.to_integral_value()
    return int(value)


def test_the_independent_arithmetic_itself() -> None:
    assert pence_of_text("£1,234.56") == 123_456
    assert pence_of_text("(1,234.00)") == -123_400
    assert pence_of_text("1.2m") == 120_000_000
    assert pence_of_text("£45k") == 4_500_000
    assert pence_of_text("-£2,500.00") == -250_000
    assert pence_of_text("") is None
    assert pence_of_cell(1234.56) == 123_456
    assert pence_of_cell(250_000) == 25_000_000


# --- helpers and fixtures ------------------------------------------------------------------------------------


def write_csv(path: Path, rows: Sequence[Sequence[object]], header: Sequence[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[object]], *, sheet: str = "Ledger") -> Path:
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    for row in rows:
        worksheet.append(list(row))
    workbook.save(path)
    return path


def basic_row(
    org: str = "01A", month: str = "M01", category: str = "acute", budget: str = "100", actual: str = "90"
) -> list[str]:
    return [org, "2025/26", month, category, budget, actual]


def stored(workspace: Workspace) -> list[dict[str, Any]]:
    with workspace.store.reading() as session:
        rows = repository.ledger_rows(session, ORG_CODES, [YEAR])
    return sorted(rows, key=lambda row: (row["org_code"], row["month"], row["category"], row["subcategory"]))


def raw_ledger_table(workspace: Workspace) -> list[tuple[Any, ...]]:
    """Every column of every stored ledger line, ids and import ids included, in id order."""
    with workspace.store.reading() as session:
        return [tuple(row) for row in session.execute(select(LedgerLineRow.__table__).order_by(LedgerLineRow.id))]


def import_count(workspace: Workspace) -> int:
    with workspace.store.reading() as session:
        return session.scalar(select(func.count()).select_from(ImportRow)) or 0


def store_file_digest(workspace: Workspace) -> str:
    database = workspace.store.engine.url.database
    assert database is not None
    return hashlib.sha256(Path(database).read_bytes()).hexdigest()


def keyed(rows: Sequence[dict[str, Any]]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    return {
        (r["org_code"], r["year"], r["month"], r["category"], r["subcategory"]): (
            r["budget_pence"],
            r["actual_pence"],
            r["one_off_pence"],
        )
        for r in rows
    }


def problems_of(workspace: Workspace, path: Path, **options: Any) -> tuple[Problem, ...]:
    with pytest.raises(ProblemsError) as caught:
        import_ledger(workspace, path, **options)
    return caught.value.problems


@pytest.fixture
def workspace_dir(tmp_path: Path) -> Path:
    """A closed workspace holding a region, an ICB, a cluster, a CCG and a PCT."""
    directory = tmp_path / "ws"
    organisations = tmp_path / "organisations.csv"
    organisations.write_text(ORGANISATIONS_CSV, encoding="utf-8")
    with init_workspace(directory, reference_dir=tmp_path) as workspace:
        import_organisations(workspace, organisations)
    return directory


@pytest.fixture
def ws(workspace_dir: Path) -> Iterator[Workspace]:
    with open_workspace(workspace_dir) as workspace:
        yield workspace


# --- 1. the happy path ---------------------------------------------------------------------------------------


def test_csv_import_stores_exactly_what_the_file_says(ws: Workspace, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ledger.csv", GOOD_ROWS)

    summary = import_ledger(ws, path)

    assert summary == ImportSummary("ledger", "ledger.csv", 5, 0, ("01A 2025/26 M01", "02B 2025/26 M01"))
    expected = {
        key: (pence_of_text(row[5]), pence_of_text(row[6]), pence_of_text(row[7]) or 0)
        for key, row in zip(GOOD_KEYS, GOOD_ROWS, strict=True)
    }
    rows = stored(ws)
    assert keyed(rows) == expected
    assert len(rows) == len(GOOD_ROWS)
    budget_total = sum(pence_of_text(row[5]) or 0 for row in GOOD_ROWS)
    actual_total = sum(pence_of_text(row[6]) or 0 for row in GOOD_ROWS)
    assert budget_total == 123_456 + 120_000_000 + 4_500_000 + 10_000_000 - 250_000
    assert sum(r["budget_pence"] for r in rows) == budget_total
    assert sum(r["actual_pence"] or 0 for r in rows) == actual_total == 130_000 - 123_400 + 4_650_010
    # A blank actual is "not yet reported", not zero; a written 0 is zero.
    by_key = keyed(rows)
    assert by_key["02B", 2025, 1, "prescribing", ""][1] is None
    assert by_key["02B", 2025, 1, "reserves_contingency", ""][1] == 0
    assert import_count(ws) == 2  # the organisations and the ledger


def test_xlsx_import_with_float_and_int_cells(ws: Workspace, tmp_path: Path) -> None:
    header = ["Org Code", "Financial Year", "Period", "Cost Category", "Line", "Budget £", "Actual (GBP)", "One off"]
    body: list[list[object]] = [
        ["01A", "2025/26", 8, "Acute", "Trust X", 1234.56, 1300, None],
        ["01A", "2025/26", "M08", "community", "", 250000.5, 249999.99, 0.01],
        ["01A", 2025, "Nov", "Running costs", "", 98765, None, None],
        ["02B", "2025/26", 8.0, "primary_care", "", 0.1, 0.2, None],
        ["02B", "2025/26", "M08", "other", "", "£1,000.00", "(£5k)", None],
    ]
    path = write_xlsx(tmp_path / "ledger.xlsx", [header, *body])

    summary = import_ledger(ws, path)

    assert (summary.rows, summary.replaced_rows, summary.periods) == (5, 0, ("01A 2025/26 M08", "02B 2025/26 M08"))
    keys = [
        ("01A", 2025, 8, "acute", "Trust X"),
        ("01A", 2025, 8, "community", ""),
        ("01A", 2025, 8, "running_costs", ""),
        ("02B", 2025, 8, "primary_care_delegated", ""),
        ("02B", 2025, 8, "other_programme", ""),
    ]
    expected = {
        key: (pence_of_cell(row[5]), pence_of_cell(row[6]), pence_of_cell(row[7]) or 0)
        for key, row in zip(keys, body, strict=True)
    }
    rows = stored(ws)
    assert keyed(rows) == expected
    assert sum(r["budget_pence"] for r in rows) == sum(pence_of_cell(row[5]) or 0 for row in body) == 35_100_016
    assert sum(r["actual_pence"] or 0 for r in rows) == sum(pence_of_cell(row[6]) or 0 for row in body) == 24_630_019
    assert keyed(rows)["01A", 2025, 8, "community", ""] == (25_000_050, 24_999_999, 1)


# --- 2. importing a month again replaces it ------------------------------------------------------------------


def test_reimporting_a_month_replaces_it(ws: Workspace, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ledger.csv", GOOD_ROWS)
    import_ledger(ws, path)
    first = stored(ws)

    again = import_ledger(ws, path)

    assert (again.rows, again.replaced_rows) == (5, 5)
    assert stored(ws) == first
    assert sum(r["budget_pence"] for r in stored(ws)) == sum(r["budget_pence"] for r in first)

    changed = [list(row) for row in GOOD_ROWS]
    changed[0][6] = "£1,500.25"
    summary = import_ledger(ws, write_csv(tmp_path / "ledger-v2.csv", changed))

    assert (summary.rows, summary.replaced_rows) == (5, 5)
    rows = stored(ws)
    assert len(rows) == 5
    assert keyed(rows)["01A", 2025, 1, "acute", "Trust X"] == (123_456, 150_025, 0)
    assert sum(r["actual_pence"] or 0 for r in rows) == sum(r["actual_pence"] or 0 for r in first) + 150_025 - 130_000
    with ws.store.reading() as session:
        assert repository.ledger_periods(session) == [("01A", 2025, 1, 3), ("02B", 2025, 1, 2)]
    assert import_count(ws) == 4


def test_a_month_reimported_with_fewer_lines_loses_the_missing_ones(ws: Workspace, tmp_path: Path) -> None:
    import_ledger(ws, write_csv(tmp_path / "full.csv", GOOD_ROWS))

    summary = import_ledger(ws, write_csv(tmp_path / "one.csv", GOOD_ROWS[:1]), replace=True)

    # Only 01A's M01 is in the file: its three lines are replaced by one; 02B's M01 is untouched.
    assert (summary.rows, summary.replaced_rows, summary.periods) == (1, 3, ("01A 2025/26 M01",))
    assert sorted(keyed(stored(ws))) == [GOOD_KEYS[0], GOOD_KEYS[3], GOOD_KEYS[4]]


def test_importing_the_next_month_keeps_the_previous_one(ws: Workspace, tmp_path: Path) -> None:
    m01 = import_ledger(ws, write_csv(tmp_path / "m01.csv", [basic_row(), basic_row(category="CHC")], BASIC_HEADER))
    m02 = import_ledger(
        ws, write_csv(tmp_path / "m02.csv", [basic_row(month="M02", budget="110", actual="120")], BASIC_HEADER)
    )

    assert (m01.rows, m01.replaced_rows, m02.rows, m02.replaced_rows) == (2, 0, 1, 0)
    assert keyed(stored(ws)) == {
        ("01A", 2025, 1, "acute", ""): (10_000, 9_000, 0),
        ("01A", 2025, 1, "continuing_healthcare", ""): (10_000, 9_000, 0),
        ("01A", 2025, 2, "acute", ""): (11_000, 12_000, 0),
    }


def test_the_same_month_of_another_year_is_not_replaced(ws: Workspace, tmp_path: Path) -> None:
    import_ledger(ws, write_csv(tmp_path / "this-year.csv", [basic_row()], BASIC_HEADER))
    last_year = [["01A", "2024/25", "M01", "acute", "50", "40"]]

    summary = import_ledger(ws, write_csv(tmp_path / "last-year.csv", last_year, BASIC_HEADER))

    assert (summary.rows, summary.replaced_rows, summary.periods) == (1, 0, ("01A 2024/25 M01",))
    with ws.store.reading() as session:
        assert repository.ledger_periods(session) == [("01A", 2024, 1, 1), ("01A", 2025, 1, 1)]


# --- 3. bad inputs: every problem, located, and nothing stored ------------------------------------------------


def test_missing_and_misnamed_columns_are_listed(ws: Workspace, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ledger.csv", [["01A", "2025/26", "M01", "acute", "100"]], [*BASIC_HEADER[:4], "spend"])

    (problem,) = problems_of(ws, path)

    assert (problem.row, problem.column, problem.source) == (1, None, "ledger.csv")
    assert problem.reason.startswith("missing column(s): budget, actual")
    assert "found: org_code, year, month, category, spend" in problem.reason
    assert stored(ws) == []


def test_unknown_organisation(ws: Workspace, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ledger.csv", [basic_row(), basic_row(org="zz9")], BASIC_HEADER)

    (problem,) = problems_of(ws, path)

    assert (problem.row, problem.column) == (3, "org_code")
    assert "unknown organisation 'ZZ9'" in problem.reason
    assert stored(ws) == []


def test_a_column_given_twice(ws: Workspace, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ledger.csv", [[*basic_row(), "1"]], [*BASIC_HEADER, "Actuals"])

    (problem,) = problems_of(ws, path)

    assert (problem.row, problem.column, problem.reason) == (1, None, "column(s) appear more than once: actual")


def test_a_file_that_is_neither_csv_nor_xlsx(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "ledger.txt"
    path.write_text("org_code,year,month,category,budget,actual\n", encoding="utf-8")

    (problem,) = problems_of(ws, path)

    assert (problem.row, problem.source) == (None, "ledger.txt")
    assert "unsupported file type" in problem.reason


def test_an_xlsx_sheet_that_does_not_exist(ws: Workspace, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "ledger.xlsx", [BASIC_HEADER, ["01A", "2025/26", 1, "acute", 1, 1]])

    (problem,) = problems_of(ws, path, sheet="November")

    assert problem.reason == "no sheet named 'November' (sheets: Ledger)"
    assert import_ledger(ws, path, sheet="Ledger").rows == 1


@pytest.mark.parametrize("month", ["M13", "0", "13"])
def test_a_month_outside_the_year(ws: Workspace, tmp_path: Path, month: str) -> None:
    path = write_csv(tmp_path / "ledger.csv", [basic_row(), basic_row(month=month, category="community")], BASIC_HEADER)

    (problem,) = problems_of(ws, path)

    assert (problem.row, problem.column) == (3, "month")
    assert f"month {month!r} is outside the financial year" in problem.reason


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("abc", "not a money amount: 'abc'"),
        ("1,23", "ambiguous amount '1,23': commas must separate thousands"),
        ("1.234", "ambiguous amount '1.234': three decimal places"),
    ],
)
@pytest.mark.parametrize("column", ["budget", "actual"])
def test_money_that_is_not_money(ws: Workspace, tmp_path: Path, text: str, fragment: str, column: str) -> None:
    bad = basic_row(**{column: text})
    path = write_csv(tmp_path / "ledger.csv", [basic_row(category="CHC"), bad], BASIC_HEADER)

    (problem,) = problems_of(ws, path)

    assert (problem.row, problem.column) == (3, column)
    assert fragment in problem.reason
    assert stored(ws) == []


def test_an_xlsx_number_with_a_fraction_of_a_penny(ws: Workspace, tmp_path: Path) -> None:
    rows: list[Sequence[object]] = [BASIC_HEADER, ["01A", "2025/26", 1, "acute", 1234.56, 1]]
    rows.append(["01A", "2025/26", 1, "community", 12.345, 0.1])
    path = write_xlsx(tmp_path / "ledger.xlsx", rows)

    (problem,) = problems_of(ws, path)

    assert (problem.row, problem.column, problem.sheet) == (3, "budget", "Ledger")
    assert problem.reason == "fraction of a penny in '12.345'"


def test_a_duplicate_row_names_the_earlier_one(ws: Workspace, tmp_path: Path) -> None:
    rows = [
        basic_row(),
        basic_row(category="community"),
        basic_row(category="Acute", budget="5"),  # the same line as row 2 under another spelling
    ]
    path = write_csv(tmp_path / "ledger.csv", rows, BASIC_HEADER)

    (problem,) = problems_of(ws, path)

    assert (problem.row, problem.column) == (4, None)
    assert problem.reason == "duplicate of row 2: 01A 2025/26 M01 acute"
    assert stored(ws) == []


def test_the_same_category_on_different_lines_is_not_a_duplicate(ws: Workspace, tmp_path: Path) -> None:
    rows = [["01A", "2025/26", "M01", "acute", "Trust X", "1", "1", "", ""]]
    rows.append(["01A", "2025/26", "M01", "acute", "Trust Y", "2", "2", "", ""])
    assert import_ledger(ws, write_csv(tmp_path / "ledger.csv", rows)).rows == 2


def test_subcategories_differing_only_in_case_or_spacing_are_one_line(ws: Workspace, tmp_path: Path) -> None:
    rows = [["01A", "2025/26", "M01", "acute", "Acute - Main", "1", "1", "", ""],
            ["01A", "2025/26", "M02", "acute", " acute  -  MAIN ", "2", "2", "", ""],
            ["01A", "2025/26", "M02", "acute", "Acute   -   Other", "3", "3", "", ""]]  # fmt: skip
    import_ledger(ws, write_csv(tmp_path / "ledger.csv", rows))
    assert [(row["month"], row["subcategory"], row["budget_pence"]) for row in stored(ws)] == [
        (1, "Acute - Main", 100),
        (2, "Acute - Main", 200),
        (2, "Acute - Other", 300),
    ]


def test_a_later_file_takes_the_stored_spelling_of_a_subcategory(ws: Workspace, tmp_path: Path) -> None:
    first = [["01A", "2025/26", "M01", "acute", "Acute - Main", "1", "1", "", ""]]
    import_ledger(ws, write_csv(tmp_path / "m01.csv", first))
    second = [["01A", "2025/26", "M02", "acute", "ACUTE -  main", "2", "2", "", ""]]
    import_ledger(ws, write_csv(tmp_path / "m02.csv", second))
    assert [(row["month"], row["subcategory"]) for row in stored(ws)] == [(1, "Acute - Main"), (2, "Acute - Main")]


def test_the_same_subcategory_twice_in_a_month_under_two_spellings_is_a_duplicate(
    ws: Workspace, tmp_path: Path
) -> None:
    rows = [["01A", "2025/26", "M01", "acute", "Acute - Main", "1", "1", "", ""],
            ["01A", "2025/26", "M01", "acute", "acute  - main", "2", "2", "", ""]]  # fmt: skip
    before = store_file_digest(ws)
    (problem,) = problems_of(ws, write_csv(tmp_path / "ledger.csv", rows))
    assert (problem.source, problem.row) == ("ledger.csv", 3)
    assert problem.reason == "duplicate of row 2: 01A 2025/26 M01 acute / Acute - Main"
    assert store_file_digest(ws) == before


@pytest.mark.parametrize("content", ["", "\n\n", ",,,\n"])
def test_an_empty_file(ws: Workspace, tmp_path: Path, content: str) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text(content, encoding="utf-8")

    (problem,) = problems_of(ws, path)

    assert (problem.row, problem.column, problem.reason) == (None, None, "the file is empty")


def test_a_header_with_no_rows(ws: Workspace, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ledger.csv", [["", "", "", "", "", ""]], BASIC_HEADER)

    (problem,) = problems_of(ws, path)

    assert (problem.row, problem.column) == (1, None)
    assert problem.reason == "the file has a header but no data rows"


def test_an_xlsx_title_row_above_the_header(ws: Workspace, tmp_path: Path) -> None:
    body = [["01A", "2025/26", 1, "acute", 1000.5, 900], ["02B", "2025/26", 1, "acute", 2000, None]]
    path = write_xlsx(tmp_path / "ledger.xlsx", [["Alpha CCG ledger, 2025/26 M01"], [], BASIC_HEADER, *body])

    (problem,) = problems_of(ws, path)

    assert (problem.row, problem.column, problem.sheet) == (1, None, "Ledger")
    assert "the header is on row 3" in problem.reason
    assert "remove the rows above it or give the header row (--header-row 3)" in problem.reason
    assert stored(ws) == []

    summary = import_ledger(ws, path, header_row=3)

    assert summary.rows == 2
    assert keyed(stored(ws)) == {
        ("01A", 2025, 1, "acute", ""): (100_050, 90_000, 0),
        ("02B", 2025, 1, "acute", ""): (200_000, None, 0),
    }


def test_row_numbers_count_from_the_header_row_given(ws: Workspace, tmp_path: Path) -> None:
    rows: list[Sequence[object]] = [["Title"], [], BASIC_HEADER, ["01A", "2025/26", 1, "acute", 1, 1]]
    rows.append(["01A", "2025/26", 1, "community", "abc", 1])
    path = write_xlsx(tmp_path / "ledger.xlsx", rows)

    (problem,) = problems_of(ws, path, header_row=3)

    assert (problem.row, problem.column, problem.sheet) == (5, "budget", "Ledger")


def test_a_one_off_without_an_actual(ws: Workspace, tmp_path: Path) -> None:
    rows = [["01A", "2025/26", "M01", "acute", "", "100", "", "£5k", ""]]
    path = write_csv(tmp_path / "ledger.csv", rows)

    (problem,) = problems_of(ws, path)

    assert (problem.row, problem.column) == (2, "one_off")
    assert "a one-off amount needs an actual in the same row" in problem.reason


def test_every_problem_in_the_file_is_reported_together(ws: Workspace, tmp_path: Path) -> None:
    rows = [
        basic_row(),  # row 2: good
        basic_row(org="NOPE", category="community"),  # row 3: unknown organisation
        basic_row(month="M13", budget="1,23", category="CHC"),  # row 4: two problems
        basic_row(category="dentistry"),  # row 5: unknown category
        basic_row(category="prescribing", budget=""),  # row 6: budget required
        basic_row(budget="7"),  # row 7: duplicate of row 2
    ]
    path = write_csv(tmp_path / "ledger.csv", rows, BASIC_HEADER)

    with pytest.raises(ProblemsError) as caught:
        import_ledger(ws, path)

    problems = caught.value.problems
    assert len(problems) == 6
    assert [(p.row, p.column) for p in problems] == [
        (3, "org_code"),
        (4, "month"),
        (4, "budget"),
        (5, "category"),
        (6, "budget"),
        (7, None),
    ]
    reasons = [p.reason for p in problems]
    assert "unknown organisation 'NOPE'" in reasons[0]
    assert "outside the financial year" in reasons[1]
    assert "commas must separate thousands" in reasons[2]
    assert "unknown cost category 'dentistry'" in reasons[3]
    assert reasons[4] == "a money amount is required"
    assert reasons[5].startswith("duplicate of row 2")
    assert "6 problem(s), nothing stored" in caught.value.summary
    assert {p.source for p in problems} == {"ledger.csv"}
    assert stored(ws) == []
    assert import_count(ws) == 1  # the organisations only


# --- 4. atomicity ----------------------------------------------------------------------------------------------


def test_a_half_bad_file_changes_nothing(ws: Workspace, tmp_path: Path) -> None:
    import_ledger(ws, write_csv(tmp_path / "good.csv", GOOD_ROWS))
    before, raw_before, imports_before = stored(ws), raw_ledger_table(ws), import_count(ws)
    digest_before = store_file_digest(ws)

    half_bad = [
        ["01A", "2025/26", "M01", "acute", "Trust X", "1", "1", "", ""],  # would replace 01A M01
        ["01A", "2025/26", "M02", "acute", "Trust X", "2", "2", "", ""],  # would add 01A M02
        ["02B", "2025/26", "M03", "community", "", "3", "3", "", ""],  # would add 02B M03
        ["01A", "2025/26", "M02", "community", "", "abc", "1", "", ""],
        ["ZZZ", "2025/26", "M02", "community", "", "1", "1", "", ""],
        ["02B", "2025/26", "M14", "community", "", "1", "1", "", ""],
    ]
    with pytest.raises(ProblemsError) as caught:
        import_ledger(ws, write_csv(tmp_path / "half-bad.csv", half_bad))

    assert [(p.row, p.column) for p in caught.value.problems] == [(5, "budget"), (6, "org_code"), (7, "month")]
    assert stored(ws) == before
    assert raw_ledger_table(ws) == raw_before
    assert repr(raw_ledger_table(ws)).encode() == repr(raw_before).encode()
    assert import_count(ws) == imports_before
    assert store_file_digest(ws) == digest_before


def test_a_store_failure_mid_import_rolls_everything_back(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_ledger(ws, write_csv(tmp_path / "good.csv", GOOD_ROWS))
    raw_before, imports_before = raw_ledger_table(ws), import_count(ws)
    replace = repository.replace_ledger_months

    def replace_then_fail(*args: Any, **kwargs: Any) -> int:
        replace(*args, **kwargs)
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr(repository, "replace_ledger_months", replace_then_fail)
    changed = [list(row) for row in GOOD_ROWS]
    changed[0][5] = "1"
    with pytest.raises(RuntimeError, match="disk filled up"):
        import_ledger(ws, write_csv(tmp_path / "changed.csv", changed))

    assert raw_ledger_table(ws) == raw_before
    assert import_count(ws) == imports_before


# --- 5. the command line ---------------------------------------------------------------------------------------


def run_cli(workspace_dir: Path, path: Path, *extra: str) -> tuple[int, Any]:
    result = CliRunner().invoke(
        app, ["--workspace", str(workspace_dir), "ledger", "import", str(path), *extra, "--format", "json"]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout)


def test_cli_refuses_a_bad_file_with_exit_2_and_every_problem(workspace_dir: Path, tmp_path: Path) -> None:
    rows = [basic_row(), basic_row(org="ZZZ", category="CHC"), basic_row(month="M13", category="community")]
    path = write_csv(tmp_path / "bad.csv", rows, BASIC_HEADER)

    code, body = run_cli(workspace_dir, path)

    assert code == 2
    assert "bad.csv was not imported: 2 problem(s), nothing stored" in body["error"]
    assert [(p["row"], p["column"]) for p in body["problems"]] == [(3, "org_code"), (4, "month")]
    assert "unknown organisation 'ZZZ'" in body["problems"][0]["reason"]
    assert "outside the financial year" in body["problems"][1]["reason"]
    assert {p["source"] for p in body["problems"]} == {"bad.csv"}
    with open_workspace(workspace_dir) as workspace:
        assert stored(workspace) == []


def test_cli_imports_a_good_file_with_exit_0(workspace_dir: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "good.csv", GOOD_ROWS)

    code, body = run_cli(workspace_dir, path)
    again_code, again = run_cli(workspace_dir, path)

    assert code == again_code == 0
    assert body == {
        "kind": "ledger",
        "source": "good.csv",
        "rows": 5,
        "replaced_rows": 0,
        "periods": ["01A 2025/26 M01", "02B 2025/26 M01"],
    }
    assert (again["rows"], again["replaced_rows"]) == (5, 5)
    with open_workspace(workspace_dir) as workspace:
        assert len(stored(workspace)) == 5


def test_cli_ledger_list_counts_the_lines_of_each_month_stored(workspace_dir: Path, tmp_path: Path) -> None:
    run_cli(workspace_dir, write_csv(tmp_path / "good.csv", GOOD_ROWS))

    result = CliRunner().invoke(app, ["--workspace", str(workspace_dir), "ledger", "list", "--format", "json"])

    assert result.exit_code == 0, result.output
    # GOOD_ROWS: three lines of 01A and two of 02B, all in April 2025 (M01 of 2025/26)
    assert json.loads(result.stdout) == [
        {"org_code": "01A", "year": "2025/26", "month": "M01", "lines": 3},
        {"org_code": "02B", "year": "2025/26", "month": "M01", "lines": 2},
    ]


def test_cli_header_row_option(workspace_dir: Path, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "titled.xlsx", [["Ledger"], [], BASIC_HEADER, ["01A", "2025/26", 1, "acute", 1, 1]])

    code, body = run_cli(workspace_dir, path)
    fixed_code, fixed = run_cli(workspace_dir, path, "--header-row", "3")

    assert code == 2
    assert body["problems"][0]["row"] == 1
    assert "give the header row (--header-row 3)" in body["problems"][0]["reason"]
    assert (fixed_code, fixed["rows"]) == (0, 1)


def test_an_excel_date_in_the_month_column_is_read_as_its_calendar_month(tmp_path: Path) -> None:
    """Finance sheets often hold the period as a date formatted "Nov-25": November is M08."""
    from datetime import datetime

    from openpyxl import Workbook

    from outturn.ingest.ledger import read_ledger

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["org_code", "year", "month", "category", "budget", "actual"])
    sheet.append(["01A", "2025/26", datetime(2025, 11, 1), "acute", 100.0, 90.5])
    path = tmp_path / "dated.xlsx"
    workbook.save(path)
    lines, problems = read_ledger(path, known_org_codes={"01A"})
    assert problems == []
    assert [(line.month, line.budget_pence, line.actual_pence) for line in lines] == [(8, 10_000, 9_050)]


# --- 6. a file that removes lines, or changes a closed month, needs an explicit step -------------------------

# A month of twenty lines: four categories, five lines each; budget 1,000.00 × (i + 1), actual 900.00 × (i + 1).
TWENTY_CATEGORIES = ("acute", "community", "mental_health", "prescribing")
TWENTY_ROWS = [
    [
        "01A",
        "2025/26",
        "M01",
        category,
        f"Line {n}",
        f"{1000 * (5 * c + n + 1)}.00",
        f"{900 * (5 * c + n + 1)}.00",
        "",
        "",
    ]
    for c, category in enumerate(TWENTY_CATEGORIES)
    for n in range(5)
]
CORRECTION = [["01A", "2025/26", "M01", "acute", "Line 0", "5000.00", "7000.00", "", "correction"]]


def twenty_line_month(ws: Workspace, tmp_path: Path) -> Path:
    path = write_csv(tmp_path / "m01.csv", TWENTY_ROWS)
    import_ledger(ws, path)
    return path


def expected_comparison() -> dict[str, Any]:
    """The correction against the twenty lines, worked from the rows above by plain arithmetic."""
    categories = []
    for c, category in enumerate(TWENTY_CATEGORIES):
        ns = [5 * c + n + 1 for n in range(5)]
        after = (1, 500_000, 700_000) if category == "acute" else (0, 0, 0)
        categories.append(
            {
                "org_code": "01A",
                "year": "2025/26",
                "month": "M01",
                "category": category,
                "lines_before": 5,
                "lines_after": after[0],
                "budget_before_pence": sum(100_000 * n for n in ns),
                "budget_after_pence": after[1],
                "actual_before_pence": sum(90_000 * n for n in ns),
                "actual_after_pence": after[2],
                "lines_added": 0,
                "lines_removed": 4 if category == "acute" else 5,
                "lines_changed": 1 if category == "acute" else 0,
            }
        )
    return {
        "lines_before": 20,
        "lines_after": 1,
        "budget_before_pence": 100_000 * sum(range(1, 21)),
        "budget_after_pence": 500_000,
        "actual_before_pence": 90_000 * sum(range(1, 21)),
        "actual_after_pence": 700_000,
        "lines_added": 0,
        "lines_removed": 19,
        "lines_changed": 1,
        "categories": categories,
    }


def test_a_one_line_correction_does_not_silently_replace_a_twenty_line_month(ws: Workspace, tmp_path: Path) -> None:
    twenty_line_month(ws, tmp_path)
    raw_before, imports_before = raw_ledger_table(ws), import_count(ws)
    path = write_csv(tmp_path / "correction.csv", CORRECTION)

    with pytest.raises(ReplaceRequired) as refused:
        import_ledger(ws, path)

    assert "would remove 19 stored line(s)" in str(refused.value)
    assert refused.value.document()["replaces"] == expected_comparison()
    assert refused.value.document()["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert raw_ledger_table(ws) == raw_before
    assert import_count(ws) == imports_before

    summary = import_ledger(ws, path, replace=True)

    assert (summary.rows, summary.replaced_rows) == (1, 20)
    assert keyed(stored(ws)) == {("01A", 2025, 1, "acute", "Line 0"): (500_000, 700_000, 0)}


def test_new_months_changed_figures_and_identical_files_need_no_replace(ws: Workspace, tmp_path: Path) -> None:
    path = twenty_line_month(ws, tmp_path)
    next_month = [[*row[:2], "M02", *row[3:]] for row in TWENTY_ROWS]
    import_ledger(ws, write_csv(tmp_path / "m02.csv", next_month))
    raw_before = raw_ledger_table(ws)

    again = import_ledger(ws, path)  # identical: idempotent to the penny

    assert (again.rows, again.replaced_rows) == (20, 20)
    assert [row[1:-1] for row in raw_ledger_table(ws)] != []
    assert sorted(row[1:-1] for row in raw_ledger_table(ws)) == sorted(row[1:-1] for row in raw_before)
    revised = [list(row) for row in TWENTY_ROWS]
    revised[3][6] = "1.00"
    import_ledger(ws, write_csv(tmp_path / "revised.csv", revised))  # a changed figure, nothing removed
    assert keyed(stored(ws))["01A", 2025, 1, "acute", "Line 3"] == (400_000, 100, 0)


def test_the_file_replaced_must_be_the_file_compared(ws: Workspace, tmp_path: Path) -> None:
    twenty_line_month(ws, tmp_path)
    path = write_csv(tmp_path / "correction.csv", CORRECTION)
    with pytest.raises(ReplaceRequired) as refused:
        import_ledger(ws, path)
    raw_before = raw_ledger_table(ws)
    write_csv(path, [[*CORRECTION[0][:5], "1.00", *CORRECTION[0][6:]]])  # the file changed after the comparison

    with pytest.raises(FileChanged):
        import_ledger(ws, path, replace=True, expected_sha256=refused.value.sha256)

    assert raw_ledger_table(ws) == raw_before


def test_cli_shows_what_a_file_replaces_and_needs_replace(workspace_dir: Path, tmp_path: Path) -> None:
    code, _body = run_cli(workspace_dir, write_csv(tmp_path / "m01.csv", TWENTY_ROWS))
    assert code == 0
    with open_workspace(workspace_dir) as workspace:
        raw_before = raw_ledger_table(workspace)
    path = write_csv(tmp_path / "correction.csv", CORRECTION)

    code, body = run_cli(workspace_dir, path)
    text = CliRunner().invoke(app, ["--workspace", str(workspace_dir), "ledger", "import", str(path)])

    assert code == 2
    assert body["replaces"] == expected_comparison()
    assert "correction.csv was not imported" in body["error"]
    assert text.exit_code == 2
    assert "would remove 19 stored line(s)" in text.stderr
    assert "£40,000.00 → £0.00" in text.stderr  # community's budget: 1,000 × (6 + 7 + 8 + 9 + 10) → nothing
    with open_workspace(workspace_dir) as workspace:
        assert raw_ledger_table(workspace) == raw_before

    code, body = run_cli(workspace_dir, path, "--replace")

    assert (code, body["rows"], body["replaced_rows"]) == (0, 1, 20)


def close(workspace: Workspace, month: int) -> None:
    savings.close_month(workspace, FinancialMonth(FinancialYear(YEAR), month), "finance.lead")


def test_a_closed_month_is_refused_even_with_replace_until_reopened(ws: Workspace, tmp_path: Path) -> None:
    path = twenty_line_month(ws, tmp_path)
    close(ws, 1)
    raw_before, imports_before = raw_ledger_table(ws), import_count(ws)
    revised = [list(row) for row in TWENTY_ROWS]
    revised[0][5] = "1.00"
    changed = write_csv(tmp_path / "revised.csv", revised)

    for option in (False, True):
        with pytest.raises(MonthClosed, match="2025/26 M01, which is closed"):
            import_ledger(ws, changed, replace=option)
    with pytest.raises(MonthClosed):
        import_ledger(ws, write_csv(tmp_path / "added.csv", [*TWENTY_ROWS, [*TWENTY_ROWS[0][:4], "New", "1", "1"]]))
    assert raw_ledger_table(ws) == raw_before
    assert import_count(ws) == imports_before

    import_ledger(ws, path)  # the identical month changes nothing, so a closed month takes it
    m02 = write_csv(tmp_path / "m02.csv", [[*row[:2], "M02", *row[3:]] for row in TWENTY_ROWS])
    assert import_ledger(ws, m02).rows == 20  # an open month beside a closed one


def test_reopen_with_a_reason_then_close_again(ws: Workspace, tmp_path: Path) -> None:
    twenty_line_month(ws, tmp_path)
    m01 = FinancialMonth(FinancialYear(YEAR), 1)
    with pytest.raises(SavingsError, match="not closed"):
        savings.reopen_month(ws, m01, "finance.lead", "late invoice")
    close(ws, 1)
    with pytest.raises(SavingsError, match="reason"):
        savings.reopen_month(ws, m01, "finance.lead", "  ")
    correction = write_csv(tmp_path / "correction.csv", CORRECTION)

    savings.reopen_month(ws, m01, "finance.lead", "late invoice from Trust X")

    with pytest.raises(SavingsError, match="reopened already"):
        savings.reopen_month(ws, m01, "finance.lead", "again")
    assert import_ledger(ws, correction, replace=True).rows == 1
    close(ws, 1)  # closing again works, and the month is closed once more
    with pytest.raises(SavingsError, match="already closed"):
        close(ws, 1)
    with pytest.raises(MonthClosed):
        import_ledger(ws, write_csv(tmp_path / "m01.csv", TWENTY_ROWS), replace=True)
    with ws.store.reading() as session:
        changes = repository.month_status_changes(session)
    assert [(c[0], c[1], c[2], c[4], c[5]) for c in changes] == [
        (YEAR, 1, "reopen", "finance.lead", "late invoice from Trust X"),
        (YEAR, 1, "close", "finance.lead", ""),
    ]


def test_cli_reopen_month(workspace_dir: Path, tmp_path: Path) -> None:
    with open_workspace(workspace_dir) as workspace:
        close(workspace, 1)
    base = ["--workspace", str(workspace_dir), "savings", "reopen-month", "--as-at", "2025-04"]

    missing = CliRunner().invoke(app, base)
    done = CliRunner().invoke(app, [*base, "--reason", "late invoice", "--format", "json"], env={"OUTTURN_USER": "ann"})

    assert missing.exit_code == 2  # no reason
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"reopened": "2025-04", "reason": "late invoice"}
    with open_workspace(workspace_dir) as workspace, workspace.store.reading() as session:
        assert repository.closed_months(session) == set()
        assert [c[4] for c in repository.month_status_changes(session)] == ["ann"]


# --- 7. the comparison reconciles (property) ---------------------------------------------------------------------

_LINE = st.builds(
    lambda org, month, category, sub, budget, actual: LedgerLine(
        org, FinancialYear(YEAR), month, category, sub, budget, actual
    ),
    st.sampled_from(["01A", "02B"]),
    st.integers(1, 3),
    st.sampled_from(list(CostCategory)[:3]),
    st.sampled_from(["", "X", "Y"]),
    st.integers(-(10**12), 10**12),
    st.one_of(st.none(), st.integers(-(10**12), 10**12)),
)


def _unique(lines: list[LedgerLine]) -> list[LedgerLine]:
    return list({line.key: line for line in lines}.values())


@given(st.lists(_LINE, max_size=25).map(_unique), st.lists(_LINE, max_size=25).map(_unique))
@settings(max_examples=150, deadline=None)
def test_the_comparison_adds_up_to_the_stored_and_the_file_lines(
    stored_lines: list[LedgerLine], file_lines: list[LedgerLine]
) -> None:
    replacement = compare_ledger(stored_lines, file_lines)
    document = replacement.as_dict()
    old = {line.key: line for line in stored_lines}
    new = {line.key: line for line in file_lines}
    # plain recomputation: sets of keys, sums of pence
    assert document["lines_before"] == len(stored_lines) and document["lines_after"] == len(file_lines)
    assert document["budget_before_pence"] == sum(line.budget_pence for line in stored_lines)
    assert document["actual_after_pence"] == sum(line.actual_pence or 0 for line in file_lines)
    assert document["lines_added"] == len(new.keys() - old.keys())
    assert document["lines_removed"] == len(old.keys() - new.keys())
    assert document["lines_changed"] == sum(1 for key in old.keys() & new.keys() if old[key] != new[key])
    assert document["lines_after"] - document["lines_before"] == document["lines_added"] - document["lines_removed"]
    assert replacement.is_identical == (old == new)
    categories = document["categories"]
    assert sum(row["lines_removed"] for row in categories) == document["lines_removed"]
    assert sum(row["budget_after_pence"] - row["budget_before_pence"] for row in categories) == (
        document["budget_after_pence"] - document["budget_before_pence"]
    )
