"""Forecast outturn for one ledger line: run rate, seasonal, trend and override.

Expected figures are worked by hand, or computed here by a second implementation: plain ``Decimal``
arithmetic for the ratios, and a mean-centred least-squares line (a different formula from the code's
normal equations) for the trend.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outturn.domain.forecast import (
    OVERRIDE,
    ForecastMethod,
    LineFigures,
    forecast_line,
    run_rate,
    seasonal,
    trend,
)
from outturn.domain.ledger import CostCategory
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.plans import ForecastOverride

PROPERTY = settings(max_examples=200, deadline=None)
YEAR = FinancialYear(2025)
POUND = 100


def reference_round(numerator: Decimal, denominator: Decimal) -> int:
    """Round half away from zero on the magnitude, then restore the sign."""
    with localcontext() as context:
        context.prec = 120
        magnitude = (abs(numerator) / abs(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    negative = (numerator < 0) != (denominator < 0)
    return -int(magnitude) if negative else int(magnitude)


def reference_trend(monthly: Sequence[int]) -> int:
    """YTD plus a least-squares line through (m, value) continued to month 12, mean-centred form."""
    n = len(monthly)
    months = range(1, n + 1)
    mean_x = Fraction(sum(months), n)
    mean_y = Fraction(sum(monthly), n)
    spread = sum((x - mean_x) ** 2 for x in months)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(months, monthly, strict=True)) / spread
    rest = sum(mean_y + slope * (x - mean_x) for x in range(n + 1, 13))
    total = sum(monthly) + Fraction(rest)
    return reference_round(Decimal(total.numerator), Decimal(total.denominator))


def figures(
    monthly_recurring: Sequence[int],
    *,
    one_off_pence: int = 0,
    months_reported: int | None = None,
    annual_budget_pence: int = 0,
    last_year_monthly: Sequence[int] | None = None,
) -> LineFigures:
    """The figures the engine would compute for a line from its monthly recurring actuals."""
    ytd_recurring = sum(monthly_recurring)
    n = len(monthly_recurring)
    return LineFigures(
        org_code="QXX",
        category=CostCategory.ACUTE,
        subcategory="County Hospital",
        annual_budget_pence=annual_budget_pence,
        ytd_budget_pence=annual_budget_pence * n // 12,
        ytd_actual_pence=ytd_recurring + one_off_pence,
        ytd_one_off_pence=one_off_pence,
        months_reported=n if months_reported is None else months_reported,
        sum_month_times_recurring=sum(m * value for m, value in enumerate(monthly_recurring, start=1)),
        last_year_ytd_recurring_pence=None if last_year_monthly is None else sum(last_year_monthly[:n]),
        last_year_total_recurring_pence=None if last_year_monthly is None else sum(last_year_monthly),
    )


# --- hand-worked figures ------------------------------------------------------------------------------------


def test_run_rate_hand_example() -> None:
    # £8.8m spent in eight months is £1.1m a month: £13.2m for the year.
    assert run_rate(880_000_000, 8) == 1_320_000_000


@pytest.mark.parametrize(
    ("ytd", "months", "expected"),
    [
        (100, 7, 171),  # 1200 / 7 = 171.43
        (7, 8, 11),  # 84 / 8 = 10.5: half away from zero
        (-7, 8, -11),
        (5, 12, 5),
    ],
)
def test_run_rate_rounds_half_away_from_zero(ytd: int, months: int, expected: int) -> None:
    assert run_rate(ytd, months) == expected


def test_seasonal_hand_example() -> None:
    # Last year £8m by M08 and £12.5m for the year: this year's £8.8m grosses up to 8.8 × 12.5 / 8 = £13.75m.
    assert seasonal(880_000_000, 800_000_000, 1_250_000_000) == 1_375_000_000


def test_trend_of_a_straight_line_continues_it() -> None:
    # £100, £110, £120, £130 to M04: the line runs on to £210 in M12; 100 + 110 + ... + 210 = £1,860.
    monthly = [100 * POUND, 110 * POUND, 120 * POUND, 130 * POUND]
    ytd = sum(monthly)
    sum_month_times = 1 * 10_000 + 2 * 11_000 + 3 * 12_000 + 4 * 13_000  # £1,200 in pence
    assert (ytd, sum_month_times) == (46_000, 120_000)
    assert trend(ytd, sum_month_times, 4) == 1_860 * POUND
    forecast, warnings = forecast_line(figures(monthly), YEAR.month(4), ForecastMethod.TREND)
    assert forecast.forecast_outturn_pence == 186_000
    assert forecast.method == "trend"
    assert warnings == ()


def test_trend_of_a_scattered_series_hand_example() -> None:
    # 10p, 0p, 20p: mean month 2, mean 10p, slope (−1·−10·0 + 0 + 1·10)/2 = 5p a month, intercept 0.
    # Months 4..12 add 5 × (4 + ... + 12) = 5 × 72 = 360p; with the 30p to date, 390p.
    assert trend(30, 1 * 10 + 2 * 0 + 3 * 20, 3) == 390


def test_trend_rounds_once_at_the_end() -> None:
    # 0, 0, 0, 1p: slope 1.5/5 = 0.3p, intercept 0.25 − 0.3 × 2.5 = −0.5p.
    # Months 5..12: 8 × −0.5 + 0.3 × 68 = 16.4p; with 1p to date 17.4p → 17p.
    assert trend(1, 4, 4) == 17


def test_trend_with_one_month_is_the_run_rate() -> None:
    assert trend(1_234, 1_234, 1) == 12 * 1_234


def test_trend_at_year_end_is_the_actual() -> None:
    monthly = [5, 80, 3, 41, 0, 7, 99, 12, 1, 60, 2, 30]
    sum_month_times = sum(m * value for m, value in enumerate(monthly, start=1))
    assert trend(sum(monthly), sum_month_times, 12) == sum(monthly)


@pytest.mark.parametrize("method", list(ForecastMethod))
def test_one_off_counts_once_and_is_not_extrapolated(method: ForecastMethod) -> None:
    # £100k a month recurring for six months, plus a £50k one-off in M03: YTD £650k.
    # Recurring runs on to £1.2m; the one-off is added once: £1.25m (not 650k × 2 = £1.3m).
    monthly = [100_000 * POUND] * 6
    last_year = [90_000 * POUND] * 12  # a flat last year: the seasonal shape is flat too
    line = figures(monthly, one_off_pence=50_000 * POUND, last_year_monthly=last_year)
    assert line.ytd_actual_pence == 65_000_000
    assert line.ytd_recurring_pence == 60_000_000
    forecast, warnings = forecast_line(line, YEAR.month(6), method)
    assert forecast.forecast_outturn_pence == 125_000_000
    assert forecast.method == method.value
    assert warnings == ()


def test_override_replaces_the_method_and_keeps_the_reason() -> None:
    line = figures([100_000 * POUND] * 8, annual_budget_pence=1_000_000 * POUND)
    override = ForecastOverride(
        org_code="QXX",
        year=YEAR,
        category=CostCategory.ACUTE,
        subcategory="County Hospital",
        forecast_pence=1_500_000 * POUND,
        reason="Winter pressures agreed with the provider",
    )
    forecast, warnings = forecast_line(line, YEAR.month(8), ForecastMethod.RUN_RATE, override)
    assert forecast.method == OVERRIDE == "override"
    assert forecast.forecast_outturn_pence == 150_000_000
    assert forecast.override_reason == "Winter pressures agreed with the provider"
    assert forecast.forecast_variance_pence == 100_000_000 - 150_000_000  # budget less forecast: overspend
    assert warnings == ()


def test_override_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        ForecastOverride("QXX", YEAR, CostCategory.ACUTE, "", 0, "   ")


@pytest.mark.parametrize(
    "last_year",
    [None, [0] * 12],  # no last year at all, or nothing spent in last year's same months
)
def test_seasonal_without_last_year_falls_back_to_run_rate(last_year: list[int] | None) -> None:
    line = figures([110_000 * POUND] * 8, last_year_monthly=last_year)
    forecast, warnings = forecast_line(line, YEAR.month(8), ForecastMethod.SEASONAL)
    assert forecast.method == "run-rate"
    assert forecast.forecast_outturn_pence == 132_000_000  # £880k × 12 / 8
    assert len(warnings) == 1
    assert warnings[0].source == "ledger"
    assert "run rate used instead" in warnings[0].reason
    assert "QXX acute / County Hospital" in warnings[0].reason


def test_seasonal_follows_last_years_shape() -> None:
    # Last year: £80k a month April–November, £150k a month December–March (£640k to M08, £1.24m in all).
    last_year = [80_000 * POUND] * 8 + [150_000 * POUND] * 4
    line = figures([88_000 * POUND] * 8, last_year_monthly=last_year)  # 10% up on last year to M08
    forecast, warnings = forecast_line(line, YEAR.month(8), ForecastMethod.SEASONAL)
    assert forecast.method == "seasonal"
    assert forecast.forecast_outturn_pence == 136_400_000  # £1.24m × 1.1 = £1.364m
    assert warnings == ()


def test_missing_months_give_a_warning() -> None:
    line = figures([100_000 * POUND] * 6, months_reported=6)
    forecast, warnings = forecast_line(line, YEAR.month(8), ForecastMethod.RUN_RATE)
    # The two missing months count as zero: £600k over eight months is £900k for the year.
    assert forecast.forecast_outturn_pence == 90_000_000
    assert len(warnings) == 1
    assert "2 month(s) to M08 have no actual" in warnings[0].reason


def test_missing_months_and_no_last_year_give_both_warnings() -> None:
    line = figures([100_000 * POUND] * 7, months_reported=7)
    _, warnings = forecast_line(line, YEAR.month(8), ForecastMethod.SEASONAL)
    reasons = [warning.reason for warning in warnings]
    assert len(reasons) == 2
    assert "1 month(s) to M08" in reasons[0]
    assert "run rate used instead" in reasons[1]


# --- properties ---------------------------------------------------------------------------------------------


@PROPERTY
@given(
    st.integers(min_value=-(10**9), max_value=10**9),
    st.integers(min_value=-(10**7), max_value=10**7),
    st.integers(min_value=2, max_value=12),
)
def test_trend_of_an_exact_line_reproduces_the_line(intercept: int, slope: int, months: int) -> None:
    monthly = [intercept + slope * m for m in range(1, months + 1)]
    expected = 12 * intercept + slope * 78  # Σ (a + b·m) for m = 1..12, with Σ m = 78
    line = figures(monthly)
    assert trend(line.ytd_recurring_pence, line.sum_month_times_recurring, months) == expected
    forecast, _ = forecast_line(line, YEAR.month(months), ForecastMethod.TREND)
    assert forecast.forecast_outturn_pence == expected


@PROPERTY
@given(st.lists(st.integers(min_value=-(10**10), max_value=10**10), min_size=2, max_size=12))
def test_trend_matches_an_independent_least_squares(monthly: list[int]) -> None:
    sum_month_times = sum(m * value for m, value in enumerate(monthly, start=1))
    assert trend(sum(monthly), sum_month_times, len(monthly)) == reference_trend(monthly)


@PROPERTY
@given(st.integers(min_value=-(10**15), max_value=10**15), st.integers(min_value=1, max_value=12))
def test_run_rate_matches_decimal_half_up(ytd: int, months: int) -> None:
    assert run_rate(ytd, months) == reference_round(Decimal(ytd) * 12, Decimal(months))


@PROPERTY
@given(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.integers(min_value=-(10**12), max_value=10**12).filter(lambda value: value != 0),
    st.integers(min_value=-(10**12), max_value=10**12),
)
def test_seasonal_matches_decimal_half_up(ytd: int, last_year_ytd: int, last_year_total: int) -> None:
    expected = reference_round(Decimal(ytd) * Decimal(last_year_total), Decimal(last_year_ytd))
    assert seasonal(ytd, last_year_ytd, last_year_total) == expected


@PROPERTY
@given(
    st.integers(min_value=-(10**10), max_value=10**10),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=-(10**10), max_value=10**10).filter(lambda value: value != 0),
    st.integers(min_value=-(10**10), max_value=10**10),
)
def test_a_constant_month_gives_the_same_year_by_every_method(
    monthly_value: int, months: int, last_year_monthly_value: int, one_off: int
) -> None:
    line = figures([monthly_value] * months, one_off_pence=one_off, last_year_monthly=[last_year_monthly_value] * 12)
    expected = 12 * monthly_value + one_off
    for method in ForecastMethod:
        forecast, warnings = forecast_line(line, YEAR.month(months), method)
        assert forecast.forecast_outturn_pence == expected, method
        assert forecast.method == method.value
        assert warnings == ()


def test_as_at_from_calendar_month_feeds_the_forecast() -> None:
    # November 2025 is M08: eight months of £1.1m make £13.2m.
    as_at = FinancialMonth.parse_as_at("2025-11")
    forecast, _ = forecast_line(figures([110_000_000] * 8), as_at, ForecastMethod.RUN_RATE)
    assert forecast.forecast_outturn_pence == 1_320_000_000
