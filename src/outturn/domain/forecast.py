"""Forecast outturn for one ledger line: run rate, seasonal, trend, or a manual override.

The engine reduces a ledger to one row of figures per line (year-to-date sums and the sums a regression
needs); these pure functions turn those figures into a forecast, exactly (with fractions) and rounded once to
the penny. Known one-off items count once and are never extrapolated.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from outturn.domain.ledger import CostCategory
from outturn.domain.money import Pence, div_round
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialMonth
from outturn.domain.plans import ForecastOverride
from outturn.domain.problems import Problem


class ForecastMethod(StrEnum):
    RUN_RATE = "run-rate"
    SEASONAL = "seasonal"
    TREND = "trend"


OVERRIDE = "override"


@dataclass(frozen=True)
class LineFigures:
    """A ledger line's year-to-date figures as at a month, as the engine computes them."""

    org_code: str
    category: CostCategory
    subcategory: str
    annual_budget_pence: Pence
    ytd_budget_pence: Pence
    ytd_actual_pence: Pence
    ytd_one_off_pence: Pence
    months_reported: int
    sum_month_times_recurring: int
    last_year_ytd_recurring_pence: Pence | None = None
    last_year_total_recurring_pence: Pence | None = None

    @property
    def ytd_recurring_pence(self) -> Pence:
        return self.ytd_actual_pence - self.ytd_one_off_pence


@dataclass(frozen=True)
class LineForecast:
    figures: LineFigures
    method: str
    forecast_outturn_pence: Pence
    override_reason: str | None = None

    @property
    def forecast_variance_pence(self) -> Pence:
        """Budget less forecast: positive is an underspend, negative an overspend."""
        return self.figures.annual_budget_pence - self.forecast_outturn_pence


def run_rate(recurring_ytd_pence: Pence, months_elapsed: int) -> Pence:
    """The year at the year-to-date average: YTD ÷ N × 12."""
    return div_round(recurring_ytd_pence * MONTHS_IN_YEAR, months_elapsed)


def seasonal(recurring_ytd_pence: Pence, last_year_ytd_pence: Pence, last_year_total_pence: Pence) -> Pence:
    """The year in last year's shape: YTD grossed up by last year's full year over last year's same months."""
    return div_round(recurring_ytd_pence * last_year_total_pence, last_year_ytd_pence)


def trend(recurring_ytd_pence: Pence, sum_month_times_value: int, months_elapsed: int) -> Pence:
    """YTD plus the least-squares line through months 1..N, carried on to month 12."""
    n = months_elapsed
    if n == 1:
        return run_rate(recurring_ytd_pence, 1)
    sum_x = Fraction(n * (n + 1), 2)
    sum_xx = Fraction(n * (n + 1) * (2 * n + 1), 6)
    slope = (n * sum_month_times_value - sum_x * recurring_ytd_pence) / (n * sum_xx - sum_x * sum_x)
    intercept = (recurring_ytd_pence - slope * sum_x) / n
    later_months = range(n + 1, MONTHS_IN_YEAR + 1)
    remaining = len(later_months) * intercept + slope * sum(later_months)
    return div_round(recurring_ytd_pence + remaining)


def forecast_line(
    figures: LineFigures,
    as_at: FinancialMonth,
    method: ForecastMethod,
    override: ForecastOverride | None = None,
) -> tuple[LineForecast, tuple[Problem, ...]]:
    """The forecast for one line, and any warnings about how it was made."""
    if override is not None:
        return LineForecast(figures, OVERRIDE, override.forecast_pence, override.reason), ()
    where = f"{figures.org_code} {figures.category.value}" + (
        f" / {figures.subcategory}" if figures.subcategory else ""
    )
    warnings: list[Problem] = []
    if figures.months_reported < as_at.elapsed:
        warnings.append(
            Problem(
                "ledger",
                f"{where}: {as_at.elapsed - figures.months_reported} month(s) to {as_at.label} "
                "have no actual; counted as zero",
            )
        )
    recurring = figures.ytd_recurring_pence
    if method is ForecastMethod.SEASONAL:
        if figures.last_year_ytd_recurring_pence and figures.last_year_total_recurring_pence is not None:
            extrapolated = seasonal(
                recurring, figures.last_year_ytd_recurring_pence, figures.last_year_total_recurring_pence
            )
            return LineForecast(figures, method.value, extrapolated + figures.ytd_one_off_pence), tuple(warnings)
        warnings.append(Problem("ledger", f"{where}: no actuals last year to profile; run rate used instead"))
        method = ForecastMethod.RUN_RATE
    if method is ForecastMethod.TREND:
        extrapolated = trend(recurring, figures.sum_month_times_recurring, as_at.elapsed)
    else:
        extrapolated = run_rate(recurring, as_at.elapsed)
    return LineForecast(figures, method.value, extrapolated + figures.ytd_one_off_pence), tuple(warnings)
