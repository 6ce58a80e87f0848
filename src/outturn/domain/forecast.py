"""Forecast outturn for one ledger line: run rate, seasonal, trend, budget-phased, exit rate, or a manual override.

The engine reduces a ledger to one row of figures per line (year-to-date sums, the sums a regression needs, the
last three months); these pure functions turn those figures into a forecast, exactly (with fractions) and rounded
once to the penny. Known one-off items count once and are never extrapolated: every method extrapolates the
recurring actual (actual less one-offs) and adds the year-to-date one-offs once, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from outturn.domain.errors import BadInput
from outturn.domain.ledger import CostCategory
from outturn.domain.money import Pence, div_round
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialMonth
from outturn.domain.plans import ForecastOverride
from outturn.domain.problems import Problem


class ForecastMethod(StrEnum):
    RUN_RATE = "run-rate"
    SEASONAL = "seasonal"
    TREND = "trend"
    BUDGET_PHASED = "budget-phased"
    EXIT_RATE = "exit-rate"
    CONTRACT = "contract"  # a line mapped to a provider contract: the contract statement's forecast outturn

    @classmethod
    def parse(cls, text: str) -> ForecastMethod:
        try:
            return cls(text.strip().lower())
        except ValueError:
            allowed = ", ".join(item.value for item in cls)
            raise BadInput(f"unknown forecast method {text!r} (one of: {allowed})") from None


# The methods that extrapolate the line's own ledger: those the back-test scores and ``auto`` chooses between.
# ``contract`` takes its figure from the contract statement instead, and applies only to lines set to it.
EXTRAPOLATIONS: tuple[ForecastMethod, ...] = tuple(
    item for item in ForecastMethod if item is not ForecastMethod.CONTRACT
)
OVERRIDE = "override"
EXIT_RATE_MONTHS = 3  # the exit rate is the average of the last three months to the as-at month


@dataclass(frozen=True)
class LineFigures:
    """A ledger line's year-to-date figures as at a month, as the engine computes them
    (``engine.ledger.line_figures_with_last_year``; ``services.position.figures_from_row`` reads a row of it).

    ``exit_recurring_pence`` is the recurring actual of the exit window, the last ``EXIT_RATE_MONTHS`` months to
    the as-at month (fewer before M03); ``last_year_exit_recurring_pence`` last year's in the same months. The
    last-year fields are None where the line was not held last year."""

    org_code: str
    category: CostCategory
    subcategory: str
    annual_budget_pence: Pence
    ytd_budget_pence: Pence
    ytd_actual_pence: Pence
    ytd_one_off_pence: Pence
    months_reported: int
    sum_month_times_recurring: int
    exit_recurring_pence: Pence
    last_year_ytd_recurring_pence: Pence | None = None
    last_year_total_recurring_pence: Pence | None = None
    last_year_exit_recurring_pence: Pence | None = None

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


def budget_phased(recurring_ytd_pence: Pence, ytd_budget_pence: Pence, annual_budget_pence: Pence) -> Pence:
    """YTD plus the rest of the year's budget at this year's performance against it: the remaining budget ×
    (YTD recurring actual ÷ YTD budget). The budget's own monthly phasing shapes the rest of the year."""
    remaining_budget = annual_budget_pence - ytd_budget_pence
    return recurring_ytd_pence + div_round(remaining_budget * recurring_ytd_pence, ytd_budget_pence)


def exit_rate(recurring_ytd_pence: Pence, exit_recurring_pence: Pence, months_elapsed: int) -> Pence:
    """YTD plus each remaining month at the exit rate: the average of the last (up to) three months."""
    window = min(EXIT_RATE_MONTHS, months_elapsed)
    remaining_months = MONTHS_IN_YEAR - months_elapsed
    return recurring_ytd_pence + div_round(exit_recurring_pence * remaining_months, window)


def exit_rate_seasonal(
    recurring_ytd_pence: Pence,
    exit_recurring_pence: Pence,
    last_year_exit_pence: Pence,
    last_year_remaining_pence: Pence,
) -> Pence:
    """YTD plus the exit rate in last year's shape: each remaining month is the exit average × last year's same
    month ÷ last year's average over the exit months. Summed over the remaining months the window length cancels:
    exit sum × last year's remaining months ÷ last year's exit sum."""
    return recurring_ytd_pence + div_round(exit_recurring_pence * last_year_remaining_pence, last_year_exit_pence)


@dataclass(frozen=True)
class _Extrapolation:
    recurring_outturn_pence: Pence
    method: ForecastMethod
    warnings: tuple[str, ...] = ()


def _seasonal(figures: LineFigures, as_at: FinancialMonth) -> _Extrapolation:
    if figures.last_year_ytd_recurring_pence and figures.last_year_total_recurring_pence is not None:
        extrapolated = seasonal(
            figures.ytd_recurring_pence,
            figures.last_year_ytd_recurring_pence,
            figures.last_year_total_recurring_pence,
        )
        return _Extrapolation(extrapolated, ForecastMethod.SEASONAL)
    return _Extrapolation(
        run_rate(figures.ytd_recurring_pence, as_at.elapsed),
        ForecastMethod.RUN_RATE,
        ("no actuals last year to profile; run rate used instead",),
    )


def _budget_phased(figures: LineFigures, as_at: FinancialMonth) -> _Extrapolation:
    """Budget-phased, or where nothing is budgeted to date (no ratio to take): the rest of the year at its budget
    when it has one, else the run rate."""
    recurring = figures.ytd_recurring_pence
    if figures.ytd_budget_pence:
        extrapolated = budget_phased(recurring, figures.ytd_budget_pence, figures.annual_budget_pence)
        return _Extrapolation(extrapolated, ForecastMethod.BUDGET_PHASED)
    remaining_budget = figures.annual_budget_pence - figures.ytd_budget_pence
    if remaining_budget:
        return _Extrapolation(
            recurring + remaining_budget,
            ForecastMethod.BUDGET_PHASED,
            (f"no budget to {as_at.label} to measure performance against; the rest of the year taken at its budget",),
        )
    return _Extrapolation(
        run_rate(recurring, as_at.elapsed),
        ForecastMethod.RUN_RATE,
        ("no budget for the year to phase by; run rate used instead",),
    )


def _exit_rate(figures: LineFigures, as_at: FinancialMonth) -> _Extrapolation:
    """The exit rate, seasonally adjusted when last year is held for the line and spent in the exit months."""
    notes: list[str] = []
    if as_at.elapsed < EXIT_RATE_MONTHS:
        notes.append(f"only {as_at.elapsed} month(s) to {as_at.label} for the exit rate; averaged over those")
    recurring, exit_sum = figures.ytd_recurring_pence, figures.exit_recurring_pence
    last_year_exit = figures.last_year_exit_recurring_pence
    if last_year_exit is not None and figures.last_year_total_recurring_pence is not None:
        if last_year_exit:
            last_year_remaining = figures.last_year_total_recurring_pence - (figures.last_year_ytd_recurring_pence or 0)
            extrapolated = exit_rate_seasonal(recurring, exit_sum, last_year_exit, last_year_remaining)
            return _Extrapolation(extrapolated, ForecastMethod.EXIT_RATE, tuple(notes))
        notes.append("no actuals last year in the exit months to profile; exit rate not seasonally adjusted")
    return _Extrapolation(exit_rate(recurring, exit_sum, as_at.elapsed), ForecastMethod.EXIT_RATE, tuple(notes))


def _extrapolate(figures: LineFigures, as_at: FinancialMonth, method: ForecastMethod) -> _Extrapolation:
    recurring = figures.ytd_recurring_pence
    if method is ForecastMethod.SEASONAL:
        return _seasonal(figures, as_at)
    if method is ForecastMethod.BUDGET_PHASED:
        return _budget_phased(figures, as_at)
    if method is ForecastMethod.EXIT_RATE:
        return _exit_rate(figures, as_at)
    if method is ForecastMethod.TREND:
        return _Extrapolation(trend(recurring, figures.sum_month_times_recurring, as_at.elapsed), method)
    return _Extrapolation(run_rate(recurring, as_at.elapsed), ForecastMethod.RUN_RATE)


def line_label(figures: LineFigures) -> str:
    """How warnings name a line: organisation, category and, where it has one, subcategory."""
    return f"{figures.org_code} {figures.category.value}" + (f" / {figures.subcategory}" if figures.subcategory else "")


def forecast_line(
    figures: LineFigures,
    as_at: FinancialMonth,
    method: ForecastMethod,
    override: ForecastOverride | None = None,
    contract_pence: Pence | None = None,
) -> tuple[LineForecast, tuple[Problem, ...]]:
    """The forecast for one line, and any warnings about how it was made.

    ``method`` is the one asked for; the forecast records the one used (a method that cannot apply falls back,
    with a warning saying why). One-offs to date are added once to the extrapolated recurring outturn. With
    ``contract``, the forecast is ``contract_pence``: the forecast outturn of the contract whose value the line
    carries (a line set to ``contract`` with no contract mapped to it is bad input)."""
    if override is not None:
        return LineForecast(figures, OVERRIDE, override.forecast_pence, override.reason), ()
    where = line_label(figures)
    if method is ForecastMethod.CONTRACT:
        if contract_pence is None:
            raise BadInput(
                f"{where} is set to the contract forecast method, but no contract's value is mapped to the line: "
                "map a contract to it or set another method",
                needs="contract-map",
            )
        return LineForecast(figures, method.value, contract_pence), ()
    warnings: list[Problem] = []
    if figures.months_reported < as_at.elapsed:
        warnings.append(
            Problem(
                "ledger",
                f"{where}: {as_at.elapsed - figures.months_reported} month(s) to {as_at.label} "
                "have no actual; counted as zero",
            )
        )
    result = _extrapolate(figures, as_at, method)
    warnings.extend(Problem("ledger", f"{where}: {note}") for note in result.warnings)
    outturn = result.recurring_outturn_pence + figures.ytd_one_off_pence
    return LineForecast(figures, result.method.value, outturn), tuple(warnings)
