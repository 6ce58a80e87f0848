"""Payment rules on top of the tariff: what a contract pays for its priced activity, month by month.

A contract's rules are data (``PaymentRules``). They act, in this order, on each point of delivery's activity and
£ by month (the months to date as priced, the rest projected as the statement forecasts them), and each gives an
adjustment by month, in pence, that the statement shows beside the tariff value:

1. **Readmissions** (``readmissions``): a non-elective spell admitted 0-30 days (day 30 counts) after the same
   patient's discharge from any spell at the same provider is not paid, nor its excess bed days. Found by the
   engine (``engine/contract_rules.py``); the rest of the year is projected at the year-to-date share.
2. **Caps** (``cap``): a point of delivery's activity above an annual ceiling is paid at ``rate`` (0: not at all).
   The ceiling is annual and cumulative: units count against it in the month they happen, so nothing is capped
   until the year's activity passes the ceiling; a capped unit is valued at the month's average price.
3. **Marginal rate** (``marginal_rate``): the non-elective value paid (after 1 and 2) above the month's baseline
   value is paid at ``rate`` (e.g. 30%): the adjustment is -(value above baseline) x (1 - rate), month by month.
4. **Fixed and variable** (``fixed``, ``variable``): a fixed annual payment in twelfths, plus the variable element
   (the points of delivery named) at unit prices; what is paid for activity outside it (after 1-3) is taken off,
   as it is covered by the fixed payment.
5. **CQUIN** (``cquin``): a percentage of the month's contract value (after 1-4, blocks included), times the
   month's achievement (``cquin_achievement``, 0-100%; a month with none stated counts as fully achieved).

The contract value is the tariff value plus every adjustment, to the penny. The same rules applied to the plan
(no readmissions planned) give the contract's plan after the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction

from outturn.domain.activity import PointOfDelivery
from outturn.domain.money import Pence, div_round
from outturn.domain.periods import MONTHS_IN_YEAR

READMISSION_WINDOW_DAYS = 30  # a readmission on day 30 after discharge counts; day 31 does not
HUNDRED = Fraction(100)


class RuleKind(StrEnum):
    READMISSIONS = "readmissions"
    CAP = "cap"
    MARGINAL_RATE = "marginal_rate"
    FIXED = "fixed"
    VARIABLE = "variable"
    CQUIN = "cquin"
    CQUIN_ACHIEVEMENT = "cquin_achievement"


def percent(rate: Fraction) -> str:
    """A rate as a percentage for a label: 0.3 -> 30%, 0.025 -> 2.5%."""
    value = Decimal(rate.numerator * 100) / Decimal(rate.denominator)
    text = f"{value.quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP):f}".rstrip("0").rstrip(".")
    return f"{text}%"


@dataclass(frozen=True)
class Cap:
    point_of_delivery: PointOfDelivery
    ceiling_activity: int  # a year's units paid in full
    rate: Fraction  # share of the price paid for units above the ceiling (0: none)


@dataclass(frozen=True)
class MarginalRate:
    rate: Fraction  # share of the price paid above the baseline (e.g. 3/10)
    baseline_pence: tuple[Pence, ...]  # twelve months, April first


@dataclass(frozen=True)
class FixedVariable:
    fixed_annual_pence: Pence
    variable: tuple[PointOfDelivery, ...]  # points of delivery paid at unit prices


@dataclass(frozen=True)
class Cquin:
    rate: Fraction  # share of the contract value (e.g. 1/40 for 2.5%)
    achievement: tuple[tuple[int, Fraction], ...] = ()  # (month, 0..1); months not given: fully achieved

    def achieved(self, month: int) -> Fraction:
        return dict(self.achievement).get(month, Fraction(1))


@dataclass(frozen=True)
class PaymentRules:
    readmissions: bool = False
    caps: tuple[Cap, ...] = ()
    marginal_rate: MarginalRate | None = None
    fixed_variable: FixedVariable | None = None
    cquin: Cquin | None = None

    @property
    def empty(self) -> bool:
        return self == PaymentRules()


@dataclass(frozen=True)
class Month:
    """One point of delivery's activity and £ in one month."""

    activity: int
    pence: Pence


Series = Mapping[PointOfDelivery, Sequence[Month]]  # twelve months per point of delivery


@dataclass(frozen=True)
class Adjustment:
    """One rule's effect on the contract value by month (negative: less paid than the tariff value)."""

    rule: str  # the RuleKind, or "fixed_payment" / "outside_variable" for the two parts of fixed and variable
    label: str
    monthly_pence: tuple[Pence, ...]
    monthly_activity: tuple[int, ...] = (0,) * MONTHS_IN_YEAR  # units the rule acted on (readmitted spells, ...)

    def to_month(self, month: int) -> Pence:
        return sum(self.monthly_pence[:month])

    def activity_to_month(self, month: int) -> int:
        return sum(self.monthly_activity[:month])


def twelfths(annual_pence: Pence) -> tuple[Pence, ...]:
    """An annual sum paid in twelfths that add up to it: month m pays round(annual x m / 12) less what is paid."""
    cumulative = [div_round(annual_pence * month, MONTHS_IN_YEAR) for month in range(MONTHS_IN_YEAR + 1)]
    return tuple(cumulative[m + 1] - cumulative[m] for m in range(MONTHS_IN_YEAR))


def project(to_date: Sequence[int], weights: Sequence[int], ytd_weight: int, ytd_value: int) -> tuple[int, ...]:
    """Months after ``len(to_date)`` projected as ``weights`` x ytd_value / ytd_weight, rounded so that the
    projected months add up to the rounded total (cumulative rounding); no weight to date projects nothing."""
    done = len(to_date)
    if ytd_weight == 0:
        return (*to_date, *(0,) * (MONTHS_IN_YEAR - done))
    cumulative, running = [0], 0
    for weight in weights[done:]:
        running += weight
        cumulative.append(div_round(Fraction(running) * ytd_value, ytd_weight))
    return (*to_date, *(cumulative[k + 1] - cumulative[k] for k in range(MONTHS_IN_YEAR - done)))


def _months(values: Sequence[Month], field: str) -> tuple[int, ...]:
    return tuple(getattr(month, field) for month in values)


def _series_pence(series: Series, pods: Callable[[PointOfDelivery], bool]) -> tuple[Pence, ...]:
    return tuple(sum(values[m].pence for pod, values in series.items() if pods(pod)) for m in range(MONTHS_IN_YEAR))


def _less(
    series: Series, pence: Mapping[PointOfDelivery, Sequence[Pence]], activity: Series | None = None
) -> dict[PointOfDelivery, list[Month]]:
    """``series`` with ``pence`` added to each point of delivery's months (and ``activity``'s units taken off)."""
    zero, none = (0,) * MONTHS_IN_YEAR, [Month(0, 0)] * MONTHS_IN_YEAR
    return {
        pod: [
            Month(month.activity - (activity or {}).get(pod, none)[m].activity, month.pence + pence.get(pod, zero)[m])
            for m, month in enumerate(values)
        ]
        for pod, values in series.items()
    }


Paid = dict[PointOfDelivery, list[Month]]
NOTHING = (0,) * MONTHS_IN_YEAR
NO_MONTHS = [Month(0, 0)] * MONTHS_IN_YEAR


def _readmissions(paid: Paid, readmitted: Series) -> tuple[Adjustment, Paid]:
    minus = {pod: tuple(-month.pence for month in values) for pod, values in readmitted.items()}
    spells = readmitted.get(PointOfDelivery.NON_ELECTIVE)
    adjustment = Adjustment(
        RuleKind.READMISSIONS.value,
        f"emergency readmissions within {READMISSION_WINDOW_DAYS} days (not paid)",
        tuple(sum(minus[pod][m] for pod in minus) for m in range(MONTHS_IN_YEAR)),
        _months(spells, "activity") if spells else NOTHING,
    )
    return adjustment, _less(paid, minus, readmitted)


def _cap(cap: Cap, paid: Paid) -> tuple[Adjustment, Paid]:
    """By month: the adjustment for units above the annual ceiling, and how many units were above it."""
    pence, units, done = [], [], 0
    for month in paid.get(cap.point_of_delivery, NO_MONTHS):
        before, done = done, done + month.activity
        over = max(done - cap.ceiling_activity, 0) - max(before - cap.ceiling_activity, 0)
        units.append(over)
        value = Fraction(month.pence * over, month.activity) if month.activity else Fraction(0)
        pence.append(-div_round(value * (1 - cap.rate)))
    label = f"cap: {cap.point_of_delivery.value} above {cap.ceiling_activity:,} a year paid at {percent(cap.rate)}"
    adjustment = Adjustment(RuleKind.CAP.value, label, tuple(pence), tuple(units))
    return adjustment, _less(paid, {cap.point_of_delivery: adjustment.monthly_pence})


def _marginal_rate(marginal: MarginalRate, paid: Paid) -> tuple[Adjustment, Paid]:
    nel = paid.get(PointOfDelivery.NON_ELECTIVE, NO_MONTHS)
    pence = tuple(
        -div_round(max(nel[m].pence - marginal.baseline_pence[m], 0) * (1 - marginal.rate))
        for m in range(MONTHS_IN_YEAR)
    )
    label = f"marginal rate: non-elective value above baseline paid at {percent(marginal.rate)}"
    return Adjustment(RuleKind.MARGINAL_RATE.value, label, pence), _less(paid, {PointOfDelivery.NON_ELECTIVE: pence})


def _fixed_variable(rule: FixedVariable, paid: Paid) -> tuple[tuple[Adjustment, Adjustment], Paid]:
    """The fixed payment, and what was paid outside the variable element taken off; leaves the variable element."""
    variable = set(rule.variable)
    outside = {pod: values for pod, values in paid.items() if pod not in variable}
    covered = Adjustment(
        "outside_variable",
        "activity outside the variable element (covered by the fixed payment)",
        tuple(-pence for pence in _series_pence(outside, lambda pod: True)),
        tuple(sum(values[m].activity for values in outside.values()) for m in range(MONTHS_IN_YEAR)),
    )
    fixed = Adjustment("fixed_payment", "fixed payment (in twelfths)", twelfths(rule.fixed_annual_pence))
    return (fixed, covered), {pod: values for pod, values in paid.items() if pod in variable}


def _cquin(cquin: Cquin, paid: Paid, others: Sequence[Pence]) -> Adjustment:
    """``others``: what else the contract pays by month (the fixed payment, blocks)."""
    base = _series_pence(paid, lambda pod: True)
    pence = tuple(div_round((base[m] + others[m]) * cquin.rate * cquin.achieved(m + 1)) for m in range(MONTHS_IN_YEAR))
    return Adjustment(RuleKind.CQUIN.value, f"CQUIN: {percent(cquin.rate)} of contract value", pence)


def apply_rules(
    rules: PaymentRules,
    series: Series,
    readmitted: Series,
    blocks_pence: Sequence[Pence],
) -> tuple[Adjustment, ...]:
    """Each rule's adjustment by month, in the order of the module's docstring. ``series``: every point of delivery's
    activity and £ by month at tariff; ``readmitted``: the readmissions among them; ``blocks_pence``: block
    elements paid by month (part of the value CQUIN is a share of)."""
    found: list[Adjustment] = []
    paid: Paid = {pod: list(values) for pod, values in series.items()}
    if rules.readmissions:
        adjustment, paid = _readmissions(paid, readmitted)
        found.append(adjustment)
    for cap in rules.caps:
        adjustment, paid = _cap(cap, paid)
        found.append(adjustment)
    if rules.marginal_rate is not None:
        adjustment, paid = _marginal_rate(rules.marginal_rate, paid)
        found.append(adjustment)
    others = list(blocks_pence)
    if rules.fixed_variable is not None:
        (fixed, covered), paid = _fixed_variable(rules.fixed_variable, paid)
        found += [fixed, covered]
        others = [a + b for a, b in zip(others, fixed.monthly_pence, strict=True)]
    if rules.cquin is not None:
        found.append(_cquin(rules.cquin, paid, others))
    return tuple(found)


# --- rules as rows: one per fact, as the rules file gives them and the store holds them ----------------------


@dataclass(frozen=True)
class RuleRow:
    kind: RuleKind
    point_of_delivery: PointOfDelivery | None = None
    month: int | None = None
    pence: Pence | None = None
    activity: int | None = None
    rate: Fraction | None = None  # a share, 0..1


def rule_rows(rules: PaymentRules) -> tuple[RuleRow, ...]:
    rows: list[RuleRow] = []
    if rules.readmissions:
        rows.append(RuleRow(RuleKind.READMISSIONS))
    rows += [
        RuleRow(RuleKind.CAP, cap.point_of_delivery, activity=cap.ceiling_activity, rate=cap.rate) for cap in rules.caps
    ]
    if rules.marginal_rate is not None:
        rate = rules.marginal_rate.rate
        rows += [
            RuleRow(RuleKind.MARGINAL_RATE, month=m + 1, pence=pence, rate=rate)
            for m, pence in enumerate(rules.marginal_rate.baseline_pence)
        ]
    if rules.fixed_variable is not None:
        rows.append(RuleRow(RuleKind.FIXED, pence=rules.fixed_variable.fixed_annual_pence))
        rows += [RuleRow(RuleKind.VARIABLE, pod) for pod in rules.fixed_variable.variable]
    if rules.cquin is not None:
        rows.append(RuleRow(RuleKind.CQUIN, rate=rules.cquin.rate))
        rows += [RuleRow(RuleKind.CQUIN_ACHIEVEMENT, month=m, rate=a) for m, a in rules.cquin.achievement]
    return tuple(rows)


def rules_from_rows(rows: Sequence[RuleRow]) -> PaymentRules:
    """The rules these rows give (checked by the reader: each field a rule needs is there). Marginal-rate rows
    without a month give an annual baseline, paid in twelfths."""
    of = {kind: [row for row in rows if row.kind is kind] for kind in RuleKind}
    marginal = None
    if of[RuleKind.MARGINAL_RATE]:
        baseline = [0] * MONTHS_IN_YEAR
        for row in of[RuleKind.MARGINAL_RATE]:
            parts = [0] * (row.month - 1) + [row.pence or 0] if row.month else list(twelfths(row.pence or 0))
            baseline = [a + b for a, b in zip(baseline, parts + [0] * (MONTHS_IN_YEAR - len(parts)), strict=True)]
        marginal = MarginalRate(of[RuleKind.MARGINAL_RATE][0].rate or Fraction(0), tuple(baseline))
    fixed = next(iter(of[RuleKind.FIXED]), None)
    cquin = next(iter(of[RuleKind.CQUIN]), None)
    return PaymentRules(
        readmissions=bool(of[RuleKind.READMISSIONS]),
        caps=tuple(
            Cap(row.point_of_delivery, row.activity or 0, row.rate or Fraction(0))
            for row in of[RuleKind.CAP]
            if row.point_of_delivery is not None
        ),
        marginal_rate=marginal,
        fixed_variable=None
        if fixed is None
        else FixedVariable(
            fixed.pence or 0, tuple(row.point_of_delivery for row in of[RuleKind.VARIABLE] if row.point_of_delivery)
        ),
        cquin=None
        if cquin is None
        else Cquin(
            cquin.rate or Fraction(0),
            tuple((row.month, row.rate or Fraction(0)) for row in of[RuleKind.CQUIN_ACHIEVEMENT] if row.month),
        ),
    )
