"""The savings plan workbook: export then import is exact to the penny, an analyst's own layout reads to the
figures worked out here with Decimal, and every fault is reported with its sheet, row and column."""

from __future__ import annotations

import copy
import string
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from outturn.domain.money import MAX_PENCE
from outturn.domain.periods import FinancialYear
from outturn.domain.problems import Problem
from outturn.domain.savings import Rag, SavingsTarget, Scheme, SchemeStatus, Workstream
from outturn.ingest.savings_workbook import read_savings_workbook
from outturn.reports.savings_workbook import write_savings_workbook

ORGS = ("10Q", "14Y", "15A", "QU9")
MAX_MONTH_PENCE = 50_000_000_00  # £50m

# --- round trip -------------------------------------------------------------------------------------------------

_ALPHABET = string.ascii_letters + string.digits + " -&/.,'()£=#%!"
TEXT = st.text(alphabet=_ALPHABET, max_size=25).map(str.strip)
WORDS = st.builds(lambda first, rest: (first + rest).rstrip(), st.sampled_from(string.ascii_letters + "=#("), TEXT)
MONTH = st.integers(-MAX_MONTH_PENCE, MAX_MONTH_PENCE) | st.sampled_from([MAX_MONTH_PENCE, -MAX_MONTH_PENCE, 1, -1, 0])
MONTHS = st.lists(MONTH, min_size=12, max_size=12).map(tuple)
OPTIONAL_MONTHS = st.lists(st.none() | MONTH, min_size=12, max_size=12).map(tuple)
YEARS = st.integers(2008, 2030).map(FinancialYear)
CONFIDENCE = st.integers(0, 10_000).map(lambda basis_points: Decimal(basis_points) / 10_000)


@st.composite
def scheme_for(draw: st.DrawFn, reference: str) -> Scheme:
    planned = draw(MONTHS)
    override = draw(st.none() | st.sampled_from(Rag))
    return Scheme(
        reference=reference,
        title=draw(WORDS),
        org_code=draw(st.sampled_from(ORGS)),
        year=draw(YEARS),
        workstream=draw(st.sampled_from(Workstream)),
        planned=planned,
        delivered=draw(OPTIONAL_MONTHS),
        forecast=draw(OPTIONAL_MONTHS | st.just((None,) * 12)),
        lead=draw(TEXT),
        recurrent=draw(st.booleans()),
        status=draw(st.sampled_from(SchemeStatus)),
        start_month=draw(st.integers(1, 12)),
        confidence=draw(CONFIDENCE),
        evidence_measure=draw(TEXT),
        negative_reason=draw(WORDS if sum(planned) < 0 else TEXT),
        rag_override=override,
        rag_override_reason=draw(WORDS if override else TEXT),
        version=draw(st.integers(1, 500)),
    )


@st.composite
def schemes(draw: st.DrawFn) -> list[Scheme]:
    references = draw(st.lists(WORDS, max_size=4, unique=True))
    return [draw(scheme_for(reference)) for reference in references]


TARGETS = st.lists(
    st.builds(
        SavingsTarget,
        org_code=st.sampled_from(ORGS),
        year=YEARS,
        target_pence=st.integers(0, 12 * MAX_MONTH_PENCE),
        programme=TEXT,
    ),
    max_size=4,
    unique_by=lambda target: (target.org_code, target.year),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(written=schemes(), targets=TARGETS)
def test_export_then_import_is_exact_to_the_penny(
    tmp_path: Path, written: list[Scheme], targets: list[SavingsTarget]
) -> None:
    path = write_savings_workbook(tmp_path / "plan.xlsx", written, targets)
    read, read_targets, problems = read_savings_workbook(path, known_org_codes=ORGS)
    assert problems == []
    assert read == written
    assert read_targets == targets


def test_extreme_values_round_trip(tmp_path: Path) -> None:
    # the largest amount a file may hold, less a penny (see test_money)
    huge = Scheme(
        "=SUM(A1)", "#N/A", "10Q", FinancialYear(2025), Workstream.OTHER,
        planned=(MAX_PENCE - 1, -1, *(0,) * 10), confidence=Decimal(1) / 3,
    )  # fmt: skip
    path = write_savings_workbook(tmp_path / "plan.xlsx", [huge])
    assert read_savings_workbook(path, known_org_codes=ORGS) == ([huge], [], [])


def test_an_empty_plan_round_trips(tmp_path: Path) -> None:
    path = write_savings_workbook(tmp_path / "plan.xlsx", [])
    assert read_savings_workbook(path, known_org_codes=ORGS) == ([], [], [])


def test_the_written_workbook_is_laid_out_for_people(tmp_path: Path) -> None:
    scheme = Scheme(
        "Q-1", "Generic prescribing", "10Q", FinancialYear(2025), Workstream.PRESCRIBING,
        planned=(1_000_050,) * 12, confidence=Decimal("0.8125"),
    )  # fmt: skip
    path = write_savings_workbook(tmp_path / "plan.xlsx", [scheme], [SavingsTarget("10Q", FinancialYear(2025), 5)])
    book = load_workbook(path)
    assert book.sheetnames == ["Schemes", "Phasing", "Targets"]
    schemes_sheet, phasing = book["Schemes"], book["Phasing"]
    assert all(cell.font.bold for cell in schemes_sheet[1])
    assert schemes_sheet.freeze_panes == "C2" and book["Targets"].freeze_panes == "A2"
    assert [cell.value for cell in phasing[1]][:4] == ["Reference", "Measure", "M01", "M02"]
    assert phasing["C2"].value == 10000.5 and phasing["C2"].number_format == "#,##0.00;(#,##0.00)"
    assert schemes_sheet["J2"].value == 120006 and schemes_sheet["J2"].number_format == "#,##0.00;(#,##0.00)"
    assert schemes_sheet["K2"].value == 0.8125 and schemes_sheet["K2"].number_format == "0.00%"
    assert schemes_sheet["P1"].value == "Version" and schemes_sheet["P2"].value == 1
    assert schemes_sheet.column_dimensions["B"].width >= len("Generic prescribing")


# --- an analyst's own workbook ----------------------------------------------------------------------------------

# Each month: (what the analyst typed, the same amount in pounds as a decimal written out by hand).
Typed = tuple[object, str]
PLAN_1: list[Typed] = [("£10,000.00", "10000.00")] * 6 + [(10000, "10000")] * 5 + [(10000.01, "10000.01")]
DELIVERED_1: list[Typed | None] = [(9500.5, "9500.50"), ("£9,750.25", "9750.25"), ("(250.00)", "-250.00"), *[None] * 9]
FORECAST_1: list[Typed | None] = [None] * 5 + [("£8k", "8000"), ("9.5k", "9500"), *[None] * 5]
PLAN_2: list[Typed] = (
    [(None, "0")] * 6 + [("200,000.01", "200000.01"), (199999.99, "199999.99")] + [("£0.2m", "200000")] * 4
)
PLAN_3: list[Typed] = [("(1,000.00)", "-1000.00")] * 11 + [(-1000.07, "-1000.07")]


def pounds_to_pence(pounds: str) -> int:
    pence = Decimal(pounds) * 100
    assert pence == pence.to_integral_value()
    return int(pence)


def months(typed: list[Typed | None]) -> tuple[int | None, ...]:
    return tuple(None if month is None else pounds_to_pence(month[1]) for month in typed)


def analyst_workbook(path: Path) -> Path:
    book = Workbook()
    schemes_sheet = book.active
    schemes_sheet.title = "Schemes"
    schemes_sheet.append([
        "Scheme Ref", "Scheme title", "Org", "Financial Year", "Workstream", "Lead", "Recurrent / Non-recurrent",
        "Status", "Start month", "Annual plan (£)", "Confidence", "Evidence measure", "Negative reason",
        "RAG override", "RAG override reason",
    ])  # fmt: skip
    schemes_sheet.append([
        "QIPP-001", "Generic prescribing switch", "10q", "2025/26", "Medicines management", "Dr A Patel",
        "Recurrent", "In Delivery", "M01", "£120,000.01", "80%", "ePACT2 generic rate", None, None, None,
    ])  # fmt: skip
    schemes_sheet.append([
        "QIPP-002", "Outpatient follow-up ratio", "14Y", 2025, "Outpatients", None, "N", "approved", 7,
        "1,200,000.00", 0.65, None, None, None, None,
    ])  # fmt: skip
    schemes_sheet.append([])  # a blank row between blocks, as analysts leave them
    schemes_sheet.append([
        "QIPP-003", "CHC reviews (invest to save)", "15A", "2025-26", "CHC", "", "Non-recurrent", "planned",
        "October", -12000.07, "81.25%", None, "Invest to save: two extra reviewers", "Amber", "Panel agreed",
    ])  # fmt: skip
    phasing = book.create_sheet("Phasing")
    phasing.append(["Reference", "Measure", "Apr-25", "May-25", "Jun 2025", datetime(2025, 7, 1), "Aug", "Sep",
                    "Oct", "Nov", "Dec", "Jan-26", "Feb", "March"])  # fmt: skip
    phasing.append(["QIPP-001", "Plan", *(month[0] for month in PLAN_1)])
    phasing.append(["QIPP-001", "Actual", *(None if month is None else month[0] for month in DELIVERED_1)])
    phasing.append(["QIPP-001", "Forecast", *(None if month is None else month[0] for month in FORECAST_1)])
    phasing.append(["QIPP-002", "plan", *(month[0] for month in PLAN_2)])
    phasing.append(["QIPP-003", "PLAN", *(month[0] for month in PLAN_3)])
    targets = book.create_sheet("Targets")
    targets.append(["Org", "Year", "Savings target", "Programme"])
    targets.append(["10Q", "2025/26", "£1.5m", "Four-year QIPP 2025-2029"])
    targets.append(["14Y", "2025/26", 600000.5, None])
    book.save(path)
    return path


def test_an_analysts_workbook_reads_to_the_figures_worked_by_hand(tmp_path: Path) -> None:
    read, targets, problems = read_savings_workbook(analyst_workbook(tmp_path / "qipp.xlsx"), known_org_codes=ORGS)
    assert problems == []
    first, second, third = read
    assert first.planned == months(PLAN_1)
    assert first.plan_pence == pounds_to_pence("120000.01") == sum(Decimal(m[1]) for m in PLAN_1) * 100
    assert first.delivered == months(DELIVERED_1)
    assert first.delivered_to_date(3) == pounds_to_pence("19000.75")  # 9,500.50 + 9,750.25 - 250.00
    assert first.forecast == months(FORECAST_1)
    assert (first.org_code, first.year, first.workstream, first.status) == (
        "10Q", FinancialYear(2025), Workstream.PRESCRIBING, SchemeStatus.IN_DELIVERY,
    )  # fmt: skip
    assert (first.recurrent, first.start_month, first.confidence, first.version) == (True, 1, Decimal("0.8"), 1)
    assert second.planned == months(PLAN_2)
    assert second.plan_pence == pounds_to_pence("1200000.00")
    assert (second.recurrent, second.start_month, second.confidence) == (False, 7, Decimal("0.65"))
    assert second.delivered == (None,) * 12
    assert third.plan_pence == pounds_to_pence("-12000.07")
    assert (third.start_month, third.workstream, third.confidence) == (7, Workstream.CONTINUING_HEALTHCARE,
                                                                        Decimal("0.8125"))  # fmt: skip
    assert (third.rag_override, third.rag_override_reason) == (Rag.AMBER, "Panel agreed")
    assert targets == [
        SavingsTarget("10Q", FinancialYear(2025), pounds_to_pence("1500000"), "Four-year QIPP 2025-2029"),
        SavingsTarget("14Y", FinancialYear(2025), pounds_to_pence("600000.50")),
    ]


# --- faults -----------------------------------------------------------------------------------------------------

MONTH_HEADERS = [f"M{number:02d}" for number in range(1, 13)]
Book = dict[str, list[list[Any]]]
GOOD: Book = {
    "Schemes": [
        ["reference", "title", "organisation", "year", "workstream", "lead", "recurrent", "status", "start_month",
         "annual_plan", "confidence", "evidence_measure", "negative_reason", "rag_override", "rag_override_reason",
         "version"],
        ["S1", "Scheme one", "10Q", "2025/26", "prescribing", "", "Recurrent", "planned", "M01", "£120,000.00",
         "80%", "", "", "", "", 1],
        ["S2", "Scheme two", "14Y", "2025/26", "elective", "", "N", "in delivery", "M04", 60000, 0.5, "", "", "",
         "", 2],
    ],
    "Phasing": [
        ["reference", "measure", *MONTH_HEADERS],
        ["S1", "plan", *["£10,000.00"] * 12],
        ["S2", "plan", *[5000] * 12],
        ["S2", "delivered", 5000, 4000, *[None] * 10],
    ],
    "Targets": [["organisation", "year", "target", "programme"], ["10Q", "2025/26", "£500,000.00", ""]],
}  # fmt: skip


SCHEME_ROWS = {"S1": 2, "S2": 3}


def write_book(path: Path, sheets: Book) -> Path:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def set_cell(sheet: str, row: int, column: str, value: object) -> Callable[[Book], None]:
    def edit(book: Book) -> None:
        book[sheet][row - 1][book[sheet][0].index(column)] = value

    return edit


def drop_column(sheet: str, column: str) -> Callable[[Book], None]:
    def edit(book: Book) -> None:
        index = book[sheet][0].index(column)
        for row in book[sheet]:
            del row[index]

    return edit


def drop_sheet(sheet: str) -> Callable[[Book], None]:
    def edit(book: Book) -> None:
        del book[sheet]

    return edit


def add_row(sheet: str, row: list[Any]) -> Callable[[Book], None]:
    return lambda book: book[sheet].append(row)


Expected = tuple[str, int | None, str | None, str]
NEGATIVE_PLAN = [set_cell("Phasing", 2, month, "(10,000.00)") for month in MONTH_HEADERS]
FAULTS: dict[str, tuple[list[Callable[[Book], None]], list[Expected]]] = {
    "missing Schemes sheet": ([drop_sheet("Schemes")], [("Schemes", None, None, "no sheet named 'Schemes'")]),
    "missing Phasing sheet": ([drop_sheet("Phasing")], [("Phasing", None, None, "no sheet named 'Phasing'")]),
    "missing column": ([drop_column("Schemes", "status")], [("Schemes", 1, "status", "missing column 'status'")]),
    "missing month column": ([drop_column("Phasing", "M07")], [("Phasing", 1, "m07", "missing column 'm07'")]),
    "unknown organisation": (
        [set_cell("Schemes", 2, "organisation", "ZZ9")],
        [("Schemes", 2, "organisation", "unknown organisation 'ZZ9'")],
    ),
    "unknown workstream": (
        [set_cell("Schemes", 3, "workstream", "dentistry")],
        [("Schemes", 3, "workstream", "one of: elective, non_elective_urgent_care, outpatients")],
    ),
    "unknown status": ([set_cell("Schemes", 2, "status", "paused")], [("Schemes", 2, "status", "unknown status")]),
    "phasing off the plan": (
        [set_cell("Phasing", 2, "M12", 10000.01)],
        [("Phasing", 2, "m01-m12", "sum to £120,000.01 but its annual plan (sheet 'Schemes' row 2) is £120,000.00")],
    ),
    "start month 13": ([set_cell("Schemes", 2, "start_month", "M13")], [("Schemes", 2, "start_month", "M01 to M12")]),
    "start month 0": ([set_cell("Schemes", 3, "start_month", 0)], [("Schemes", 3, "start_month", "M01 to M12")]),
    "negative saving without a reason": (
        [set_cell("Schemes", 2, "annual_plan", "(120,000.00)"), *NEGATIVE_PLAN],
        [("Schemes", 2, "negative_reason", "a negative saving of £120,000.00 needs a reason")],
    ),
    "text in the annual plan": (
        [set_cell("Schemes", 2, "annual_plan", "about 120k")],
        [("Schemes", 2, "annual_plan", "not a money amount: 'about 120k'")],
    ),
    "text in a month": ([set_cell("Phasing", 3, "M05", "tbc")], [("Phasing", 3, "m05", "not a money amount: 'tbc'")]),
    "duplicate reference": (
        [set_cell("Schemes", 3, "reference", "S1")],
        [
            ("Schemes", 3, "reference", "duplicate reference 'S1' (first on row 2)"),
            ("Phasing", 3, "reference", "no scheme with reference 'S2'"),
            ("Phasing", 4, "reference", "no scheme with reference 'S2'"),
        ],
    ),
    "phasing for an unknown scheme": (
        [add_row("Phasing", ["S9", "plan", *[1] * 12])],
        [("Phasing", 5, "reference", "no scheme with reference 'S9' on sheet 'Schemes'")],
    ),
    "scheme with no plan row": (
        [set_cell("Phasing", 3, "measure", "forecast")],
        [("Schemes", 3, "reference", "scheme 'S2' has no plan row on sheet 'Phasing'")],
    ),
    "duplicate phasing row": (
        [add_row("Phasing", ["S2", "Actual", *[None] * 12])],
        [("Phasing", 5, "measure", "duplicate delivered row for 'S2' (first on row 4)")],
    ),
    "unknown measure": ([set_cell("Phasing", 4, "measure", "budget")], [("Phasing", 4, "measure", "unknown measure")]),
    "override without a reason": (
        [set_cell("Schemes", 2, "rag_override", "red")],
        [("Schemes", 2, "rag_override_reason", "a RAG override needs a reason")],
    ),
    "unknown RAG": ([set_cell("Schemes", 2, "rag_override", "purple")], [("Schemes", 2, "rag_override", "unknown")]),
    "confidence over 100%": (
        [set_cell("Schemes", 2, "confidence", "120%")],
        [("Schemes", 2, "confidence", "between 0% and 100%")],
    ),
    "confidence below 0": ([set_cell("Schemes", 3, "confidence", -0.1)], [("Schemes", 3, "confidence", "0% and 100%")]),
    "confidence not a share": (
        [set_cell("Schemes", 3, "confidence", "high")],
        [("Schemes", 3, "confidence", "not a percentage")],
    ),
    "recurrent neither": ([set_cell("Schemes", 2, "recurrent", "maybe")], [("Schemes", 2, "recurrent", "Recurrent")]),
    "version not a number": ([set_cell("Schemes", 3, "version", "v2")], [("Schemes", 3, "version", "whole number")]),
    "blank title": ([set_cell("Schemes", 2, "title", "  ")], [("Schemes", 2, "title", "a value is required")]),
    "target for an unknown organisation": (
        [set_cell("Targets", 2, "organisation", "XX1")],
        [("Targets", 2, "organisation", "unknown organisation 'XX1'")],
    ),
    "text in the target": (
        [set_cell("Targets", 2, "target", "half a million")],
        [("Targets", 2, "target", "not a money amount")],
    ),
}


def assert_problems(problems: list[Problem], expected: list[Expected]) -> None:
    assert [(problem.sheet, problem.row, problem.column) for problem in problems] == [
        (sheet, row, column) for sheet, row, column, _fragment in expected
    ], problems
    for problem, (_sheet, _row, _column, fragment) in zip(problems, expected, strict=True):
        assert fragment in problem.reason
        assert problem.source == "plan.xlsx"


def test_the_good_workbook_is_clean(tmp_path: Path) -> None:
    read, targets, problems = read_savings_workbook(write_book(tmp_path / "plan.xlsx", GOOD), known_org_codes=ORGS)
    assert problems == []
    assert [scheme.reference for scheme in read] == ["S1", "S2"]
    assert read[1].delivered[:3] == (500_000, 400_000, None)
    assert targets == [SavingsTarget("10Q", FinancialYear(2025), 500_000_00)]


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_fault_names_its_sheet_row_and_column(tmp_path: Path, fault: str) -> None:
    edits, expected = FAULTS[fault]
    book = copy.deepcopy(GOOD)
    for edit in edits:
        edit(book)
    read, _targets, problems = read_savings_workbook(write_book(tmp_path / "plan.xlsx", book), known_org_codes=ORGS)
    assert_problems(problems, expected)
    faulty_rows = {problem.row for problem in problems if problem.sheet == "Schemes"}
    assert all(SCHEME_ROWS[scheme.reference] not in faulty_rows for scheme in read)


def test_several_faults_are_all_reported_and_no_faulty_scheme_comes_back(tmp_path: Path) -> None:
    book = copy.deepcopy(GOOD)
    chosen = ("unknown status", "text in the target", "unknown measure", "unknown organisation", "phasing off the plan")
    for fault in chosen:
        for edit in FAULTS[fault][0]:
            edit(book)
    read, targets, problems = read_savings_workbook(write_book(tmp_path / "plan.xlsx", book), known_org_codes=ORGS)
    in_sheet_order = ("unknown organisation", "unknown status", "phasing off the plan", "unknown measure",
                      "text in the target")  # fmt: skip
    assert_problems(problems, [FAULTS[fault][1][0] for fault in in_sheet_order])
    assert read == [] and targets == []  # S2's delivered row is faulty, so S2 does not come back either


def test_clean_schemes_come_back_beside_faulty_ones(tmp_path: Path) -> None:
    book = copy.deepcopy(GOOD)
    set_cell("Schemes", 2, "organisation", "ZZ9")(book)
    read, targets, problems = read_savings_workbook(write_book(tmp_path / "plan.xlsx", book), known_org_codes=ORGS)
    assert [(problem.row, problem.column) for problem in problems] == [(2, "organisation")]
    assert [scheme.reference for scheme in read] == ["S2"] and len(targets) == 1


def test_a_file_that_is_not_a_workbook_is_a_problem(tmp_path: Path) -> None:
    csv_path = tmp_path / "plan.csv"
    csv_path.write_text("reference,title\n")
    assert read_savings_workbook(csv_path, known_org_codes=ORGS)[2][0].reason == "expected an Excel workbook (.xlsx)"
    broken = tmp_path / "broken.xlsx"
    broken.write_text("not a zip")
    assert "cannot read the workbook" in read_savings_workbook(broken, known_org_codes=ORGS)[2][0].reason
