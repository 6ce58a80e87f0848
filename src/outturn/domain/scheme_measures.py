"""A savings scheme's activity measure, and its delivery evidenced from the activity held.

A measure says what a scheme changes: hospital activity of one point of delivery (scoped by provider, commissioner
and practices, filtered by HRG prefix or treatment function, optionally with its excess bed days), or prescribing
(a BNF code prefix at some practices). It names a baseline period (calendar months, ``YYYY-MM`` to ``YYYY-MM``), the
target change (units a year, or a share of the baseline) and the price used in the plan (a stated unit price, or
the national tariff with the provider's market forces factor; prescribing: its actual cost).

Evidenced delivery (the rule, stated once): the months counted are the scheme's months from its start to the
as-at month for which activity of the measure's kind is held. The baseline is one of two (``BaselineRule``):
``monthly-average``: without the scheme, each counted month would have seen the baseline's **monthly average**
(baseline total / baseline months), so the expected activity is that average x the months counted;
``same-months-last-year``: each counted month would have seen **the same calendar month a year earlier** (so a
winter month is compared with last winter, not with a summer average), so the expected activity is the total of
those months (the baseline months are the counted months less a year). The change is the activity counted less
the expected; its value at the plan's price is the evidenced saving (a fall in activity is a positive saving). The
target to date is the target share of the expected activity, or the yearly target units x months counted / 12,
valued alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from outturn.domain.activity import POINT_OF_DELIVERY_LABELS, PointOfDelivery
from outturn.domain.errors import BadInput
from outturn.domain.money import Pence, div_round
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialYear
from outturn.domain.plans import stored_share
from outturn.domain.savings import Scheme

# A difference between reported and evidenced delivery above this share of the plan to date is flagged.
DIFFERENCE_THRESHOLD = Decimal("0.10")
# Points of delivery a measure can count (excess bed days ride with admitted care, not on their own).
MEASURE_POINTS = tuple(point for point in PointOfDelivery if point is not PointOfDelivery.EXCESS_BED_DAYS)
NAMED_PRACTICES = 3  # a measure over more practices is described by their number
ADMITTED = frozenset({PointOfDelivery.ELECTIVE, PointOfDelivery.DAY_CASE, PointOfDelivery.NON_ELECTIVE})


class BaselineRule(StrEnum):
    MONTHLY_AVERAGE = "monthly-average"  # the baseline period's monthly average x the months counted
    SAME_MONTHS = "same-months-last-year"  # each counted month against the same calendar month a year earlier


class MeasureSource(StrEnum):
    ACTIVITY = "activity"
    PRESCRIBING = "prescribing"


def month_key(text: str) -> int:
    """``YYYY-MM`` as the integer YYYYMM."""
    year, _, month = text.strip().partition("-")
    if not (year.isdigit() and month.isdigit() and len(year) == 4 and 1 <= int(month) <= MONTHS_IN_YEAR):
        raise BadInput(f"not a month: {text!r} (expected YYYY-MM, e.g. 2017-04)")
    return int(year) * 100 + int(month)


def month_label(key: int) -> str:
    return f"{key // 100:04d}-{key % 100:02d}"


def months_between(first: int, last: int) -> tuple[int, ...]:
    """Every YYYYMM from ``first`` to ``last`` inclusive."""
    found, year, month = [], first // 100, first % 100
    while year * 100 + month <= last:
        found.append(year * 100 + month)
        year, month = (year + 1, 1) if month == MONTHS_IN_YEAR else (year, month + 1)
    return tuple(found)


def scheme_months(year: FinancialYear, first: int, last: int) -> tuple[int, ...]:
    """The calendar months (YYYYMM) of financial months ``first``..``last`` of ``year`` (M01 is April)."""
    return tuple(
        (year.start_year + (number + 2) // MONTHS_IN_YEAR) * 100 + (number + 2) % MONTHS_IN_YEAR + 1
        for number in range(first, last + 1)
    )


@dataclass(frozen=True)
class SchemeMeasure:
    """One scheme's measure. Empty scope strings mean "any"; ``practices`` empty means every practice."""

    reference: str
    year: FinancialYear
    source: MeasureSource
    baseline_first: int | None  # YYYYMM (monthly-average; None with same-months-last-year)
    baseline_last: int | None
    point_of_delivery: PointOfDelivery | None = None
    provider: str = ""
    commissioner: str = ""
    practices: tuple[str, ...] = ()
    hrg_prefix: str = ""
    treatment_function: str = ""
    excess_bed_days: bool = False
    bnf_prefix: str = ""
    target_units: int | None = None  # a yearly change in units (negative: a reduction)
    target_share: Decimal | None = None  # a change as a share of the baseline (-0.2: a 20% reduction)
    unit_price_pence: Pence | None = None  # None: the tariff (activity) or the actual cost (prescribing)
    bed_day_price_pence: Pence | None = None
    baseline_rule: BaselineRule = BaselineRule.MONTHLY_AVERAGE

    def __post_init__(self) -> None:
        if self.baseline_rule is BaselineRule.SAME_MONTHS:
            if self.baseline_first is not None or self.baseline_last is not None:
                raise BadInput("a same-months-last-year baseline takes no baseline months")
        elif self.baseline_first is None or self.baseline_last is None:
            raise BadInput("a monthly-average baseline needs its first and last months")
        elif self.baseline_last < self.baseline_first:
            raise BadInput("the baseline ends before it starts")
        if (self.target_units is None) == (self.target_share is None):
            raise BadInput("a measure needs a target change: a number of units or a percentage, not both")
        if self.source is MeasureSource.ACTIVITY:
            if self.point_of_delivery not in MEASURE_POINTS:
                raise BadInput("an activity measure needs a point of delivery")
            if self.excess_bed_days and self.point_of_delivery not in ADMITTED:
                raise BadInput("excess bed days go with admitted care (elective, day case or non-elective)")
        elif not (self.bnf_prefix or self.practices):
            raise BadInput("a prescribing measure needs a BNF code prefix or practices")

    def baseline_months(self, counted: Sequence[int]) -> tuple[int, ...]:
        """The baseline's months (YYYYMM) for the ``counted`` months: the stated period, or (same months last
        year) each counted month a year earlier."""
        if self.baseline_first is None or self.baseline_last is None:
            return tuple(month - 100 for month in counted)
        return months_between(self.baseline_first, self.baseline_last)

    @property
    def described(self) -> str:
        parts = [
            POINT_OF_DELIVERY_LABELS[self.point_of_delivery]
            if self.point_of_delivery
            else f"BNF {self.bnf_prefix or 'all'}"
        ]
        practices = ",".join(self.practices) if len(self.practices) <= NAMED_PRACTICES else ""
        for label, value in (
            ("provider", self.provider),
            ("commissioner", self.commissioner),
            ("practices", practices),
            ("HRG", self.hrg_prefix + "*" if self.hrg_prefix else ""),
            ("TFC", self.treatment_function),
        ):
            if value:
                parts.append(f"{label} {value}")
        if len(self.practices) > NAMED_PRACTICES:
            parts.append(f"{len(self.practices)} practices")
        if self.excess_bed_days:
            parts.append("with excess bed days")
        if self.baseline_rule is BaselineRule.SAME_MONTHS:
            parts.append("against the same months last year")
        return ", ".join(parts)


@dataclass(frozen=True)
class MonthTotals:
    """What the measure counts in one month: units (spells, attendances, items) and their value at the tariff or
    cost, and (admitted care) excess bed days and theirs."""

    units: int = 0
    pence: Pence = 0
    bed_days: int = 0
    bed_day_pence: Pence = 0

    def __add__(self, other: MonthTotals) -> MonthTotals:
        return MonthTotals(
            self.units + other.units,
            self.pence + other.pence,
            self.bed_days + other.bed_days,
            self.bed_day_pence + other.bed_day_pence,
        )


@dataclass(frozen=True)
class Component:
    """One thing counted (admissions, excess bed days, items): baseline and current counts, the expected count,
    and the evidenced and target savings to date."""

    name: str
    baseline_units: int
    current_units: int
    expected_units: Fraction
    evidenced_pence: Pence
    target_pence: Pence

    @property
    def behind_pence(self) -> Pence:
        return self.target_pence - self.evidenced_pence


@dataclass(frozen=True)
class Evidence:
    measure: SchemeMeasure
    baseline_months: tuple[int, ...]
    months: tuple[int, ...]  # the scheme's months counted (activity held)
    missing_baseline: tuple[int, ...]
    components: tuple[Component, ...]
    reported_pence: Pence
    plan_to_date_pence: Pence

    @property
    def evidenced_pence(self) -> Pence | None:
        """None when part of the baseline is not held (nothing can be evidenced against it)."""
        return None if self.missing_baseline else sum(part.evidenced_pence for part in self.components)

    @property
    def difference_pence(self) -> Pence | None:
        evidenced = self.evidenced_pence
        return None if evidenced is None else self.reported_pence - evidenced

    @property
    def flagged(self) -> bool:
        difference = self.difference_pence
        if difference is None:
            return False
        return abs(difference) > self.plan_to_date_pence * DIFFERENCE_THRESHOLD


def _valued(units: Fraction, stated: Pence | None, base_units: int, base_pence: Pence) -> Pence:
    """``units`` of change at the stated unit price, else at the baseline's average price per unit."""
    if stated is not None:
        return div_round(units * stated)
    return 0 if base_units == 0 else div_round(units * base_pence / base_units)


def _component(
    name: str, measure: SchemeMeasure, base: tuple[int, Pence], current: tuple[int, Pence], counts: tuple[int, int]
) -> Component:
    (base_units, base_pence), (units, pence), (baseline_months, months) = base, current, counts
    expected = Fraction(base_units * months, baseline_months)
    stated = measure.bed_day_price_pence if name == "excess_bed_days" else measure.unit_price_pence
    if stated is not None:
        evidenced = div_round((expected - units) * stated)
    else:  # the value of the expected activity at baseline prices, less the value of the activity counted
        evidenced = div_round(Fraction(base_pence * months, baseline_months) - pence)
    if measure.target_share is not None:
        target_units = expected * Fraction(measure.target_share)
    else:
        target_units = Fraction((measure.target_units or 0) * months, MONTHS_IN_YEAR)
        if name == "excess_bed_days":
            target_units = Fraction(0)  # a count target is of the measure's units, not its bed days
    target = _valued(-target_units, stated, base_units, base_pence)
    return Component(name, base_units, units, expected, evidenced, target)


def evidence(
    measure: SchemeMeasure,
    totals: Mapping[int, MonthTotals],
    held_months: Sequence[int],
    counted_months: Sequence[int],
    reported_pence: Pence,
    plan_to_date_pence: Pence,
) -> Evidence:
    """The measure's delivery over ``counted_months`` (those of them held) against its baseline (the rule: the
    module's docstring). ``totals`` by YYYYMM; ``held_months``: the months with any activity of the kind held."""
    held = set(held_months)
    months = tuple(month for month in counted_months if month in held)
    baseline = measure.baseline_months(months)
    missing = tuple(month for month in baseline if month not in held)
    base = sum((totals.get(month, MonthTotals()) for month in baseline), MonthTotals())
    now = sum((totals.get(month, MonthTotals()) for month in months), MonthTotals())
    # same months: the baseline total is the expected (as many baseline months as counted; 1 avoids 0/0)
    counts = (max(len(baseline), 1), len(months))
    names = {MeasureSource.PRESCRIBING: "items", MeasureSource.ACTIVITY: "activity"}
    if measure.point_of_delivery in ADMITTED:
        names[MeasureSource.ACTIVITY] = "admissions"
    parts = [_component(names[measure.source], measure, (base.units, base.pence), (now.units, now.pence), counts)]
    if measure.excess_bed_days:
        beds = ((base.bed_days, base.bed_day_pence), (now.bed_days, now.bed_day_pence))
        parts.append(_component("excess_bed_days", measure, *beds, counts))
    return Evidence(measure, baseline, months, missing, tuple(parts), reported_pence, plan_to_date_pence)


# --- as plain data (the audit trail, JSON) ---------------------------------------------------------------------


def parse_target(text: str) -> tuple[int | None, Decimal | None]:
    """A target change: ``-20%`` (a share of the baseline) or ``-600`` (units a year); negative is a reduction."""
    cleaned = text.strip().replace(" ", "").replace(",", "")
    try:
        share = Decimal(cleaned[:-1]) / 100 if cleaned.endswith("%") else None
        units = None if share is not None else int(cleaned)
    except (ArithmeticError, ValueError):
        raise BadInput(f"not a target change: {text!r} (expected e.g. -20% or -600)") from None
    if share is None:
        return units, None
    if not share.is_finite() or not Decimal(-1) <= share <= Decimal(1):
        raise BadInput(f"target change {text!r} must be between -100% and 100%")
    return None, stored_share(share, text)


def target_text(measure: SchemeMeasure) -> str:
    if measure.target_share is not None:
        return f"{(measure.target_share * 100).normalize():f}%"
    return str(measure.target_units)


def measure_to_data(measure: SchemeMeasure) -> dict[str, object]:
    return {
        "source": measure.source.value,
        "point_of_delivery": measure.point_of_delivery.value if measure.point_of_delivery else None,
        "provider": measure.provider,
        "commissioner": measure.commissioner,
        "practices": list(measure.practices),
        "hrg_prefix": measure.hrg_prefix,
        "treatment_function": measure.treatment_function,
        "excess_bed_days": measure.excess_bed_days,
        "bnf_prefix": measure.bnf_prefix,
        "baseline": measure.baseline_rule.value,
        "baseline_from": None if measure.baseline_first is None else month_label(measure.baseline_first),
        "baseline_to": None if measure.baseline_last is None else month_label(measure.baseline_last),
        "target_change": target_text(measure),
        "unit_price_pence": measure.unit_price_pence,
        "bed_day_price_pence": measure.bed_day_price_pence,
        "price": "stated" if measure.unit_price_pence is not None else "tariff or cost",
        "described": measure.described,
    }


# --- the Monte Carlo on evidenced delivery ---------------------------------------------------------------------


def evidence_ratio(found: Evidence) -> Fraction | None:
    """Evidenced over reported delivery, between 0 and 1 (evidence never credits a scheme with more than its lead
    reports); None where nothing is evidenced or nothing reported."""
    evidenced = found.evidenced_pence
    if evidenced is None or found.reported_pence <= 0:
        return None
    return min(max(Fraction(evidenced, found.reported_pence), Fraction(0)), Fraction(1))


def as_evidenced(scheme: Scheme, found: Evidence, as_at_month: int) -> Scheme:
    """The scheme as its evidence has it: each reported month to ``as_at_month`` and each forecast month after it
    at the evidence ratio (so a scheme whose activity shows half its reported delivery is expected to deliver half
    its forecast too); unchanged where there is no ratio."""
    ratio = evidence_ratio(found)
    if ratio is None:
        return scheme
    delivered = tuple(
        None if value is None or month > as_at_month else div_round(value * ratio)
        for month, value in enumerate(scheme.delivered, start=1)
    )
    forecast = tuple(
        div_round(scheme.forecast_month(month) * ratio) if month > as_at_month else scheme.forecast[month - 1]
        for month in range(1, MONTHS_IN_YEAR + 1)
    )
    return scheme.with_changes(delivered=delivered, forecast=forecast)
