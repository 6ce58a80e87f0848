"""The main job: a demo workspace from one real ICB and a SYNTHETIC ledger calibrated to its weighted population."""

from __future__ import annotations

import csv
import json
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outturn.cli import app
from outturn.demo.ledger import SyntheticEconomy, synthetic_economy
from outturn.domain.ledger import LedgerLine
from outturn.domain.periods import FinancialYear
from outturn.domain.populations import PopulationTotals
from outturn.services.demo import DemoResult

ALLOCATION_FILE = Path("allocations") / "aif_tool_gp_practice_wp_2022_2023.csv"
# The demo's stated calibration (£ per weighted head, by the allocation component that drives each category).
# Continuing healthcare (100), other programme (65), running costs (22) and reserves (15) follow the final WP.
RATES = [("G&A WP", 930), ("MH WP", 215), ("CS WP", 175), ("Prescr WP", 160), ("Primary Medical Care WP", 175),
         ("Final WP", 100), ("Final WP", 65), ("Final WP", 22), ("Final WP", 15)]
LEDGER_LINES = 22  # lines per sub-ICB location; each split of a category budget rounds to the penny


@pytest.fixture(scope="module")
def demo(small_demo: DemoResult, reference_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """``outturn demo --format json`` at ICB scale (the contracts' calibration needs it), built in place over a copy
    of the session's small demo (tests/conftest.py's ``small_demo``) without its board pack (test_pack's part)."""
    out = tmp_path_factory.mktemp("demo") / "ws"
    shutil.copytree(small_demo.workspace, out)
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--no-pack", "--format", "json"],
                                env={"OUTTURN_REFERENCE_DIR": str(reference_dir)})
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(result.stdout)
    return document


def test_demo_reports_the_real_icb_built_from_its_sub_icb_locations(demo: dict[str, object]) -> None:
    position = demo["position"]
    assert isinstance(position, dict)
    assert demo["synthetic"] is True
    assert position["org_code"] == "QU9"
    assert position["members"] == ["10Q", "14Y", "15A"]  # Oxfordshire, Buckinghamshire, Berkshire West
    assert (position["financial_year"], position["month"]) == ("2025/26", "M08")


def test_demo_allocation_is_calibrated_to_the_weighted_population(
    demo: dict[str, object], reference_dir: Path
) -> None:
    """Recompute the allocation from the raw CSV: per sub-ICB, per category, £ per head × weighted population."""
    totals: dict[str, dict[str, Decimal]] = {}
    with (reference_dir / ALLOCATION_FILE).open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["ICS22"] == "QU9":
                by_column = totals.setdefault(row["LOC22"], {})
                for column in {column for column, _rate in RATES}:
                    by_column[column] = by_column.get(column, Decimal(0)) + Decimal(row[column] or "0")
    position = demo["position"]
    assert isinstance(position, dict)
    expected_pence = sum(
        (Decimal(rate * 100) * sub_icb[column]).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        for sub_icb in totals.values()
        for column, rate in RATES
    )
    # Each category's budget is split into ledger lines rounded to the penny: allow a penny a line.
    assert len(totals) == 3
    assert abs(position["allocation_pence"] - int(expected_pence)) <= 3 * LEDGER_LINES
    assert position["annual_budget_pence"] == position["allocation_pence"]  # break-even plans


def test_demo_is_in_deficit_with_a_bridge_that_reconciles(demo: dict[str, object]) -> None:
    position = demo["position"]
    assert isinstance(position, dict)
    assert position["forecast_surplus_pence"] < 0
    gap = position["control_total_pence"] - position["forecast_surplus_pence"]
    assert position["gap_to_control_total_pence"] == gap
    steps = position["bridge"]
    assert sum(step["pence"] for step in steps if step["kind"] in ("start", "step")) == steps[-1]["running_pence"]
    assert steps[-1]["running_pence"] == position["risk"]["likely_surplus_pence"]


def test_demo_can_be_rebuilt_in_place_and_reports_the_same(demo: dict[str, object], small_demo: DemoResult) -> None:
    """The module's demo was rebuilt in place over a copy of the session's, whose hospital activity is at 3% of
    ICB scale: no ledger figure depends on the activity, so the position is the same."""
    first = small_demo.position
    second = demo["position"]
    assert isinstance(second, dict)
    assert second["forecast_outturn_pence"] == first.forecast_outturn_pence
    assert second["ytd_actual_pence"] == first.ytd_actual_pence


def test_demo_has_a_forecast_history_from_m01_to_m08(demo: dict[str, object]) -> None:
    """M01-M06 are recorded from the ledger as imported at M07, M07 and M08 by their closes; the M08 record is the
    position the demo reports (the same ledger, the same method)."""
    result = CliRunner().invoke(
        app, ["position", "history", "--workspace", str(demo["workspace"]), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    months = json.loads(result.stdout)["months"]
    assert [month["month"] for month in months] == [f"M{number:02d}" for number in range(1, 9)]
    position = demo["position"]
    assert isinstance(position, dict)
    assert months[-1]["forecast_outturn_pence"] == position["forecast_outturn_pence"]
    assert months[-1]["forecast_surplus_pence"] == position["forecast_surplus_pence"]


def test_demo_labels_its_synthetic_inputs(demo: dict[str, object]) -> None:
    workspace = Path(str(demo["workspace"]))
    assert "SYNTHETIC" in (workspace / "inputs" / "plan.csv").read_text()
    assert "SYNTHETIC" in (workspace / "inputs" / "ledger.csv").read_text()


def test_demo_includes_a_synthetic_savings_plan_that_reconciles(demo: dict[str, object]) -> None:
    savings = demo["savings"]
    assert isinstance(savings, dict)
    assert savings["code"] == "QU9"
    assert savings["schemes"] == 3 * 9
    assert savings["plan_pence"] == savings["forecast_pence"] + savings["shortfall_pence"]
    assert 0 < savings["risk_adjusted_pence"] <= savings["forecast_pence"]
    # Targets are 2.5% of each sub-ICB's allocation; 85% identified: 15% unidentified, to a penny a scheme.
    position = demo["position"]
    assert isinstance(position, dict)
    target = savings["target_pence"]
    assert abs(target - position["allocation_pence"] * 25 // 1000) <= 3
    assert abs(savings["unidentified_pence"] - target * 15 // 100) <= 3 * 9


def test_demo_monitors_the_main_acute_contract_from_synthetic_activity(demo: dict[str, object]) -> None:
    """Plans are last year's priced outturn plus 2%; this year's SYNTHETIC activity is 4.5% higher."""
    statements = demo["contracts"]
    assert isinstance(statements, list)
    assert [(s["provider"], s["commissioner"]) for s in statements] == [("RTH", "10Q"), ("RTH", "14Y"), ("RTH", "15A")]
    # RTH is Oxfordshire's (10Q) home hospital: its contract over-performs by about 2.5%. Berkshire West's and
    # Buckinghamshire's patients mostly go elsewhere, so their small RTH contracts are noisy; together they all
    # over-perform.
    # Activity at tariff (before the SYNTHETIC payment rules, demo/contract_rules.py).
    main = statements[0]
    assert main["tariff_ytd_actual_pence"] > main["tariff_ytd_plan_pence"] * 1.01
    assert sum(s["tariff_ytd_actual_pence"] for s in statements) > sum(s["tariff_ytd_plan_pence"] for s in statements)
    assert {rule["rule"] for rule in main["payment_rules"]} >= {"readmissions", "cquin"}  # the home contract
    for statement in statements:
        assert abs(statement["tariff_ytd_actual_pence"] / statement["tariff_ytd_plan_pence"] - 1.025) < 0.03
        assert statement["over_performance_pence"] == statement["forecast_pence"] - statement["annual_plan_pence"]
        assert sum(line["ytd_actual_pence"] for line in statement["lines"]) == statement["tariff_ytd_actual_pence"]
        rules = sum(rule["ytd_actual_pence"] for rule in statement["payment_rules"])
        assert statement["ytd_actual_pence"] == statement["tariff_ytd_actual_pence"] + rules
        assert 0.1 < statement["consultant_referral_share"] < 0.3


def test_demo_has_one_account_per_role_for_the_web_application(demo: dict[str, object]) -> None:
    from outturn.services.demo import DEMO_PASSWORD
    from outturn.services.users import LoginRefused, sign_in
    from outturn.services.workspace import open_workspace

    accounts = demo["accounts"]
    assert isinstance(accounts, list)
    assert {account["role"] for account in accounts} == {"finance", "board", "admin", "practice"}
    with open_workspace(Path(str(demo["workspace"]))) as workspace:
        signed_in = sign_in(workspace, "finance", DEMO_PASSWORD, "127.0.0.1")
        assert signed_in.user.role.value == "finance"
        with pytest.raises(LoginRefused):
            sign_in(workspace, "board", "not the password", "127.0.0.1")


def _small_economy() -> SyntheticEconomy:
    """Two sub-ICB locations of about half a million weighted people each (no reference data needed)."""
    people = Decimal(500_000)
    population = PopulationTotals(10, None, people, people, people, people, people, people, people, people, people)
    return synthetic_economy({"AAA": population, "BBB": population}, FinancialYear(2025), 8, seed=7)


def _totals(lines: list[LedgerLine], value: str) -> dict[tuple[int, int], int]:
    """Sum of ``value`` (budget_pence or actual_pence) by (start year, month)."""
    found: dict[tuple[int, int], int] = {}
    for line in lines:
        amount = getattr(line, value)
        if amount is not None:
            key = (line.year.start_year, line.month)
            found[key] = found.get(key, 0) + amount
    return found


def test_demo_ledger_holds_two_complete_prior_years_and_this_year_to_the_month() -> None:
    ledger = list(_small_economy().ledger)
    lines_by_year: dict[int, set[tuple[str, str, str]]] = {}
    months_with_actual: dict[tuple[int, str, str, str], set[int]] = {}
    for line in ledger:
        key = (line.org_code, line.category.value, line.subcategory)
        lines_by_year.setdefault(line.year.start_year, set()).add(key)
        if line.actual_pence is not None:
            months_with_actual.setdefault((line.year.start_year, *key), set()).add(line.month)
    assert sorted(lines_by_year) == [2023, 2024, 2025]
    assert lines_by_year[2023] == lines_by_year[2024] == lines_by_year[2025]
    assert len(lines_by_year[2025]) == 2 * (4 + 2 + 2 + 3 + 2 + 2 + 2 + 2 + 1)  # lines of each category, two orgs
    for year, months in ((2023, set(range(1, 13))), (2024, set(range(1, 13))), (2025, set(range(1, 9)))):
        for key in lines_by_year[year]:
            assert months_with_actual[(year, *key)] == months, (year, key)


def test_demo_ledger_grows_a_few_per_cent_a_year() -> None:
    budgets = _totals(list(_small_economy().ledger), "budget_pence")
    by_year = {year: sum(v for (y, _m), v in budgets.items() if y == year) for year in (2023, 2024, 2025)}
    for earlier, later in ((2023, 2024), (2024, 2025)):
        growth = Decimal(by_year[later]) / by_year[earlier] - 1
        assert Decimal("0.03") <= growth <= Decimal("0.06"), (earlier, growth)


@pytest.mark.parametrize("category", ["acute", "continuing_healthcare", "prescribing"])
def test_demo_spend_peaks_in_winter(category: str) -> None:
    """December to February spend runs above June to August spend in every year held, by more than the noise."""
    lines = [line for line in _small_economy().ledger if line.category.value == category]
    actual = _totals(lines, "actual_pence")
    for year in (2023, 2024):
        winter = sum(actual[(year, month)] for month in (9, 10, 11)) / 3
        summer = sum(actual[(year, month)] for month in (3, 4, 5)) / 3
        assert winter > summer * 1.02, (year, winter / summer)
    this_year_summer = sum(actual[(2025, month)] for month in (3, 4)) / 2  # August holds this year's CHC one-off
    assert actual[(2025, 8)] > this_year_summer  # November already above June and July


def test_demo_ledger_has_a_march_year_end_spike() -> None:
    """M12 (March) spend exceeds the average of M01-M11 by a few per cent, as NHS year-end accruals do."""
    actual = _totals(list(_small_economy().ledger), "actual_pence")
    for year in (2023, 2024):
        rest = sum(actual[(year, month)] for month in range(1, 12)) / 11
        assert actual[(year, 12)] > rest * 1.025, (year, actual[(year, 12)] / rest)
