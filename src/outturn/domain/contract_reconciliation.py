"""The reconciliation of provider contracts to the ledger, contract by contract and in total (the rule and its
threshold: ``outturn.domain.contract_ledger``).

Each contract shows its statement's totals split into the priced activity and the statement's own non-tariff
elements (blocks, and whatever else the statement adds on top of the tariff), the ledger line that carries the
contract's value, the difference between the two, and any non-contract spend with the provider on other lines. A
contract with no ledger line mapped has no difference: it is listed with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from outturn.domain.contract_ledger import Difference, Figures, Threshold, difference, total
from outturn.domain.ledger import CostCategory
from outturn.domain.periods import FinancialMonth

PRICED_ACTIVITY = "priced activity"


@dataclass(frozen=True)
class ElementRow:
    """One of the contract's own elements as its statement states it: the priced activity, a block…"""

    label: str
    figures: Figures


@dataclass(frozen=True)
class LedgerRow:
    """A ledger line mapped to the contract: its budget, actual to date and forecast (by the position's method)."""

    category: CostCategory
    line: str
    element: str
    figures: Figures
    method: str
    default: bool = False  # taken by the provider's code in its name, not from a stored mapping


@dataclass(frozen=True)
class ContractReconciliation:
    provider: str
    commissioner: str
    contract: Figures  # the statement's totals: annual plan, priced activity to date, forecast outturn
    non_tariff: tuple[ElementRow, ...]  # the statement's elements other than the priced activity
    contract_lines: tuple[LedgerRow, ...]  # the line(s) carrying the contract's value
    other_lines: tuple[LedgerRow, ...]  # non-contract spend with the provider
    threshold: Threshold
    note: str = ""

    @property
    def elements(self) -> tuple[ElementRow, ...]:
        """The priced activity (the totals less the other elements) then the other elements: they sum to the
        contract's totals."""
        priced = self.contract - total(row.figures for row in self.non_tariff)
        return (ElementRow(PRICED_ACTIVITY, priced), *self.non_tariff)

    @property
    def mapped(self) -> bool:
        return bool(self.contract_lines)

    @property
    def ledger(self) -> Figures | None:
        return total(row.figures for row in self.contract_lines) if self.contract_lines else None

    @property
    def non_contract(self) -> Figures:
        return total(row.figures for row in self.other_lines)

    @property
    def difference(self) -> Difference | None:
        ledger = self.ledger
        return None if ledger is None else difference(ledger, self.contract, self.threshold)


@dataclass(frozen=True)
class Reconciliation:
    as_at: FinancialMonth
    threshold: Threshold
    contracts: tuple[ContractReconciliation, ...]

    @property
    def mapped(self) -> tuple[ContractReconciliation, ...]:
        return tuple(item for item in self.contracts if item.mapped)

    @property
    def unmapped(self) -> tuple[ContractReconciliation, ...]:
        return tuple(item for item in self.contracts if not item.mapped)

    @property
    def contract(self) -> Figures:
        """The mapped contracts' totals (those the difference compares)."""
        return total(item.contract for item in self.mapped)

    @property
    def ledger(self) -> Figures:
        return total(item.ledger for item in self.mapped if item.ledger is not None)

    @property
    def difference(self) -> Difference:
        return difference(self.ledger, self.contract, self.threshold)

    @property
    def unmapped_contract(self) -> Figures:
        return total(item.contract for item in self.unmapped)

    @property
    def non_contract(self) -> Figures:
        return total(item.non_contract for item in self.contracts)

    @property
    def flagged(self) -> Sequence[ContractReconciliation]:
        return [item for item in self.mapped if item.difference is not None and item.difference.flagged]
