"""A SYNTHETIC savings plan (QIPP) for the demo: schemes by workstream, some delivering, some slipping."""

from __future__ import annotations

import random
from collections.abc import Mapping
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
