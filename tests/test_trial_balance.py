"""Trial balances: the import with its mapping, line-level roll-ups and the budget holders' reports.

Figures are worked by hand in each test (pounds, then pence); forecasts are run-rate (YTD / months x 12).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from outturn.domain.ledger import CostCategory
from outturn.domain.trial_balance import UNASSIGNED_HOLDER, LineKey
from outturn.services.budget_holders import budget_holder_report
from outturn.services.imports import import_ledger, import_organisations, import_plans
from outturn.services.workspace import Workspace, init_workspace, open_workspace
from outturn.settings import record_settings

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
    acute = by_key[LineKey("01A", "acute", "Main provider")]
    prescribing = by_key[LineKey("01A", "prescribing", "")]
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
