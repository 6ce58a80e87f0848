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
    main = statements[0]
    assert main["ytd_actual_pence"] > main["ytd_plan_pence"] * 1.01
    assert sum(s["ytd_actual_pence"] for s in statements) > sum(s["ytd_plan_pence"] for s in statements)
    for statement in statements:
        assert abs(statement["ytd_actual_pence"] / statement["ytd_plan_pence"] - 1.025) < 0.03
        assert statement["over_performance_pence"] == statement["forecast_pence"] - statement["annual_plan_pence"]
        assert sum(line["ytd_actual_pence"] for line in statement["lines"]) == statement["ytd_actual_pence"]
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
