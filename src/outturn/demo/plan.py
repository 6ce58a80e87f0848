"""A SYNTHETIC financial plan for the demo ICB: next year and the two after it, from this year's position.

Derived, not invented:
- the exit position is this year's forecast surplus/(deficit) from the position (resource less forecast outturn);
- the non-recurrent items removed are the non-recurrent allocation less the one-off spend in the ledger's
  one-off lines (their net benefit to this year, which next year will not have);
- next year's allocation is this year's recurrent allocation grown by ``ALLOCATION_GROWTH``;
- demographic growth is the annual growth of the ICB's weighted population between NHS England's 2022/23 and
  2025/26 allocations (the practices' final weighted populations; ``weighted_growth``), as a share of allocation;
- tariff inflation and efficiency, and acute activity growth above demography, are shares of this year's acute
  forecast outturn (the contracts the NHS Payment Scheme prices), grown with the allocation in later years;
  non-tariff inflation and growth (prescribing, continuing healthcare, primary care) is a share of the rest of the
  forecast outturn, grown likewise.

The national figures behind the shares (looked up December 2026):
- NHS England's day-to-day budget grows 3.0% a year in real terms from 2025/26 to 2028/29 (Spending Review 2025;
  The King's Fund, "What does the Comprehensive Spending Review 2025 mean for the NHS", June 2025), and ICB
  allocations for 2026/27 to 2028/29 move towards fair share with deficit support removed (NHS England, "Medium
  term planning framework: revenue finance and contracting guidance", October 2025). The published per-ICB cash
  growth was not found in the sources searched: the demo assumes 3.0% cash a year, well under the roughly 5% cash
  growth of the national budget (3.0% real plus GDP deflator inflation), for an ICB near its fair share whose
  deficit support is removed.
- The 2025/26 NHS Payment Scheme's cost uplift factor was 4.15%, revised to 4.83% for the 2025/26 pay awards
  (NHS England, "2025/26 NHS Payment Scheme", pay award prices workbook, 27 June 2025), with a 2.0% efficiency
  factor; the 2026/27 NHSPS consultation proposes to continue the 2% efficiency factor (revenue finance and
  contracting guidance above). The demo assumes a 3.5% cost uplift for 2026/27 onwards (pay awards nearer
  inflation than 2025/26's) and the 2.0% efficiency factor.
Every figure is SYNTHETIC and labelled so in the file's descriptions.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from outturn.domain.ledger import CostCategory
from outturn.domain.money import Pence, scale
from outturn.domain.periods import FinancialYear
from outturn.domain.planning import Assumption, AssumptionKind
from outturn.domain.position import Position

K = AssumptionKind
PLAN_YEARS = 3
ALLOCATION_GROWTH = Decimal("0.03")
TARIFF_COST_UPLIFT = Decimal("0.035")
TARIFF_EFFICIENCY = Decimal("0.02")
NON_TARIFF_GROWTH = Decimal("0.035")  # prescribing, CHC, primary care and other programme: price and volume
ACUTE_ACTIVITY_GROWTH = Decimal("0.015")  # acute activity above demography (elective recovery, high-cost drugs)
WEIGHTED_POPULATION_YEARS = 3  # 2022/23 to 2025/26
SYNTHETIC = "SYNTHETIC demo plan"


def annual_growth(earlier: Decimal, later: Decimal, years: int = WEIGHTED_POPULATION_YEARS) -> Decimal:
    """The yearly rate that takes ``earlier`` to ``later`` over ``years``, to 0.01% (0.0088 for 0.88%)."""
    rate = (later / earlier) ** (Decimal(1) / years) - 1
    return rate.quantize(Decimal("0.0001"))


def _one_off_net_benefit(position: Position) -> Pence:
    return position.non_recurrent_allocation_pence - sum(row.ytd_one_off_pence for row in position.by_category)


def _acute_outturn(position: Position) -> Pence:
    return sum(row.forecast_outturn_pence for row in position.by_category if row.category is CostCategory.ACUTE)


def _first_year(position: Position, org: str, year: FinancialYear, weighted_growth: Decimal) -> list[Assumption]:
    this_year = position.as_at.year
    recurrent = position.recurrent_allocation_pence
    acute = _acute_outturn(position)
    rest = position.forecast_outturn_pence - acute
    at = f"{this_year} at {position.as_at.label}"
    return [
        Assumption(org, year, K.EXIT_POSITION, position.forecast_surplus_pence, f"Forecast surplus/(deficit) {at}"),
        Assumption(
            org,
            year,
            K.NON_RECURRENT_ITEMS,
            _one_off_net_benefit(position),
            f"Non-recurrent allocation less one-off spend {at}",
        ),
        Assumption(
            org, year, K.ALLOCATION, recurrent + scale(recurrent, ALLOCATION_GROWTH), f"{SYNTHETIC}: allocation"
        ),
        Assumption(
            org,
            year,
            K.ALLOCATION_GROWTH,
            share=ALLOCATION_GROWTH,
            base_pence=recurrent,
            description="Allocation growth",
        ),
        *_pressures(org, year, acute, rest, weighted_growth),
        Assumption(org, year, K.CONTROL_TOTAL, 0, f"{SYNTHETIC}: breakeven control total"),
    ]


def _pressures(org: str, year: FinancialYear, acute: Pence, rest: Pence, weighted_growth: Decimal) -> list[Assumption]:
    shares: tuple[tuple[AssumptionKind, Decimal, Pence | None, str], ...] = (
        (K.TARIFF_INFLATION, TARIFF_COST_UPLIFT, acute, "Tariff cost uplift on acute contracts"),
        (K.TARIFF_EFFICIENCY, TARIFF_EFFICIENCY, acute, "Tariff efficiency on acute contracts"),
        (K.DEMOGRAPHIC_GROWTH, weighted_growth, None, "Demographic growth (weighted population)"),
        (K.NON_DEMOGRAPHIC_GROWTH, ACUTE_ACTIVITY_GROWTH, acute, "Acute activity growth above demography"),
        (K.NON_DEMOGRAPHIC_GROWTH, NON_TARIFF_GROWTH, rest, "Non-tariff inflation and growth on other spend"),
    )
    return [
        Assumption(org, year, kind, share=share, base_pence=base, description=description)
        for kind, share, base, description in shares
    ]


def demo_plan(position: Position, weighted_growth: Decimal, years: int = PLAN_YEARS) -> list[Assumption]:
    """The plan's assumptions for the ``years`` after the position's year, for the position's organisation: the
    first year from the position, later years' growth on the allocation brought forward and their tariff and
    other bases grown with the allocation."""
    org, start = position.org_code, FinancialYear(position.as_at.year.start_year + 1)
    items = _first_year(position, org, start, weighted_growth)
    acute, rest = _acute_outturn(position), position.forecast_outturn_pence - _acute_outturn(position)
    for offset in range(1, years):
        year = FinancialYear(start.start_year + offset)
        acute, rest = acute + scale(acute, ALLOCATION_GROWTH), rest + scale(rest, ALLOCATION_GROWTH)
        items.append(
            Assumption(org, year, K.ALLOCATION_GROWTH, share=ALLOCATION_GROWTH, description="Allocation growth")
        )
        items.extend(_pressures(org, year, acute, rest, weighted_growth))
        items.append(Assumption(org, year, K.CONTROL_TOTAL, 0, f"{SYNTHETIC}: breakeven control total"))
    return items


def _amount(item: Assumption) -> str:
    if item.share is not None:
        return f"{(item.share * 100).normalize():f}%"
    return f"{Decimal(item.pence) / 100:.2f}"


def write_plan_assumptions(path: Path, items: Iterable[Assumption]) -> Path:
    """The assumptions as the file ``outturn plan import-assumptions`` reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("org_code", "year", "assumption", "amount", "base", "description"))
        for item in items:
            base = "" if item.base_pence is None else f"{Decimal(item.base_pence) / 100:.2f}"
            writer.writerow((item.org_code, item.year.label, item.kind.value, _amount(item), base, item.description))
    return path
