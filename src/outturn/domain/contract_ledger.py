"""Which ledger lines account for each provider contract, and how a contract reconciles to them.

A contract (provider x commissioner) is accounted for on ledger lines of the commissioner's own ledger: one line
carries the contract's value (element ``contract``); others may carry spend with the same provider that the
contract does not price (drugs and devices outside tariff, non-PbR items), each under a short label. Where no
mapping is stored for a contract, the commissioner's lines whose name holds the provider's code as a whole word
are taken as its ``contract`` line; where several do, the contract is left unmapped and the reconciliation says so.

The reconciliation sets three pairs side by side, each as ledger less contract (positive: the ledger holds more
than the contract states): the ledger budget against the contract's annual plan, the ledger's actual to date (the
accrual) against the priced activity to date, and the ledger's forecast against the contract's forecast outturn.
A difference is flagged when it is material on both counts: its size is above the threshold in pounds AND above
the threshold percentage of the contract's figure. Non-contract spend and the contract's own non-tariff elements
are shown as rows of their own, never netted into a difference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from outturn.domain.errors import BadInput
from outturn.domain.ledger import CategoryLineKey, CostCategory
from outturn.domain.money import Pence

CONTRACT_ELEMENT = "contract"
DEFAULT_THRESHOLD_POUNDS = 250_000
DEFAULT_THRESHOLD_PERCENT = Fraction(2)

ContractKey = tuple[str, str]  # provider, commissioner


class ContractMapError(BadInput):
    """A mapping of contracts to ledger lines that cannot be used: a line set to the contract method with no
    contract, a mapping file that names what is not held."""


@dataclass(frozen=True)
class LedgerLink:
    """One ledger line of the commissioner's that accounts for (part of) a contract's spend."""

    provider: str
    commissioner: str
    category: CostCategory
    line: str  # the ledger line's subcategory, as the ledger spells it
    element: str = CONTRACT_ELEMENT  # ``contract``, or a label for non-contract spend on the line
    default: bool = False  # found by the provider's code in the line's name, not stored

    @property
    def contract_key(self) -> ContractKey:
        return self.provider, self.commissioner

    @property
    def line_key(self) -> CategoryLineKey:
        return self.commissioner, self.category, self.line

    @property
    def carries_contract(self) -> bool:
        return self.element == CONTRACT_ELEMENT


def element_of(text: str) -> str:
    """The element a mapping row names: ``contract`` for an empty cell or any spelling of it, else the label
    with its spaces tidied."""
    label = " ".join(text.split())
    return CONTRACT_ELEMENT if label.casefold() in ("", CONTRACT_ELEMENT) else label


def names_code(line: str, code: str) -> bool:
    """Whether the line's name holds ``code`` as a whole word (``RTH Oxford: contract`` names RTH; ``RTHX`` not)."""
    return re.search(rf"(?<![0-9A-Za-z]){re.escape(code)}(?![0-9A-Za-z])", line, flags=re.IGNORECASE) is not None


@dataclass(frozen=True)
class ContractLinks:
    """A contract's ledger lines as resolved: stored ones, else the default; ``note`` says why none was taken."""

    provider: str
    commissioner: str
    links: tuple[LedgerLink, ...]
    note: str = ""

    @property
    def contract_lines(self) -> tuple[LedgerLink, ...]:
        return tuple(link for link in self.links if link.carries_contract)

    @property
    def other_lines(self) -> tuple[LedgerLink, ...]:
        return tuple(link for link in self.links if not link.carries_contract)


def resolve_links(
    contracts: Iterable[ContractKey],
    stored: Sequence[LedgerLink],
    ledger_lines: Iterable[CategoryLineKey],
) -> list[ContractLinks]:
    """Each contract's ledger lines: those stored for it; else the commissioner's lines (not mapped to another
    contract) whose name holds the provider's code, when exactly one does."""
    by_contract: dict[ContractKey, list[LedgerLink]] = {}
    for link in stored:
        by_contract.setdefault(link.contract_key, []).append(link)
    taken = {link.line_key for link in stored}
    lines = sorted(set(ledger_lines), key=lambda key: (key[0], key[1].value, key[2]))
    found = []
    for provider, commissioner in contracts:
        mine = by_contract.get((provider, commissioner))
        if mine:
            found.append(ContractLinks(provider, commissioner, tuple(mine)))
            continue
        named = [key for key in lines if key[0] == commissioner and key not in taken and names_code(key[2], provider)]
        found.append(_default(provider, commissioner, named))
    return found


def _default(provider: str, commissioner: str, named: Sequence[CategoryLineKey]) -> ContractLinks:
    if len(named) == 1:
        _org, category, line = named[0]
        link = LedgerLink(provider, commissioner, category, line, CONTRACT_ELEMENT, default=True)
        return ContractLinks(provider, commissioner, (link,))
    if not named:
        note = f"no ledger line of {commissioner}'s names {provider} and none is mapped"
    else:
        listed = "; ".join(f"{category.value} / {line}" for _org, category, line in named)
        note = f"{len(named)} ledger lines of {commissioner}'s name {provider} ({listed}) and none is mapped"
    return ContractLinks(provider, commissioner, (), f"{note}: map the contract to its ledger lines")


def contract_line_owners(resolved: Iterable[ContractLinks]) -> Mapping[CategoryLineKey, ContractKey]:
    """The contract whose value each ``contract`` line carries."""
    return {link.line_key: link.contract_key for found in resolved for link in found.contract_lines}


@dataclass(frozen=True)
class Figures:
    """The three figures a reconciliation compares: the year's plan or budget, the actual to date, the forecast."""

    annual_pence: Pence
    ytd_pence: Pence
    forecast_pence: Pence

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.annual_pence + other.annual_pence,
            self.ytd_pence + other.ytd_pence,
            self.forecast_pence + other.forecast_pence,
        )

    def __sub__(self, other: Figures) -> Figures:
        return Figures(
            self.annual_pence - other.annual_pence,
            self.ytd_pence - other.ytd_pence,
            self.forecast_pence - other.forecast_pence,
        )


NO_FIGURES = Figures(0, 0, 0)


def total(items: Iterable[Figures]) -> Figures:
    return sum(items, NO_FIGURES)


@dataclass(frozen=True)
class Threshold:
    """When a difference is material: above ``pounds`` in size AND above ``percent`` of the contract's figure."""

    pounds: int = DEFAULT_THRESHOLD_POUNDS
    percent: Fraction = DEFAULT_THRESHOLD_PERCENT

    def __post_init__(self) -> None:
        if self.pounds < 0 or self.percent < 0:
            raise BadInput(f"a threshold cannot be negative: £{self.pounds:,} and {self.percent}%")

    def flags(self, difference_pence: Pence, contract_pence: Pence) -> bool:
        if abs(difference_pence) <= self.pounds * 100:
            return False
        if contract_pence == 0:
            return True
        return Fraction(100 * abs(difference_pence), abs(contract_pence)) > self.percent

    def describe(self, of: str) -> str:
        """The rule in words: "above £250,000 and above 2% of ``of`` (both)"."""
        return f"above £{self.pounds:,} and above {float(self.percent):g}% of {of} (both)"


@dataclass(frozen=True)
class Difference:
    """Ledger less contract for each figure, and whether each is flagged."""

    figures: Figures
    annual_flagged: bool
    ytd_flagged: bool
    forecast_flagged: bool

    @property
    def flagged(self) -> bool:
        return self.annual_flagged or self.ytd_flagged or self.forecast_flagged


def difference(ledger: Figures, contract: Figures, threshold: Threshold) -> Difference:
    gap = ledger - contract
    return Difference(
        gap,
        threshold.flags(gap.annual_pence, contract.annual_pence),
        threshold.flags(gap.ytd_pence, contract.ytd_pence),
        threshold.flags(gap.forecast_pence, contract.forecast_pence),
    )
