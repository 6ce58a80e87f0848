"""Value and range validation in the importers: a figure that cannot be right is a problem naming file, row, column
and reason, and nothing is stored (the store file and the warehouse tables are hashed before and after).

Counts with a stray comma, duplicate block and risk rows, organisations of the wrong kind, a hierarchy broken by a
re-kinding, negative or implausible amounts, quantities, months and dates, unknown organisation codes in activity,
an ``M13`` phasing column, and ledger lines that differ only in case or spacing.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from outturn.domain.problems import Problem, ProblemsError
from outturn.services.workspace import Workspace, init_workspace, open_workspace

ORGANISATIONS = [
    ["Y59", "South East", "region", ""],
    ["QU9", "Test ICB", "icb", "Y59"],
    ["10Q", "Test sub-ICB", "sub_icb", "QU9"],
    ["U1", "North PCN", "pcn", "10Q"],
    ["K84001", "First Practice", "practice", "U1"],
    ["RTH", "Test Hospitals", "provider", ""],
]
CONTRACT_HEADER = ["provider", "commissioner", "year", "point_of_delivery", "month", "activity", "value",
                   "description"]  # fmt: skip
RISK_HEADER = ["org_code", "year", "kind", "description", "value", "likelihood", "category"]
PLAN_HEADER = ["org_code", "year", "item", "amount", "description"]
LEDGER_HEADER = ["org_code", "year", "month", "category", "subcategory", "budget", "actual"]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def store_digest(workspace: Workspace) -> str:
    """The SQLite store file, byte for byte."""
    database = workspace.store.engine.url.database
    assert database is not None
    return hashlib.sha256(Path(database).read_bytes()).hexdigest()


def warehouse_digest(workspace: Workspace, names: Sequence[str]) -> dict[str, str | None]:
    """Each warehouse table's rows, sorted and hashed (None where the table does not exist)."""
    backend = workspace.backend
    digests: dict[str, str | None] = {}
    for name in names:
        if not backend.has_table(name):
            digests[name] = None
            continue
        rows = sorted(repr(sorted(row.items())) for row in backend.to_rows(backend.stored_table(name)))
        digests[name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return digests


def refused(workspace: Workspace, action: Callable[[], object], tables: Sequence[str] = ()) -> tuple[Problem, ...]:
    """The problems ``action`` is refused with; the store and the named warehouse tables are unchanged."""
    before = (store_digest(workspace), warehouse_digest(workspace, tables))
    with pytest.raises(ProblemsError) as caught:
        action()
    assert (store_digest(workspace), warehouse_digest(workspace, tables)) == before
    return caught.value.problems


def where(problems: Sequence[Problem]) -> set[tuple[str, int | None, str | None]]:
    return {(problem.source, problem.row, problem.column) for problem in problems}


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """A workspace holding a region, an ICB, a sub-ICB, a PCN, a practice and a provider."""
    from outturn.services.imports import import_organisations

    organisations = write_csv(tmp_path / "organisations.csv", ["code", "name", "kind", "parent_code"], ORGANISATIONS)
    with init_workspace(tmp_path / "ws", reference_dir=tmp_path) as workspace:
        import_organisations(workspace, organisations)
    with open_workspace(tmp_path / "ws") as workspace:
        yield workspace


# --- contracts ---------------------------------------------------------------------------------------------------


def import_contract_rows(workspace: Workspace, path: Path, rows: Sequence[Sequence[object]]) -> int:
    from outturn.services.contracts import import_contracts

    return import_contracts(workspace, write_csv(path, CONTRACT_HEADER, rows))


def stored_contracts(workspace: Workspace) -> list[Any]:
    from outturn.domain.periods import FinancialYear
    from outturn.store import contracts_repository

    with workspace.store.reading() as session:
        return list(contracts_repository.load_contracts(session, FinancialYear(2025)))


@pytest.mark.parametrize("activity", ["1,2", "12,34", "1,2345", ",123", "1.5"])
def test_a_count_with_a_stray_comma_is_refused_not_read_as_another_number(
    ws: Workspace, tmp_path: Path, activity: str
) -> None:
    rows = [["RTH", "10Q", "2025/26", "elective", "M01", activity, "£1,000"]]
    problems = refused(ws, lambda: import_contract_rows(ws, tmp_path / "plan.csv", rows))
    assert where(problems) == {("plan.csv", 2, "activity")}
    assert repr(activity) in problems[0].reason


def test_grouped_thousands_in_a_count_are_read_as_thousands(ws: Workspace, tmp_path: Path) -> None:
    rows = [["RTH", "10Q", "2025/26", "elective", "M01", "1,234", "£1,000"],
            ["RTH", "10Q", "2025/26", "elective", "M02", "12,345,678", "£1,000"]]  # fmt: skip
    assert import_contract_rows(ws, tmp_path / "plan.csv", rows) == 1
    (contract,) = stored_contracts(ws)
    assert sorted(line.activity for line in contract.plan) == [1_234, 12_345_678]


def test_a_block_given_twice_is_refused_naming_both_rows(ws: Workspace, tmp_path: Path) -> None:
    block = ["RTH", "10Q", "2025/26", "block", "", "", "£1m", "Critical care"]
    again = ["RTH", "10Q", "2025/26", "block", "", "", "£1m", "critical  CARE"]
    problems = refused(ws, lambda: import_contract_rows(ws, tmp_path / "plan.csv", [block, again]))
    (problem,) = problems
    assert (problem.row, problem.column) == (3, "description")
    assert "row 2" in problem.reason and "Critical care" in problem.reason
    assert stored_contracts(ws) == []


def test_two_different_blocks_of_one_contract_are_both_kept(ws: Workspace, tmp_path: Path) -> None:
    rows = [["RTH", "10Q", "2025/26", "block", "", "", "£1m", "Critical care"],
            ["RTH", "10Q", "2025/26", "block", "", "", "£0.5m", "Neonatal"]]  # fmt: skip
    import_contract_rows(ws, tmp_path / "plan.csv", rows)
    (contract,) = stored_contracts(ws)
    assert sorted(block.annual_pence for block in contract.blocks) == [50_000_000, 100_000_000]


@pytest.mark.parametrize(
    ("provider", "commissioner", "column", "fragment"),
    [
        ("QU9", "10Q", "provider", "QU9 is not a provider: it is of kind icb"),
        ("10Q", "QU9", "provider", "10Q is not a provider: it is of kind sub_icb"),
        ("RTH", "RTH", "commissioner", "RTH is not a commissioner: it is of kind provider"),
        ("RTH", "K84001", "commissioner", "K84001 is not a commissioner: it is of kind practice"),
        ("RTH", "U1", "commissioner", "U1 is not a commissioner: it is of kind pcn"),
    ],
)
def test_a_contract_party_of_the_wrong_kind_is_refused(
    ws: Workspace, tmp_path: Path, provider: str, commissioner: str, column: str, fragment: str
) -> None:
    rows = [[provider, commissioner, "2025/26", "elective", "M01", "10", "£1,000"]]
    problems = refused(ws, lambda: import_contract_rows(ws, tmp_path / "plan.csv", rows))
    assert where(problems) == {("plan.csv", 2, column)}
    assert fragment in problems[0].reason


def test_an_icb_or_region_may_commission(ws: Workspace, tmp_path: Path) -> None:
    rows = [["RTH", "QU9", "2025/26", "elective", "M01", "10", "£1,000"],
            ["RTH", "Y59", "2025/26", "elective", "M01", "10", "£1,000"]]  # fmt: skip
    assert import_contract_rows(ws, tmp_path / "plan.csv", rows) == 2


# --- plans and risks ---------------------------------------------------------------------------------------------


def stored_risks(workspace: Workspace) -> list[Any]:
    from outturn.domain.periods import FinancialYear
    from outturn.store import repository

    with workspace.store.reading() as session:
        return repository.risks_for(session, ["10Q"], FinancialYear(2025))


def test_a_risk_given_twice_is_refused_naming_both_rows(ws: Workspace, tmp_path: Path) -> None:
    from outturn.services.imports import import_risks

    risk = ["10Q", "2025/26", "risk", "Winter pressures", "£400k", "50%", "acute"]
    other = ["10Q", "2025/26", "risk", "CHC claims", "£1m", "10%", ""]
    again = ["10q", "2025/26", "Risk", "winter  Pressures ", "£400k", "50%", "acute"]
    path = write_csv(tmp_path / "risks.csv", RISK_HEADER, [risk, other, again])
    problems = refused(ws, lambda: import_risks(ws, path))
    assert where(problems) == {("risks.csv", 4, "description")}
    assert "row 2" in problems[0].reason and "Winter pressures" in problems[0].reason
    assert stored_risks(ws) == []


def test_the_same_description_as_a_risk_and_as_a_mitigation_is_not_a_duplicate(ws: Workspace, tmp_path: Path) -> None:
    from outturn.services.imports import import_risks

    rows = [["10Q", "2025/26", "risk", "Winter", "£400k", "50%", ""],
            ["10Q", "2025/26", "mitigation", "Winter", "£100k", "50%", ""]]  # fmt: skip
    import_risks(ws, write_csv(tmp_path / "risks.csv", RISK_HEADER, rows))
    assert sorted(item.value_pence for item in stored_risks(ws)) == [10_000_000, 40_000_000]


@pytest.mark.parametrize("item", ["recurrent_allocation", "non_recurrent_allocation"])
@pytest.mark.parametrize("amount", ["-£1m", "(£1,000,000.00)"])
def test_a_negative_allocation_is_refused(ws: Workspace, tmp_path: Path, item: str, amount: str) -> None:
    from outturn.services.imports import import_plans

    rows = [["10Q", "2025/26", "recurrent_allocation", "£600m", ""], ["10Q", "2025/26", item, amount, ""]]
    if item == "recurrent_allocation":
        rows = rows[1:]
    path = write_csv(tmp_path / "plan.csv", PLAN_HEADER, rows)
    problems = refused(ws, lambda: import_plans(ws, path))
    assert where(problems) == {("plan.csv", len(rows) + 1, "amount")}
    assert "cannot be negative" in problems[0].reason


# --- prescribing -------------------------------------------------------------------------------------------------

EPD_HEADER = (
    "YEAR_MONTH,PRACTICE_NAME,PRACTICE_CODE,BNF_CODE,BNF_DESCRIPTION,QUANTITY,ITEMS,TOTAL_QUANTITY,NIC,ACTUAL_COST"
)
EPD_ROW = "201710,A SURGERY,K84001,0212000B0AAABAB,Atorvastatin_Tab 10mg,28.0,2,56.0,1.68,1.55321"


def import_epd(workspace: Workspace, path: Path, *rows: str) -> object:
    from outturn.services.prescribing import import_prescribing

    path.write_text("\n".join([EPD_HEADER, *rows]) + "\n", encoding="utf-8")
    return import_prescribing(workspace, path)


@pytest.mark.parametrize(
    ("row", "column", "fragment"),
    [
        (EPD_ROW.replace(",1.68,", ",-1.68,"), "NIC", "negative nic"),
        (EPD_ROW.replace(",1.55321", ",-1.55321"), "ACTUAL_COST", "negative actual_cost"),
        (EPD_ROW.replace(",56.0,", ",-56.0,"), "TOTAL_QUANTITY", "negative quantity"),
        (EPD_ROW.replace("201710,", "190004,"), "YEAR_MONTH", "a month outside 2000-01 to"),
        (EPD_ROW.replace("201710,", "209912,"), "YEAR_MONTH", "a month outside 2000-01 to"),
    ],
)
def test_negative_amounts_and_implausible_months_in_prescribing_are_refused(
    ws: Workspace, tmp_path: Path, row: str, column: str, fragment: str
) -> None:
    from outturn.domain.prescribing import PRESCRIBING_TABLE

    import_epd(ws, tmp_path / "first.csv", EPD_ROW)
    problems = refused(ws, lambda: import_epd(ws, tmp_path / "bad.csv", EPD_ROW, row), [PRESCRIBING_TABLE])
    (problem,) = problems
    assert (problem.source, problem.column) == ("bad.csv", column.lower())
    assert fragment in problem.reason and "row 3" in problem.reason


def test_the_latest_plausible_prescribing_month_is_the_month_after_today() -> None:
    from datetime import date

    from outturn.ingest.prescribing import latest_plausible_month

    assert latest_plausible_month(date(2026, 12, 2)) == "2027-01"
    assert latest_plausible_month(date(2026, 3, 31)) == "2026-04"


# --- activity ----------------------------------------------------------------------------------------------------

APC_HEADER = ["spell_id", "provider", "commissioner", "practice", "patient_id", "admission_method", "hrg",
              "admission_date", "discharge_date", "length_of_stay", "treatment_function", "age"]  # fmt: skip


def apc(
    spell: str, discharged: str, provider: str = "RTH", commissioner: str = "10Q", practice: str = "K84001"
) -> list[str]:
    return [spell, provider, commissioner, practice, f"p{spell}", "non_elective", "AA22C", discharged, discharged, "0",
            "300", "70"]  # fmt: skip


def with_contract(workspace: Workspace, tmp_path: Path) -> None:
    import_contract_rows(
        workspace, tmp_path / "plan.csv", [["RTH", "10Q", "2025/26", "non_elective", "M01", "10", "£1m"]]
    )


def import_apc(workspace: Workspace, path: Path, rows: Sequence[Sequence[str]]) -> int:
    from outturn.domain.activity import ActivityKind
    from outturn.services.pricing import import_activity

    return import_activity(workspace, write_csv(path, APC_HEADER, rows), ActivityKind.APC)


def test_a_small_extract_of_implausible_dates_and_unknown_codes_replaces_nothing(ws: Workspace, tmp_path: Path) -> None:
    with_contract(ws, tmp_path)
    assert import_apc(ws, tmp_path / "good.csv", [apc("S1", "2025-05-01"), apc("S2", "2025-06-30", practice="")]) == 2
    bad = [apc("B1", "2010-05-01", "RXX", "99Z", "Z99999"), apc("B2", "2031-01-02", "RXX", "99Z", "Z99999"),
           apc("B3", "2025-05-01", "QU9", "RTH", "U1")]  # fmt: skip
    problems = refused(ws, lambda: import_apc(ws, tmp_path / "bad.csv", bad), ["activity_apc"])
    reasons = {problem.column: [] for problem in problems}  # type: dict[str | None, list[str]]
    for problem in problems:
        assert (problem.source, problem.row) == ("bad.csv", None)  # counted, with example rows in the reason
        reasons[problem.column].append(problem.reason)
    assert reasons["provider"] == [
        "3 rows: provider code not among the organisations held (load organisations first) "
        "(row 2: 'RXX'; row 3: 'RXX'; row 4: 'QU9')"
    ]
    assert reasons["commissioner"] == [
        "3 rows: commissioner code not among the organisations held (load organisations first) "
        "(row 2: '99Z'; row 3: '99Z'; row 4: 'RTH')"
    ]
    assert reasons["practice"] == [
        "3 rows: practice code not among the organisations held (load organisations first) "
        "(row 2: 'Z99999'; row 3: 'Z99999'; row 4: 'U1')"
    ]
    assert any("1 row: a date outside 2000-04-01 to" in reason and "row 3: 2031-01-02" in reason
               for reason in reasons["discharge_date"])  # fmt: skip
    assert (
        "2 rows: a date in a financial year with no contract held (contracts held: 2025/26) "
        "(row 2: 2010-05-01; row 3: 2031-01-02)"
    ) in reasons["discharge_date"]


def test_activity_dates_outside_2000_to_the_end_of_this_financial_year_are_refused(tmp_path: Path) -> None:
    from datetime import date

    from outturn.domain.activity import ActivityKind
    from outturn.ingest.activity import read_activity
    from outturn.ingest.activity_checks import plausible_dates

    assert plausible_dates(date(2026, 12, 2)).last_date == date(2027, 3, 31)
    assert plausible_dates(date(2027, 3, 31)).last_date == date(2027, 3, 31)
    assert plausible_dates(date(2027, 4, 1)).last_date == date(2028, 3, 31)
    path = write_csv(tmp_path / "apc.csv", APC_HEADER, [apc("S1", "1999-12-31"), apc("S2", "2000-04-01")])
    with pytest.raises(ProblemsError) as caught:
        read_activity(path, ActivityKind.APC)
    reasons = sorted(problem.reason for problem in caught.value.problems)
    assert len(reasons) == 2  # admission and discharge date of row 2; row 3 is on the first day allowed
    assert all(reason.startswith("1 row: a date outside 2000-04-01 to ") and "(row 2: 1999-12-31)" in reason
               for reason in reasons)  # fmt: skip


# --- organisations -----------------------------------------------------------------------------------------------


def import_organisation_rows(workspace: Workspace, path: Path, rows: Sequence[Sequence[str]]) -> object:
    from outturn.services.imports import import_organisations

    return import_organisations(workspace, write_csv(path, ["code", "name", "kind", "parent_code"], rows))


@pytest.mark.parametrize(
    ("rows", "row", "column", "fragment"),
    [
        ([["QU9", "Test ICB", "practice", "10Q"]], 2, "kind", "QU9 cannot be a practice: 1 organisation(s) already"),
        ([["QU9", "Test ICB", "practice", ""]], 2, "kind", "10Q (a sub_icb)"),
        (
            [["K84002", "New Practice", "practice", "Y59"]],
            2,
            "parent_code",
            "a practice cannot sit under Y59 (a region)",
        ),
        ([["K84001", "First Practice", "practice", "RTH"]], 2, "parent_code", "cannot sit under RTH (a provider)"),
        ([["10Q", "Test sub-ICB", "pcn", "QU9"]], 2, "kind", "U1 (a pcn)"),
        ([["U1", "North PCN", "practice", "10Q"]], 2, "kind", "K84001 (a practice)"),
    ],
)
def test_the_hierarchy_holds_across_the_file_and_the_organisations_already_loaded(
    ws: Workspace, tmp_path: Path, rows: list[list[str]], row: int, column: str, fragment: str
) -> None:
    problems = refused(ws, lambda: import_organisation_rows(ws, tmp_path / "orgs.csv", rows))
    assert where(problems) == {("orgs.csv", row, column)}
    assert fragment in problems[0].reason


def test_a_re_kinding_that_moves_the_children_in_the_same_file_is_accepted(ws: Workspace, tmp_path: Path) -> None:
    from outturn.store import repository

    rows = [["U1", "North PCN", "practice", "10Q"], ["K84001", "First Practice", "practice", "10Q"]]
    import_organisation_rows(ws, tmp_path / "orgs.csv", rows)
    with ws.store.reading() as session:
        tree = repository.org_tree(session)
    assert (tree.get("U1").kind.value, tree.get("K84001").parent_code) == ("practice", "10Q")


# --- a month column past M12 -------------------------------------------------------------------------------------


def phasing_workbook(path: Path, header: str, forecast_value: object) -> Path:
    """Scheme S1 planned at £100 a month, and a forecast row with ``forecast_value`` under the column ``header``."""
    from openpyxl import Workbook

    book = Workbook()
    schemes = book.active
    schemes.title = "Schemes"
    schemes.append(["reference", "title", "organisation", "year", "workstream", "status", "start_month",
                    "annual_plan", "confidence"])  # fmt: skip
    schemes.append(["S1", "Scheme one", "10Q", "2025/26", "prescribing", "planned", "M01", "£1,200.00", "80%"])
    phasing = book.create_sheet("Phasing")
    phasing.append(["reference", "measure", *[f"M{number:02d}" for number in range(1, 13)], header])
    phasing.append(["S1", "plan", *[100] * 12, None])
    phasing.append(["S1", "forecast", *[None] * 12, forecast_value])
    book.save(path)
    return path


@pytest.mark.parametrize("header", ["M13", "P13", "Month 14", "m00"])
def test_a_phasing_column_past_m12_holding_a_value_is_refused(tmp_path: Path, header: str) -> None:
    from outturn.ingest.savings_workbook import read_savings_workbook

    path = phasing_workbook(tmp_path / "plan.xlsx", header, 5_000)
    _schemes, _targets, problems = read_savings_workbook(path, known_org_codes={"10Q"})
    (problem,) = problems
    assert (problem.source, problem.sheet, problem.row) == ("plan.xlsx", "Phasing", 3)
    assert problem.reason == f"a month column outside the year (M01 to M12) holds a value: {header!r}"


def test_an_empty_column_past_m12_is_no_fault(tmp_path: Path) -> None:
    from outturn.ingest.savings_workbook import read_savings_workbook

    path = phasing_workbook(tmp_path / "plan.xlsx", "M13", None)
    schemes, _targets, problems = read_savings_workbook(path, known_org_codes={"10Q"})
    assert problems == [] and schemes[0].planned == (10_000,) * 12
