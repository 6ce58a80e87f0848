"""Forecast history: recorded at each month-end close (replaced when a reopened month closes again), read back by
``outturn position history``, with each month's movement split into new actuals, method changes and overrides.

The tiny ledger below is worked by hand (whole pounds; the forecasts are the methods' formulas on it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.forecast import EXTRAPOLATIONS
from outturn.domain.forecast_history import CategoryRecord, MonthRecord, category_movement, history
from outturn.domain.ledger import CostCategory
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.plans import ForecastOverride
from outturn.services import savings
from outturn.services.forecast_history import position_history
from outturn.services.forecasts import set_override
from outturn.services.imports import import_ledger, import_organisations, import_plans
from outturn.services.workspace import Workspace, init_workspace, open_workspace
from outturn.store.savings_repository import history as audit_history
from web_helpers import app_client, sign_in, web_workspace

__all__ = ["app_client", "web_workspace"]

YEAR = FinancialYear(2025)
M01, M02, M03 = (YEAR.month(number) for number in (1, 2, 3))
POUND = 100

ORGANISATIONS = """code,name,kind,parent_code
QXX,Test ICB,icb,
01A,North sub-ICB,sub_icb,QXX
02B,South sub-ICB,sub_icb,QXX
"""
PLANS = """org_code,year,item,amount,description
01A,2025/26,recurrent_allocation,"£1,200",
01A,2025/26,control_total,0,
02B,2025/26,recurrent_allocation,£600,
02B,2025/26,control_total,(10),
"""
# 01A acute: budget £100 a month; last year £90 a month to September and £110 from October (year £1,200).
# 02B prescribing: budget £50 a month, no last year (seasonal falls back to run rate).
ACUTE_THIS_YEAR = (110, 130, 120)
ACUTE_LAST_YEAR = (90,) * 6 + (110,) * 6
PRESCRIBING_THIS_YEAR = (40, 50, 60)


def _ledger_csv(path: Path, months: range, acute_m03: int = 120) -> Path:
    """The first file holds last year, and this year's budgets with M01's actuals; later files one month each."""
    rows = ["org_code,year,month,category,subcategory,budget,actual,one_off"]
    acute = (*ACUTE_THIS_YEAR[:2], acute_m03)
    first = 1 in months
    if first:
        rows += [f"01A,2024,M{m:02d},acute,Trust,100,{ACUTE_LAST_YEAR[m - 1]}," for m in range(1, 13)]
    for month in range(1, 13) if first else months:
        reported = month in months
        rows.append(f"01A,2025,M{month:02d},acute,Trust,100,{acute[month - 1] if reported else ''},")
        rows.append(f"02B,2025,M{month:02d},prescribing,,50,{PRESCRIBING_THIS_YEAR[month - 1] if reported else ''},")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def workspace(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    # the figures are worked for run-rate as the workspace's method; the default, auto, is test_backtest's
    monkeypatch.setenv("OUTTURN_FORECAST_METHOD", "run-rate")
    opened = init_workspace(
        tmp_path / "ws", default_org="QXX", default_as_at="2025-04", reference_dir=tmp_path, store_url=store_url
    )
    (tmp_path / "orgs.csv").write_text(ORGANISATIONS, encoding="utf-8")
    (tmp_path / "plans.csv").write_text(PLANS, encoding="utf-8")
    import_organisations(opened, tmp_path / "orgs.csv")
    import_plans(opened, tmp_path / "plans.csv")
    import_ledger(opened, _ledger_csv(tmp_path / "ledger-m01.csv", range(1, 2)))
    yield opened
    opened.close()


def _close_three_months(workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """Close M01 and M02 by run rate; then switch to seasonal, override 02B's prescribing at £700, close M03."""
    savings.close_month(workspace, M01, "alice")
    import_ledger(workspace, _ledger_csv(tmp_path / "ledger-m02.csv", range(2, 3)))
    savings.close_month(workspace, M02, "alice")
    import_ledger(workspace, _ledger_csv(tmp_path / "ledger-m03.csv", range(3, 4)))
    set_override(
        workspace,
        ForecastOverride("02B", YEAR, CostCategory.PRESCRIBING, "", 700 * POUND, "known price rise"),
    )
    directory = workspace.settings.workspace
    workspace.close()
    monkeypatch.setenv("OUTTURN_FORECAST_METHOD", "seasonal")
    reopened = open_workspace(directory)
    savings.close_month(reopened, M03, "alice")
    return reopened


def test_each_close_records_the_forecast_by_category_and_method(workspace: Workspace) -> None:
    savings.close_month(workspace, M01, "alice")
    _org, _year, months = position_history(workspace, "01A")
    (only,) = months
    (acute,) = only.record.categories
    # M01: run rate £110 x 12 = £1,320; seasonal £110 x £1,200 / £90 = £1,466.666... -> £1,466.67;
    # trend with one month is the run rate.
    assert acute.method == "run-rate"
    assert acute.forecast_outturn_pence == 1_320 * POUND
    assert acute.by_method_pence["run-rate"] == 1_320 * POUND
    assert acute.by_method_pence["seasonal"] == 146_667
    assert acute.by_method_pence["trend"] == 1_320 * POUND
    assert set(acute.by_method_pence) == {method.value for method in EXTRAPOLATIONS}
    assert (acute.ytd_actual_pence, acute.ytd_budget_pence, acute.annual_budget_pence) == (11_000, 10_000, 120_000)
    assert (only.record.resource_pence, only.record.control_total_pence) == (1_200 * POUND, 0)
    assert only.movement is None  # the first month recorded has nothing to move from


def test_the_movement_splits_into_new_actuals_method_changes_and_overrides(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reopened = _close_three_months(workspace, tmp_path, monkeypatch)
    try:
        _org, _year, months = position_history(reopened, "QXX")
    finally:
        reopened.close()
    first, second, third = months
    # M01: 01A £1,320 (above) + 02B run rate £40 x 12 = £480.
    assert first.record.forecast_outturn_pence == (1_320 + 480) * POUND
    # M02 by run rate: 01A £240 x 6 = £1,440, 02B £90 x 6 = £540; all of the move is the new month's actuals.
    assert second.record.forecast_outturn_pence == (1_440 + 540) * POUND
    moved = second.movement
    assert moved is not None and second.since == M01
    assert (moved.new_actuals_pence, moved.method_changes_pence, moved.overrides_pence) == (
        (1_440 - 1_320 + 540 - 480) * POUND,
        0,
        0,
    )
    # M03 by seasonal with 02B overridden at £700:
    #   01A seasonal £360 x £1,200 / £270 = £1,600; by run rate it would be £360 x 4 = £1,440.
    #   02B seasonal falls back to run rate: £150 x 4 = £600; the override makes it £700 (effect £100).
    assert third.record.forecast_outturn_pence == (1_600 + 700) * POUND
    moved = third.movement
    assert moved is not None
    # new actuals: each line by last month's method this month less last month's forecast:
    #   01A £1,440 - £1,440 = 0; 02B £600 - £540 = £60.
    # method changes: this month's method less last month's, this month: 01A £1,600 - £1,440 = £160; 02B £0.
    # overrides: £100 - £0.
    assert (moved.new_actuals_pence, moved.method_changes_pence, moved.overrides_pence) == (
        60 * POUND,
        160 * POUND,
        100 * POUND,
    )
    assert moved.total_pence == third.record.forecast_outturn_pence - second.record.forecast_outturn_pence
    # resource £1,800, forecast £2,300: a £500 deficit against a £10 deficit control total, a gap of £490
    assert third.record.forecast_surplus_pence == -500 * POUND
    assert third.record.gap_to_control_total_pence == 490 * POUND


def test_a_reclose_after_a_reopen_replaces_the_months_record_and_is_audited(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reopened = _close_three_months(workspace, tmp_path, monkeypatch)
    try:
        savings.reopen_month(reopened, M03, "bob", "acute M03 was posted short")
        import_ledger(reopened, _ledger_csv(tmp_path / "ledger-m03b.csv", range(3, 4), acute_m03=150))
        savings.close_month(reopened, M03, "bob")
        _org, _year, months = position_history(reopened, "01A")
        with reopened.store.reading() as session:
            trail = audit_history(session, "forecast-history", "2025/26 M03")
    finally:
        reopened.close()
    assert [month.record.month for month in months] == [M01, M02, M03]  # one record for M03, not two
    (acute,) = months[-1].record.categories
    # seasonal: £390 x £1,200 / £270 = £1,733.333... -> £1,733.33
    assert acute.forecast_outturn_pence == 173_333
    assert [entry.action for entry in trail] == ["record", "replace"]
    assert trail[-1].before == {"forecast_outturn_pence": {"01A": 1_600 * POUND, "02B": 700 * POUND}}
    assert trail[-1].after == {"forecast_outturn_pence": {"01A": 173_333, "02B": 700 * POUND}}
    assert trail[-1].who == "bob"


def test_history_json_has_the_documented_shape(workspace: Workspace, tmp_path: Path) -> None:
    savings.close_month(workspace, M01, "alice")
    import_ledger(workspace, _ledger_csv(tmp_path / "ledger-m02.csv", range(2, 3)))
    savings.close_month(workspace, M02, "alice")
    directory = workspace.settings.workspace
    result = CliRunner().invoke(
        app, ["position", "history", "--workspace", str(directory), "--org", "QXX", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["org_code"], document["org_name"], document["financial_year"]) == ("QXX", "Test ICB", "2025/26")
    assert [month["month"] for month in document["months"]] == ["M01", "M02"]
    latest = document["months"][-1]
    assert set(latest) == {
        "month", "as_at", "resource_pence", "control_total_pence", "ytd_actual_pence", "annual_budget_pence",
        "forecast_outturn_pence", "forecast_surplus_pence", "gap_to_control_total_pence", "override_effect_pence",
        "movement_since", "movement", "by_category",
    }  # fmt: skip
    assert latest["movement_since"] == "M01"
    assert latest["movement"] == {
        "total_pence": 180 * POUND,  # (£1,440 + £540) - (£1,320 + £480)
        "new_actuals_pence": 180 * POUND,
        "method_changes_pence": 0,
        "overrides_pence": 0,
    }
    assert document["months"][0]["movement"] is None
    acute = latest["by_category"][0]
    assert set(acute) == {
        "category", "label", "method", "forecast_outturn_pence", "override_effect_pence", "ytd_actual_pence",
        "ytd_budget_pence", "annual_budget_pence", "forecast_by_method_pence", "movement",
    }  # fmt: skip
    assert acute["category"] == "acute" and acute["forecast_outturn_pence"] == 1_440 * POUND
    assert acute["forecast_by_method_pence"]["seasonal"] == 1_600 * POUND  # £240 x £1,200 / £180
    table = CliRunner().invoke(app, ["position", "history", "--workspace", str(directory), "--org", "QXX"])
    assert table.exit_code == 0 and "M02" in table.output and "[/" not in table.output


def test_history_of_an_unknown_organisation_is_a_clear_error(workspace: Workspace) -> None:
    result = CliRunner().invoke(
        app, ["position", "history", "--workspace", str(workspace.settings.workspace), "--org", "ZZZ"]
    )
    assert result.exit_code == 2
    assert "unknown organisation 'ZZZ'" in result.output


# --- the split sums to the movement, to the penny -------------------------------------------------------------

METHODS = ("run-rate", "seasonal", "trend", "budget-phased", "exit-rate")
pence = st.integers(min_value=-(10**12), max_value=10**12)


@st.composite
def category_records(draw: st.DrawFn, category: CostCategory = CostCategory.ACUTE) -> CategoryRecord:
    held = draw(st.lists(st.sampled_from(METHODS), unique=True, max_size=len(METHODS)))
    return CategoryRecord(
        category=category,
        method=draw(st.sampled_from((*METHODS, "mixed"))),
        forecast_outturn_pence=draw(pence),
        override_effect_pence=draw(pence),
        ytd_actual_pence=draw(pence),
        ytd_budget_pence=draw(pence),
        annual_budget_pence=draw(pence),
        by_method_pence={method: draw(pence) for method in held},
    )


@given(st.none() | category_records(), st.none() | category_records())
def test_a_categorys_split_sums_to_its_movement(before: CategoryRecord | None, after: CategoryRecord | None) -> None:
    moved = category_movement(before, after)
    expected = (after.forecast_outturn_pence if after else 0) - (before.forecast_outturn_pence if before else 0)
    assert moved.new_actuals_pence + moved.method_changes_pence + moved.overrides_pence == expected


@st.composite
def member_months(draw: st.DrawFn) -> list[MonthRecord]:
    """Records of two members over a few months of one year, each with any categories."""
    records = []
    for number in sorted(draw(st.sets(st.integers(1, 12), min_size=1, max_size=4))):
        for code in ("01A", "02B"):
            chosen = draw(st.sets(st.sampled_from(list(CostCategory)[:4]), max_size=4))
            categories = tuple(draw(category_records(category)) for category in CostCategory if category in chosen)
            records.append(MonthRecord(code, YEAR.month(number), draw(pence), draw(pence), categories))
    return records


@given(member_months())
def test_a_groups_monthly_split_sums_to_its_movement(records: list[MonthRecord]) -> None:
    months = history("QXX", records)
    for earlier, later in pairwise(months):
        moved = later.movement
        assert moved is not None and later.since == earlier.record.month
        expected = later.record.forecast_outturn_pence - earlier.record.forecast_outturn_pence
        assert moved.new_actuals_pence + moved.method_changes_pence + moved.overrides_pence == expected
        members = [r for r in records if r.month == later.record.month]
        assert later.record.forecast_outturn_pence == sum(r.forecast_outturn_pence for r in members)


def test_a_month_before_any_record_of_the_year_has_no_movement() -> None:
    only = MonthRecord("01A", FinancialMonth(YEAR, 4), 0, 0, ())
    (month,) = history("01A", [only])
    assert month.since is None and month.movement is None


# --- the web position page and API (the fixture of tests/web_helpers.py, worked by hand in test_web_overview) ---


def test_the_position_page_draws_the_forecast_drift_once_a_month_is_closed(
    app_client: TestClient, web_workspace: Workspace
) -> None:
    """01A as at M06 2025/26: forecast £13.2m by run rate against resource £13m: a £0.2m deficit."""
    sign_in(app_client, "bob")
    assert 'id="drift-chart"' not in app_client.get("/position").text  # nothing closed yet: no history to draw
    savings.close_month(web_workspace, YEAR.month(6), "fiona")
    document = app_client.get("/api/position/history").json()
    (month,) = document["months"]
    assert (month["month"], month["forecast_outturn_pence"]) == ("M06", 13_200 * 1_000 * POUND)
    assert (month["forecast_surplus_pence"], month["control_total_pence"]) == (-200_000 * POUND, 500_000 * POUND)
    html = app_client.get("/position").text
    chart = html[html.index('id="drift-chart"') :]
    assert "<svg" in chart[: chart.index("</figure>")] and "Control total" in chart[: chart.index("</figure>")]
    table = html[html.index('id="forecast-drift"') :]
    assert "<td>M06</td>" in table and "£13,200k" in table[: table.index("</table>")]
