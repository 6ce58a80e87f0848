"""Forecast outturn for one ledger line: run rate, seasonal, trend, budget-phased, exit rate and override.

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
    EXTRAPOLATIONS,
    OVERRIDE,
    ForecastMethod,
    LineFigures,
    budget_phased,
    exit_rate,
    exit_rate_seasonal,
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
    ytd_budget_pence: int | None = None,
    last_year_monthly: Sequence[int] | None = None,
) -> LineFigures:
    """The figures the engine would compute for a line from its monthly recurring actuals (the budget phased
    evenly unless ``ytd_budget_pence`` says otherwise)."""
    ytd_recurring = sum(monthly_recurring)
    n = len(monthly_recurring)
    window = slice(max(0, n - 3), n)  # the exit rate's last three months (fewer before M03)
    return LineFigures(
        org_code="QXX",
        category=CostCategory.ACUTE,
        subcategory="County Hospital",
        annual_budget_pence=annual_budget_pence,
        ytd_budget_pence=annual_budget_pence * n // 12 if ytd_budget_pence is None else ytd_budget_pence,
        ytd_actual_pence=ytd_recurring + one_off_pence,
        ytd_one_off_pence=one_off_pence,
        months_reported=n if months_reported is None else months_reported,
        sum_month_times_recurring=sum(m * value for m, value in enumerate(monthly_recurring, start=1)),
        exit_recurring_pence=sum(monthly_recurring[window]),
        last_year_ytd_recurring_pence=None if last_year_monthly is None else sum(last_year_monthly[:n]),
        last_year_total_recurring_pence=None if last_year_monthly is None else sum(last_year_monthly),
        last_year_exit_recurring_pence=None if last_year_monthly is None else sum(last_year_monthly[window]),
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


@pytest.mark.parametrize("method", EXTRAPOLATIONS)
def test_one_off_counts_once_and_is_not_extrapolated(method: ForecastMethod) -> None:
    # £100k a month recurring for six months, plus a £50k one-off in M03: YTD £650k.
    # Recurring runs on to £1.2m; the one-off is added once: £1.25m (not 650k × 2 = £1.3m).
    # Budget-phased: £100k a month budgeted, so recurring is 100% of budget and the rest of the year £600k.
    monthly = [100_000 * POUND] * 6
    last_year = [90_000 * POUND] * 12  # a flat last year: the seasonal shape is flat too
    line = figures(
        monthly, one_off_pence=50_000 * POUND, annual_budget_pence=1_200_000 * POUND, last_year_monthly=last_year
    )
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


# --- budget-phased ------------------------------------------------------------------------------------------

K = 1_000 * POUND  # £1k in pence


def test_budget_phased_hand_example_keeps_an_overspend_that_has_happened() -> None:
    # Budget £12m: £0.9m a month April–November (£7.2m to M08), £1.2m a month December–March (£4.8m to come).
    # Recurring actual £7.92m to M08 is 110% of the £7.2m budgeted; a £0.3m one-off on top makes YTD £8.22m.
    # Rest of the year: £4.8m × 7.92 ÷ 7.2 = £5.28m. Forecast £7.92m + £5.28m + the one-off once £0.3m = £13.5m.
    # (Run rate would give 7.92 × 12 ÷ 8 + 0.3 = £12.18m: most of the £1.02m overspend to date "unwinds".)
    line = figures([990 * K] * 8, one_off_pence=300 * K, annual_budget_pence=12_000 * K, ytd_budget_pence=7_200 * K)
    assert budget_phased(7_920 * K, 7_200 * K, 12_000 * K) == 13_200 * K
    forecast, warnings = forecast_line(line, YEAR.month(8), ForecastMethod.BUDGET_PHASED)
    assert forecast.forecast_outturn_pence == 13_500 * K
    assert forecast.method == "budget-phased"
    assert warnings == ()
    run_rate_forecast, _ = forecast_line(line, YEAR.month(8), ForecastMethod.RUN_RATE)
    assert run_rate_forecast.forecast_outturn_pence == 12_180 * K


@pytest.mark.parametrize(
    ("ytd", "ytd_budget", "annual", "expected"),
    [
        (100, 300, 1_000, 333),  # 100 + 700 × 100 ÷ 300 = 100 + 233.33
        (1, 2, 3, 2),  # 1 + 1 × 1 ÷ 2 = 1 + 0.5: half away from zero
        (-1, 2, 3, -2),  # a credit: −1 + (−0.5 → −1)
        (500, 500, 500, 500),  # at M12 nothing remains
    ],
)
def test_budget_phased_rounds_once_half_away_from_zero(ytd: int, ytd_budget: int, annual: int, expected: int) -> None:
    assert budget_phased(ytd, ytd_budget, annual) == expected


def test_budget_phased_with_nothing_budgeted_to_date_takes_the_rest_of_the_year_at_budget() -> None:
    # All £600k of the budget falls October–March; £50k spent to M06 with nothing budgeted: no ratio to take.
    # The rest of the year at its budget: £50k + £600k = £650k.
    line = figures([10 * K, 0, 0, 15 * K, 25 * K, 0], annual_budget_pence=600 * K, ytd_budget_pence=0)
    forecast, warnings = forecast_line(line, YEAR.month(6), ForecastMethod.BUDGET_PHASED)
    assert forecast.forecast_outturn_pence == 650 * K
    assert forecast.method == "budget-phased"
    assert [warning.reason for warning in warnings] == [
        "QXX acute / County Hospital: no budget to M06 to measure performance against; "
        "the rest of the year taken at its budget"
    ]


def test_budget_phased_with_no_budget_at_all_falls_back_to_run_rate() -> None:
    # No budget for the year: £50k in six months runs on to £100k.
    line = figures([10 * K, 0, 0, 15 * K, 25 * K, 0], annual_budget_pence=0)
    forecast, warnings = forecast_line(line, YEAR.month(6), ForecastMethod.BUDGET_PHASED)
    assert forecast.forecast_outturn_pence == 100 * K
    assert forecast.method == "run-rate"
    assert len(warnings) == 1
    assert "no budget for the year to phase by; run rate used instead" in warnings[0].reason


# --- exit rate ------------------------------------------------------------------------------------------------

RISING = [100 * K] * 5 + [120 * K, 130 * K, 140 * K]  # to M08: £890k, leaving at £130k a month


def test_exit_rate_hand_example_without_last_year() -> None:
    # Last three months £120k + £130k + £140k = £390k, £130k a month; four months to come: £520k.
    # £890k to date + £520k + a £20k one-off once = £1.43m.
    assert exit_rate(890 * K, 390 * K, 8) == 1_410 * K
    forecast, warnings = forecast_line(figures(RISING, one_off_pence=20 * K), YEAR.month(8), ForecastMethod.EXIT_RATE)
    assert forecast.forecast_outturn_pence == 1_430 * K
    assert forecast.method == "exit-rate"
    assert warnings == ()


def test_exit_rate_is_seasonally_adjusted_by_last_years_profile() -> None:
    # Last year: £80k a month April–August, then £90k, £100k, £110k (M06–M08: £300k, £100k a month), then
    # December £120k, January £130k, February £120k, March £110k (£480k).
    # Each month to come = £130k × last year's month ÷ £100k: 156 + 169 + 156 + 143 = £624k = 390 × 480 ÷ 300.
    # £890k to date + £624k = £1.514m.
    last_year = [80 * K] * 5 + [90 * K, 100 * K, 110 * K] + [120 * K, 130 * K, 120 * K, 110 * K]
    assert exit_rate_seasonal(890 * K, 390 * K, 300 * K, 480 * K) == 1_514 * K
    forecast, warnings = forecast_line(
        figures(RISING, last_year_monthly=last_year), YEAR.month(8), ForecastMethod.EXIT_RATE
    )
    assert forecast.forecast_outturn_pence == 1_514 * K
    assert forecast.method == "exit-rate"
    assert warnings == ()


def test_exit_rate_with_fewer_than_three_months_uses_what_there_is_and_warns() -> None:
    # M02: £100k and £200k average £150k; ten months to come: £1.5m; with £300k to date, £1.8m.
    forecast, warnings = forecast_line(figures([100 * K, 200 * K]), YEAR.month(2), ForecastMethod.EXIT_RATE)
    assert forecast.forecast_outturn_pence == 1_800 * K
    assert [warning.reason for warning in warnings] == [
        "QXX acute / County Hospital: only 2 month(s) to M02 for the exit rate; averaged over those"
    ]


def test_exit_rate_when_last_year_spent_nothing_in_the_exit_months_is_not_adjusted() -> None:
    # Last year held, but nothing in M06–M08 to take a ratio from: the plain exit rate, £1.41m, with a warning.
    last_year = [80 * K] * 5 + [0, 0, 0] + [120 * K] * 4
    forecast, warnings = forecast_line(
        figures(RISING, last_year_monthly=last_year), YEAR.month(8), ForecastMethod.EXIT_RATE
    )
    assert forecast.forecast_outturn_pence == 1_410 * K
    assert len(warnings) == 1
    assert "exit rate not seasonally adjusted" in warnings[0].reason


@pytest.mark.parametrize(
    ("ytd", "exit_sum", "months", "expected"),
    [
        (10, 10, 5, 33),  # 10 + 7 × 10 ÷ 3 = 10 + 23.33
        (0, 1, 6, 2),  # 6 × 1 ÷ 3 = 2 exactly
        (0, 1, 10, 1),  # 2 × 1 ÷ 3 = 0.67 → 1
        (0, -1, 10, -1),
        (78, 33, 12, 78),  # at M12 nothing remains
    ],
)
def test_exit_rate_rounds_once_half_away_from_zero(ytd: int, exit_sum: int, months: int, expected: int) -> None:
    assert exit_rate(ytd, exit_sum, months) == expected


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
    # An even budget (any non-zero month, here last year's) makes budget-phased a constant month too.
    line = figures(
        [monthly_value] * months,
        one_off_pence=one_off,
        annual_budget_pence=12 * last_year_monthly_value,
        last_year_monthly=[last_year_monthly_value] * 12,
    )
    expected = 12 * monthly_value + one_off
    for method in EXTRAPOLATIONS:
        forecast, warnings = forecast_line(line, YEAR.month(months), method)
        assert forecast.forecast_outturn_pence == expected, method
        assert forecast.method == method.value
        short_window = method is ForecastMethod.EXIT_RATE and months < 3
        assert len(warnings) == (1 if short_window else 0)


def test_as_at_from_calendar_month_feeds_the_forecast() -> None:
    # November 2025 is M08: eight months of £1.1m make £13.2m.
    as_at = FinancialMonth.parse_as_at("2025-11")
    forecast, _ = forecast_line(figures([110_000_000] * 8), as_at, ForecastMethod.RUN_RATE)
    assert forecast.forecast_outturn_pence == 1_320_000_000


@PROPERTY
@given(
    st.lists(st.integers(min_value=-(10**9), max_value=10**9), min_size=1, max_size=12),
    st.lists(st.integers(min_value=1, max_value=10**9), min_size=12, max_size=12),
)
def test_exit_rate_matches_a_month_by_month_seasonal_recomputation(monthly: list[int], last_year: list[int]) -> None:
    # Each month to come = the exit average × last year's month ÷ last year's average over the same window.
    n = len(monthly)
    window = range(max(0, n - 3), n)
    exit_average = Fraction(sum(monthly[i] for i in window), len(window))
    last_year_average = Fraction(sum(last_year[i] for i in window), len(window))
    rest = sum(exit_average * last_year[m] / last_year_average for m in range(n, 12))
    total = sum(monthly) + Fraction(rest)
    expected = reference_round(Decimal(total.numerator), Decimal(total.denominator))
    forecast, _ = forecast_line(figures(monthly, last_year_monthly=last_year), YEAR.month(n), ForecastMethod.EXIT_RATE)
    assert forecast.forecast_outturn_pence == expected
