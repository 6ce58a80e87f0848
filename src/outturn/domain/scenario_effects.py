"""What a recovery scenario does: each lever's effect on the forecast outturn and on each contract, and the
bridge from the baseline to the scenario.

**The baseline** is the position's forecast outturn by cost category, the forecast outturn of each contract in
scope (the contract statement's) and the contracts' activity as *cells*: activity and £ by contract, point of
delivery, treatment function, attendance type, referral source, HRG and practice group, each with its units
forecast for the months after the as-at month, its units over a full year, and its price per unit at the
contract's prices (local price, else national tariff x MFF).

**Levers apply in the file's order**, each to the position left by the ones before it (a follow-up lever after a
referral cut works on the follow-ups that remain; a tariff change after both prices the activity that is left).

**Signs** are changes in the forecast outturn (spend): a saving is negative. The forecast surplus moves by the
same amount the other way. Every lever's effect is a sum of lines, each rounded to the penny once (half away from
zero); the bridge steps are those sums, so baseline + steps = scenario to the penny.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from types import MappingProxyType

from outturn.domain.activity import PointOfDelivery
from outturn.domain.ledger import CostCategory
from outturn.domain.money import Pence
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialMonth
from outturn.domain.position import BridgeStep
from outturn.domain.scenarios import Lever

ContractKey = tuple[str, str]
CONTRACT_CATEGORY = CostCategory.ACUTE  # contract effects land in the acute forecast


@dataclass(frozen=True)
class CellKey:
    """Where a cell of contract activity sits. ``subtype`` is ``first``/``follow_up`` for outpatients and the
    admission method (``elective``/``non_elective``) for excess bed days; ``hrg`` is kept only for HRGs a
    lever names; ``practice_group`` is the group of practices the service formed for the levers' practice lists."""

    provider: str
    commissioner: str
    point_of_delivery: PointOfDelivery
    treatment_function: str = ""
    subtype: str = ""
    referral_source: str = ""
    hrg: str = ""
    practice_group: str = ""

    @property
    def contract(self) -> ContractKey:
        return (self.provider, self.commissioner)


@dataclass(frozen=True)
class ActivityCell:
    key: CellKey
    remaining_units: Fraction  # forecast for the months after the as-at month
    full_year_units: Fraction  # forecast for a whole year
    price_pence: Fraction  # per unit, at the contract's prices
    national_share: Fraction = Fraction(1)  # share of the price paid at the national tariff (x MFF)


# look-alike of CellKey (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class ContractForecast:
    provider: str
    commissioner: str
    forecast_pence: Pence  # the year's forecast outturn (the contract statement's)
    remaining_pence: Pence  # of which falls in the months after the as-at month
    full_year_pence: Pence  # a full year at the forecast rate (the baseline's is the year's forecast)

    @property
    def key(self) -> ContractKey:
        return (self.provider, self.commissioner)


@dataclass(frozen=True)
class Baseline:
    org_code: str
    org_name: str
    as_at: FinancialMonth
    method: str
    resource_pence: Pence
    control_total_pence: Pence
    categories: tuple[tuple[CostCategory, Pence], ...]  # forecast outturn by category
    contracts: tuple[ContractForecast, ...] = ()
    cells: tuple[ActivityCell, ...] = ()

    @property
    def forecast_outturn_pence(self) -> Pence:
        return sum(pence for _category, pence in self.categories)


@dataclass(frozen=True)
class LeverInputs:
    """What the service resolved for a lever: the practice groups its practice list covers (None: all)."""

    practice_groups: frozenset[str] | None = None


@dataclass(frozen=True)
class EffectLine:
    """A lever's change in forecast outturn for one category, contract and point of delivery (negative: a
    saving); activity is the change in units (spells, attendances, bed days)."""

    category: CostCategory
    provider: str = ""
    commissioner: str = ""
    point_of_delivery: str = ""
    in_year_pence: Pence = 0
    full_year_pence: Pence = 0
    in_year_activity: Fraction = Fraction(0)
    full_year_activity: Fraction = Fraction(0)

    @property
    def place(self) -> tuple[str, str, str, str]:
        return (self.category.value, self.provider, self.commissioner, self.point_of_delivery)


@dataclass(frozen=True)
class LeverEffect:
    index: int
    lever_type: str
    label: str
    recurrent: bool
    lines: tuple[EffectLine, ...]
    warnings: tuple[str, ...] = ()

    @property
    def in_year_pence(self) -> Pence:
        return sum(line.in_year_pence for line in self.lines)

    @property
    def full_year_pence(self) -> Pence:
        """The recurrent effect over a whole year; nothing for a non-recurrent measure."""
        return sum(line.full_year_pence for line in self.lines) if self.recurrent else 0


@dataclass(frozen=True)
class Timing:
    """When a lever acts: ``months_active`` of the ``months_remaining`` after the as-at month (from its start
    month to M12), or the whole year when ``full_year``."""

    as_at: FinancialMonth
    first_month: int
    full_year: bool

    @property
    def months_remaining(self) -> int:
        return self.as_at.remaining

    @property
    def months_active(self) -> int:
        return max(MONTHS_IN_YEAR - self.first_month + 1, 0)

    @property
    def share_of_remaining(self) -> Fraction:
        """Share of the remaining months' activity the lever reaches."""
        if self.months_remaining == 0:
            return Fraction(0)
        return Fraction(min(self.months_active, self.months_remaining), self.months_remaining)

    @property
    def share_of_year(self) -> Fraction:
        return Fraction(1) if self.full_year else Fraction(self.months_active, MONTHS_IN_YEAR)


def lever_timing(lever: Lever, as_at: FinancialMonth) -> Timing:
    first = lever.start_month if lever.start_month is not None else as_at.number + 1
    return Timing(as_at, max(first, as_at.number + 1), lever.full_year)


@dataclass(frozen=True)
class ScenarioState:
    """The position left after the levers applied so far."""

    cells: Mapping[CellKey, ActivityCell]
    categories: Mapping[CostCategory, Pence]
    contracts: Mapping[ContractKey, ContractForecast]

    @classmethod
    def of(cls, baseline: Baseline) -> ScenarioState:
        return cls(
            MappingProxyType({cell.key: cell for cell in baseline.cells}),
            MappingProxyType(dict(baseline.categories)),
            MappingProxyType({contract.key: contract for contract in baseline.contracts}),
        )

    def advanced(self, cells: Mapping[CellKey, ActivityCell], lines: Iterable[EffectLine]) -> ScenarioState:
        categories = dict(self.categories)
        contracts = dict(self.contracts)
        for line in lines:
            categories[line.category] = categories.get(line.category, 0) + line.in_year_pence
            key = (line.provider, line.commissioner)
            if key in contracts:
                found = contracts[key]
                contracts[key] = replace(
                    found,
                    forecast_pence=found.forecast_pence + line.in_year_pence,
                    remaining_pence=found.remaining_pence + line.in_year_pence,
                    full_year_pence=found.full_year_pence + line.full_year_pence,
                )
        return ScenarioState(
            MappingProxyType({**self.cells, **cells}), MappingProxyType(categories), MappingProxyType(contracts)
        )

    @property
    def forecast_outturn_pence(self) -> Pence:
        return sum(self.categories.values())


@dataclass(frozen=True)
class Outcome:
    """What one lever did: the cells it changed and its lines (before they are summed by place)."""

    cells: Mapping[CellKey, ActivityCell] = field(default_factory=dict)
    lines: tuple[EffectLine, ...] = ()
    warnings: tuple[str, ...] = ()


def summed_lines(lines: Iterable[EffectLine]) -> tuple[EffectLine, ...]:
    """Lines added up by category, contract and point of delivery (in the order first met)."""
    totals: dict[tuple[str, str, str, str], EffectLine] = {}
    for line in lines:
        found = totals.get(line.place)
        totals[line.place] = (
            line
            if found is None
            else replace(
                found,
                in_year_pence=found.in_year_pence + line.in_year_pence,
                full_year_pence=found.full_year_pence + line.full_year_pence,
                in_year_activity=found.in_year_activity + line.in_year_activity,
                full_year_activity=found.full_year_activity + line.full_year_activity,
            )
        )
    return tuple(totals.values())


LeverRule = Callable[[Lever, LeverInputs, ScenarioState, Timing], Outcome]


@dataclass(frozen=True)
class ScenarioResult:
    baseline: Baseline
    effects: tuple[LeverEffect, ...]
    final: ScenarioState

    @property
    def forecast_outturn_pence(self) -> Pence:
        return self.final.forecast_outturn_pence

    @property
    def change_pence(self) -> Pence:
        return self.forecast_outturn_pence - self.baseline.forecast_outturn_pence

    @property
    def full_year_effect_pence(self) -> Pence:
        return sum(effect.full_year_pence for effect in self.effects)

    @property
    def bridge(self) -> tuple[BridgeStep, ...]:
        """Baseline forecast outturn -> each lever's in-year change -> scenario forecast outturn."""
        running = self.baseline.forecast_outturn_pence
        steps = [BridgeStep("Baseline forecast outturn", running, "start", running)]
        for effect in self.effects:
            running += effect.in_year_pence
            steps.append(BridgeStep(effect.label, effect.in_year_pence, "step", running))
        steps.append(BridgeStep("Scenario forecast outturn", running, "end", running))
        return tuple(steps)

    def surplus_pence(self, outturn_pence: Pence) -> Pence:
        return self.baseline.resource_pence - outturn_pence

    def gap_pence(self, outturn_pence: Pence) -> Pence:
        """Control total less forecast surplus: positive is a shortfall (the position's convention)."""
        return self.baseline.control_total_pence - self.surplus_pence(outturn_pence)
