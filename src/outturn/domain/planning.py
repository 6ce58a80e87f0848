"""The planning bridge: from the recurrent underlying position brought forward to the savings requirement.

A plan is a list of assumptions, one per organisation, year and kind (``Assumption``). For each year the bridge
starts at the underlying position (the first year: this year's forecast exit run rate with its non-recurrent items
removed; later years: the previous year's recurrent position after its recurrent savings), adds allocation growth,
takes off deductions and cost pressures, then the control total (or the required surplus, a share of the
allocation). What is left, with its sign turned, is the savings requirement: in pence, and as a share of the
allocation. Every step is in pence and the steps sum to the end to the penny.

Sign convention: a position is a surplus (positive) or a deficit (negative); each step's ``pence`` is its effect
on the position (growth and efficiency positive, deductions and pressures negative). Assumption amounts are
entered as positive amounts and the kind gives the sign (an underlying position and a control total keep their
own sign: a deficit is negative).

A step (growth, a deduction or a pressure) may instead be a share of a base (``share``, e.g. tariff inflation at
2.5%): of the year's allocation unless a base amount is stated (``base_pence``; allocation growth: of the
allocation brought forward, so in a plan's first year it needs a stated base). Its pence are the share of the
base rounded to the penny by ``money.scale``, and the step keeps its share and base so that both are shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from outturn.domain.errors import BadInput
from outturn.domain.money import Pence, scale
from outturn.domain.periods import FinancialYear

MAX_YEARS = 5


class AssumptionKind(StrEnum):
    EXIT_POSITION = "exit_position"  # this year's forecast exit run rate: surplus + / deficit -
    NON_RECURRENT_ITEMS = "non_recurrent_items"  # the net benefit of one-off items in it, removed
    ALLOCATION = "allocation"
    ALLOCATION_GROWTH = "allocation_growth"
    DEFICIT_REPAID = "deficit_repaid"
    TOP_SLICE = "top_slice"
    TARIFF_INFLATION = "tariff_inflation"
    TARIFF_EFFICIENCY = "tariff_efficiency"
    DEMOGRAPHIC_GROWTH = "demographic_growth"
    NON_DEMOGRAPHIC_GROWTH = "non_demographic_growth"
    NEW_COMMITMENT = "new_commitment"
    INVESTMENT = "investment"
    REQUIRED_SURPLUS = "required_surplus"  # a share of the allocation (``share``)
    CONTROL_TOTAL = "control_total"  # agreed with the regulator: surplus + / deficit -; replaces the above
    NON_RECURRENT_SAVINGS = "non_recurrent_savings"  # the part of the year's savings that is one-off


LABELS: dict[AssumptionKind, str] = {
    AssumptionKind.EXIT_POSITION: "Forecast exit run rate",
    AssumptionKind.NON_RECURRENT_ITEMS: "Non-recurrent items removed",
    AssumptionKind.ALLOCATION: "Allocation",
    AssumptionKind.ALLOCATION_GROWTH: "Allocation growth",
    AssumptionKind.DEFICIT_REPAID: "Brought-forward deficit repaid",
    AssumptionKind.TOP_SLICE: "Top-slice",
    AssumptionKind.TARIFF_INFLATION: "Tariff inflation",
    AssumptionKind.TARIFF_EFFICIENCY: "Tariff efficiency",
    AssumptionKind.DEMOGRAPHIC_GROWTH: "Demographic growth",
    AssumptionKind.NON_DEMOGRAPHIC_GROWTH: "Non-demographic growth",
    AssumptionKind.NEW_COMMITMENT: "New commitment",
    AssumptionKind.INVESTMENT: "Investment",
    AssumptionKind.REQUIRED_SURPLUS: "Required surplus",
    AssumptionKind.CONTROL_TOTAL: "Control total",
    AssumptionKind.NON_RECURRENT_SAVINGS: "Non-recurrent savings",
}
UNDERLYING_LABEL = "Underlying position brought forward"

# The steps between the underlying position and the control total, in bridge order, with their sign.
_STEP_SIGNS: dict[AssumptionKind, int] = {
    AssumptionKind.ALLOCATION_GROWTH: 1,
    AssumptionKind.DEFICIT_REPAID: -1,
    AssumptionKind.TOP_SLICE: -1,
    AssumptionKind.TARIFF_INFLATION: -1,
    AssumptionKind.TARIFF_EFFICIENCY: 1,
    AssumptionKind.DEMOGRAPHIC_GROWTH: -1,
    AssumptionKind.NON_DEMOGRAPHIC_GROWTH: -1,
    AssumptionKind.NEW_COMMITMENT: -1,
    AssumptionKind.INVESTMENT: -1,
}
_ORDER: tuple[str, ...] = (
    AssumptionKind.EXIT_POSITION,
    AssumptionKind.NON_RECURRENT_ITEMS,
    "underlying_position",
    *_STEP_SIGNS,
    AssumptionKind.REQUIRED_SURPLUS,
    AssumptionKind.CONTROL_TOTAL,
)
_FIRST_YEAR_ONLY = (AssumptionKind.EXIT_POSITION, AssumptionKind.NON_RECURRENT_ITEMS)
_SIGNED = (AssumptionKind.EXIT_POSITION, AssumptionKind.NON_RECURRENT_ITEMS, AssumptionKind.CONTROL_TOTAL)
_ONE_PER_YEAR = (
    AssumptionKind.EXIT_POSITION,
    AssumptionKind.NON_RECURRENT_ITEMS,
    AssumptionKind.ALLOCATION,
    AssumptionKind.REQUIRED_SURPLUS,
    AssumptionKind.CONTROL_TOTAL,
    AssumptionKind.NON_RECURRENT_SAVINGS,
)


@dataclass(frozen=True)
class Assumption:
    """One planning assumption for one organisation and year.

    ``pence`` is the amount (positive, except a position or control total, which keep their sign); a required
    surplus gives ``share`` instead. ``recurrent`` is whether the step carries into the next year's underlying
    position (a deficit repaid is one-off unless said otherwise).
    """

    org_code: str
    year: FinancialYear
    kind: AssumptionKind
    pence: Pence = 0
    description: str = ""
    recurrent: bool | None = None
    share: Decimal | None = None
    base_pence: Pence | None = None  # the base a share is of; None: the allocation

    def __post_init__(self) -> None:
        if self.kind is AssumptionKind.REQUIRED_SURPLUS:
            if self.share is None or not Decimal(0) <= self.share < Decimal(1):
                raise BadInput("a required surplus is a share of the allocation between 0% and 100%")
        elif self.kind not in _SIGNED and self.pence < 0:
            raise BadInput(f"{LABELS[self.kind].lower()} is entered as a positive amount")
        if self.kind is not AssumptionKind.REQUIRED_SURPLUS and self.share is not None:
            self._check_share()

    def _check_share(self) -> None:
        if self.kind not in _STEP_SIGNS:
            raise BadInput(f"{LABELS[self.kind].lower()} is entered in pounds, not as a share")
        if self.share is None or not Decimal(0) <= self.share <= Decimal(1):
            raise BadInput(f"{LABELS[self.kind].lower()} as a share is between 0% and 100%")
        if self.base_pence is not None and self.base_pence <= 0:
            raise BadInput(f"the base of {LABELS[self.kind].lower()} is a positive amount")

    @property
    def is_recurrent(self) -> bool:
        if self.recurrent is not None:
            return self.recurrent
        return self.kind is not AssumptionKind.DEFICIT_REPAID

    @property
    def label(self) -> str:
        return self.description or LABELS[self.kind]


@dataclass(frozen=True)
class BridgeStep:
    """One step of the bridge: its effect on the position (pence) and the position after it; for a step given as
    a share, the share and the base it is of (``base`` is ``allocation`` or ``stated``)."""

    label: str
    kind: str
    pence: Pence
    running_pence: Pence
    recurrent: bool
    share: Decimal | None = None
    base_pence: Pence | None = None
    base: str | None = None


ALLOCATION_BASE = "allocation"
STATED_BASE = "stated"


@dataclass(frozen=True)
class YearBridge:
    org_code: str
    year: FinancialYear
    allocation_pence: Pence
    start_pence: Pence  # the position the bridge starts from (the first step's running position)
    steps: tuple[BridgeStep, ...]
    savings_requirement_pence: Pence
    recurrent_savings_pence: Pence
    non_recurrent_savings_pence: Pence
    carried_forward_pence: Pence  # next year's underlying position

    @property
    def requirement_share(self) -> Decimal | None:
        """The requirement as a share of the allocation (0.08 for 8%), to 4 decimal places."""
        if not self.allocation_pence:
            return None
        return (Decimal(self.savings_requirement_pence) / Decimal(self.allocation_pence)).quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class PlanBridge:
    """The bridge of one organisation (or the total of several) for each year of the plan."""

    org_code: str
    years: tuple[YearBridge, ...]

    @property
    def total_requirement_pence(self) -> Pence:
        return sum(year.savings_requirement_pence for year in self.years)


def _one(items: Sequence[Assumption], kind: AssumptionKind, org: str, year: FinancialYear) -> Assumption | None:
    found = [item for item in items if item.kind is kind]
    if len(found) > 1:
        raise BadInput(f"{org} {year}: {LABELS[kind].lower()} is given {len(found)} times; give it once")
    return found[0] if found else None


@dataclass(frozen=True)
class _Basis:
    share: Decimal | None = None
    base_pence: Pence | None = None
    base: str | None = None


class _Running:
    def __init__(self) -> None:
        self.position = 0
        self.steps: list[BridgeStep] = []

    def add(self, label: str, kind: str, pence: Pence, recurrent: bool, basis: _Basis = _Basis()) -> None:
        self.position += pence
        self.steps.append(
            BridgeStep(label, kind, pence, self.position, recurrent, basis.share, basis.base_pence, basis.base)
        )


def _amount(item: Assumption, base_pence: Pence | None, org: str) -> tuple[Pence, _Basis]:
    """An assumption's pence: its amount, or its share of its stated base or of ``base_pence`` (the allocation:
    for allocation growth the one brought forward, None in a plan's first year)."""
    if item.share is None:
        return item.pence, _Basis()
    if item.base_pence is not None:
        return scale(item.base_pence, item.share), _Basis(item.share, item.base_pence, STATED_BASE)
    if base_pence is None:
        raise BadInput(
            f"{org} {item.year}: allocation growth as a share in the first year of a plan needs a stated base "
            "(this year's allocation), or give it in pounds"
        )
    return scale(base_pence, item.share), _Basis(item.share, base_pence, ALLOCATION_BASE)


def bridge_year(
    org_code: str,
    year: FinancialYear,
    items: Sequence[Assumption],
    *,
    underlying_pence: Pence | None,
    allocation_pence: Pence | None,
) -> YearBridge:
    """The bridge for one year. ``underlying_pence`` / ``allocation_pence`` are carried from the previous year
    (None in the first year, when they come from the assumptions)."""
    running = _Running()
    if underlying_pence is None:
        exit_position = _one(items, AssumptionKind.EXIT_POSITION, org_code, year)
        if exit_position is None:
            raise BadInput(f"{org_code} {year}: the first year needs the forecast exit position (exit_position)")
        running.add(exit_position.label, AssumptionKind.EXIT_POSITION, exit_position.pence, True)
        one_off = _one(items, AssumptionKind.NON_RECURRENT_ITEMS, org_code, year)
        if one_off is not None:
            running.add(one_off.label, AssumptionKind.NON_RECURRENT_ITEMS, -one_off.pence, True)
    else:
        if any(item.kind in _FIRST_YEAR_ONLY for item in items):
            raise BadInput(f"{org_code} {year}: the exit position is given for the first year of a plan only")
        running.add(UNDERLYING_LABEL, "underlying_position", underlying_pence, True)
    start = running.steps[0].pence
    growth = [
        (item, *_amount(item, allocation_pence, org_code))
        for item in items
        if item.kind is AssumptionKind.ALLOCATION_GROWTH
    ]
    allocation = _one(items, AssumptionKind.ALLOCATION, org_code, year)
    if allocation is not None:
        allocation_pence = allocation.pence
    elif allocation_pence is None:
        raise BadInput(f"{org_code} {year}: the first year needs the allocation")
    else:
        allocation_pence += sum(pence for _item, pence, _basis in growth)
    for item, pence, basis in growth:
        running.add(item.label, item.kind, pence, item.is_recurrent, basis)
    for kind, sign in _STEP_SIGNS.items():
        for item in items:
            if item.kind is kind and kind is not AssumptionKind.ALLOCATION_GROWTH:
                pence, basis = _amount(item, allocation_pence, org_code)
                running.add(item.label, kind, sign * pence, item.is_recurrent, basis)
    running.add(*_control_total(items, org_code, year, allocation_pence))
    requirement = -running.position
    return _with_savings(org_code, year, items, allocation_pence, start, running.steps, requirement)


def _control_total(
    items: Sequence[Assumption], org: str, year: FinancialYear, allocation_pence: Pence
) -> tuple[str, str, Pence, bool, _Basis]:
    control = _one(items, AssumptionKind.CONTROL_TOTAL, org, year)
    if control is not None:
        return control.label, AssumptionKind.CONTROL_TOTAL, -control.pence, False, _Basis()
    surplus = _one(items, AssumptionKind.REQUIRED_SURPLUS, org, year)
    share = surplus.share if surplus is not None and surplus.share is not None else Decimal(0)
    label = f"Required surplus ({share * 100:g}% of allocation)"
    basis = _Basis(share, allocation_pence, ALLOCATION_BASE)
    return label, AssumptionKind.REQUIRED_SURPLUS, -scale(allocation_pence, share), False, basis


def _with_savings(
    org_code: str,
    year: FinancialYear,
    items: Sequence[Assumption],
    allocation_pence: Pence,
    start: Pence,
    steps: list[BridgeStep],
    requirement: Pence,
) -> YearBridge:
    savings = max(requirement, 0)
    one_off = _one(items, AssumptionKind.NON_RECURRENT_SAVINGS, org_code, year)
    non_recurrent = min(one_off.pence if one_off is not None else 0, savings)
    recurrent_position = sum(step.pence for step in steps if step.recurrent)
    return YearBridge(
        org_code=org_code,
        year=year,
        allocation_pence=allocation_pence,
        start_pence=start,
        steps=tuple(steps),
        savings_requirement_pence=requirement,
        recurrent_savings_pence=savings - non_recurrent,
        non_recurrent_savings_pence=non_recurrent,
        carried_forward_pence=recurrent_position + savings - non_recurrent,
    )


def plan_bridge(org_code: str, assumptions: Iterable[Assumption], start: FinancialYear, years: int = 1) -> PlanBridge:
    """The bridge for ``years`` years from ``start``, each year's underlying position carried from the last:
    recurrent steps and recurrent savings carry forward, non-recurrent ones (and the control total) do not."""
    if not 1 <= years <= MAX_YEARS:
        raise BadInput(f"a plan covers 1 to {MAX_YEARS} years, not {years}")
    mine = [item for item in assumptions if item.org_code == org_code]
    underlying: Pence | None = None
    allocation: Pence | None = None
    bridges: list[YearBridge] = []
    for offset in range(years):
        year = FinancialYear(start.start_year + offset)
        bridge = bridge_year(
            org_code,
            year,
            [item for item in mine if item.year == year],
            underlying_pence=underlying,
            allocation_pence=allocation,
        )
        bridges.append(bridge)
        underlying, allocation = bridge.carried_forward_pence, bridge.allocation_pence
    return PlanBridge(org_code, tuple(bridges))


def combined(org_code: str, bridges: Sequence[PlanBridge]) -> PlanBridge:
    """Several organisations' bridges added step by step (by label, in bridge order), year by year."""
    if not bridges:
        raise BadInput("there is no plan to combine")
    count = len(bridges[0].years)
    years = tuple(_combine_year(org_code, [bridge.years[index] for bridge in bridges]) for index in range(count))
    return PlanBridge(org_code, years)


def _combined_basis(steps: Sequence[BridgeStep]) -> _Basis:
    """The share of a combined step: where every part is the same share of its allocation, that share of their
    allocations together (its pence are the parts' sum, which may differ from it by a penny a part)."""
    shares = {step.share for step in steps}
    if len(shares) != 1 or any(step.base != ALLOCATION_BASE for step in steps):
        return _Basis()
    return _Basis(shares.pop(), sum(step.base_pence or 0 for step in steps), ALLOCATION_BASE)


def _combine_year(org_code: str, parts: Sequence[YearBridge]) -> YearBridge:
    grouped: dict[tuple[str, str, bool], list[BridgeStep]] = {}
    for part in parts:
        for step in part.steps:
            grouped.setdefault((step.label, step.kind, step.recurrent), []).append(step)
    running = _Running()
    for (label, kind, recurrent), steps in sorted(grouped.items(), key=lambda item: _ORDER.index(item[0][1])):
        running.add(label, kind, sum(step.pence for step in steps), recurrent, _combined_basis(steps))
    return YearBridge(
        org_code=org_code,
        year=parts[0].year,
        allocation_pence=sum(part.allocation_pence for part in parts),
        start_pence=sum(part.start_pence for part in parts),
        steps=tuple(running.steps),
        savings_requirement_pence=sum(part.savings_requirement_pence for part in parts),
        recurrent_savings_pence=sum(part.recurrent_savings_pence for part in parts),
        non_recurrent_savings_pence=sum(part.non_recurrent_savings_pence for part in parts),
        carried_forward_pence=sum(part.carried_forward_pence for part in parts),
    )
