"""Savings schemes (QIPP): plan, delivery and forecast by month, confidence, and the RAG rating.

A scheme's year runs M01 to M12. ``planned`` holds the planned saving of each month; ``delivered`` the saving
reported as delivered (``None`` for months not yet reported); ``forecast`` the finance lead's forecast for
months not yet delivered (``None`` means "as planned"). A stopped scheme forecasts nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from types import MappingProxyType

from outturn.domain.errors import BadInput
from outturn.domain.labels import look_up, normalise_key
from outturn.domain.money import Pence, scale
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialYear


# look-alike of domain/ledger.py:CostCategory (shape only): declarative, an enumeration's members.
class Workstream(StrEnum):
    ELECTIVE = "elective"
    NON_ELECTIVE = "non_elective_urgent_care"
    OUTPATIENTS = "outpatients"
    PRESCRIBING = "prescribing"
    PRIMARY_CARE_CONTRACTS = "primary_care_contracts"
    CONTINUING_HEALTHCARE = "continuing_healthcare"
    MENTAL_HEALTH = "mental_health"
    COMMUNITY = "community"
    ESTATES = "estates"
    WORKFORCE = "workforce_recruitment_control"
    RUNNING_COSTS = "running_costs"
    OTHER = "other"

    # look-alike of CostCategory's label and parse (domain/ledger.py): declarative, its own labels and aliases; the
    # parsing is look_up's.
    @property
    def label(self) -> str:
        return _WORKSTREAM_LABELS[self]

    @classmethod
    def parse(cls, text: str) -> Workstream:
        return look_up(_WORKSTREAM_ALIASES, text, "workstream", (item.value for item in cls))


_WORKSTREAM_LABELS: Mapping[Workstream, str] = MappingProxyType(
    {
        Workstream.ELECTIVE: "Elective",
        Workstream.NON_ELECTIVE: "Non-elective and urgent care",
        Workstream.OUTPATIENTS: "Outpatients",
        Workstream.PRESCRIBING: "Prescribing",
        Workstream.PRIMARY_CARE_CONTRACTS: "Primary care contracts",
        Workstream.CONTINUING_HEALTHCARE: "Continuing healthcare",
        Workstream.MENTAL_HEALTH: "Mental health",
        Workstream.COMMUNITY: "Community",
        Workstream.ESTATES: "Estates",
        Workstream.WORKFORCE: "Workforce and recruitment control",
        Workstream.RUNNING_COSTS: "Running costs",
        Workstream.OTHER: "Other",
    }
)
_WORKSTREAM_ALIASES: Mapping[str, Workstream] = MappingProxyType(
    {
        **{item.value: item for item in Workstream},
        **{normalise_key(label): item for item, label in _WORKSTREAM_LABELS.items()},
        "non_elective": Workstream.NON_ELECTIVE,
        "urgent_care": Workstream.NON_ELECTIVE,
        "unplanned_care": Workstream.NON_ELECTIVE,
        "planned_care": Workstream.ELECTIVE,
        "chc": Workstream.CONTINUING_HEALTHCARE,
        "medicines_management": Workstream.PRESCRIBING,
        "workforce": Workstream.WORKFORCE,
        "recruitment_control": Workstream.WORKFORCE,
        "admin": Workstream.RUNNING_COSTS,
    }
)


class SchemeStatus(StrEnum):
    IDEA = "idea"
    PLANNED = "planned"
    APPROVED = "approved"
    IN_DELIVERY = "in_delivery"
    DELIVERED = "delivered"
    STOPPED = "stopped"

    @classmethod
    def parse(cls, text: str) -> SchemeStatus:
        return look_up({item.value: item for item in cls}, text, "status", (item.value for item in cls))

    @property
    def counts_in_plan(self) -> bool:
        """Ideas are the pipeline, not the plan."""
        return self is not SchemeStatus.IDEA


class Rag(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"

    @classmethod
    def parse(cls, text: str) -> Rag:
        aliases = {key: item for item in cls for key in (item.value, item.value[0])}
        return look_up(aliases, text, "RAG", (item.value for item in cls))


# look-alike of domain/budgets.py:IncentiveTerms (shape only): declarative, keyword fields or columns, one per
# attribute.
def _months(values: tuple[Pence | None, ...], name: str) -> None:
    if len(values) != MONTHS_IN_YEAR:
        raise BadInput(f"{name} must have {MONTHS_IN_YEAR} months, not {len(values)}")


@dataclass(frozen=True)
class Scheme:
    reference: str
    title: str
    org_code: str
    year: FinancialYear
    workstream: Workstream
    planned: tuple[Pence, ...]
    delivered: tuple[Pence | None, ...] = (None,) * MONTHS_IN_YEAR
    forecast: tuple[Pence | None, ...] = (None,) * MONTHS_IN_YEAR
    lead: str = ""
    recurrent: bool = True
    status: SchemeStatus = SchemeStatus.PLANNED
    start_month: int = 1
    confidence: Decimal = Decimal(1)
    evidence_measure: str = ""
    negative_reason: str = ""
    rag_override: Rag | None = None
    rag_override_reason: str = ""
    version: int = 1

    def __post_init__(self) -> None:
        for values, name in ((self.planned, "planned"), (self.delivered, "delivered"), (self.forecast, "forecast")):
            _months(values, name)
        if not self.reference.strip():
            raise BadInput("a scheme needs a reference")
        if not 1 <= self.start_month <= MONTHS_IN_YEAR:
            raise BadInput(f"start month {self.start_month} is outside the year (M01 to M12)")
        if not Decimal(0) <= self.confidence <= Decimal(1):
            raise BadInput(f"confidence {self.confidence} must be between 0% and 100%")
        if self.plan_pence < 0 and not self.negative_reason.strip():
            raise BadInput("a negative saving (a cost) needs a reason")
        if self.rag_override is not None and not self.rag_override_reason.strip():
            raise BadInput("a RAG override needs a reason")

    @property
    def plan_pence(self) -> Pence:
        return sum(self.planned)

    def plan_to_date(self, month: int) -> Pence:
        return sum(self.planned[:month])

    def plan_remaining(self, month: int) -> Pence:
        """The plan for the months after ``month``: what the budgets assume is still to be saved."""
        return sum(self.planned[month:])

    def delivered_to_date(self, month: int) -> Pence:
        return sum(value or 0 for value in self.delivered[:month])

    def forecast_month(self, month: int) -> Pence:
        """The forecast for one month after the as-at month: as planned unless forecast, nothing once stopped."""
        if self.status is SchemeStatus.STOPPED:
            return 0
        value = self.forecast[month - 1]
        return self.planned[month - 1] if value is None else value

    def forecast_remaining(self, month: int) -> Pence:
        return sum(self.forecast_month(later) for later in range(month + 1, MONTHS_IN_YEAR + 1))

    def forecast_total(self, month: int) -> Pence:
        """Delivered to date plus the forecast for the rest of the year."""
        return self.delivered_to_date(month) + self.forecast_remaining(month)

    def risk_adjusted_remaining(self, month: int) -> Pence:
        """The forecast for the months after ``month`` at the scheme's confidence."""
        return scale(self.forecast_remaining(month), self.confidence)

    def risk_adjusted(self, month: int) -> Pence:
        """Delivered to date (banked) plus the rest of the forecast at the scheme's confidence."""
        return self.delivered_to_date(month) + self.risk_adjusted_remaining(month)

    def with_changes(self, **changes: object) -> Scheme:
        return replace(self, **changes)  # type: ignore[arg-type]


# --- RAG: stated rules -----------------------------------------------------------------------------------------

GREEN_DELIVERY = Decimal("0.95")  # delivered to date at least 95% of plan to date, and forecast at least 95% of plan
RED_DELIVERY = Decimal("0.80")  # below 80% of plan, to date or for the year, is red
GREEN_CONFIDENCE = Decimal("0.80")
RED_CONFIDENCE = Decimal("0.50")
AMBER_SLIPPAGE_MONTHS = 1
RED_SLIPPAGE_MONTHS = 3


@dataclass(frozen=True)
class RagAssessment:
    rag: Rag
    reasons: tuple[str, ...]
    computed: Rag
    overridden: bool = False


def slippage_months(scheme: Scheme, month: int) -> int:
    """How many months delivery has started later than the scheme's start (to the as-at month)."""
    start = effective_start(scheme)
    if month < start:
        return 0
    first = next((m for m in range(1, month + 1) if (scheme.delivered[m - 1] or 0) > 0), None)
    if first is None:
        return month - start + 1
    return max(0, first - start)


def effective_start(scheme: Scheme) -> int:
    """The later of the stated start month and the first month with a planned saving."""
    first_planned = next((m for m in range(1, MONTHS_IN_YEAR + 1) if scheme.planned[m - 1] > 0), scheme.start_month)
    return max(scheme.start_month, first_planned)


def _ratio(numerator: Pence, denominator: Pence) -> Decimal | None:
    return None if denominator <= 0 else Decimal(numerator) / Decimal(denominator)


def _percent(ratio: Decimal) -> str:
    """Whole percent rounded down, so a figure just under a threshold never reads as the threshold itself."""
    return f"{ratio.quantize(Decimal('0.01'), rounding=ROUND_FLOOR):.0%}"


def _findings(scheme: Scheme, month: int) -> list[tuple[Rag, str]]:
    found: list[tuple[Rag, str]] = []
    delivery = _ratio(scheme.delivered_to_date(month), scheme.plan_to_date(month))
    if delivery is not None and delivery < GREEN_DELIVERY:
        rag = Rag.RED if delivery < RED_DELIVERY else Rag.AMBER
        found.append((rag, f"delivered {_percent(delivery)} of plan to date"))
    outlook = _ratio(scheme.forecast_total(month), scheme.plan_pence)
    if outlook is not None and outlook < GREEN_DELIVERY:
        rag = Rag.RED if outlook < RED_DELIVERY else Rag.AMBER
        found.append((rag, f"forecast {_percent(outlook)} of the year's plan"))
    if scheme.confidence < GREEN_CONFIDENCE:
        rag = Rag.RED if scheme.confidence < RED_CONFIDENCE else Rag.AMBER
        found.append((rag, f"confidence {_percent(scheme.confidence)}"))
    slipped = slippage_months(scheme, month)
    if slipped >= AMBER_SLIPPAGE_MONTHS and scheme.plan_to_date(month) > 0:
        rag = Rag.RED if slipped >= RED_SLIPPAGE_MONTHS else Rag.AMBER
        found.append((rag, f"delivery {slipped} month(s) behind its start"))
    return found


def assess_rag(scheme: Scheme, month: int) -> RagAssessment:
    """RED, AMBER or GREEN by the stated rules; a manual override (with its reason) has the last word."""
    computed: Rag
    reasons: tuple[str, ...]
    if scheme.status is SchemeStatus.STOPPED:
        computed, reasons = Rag.RED, ("scheme stopped",)
    else:
        findings = _findings(scheme, month)
        worst = Rag.RED if any(rag is Rag.RED for rag, _ in findings) else (Rag.AMBER if findings else Rag.GREEN)
        computed, reasons = worst, tuple(reason for _rag, reason in findings) or ("on plan",)
    if scheme.rag_override is not None:
        reason = f"overridden from {computed.value}: {scheme.rag_override_reason}"
        return RagAssessment(scheme.rag_override, (reason, *reasons), computed, overridden=True)
    return RagAssessment(computed, reasons, computed)


# --- targets -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SavingsTarget:
    """The savings an organisation must find in a year; ``programme`` names a multi-year programme it is part of."""

    org_code: str
    year: FinancialYear
    target_pence: Pence
    programme: str = ""


@dataclass(frozen=True)
class SavingsFigures:
    """Additive figures of a set of schemes as at a month (every field sums over any split of the schemes)."""

    schemes: int = 0
    plan_pence: Pence = 0
    plan_to_date_pence: Pence = 0
    delivered_pence: Pence = 0
    forecast_pence: Pence = 0
    risk_adjusted_pence: Pence = 0
    pipeline_pence: Pence = 0
    target_pence: Pence = 0
    identified_pence: Pence = 0
    unidentified_pence: Pence = 0
    rag_counts: tuple[int, int, int] = field(default=(0, 0, 0))

    @property
    def shortfall_pence(self) -> Pence:
        return self.plan_pence - self.forecast_pence

    @property
    def shortfall_share(self) -> Decimal | None:
        return None if self.plan_pence == 0 else Decimal(self.shortfall_pence) / Decimal(self.plan_pence)

    def __add__(self, other: SavingsFigures) -> SavingsFigures:
        return SavingsFigures(
            schemes=self.schemes + other.schemes,
            plan_pence=self.plan_pence + other.plan_pence,
            plan_to_date_pence=self.plan_to_date_pence + other.plan_to_date_pence,
            delivered_pence=self.delivered_pence + other.delivered_pence,
            forecast_pence=self.forecast_pence + other.forecast_pence,
            risk_adjusted_pence=self.risk_adjusted_pence + other.risk_adjusted_pence,
            pipeline_pence=self.pipeline_pence + other.pipeline_pence,
            target_pence=self.target_pence + other.target_pence,
            identified_pence=self.identified_pence + other.identified_pence,
            unidentified_pence=self.unidentified_pence + other.unidentified_pence,
            rag_counts=(
                self.rag_counts[0] + other.rag_counts[0],
                self.rag_counts[1] + other.rag_counts[1],
                self.rag_counts[2] + other.rag_counts[2],
            ),
        )


def scheme_figures(scheme: Scheme, month: int) -> SavingsFigures:
    """One scheme's contribution. Ideas count only in the pipeline; stopped schemes keep their plan (a shortfall)
    but are no longer identified savings."""
    if not scheme.status.counts_in_plan:
        return SavingsFigures(pipeline_pence=scheme.plan_pence)
    rag = assess_rag(scheme, month).rag
    identified = 0 if scheme.status is SchemeStatus.STOPPED else scheme.plan_pence
    return SavingsFigures(
        schemes=1,
        plan_pence=scheme.plan_pence,
        plan_to_date_pence=scheme.plan_to_date(month),
        delivered_pence=scheme.delivered_to_date(month),
        forecast_pence=scheme.forecast_total(month),
        risk_adjusted_pence=scheme.risk_adjusted(month),
        identified_pence=identified,
        rag_counts=(int(rag is Rag.RED), int(rag is Rag.AMBER), int(rag is Rag.GREEN)),
    )


def target_figures(target: SavingsTarget) -> SavingsFigures:
    return SavingsFigures(target_pence=target.target_pence)


def with_unidentified(organisation: SavingsFigures) -> SavingsFigures:
    """One organisation's figures with its unidentified savings: target not yet covered by identified schemes.
    Worked per organisation, then summed, so one organisation's surplus never hides another's gap."""
    return replace(organisation, unidentified_pence=max(organisation.target_pence - organisation.identified_pence, 0))


# --- the savings the budgets assume ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RemainingSavings:
    """The savings plan for the months after an as-at month, as the position counts it.

    Budgets are set net of the savings plan, so the budgets (and a forecast that follows them) assume each
    scheme's planned saving of every month. For the months to date the ledger's actuals already carry what was
    delivered, so only the months still to come are at risk: ``planned_pence`` is what the budgets assume for them
    (schemes in the plan, stopped ones included: their plan is still in the budgets), ``forecast_pence`` the
    schemes' forecast for them (nothing once stopped) and ``risk_adjusted_pence`` that forecast at each scheme's
    confidence (``Scheme.risk_adjusted`` less what is banked)."""

    planned_pence: Pence = 0
    forecast_pence: Pence = 0
    risk_adjusted_pence: Pence = 0

    @property
    def shortfall_pence(self) -> Pence:
        """What the budgets assume less the risk-adjusted forecast: positive lowers the surplus."""
        return self.planned_pence - self.risk_adjusted_pence


NO_SAVINGS = RemainingSavings()


def remaining_savings(schemes: Iterable[Scheme], month: int) -> RemainingSavings:
    """The schemes' plan, forecast and risk-adjusted forecast for the months after ``month`` (ideas excluded)."""
    counted = [scheme for scheme in schemes if scheme.status.counts_in_plan]
    return RemainingSavings(
        planned_pence=sum(scheme.plan_remaining(month) for scheme in counted),
        forecast_pence=sum(scheme.forecast_remaining(month) for scheme in counted),
        risk_adjusted_pence=sum(scheme.risk_adjusted_remaining(month) for scheme in counted),
    )
