"""A SYNTHETIC commissioner ledger, plan and risk register calibrated to real weighted populations.

No public source gives commissioners' ledgers. This generator makes a plausible one: each category's budget is
a national £ per weighted head for the matching allocation component (general and acute for acute, community
for community, and so on); actual spend carries the pressures commissioners in recovery report (acute
over-performance, continuing healthcare growth, prescribing price rises) in the shape NHS ledgers show (a winter
peak, a summer dip and a March year-end spike), noise and a one-off item. Acute lines follow the demo's contracts
(``acute_ledger.py``): a line per contract budgeted at its plan and accruing the month's priced activity, both after
the contract's payment rules (its value), drugs and devices outside tariff for each main provider, and the rest of
the acute budget on lines named for no provider. The two years before this one are held in full, with the same
lines, budgets a few per cent lower each year back and less pressure (last year's contract lines accrue last year's
priced activity under this year's rules), so seasonal profiles and
back-tests have real history. Every figure is labelled synthetic where it is shown.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from outturn.demo.acute_ledger import ACCRUAL_NOISE, BudgetLine, ContractSpend, acute_lines, phased
from outturn.domain.ledger import CostCategory, LedgerLine
from outturn.domain.money import Pence, pounds, scale
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialYear
from outturn.domain.plans import FinancialPlan, RiskItem, RiskKind
from outturn.domain.populations import PopulationTotals

# £ per weighted head by category (SYNTHETIC calibration, roughly the national mix of ICB spend).
POUNDS_PER_WEIGHTED_HEAD: dict[CostCategory, int] = {
    CostCategory.ACUTE: 930,
    CostCategory.MENTAL_HEALTH: 215,
    CostCategory.COMMUNITY: 175,
    CostCategory.CONTINUING_HEALTHCARE: 100,
    CostCategory.PRIMARY_CARE_DELEGATED: 175,
    CostCategory.PRESCRIBING: 160,
    CostCategory.OTHER_PROGRAMME: 65,
    CostCategory.RUNNING_COSTS: 22,
    CostCategory.RESERVES_CONTINGENCY: 15,
}

# Ledger lines within each category and their shares of its budget (acute's follow the contracts: acute_ledger.py).
LINES: dict[CostCategory, tuple[tuple[str, str], ...]] = {
    CostCategory.MENTAL_HEALTH: (("Main mental health trust", "0.80"), ("Out-of-area placements", "0.20")),
    CostCategory.COMMUNITY: (("Community trust", "0.85"), ("Hospices and voluntary sector", "0.15")),
    CostCategory.CONTINUING_HEALTHCARE: (
        ("Adult CHC", "0.75"),
        ("Funded nursing care", "0.15"),
        ("Children's continuing care", "0.10"),
    ),
    CostCategory.PRIMARY_CARE_DELEGATED: (("GMS/PMS/APMS contracts", "0.82"), ("Enhanced services", "0.18")),
    CostCategory.PRESCRIBING: (("Practice prescribing", "0.92"), ("Central drugs", "0.08")),
    CostCategory.OTHER_PROGRAMME: (("NHS 111 and ambulance", "0.60"), ("Other programme", "0.40")),
    CostCategory.RUNNING_COSTS: (("Pay", "0.75"), ("Non-pay", "0.25")),
    CostCategory.RESERVES_CONTINGENCY: (("Contingency (0.5%)", "1"),),
}

# Underlying spend against budget (1.03 = 3% over) this year; earlier years carry a fraction of it (PRIOR_PRESSURE).
PRESSURE: dict[CostCategory, Decimal] = {
    CostCategory.ACUTE: Decimal("1.022"),
    CostCategory.MENTAL_HEALTH: Decimal("1.010"),
    CostCategory.COMMUNITY: Decimal("0.995"),
    CostCategory.CONTINUING_HEALTHCARE: Decimal("1.065"),
    CostCategory.PRIMARY_CARE_DELEGATED: Decimal("1.000"),
    CostCategory.PRESCRIBING: Decimal("1.035"),
    CostCategory.OTHER_PROGRAMME: Decimal("0.990"),
    CostCategory.RUNNING_COSTS: Decimal("0.970"),
    CostCategory.RESERVES_CONTINGENCY: Decimal("0.400"),
}
PRIOR_PRESSURE = (Decimal("0.3"), Decimal("0.1"))  # last year's and the year before's share of this year's pressure

# Budget growth into each year from the one before (SYNTHETIC; ICB allocations have grown about 3-6% a year).
GROWTH: dict[CostCategory, Decimal] = {
    CostCategory.ACUTE: Decimal("1.045"),
    CostCategory.MENTAL_HEALTH: Decimal("1.050"),
    CostCategory.COMMUNITY: Decimal("1.040"),
    CostCategory.CONTINUING_HEALTHCARE: Decimal("1.060"),
    CostCategory.PRIMARY_CARE_DELEGATED: Decimal("1.035"),
    CostCategory.PRESCRIBING: Decimal("1.050"),
    CostCategory.OTHER_PROGRAMME: Decimal("1.030"),
    CostCategory.RUNNING_COSTS: Decimal("1.010"),
    CostCategory.RESERVES_CONTINGENCY: Decimal("1.030"),
}


def _profile(*weights: str) -> tuple[Decimal, ...]:
    """Twelve monthly weights, April (M01) to March (M12), that average one."""
    profile = tuple(Decimal(weight) for weight in weights)
    if len(profile) != MONTHS_IN_YEAR or sum(profile) != MONTHS_IN_YEAR:
        raise ValueError(f"a monthly profile needs twelve weights summing to 12: {weights}")
    return profile


FLAT = _profile(*["1"] * MONTHS_IN_YEAR)

# How spend falls (SYNTHETIC, in the shape of NHS commissioner ledgers): a winter peak from December to February
# for acute, continuing healthcare and prescribing, a summer dip in August, and a March spike as year-end accruals,
# settlements and non-recurrent spend land in M12. Demand-led budgets are phased in their category's shape (as a
# finance team phases them on last year's profile); the rest in twelfths, so their March spike is an M12 overspend.
SPEND_SHAPE: dict[CostCategory, tuple[Decimal, ...]] = {
    CostCategory.ACUTE: _profile(
        "0.99", "1.00", "0.98", "0.99", "0.96", "0.99", "1.01", "1.02", "1.02", "1.03", "0.99", "1.02"
    ),
    CostCategory.CONTINUING_HEALTHCARE: _profile(
        "0.98", "0.99", "0.99", "0.99", "0.98", "0.99", "1.00", "1.01", "1.02", "1.03", "1.01", "1.01"
    ),
    CostCategory.PRESCRIBING: _profile(
        "0.98", "0.99", "0.98", "1.00", "0.97", "0.99", "1.02", "1.01", "1.03", "1.02", "1.00", "1.01"
    ),
    CostCategory.COMMUNITY: _profile(
        "0.99", "1.00", "0.99", "1.00", "0.98", "0.99", "1.00", "1.00", "1.00", "1.01", "0.99", "1.05"
    ),
}
YEAR_END_SHAPE = _profile(*["0.995"] * 11, "1.055")  # every other category's spend: level, then March
NOISE = 0.012  # the standard deviation of each month's spend about its shape


def category_weighted_population(population: PopulationTotals, category: CostCategory) -> Decimal:
    """The allocation component that drives a category's need."""
    component = {
        CostCategory.ACUTE: population.general_acute,
        CostCategory.MENTAL_HEALTH: population.mental_health,
        CostCategory.COMMUNITY: population.community,
        CostCategory.PRESCRIBING: population.prescribing,
        CostCategory.PRIMARY_CARE_DELEGATED: population.primary_medical_care,
    }
    return component.get(category, population.final)


@dataclass(frozen=True)
class SyntheticEconomy:
    plans: tuple[FinancialPlan, ...]
    ledger: tuple[LedgerLine, ...]
    risks: tuple[RiskItem, ...]


def _budget_lines(org_code: str, population: PopulationTotals, contracts: Sequence[ContractSpend]) -> list[BudgetLine]:
    """Each category's budget (£ per weighted head) split into its lines; acute around the commissioner's contracts."""
    lines: list[BudgetLine] = []
    for category, rate in POUNDS_PER_WEIGHTED_HEAD.items():
        category_budget = scale(pounds(rate), category_weighted_population(population, category))
        if category is CostCategory.ACUTE:
            shape = SPEND_SHAPE[category]
            lines.extend(acute_lines(org_code, category_budget, contracts, shape, PRESSURE[category]))
            continue
        for subcategory, share in LINES[category]:
            annual = scale(category_budget, Decimal(share))
            budget = phased(annual, SPEND_SHAPE.get(category, FLAT))
            shape = SPEND_SHAPE.get(category, YEAR_END_SHAPE)
            lines.append(BudgetLine(category, subcategory, budget, shape, PRESSURE[category]))
    return lines


def _earlier_budget(budget: tuple[Pence, ...], category: CostCategory, years_back: int) -> tuple[Pence, ...]:
    """A line's budget ``years_back`` years before, taking off its category's growth once a year, phased as now."""
    factor = 1 / GROWTH[category] ** years_back
    months = [scale(amount, factor) for amount in budget[:-1]]
    return (*months, scale(sum(budget), factor) - sum(months))


def _spend(line: BudgetLine, annual: Pence, years_back: int, pressure_scale: Decimal) -> tuple[Pence, ...] | None:
    """The year's underlying spend by month: the budget under pressure in the line's spend shape, or None where the
    line follows the priced activity of the month."""
    if years_back in line.accruals:
        return None
    pressure = 1 + (line.pressure - 1) * pressure_scale
    return phased(scale(annual, pressure), line.spend_shape)


def _actual(
    line: BudgetLine, spend: tuple[Pence, ...] | None, years_back: int, month: int, rng: random.Random
) -> Pence:
    """A reported month's spend with its noise: about the priced activity (the accrual) or about the spend shape."""
    if spend is None:
        noise = Decimal(str(round(rng.gauss(1.0, ACCRUAL_NOISE), 4)))
        return scale(line.accruals[years_back][month - 1], noise)
    noise = Decimal(str(round(rng.gauss(1.0, NOISE), 4)))
    return scale(spend[month - 1], noise)


def _ledger_for(
    org_code: str,
    year: FinancialYear,
    lines: Sequence[BudgetLine],
    reported_to: int,
    years_back: int,
    pressure_scale: Decimal,
    rng: random.Random,
) -> Iterator[LedgerLine]:
    """Budgets phased as each line's (a few per cent lower each year back); spend is the year's budget under its
    pressure in the line's spend shape with noise, or the month's priced activity with the accrual difference, to
    ``reported_to``."""
    for line in lines:
        budget = line.budget if years_back == 0 else _earlier_budget(line.budget, line.category, years_back)
        spend = _spend(line, sum(budget), years_back, pressure_scale)
        for month, month_budget in enumerate(budget, start=1):
            actual = _actual(line, spend, years_back, month, rng) if month <= reported_to else None
            yield LedgerLine(org_code, year, month, line.category, line.subcategory, month_budget, actual)


def synthetic_economy(
    populations: dict[str, PopulationTotals],
    year: FinancialYear,
    as_at_month: int,
    seed: int,
    contracts: Sequence[ContractSpend] = (),
) -> SyntheticEconomy:
    """Plans, the two years before this one in full, this year's ledger (to ``as_at_month``) and risks for each
    commissioner; its acute ledger carries ``contracts`` (demo/acute_ledger.py)."""
    rng = random.Random(seed)
    plans: list[FinancialPlan] = []
    ledger: list[LedgerLine] = []
    risks: list[RiskItem] = []
    for org_code, population in sorted(populations.items()):
        lines = _budget_lines(org_code, population, contracts)
        spend_budget = sum(sum(line.budget) for line in lines)
        plans.append(
            FinancialPlan(
                org_code,
                year,
                recurrent_allocation_pence=scale(spend_budget, Decimal("0.985")),
                non_recurrent_allocation_pence=spend_budget - scale(spend_budget, Decimal("0.985")),
                control_total_pence=0,
            )
        )
        earlier = year
        for years_back, pressure_scale in enumerate(PRIOR_PRESSURE, start=1):
            earlier = earlier.previous()
            ledger.extend(_ledger_for(org_code, earlier, lines, MONTHS_IN_YEAR, years_back, pressure_scale, rng))
        this_year = list(_ledger_for(org_code, year, lines, as_at_month, 0, Decimal(1), rng))
        ledger.extend(_with_one_off(this_year, as_at_month))
        risks.extend(_risks_for(org_code, year, spend_budget))
    return SyntheticEconomy(tuple(plans), tuple(ledger), tuple(risks))


def _with_one_off(lines: list[LedgerLine], as_at_month: int) -> Iterator[LedgerLine]:
    """A backdated CHC claim settled in M05 (or the last reported month): a known one-off, not extrapolated."""
    month = min(5, as_at_month)
    for line in lines:
        if line.subcategory == "Adult CHC" and line.month == month and line.actual_pence is not None:
            one_off = scale(line.budget_pence, Decimal("0.6"))
            yield LedgerLine(
                line.org_code,
                line.year,
                line.month,
                line.category,
                line.subcategory,
                line.budget_pence,
                line.actual_pence + one_off,
                one_off,
                "Backdated CHC claims settled (SYNTHETIC one-off)",
            )
        else:
            yield line


def _risks_for(org_code: str, year: FinancialYear, spend_budget: Pence) -> list[RiskItem]:
    def share(text: str) -> Pence:
        return scale(spend_budget, Decimal(text))

    return [
        RiskItem(
            org_code,
            year,
            RiskKind.RISK,
            "Winter non-elective over-performance at main acute provider",
            share("0.0040"),
            Decimal("0.6"),
            CostCategory.ACUTE,
        ),
        RiskItem(
            org_code,
            year,
            RiskKind.RISK,
            "CHC fee uplifts above plan",
            share("0.0015"),
            Decimal("0.5"),
            CostCategory.CONTINUING_HEALTHCARE,
        ),
        RiskItem(
            org_code,
            year,
            RiskKind.RISK,
            "NCSO price concessions on generic drugs",
            share("0.0010"),
            Decimal("0.4"),
            CostCategory.PRESCRIBING,
        ),
        RiskItem(
            org_code,
            year,
            RiskKind.MITIGATION,
            "Slippage on mental health investment",
            share("0.0012"),
            Decimal("0.7"),
            CostCategory.MENTAL_HEALTH,
        ),
        RiskItem(
            org_code,
            year,
            RiskKind.MITIGATION,
            "Release of remaining contingency",
            share("0.0020"),
            Decimal("0.8"),
            CostCategory.RESERVES_CONTINGENCY,
        ),
    ]
