"""The lever rules: one pure function per lever type, from the state left by the levers before to an outcome.

Activity levers remove a share of cells' units; a cell's change is its units removed x its price, rounded to the
penny once per cell. Measured rates are taken from the cells in scope, on the same basis as the units they
scale (the remaining months, or a full year). The formulas are in README.md ("Recovery scenarios").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from fractions import Fraction

from outturn.domain.activity import AttendanceType, PointOfDelivery, ReferralSource
from outturn.domain.budgets import apportion
from outturn.domain.errors import BadInput
from outturn.domain.ledger import CostCategory
from outturn.domain.money import Pence, div_round
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialMonth
from outturn.domain.scenario_effects import (
    CONTRACT_CATEGORY,
    ActivityCell,
    Baseline,
    CellKey,
    EffectLine,
    LeverEffect,
    LeverInputs,
    LeverRule,
    Outcome,
    ScenarioResult,
    ScenarioState,
    Timing,
    lever_timing,
    summed_lines,
)
from outturn.domain.scenarios import (
    BedClosure,
    ContractValueCut,
    FollowUpRatio,
    GenericPrescribing,
    GpReferralCut,
    Lever,
    NonRecurrent,
    PlcvThreshold,
    PopulationGrowth,
    TariffChange,
    VacancyControl,
)

FIRST = AttendanceType.FIRST.value
FOLLOW_UP = AttendanceType.FOLLOW_UP.value
GP = ReferralSource.GP.value
SPELLS = (PointOfDelivery.ELECTIVE, PointOfDelivery.DAY_CASE)
ELECTIVE = PointOfDelivery.ELECTIVE.value
BASES = ("remaining_units", "full_year_units")
ZERO = Fraction(0)

Shares = tuple[Fraction, Fraction]  # share of a cell's units removed: (remaining months, full year)


def _units(cells: Iterable[ActivityCell], basis: str) -> Fraction:
    return sum((getattr(cell, basis) for cell in cells), ZERO)


def _in_scope(key: CellKey, providers: Sequence[str], specialties: Sequence[str] = ()) -> bool:
    return (not providers or key.provider in providers) and (not specialties or key.treatment_function in specialties)


def _by_contract_specialty(
    state: ScenarioState, providers: Sequence[str], specialties: Sequence[str], groups: frozenset[str] | None
) -> dict[tuple[str, str, str], list[ActivityCell]]:
    found: dict[tuple[str, str, str], list[ActivityCell]] = {}
    for key, cell in state.cells.items():
        if _in_scope(key, providers, specialties) and (groups is None or key.practice_group in groups):
            found.setdefault((key.provider, key.commissioner, key.treatment_function), []).append(cell)
    return found


def _cell_line(
    key: CellKey, in_year_pence: Pence, fy_pence: Pence, in_year_units: Fraction = ZERO, fy_units: Fraction = ZERO
) -> EffectLine:
    """A contract cell's effect line (its provider, commissioner and point of delivery)."""
    return EffectLine(
        CONTRACT_CATEGORY,
        key.provider,
        key.commissioner,
        key.point_of_delivery.value,
        in_year_pence,
        fy_pence,
        in_year_units,
        fy_units,
    )


def _removed(state: ScenarioState, removals: Mapping[CellKey, Shares], timing: Timing) -> Outcome:
    """Each cell loses its shares of units; the change is units x price, rounded once per cell."""
    cells: dict[CellKey, ActivityCell] = {}
    lines = []
    for key, (share_in, share_fy) in removals.items():
        cell = state.cells[key]
        removed_fy = cell.full_year_units * share_fy
        removed_in = cell.remaining_units * (share_fy if timing.full_year else share_in * timing.share_of_remaining)
        full_year_pence = -div_round(removed_fy * cell.price_pence)
        in_year_pence = full_year_pence if timing.full_year else -div_round(removed_in * cell.price_pence)
        cells[key] = replace(
            cell, remaining_units=cell.remaining_units - removed_in, full_year_units=cell.full_year_units - removed_fy
        )
        removed_units = removed_fy if timing.full_year else removed_in
        lines.append(_cell_line(key, in_year_pence, full_year_pence, -removed_units, -removed_fy))
    return Outcome(cells, tuple(lines))


def _pool_share(removed_firsts: Fraction, rate: Fraction | None, pool: Fraction, firsts: Fraction) -> Fraction:
    """Share of a pool (follow-ups, spells) removed with ``removed_firsts`` first attendances: measured, the
    pool per first attendance (so the pool falls by the firsts' share); given a rate, removed x rate ÷ pool."""
    if pool == 0 or firsts == 0:
        return ZERO
    if rate is None:
        return removed_firsts / firsts
    return min(removed_firsts * rate / pool, Fraction(1))


def gp_referral_cut(lever: Lever, inputs: LeverInputs, state: ScenarioState, timing: Timing) -> Outcome:
    assert isinstance(lever, GpReferralCut)
    cut = Fraction(lever.percent) / 100
    follow_rate = None if lever.follow_up_ratio is None else Fraction(lever.follow_up_ratio)
    conversion = None if lever.conversion_rate is None else Fraction(lever.conversion_rate)
    removals: dict[CellKey, Shares] = {}
    groups = _by_contract_specialty(state, lever.providers, lever.treatment_functions, inputs.practice_groups)
    for cells in groups.values():
        firsts = [cell for cell in cells if cell.key.subtype == FIRST]
        gp = [cell for cell in firsts if cell.key.referral_source == GP]
        if not _units(gp, "full_year_units"):
            continue
        follow = [cell for cell in cells if cell.key.subtype == FOLLOW_UP]
        spells = [cell for cell in cells if cell.key.point_of_delivery in SPELLS]
        excess = [
            cell
            for cell in cells
            if cell.key.point_of_delivery is PointOfDelivery.EXCESS_BED_DAYS and cell.key.subtype == ELECTIVE
        ]
        follow_shares, spell_shares = zip(
            *(
                (
                    _pool_share(cut * _units(gp, basis), follow_rate, _units(follow, basis), _units(firsts, basis)),
                    _pool_share(cut * _units(gp, basis), conversion, _units(spells, basis), _units(firsts, basis)),
                )
                for basis in BASES
            ),
            strict=True,
        )
        removals |= {cell.key: (cut, cut) for cell in gp}
        removals |= {cell.key: follow_shares for cell in follow}
        removals |= {cell.key: spell_shares for cell in spells + excess}
    warnings = () if removals else ("no GP-referred first attendances in scope: nothing to cut",)
    return replace(_removed(state, removals, timing), warnings=warnings)


def peer_follow_up_ratios(cells: Iterable[ActivityCell]) -> dict[str, Fraction]:
    """Follow-ups per first attendance by treatment function across every contract (a full year's units)."""
    totals: dict[str, list[Fraction]] = {}
    for cell in cells:
        pair = totals.setdefault(cell.key.treatment_function, [ZERO, ZERO])
        if cell.key.subtype == FIRST:
            pair[0] += cell.full_year_units
        elif cell.key.subtype == FOLLOW_UP:
            pair[1] += cell.full_year_units
    return {specialty: follow / first for specialty, (first, follow) in totals.items() if first}


def follow_up_ratio(lever: Lever, inputs: LeverInputs, state: ScenarioState, timing: Timing) -> Outcome:
    assert isinstance(lever, FollowUpRatio)
    peers = peer_follow_up_ratios(state.cells.values()) if lever.ratio is None else {}
    removals: dict[CellKey, Shares] = {}
    groups = _by_contract_specialty(state, lever.providers, lever.treatment_functions, inputs.practice_groups)
    for (_provider, _commissioner, specialty), cells in groups.items():
        target = Fraction(lever.ratio) if lever.ratio is not None else peers.get(specialty)
        follow = [cell for cell in cells if cell.key.subtype == FOLLOW_UP]
        firsts = [cell for cell in cells if cell.key.subtype == FIRST]
        if target is None or not follow:
            continue
        shares = []
        for basis in BASES:
            follow_units = _units(follow, basis)
            above = follow_units - target * _units(firsts, basis)
            shares.append(above / follow_units if above > 0 else ZERO)
        if any(shares):
            removals |= {cell.key: (shares[0], shares[1]) for cell in follow}
    warnings = () if removals else ("no follow-ups above the benchmark in scope",)
    return replace(_removed(state, removals, timing), warnings=warnings)


def plcv_threshold(lever: Lever, inputs: LeverInputs, state: ScenarioState, timing: Timing) -> Outcome:
    assert isinstance(lever, PlcvThreshold)
    cut = Fraction(lever.percent) / 100
    pods = {PointOfDelivery(pod) for pod in lever.points_of_delivery}
    removals: dict[CellKey, Shares] = {}
    for key in state.cells:
        if key.hrg not in lever.hrgs or not _in_scope(key, lever.providers):
            continue
        excess = key.point_of_delivery is PointOfDelivery.EXCESS_BED_DAYS and key.subtype == ELECTIVE
        if key.point_of_delivery in pods or (excess and PointOfDelivery.ELECTIVE in pods):
            removals[key] = (cut, cut)
    warnings = () if removals else (f"no spells of {', '.join(lever.hrgs)} in the contracts in scope",)
    return replace(_removed(state, removals, timing), warnings=warnings)


def tariff_change(lever: Lever, inputs: LeverInputs, state: ScenarioState, timing: Timing) -> Outcome:
    """National prices change by the percentage; the locally priced part of a cell's price does not."""
    assert isinstance(lever, TariffChange)
    change = Fraction(lever.percent) / 100
    pods = set(lever.points_of_delivery) or set(PointOfDelivery)
    cells: dict[CellKey, ActivityCell] = {}
    lines = []
    for key, cell in state.cells.items():
        if not _in_scope(key, lever.providers) or key.point_of_delivery not in pods or not cell.national_share:
            continue
        national_price = cell.price_pence * cell.national_share
        delta = national_price * change
        full_year_pence = div_round(cell.full_year_units * delta)
        in_year_units = cell.remaining_units * timing.share_of_remaining
        in_year_pence = full_year_pence if timing.full_year else div_round(in_year_units * delta)
        new_price = cell.price_pence + delta
        share = (national_price + delta) / new_price if new_price else ZERO
        cells[key] = replace(cell, price_pence=new_price, national_share=share)
        lines.append(_cell_line(key, in_year_pence, full_year_pence))
    warnings = () if lines else ("no nationally priced activity in scope",)
    return Outcome(cells, tuple(lines), warnings)


def contract_value_cut(lever: Lever, inputs: LeverInputs, state: ScenarioState, timing: Timing) -> Outcome:
    """A percentage of each contract's forecast, or an annual amount shared by the contracts' forecasts."""
    assert isinstance(lever, ContractValueCut)
    chosen = [
        found
        for found in state.contracts.values()
        if found.provider == lever.provider and lever.commissioner in (None, found.commissioner)
    ]
    if not chosen:
        return Outcome(warnings=(f"no contract with {lever.provider} in scope",))
    if lever.percent is not None:
        share = Fraction(lever.percent) / 100
        full_year = [div_round(found.full_year_pence * share) for found in chosen]
        remaining = share * timing.share_of_remaining
        in_year = full_year if timing.full_year else [div_round(found.remaining_pence * remaining) for found in chosen]
    else:
        amount = lever.amount or 0
        weights = [max(found.full_year_pence, 0) for found in chosen]
        weights = weights if any(weights) else [1] * len(chosen)
        full_year = apportion(amount, weights)
        in_year = apportion(div_round(amount * timing.share_of_year), weights)
    lines = tuple(
        EffectLine(CONTRACT_CATEGORY, found.provider, found.commissioner, "", -in_pence, -fy_pence)
        for found, in_pence, fy_pence in zip(chosen, in_year, full_year, strict=True)
    )
    return Outcome(lines=lines)


def _annual_line(category: CostCategory, annual_pence: Fraction, timing: Timing, provider: str = "") -> EffectLine:
    """An effect of ``annual_pence`` a year, for the share of the year the lever acts."""
    return EffectLine(
        category, provider, "", "", div_round(annual_pence * timing.share_of_year), div_round(annual_pence)
    )


def vacancy_control(lever: Lever, inputs: LeverInputs, state: ScenarioState, timing: Timing) -> Outcome:
    assert isinstance(lever, VacancyControl)
    return Outcome(lines=(_annual_line(lever.category, Fraction(-lever.monthly_saving * MONTHS_IN_YEAR), timing),))


def _first_day(month: FinancialMonth) -> date:
    return date(month.calendar_year, month.calendar_month, 1)


def bed_days(timing: Timing) -> tuple[int, int]:
    """Calendar days the lever acts in the year (from the first of its start month to 31 March) and in all."""
    year = timing.as_at.year
    end = date(year.start_year + 1, 3, 31)
    in_year = (end - _first_day(year.month(1))).days + 1
    if timing.full_year:
        return in_year, in_year
    if timing.first_month > MONTHS_IN_YEAR:
        return 0, in_year
    return (end - _first_day(year.month(timing.first_month))).days + 1, in_year


def bed_closure(lever: Lever, inputs: LeverInputs, state: ScenarioState, timing: Timing) -> Outcome:
    """beds x cost per bed-day x occupancy x days x (1 - re-provision), a saving."""
    assert isinstance(lever, BedClosure)
    per_day = (
        lever.beds
        * lever.cost_per_bed_day
        * Fraction(lever.occupancy_percent)
        / 100
        * (1 - Fraction(lever.reprovision_percent) / 100)
    )
    active_days, year_days = bed_days(timing)
    line = EffectLine(
        lever.category, lever.provider or "", "", "", -div_round(per_day * active_days), -div_round(per_day * year_days)
    )
    return Outcome(lines=(line,))


def age_profile_index(lever: PopulationGrowth) -> Fraction:
    """Spend per head of the new population relative to the average: the shares' weighted cost index."""
    if not lever.age_profile:
        return Fraction(1)
    return sum((Fraction(band.share_percent) * Fraction(band.cost_index) for band in lever.age_profile), ZERO) / 100


def population_growth(lever: Lever, inputs: LeverInputs, state: ScenarioState, timing: Timing) -> Outcome:
    """people x age-profile index x spend per head (category forecast ÷ base population), a cost."""
    assert isinstance(lever, PopulationGrowth)
    if lever.base_population is None:
        raise BadInput("population growth needs the base population")
    per_head_factor = lever.people * age_profile_index(lever) / lever.base_population
    lines = tuple(
        _annual_line(category, per_head_factor * state.categories.get(category, 0), timing)
        for category in dict.fromkeys(lever.categories)
        if state.categories.get(category, 0)
    )
    return Outcome(lines=lines)


def generic_prescribing(lever: Lever, inputs: LeverInputs, state: ScenarioState, timing: Timing) -> Outcome:
    """items x (target - current rate) x (branded - generic cost per item), a saving."""
    assert isinstance(lever, GenericPrescribing)
    current, items = lever.current_percent, lever.annual_items
    generic, branded = lever.generic_item_cost, lever.branded_item_cost
    if current is None or items is None or generic is None or branded is None:
        raise BadInput("generic prescribing needs the current rate, items and costs per item")
    switched = items * (Fraction(lever.target_percent) - Fraction(current)) / 100
    saving_per_item = branded - generic
    if switched <= 0 or saving_per_item <= 0:
        reason = "the target is not above the current rate" if switched <= 0 else "generics cost no less"
        return Outcome(warnings=(f"no saving: {reason}",))
    return Outcome(lines=(_annual_line(CostCategory.PRESCRIBING, -switched * saving_per_item, timing),))


def non_recurrent(lever: Lever, inputs: LeverInputs, state: ScenarioState, timing: Timing) -> Outcome:
    assert isinstance(lever, NonRecurrent)
    if lever.month <= timing.as_at.number:
        return Outcome(warnings=(f"M{lever.month:02d} is not after the as-at month: already in the actuals",))
    return Outcome(lines=(EffectLine(lever.category, in_year_pence=-lever.amount, full_year_pence=0),))


RULES: Mapping[str, LeverRule] = {
    "gp_referral_cut": gp_referral_cut,
    "follow_up_ratio": follow_up_ratio,
    "generic_prescribing": generic_prescribing,
    "plcv_threshold": plcv_threshold,
    "contract_value_cut": contract_value_cut,
    "vacancy_control": vacancy_control,
    "bed_closure": bed_closure,
    "population_growth": population_growth,
    "tariff_change": tariff_change,
    "non_recurrent": non_recurrent,
}


def apply_scenario(
    baseline: Baseline,
    levers: Sequence[Lever],
    inputs: Sequence[LeverInputs] | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> ScenarioResult:
    """Apply ``levers`` in the file's order, each to the state the previous ones left. ``checkpoint`` is called
    before each lever: the caller stops a run there (a time limit, a cancelled request) by raising."""
    resolved = list(inputs) if inputs is not None else [LeverInputs()] * len(levers)
    state = ScenarioState.of(baseline)
    effects = []
    for index, (lever, lever_inputs) in enumerate(zip(levers, resolved, strict=True)):
        if checkpoint is not None:
            checkpoint()
        outcome = RULES[lever.type](lever, lever_inputs, state, lever_timing(lever, baseline.as_at))
        effect = LeverEffect(
            index=index,
            lever_type=lever.type,
            label=lever.describe(),
            recurrent=not isinstance(lever, NonRecurrent),
            lines=summed_lines(outcome.lines),
            warnings=outcome.warnings,
        )
        effects.append(effect)
        state = state.advanced(outcome.cells, effect.lines)
    return ScenarioResult(baseline, tuple(effects), state)
