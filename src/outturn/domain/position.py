"""The financial position: year to date, forecast outturn, gap to control total, risk range and the bridge."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from outturn.domain.backtest import AutoChoice
from outturn.domain.forecast import EXIT_RATE_MONTHS, LineForecast
from outturn.domain.ledger import CostCategory
from outturn.domain.money import Pence, div_round, format_millions
from outturn.domain.periods import FinancialMonth
from outturn.domain.plans import Deduction, FinancialPlan, ResourceFigures, RiskItem, RiskKind
from outturn.domain.problems import Problem
from outturn.domain.savings import NO_SAVINGS, RemainingSavings
from outturn.domain.year_end import (
    CONTROL_TOTAL,
    FORECAST_SURPLUS,
    LIKELY,
    MITIGATIONS_LIKELY,
    RISKS_LIKELY,
    SAVINGS_SHORTFALL,
)

MIXED = "mixed"  # a category whose lines are forecast by different methods


def method_of(methods: Iterable[str]) -> str:
    """The one method of several lines (or members), or ``mixed`` where they differ."""
    distinct = set(methods)
    return distinct.pop() if len(distinct) == 1 else MIXED


RECENT_MONTHS_TOLERANCE = Fraction(1, 100)  # recent months run "above" the average when over it by more than 1%


@dataclass(frozen=True)
class LineMethod:
    """The method one ledger line was forecast by (``override`` for a manual forecast)."""

    org_code: str
    subcategory: str
    method: str


# look-alike of domain/plans.py:_Allocated (shape only): declarative, a class's fields.
class _BudgetAndSpend(Protocol):
    @property
    def annual_budget_pence(self) -> Pence: ...

    @property
    def ytd_budget_pence(self) -> Pence: ...

    @property
    def ytd_actual_pence(self) -> Pence: ...

    @property
    def forecast_outturn_pence(self) -> Pence: ...


# look-alike of domain/forecast_history.py:CategoryRecord (shape only): declarative, a class's fields.
class BudgetVariances:
    """Budget less spend, to date and for the year, of a category or a whole position: one rule for both."""

    @property
    def ytd_variance_pence(self: _BudgetAndSpend) -> Pence:
        """Budget less actual: positive is an underspend."""
        return self.ytd_budget_pence - self.ytd_actual_pence

    @property
    def forecast_variance_pence(self: _BudgetAndSpend) -> Pence:
        """Annual budget less forecast outturn: positive is an underspend."""
        return self.annual_budget_pence - self.forecast_outturn_pence


# look-alike of domain/forecast.py:LineFigures (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class CategoryPosition(BudgetVariances):
    category: CostCategory
    annual_budget_pence: Pence
    ytd_budget_pence: Pence
    ytd_actual_pence: Pence
    ytd_one_off_pence: Pence
    forecast_outturn_pence: Pence
    methods: tuple[str, ...]
    exit_recurring_pence: Pence = 0  # recurring actual in the last three months to date
    line_methods: tuple[LineMethod, ...] = ()

    @property
    def method(self) -> str:
        """The method every line was forecast by, or ``mixed`` where they differ (see ``line_methods``)."""
        return method_of(self.methods)

    @property
    def ytd_recurring_pence(self) -> Pence:
        return self.ytd_actual_pence - self.ytd_one_off_pence


@dataclass(frozen=True)
class BridgeStep:
    label: str
    pence: Pence
    kind: str  # "start" | "step" | "subtotal" | "end"
    running_pence: Pence


@dataclass(frozen=True)
class RiskRange:
    """The forecast adjusted for the savings plan and the risk register (``domain/year_end.py`` states the rules).

    Likely: the savings still to come at their risk-adjusted forecast (their shortfall against what the budgets
    assume), each risk and mitigation at its likelihood. Best: no risk lands, every mitigation does. Worst: every
    risk lands, no mitigation does. Savings count at their risk-adjusted forecast in all three."""

    risks_total_pence: Pence
    risks_expected_pence: Pence
    mitigations_total_pence: Pence
    mitigations_expected_pence: Pence
    best_surplus_pence: Pence
    likely_surplus_pence: Pence
    worst_surplus_pence: Pence
    savings: RemainingSavings = NO_SAVINGS

    @property
    def savings_shortfall_pence(self) -> Pence:
        return self.savings.shortfall_pence


# look-alike of _BudgetAndSpend: declarative, the figures each mixin reads (a category has no resource).
class _Outturn(Protocol):
    @property
    def resource_pence(self) -> Pence: ...

    @property
    def forecast_outturn_pence(self) -> Pence: ...

    @property
    def control_total_pence(self) -> Pence: ...

    @property
    def forecast_surplus_pence(self) -> Pence: ...


class SurplusFigures:
    """The forecast surplus and the gap to the control total of anything with a resource, a forecast outturn and a
    control total (the position, and the forecast recorded at a close): one rule for both."""

    @property
    def forecast_surplus_pence(self: _Outturn) -> Pence:
        """Resource less forecast outturn: positive a surplus, negative a deficit."""
        return self.resource_pence - self.forecast_outturn_pence

    @property
    def gap_to_control_total_pence(self: _Outturn) -> Pence:
        """How far the forecast falls short of the control total (negative: ahead of it)."""
        return self.control_total_pence - self.forecast_surplus_pence


# look-alike of domain/contract_reconciliation.py:Reconciliation (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class Position(ResourceFigures, SurplusFigures, BudgetVariances):
    org_code: str
    org_name: str
    as_at: FinancialMonth
    method: str
    member_codes: tuple[str, ...]
    recurrent_allocation_pence: Pence
    non_recurrent_allocation_pence: Pence
    deductions: tuple[Deduction, ...]
    required_surplus_pence: Pence
    control_total_pence: Pence
    by_category: tuple[CategoryPosition, ...]
    risk: RiskRange
    bridge: tuple[BridgeStep, ...]
    warnings: tuple[Problem, ...]
    auto_choices: tuple[AutoChoice, ...] = ()  # with ``auto``: the method chosen for each category, and why

    @property
    def annual_budget_pence(self) -> Pence:
        return sum(row.annual_budget_pence for row in self.by_category)

    @property
    def ytd_budget_pence(self) -> Pence:
        return sum(row.ytd_budget_pence for row in self.by_category)

    @property
    def ytd_actual_pence(self) -> Pence:
        return sum(row.ytd_actual_pence for row in self.by_category)

    @property
    def forecast_outturn_pence(self) -> Pence:
        return sum(row.forecast_outturn_pence for row in self.by_category)

    @property
    def planned_surplus_pence(self) -> Pence:
        return self.resource_pence - self.annual_budget_pence

    @property
    def savings_needed_pence(self) -> Pence:
        return max(self.gap_to_control_total_pence, 0)

    @property
    def risk_adjusted_gap_pence(self) -> Pence:
        return self.control_total_pence - self.risk.likely_surplus_pence


def summarise_categories(line_forecasts: Iterable[LineForecast]) -> tuple[CategoryPosition, ...]:
    grouped: dict[CostCategory, list[LineForecast]] = {}
    for line in line_forecasts:
        grouped.setdefault(line.figures.category, []).append(line)
    return tuple(
        CategoryPosition(
            category=category,
            annual_budget_pence=sum(line.figures.annual_budget_pence for line in lines),
            ytd_budget_pence=sum(line.figures.ytd_budget_pence for line in lines),
            ytd_actual_pence=sum(line.figures.ytd_actual_pence for line in lines),
            ytd_one_off_pence=sum(line.figures.ytd_one_off_pence for line in lines),
            forecast_outturn_pence=sum(line.forecast_outturn_pence for line in lines),
            methods=tuple(sorted({line.method for line in lines})),
            exit_recurring_pence=sum(line.figures.exit_recurring_pence for line in lines),
            line_methods=tuple(
                LineMethod(line.figures.org_code, line.figures.subcategory, line.method) for line in lines
            ),
        )
        for category in CostCategory
        if (lines := grouped.get(category))
    )


def _variance_words(variance_pence: Pence) -> str:
    if variance_pence == 0:
        return "on budget"
    kind = "underspend" if variance_pence > 0 else "overspend"
    return f"{kind} {format_millions(abs(variance_pence), places=2)}"


def momentum_warning(row: CategoryPosition, as_at: FinancialMonth) -> Problem | None:
    """A warning when the forecast runs against the category's recent months.

    The rule: the forecast variance is less adverse than the variance to date while the last three months'
    recurring actual runs above the year-to-date monthly average (spending is rising, yet the forecast recovers),
    or the forecast variance is more adverse while the last three months run below the average. "Above" and "below"
    mean by more than ``RECENT_MONTHS_TOLERANCE`` of the year-to-date average, so that a month's noise is not
    read as a direction. Recurring actual only: one-offs are left out of both averages. Fewer than three months
    to date: the months there are."""
    months = as_at.elapsed
    window = min(EXIT_RATE_MONTHS, months)
    # the two averages, cross-multiplied by months × window to stay in whole pence
    recent, to_date = row.exit_recurring_pence * months, row.ytd_recurring_pence * window
    margin = abs(to_date) * RECENT_MONTHS_TOLERANCE
    forecast_variance, ytd_variance = row.forecast_variance_pence, row.ytd_variance_pence
    if forecast_variance > ytd_variance and recent > to_date + margin:
        comparison, direction = "less", "above"
    elif forecast_variance < ytd_variance and recent < to_date - margin:
        comparison, direction = "more", "below"
    else:
        return None
    recent_average = format_millions(div_round(row.exit_recurring_pence, window), places=2)
    ytd_average = format_millions(div_round(row.ytd_recurring_pence, months), places=2)
    return Problem(
        "forecast",
        f"{row.category.label}: the forecast variance ({_variance_words(forecast_variance)}) is {comparison} adverse "
        f"than the variance to date ({_variance_words(ytd_variance)}) although the last {window} month(s) to "
        f"{as_at.label} ran at {recent_average} a month, {direction} the year-to-date average of {ytd_average} a "
        f"month; forecast by {row.method}",
    )


def risk_range(
    forecast_surplus_pence: Pence, items: Iterable[RiskItem], savings: RemainingSavings = NO_SAVINGS
) -> RiskRange:
    listed = tuple(items)  # read twice below: a one-shot iterator would lose every mitigation
    risks = [item for item in listed if item.kind is RiskKind.RISK]
    mitigations = [item for item in listed if item.kind is RiskKind.MITIGATION]
    risks_total = sum(item.value_pence for item in risks)
    risks_expected = sum(item.expected_pence for item in risks)
    mitigations_total = sum(item.value_pence for item in mitigations)
    mitigations_expected = sum(item.expected_pence for item in mitigations)
    after_savings = forecast_surplus_pence - savings.shortfall_pence
    return RiskRange(
        risks_total_pence=risks_total,
        risks_expected_pence=risks_expected,
        mitigations_total_pence=mitigations_total,
        mitigations_expected_pence=mitigations_expected,
        best_surplus_pence=after_savings + mitigations_total,
        likely_surplus_pence=after_savings - risks_expected + mitigations_expected,
        worst_surplus_pence=after_savings - risks_total,
        savings=savings,
    )


def _bridge(
    control_total_pence: Pence,
    planned_surplus_pence: Pence,
    categories: Sequence[CategoryPosition],
    risk: RiskRange,
) -> tuple[BridgeStep, ...]:
    steps: list[BridgeStep] = []
    running = 0

    def add(label: str, pence: Pence, kind: str = "step") -> None:
        nonlocal running
        if kind in ("start", "step"):
            running += pence
        steps.append(BridgeStep(label, pence, kind, running))

    add(CONTROL_TOTAL, control_total_pence, "start")
    if planned_surplus_pence != control_total_pence:
        add("Budget set above/(below) the control total", planned_surplus_pence - control_total_pence)
    for row in categories:
        if row.forecast_variance_pence:
            direction = "underspend" if row.forecast_variance_pence > 0 else "overspend"
            add(f"{row.category.label} forecast {direction}", row.forecast_variance_pence)
    add(FORECAST_SURPLUS, running, "subtotal")
    if risk.savings_shortfall_pence:
        add(SAVINGS_SHORTFALL, -risk.savings_shortfall_pence)
    if risk.risks_expected_pence:
        add(RISKS_LIKELY, -risk.risks_expected_pence)
    if risk.mitigations_expected_pence:
        add(MITIGATIONS_LIKELY, risk.mitigations_expected_pence)
    add(LIKELY, running, "end")
    return tuple(steps)


def build_position(
    *,
    org_code: str,
    org_name: str,
    as_at: FinancialMonth,
    method: str,
    plans: Sequence[FinancialPlan],
    line_forecasts: Sequence[LineForecast],
    risk_items: Sequence[RiskItem],
    warnings: Sequence[Problem] = (),
    savings: RemainingSavings = NO_SAVINGS,
) -> Position:
    """The position of one organisation, or of a group whose members' plans and lines are all given; ``savings``
    is the members' savings plan for the months still to come (``domain.savings.remaining_savings``)."""
    categories = summarise_categories(line_forecasts)
    deductions = tuple(deduction for plan in plans for deduction in plan.deductions)
    allocation = sum(plan.allocation_pence for plan in plans)
    resource = allocation - sum(deduction.pence for deduction in deductions)
    budget = sum(row.annual_budget_pence for row in categories)
    forecast = sum(row.forecast_outturn_pence for row in categories)
    control_total = sum(plan.effective_control_total_pence for plan in plans)
    risk = risk_range(resource - forecast, risk_items, savings)
    return Position(
        org_code=org_code,
        org_name=org_name,
        as_at=as_at,
        method=method,
        member_codes=tuple(sorted({plan.org_code for plan in plans})),
        recurrent_allocation_pence=sum(plan.recurrent_allocation_pence for plan in plans),
        non_recurrent_allocation_pence=sum(plan.non_recurrent_allocation_pence for plan in plans),
        deductions=deductions,
        required_surplus_pence=sum(plan.required_surplus_pence for plan in plans),
        control_total_pence=control_total,
        by_category=categories,
        risk=risk,
        bridge=_bridge(control_total, resource - budget, categories, risk),
        # the forecast-against-recent-months warnings first: they matter more to a reader than data notes
        warnings=(*(found for row in categories if (found := momentum_warning(row, as_at))), *warnings),
    )
