"""Figures a lever may leave to the workspace: the base population for population growth, and the prescribing
baseline (items, generic rate, cost per generic and per branded item) for the generic prescribing lever."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from outturn.domain.errors import BadInput, NotFound
from outturn.domain.money import div_round
from outturn.domain.organisations import OrgKind
from outturn.domain.populations import population_of
from outturn.domain.position import Position
from outturn.domain.prescribing import PRESCRIBING_TABLE, counts_for_generic_rate, is_generic
from outturn.domain.problems import Problem
from outturn.domain.scenarios import GenericPrescribing, Lever, PopulationGrowth
from outturn.engine import scenario_activity
from outturn.ingest.organisations import find_allocation_file, read_allocation_hierarchy
from outturn.services import populations
from outturn.services.workspace import Workspace
from outturn.store import repository

GENERIC_FIGURES = ("current_percent", "annual_items", "generic_item_cost", "branded_item_cost")


def base_population(workspace: Workspace, org_code: str) -> int | None:
    """The organisation's registered list (loaded practice populations), else the registered population of NHS
    England's weighted-population file in the reference data; ``None`` when neither is held."""
    try:
        sizes = [record.list_size for record in populations.practice_records(workspace, under=org_code)]
        if sizes and all(size is not None for size in sizes):
            return sum(size for size in sizes if size is not None)
    except BadInput:  # no practice populations loaded under the organisation
        pass
    reference = workspace.settings.reference_dir
    if reference is None:
        return None
    try:
        _organisations, practices = read_allocation_hierarchy(find_allocation_file(reference))
        with workspace.store.reading() as session:
            tree = repository.org_tree(session)
        total = population_of(practices, tree, org_code).population
    except (FileNotFoundError, NotFound):  # no reference data, or the organisation is not in it
        return None
    return int(total) if total > 0 else None


def generic_figures(rows: Iterable[Mapping[str, Any]], months: int) -> dict[str, object]:
    """Items a year that count in the generic rate, the rate, and the average cost of a generic and of a branded
    item, from prescribing rows (bnf_code, items, cost_pence) covering ``months`` months."""
    generic_items = branded_items = generic_cost = branded_cost = 0
    for row in rows:
        if not counts_for_generic_rate(row["bnf_code"]):
            continue
        if is_generic(row["bnf_code"]):
            generic_items, generic_cost = generic_items + row["items"], generic_cost + row["cost_pence"]
        else:
            branded_items, branded_cost = branded_items + row["items"], branded_cost + row["cost_pence"]
    items = generic_items + branded_items
    if not generic_items or not branded_items or months <= 0:
        return {}
    rate = Fraction(generic_items * 100, items)
    return {
        "current_percent": Decimal(div_round(rate * 100)) / 100,
        "annual_items": div_round(items * 12, months),
        "generic_item_cost": div_round(generic_cost, generic_items),
        "branded_item_cost": div_round(branded_cost, branded_items),
    }


def prescribing_baseline(workspace: Workspace, practices: Sequence[str]) -> dict[str, object]:
    """The generic prescribing baseline from the warehouse's latest month of prescribing, annualised."""
    backend = workspace.backend
    if not backend.has_table(PRESCRIBING_TABLE):
        return {}
    stored = backend.stored_table(PRESCRIBING_TABLE)
    latest = backend.to_rows(stored.select("year_month").distinct().order_by("year_month"))
    if not latest:
        return {}
    month = latest[-1]["year_month"]
    rows = backend.to_rows(scenario_activity.prescribing_by_presentation(stored, practices, month))
    return generic_figures(rows, 1)


def _org_practices(workspace: Workspace, org_code: str) -> list[str]:
    with workspace.store.reading() as session:
        tree = repository.org_tree(session)
    return sorted(member.code for member in tree.descendants(org_code) if member.kind is OrgKind.PRACTICE)


def _with_population(
    workspace: Workspace, lever: PopulationGrowth, org_code: str, where: tuple[str, str]
) -> tuple[Lever, list[Problem]]:
    found = base_population(workspace, org_code)
    if found is None:
        reason = f"no registered population for {org_code}: give base_population"
        return lever, [Problem(where[0], f"{where[1]}.base_population: {reason}")]
    return lever.model_copy(update={"base_population": found}), []


def _with_prescribing(
    workspace: Workspace, lever: GenericPrescribing, practices: Sequence[str], where: tuple[str, str]
) -> tuple[Lever, list[Problem]]:
    figures = prescribing_baseline(workspace, practices)
    missing = [name for name in GENERIC_FIGURES if getattr(lever, name) is None and name not in figures]
    if missing:
        reason = f"{', '.join(missing)} needed: give them, or import the practices' prescribing first"
        return lever, [Problem(where[0], f"{where[1]}: {reason}")]
    update = {name: figures[name] for name in GENERIC_FIGURES if getattr(lever, name) is None}
    return lever.model_copy(update=update), []


def complete_levers(
    workspace: Workspace,
    source: str,
    levers: Sequence[Lever],
    position: Position,
    practice_sets: Mapping[int, frozenset[str]],
) -> tuple[list[Lever], list[Problem]]:
    """The levers with what they left out filled from the workspace, or a problem saying what to give."""
    completed: list[Lever] = []
    problems: list[Problem] = []
    for index, lever in enumerate(levers):
        where = (source, f"levers[{index}]")
        done: Lever = lever
        found: list[Problem] = []
        if isinstance(lever, PopulationGrowth) and lever.base_population is None:
            done, found = _with_population(workspace, lever, position.org_code, where)
        elif isinstance(lever, GenericPrescribing) and any(getattr(lever, name) is None for name in GENERIC_FIGURES):
            practices = sorted(practice_sets.get(index) or _org_practices(workspace, position.org_code))
            done, found = _with_prescribing(workspace, lever, practices, where)
        completed.append(done)
        problems += found
    return completed, problems
