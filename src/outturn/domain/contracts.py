"""Provider contracts under Payment by Results and the monthly contract statement.

A contract is held per provider x commissioner x year: planned activity and value by point of delivery, phased by
month; local prices that override national ones; block elements paid whatever the activity. The statement sets
the priced actual activity against the plan, year to date, and forecasts the contract's outturn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction

from outturn.domain.activity import PointOfDelivery
from outturn.domain.contract_rules import Adjustment, Month, PaymentRules, Series, apply_rules, project, twelfths
from outturn.domain.errors import BadInput
from outturn.domain.money import Pence, div_round
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialMonth, FinancialYear


class ContractError(BadInput):
    """A contract statement that cannot be produced: no contract, no activity, no tariff."""


@dataclass(frozen=True)
class PlanLine:
    """Planned activity and value for one point of delivery in one month."""

    point_of_delivery: PointOfDelivery
    month: int
    activity: int
    pence: Pence


@dataclass(frozen=True)
class LocalPrice:
    """A locally agreed price per unit for a point of delivery, for one HRG or treatment function (``code``) or,
    with an empty code, for all of them. Local prices are final: no market forces factor is applied."""

    point_of_delivery: PointOfDelivery
    code: str
    price_pence: Pence


# look-alike of domain/contract_reconciliation.py:ElementRow (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class BlockElement:
    description: str
    annual_pence: Pence


@dataclass(frozen=True)
class Contract:
    provider: str
    commissioner: str
    year: FinancialYear
    plan: tuple[PlanLine, ...] = ()
    local_prices: tuple[LocalPrice, ...] = ()
    blocks: tuple[BlockElement, ...] = ()
    rules: PaymentRules = field(default_factory=PaymentRules)


@dataclass(frozen=True)
class ActualLine:
    """Priced actual activity for one point of delivery in one month (from the engine)."""

    point_of_delivery: PointOfDelivery
    month: int
    activity: int
    pence: Pence


# look-alike of domain/backtest.py:BacktestRow (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class StatementLine:
    point_of_delivery: str
    annual_plan_activity: int
    annual_plan_pence: Pence
    ytd_plan_activity: int
    ytd_plan_pence: Pence
    ytd_actual_activity: int
    ytd_actual_pence: Pence
    forecast_activity: int
    forecast_pence: Pence

    # Variances follow the one convention (``money.VARIANCE_CONVENTION``): plan less actual, positive favourable
    # (under-performance), negative adverse (over-performance). Over-performance is the same measure the other
    # way round, kept under its own name because contract managers speak of it.

    @property
    def ytd_variance_favourable_activity(self) -> int:
        """Planned less actual activity to date: negative is over-performance (adverse)."""
        return self.ytd_plan_activity - self.ytd_actual_activity

    @property
    def ytd_variance_favourable_pence(self) -> Pence:
        """Plan less actual to date: negative is over-performance (adverse)."""
        return self.ytd_plan_pence - self.ytd_actual_pence

    @property
    def forecast_variance_favourable_pence(self) -> Pence:
        """Annual plan less forecast outturn: negative is over-performance (adverse)."""
        return self.annual_plan_pence - self.forecast_pence

    @property
    def over_performance_pence(self) -> Pence:
        """Forecast outturn above the annual plan, positive when adverse (negative: under-performance); the
        forecast variance the other way round."""
        return self.forecast_pence - self.annual_plan_pence


def forecast_remaining(ytd_actual: int, ytd_plan: int, remaining_plan: int, months_elapsed: int) -> int:
    """The rest of the year at this year's performance against plan: the remaining plan scaled by actual ÷ plan
    to date; with no plan to date, the year-to-date run rate."""
    if ytd_plan > 0:
        return div_round(Fraction(remaining_plan) * ytd_actual, ytd_plan)
    return div_round(ytd_actual * (MONTHS_IN_YEAR - months_elapsed), months_elapsed)


def _line(pod: str, plan: Sequence[PlanLine], actual: Sequence[ActualLine], month: int) -> StatementLine:
    def total(items: Iterable[PlanLine | ActualLine], value: str, upto: int | None = None) -> int:
        return sum(getattr(item, value) for item in items if upto is None or item.month <= upto)

    ytd_plan_activity, ytd_plan_pence = total(plan, "activity", month), total(plan, "pence", month)
    ytd_activity, ytd_pence = total(actual, "activity", month), total(actual, "pence", month)
    remaining_activity = total(plan, "activity") - ytd_plan_activity
    remaining_pence = total(plan, "pence") - ytd_plan_pence
    return StatementLine(
        point_of_delivery=pod,
        annual_plan_activity=total(plan, "activity"),
        annual_plan_pence=total(plan, "pence"),
        ytd_plan_activity=ytd_plan_activity,
        ytd_plan_pence=ytd_plan_pence,
        ytd_actual_activity=ytd_activity,
        ytd_actual_pence=ytd_pence,
        forecast_activity=ytd_activity + forecast_remaining(ytd_activity, ytd_plan_activity, remaining_activity, month),
        forecast_pence=ytd_pence + forecast_remaining(ytd_pence, ytd_plan_pence, remaining_pence, month),
    )


def statement_lines(
    contract: Contract, actuals: Sequence[ActualLine], as_at: FinancialMonth
) -> tuple[StatementLine, ...]:
    """One line per point of delivery with plan or activity, then one per block element (paid in twelfths)."""
    present = {line.point_of_delivery for line in contract.plan} | {line.point_of_delivery for line in actuals}
    pods = [pod for pod in PointOfDelivery if pod in present]
    lines = [
        _line(
            pod.value,
            [line for line in contract.plan if line.point_of_delivery is pod],
            [line for line in actuals if line.point_of_delivery is pod],
            as_at.number,
        )
        for pod in pods
    ]
    for block in contract.blocks:
        to_date = div_round(block.annual_pence * as_at.number, MONTHS_IN_YEAR)
        lines.append(
            StatementLine(
                f"block: {block.description}", 0, block.annual_pence, 0, to_date, 0, to_date, 0, block.annual_pence
            )
        )
    return tuple(lines)


def local_price_lookup(prices: Iterable[LocalPrice]) -> Mapping[tuple[str, str], Pence]:
    return {(price.point_of_delivery.value, price.code): price.price_pence for price in prices}


@dataclass(frozen=True)
class RuleLine:
    """One payment rule's adjustment to the contract value (negative: less paid than the tariff value), with the
    units it acted on (readmitted spells, units above a cap, activity covered by the fixed payment)."""

    rule: str
    label: str
    annual_plan_pence: Pence
    ytd_plan_pence: Pence
    ytd_actual_pence: Pence
    forecast_pence: Pence
    ytd_actual_activity: int
    forecast_activity: int


def _by_month(lines: Iterable[PlanLine | ActualLine], field: str) -> list[int]:
    months = [0] * MONTHS_IN_YEAR
    for line in lines:
        months[line.month - 1] += getattr(line, field)
    return months


def _projected(to_date: Sequence[int], plan: Sequence[int], month: int) -> tuple[int, ...]:
    """A point of delivery's months: actual to date, the rest as ``statement_lines`` forecasts them."""
    ytd_plan = sum(plan[:month])
    if ytd_plan > 0:
        return project(to_date[:month], plan, ytd_plan, sum(to_date[:month]))
    return project(to_date[:month], [1] * MONTHS_IN_YEAR, month, sum(to_date[:month]))


def _series(
    contract: Contract, actuals: Sequence[ActualLine], readmitted: Sequence[ActualLine], month: int
) -> tuple[Series, Series, Series]:
    """The plan, the actual-and-projected activity and the readmissions among it, by point of delivery and month."""
    plan_series: dict[PointOfDelivery, list[Month]] = {}
    actual_series: dict[PointOfDelivery, list[Month]] = {}
    readmitted_series: dict[PointOfDelivery, list[Month]] = {}
    for pod in PointOfDelivery:
        plan = [line for line in contract.plan if line.point_of_delivery is pod]
        actual = [line for line in actuals if line.point_of_delivery is pod]
        if not plan and not actual:
            continue
        plan_activity, plan_pence = _by_month(plan, "activity"), _by_month(plan, "pence")
        activity = _projected(_by_month(actual, "activity"), plan_activity, month)
        pence = _projected(_by_month(actual, "pence"), plan_pence, month)
        plan_series[pod] = [Month(*pair) for pair in zip(plan_activity, plan_pence, strict=True)]
        actual_series[pod] = [Month(*pair) for pair in zip(activity, pence, strict=True)]
        again = [line for line in readmitted if line.point_of_delivery is pod]
        again_activity = project(_by_month(again, "activity")[:month], activity, sum(activity[:month]),
                                 sum(line.activity for line in again if line.month <= month))
        again_pence = project(_by_month(again, "pence")[:month], pence, sum(pence[:month]),
                              sum(line.pence for line in again if line.month <= month))
        readmitted_series[pod] = [Month(*pair) for pair in zip(again_activity, again_pence, strict=True)]
    return plan_series, actual_series, readmitted_series


def rule_lines(
    contract: Contract, actuals: Sequence[ActualLine], readmitted: Sequence[ActualLine], as_at: FinancialMonth
) -> tuple[RuleLine, ...]:
    """Each payment rule's adjustment, year to date and forecast (on the activity as ``statement_lines`` forecasts
    it), and on the plan; ``readmitted``: the readmissions among ``actuals`` (from the engine)."""
    if contract.rules.empty:
        return ()
    planned, found = rule_adjustments(contract, actuals, readmitted, as_at.number)
    return tuple(_rule_line(plan, actual, as_at.number) for plan, actual in zip(planned, found, strict=True))


def rule_adjustments(
    contract: Contract, actuals: Sequence[ActualLine], readmitted: Sequence[ActualLine], month: int
) -> tuple[tuple[Adjustment, ...], tuple[Adjustment, ...]]:
    """Each payment rule's adjustment by month on the plan, and on the activity (actual to ``month``, the rest
    projected as ``statement_lines`` forecasts it; ``month`` 12: the year's actual activity throughout)."""
    plan_series, actual_series, readmitted_series = _series(contract, actuals, readmitted, month)
    blocks = [sum(months) for months in zip(*(twelfths(b.annual_pence) for b in contract.blocks), strict=True)]
    blocks = blocks or [0] * MONTHS_IN_YEAR
    # The plan assumes CQUIN achieved in full; an achievement short of it is a variance against the plan.
    full = replace(contract.rules.cquin, achievement=()) if contract.rules.cquin else None
    planned = apply_rules(replace(contract.rules, cquin=full), plan_series, {}, blocks)
    return planned, apply_rules(contract.rules, actual_series, readmitted_series, blocks)


def _rule_line(plan: Adjustment, actual: Adjustment, month: int) -> RuleLine:
    return RuleLine(
        actual.rule,
        actual.label,
        annual_plan_pence=plan.to_month(MONTHS_IN_YEAR),
        ytd_plan_pence=plan.to_month(month),
        ytd_actual_pence=actual.to_month(month),
        forecast_pence=actual.to_month(MONTHS_IN_YEAR),
        ytd_actual_activity=actual.activity_to_month(month),
        forecast_activity=actual.activity_to_month(MONTHS_IN_YEAR),
    )
