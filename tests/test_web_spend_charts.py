"""Monthly spend charts on the position: budget against actual by month and cumulative, per category and for all
categories, with the forecast to M12 (``domain.monthly_spend``, drawn in the drawing process).

The web workspace (tests/web_helpers.py): 01A's one acute line has a £1m budget every month and £1.1m actual in
M01 to M06; the position at M06 forecasts £13.2m (run rate), so the six months left share £13.2m − £6.6m = £6.6m,
£1.1m each, and the cumulative spend ends at £13.2m against a cumulative budget of £12m.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from outturn.domain.monthly_spend import ALL, monthly_spend, spread
from outturn.services.monthly_spend import position_monthly_spend
from outturn.services.position import compute_position
from outturn.services.workspace import Workspace
from web_helpers import shared_client, shared_workspace, sign_in

__all__ = ["shared_client", "shared_workspace"]
MILLION = 1_000_000_00


def test_a_remainder_is_shared_to_the_penny() -> None:
    """100p over 3 months: cumulative shares 33.3p, 66.7p, 100p round to 33, 67, 100, so 33, 34, 33."""
    assert spread(100, 3) == [33, 34, 33]
    assert spread(-7, 3) == [-2, -3, -2]  # −2.3, −4.7, −7 round half away from zero to −2, −5, −7
    assert spread(500, 0) == []


@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(min_value=1, max_value=12))
def test_every_spread_sums_to_the_penny_and_is_even(remaining: int, months: int) -> None:
    shares = spread(remaining, months)
    assert len(shares) == months and sum(shares) == remaining
    assert max(shares) - min(shares) <= 1


def test_monthly_spend_worked_by_hand() -> None:
    """Acute: budget £100 a month, actuals £90, £110, £120 to M03, forecast outturn £1,300: the nine months left
    share £1,300 − £320 = £980, £108.89 each (98,000p / 9 = 10,888.9p: 10,889, 10,889, 10,888, …, summing to
    98,000p). Prescribing: budget £50 a month, M02's actual not reported (none), forecast £600; all categories add
    them month by month."""
    rows = [
        {"month": month, "category": "acute", "budget_pence": 100_00, "actual_pence": actual}
        for month, actual in zip(range(1, 13), [90_00, 110_00, 120_00] + [None] * 9, strict=True)
    ] + [
        {"month": month, "category": "prescribing", "budget_pence": 50_00, "actual_pence": actual}
        for month, actual in zip(range(1, 13), [50_00, None, 40_00] + [None] * 9, strict=True)
    ]
    every, acute, prescribing = monthly_spend(
        rows, 3, {"acute": 1_300_00, "prescribing": 600_00}, {"acute": "Acute", "prescribing": "Prescribing"}
    )
    assert (acute.key, acute.label, every.key) == ("acute", "Acute", ALL)
    assert [month.actual_pence for month in acute.months[:3]] == [90_00, 110_00, 120_00]
    assert all(month.actual_pence is None for month in acute.months[3:])
    forecast = [month.forecast_pence or 0 for month in acute.months[3:]]
    assert sum(forecast) == 98_000 and set(forecast) == {10_888, 10_889}
    assert acute.cumulative_spend_pence[2] == 320_00 and acute.cumulative_spend_pence[-1] == 1_300_00
    assert acute.cumulative_budget_pence[-1] == 1_200_00
    assert prescribing.months[1].actual_pence == 0  # not reported: nothing spent as far as the ledger says
    assert prescribing.cumulative_spend_pence[-1] == 600_00
    assert every.cumulative_budget_pence[-1] == 12 * 150_00
    assert [month.budget_pence for month in every.months] == [150_00] * 12
    assert every.months[0].actual_pence == 140_00 and every.cumulative_spend_pence[-1] == 1_900_00


def test_the_position_s_monthly_spend(shared_workspace: Workspace) -> None:
    position = compute_position(shared_workspace)
    every, acute = position_monthly_spend(shared_workspace, position)
    for series in (every, acute):
        assert [month.budget_pence for month in series.months] == [MILLION] * 12
        assert [month.spend_pence for month in series.months] == [1_100_000_00] * 12
        assert series.cumulative_spend_pence[5] == 6_600_000_00  # the actual to date
        assert series.cumulative_spend_pence[-1] == 13_200_000_00 == position.forecast_outturn_pence
        assert series.cumulative_budget_pence[-1] == 12 * MILLION


def test_the_position_page_shows_the_charts(shared_client: TestClient) -> None:
    sign_in(shared_client, "bob")
    page = shared_client.get("/position").text
    assert 'id="monthly-spend"' in page
    all_categories = page.split('id="spend-chart-all"')[1].split("</figure>")[0]
    assert "<svg" in all_categories and "All categories: budget against spend, 2025/26 to M06" in all_categories
    acute = page.split('id="spend-chart-acute"')[1].split("</figure>")[0]
    assert "<svg" in acute and "Acute: budget against spend" in acute
    assert "<summary" in page.split('id="spend-chart-all"')[1]  # each category folded under its name
