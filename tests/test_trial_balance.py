"""Trial balances: the import with its mapping, line-level roll-ups and the budget holders' reports.

Figures are worked by hand in each test (pounds, then pence); forecasts are run-rate (YTD / months x 12).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from outturn.demo import trial_balance as demo_trial_balance
from outturn.demo.ledger import synthetic_economy
from outturn.domain.contract_ledger import Threshold
from outturn.domain.ledger import CostCategory, LedgerLine
from outturn.domain.ledger_mapping import ANY, LedgerMapping, MappingRule, map_trial_balance, normalise_pattern
from outturn.domain.periods import FinancialYear
from outturn.domain.populations import PopulationTotals
from outturn.domain.trial_balance import (
    UNASSIGNED_HOLDER,
    BudgetHolderLine,
    LineTotals,
    TrialBalanceLineKey,
    roll_up,
)
from outturn.ingest.trial_balance import read_mapping, read_trial_balance
from outturn.reports.budget_holders import commentary_rule
from outturn.reports.contract_reconciliation import flag_rule
from outturn.reports.position import position_document
from outturn.services import users
from outturn.services.budget_holders import budget_holder_report, holder_cost_centres
from outturn.services.demo import DemoResult
from outturn.services.imports import ReplaceRequired, import_ledger, import_organisations, import_plans
from outturn.services.monthly_spend import cost_centre_monthly_spend
from outturn.services.position import compute_position
from outturn.services.trial_balance import (
    UnmappedCodes,
    current_mapping,
    import_mapping,
    import_trial_balance,
    mapping_versions,
)
from outturn.services.users import Role
from outturn.services.workspace import Workspace, init_workspace, open_workspace
from outturn.settings import record_settings
from outturn.store import repository
from outturn.store.models import LedgerLineRow, LedgerMappingVersionRow
from outturn.web.app import create_app
from web_helpers import PASSWORDS, app_client, csrf_from, sign_in, web_workspace

__all__ = ["app_client", "web_workspace"]

POUND = 100
AS_AT = "2025-05"  # M02 of 2025/26

ORGANISATIONS = """code,name,kind,parent_code
QXX,Test ICB,icb,
01A,North sub-ICB,sub_icb,QXX
"""
PLANS = """org_code,year,item,amount,description
01A,2025/26,recurrent_allocation,£10m,
"""


def _category_ledger() -> str:
    """Acute / Main provider: £100,000 a month budget, actuals £120,000 and £130,000 in M01-M02.
    Prescribing: £10,000 a month budget, actuals £10,500 and £10,500."""
    rows = ["org_code,year,month,category,subcategory,budget,actual"]
    for month in range(1, 13):
        acute = {1: "120000", 2: "130000"}.get(month, "")
        prescribing = "10500" if month <= 2 else ""
        rows.append(f"01A,2025/26,{month},acute,Main provider,100000,{acute}")
        rows.append(f"01A,2025/26,{month},prescribing,,10000,{prescribing}")
    return "\n".join(rows) + "\n"


def _workspace(root: Path, **settings: object) -> Workspace:
    init_workspace(root, default_org="01A", default_as_at=AS_AT, reference_dir=root).close()
    record_settings(root, {"forecast_method": "run-rate", **settings})
    workspace = open_workspace(root)
    for name, text in (("organisations.csv", ORGANISATIONS), ("plans.csv", PLANS)):
        (root / name).write_text(text, encoding="utf-8")
    import_organisations(workspace, root / "organisations.csv")
    import_plans(workspace, root / "plans.csv")
    return workspace


@pytest.fixture
def category_workspace(tmp_path: Path) -> Iterator[Workspace]:
    workspace = _workspace(tmp_path / "ws")
    (tmp_path / "ledger.csv").write_text(_category_ledger(), encoding="utf-8")
    import_ledger(workspace, tmp_path / "ledger.csv")
    yield workspace
    workspace.close()


def test_category_level_lines_are_keyed_by_category_and_subcategory_and_flagged_by_the_threshold(
    category_workspace: Workspace,
) -> None:
    report = budget_holder_report(category_workspace)
    by_key = {line.key: line for line in report.lines}
    acute = by_key[TrialBalanceLineKey("01A", "acute", "Main provider")]
    prescribing = by_key[TrialBalanceLineKey("01A", "prescribing", "")]
    assert set(by_key) == {acute.key, prescribing.key}
    # Acute: YTD budget £200,000, actual £250,000, variance -£50,000 (not above £50,000);
    # forecast £250,000 / 2 x 12 = £1,500,000 against £1,200,000: -£300,000, 25% of budget: needs commentary.
    assert (acute.ytd_budget_pence, acute.ytd_actual_pence) == (200_000 * POUND, 250_000 * POUND)
    assert acute.ytd_variance_pence == -50_000 * POUND
    assert acute.forecast_outturn_pence == 1_500_000 * POUND
    assert acute.forecast_variance_pence == -300_000 * POUND
    assert acute.forecast_method == "run-rate"
    assert acute.needs_commentary
    assert acute.category is CostCategory.ACUTE and acute.budget_holder == UNASSIGNED_HOLDER
    # Prescribing: forecast £21,000 / 2 x 12 = £126,000 against £120,000: -£6,000, under £50,000.
    assert prescribing.forecast_outturn_pence == 126_000 * POUND
    assert not prescribing.needs_commentary
    assert report.needing_commentary == (acute,)
    assert str(report.threshold.pounds) == "50000" and report.threshold.percent == 5


def test_the_threshold_is_a_workspace_setting(tmp_path: Path) -> None:
    """At £5,000 and 4%: prescribing's -£6,000 forecast variance is 5% of £120,000, so now it needs commentary."""
    workspace = _workspace(tmp_path / "ws", commentary_threshold_pounds=5_000, commentary_threshold_percent=4)
    (tmp_path / "ledger.csv").write_text(_category_ledger(), encoding="utf-8")
    import_ledger(workspace, tmp_path / "ledger.csv")
    with workspace:
        report = budget_holder_report(workspace)
    assert [line.key.cost_centre for line in report.needing_commentary] == ["acute", "prescribing"]


# --- a trial balance through a mapping ------------------------------------------------------------------------

# cost centre, subjective, monthly budget, actuals in M01 and M02 (pounds)
TB_LINES = (
    ("100", "5110", 50_000, (60_000, 70_000)),
    ("100", "5120", 10_000, (10_000, 10_000)),
    ("200", "5110", 30_000, (29_000, 31_000)),
    ("300", "5800", 5_000, (5_000, 5_000)),
    ("300", "5810", 2_000, (2_500, 2_500)),
)
DESCRIPTIONS = {"100": "Acute contracts", "200": "Mental health", "300": "Corporate"}
SUBJECTIVES = {
    "5110": "Healthcare from NHS bodies",
    "5120": "Healthcare from independent sector",
    "5800": "Staff pay",
    "5810": "Non-pay",
}

# 300/5810 matches both "3*, any" and "300, 5810": the exact codes win. Holders are named per cost centre.
MAPPING = """Cost Centre,Subjective,Category,Subcategory,Budget Holder,Parent
100,any,acute,Main provider,Dr A Smith,10
200,,mental_health,,J Jones,20
3*,any,running_costs,,J Jones,
300,5810,running_costs,Non-pay,,
"""


def trial_balance_csv(lines: tuple[tuple[str, str, int, tuple[int, int]], ...] = TB_LINES, extra: str = "") -> str:
    """ISFE-style headers; months M01-M12, actuals in M01-M02 only."""
    rows = [
        "Entity,Financial Year,Period,Cost Centre,Cost Centre Description,Subjective,Subjective Description,"
        "Budget,Actual"
    ]
    for month in range(1, 13):
        for centre, subjective, budget, actuals in lines:
            actual = str(actuals[month - 1]) if month <= 2 else ""
            rows.append(
                f"01A,2025/26,M{month:02d},{centre},{DESCRIPTIONS[centre]},{subjective},"
                f"{SUBJECTIVES[subjective]},{budget},{actual}"
            )
    return "\n".join(rows) + "\n" + extra


@pytest.fixture
def tb_workspace(tmp_path: Path) -> Iterator[Workspace]:
    workspace = _workspace(tmp_path / "ws")
    (tmp_path / "tb.csv").write_text(trial_balance_csv(), encoding="utf-8")
    (tmp_path / "mapping.csv").write_text(MAPPING, encoding="utf-8")
    import_trial_balance(workspace, tmp_path / "tb.csv", mapping_path=tmp_path / "mapping.csv", who="fd")
    yield workspace
    workspace.close()


def test_a_trial_balance_rolls_up_by_category_cost_centre_holder_and_organisation(tb_workspace: Workspace) -> None:
    position = compute_position(tb_workspace)
    by_category = {row.category: row for row in position.by_category}
    # YTD to M02, in pounds. Acute (100): budget 2 x (50,000 + 10,000) = 120,000;
    # actual 60,000 + 70,000 + 10,000 + 10,000 = 150,000. Mental health (200): 60,000 and 29,000 + 31,000.
    # Running costs (300): budget 2 x (5,000 + 2,000) = 14,000; actual 5,000 x 2 + 2,500 x 2 = 15,000.
    assert (by_category[CostCategory.ACUTE].ytd_budget_pence, by_category[CostCategory.ACUTE].ytd_actual_pence) == (
        120_000 * POUND,
        150_000 * POUND,
    )
    assert by_category[CostCategory.MENTAL_HEALTH].ytd_actual_pence == 60_000 * POUND
    assert by_category[CostCategory.RUNNING_COSTS].ytd_budget_pence == 14_000 * POUND
    assert by_category[CostCategory.RUNNING_COSTS].ytd_actual_pence == 15_000 * POUND
    # the running costs lines: 300/5800 on the category's own line, 300/5810 on "Non-pay" (the exact rule)
    assert sorted(item.subcategory for item in by_category[CostCategory.RUNNING_COSTS].line_methods) == ["", "Non-pay"]
    # the annual budget: 12 months of 97,000 a month
    assert position.by_category and sum(row.annual_budget_pence for row in position.by_category) == 12 * 97_000 * POUND

    report = budget_holder_report(tb_workspace)
    assert len(report.lines) == 5
    holders = {total.name: total for total in roll_up(report.lines, "budget_holder")}
    # Dr A Smith holds 100: 120,000 / 150,000. J Jones holds 200 and 300: 60,000 + 14,000 and 60,000 + 15,000.
    assert (holders["Dr A Smith"].ytd_budget_pence, holders["Dr A Smith"].ytd_actual_pence) == (
        120_000 * POUND,
        150_000 * POUND,
    )
    assert (holders["J Jones"].ytd_budget_pence, holders["J Jones"].ytd_actual_pence) == (
        74_000 * POUND,
        75_000 * POUND,
    )
    centres = {total.name: total.ytd_actual_pence for total in roll_up(report.lines, "cost_centre")}
    assert centres == {"01A 100": 150_000 * POUND, "01A 200": 60_000 * POUND, "01A 300": 15_000 * POUND}
    organisation = roll_up(report.lines, "organisation")
    assert [(total.name, total.ytd_actual_pence) for total in organisation] == [("01A", 225_000 * POUND)]
    categories = {total.name: total.forecast_outturn_pence for total in roll_up(report.lines, "category")}
    # run-rate per line, YTD / 2 x 12; acute: (130,000 + 20,000) x 6 = 900,000, as the position forecasts it
    assert categories["acute"] == 900_000 * POUND == by_category[CostCategory.ACUTE].forecast_outturn_pence

    line = {item.key: item for item in report.lines}[TrialBalanceLineKey("01A", "100", "5110")]
    assert (line.cost_centre_description, line.subjective_description) == (
        "Acute contracts",
        "Healthcare from NHS bodies",
    )
    assert (line.category, line.subcategory, line.budget_holder) == (CostCategory.ACUTE, "Main provider", "Dr A Smith")
    # 130,000 x 6 = 780,000 against 12 x 50,000 = 600,000: -180,000 (30%): the one line needing commentary
    assert line.forecast_outturn_pence == 780_000 * POUND and line.forecast_method == "run-rate"
    assert report.needing_commentary == (line,)
    assert [(centre.code, centre.parent_code) for centre in holder_cost_centres(tb_workspace, "J Jones")] == [
        ("200", "20"),
        ("300", ""),
    ]
    assert [item.key for item in budget_holder_report(tb_workspace, holder="j jones").lines] == [
        TrialBalanceLineKey("01A", "200", "5110"),
        TrialBalanceLineKey("01A", "300", "5800"),
        TrialBalanceLineKey("01A", "300", "5810"),
    ]


def test_unmapped_codes_are_one_error_with_their_pounds_and_nothing_is_stored(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path / "ws")
    extra = (
        "01A,2025/26,M01,400,Estates,5110,Healthcare,1000,1234.56\n"
        "01A,2025/26,M02,400,Estates,5110,Healthcare,1000,1234.56\n"
        "01A,2025/26,M01,100,Acute,9999,Unknown,0,5\n"
    )
    (tmp_path / "tb.csv").write_text(trial_balance_csv(extra=extra), encoding="utf-8")
    # a mapping of cost centres 1* and 2* only, and 100 for subjective 51* only
    (tmp_path / "mapping.csv").write_text(
        "cost centre,subjective,category\n100,51*,acute\n2*,any,mental_health\n3*,any,running_costs\n", encoding="utf-8"
    )
    with workspace, pytest.raises(UnmappedCodes) as raised:
        import_trial_balance(workspace, tmp_path / "tb.csv", mapping_path=tmp_path / "mapping.csv")
    message = str(raised.value)
    # 400/5110: budget 2 x £1,000 = £2,000.00, actual 2 x £1,234.56 = £2,469.12; 100/9999: £0.00 and £5.00
    assert "2 code(s)" in message
    assert "01A cost centre 100 subjective 9999 (1 line(s), budget £0.00, actual £5.00)" in message
    assert "01A cost centre 400 subjective 5110 (2 line(s), budget £2,000.00, actual £2,469.12)" in message
    assert "nothing stored" in message
    with workspace.store.reading() as session:
        assert session.scalar(select(func.count()).select_from(LedgerLineRow)) == 0
        assert session.scalar(select(func.count()).select_from(LedgerMappingVersionRow)) == 0


def test_a_months_reimport_shows_what_it_replaces(tb_workspace: Workspace, tmp_path: Path) -> None:
    """Without 300/5810 the file removes 12 stored lines (one a month): £2,000 of budget in each month, and
    £2,500 of actual in M01 and M02; it needs an explicit replace, then stores the 48 lines left."""
    fewer = tuple(line for line in TB_LINES if line[:2] != ("300", "5810"))
    (tmp_path / "tb2.csv").write_text(trial_balance_csv(fewer), encoding="utf-8")
    with pytest.raises(ReplaceRequired) as raised:
        import_trial_balance(tb_workspace, tmp_path / "tb2.csv")
    replaces = raised.value.replaces
    assert replaces["lines_removed"] == 12
    m01 = next(row for row in replaces["categories"] if row["month"] == "M01" and row["category"] == "running_costs")
    assert (m01["budget_before_pence"] - m01["budget_after_pence"]) == 2_000 * POUND
    assert (m01["actual_before_pence"] - m01["actual_after_pence"]) == 2_500 * POUND
    summary = import_trial_balance(tb_workspace, tmp_path / "tb2.csv", replace=True)
    assert (summary.rows, summary.replaced_rows) == (48, 60)


def test_mapping_versions_are_kept_with_who_and_when(tb_workspace: Workspace, tmp_path: Path) -> None:
    (tmp_path / "mapping2.csv").write_text(MAPPING.replace("J Jones", "K Patel"), encoding="utf-8")
    summary = import_mapping(tb_workspace, tmp_path / "mapping2.csv", who="analyst")
    assert (summary.version, summary.rules) == (2, 4)
    assert import_mapping(tb_workspace, tmp_path / "mapping2.csv", who="analyst").version == 2  # the same file
    versions = mapping_versions(tb_workspace)
    assert [(item[0], item[2], item[3], item[4]) for item in versions] == [
        (2, "analyst", "mapping2.csv", 4),
        (1, "fd", "mapping.csv", 4),
    ]
    assert current_mapping(tb_workspace).mapping.rule_for("310", "5800").budget_holder == "K Patel"
    # the cost centres take the new holder when the trial balance is imported again (the same lines: no replace)
    import_trial_balance(tb_workspace, tmp_path / "tb.csv")
    assert len(budget_holder_report(tb_workspace, holder="K Patel").lines) == 3
    assert budget_holder_report(tb_workspace, holder="J Jones").lines == ()


def test_the_most_specific_rule_wins_then_the_first_in_the_file() -> None:
    rules = (
        MappingRule(ANY, ANY, CostCategory.OTHER_PROGRAMME, "catch-all", row=2),
        MappingRule("1*", ANY, CostCategory.ACUTE, "pattern", row=3),
        MappingRule("1*", ANY, CostCategory.COMMUNITY, "pattern, later", row=4),
        MappingRule(ANY, "5110", CostCategory.MENTAL_HEALTH, "subjective exact", row=5),
        MappingRule("100", ANY, CostCategory.PRESCRIBING, "cost centre exact", row=6),
        MappingRule("100", "5110", CostCategory.RUNNING_COSTS, "both exact", row=7),
    )
    mapping = LedgerMapping(rules)

    def line(centre: str, subjective: str) -> str:
        rule = mapping.rule_for(centre, subjective)
        return rule.subcategory if rule else "none"

    assert line("100", "5110") == "both exact"
    assert line("100", "5999") == "cost centre exact"
    assert line("150", "5110") == "pattern"  # cost centre pattern beats subjective exact; first of two equals
    assert line("900", "5110") == "subjective exact"
    assert line("900", "5999") == "catch-all"
    assert LedgerMapping(rules[1:3]).rule_for("200", "5110") is None
    assert normalise_pattern(" Any ") == normalise_pattern("*") == normalise_pattern("") == ANY
    assert LedgerMapping((MappingRule("ab1?", ANY, CostCategory.ACUTE),)).rule_for("AB12", "x") is not None


# --- the web: the mapping page and the budget holders' page ---------------------------------------------------


def test_finance_views_and_uploads_the_mapping_on_its_page(app_client: TestClient) -> None:
    sign_in(app_client, "fiona")
    assert "No mapping has been loaded yet" in app_client.get("/ledger/mapping").text
    assert app_client.get("/api/ledger/mapping").status_code == 404
    token = csrf_from(app_client.get("/ledger/mapping").text)

    def upload(name: str, text: str) -> Any:
        return app_client.post(
            "/ledger/mapping",
            data={"csrf_token": token},
            files={"file": (name, text.encode(), "text/csv")},
            follow_redirects=True,
        )

    bad = upload("bad.csv", "cost_centre,category\n100,acute\n200,dentistry\n")
    assert bad.status_code == 422 and "Nothing from this file was stored" in bad.text
    assert "dentistry" in bad.text and app_client.get("/api/ledger/mapping").status_code == 404
    good = upload("mapping.csv", MAPPING)
    assert good.status_code == 200
    assert "Version 1" in good.text and "by fiona from mapping.csv" in good.text
    document = app_client.get("/api/ledger/mapping").json()
    assert [(rule["cost_centre"], rule["subjective_code"], rule["budget_holder"]) for rule in document["rules"]] == [
        ("100", "any", "Dr A Smith"),
        ("200", "any", "J Jones"),
        ("3*", "any", "J Jones"),
        ("300", "5810", ""),
    ]
    assert document["rules"][0]["parent"] == "10"
    assert [version["loaded_by"] for version in document["versions"]] == ["fiona"]


def test_the_budget_holders_page_is_for_readers_and_the_mapping_for_finance(app_client: TestClient) -> None:
    sign_in(app_client, "bob")  # board: reads everything, changes nothing
    page = app_client.get("/budget-holders?as_at=2025-09")
    assert page.status_code == 200 and "Budget holders" in page.text and 'id="lines"' in page.text
    assert app_client.get("/ledger/mapping").status_code == 403
    sign_in(app_client, "pat")  # a practice user sees only their practice
    assert app_client.get("/api/budget-holders").status_code == 403


def test_a_month_unreported_on_every_line_of_a_roll_up_is_counted_once_as_missing(tmp_path: Path) -> None:
    """Acute's two trial-balance lines (100/5110, 100/5120) with no actual in M02: the roll-up has one month
    reported of two, however many rows each month holds, so the position warns of one missing month."""
    workspace = _workspace(tmp_path / "ws")
    unreported = tuple(
        (centre, subjective, budget, (actuals[0], "")) if centre == "100" else (centre, subjective, budget, actuals)
        for centre, subjective, budget, actuals in TB_LINES
    )
    (tmp_path / "tb.csv").write_text(trial_balance_csv(unreported), encoding="utf-8")  # type: ignore[arg-type]
    (tmp_path / "mapping.csv").write_text(MAPPING, encoding="utf-8")
    with workspace:
        import_trial_balance(workspace, tmp_path / "tb.csv", mapping_path=tmp_path / "mapping.csv")
        warnings = [str(item) for item in compute_position(workspace).warnings]
    assert [text for text in warnings if "have no actual" in text] == [
        next(text for text in warnings if "Main provider" in text and "1 month(s) to M02 have no actual" in text)
    ]


# --- the demo's SYNTHETIC trial balance ----------------------------------------------------------------------


def test_the_demo_trial_balance_rolls_up_to_the_category_ledger_to_the_penny(tmp_path: Path) -> None:
    """Written as the demo writes it, read back through the importer's reader and mapping, and summed in plain
    Python by organisation, month, category and subcategory: every figure equals the category ledger's."""
    people = Decimal(500_000)
    population = PopulationTotals(10, None, people, people, people, people, people, people, people, people, people)
    economy = synthetic_economy({"AAA": population, "BBB": population}, FinancialYear(2025), 8, seed=7)
    this_year = [line for line in economy.ledger if line.year == FinancialYear(2025)]
    centres = demo_trial_balance.cost_centres(economy.ledger)
    tb_path = demo_trial_balance.write_trial_balance(
        tmp_path / "tb.csv", demo_trial_balance.trial_balance_rows(this_year, centres)
    )
    mapping_path = demo_trial_balance.write_mapping(tmp_path / "mapping.csv", centres)
    rows, problems = read_trial_balance(tb_path, known_org_codes={"AAA", "BBB"})
    mapping, parents, mapping_problems = read_mapping(mapping_path)
    assert problems == [] and mapping_problems == []
    mapped = map_trial_balance(rows, mapping, parents)
    assert mapped.unmapped == () and mapped.holder_conflicts == ()

    def sums(lines: Iterable[LedgerLine]) -> dict[tuple[object, ...], tuple[int, int | None, int]]:
        found: dict[tuple[object, ...], tuple[int, int | None, int]] = {}
        for line in lines:
            key = (line.org_code, line.year.start_year, line.month, line.category, line.subcategory)
            budget, actual, one_off = found.get(key, (0, None, 0))
            if line.actual_pence is not None:
                actual = (actual or 0) + line.actual_pence
            found[key] = (budget + line.budget_pence, actual, one_off + line.one_off_pence)
        return found

    assert sums(mapped.lines) == sums(this_year)
    # the shape: tens of cost centres, eight budget holders, a few hundred lines a month for the two orgs
    assert 10 <= len(centres) < 100
    assert len({centre.budget_holder for centre in mapped.cost_centres}) == 8
    assert 100 <= sum(1 for row in rows if row.month == 1) < 1_000
    assert {centre.parent_code for centre in mapped.cost_centres} == {
        f"1{number:02d}000" for number in range(1, len(CostCategory) + 1)
    }
    one_offs = [line for line in mapped.lines if line.one_off_pence]
    assert len(one_offs) == 2 and all(line.note.endswith("(SYNTHETIC one-off)") for line in one_offs)


def _category_level(lines: Iterable[LedgerLine]) -> list[LedgerLine]:
    """Trial-balance lines summed in plain Python into one line per organisation, month, category, subcategory."""
    summed: dict[tuple[object, ...], LedgerLine] = {}
    for line in lines:
        key = (line.org_code, line.year, line.month, line.category, line.subcategory)
        found = summed.get(key)
        if found is None:
            summed[key] = replace(line, cost_centre="", subjective_code="")
            continue
        actual = found.actual_pence
        if line.actual_pence is not None:
            actual = (actual or 0) + line.actual_pence
        summed[key] = replace(
            found,
            budget_pence=found.budget_pence + line.budget_pence,
            actual_pence=actual,
            one_off_pence=found.one_off_pence + line.one_off_pence,
            note=found.note or line.note,
        )
    return list(summed.values())


def test_the_demo_position_is_the_same_from_its_trial_balance_as_from_the_category_ledger(
    small_demo: DemoResult, tmp_path: Path
) -> None:
    """The demo's headline does not move: its position from the trial balance it imports equals the position from
    the same ledger summed back to category lines (stored in place of the trial balance's), figure for figure."""
    shutil.copytree(small_demo.workspace, tmp_path / "ws")
    with open_workspace(tmp_path / "ws") as workspace:
        from_trial_balance = position_document(compute_position(workspace))
        with workspace.store.transaction() as session:
            months = [(org, year, month) for org, year, month, _lines in repository.ledger_periods(session)]
            stored = repository.ledger_lines_in_months(session, months)
            assert sum(1 for line in stored if line.cost_centre) > 1_000
            rolled = _category_level(stored)
            record = repository.record_import(session, "ledger", "rolled-up.csv", "0" * 64, len(rolled))
            repository.replace_ledger_months(session, rolled, record.id)
        from_category_ledger = position_document(compute_position(workspace))
    assert from_category_ledger == from_trial_balance
    assert from_trial_balance == position_document(small_demo.position)


def test_the_demo_budget_holders_forecast_is_the_positions_category_for_category(small_demo: DemoResult) -> None:
    """The budget holders' page and the position show one forecast: each line is forecast by its roll-up's method
    (seasonal and the others do not add up over the lines a roll-up splits into), and what the roll-up's figure
    holds beyond their sum is shared by budget, so the lines add up to the position's categories to the penny."""
    with open_workspace(small_demo.workspace) as workspace:
        position = compute_position(workspace)
        report = budget_holder_report(workspace)
    by_category = {row.category.value: row.forecast_outturn_pence for row in position.by_category}
    from_lines = {total.name: total.forecast_outturn_pence for total in roll_up(report.lines, "category")}
    assert from_lines == by_category
    assert sum(line.forecast_outturn_pence for line in report.lines) == position.forecast_outturn_pence


# --- properties: the parts sum to the whole --------------------------------------------------------------------

AMOUNTS = st.integers(min_value=-(10**11), max_value=10**11)


@given(budget=AMOUNTS, actual=st.one_of(st.none(), AMOUNTS), category=st.sampled_from(list(CostCategory)))
def test_a_demo_line_split_over_subjective_codes_sums_to_the_penny(
    budget: int, actual: int | None, category: CostCategory
) -> None:
    line = LedgerLine("AAA", FinancialYear(2025), 3, category, "A line", budget, actual)
    centres = demo_trial_balance.cost_centres([line])
    rows = list(demo_trial_balance.trial_balance_rows([line], centres))
    assert sum(row.budget_pence for row in rows) == budget
    if actual is None:
        assert all(row.actual_pence is None for row in rows)
    else:
        assert sum(row.actual_pence or 0 for row in rows) == actual
    assert len({(row.cost_centre, row.subjective_code) for row in rows}) == len(rows)


def _holder_line(number: int, figures: tuple[int, int, int, int]) -> BudgetHolderLine:
    category = list(CostCategory)[number % len(CostCategory)]
    annual, ytd_budget, ytd_actual, forecast = figures
    return BudgetHolderLine(
        key=TrialBalanceLineKey(f"O{number % 3}", f"C{number % 5}", f"S{number}"),
        cost_centre_description="",
        subjective_description="",
        category=category,
        subcategory="",
        budget_holder=f"H{number % 4}",
        annual_budget_pence=annual,
        ytd_budget_pence=ytd_budget,
        ytd_actual_pence=ytd_actual,
        forecast_outturn_pence=forecast,
        forecast_method="run-rate",
        needs_commentary=number % 2 == 0,
    )


@given(st.lists(st.tuples(AMOUNTS, AMOUNTS, AMOUNTS, AMOUNTS), max_size=30))
def test_every_roll_up_sums_to_the_lines(figures: list[tuple[int, int, int, int]]) -> None:
    lines = [_holder_line(number, item) for number, item in enumerate(figures)]
    for level in ("category", "cost_centre", "budget_holder", "organisation"):
        totals = roll_up(lines, level)
        assert sum(total.lines for total in totals) == len(lines)
        assert sum(total.needing_commentary for total in totals) == sum(line.needs_commentary for line in lines)
        for field in ("annual_budget_pence", "ytd_budget_pence", "ytd_actual_pence", "forecast_outturn_pence"):
            assert sum(getattr(total, field) for total in totals) == sum(getattr(line, field) for line in lines)
        assert sum(total.forecast_variance_pence for total in totals) == sum(
            line.forecast_variance_pence for line in lines
        )


def test_a_trial_balance_workbook_with_isfe_headers_imports(tmp_path: Path) -> None:
    """The same trial balance as an Excel workbook, headed as an ISFE extract often is ("Entity Code", "Cost
    Center", "Account", "Budget In Month", "Actual In Month"): the same 60 lines land."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    header, *rows = [line.split(",") for line in trial_balance_csv().strip().splitlines()]
    sheet.append(
        [
            "Entity Code",
            "FY",
            "Accounting Period",
            "Cost Center",
            "CC Description",
            "Account",
            "Account Description",
            "Budget In Month",
            "Actual In Month",
        ]
    )
    for row in rows:
        sheet.append([*row[:7], int(row[7]), int(row[8]) if row[8] else None])
    book.save(tmp_path / "tb.xlsx")
    (tmp_path / "mapping.csv").write_text(MAPPING, encoding="utf-8")
    with _workspace(tmp_path / "ws") as workspace:
        summary = import_trial_balance(workspace, tmp_path / "tb.xlsx", mapping_path=tmp_path / "mapping.csv")
        report = budget_holder_report(workspace)
    assert len(header) == 9 and summary.rows == 60
    assert sum(line.ytd_actual_pence for line in report.lines) == 225_000 * POUND


# --- monthly spend by cost centre ---------------------------------------------------------------------------------


def test_a_holders_monthly_spend_by_cost_centre_worked_by_hand(tb_workspace: Workspace) -> None:
    """J Jones holds 200 (one line) and 300 (two lines). As at M02, run-rate (YTD / 2 x 12):
    200: budget 30,000 a month; actual 29,000 and 31,000; forecast 60,000 x 6 = 360,000, so the 10 months left
    share 360,000 - 60,000 = 300,000: 30,000 each.
    300: budget 5,000 + 2,000 = 7,000 a month; actual 7,500 and 7,500; forecast (10,000 + 5,000) x 6 = 90,000, so
    (90,000 - 15,000) / 10 = 7,500 a month. Together: budget 37,000, actual 36,500 and 38,500, then 37,500."""
    report = budget_holder_report(tb_workspace, holder="J Jones")
    every, *centres = cost_centre_monthly_spend(tb_workspace, report)
    assert [(series.key, series.label) for series in centres] == [
        ("01A 200", "200 Mental health"),
        ("01A 300", "300 Corporate"),
    ]
    by_key = {series.key: series for series in centres}
    assert [month.budget_pence for month in by_key["01A 200"].months] == [30_000 * POUND] * 12
    assert [month.spend_pence for month in by_key["01A 200"].months] == [29_000 * POUND, 31_000 * POUND] + [
        30_000 * POUND
    ] * 10
    assert [month.spend_pence for month in by_key["01A 300"].months] == [7_500 * POUND] * 12
    assert by_key["01A 300"].cumulative_spend_pence[-1] == 90_000 * POUND
    assert every.label == "All cost centres"
    assert [month.budget_pence for month in every.months] == [37_000 * POUND] * 12
    assert [month.spend_pence for month in every.months] == [36_500 * POUND, 38_500 * POUND] + [37_500 * POUND] * 10
    assert every.cumulative_spend_pence[-1] == 450_000 * POUND


def test_a_holders_page_charts_each_cost_centre_and_the_all_holders_page_none(tb_workspace: Workspace) -> None:
    users.add_user(tb_workspace, "bob", PASSWORDS["bob"], Role.BOARD)
    with TestClient(create_app(tb_workspace.settings)) as client:
        sign_in(client, "bob")
        page = client.get("/budget-holders", params={"holder": "J Jones"})
        assert page.status_code == 200
        assert page.text.count('class="app-chart"') == 3  # all of the holder's cost centres, 200 and 300
        assert "Monthly spend against budget by cost centre" in page.text and "300 Corporate" in page.text
        every_holder = client.get("/budget-holders")
        assert every_holder.status_code == 200 and "app-chart" not in every_holder.text


def test_totals_variances_and_the_materiality_rule_in_words() -> None:
    # annual budget, ytd budget, ytd actual, forecast outturn
    totals = LineTotals("Alice", 2, 1, 1_200_000, 700_000, 760_000, 1_150_000)
    assert (totals.ytd_variance_pence, totals.forecast_variance_pence) == (-60_000, 50_000)
    threshold = Threshold(10_000, Fraction(5, 2))
    assert commentary_rule(threshold) == (
        "A line needs commentary when its year-to-date or forecast variance is above £10,000 and above 2.5% of the "
        "matching budget (both)."
    )
    assert flag_rule(threshold) == (
        "A difference is flagged when it is above £10,000 and above 2.5% of the contract's figure (both)."
    )
