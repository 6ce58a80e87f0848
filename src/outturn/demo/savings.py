"""A SYNTHETIC savings plan (QIPP) for the demo: schemes by workstream, some delivering, some slipping."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from outturn.domain.money import Pence, scale
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialYear
from outturn.domain.savings import SavingsTarget, Scheme, SchemeStatus, Workstream

TARGET_SHARE = Decimal("0.025")  # savings target: 2.5% of allocation
IDENTIFIED_SHARE = Decimal("0.85")  # schemes found for 85% of it; the rest unidentified
SCHEMES = (
    (Workstream.NON_ELECTIVE, "Frailty same-day emergency care", "0.20"),
    (Workstream.ELECTIVE, "Procedures of limited clinical value thresholds", "0.12"),
    (Workstream.OUTPATIENTS, "Outpatient follow-up to benchmark ratio", "0.12"),
    (Workstream.PRESCRIBING, "Generic switching and medicines waste", "0.14"),
    (Workstream.CONTINUING_HEALTHCARE, "CHC case review and brokerage", "0.14"),
    (Workstream.MENTAL_HEALTH, "Out-of-area placements repatriation", "0.08"),
    (Workstream.COMMUNITY, "Community contract productivity", "0.06"),
    (Workstream.WORKFORCE, "Vacancy and recruitment control", "0.08"),
    (Workstream.RUNNING_COSTS, "Corporate running-cost reduction", "0.06"),
)


def _phased(annual: Pence, start: int) -> tuple[Pence, ...]:
    months = MONTHS_IN_YEAR - start + 1
    each = [0] * (start - 1) + [annual // months] * months
    each[-1] += annual - sum(each)
    return tuple(each)


def synthetic_savings(
    allocations: Mapping[str, Pence], year: FinancialYear, as_at_month: int, seed: int
) -> tuple[list[Scheme], list[SavingsTarget]]:
    """Schemes and targets for each commissioner; delivery to ``as_at_month`` between 55% and 105% of plan."""
    rng = random.Random(seed)
    schemes: list[Scheme] = []
    targets: list[SavingsTarget] = []
    for org_code, allocation in sorted(allocations.items()):
        target = scale(allocation, TARGET_SHARE)
        targets.append(SavingsTarget(org_code, year, target, "Financial recovery plan (SYNTHETIC)"))
        for number, (workstream, title, share) in enumerate(SCHEMES, start=1):
            start = rng.choice((1, 1, 1, 4, 7))
            planned = _phased(scale(target, IDENTIFIED_SHARE * Decimal(share)), start)
            performance = Decimal(rng.randrange(55, 106)) / 100
            delivered = tuple(
                scale(value, performance) if month <= as_at_month else None
                for month, value in enumerate(planned, start=1)
            )
            schemes.append(
                Scheme(
                    reference=f"{org_code}-Q{number:02d}",
                    title=f"{title} (SYNTHETIC)",
                    org_code=org_code,
                    year=year,
                    workstream=workstream,
                    planned=planned,
                    delivered=delivered,
                    status=SchemeStatus.IN_DELIVERY if start <= as_at_month else SchemeStatus.APPROVED,
                    start_month=start,
                    confidence=Decimal(rng.randrange(50, 96)) / 100,
                    lead="Programme lead",
                )
            )
    return schemes, targets


@dataclass(frozen=True)
class SchemeUpdate:
    """What a scheme lead reports at a month end: the month's delivered saving and, for a scheme slipping, a
    re-forecast of the rest of the year and a lower confidence."""

    reference: str
    delivered_pence: Pence
    forecast: Mapping[int, Pence]
    confidence: Decimal | None


SLIPPING = Decimal("0.80")  # a scheme delivering under 80% of plan (red) re-forecasts the rest of the year
CONFIDENCE_DROP = Decimal("0.10")
LOWEST_CONFIDENCE = Decimal("0.30")


def month_updates(schemes: Sequence[Scheme], month: int, seed: int) -> list[SchemeUpdate]:
    """SYNTHETIC month-end updates for ``month``: each scheme in delivery delivers near its performance so far
    (a few points either way); one under 80% of plan re-forecasts the months after ``month`` halfway between that
    rate and its plan, and its confidence falls by 10 points (not below 30%)."""
    rng = random.Random(seed * 31 + month)
    updates: list[SchemeUpdate] = []
    for scheme in sorted(schemes, key=lambda item: item.reference):
        if scheme.start_month > month or scheme.status is not SchemeStatus.IN_DELIVERY:
            continue
        to_date = scheme.plan_to_date(month - 1)
        so_far = Decimal(scheme.delivered_to_date(month - 1)) / to_date if to_date > 0 else Decimal(1)
        rate = min(max(so_far + Decimal(rng.randrange(-6, 5)) / 100, Decimal("0.3")), Decimal("1.1"))
        rate = rate.quantize(Decimal("0.01"))
        slipping = rate < SLIPPING
        recovery = ((rate + 1) / 2).quantize(Decimal("0.01"))
        updates.append(
            SchemeUpdate(
                reference=scheme.reference,
                delivered_pence=scale(scheme.planned[month - 1], rate),
                forecast={m: scale(scheme.planned[m - 1], recovery) for m in range(month + 1, MONTHS_IN_YEAR + 1)}
                if slipping
                else {},
                confidence=max(scheme.confidence - CONFIDENCE_DROP, LOWEST_CONFIDENCE) if slipping else None,
            )
        )
    return updates
