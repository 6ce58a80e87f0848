"""The inputs of the year-end risk simulation, and the multi-year plan, as immutable records.

The simulation (``outturn.stats.montecarlo``) starts from the position's forecast surplus and asks what the
uncertain parts of the rest of the year could do to it: savings schemes delivering more or less than their
forecast, risks and mitigations landing or not, activity growth and prices moving the spend still to come.
Year-to-date actuals and savings already delivered are fixed; only the months after the as-at month are
uncertain. Signs follow ``domain/position.py``: a surplus is positive, a deficit negative, and the control total
is met when the surplus is at least the control total.

The multi-year plan carries recurrent savings forward at their full-year effect and takes a missed control
total off the next year's resource (the brought-forward deficit repaid from the next allocation).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from outturn.domain.contracts import Contract
from outturn.domain.errors import BadInput
from outturn.domain.ledger import CostCategory
from outturn.domain.money import Pence, div_round, scale
from outturn.domain.periods import MONTHS_IN_YEAR
from outturn.domain.plans import RiskItem, RiskKind
from outturn.domain.position import Position
from outturn.domain.savings import Scheme, SchemeStatus, effective_start

MAX_PLAN_YEARS = 5
ACTIVITY, PRICE = "activity growth", "price"  # the spend drivers' names
NO_UNCERTAINTY = Decimal("Infinity")  # a Beta concentration meaning "each scheme delivers exactly its confidence"


def _share(value: Decimal, name: str) -> None:
    if not Decimal(0) <= value <= Decimal(1):
        raise BadInput(f"{name} {value} must be between 0 and 1")


@dataclass(frozen=True)
class SchemeInput:
    """One savings scheme as the simulation sees it.

    ``remaining_pence`` holds the forecast saving of each simulated month (the months after the as-at month);
    the delivered fraction of it is uncertain, with mean ``confidence``. ``delivered_pence`` is banked.
    ``full_year_factor`` turns the year's saving into its full-year effect (12 over the months it runs), which a
    recurrent scheme carries into next year. ``assumed_pence`` holds, per simulated month, the saving the budgets
    assume (the plan: ``domain.savings.RemainingSavings``); ``None`` means the forecast.
    """

    reference: str
    workstream: str
    remaining_pence: tuple[Pence, ...]
    confidence: Decimal
    recurrent: bool = True
    delivered_pence: Pence = 0
    full_year_factor: Fraction = Fraction(1)
    assumed_pence: tuple[Pence, ...] | None = None

    def __post_init__(self) -> None:
        _share(self.confidence, f"scheme {self.reference}: confidence")
        if self.full_year_factor < 1:
            raise BadInput(f"scheme {self.reference}: a full-year factor is at least 1")
        if self.assumed_pence is not None and len(self.assumed_pence) != len(self.remaining_pence):
            raise BadInput(f"scheme {self.reference}: one assumed saving per simulated month")

    @property
    def remaining_total_pence(self) -> Pence:
        return sum(self.remaining_pence)

    @property
    def assumed_monthly_pence(self) -> tuple[Pence, ...]:
        return self.remaining_pence if self.assumed_pence is None else self.assumed_pence

    @property
    def assumed_total_pence(self) -> Pence:
        return sum(self.assumed_monthly_pence)

    @property
    def expected_delivery(self) -> Fraction:
        """The forecast still to come at the scheme's confidence: confidence × remaining."""
        return Fraction(self.remaining_total_pence) * Fraction(self.confidence)

    @property
    def expected_shortfall(self) -> Fraction:
        """What the budgets assume less the expected delivery: assumed − confidence × remaining."""
        return self.assumed_total_pence - self.expected_delivery

    @property
    def expected_full_year_effect(self) -> Fraction:
        """Delivered plus expected remaining, annualised; zero for a non-recurrent scheme."""
        if not self.recurrent:
            return Fraction(0)
        expected_year = self.delivered_pence + Fraction(self.remaining_total_pence) * Fraction(self.confidence)
        return expected_year * self.full_year_factor


@dataclass(frozen=True)
class RiskInput:
    """A risk (lowers the surplus if it lands) or a mitigation (raises it), landing with ``likelihood``.

    Its value, if it lands, is triangular between ``low_pence`` and ``high_pence`` with mode ``mode_pence``;
    all three equal is a fixed value.
    """

    description: str
    kind: RiskKind
    likelihood: Decimal
    low_pence: Pence
    mode_pence: Pence
    high_pence: Pence

    def __post_init__(self) -> None:
        _share(self.likelihood, f"{self.kind.value} {self.description!r}: likelihood")
        if not 0 <= self.low_pence <= self.mode_pence <= self.high_pence:
            raise BadInput(f"{self.description!r}: need 0 ≤ low ≤ mode ≤ high")

    @property
    def sign(self) -> int:
        """−1 for a risk (it lowers the surplus), +1 for a mitigation."""
        return -1 if self.kind is RiskKind.RISK else 1

    @property
    def mean_value(self) -> Fraction:
        return Fraction(self.low_pence + self.mode_pence + self.high_pence, 3)

    @property
    def expected_effect(self) -> Fraction:
        """Likelihood × mean value, signed: its expected effect on the surplus."""
        return self.sign * Fraction(self.likelihood) * self.mean_value


@dataclass(frozen=True)
class SpendUncertainty:
    """Spend still to come in the year that moves with a normal multiplier of mean 1 and standard deviation
    ``sd`` (activity growth on contract activity, prices on drugs and care packages)."""

    name: str
    remaining_pence: Pence
    sd: Decimal

    def __post_init__(self) -> None:
        if self.remaining_pence < 0 or self.sd < 0:
            raise BadInput(f"{self.name}: spend and its standard deviation are not negative")


ACTIVITY_CATEGORIES = (CostCategory.ACUTE,)  # spend exposed to activity growth
PRICE_CATEGORIES = (CostCategory.PRESCRIBING, CostCategory.CONTINUING_HEALTHCARE)  # spend exposed to prices


def pbr_share(contracts: Iterable[Contract]) -> Decimal | None:
    """The share of the contracts' value paid by activity (payment by results): their activity-based plan over it
    plus their block elements, which do not move with activity; None where they hold no value."""
    held = list(contracts)
    activity_based = sum(line.pence for contract in held for line in contract.plan)
    blocks = sum(block.annual_pence for contract in held for block in contract.blocks)
    if activity_based + blocks <= 0:
        return None
    return Decimal(activity_based) / Decimal(activity_based + blocks)


def remaining_spend(position: Position, categories: Sequence[CostCategory]) -> Pence:
    """Forecast spend still to come (forecast outturn less year-to-date actual, never below 0) in some categories."""
    return sum(
        max(row.forecast_outturn_pence - row.ytd_actual_pence, 0)
        for row in position.by_category
        if row.category in categories
    )


def spend_exposures(
    position: Position, activity_share: Decimal | None, activity_sd: Decimal, price_sd: Decimal
) -> tuple[SpendUncertainty, SpendUncertainty]:
    """The spend exposed to activity growth (acute spend still to come, its payment-by-results share where
    ``activity_share`` is known, all of it where no contracts are held) and to prices (prescribing and continuing
    healthcare still to come)."""
    activity = remaining_spend(position, ACTIVITY_CATEGORIES)
    exposed = activity if activity_share is None else scale(activity, activity_share)
    return (
        SpendUncertainty(ACTIVITY, exposed, activity_sd),
        SpendUncertainty(PRICE, remaining_spend(position, PRICE_CATEGORIES), price_sd),
    )


@dataclass(frozen=True)
class RiskModel:
    """Everything one simulation of the year-end position needs.

    ``months`` are the simulated (uncertain) months: after the as-at month, or the whole year at the planning
    stage. ``correlation`` is the correlation of the latent normal variables of two schemes in one workstream
    (the Gaussian copula); ``concentration`` is κ of each scheme's Beta(κc, κ(1 − c)) delivered fraction (0: all or
    nothing; ``NO_UNCERTAINTY``: exactly c). ``savings_in_forecast`` says the forecast surplus already counts the
    remaining savings in full (the NHS convention: the plan is in the budget and a shortfall is a risk);
    otherwise the delivered savings are added to it.
    """

    org_code: str
    year_label: str
    months: tuple[int, ...]
    forecast_surplus_pence: Pence
    control_total_pence: Pence
    schemes: tuple[SchemeInput, ...] = ()
    risks: tuple[RiskInput, ...] = ()
    spend: tuple[SpendUncertainty, ...] = ()
    correlation: Decimal = Decimal("0.3")
    concentration: Decimal = Decimal(4)
    savings_in_forecast: bool = True

    def __post_init__(self) -> None:
        if not self.months or list(self.months) != sorted(set(self.months)):
            raise BadInput("the simulated months must be a non-empty increasing run of months")
        if not 1 <= self.months[0] <= self.months[-1] <= MONTHS_IN_YEAR:
            raise BadInput("the simulated months lie within M01 to M12")
        for scheme in self.schemes:
            if len(scheme.remaining_pence) != len(self.months):
                raise BadInput(f"scheme {scheme.reference}: one remaining figure per simulated month")
        if not Decimal(0) <= self.correlation < Decimal(1):
            raise BadInput(f"workstream correlation {self.correlation} must be at least 0 and below 1")
        if self.concentration < 0:
            raise BadInput("the Beta concentration is not negative")

    @property
    def savings_remaining_pence(self) -> Pence:
        return sum(scheme.remaining_total_pence for scheme in self.schemes)

    @property
    def workstreams(self) -> tuple[str, ...]:
        return tuple(sorted({scheme.workstream for scheme in self.schemes}))

    def expected_surplus(self) -> Fraction:
        """The mean year-end surplus in closed form (every source of uncertainty is linear in its draw):
        forecast − Σ expected scheme shortfall (against what the budgets assume) + Σ signed likelihood × value
        (multipliers have mean 1)."""
        savings = sum((scheme.expected_shortfall for scheme in self.schemes), Fraction(0))
        if not self.savings_in_forecast:
            savings = -sum((s.expected_delivery for s in self.schemes), Fraction(0))
        risks = sum((risk.expected_effect for risk in self.risks), Fraction(0))
        return self.forecast_surplus_pence - savings + risks


def full_year_factor(scheme: Scheme) -> Fraction:
    """12 over the months from the scheme's effective start to M12: a scheme starting in M07 saves half a year."""
    return Fraction(MONTHS_IN_YEAR, MONTHS_IN_YEAR - effective_start(scheme) + 1)


def scheme_input(scheme: Scheme, as_at_month: int, months: Sequence[int]) -> SchemeInput | None:
    """A stored scheme as at a month (its forecast and its plan for each simulated month after it), or None where
    nothing about it is uncertain or counted: ideas (pipeline, not plan) and schemes with no forecast or plan left
    and nothing to carry forward."""
    if not scheme.status.counts_in_plan:
        return None
    remaining = tuple(scheme.forecast_month(month) if month > as_at_month else 0 for month in months)
    assumed = tuple(scheme.planned[month - 1] if month > as_at_month else 0 for month in months)
    delivered = scheme.delivered_to_date(as_at_month)
    recurrent = scheme.recurrent and scheme.status is not SchemeStatus.STOPPED  # a stopped scheme carries nothing
    if not any(remaining) and not any(assumed) and not (delivered and recurrent):
        return None
    return SchemeInput(
        reference=scheme.reference,
        workstream=scheme.workstream.value,
        remaining_pence=remaining,
        confidence=scheme.confidence,
        recurrent=recurrent,
        delivered_pence=delivered,
        full_year_factor=full_year_factor(scheme),
        assumed_pence=assumed,
    )


def risk_input(item: RiskItem, spread: Decimal = Decimal(0)) -> RiskInput:
    """A register item; a ``spread`` of 0.25 makes its value triangular from 75% to 125% of the stated value."""
    if not Decimal(0) <= spread <= Decimal(1):
        raise BadInput(f"risk spread {spread} must be between 0 and 1")
    low, high = scale(item.value_pence, 1 - spread), scale(item.value_pence, 1 + spread)
    return RiskInput(item.description, item.kind, item.likelihood, low, item.value_pence, high)


# --- multi-year plans ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanYear:
    """One later year of a recovery plan.

    ``underlying_spend_pence`` is what the year would cost with none of the programme's savings (neither new
    nor carried forward). New recurrent savings save ``recurrent_savings_pence`` this year and
    ``recurrent_full_year_pence`` every later year; non-recurrent ones save only this year. Each is delivered at
    the share drawn for the year, with mean ``confidence``.
    """

    label: str
    resource_pence: Pence
    control_total_pence: Pence
    underlying_spend_pence: Pence
    recurrent_savings_pence: Pence = 0
    recurrent_full_year_pence: Pence = 0
    non_recurrent_savings_pence: Pence = 0
    confidence: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        _share(self.confidence, f"{self.label}: savings confidence")


@dataclass(frozen=True)
class FirstYear:
    """The year in progress, as simulated (or expected): its surplus, control total, and the full-year effect of
    its recurrent savings that the next year inherits."""

    label: str
    surplus_pence: Pence
    control_total_pence: Pence
    carried_forward_pence: Pence


@dataclass(frozen=True)
class YearOutcome:
    label: str
    resource_pence: Pence  # after the penalty for last year's missed control total
    penalty_pence: Pence
    carried_forward_pence: Pence  # recurrent savings of earlier years, at full-year effect
    new_savings_pence: Pence
    spend_pence: Pence
    surplus_pence: Pence
    control_total_pence: Pence

    @property
    def shortfall_pence(self) -> Pence:
        """How far the surplus falls short of the control total; 0 when met."""
        return max(self.control_total_pence - self.surplus_pence, 0)

    @property
    def met(self) -> bool:
        return self.surplus_pence >= self.control_total_pence


def project_plan(
    first: FirstYear, later: Sequence[PlanYear], delivered_shares: Sequence[Decimal] | None = None
) -> tuple[YearOutcome, ...]:
    """Year by year: resource = planned resource − last year's shortfall; spend = underlying − carried forward −
    new savings × share; surplus = resource − spend. Shares default to each year's confidence."""
    if len(later) + 1 > MAX_PLAN_YEARS:
        raise BadInput(f"a plan covers at most {MAX_PLAN_YEARS} years")
    shares = [year.confidence for year in later] if delivered_shares is None else list(delivered_shares)
    if len(shares) != len(later):
        raise BadInput("one delivered share per later year")
    outcomes: list[YearOutcome] = []
    penalty = max(first.control_total_pence - first.surplus_pence, 0)
    carried = first.carried_forward_pence
    for year, share in zip(later, shares, strict=True):
        _share(share, f"{year.label}: delivered share")
        new = scale(year.recurrent_savings_pence, share) + scale(year.non_recurrent_savings_pence, share)
        resource = year.resource_pence - penalty
        spend = year.underlying_spend_pence - carried - new
        outcome = YearOutcome(
            year.label, resource, penalty, carried, new, spend, resource - spend, year.control_total_pence
        )
        outcomes.append(outcome)
        penalty = outcome.shortfall_pence
        carried += scale(year.recurrent_full_year_pence, share)
    return tuple(outcomes)


def expected_first_year(model: RiskModel) -> FirstYear:
    """The year in progress at its expected values (the closed-form mean surplus and full-year effect)."""
    carried = sum((scheme.expected_full_year_effect for scheme in model.schemes), Fraction(0))
    return FirstYear(
        model.year_label, div_round(model.expected_surplus()), model.control_total_pence, div_round(carried)
    )
