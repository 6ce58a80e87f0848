"""The demo's acute ledger lines, made consistent with its SYNTHETIC contracts, and the contract-to-ledger map.

A commissioner's ledger carries each acute contract on a line named for the provider (its code as a whole word):

- ``RTH Oxford University Hospitals: contract``: the ledger carries the contract's VALUE, what will be paid: the
  budget is the contract's plan after its payment rules (CQUIN at full achievement, a fixed payment in twelfths,
  ...), month by month as the plan is phased, to the penny; the actual is the month's priced activity after the
  rules (readmissions not paid, the marginal rate, CQUIN at the month's achievement: the accrual a finance team
  books from the provider's monthly activity) with a small accrual difference (``ACCRUAL_NOISE``: the month is
  accrued on the provider's flex, before the SUS freeze settles it), so the ledger's year to date stays within a
  fraction of a per cent of the statement's. ``ContractSpend`` holds these values (services/demo.py applies the
  rules with the statement's own ``domain.contracts.rule_adjustments``);
- ``RTH drugs and devices outside tariff``: for each main provider (the one a commissioner sends most of its activity
  to), high-cost drugs and devices paid on top of the tariff. Hospitals' medicines cost an estimated £9.2bn in
  2017/18, more than doubled since 2010/11 and growing about 11% a year (NHS Digital's prescribing costs in
  hospitals, reported in HFMA "NHS in numbers: drugs spending", 2019), much of it high-cost drugs excluded from the
  tariff (NHS England, "High cost drugs": paid at local prices on top of the national price); against the acute
  trusts' tariff income that is of the order of 10-15%: ``DRUGS_SHARE`` of the contract's plan, growing faster
  than plan (``DRUGS_PRESSURE``).

The rest of the acute budget (the category's £ per weighted head, as before) stays on lines named for no provider:
independent sector and non-contracted activity at their shares of the acute budget, and "Other NHS acute" (NHS
trusts and services outside the tariff contracts) taking what is left, so the acute category total (about half of
the allocation) does not depend on the synthetic activity's scale.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from outturn.domain.ledger import CostCategory
from outturn.domain.money import Pence, scale
from outturn.domain.periods import MONTHS_IN_YEAR

CONTRACT_ELEMENT = "contract"
DRUGS_ELEMENT = "drugs and devices outside tariff"
DRUGS_SHARE = Decimal("0.12")
DRUGS_PRESSURE = Decimal("1.04")  # hospital high-cost drugs grow faster than the activity plan
ACCRUAL_NOISE = 0.004  # the standard deviation of a month's accrual about its priced activity
OTHER_ACUTE_SHARES: tuple[tuple[str, Decimal], ...] = (
    ("Independent sector", Decimal("0.09")),
    ("Non-contracted activity", Decimal("0.06")),
)
OTHER_NHS_ACUTE = "Other NHS acute"  # the rest of the acute budget
_TRUST_SUFFIXES = (" NHS FOUNDATION TRUST", " NHS TRUST", " FOUNDATION TRUST")


def phased(annual: Pence, profile: Sequence[Decimal]) -> tuple[Pence, ...]:
    """An annual amount phased by month in ``profile`` (twelve weights averaging one); M12 takes the rounding."""
    months = [scale(annual, weight / MONTHS_IN_YEAR) for weight in profile[:-1]]
    return (*months, annual - sum(months))


@dataclass(frozen=True)
class BudgetLine:
    """One ledger line of a commissioner as generated: this year's budget by month, how its spend runs, and where
    the spend is the priced activity of the month instead (by years back: 0 this year, 1 last year)."""

    category: CostCategory
    subcategory: str
    budget: tuple[Pence, ...]
    spend_shape: tuple[Decimal, ...]
    pressure: Decimal
    accruals: Mapping[int, tuple[Pence, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ContractSpend:
    """A contract as the ledger sees it: its plan and its priced activity by month (index 0 is M01), in pence, after
    the contract's payment rules (its value)."""

    provider: str
    provider_name: str
    commissioner: str
    plan_pence: tuple[Pence, ...]
    priced_pence: tuple[Pence, ...]
    last_year_pence: tuple[Pence, ...] | None = None

    @property
    def contract_line(self) -> str:
        return f"{' '.join(filter(None, (self.provider, self.provider_name)))}: {CONTRACT_ELEMENT}"

    @property
    def drugs_line(self) -> str:
        return f"{self.provider} {DRUGS_ELEMENT}"


@dataclass(frozen=True)
class ContractMapRow:
    """A row of the contract-to-ledger map: the ledger line carrying a contract's value or one of its non-contract
    elements."""

    provider: str
    commissioner: str
    category: CostCategory
    line: str
    element: str


def short_trust_name(name: str) -> str:
    """``OXFORD UNIVERSITY HOSPITALS NHS FOUNDATION TRUST`` -> ``Oxford University Hospitals``."""
    upper = name.strip().upper()
    for suffix in _TRUST_SUFFIXES:
        if upper.endswith(suffix):
            upper = upper[: -len(suffix)]
            break
    return " ".join(word.capitalize() if word.isalpha() else word for word in upper.split())


def main_providers(contracts: Sequence[ContractSpend]) -> frozenset[str]:
    """Each commissioner's largest contract's provider (ties to the first code)."""
    largest: dict[str, ContractSpend] = {}
    for contract in sorted(contracts, key=lambda found: (found.commissioner, found.provider)):
        held = largest.get(contract.commissioner)
        if held is None or sum(contract.plan_pence) > sum(held.plan_pence):
            largest[contract.commissioner] = contract
    return frozenset(contract.provider for contract in largest.values())


def contract_map(contracts: Sequence[ContractSpend]) -> list[ContractMapRow]:
    """The lines each contract's value and its drugs and devices are booked to."""
    main = main_providers(contracts)
    rows: list[ContractMapRow] = []
    for contract in sorted(contracts, key=lambda found: (found.provider, found.commissioner)):
        key = (contract.provider, contract.commissioner, CostCategory.ACUTE)
        rows.append(ContractMapRow(*key, contract.contract_line, CONTRACT_ELEMENT))
        if contract.provider in main:
            rows.append(ContractMapRow(*key, contract.drugs_line, DRUGS_ELEMENT))
    return rows


def acute_lines(
    commissioner: str,
    acute_budget: Pence,
    contracts: Sequence[ContractSpend],
    shape: tuple[Decimal, ...],
    pressure: Decimal,
) -> Iterator[BudgetLine]:
    """A commissioner's acute lines: its contracts (and main providers' drugs and devices), then the rest of
    ``acute_budget`` on lines named for no provider. The other lines run in the acute ``shape`` under ``pressure``."""
    main = main_providers(contracts)
    carved: Pence = 0
    for contract in sorted(contracts, key=lambda found: found.provider):
        if contract.commissioner != commissioner:
            continue
        accruals = {0: contract.priced_pence}
        if contract.last_year_pence is not None:
            accruals[1] = contract.last_year_pence
        yield BudgetLine(CostCategory.ACUTE, contract.contract_line, contract.plan_pence, shape, pressure, accruals)
        carved += sum(contract.plan_pence)
        if contract.provider in main:
            drugs = scale(sum(contract.plan_pence), DRUGS_SHARE)
            yield BudgetLine(CostCategory.ACUTE, contract.drugs_line, phased(drugs, shape), shape, DRUGS_PRESSURE)
            carved += drugs
    for name, share in OTHER_ACUTE_SHARES:
        annual = scale(acute_budget, share)
        yield BudgetLine(CostCategory.ACUTE, name, phased(annual, shape), shape, pressure)
        carved += annual
    yield BudgetLine(CostCategory.ACUTE, OTHER_NHS_ACUTE, phased(max(0, acute_budget - carved), shape), shape, pressure)
