"""Recovery scenarios: read the file, build the baseline from the workspace (the position, the contracts in scope
and their activity) and apply the levers in order.

A run is bounded: a file holds at most ``MAX_LEVERS`` levers (``domain.scenarios``), and the activity cells times
the levers that act on them at most ``MAX_CELL_STEPS``; the caller may pass a ``checkpoint`` that stops the run
between steps and levers (the web application's time limit and cancellation)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from outturn.domain.activity import ActivityKind, PointOfDelivery
from outturn.domain.contracts import ActualLine, Contract, ContractError, statement_lines
from outturn.domain.errors import BadInput
from outturn.domain.organisations import OrgKind, OrgTree
from outturn.domain.periods import FinancialMonth
from outturn.domain.position import Position
from outturn.domain.problems import Problem, ProblemsError
from outturn.domain.scenario_effects import (
    ActivityCell,
    Baseline,
    CellKey,
    ContractForecast,
    LeverInputs,
    ScenarioResult,
)
from outturn.domain.scenario_levers import apply_scenario
from outturn.domain.scenarios import (
    ACTIVITY_LEVER_TYPES,
    ContractValueCut,
    GenericPrescribing,
    GpReferralCut,
    Lever,
    NonRecurrent,
    PlcvThreshold,
    Scenario,
)
from outturn.engine import contracts as contract_engine
from outturn.engine import scenario_activity
from outturn.engine.backends import memtable
from outturn.ingest.scenarios import EXAMPLE_SCENARIO, read_scenario
from outturn.services import contracts as contract_service
from outturn.services import pricing as pricing_service
from outturn.services import scenario_inputs
from outturn.services.position import compute_position
from outturn.services.workspace import Workspace
from outturn.store import contracts_repository, repository

PRACTICE_GROUP_KINDS = (OrgKind.PRACTICE, OrgKind.PCN, OrgKind.SUB_ICB, OrgKind.ICB)
# Activity cells x activity levers in one run. A lever takes about 20 µs a cell; levers chained on the same cells take
# longer as their fractions grow, which the web application's time limit bounds.
MAX_CELL_STEPS = 1_000_000
Checkpoint = Callable[[], None]


# look-alike of services/budgets.IndicativeResult (shape only): declarative, a result record's fields.
@dataclass(frozen=True)
class ScenarioRun:
    source: str
    scenario: Scenario
    result: ScenarioResult
    warnings: tuple[str, ...]


def _practices_under(tree: OrgTree, code: str) -> frozenset[str]:
    organisation = tree.get(code)
    if organisation.kind is OrgKind.PRACTICE:
        return frozenset({code})
    return frozenset(member.code for member in tree.descendants(code) if member.kind is OrgKind.PRACTICE)


@dataclass(frozen=True)
class _Scope:
    source: str
    tree: OrgTree
    position: Position
    contracts: tuple[Contract, ...]
    unplaced: Mapping[str, str]  # practices in the activity that the tree does not hold -> their commissioner

    @property
    def as_at(self) -> FinancialMonth:
        return self.position.as_at

    def problem(self, index: int, path: str, reason: str) -> Problem:
        return Problem(self.source, f"levers[{index}]{path}: {reason}")

    def practice_sets(self, index: int, codes: Sequence[str]) -> tuple[frozenset[str], list[Problem]]:
        found: set[str] = set()
        problems = []
        for number, code in enumerate(codes):
            if code in self.unplaced:
                found.add(code)
                continue
            if code not in self.tree or self.tree.get(code).kind not in PRACTICE_GROUP_KINDS:
                reason = f"unknown practice group {code!r} (a practice, PCN, sub-ICB or ICB code)"
                problems.append(self.problem(index, f".practices[{number}]", reason))
                continue
            under = self.tree.subtree_codes(code)
            practices = _practices_under(self.tree, code) | {
                practice for practice, commissioner in self.unplaced.items() if commissioner in under
            }
            if not practices:
                problems.append(self.problem(index, f".practices[{number}]", f"{code} has no practices under it"))
            found |= practices
        return frozenset(found), problems

    def provider_problems(self, index: int, lever: Lever) -> list[Problem]:
        known = sorted({contract.provider for contract in self.contracts})
        where = f"for {self.position.org_code} in {self.as_at.year}"
        if not known and lever.type in ACTIVITY_LEVER_TYPES:
            return [
                self.problem(index, "", f"no contracts {where} to act on: import the contracts first")
            ]
        problems = []
        named = [lever.provider] if isinstance(lever, ContractValueCut) else list(getattr(lever, "providers", ()))
        path = ".provider" if isinstance(lever, ContractValueCut) else ".providers[{}]"
        for number, provider in enumerate(named):
            if provider not in known:
                reason = (
                    f"no contract with provider {provider!r} {where} (contracts with: {', '.join(known) or 'none'})"
                )
                problems.append(self.problem(index, path.format(number), reason))
        if isinstance(lever, ContractValueCut) and lever.commissioner and not problems:
            pairs = {(contract.provider, contract.commissioner) for contract in self.contracts}
            if (lever.provider, lever.commissioner) not in pairs:
                reason = f"no contract between {lever.provider} and {lever.commissioner} {where}"
                problems.append(self.problem(index, ".commissioner", reason))
        return problems

    def month_problems(self, index: int, lever: Lever) -> list[Problem]:
        after = f"is not after the as-at month {self.as_at.label}"
        problems = []
        if lever.start_month is not None and lever.start_month <= self.as_at.number and not lever.full_year:
            problems.append(self.problem(index, ".start_month", f"M{lever.start_month:02d} {after}"))
        if isinstance(lever, NonRecurrent) and lever.month <= self.as_at.number:
            problems.append(self.problem(index, ".month", f"M{lever.month:02d} {after}: it is in the actuals"))
        return problems


def practice_groups(practice_sets: Mapping[int, frozenset[str]]) -> tuple[dict[str, str], dict[int, frozenset[str]]]:
    """Practices split into groups by which levers' lists name them: each practice's group, and each lever's
    groups. Practices in no list are in group ""."""
    group_of: dict[str, str] = {}
    for practice in set().union(*practice_sets.values()) if practice_sets else ():
        levers = [str(index) for index, members in sorted(practice_sets.items()) if practice in members]
        group_of[practice] = "g" + "-".join(levers)
    groups = {
        index: frozenset(group for practice, group in group_of.items() if practice in members)
        for index, members in practice_sets.items()
    }
    return group_of, groups


def _resolve(scope: _Scope, levers: Sequence[Lever]) -> tuple[dict[int, frozenset[str]], list[Problem]]:
    problems: list[Problem] = []
    practice_sets: dict[int, frozenset[str]] = {}
    for index, lever in enumerate(levers):
        problems += scope.provider_problems(index, lever) + scope.month_problems(index, lever)
        if isinstance(lever, GpReferralCut | GenericPrescribing) and lever.practices:
            practice_sets[index], found = scope.practice_sets(index, lever.practices)
            problems += found
    return practice_sets, problems


def _contract_forecasts(
    contracts: Sequence[Contract], actual_rows: Sequence[Mapping[str, Any]], as_at: FinancialMonth
) -> tuple[list[ContractForecast], dict[tuple[str, str, str], tuple[int, int]]]:
    """Each contract's forecast (the statement's) and, by contract and point of delivery, activity year to date
    and forecast for the year."""
    forecasts, activity = [], {}
    for contract in contracts:
        mine = (contract.provider, contract.commissioner)
        actuals = [
            ActualLine(PointOfDelivery(row["point_of_delivery"]), row["month"], row["activity"], row["pence"])
            for row in actual_rows
            if (row["provider"], row["commissioner"]) == mine
        ]
        lines = statement_lines(contract, actuals, as_at)
        forecast = sum(line.forecast_pence for line in lines)
        remaining = forecast - sum(line.ytd_actual_pence for line in lines)
        forecasts.append(ContractForecast(contract.provider, contract.commissioner, forecast, remaining, forecast))
        for line in lines:
            activity[(*mine, line.point_of_delivery)] = (line.ytd_actual_activity, line.forecast_activity)
    return forecasts, activity


def _cells(
    rows: Iterable[Mapping[str, Any]], activity: Mapping[tuple[str, str, str], tuple[int, int]]
) -> list[ActivityCell]:
    """Cells scaled from the year to date to the remaining months and to a full year by their point of
    delivery's forecast (the contract statement's): units x (forecast - to date) ÷ to date, units x forecast ÷ to
    date."""
    cells = []
    for row in rows:
        to_date, forecast = activity.get((row["provider"], row["commissioner"], row["point_of_delivery"]), (0, 0))
        if not to_date or not row["units"]:
            continue
        units = Fraction(row["units"])
        key = CellKey(
            row["provider"],
            row["commissioner"],
            PointOfDelivery(row["point_of_delivery"]),
            row["treatment_function"],
            row["subtype"],
            row["referral_source"],
            row["hrg"],
            row["practice_group"],
        )
        cells.append(
            ActivityCell(
                key,
                remaining_units=units * (forecast - to_date) / to_date,
                full_year_units=units * forecast / to_date,
                price_pence=Fraction(row["pence"], row["units"]),
                national_share=Fraction(row["national_pence"], row["pence"]) if row["pence"] else Fraction(1),
            )
        )
    return cells


def _contract_baseline(
    workspace: Workspace,
    contracts: Sequence[Contract],
    as_at: FinancialMonth,
    group_of: Mapping[str, str],
    hrgs: Sequence[str],
    source: str,
    levers: Sequence[Lever],
) -> tuple[list[ContractForecast], list[ActivityCell]]:
    """Each contract's forecast and its activity to date as cells, priced at the contract's prices; the cells are
    counted (``check_work``) before they are built."""
    if not contracts:
        return [], []
    year = as_at.year
    try:
        tariff = pricing_service.contract_tariff(workspace, year)
    except ContractError as error:
        raise BadInput(str(error)) from None
    backend = workspace.backend
    priced = {
        kind: pricing_service.priced_activity(backend, kind, pricing_service.stored_activity(workspace, kind), tariff)
        for kind in ActivityKind
    }
    apc, op, ae = priced[ActivityKind.APC], priced[ActivityKind.OP], priced[ActivityKind.AE]
    local = contract_service.local_prices_table(contracts)
    units = contract_engine.apply_local_prices(contract_engine.contract_units(apc, op, ae), local)
    actual_rows = backend.to_rows(contract_engine.contract_actuals(units, year=year.start_year))
    forecasts, activity = _contract_forecasts(contracts, actual_rows, as_at)
    groups = memtable(
        [{"practice": practice, "practice_group": group} for practice, group in group_of.items()],
        scenario_activity.PRACTICE_GROUP_SCHEMA,
    )
    cell_units = scenario_activity.with_local_prices(scenario_activity.scenario_units(apc, op, ae, hrgs), local)
    found = backend.to_arrow(
        scenario_activity.activity_cells(cell_units, groups, year=year.start_year, as_at_month=as_at.number)
    )
    check_work(source, found.num_rows, levers)
    return forecasts, _cells(found.to_pylist(), activity)


def _unplaced_practices(workspace: Workspace, tree: OrgTree, levers: Sequence[Lever]) -> dict[str, str]:
    """Practices in the activity that the organisation tree does not hold (the demo's synthetic practices), with
    their commissioner: a practice group named by a sub-ICB or ICB takes them in through their commissioner."""
    if not any(getattr(lever, "practices", ()) for lever in levers):
        return {}
    tables = [pricing_service.stored_activity(workspace, kind) for kind in (ActivityKind.APC, ActivityKind.OP)]
    rows = workspace.backend.to_rows(scenario_activity.practice_commissioners(tables))
    return {row["practice"]: row["commissioner"] for row in rows if row["practice"] not in tree}


def read_scenario_file(path: Path) -> Scenario:
    """The scenario in ``path``; ``ProblemsError`` with every fault the file has."""
    scenario, problems = read_scenario(path)
    if scenario is None:
        raise ProblemsError(problems, f"{path.name}: the scenario has {len(problems)} problem(s); nothing was run")
    return scenario


def check_work(source: str, cells: int, levers: Sequence[Lever]) -> None:
    """Refuse a run that would step more than ``MAX_CELL_STEPS`` activity cells through levers that act on them
    (a lever's practice list or HRGs split the cells further)."""
    acting = sum(1 for lever in levers if lever.type in ACTIVITY_LEVER_TYPES)
    if cells * acting <= MAX_CELL_STEPS:
        return
    reason = (
        f"{acting} activity levers over {cells:,} activity cells is {cells * acting:,} cell-steps; one run does at "
        f"most {MAX_CELL_STEPS:,}: use fewer activity levers, practice groups or HRGs, or split the scenario"
    )
    raise ProblemsError([Problem(source, reason)], f"{source}: the scenario is too large to run; nothing was run")


# look-alike of services/savings.py:list_schemes (shape only): declarative, keyword fields or columns, one per
# attribute.
def run_scenario(
    workspace: Workspace,
    path: Path,
    *,
    org_code: str | None = None,
    as_at: str | None = None,
    method: str | None = None,
    checkpoint: Checkpoint | None = None,
) -> ScenarioRun:
    """The scenario in ``path`` applied to the workspace's position (the file's organisation, month and method
    unless given here)."""
    scenario = read_scenario_file(path)
    return run_loaded(
        workspace, scenario, path.name, org_code=org_code, as_at=as_at, method=method, checkpoint=checkpoint
    )


# look-alike of run_scenario's signature: declarative, the same options for a scenario already read.
def run_loaded(
    workspace: Workspace,
    scenario: Scenario,
    source: str,
    *,
    org_code: str | None = None,
    as_at: str | None = None,
    method: str | None = None,
    checkpoint: Checkpoint | None = None,
) -> ScenarioRun:
    """A scenario already read (from ``source``) applied to the workspace's position. ``checkpoint`` is called
    between the steps and before each lever; it stops the run by raising."""
    check = checkpoint or (lambda: None)
    position = compute_position(workspace, org_code or scenario.org, as_at or scenario.as_at, method or scenario.method)
    check()
    year = position.as_at.year
    with workspace.store.reading() as session:
        tree = repository.org_tree(session)
        scope_codes = tree.subtree_codes(position.org_code)
        contracts = tuple(
            contract
            for contract in contracts_repository.load_contracts(session, year)
            if contract.commissioner in scope_codes
        )
    scope = _Scope(source, tree, position, contracts, _unplaced_practices(workspace, tree, scenario.levers))
    practice_sets, problems = _resolve(scope, scenario.levers)
    levers, more = scenario_inputs.complete_levers(workspace, scope.source, scenario.levers, position, practice_sets)
    if problems + more:
        found = problems + more
        raise ProblemsError(found, f"{source}: the scenario has {len(found)} problem(s); nothing was run")
    check()
    group_of, groups = practice_groups(practice_sets)
    hrgs = sorted({hrg for lever in levers if isinstance(lever, PlcvThreshold) for hrg in lever.hrgs})
    forecasts, cells = _contract_baseline(workspace, contracts, position.as_at, group_of, hrgs, source, levers)
    baseline = Baseline(
        org_code=position.org_code,
        org_name=position.org_name,
        as_at=position.as_at,
        method=position.method,
        resource_pence=position.resource_pence,
        control_total_pence=position.control_total_pence,
        categories=tuple((row.category, row.forecast_outturn_pence) for row in position.by_category),
        contracts=tuple(forecasts),
        cells=tuple(cells),
    )
    inputs = [LeverInputs(groups.get(index)) for index in range(len(levers))]
    result = apply_scenario(baseline, levers, inputs, check)
    return ScenarioRun(source, scenario, result, tuple(str(problem) for problem in position.warnings))


def example_scenario() -> str:
    """An example scenario file (TOML) with one of every lever, written for the demo workspace."""
    return EXAMPLE_SCENARIO
