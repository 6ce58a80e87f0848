"""The main job: the monthly cycle of one real ICB, from real reference data and a SYNTHETIC economy, to the
board pack.

First the SYNTHETIC hospital activity of last year and this, the contracts rolled forward from last year's priced
outturn with their SYNTHETIC payment rules, and this year's priced activity by month: the ledger's acute lines carry
each contract's value after its payment rules, the plan as budget and the priced activity as accrual
(demo/acute_ledger.py; the rules computed by the statement's own ``domain.contracts.rule_adjustments``), and the
contract-to-ledger map is written beside the other inputs. Then last month first, then this month, as a finance team
works: import last month's ledger (recording the year's earlier months in the forecast history, as their closes
would have), savings workbook and prescribing, close the month; then this month's ledger, the scheme leads' savings
updates, the month's prescribing, the hospital activity to date priced against the contracts, close the month; then
compute the position, benchmarks and risk and write the board pack. Every figure is deterministic from the seed.
The monthly cycle and the evidenced schemes' measures are in ``services/demo_cycle.py``.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from outturn.demo import trial_balance as demo_trial_balance
from outturn.demo.activity import activity_path, generate_activity
from outturn.demo.acute_ledger import ContractSpend, contract_map, short_trust_name
from outturn.demo.contract_rules import demo_rules, write_contract_rules
from outturn.demo.files import (
    contract_plan_rows,
    write_contract_map,
    write_contract_plans,
    write_plans,
    write_risks,
)
from outturn.demo.ledger import synthetic_economy
from outturn.demo.scenarios import recovery_scenarios, write_scenarios
from outturn.domain.activity import ActivityKind, PointOfDelivery
from outturn.domain.contract_rules import Adjustment, RuleKind, twelfths
from outturn.domain.contracts import ActualLine, Contract, PlanLine, rule_adjustments
from outturn.domain.errors import BadInput
from outturn.domain.ledger import CostCategory
from outturn.domain.money import Pence
from outturn.domain.organisations import OrgKind, OrgTree
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialMonth, FinancialYear
from outturn.domain.populations import PracticePopulation, population_of
from outturn.domain.position import Position
from outturn.domain.problems import ProblemsError
from outturn.domain.savings_rollup import RollupLevel, RollupRow
from outturn.engine import contract_rules as rules_engine
from outturn.engine import contracts as contract_engine
from outturn.ingest.activity import read_activity
from outturn.ingest.contracts import read_contracts
from outturn.ingest.organisations import find_allocation_file, read_allocation_hierarchy
from outturn.reports.pack import BoardPack
from outturn.reports.planning import PlanBridgeResult
from outturn.services import contracts, pricing, savings
from outturn.services.benchmark import DATE_COLUMNS
from outturn.services.contract_ledger import import_contract_map
from outturn.services.contracts import ContractStatement
from outturn.services.demo_commentary import write_demo_commentary
from outturn.services.demo_cycle import Step, evidenced_schemes, monthly_cycle
from outturn.services.demo_plan import build_demo_plan, weighted_population_growth
from outturn.services.imports import import_plans, import_risks
from outturn.services.organisations import list_organisations, load_reference_organisations
from outturn.services.pack import PackFiles, PackRequest, build_pack, set_report_notes
from outturn.services.populations import import_populations
from outturn.services.position import PositionError, compute_position
from outturn.services.users import Role, add_user
from outturn.services.workspace import Workspace, init_workspace
from outturn.settings import SETTINGS_FILE, STORE_FILE, WAREHOUSE_FILE, default_reference_dir
from outturn.store import repository


@dataclass(frozen=True)
class DemoResult:
    workspace: Path
    position: Position
    savings: RollupRow
    statements: list[ContractStatement]
    pack: BoardPack | None = None
    pack_files: PackFiles | None = None
    accounts: tuple[DemoAccount, ...] = ()  # (user name, role, practice, budget holder) for `outturn serve`
    contract_map_file: Path | None = None  # provider, commissioner, category, line, element (demo/acute_ledger.py)
    plan: PlanBridgeResult | None = None  # next year's and the medium term's bridge (services/demo_plan.py)


DemoAccount = tuple[str, str, str | None, str | None]  # user name, role, practice, budget holder
CONTRACT_GROWTH = "0.02"  # contract plans: last year's outturn plus 2%
ACTIVITY_GROWTH = "1.045"  # this year's activity: 4.5% more than last year's, so contracts over-perform
DEMO_NOTE = (
    "SYNTHETIC demo: the ledger, plan, risk register, savings plan, hospital activity and practice prescribing are "
    "generated by outturn, calibrated to NHS England's weighted populations, list sizes, the national tariff and "
    "real practices' prescribing; organisations, practices and populations are real. Scenarios are ILLUSTRATIVE."
)


def _month_end(month: FinancialMonth) -> date:
    days = calendar.monthrange(month.calendar_year, month.calendar_month)[1]
    return date(month.calendar_year, month.calendar_month, days)


def _to_date(folder: Path, kind: ActivityKind, month: FinancialMonth) -> Path:
    """This year's extract as it stands at the month end: records dated up to the last day of ``month``."""
    table = pq.read_table(activity_path(folder, kind))
    kept = table.filter(pc.less_equal(table[DATE_COLUMNS[kind]], pa.scalar(_month_end(month))))
    path = folder / f"{kind.value}-to-{month.calendar_label}.parquet"
    pq.write_table(kept, path)
    return path


@dataclass(frozen=True)
class _DemoContracts:
    """The demo's contracts before they are loaded: the plan file, this year's activity, each contract's plan and
    priced activity by month (the ledger's acute lines follow them) and the largest contract."""

    plan_file: Path
    rules_file: Path  # the SYNTHETIC payment rules on top of the tariff
    activity: Path
    spend: tuple[ContractSpend, ...]
    largest: tuple[str, str]


Rows = Sequence[Mapping[str, Any]]


def _actual_lines(rows: Rows, contract: Contract) -> list[ActualLine]:
    """The contract's rows of ``pricing.outturn_by_contract`` (activity and £ by point of delivery and month)."""
    return [
        ActualLine(
            PointOfDelivery(row["point_of_delivery"]), int(row["month"]), int(row["activity"]), int(row["pence"])
        )
        for row in rows
        if (row["provider"], row["commissioner"]) == (contract.provider, contract.commissioner)
    ]


def _monthly(
    lines: Sequence[PlanLine | ActualLine], blocks: Sequence[Pence], adjustments: Sequence[Adjustment]
) -> tuple[Pence, ...]:
    months = list(blocks)
    for line in lines:
        months[line.month - 1] += line.pence
    for adjustment in adjustments:
        months = [a + b for a, b in zip(months, adjustment.monthly_pence, strict=True)]
    return tuple(months)


def _after_rules(contract: Contract, priced: Rows, readmitted: Rows) -> tuple[tuple[Pence, ...], tuple[Pence, ...]]:
    """The contract's plan and a year's priced activity (``readmitted``: its readmissions), by month, after the
    contract's payment rules (``domain.contracts.rule_adjustments``, the statement's own) and blocks: the contract
    value a commissioner's ledger budgets and accrues. The plan assumes CQUIN achieved in full."""
    actuals = _actual_lines(priced, contract)
    planned, found = rule_adjustments(contract, actuals, _actual_lines(readmitted, contract), MONTHS_IN_YEAR)
    blocks = [sum(months) for months in zip(*(twelfths(b.annual_pence) for b in contract.blocks), strict=True)]
    blocks = blocks or [0] * MONTHS_IN_YEAR
    return _monthly(contract.plan, blocks, planned), _monthly(actuals, blocks, found)


def _contract_spend(
    contracts: Sequence[Contract],
    this_year: tuple[Rows, Rows],
    last_year: tuple[Rows, Rows],
    names: Mapping[str, str],
) -> tuple[ContractSpend, ...]:
    """Each contract's value by month after its payment rules: its plan, this year's and last year's priced
    activity (each with its readmissions; last year's under this year's rules)."""
    spend = []
    for contract in sorted(contracts, key=lambda found: (found.provider, found.commissioner)):
        plan, priced = _after_rules(contract, *this_year)
        _plan, before = _after_rules(contract, *last_year)
        provider, commissioner = contract.provider, contract.commissioner
        spend.append(
            ContractSpend(provider, short_trust_name(names.get(provider, "")), commissioner, plan, priced, before)
        )
    return tuple(spend)


def _readmitted_by_contract(workspace: Workspace, apc: Path, year: FinancialYear) -> list[dict[str, Any]]:
    """A year's emergency readmissions (the engine's flagging, as the statement finds them), priced, by contract,
    point of delivery and month, in the layout of ``pricing.outturn_by_contract``."""
    backend = workspace.backend
    table = backend.table(read_activity(apc, ActivityKind.APC))
    priced = pricing.priced_activity(backend, ActivityKind.APC, table, pricing.contract_tariff(workspace, year))
    units = contract_engine.spell_units(rules_engine.readmissions_only(priced))
    return backend.to_rows(contract_engine.contract_actuals(units, year=year.start_year))


def _paid(last_year: list[dict[str, Any]], readmitted: Rows, year_label: str) -> list[dict[str, Any]]:
    """Last year's priced outturn (``pricing.outturn_by_contract``) as paid: where a contract will not pay for
    emergency readmissions (demo/contract_rules.py), its readmissions taken off, so that its plan and its
    marginal-rate baseline are set on the activity it pays for, as a commissioner plans such a contract."""
    rules = demo_rules(last_year, year_label, CONTRACT_GROWTH)
    chosen = {(row[0], row[1]) for row in rules if row[3] == RuleKind.READMISSIONS.value}
    fields = ("provider", "commissioner", "point_of_delivery", "month")
    less: dict[tuple[object, ...], tuple[int, int]] = {}
    for row in readmitted:
        if (row["provider"], row["commissioner"]) in chosen:
            activity, pence = less.get(tuple(row[f] for f in fields), (0, 0))
            less[tuple(row[f] for f in fields)] = (activity + int(row["activity"]), pence + int(row["pence"]))
    paid = []
    for row in last_year:
        activity, pence = less.get(tuple(row[f] for f in fields), (0, 0))
        paid.append({**row, "activity": int(row["activity"]) - activity, "pence": int(row["pence"]) - pence})
    return paid


def _read_contracts(workspace: Workspace, plan: Path, rules: Path) -> list[Contract]:
    """The contracts as the plan and rules files give them (what ``contracts import`` stores)."""
    with workspace.store.reading() as session:
        known = repository.org_tree(session).by_code
    found, problems = read_contracts(plan, known=known, rules_path=rules)
    if problems:
        raise ProblemsError(problems, f"the demo's {plan.name} has {len(problems)} problem(s)")
    return found


def _synthetic_contracts(
    workspace: Workspace,
    inputs: Path,
    reference: Path,
    registered: Mapping[str, tuple[str, float]],
    month: FinancialMonth,
    seed: int,
    scale_factor: float,
    step: Step,
) -> _DemoContracts:
    """SYNTHETIC activity for last year and this, contracts rolled forward from last year's priced outturn as paid
    (readmissions off where they will not be paid), their SYNTHETIC payment rules, and each contract's value by
    month after its rules: the plan and last year's and this year's priced activity (what the ledger carries)."""
    files: dict[int, dict[ActivityKind, Path]] = {}
    for offset, year in ((1, month.year.previous()), (0, month.year)):
        step(f"generating SYNTHETIC hospital activity for {year} (ICB scale × {scale_factor:g})")
        folder = inputs / f"activity-{year.start_year}"
        generate_activity(
            folder,
            reference_dir=reference,
            scale="icb",
            seed=seed,
            year=year.start_year,
            registered=registered,
            scale_factor=scale_factor * (1.0 if offset else float(ACTIVITY_GROWTH)),
        )
        files[offset] = {kind: activity_path(folder, kind) for kind in ActivityKind}
    step("pricing last year's activity and rolling the contracts forward; pricing this year's for the ledger")
    before = month.year.previous()
    apc = ActivityKind.APC
    readmitted = (
        _readmitted_by_contract(workspace, files[0][apc], month.year),
        _readmitted_by_contract(workspace, files[1][apc], before),
    )
    priced_before = pricing.outturn_by_contract(workspace, files[1], before)
    last_year = _paid(priced_before, readmitted[1], month.year.label)
    plan = contract_plan_rows(last_year, CONTRACT_GROWTH)
    this_year = pricing.outturn_by_contract(workspace, files[0], month.year)
    names = {org.code: org.name for org in list_organisations(workspace, OrgKind.PROVIDER)}
    totals: dict[tuple[str, str], int] = {}
    for row in last_year:
        key = (row["provider"], row["commissioner"])
        totals[key] = totals.get(key, 0) + int(row["pence"])
    plan_file = write_contract_plans(inputs / "contracts.csv", plan, month.year.label)
    rules_file = write_contract_rules(inputs / "contract-rules.csv", last_year, month.year.label, CONTRACT_GROWTH)
    step("applying the contracts' payment rules to the plans and the priced activity for the ledger")
    spend = _contract_spend(
        _read_contracts(workspace, plan_file, rules_file),
        (this_year, readmitted[0]),
        (priced_before, readmitted[1]),
        names,
    )
    return _DemoContracts(
        plan_file,
        rules_file,
        inputs / f"activity-{month.year.start_year}",
        spend,
        max(sorted(totals), key=lambda key: totals[key]),
    )


def _load_contracts(workspace: Workspace, demo_contracts: _DemoContracts, month: FinancialMonth, step: Step) -> None:
    """The contracts, then this year's hospital activity to the month end."""
    contracts.import_contracts(workspace, demo_contracts.plan_file, rules=demo_contracts.rules_file)
    step(f"importing this year's hospital activity to the end of {month.name}")
    for kind in ActivityKind:
        pricing.import_activity(workspace, _to_date(demo_contracts.activity, kind, month), kind)


def _registered_practices(
    tree: OrgTree, populations: Sequence[PracticePopulation], commissioners: Sequence[str]
) -> dict[str, tuple[str, float]]:
    """Each practice of the demo ICB with its sub-ICB location and general and acute weighted population: the
    synthetic activity is drawn in proportion to need, with each practice's own variation."""
    registered: dict[str, tuple[str, float]] = {}
    for practice in populations:
        if practice.practice_code not in tree:
            continue
        above = {org.code for org in tree.ancestors(practice.practice_code)}
        home = next((code for code in commissioners if code in above), None)
        if home is not None:
            registered[practice.practice_code] = (home, float(practice.general_acute))
    return registered


DEMO_PASSWORD = "outturn-demo"  # the demo workspace's accounts only: a workspace of real data has its own users


def _demo_accounts(workspace: Workspace, practices: Sequence[str], holder: str) -> tuple[DemoAccount, ...]:
    """One account per role for trying the web application on the demo (`make serve`), all with DEMO_PASSWORD;
    the budget holder's is ``holder``'s."""
    accounts: tuple[DemoAccount, ...] = (
        ("finance", Role.FINANCE.value, None, None),
        ("board", Role.BOARD.value, None, None),
        ("admin", Role.ADMIN.value, None, None),
        ("practice", Role.PRACTICE.value, practices[0], None),
        ("budget-holder", Role.BUDGET_HOLDER.value, None, holder),
    )
    for name, role, practice, budget_holder in accounts:
        add_user(
            workspace,
            name,
            DEMO_PASSWORD,
            Role(role),
            org_code=practice,
            display_name=f"Demo {name}",
            budget_holder=budget_holder,
        )
    return accounts


def _clear_previous_demo(directory: Path) -> None:
    for name in (SETTINGS_FILE, STORE_FILE, WAREHOUSE_FILE, f"{WAREHOUSE_FILE}.wal"):
        (directory / name).unlink(missing_ok=True)


def _load_organisations(
    workspace: Workspace, reference: Path, icb_code: str, step: Step
) -> tuple[OrgTree, list[PracticePopulation], list[str]]:
    """The organisations and practice populations from NHS England's allocation file: the tree, the populations
    and the ICB's sub-ICB locations."""
    allocation_file = find_allocation_file(reference)
    step(f"loading organisations from {allocation_file.name}")
    load_reference_organisations(workspace, allocation_file)
    organisations, populations = read_allocation_hierarchy(allocation_file)
    tree = OrgTree.build(organisations)
    if icb_code not in tree or tree.get(icb_code).kind is not OrgKind.ICB:
        raise PositionError(f"{icb_code!r} is not an ICB in {allocation_file.name}")
    commissioners = [org.code for org in tree.descendants(icb_code) if org.kind is OrgKind.SUB_ICB]
    step("loading practice populations: weighted populations, list sizes and ASTRO-PU")
    import_populations(workspace, allocation_file)
    set_report_notes(workspace, [DEMO_NOTE])
    return tree, populations, commissioners


def build_demo(
    directory: Path,
    *,
    icb_code: str = "QU9",
    as_at: str = "2025-11",
    seed: int = 2025,
    reference_dir: Path | None = None,
    progress: Step | None = None,
    activity_scale: float = 1.0,
    pack: bool = False,
    trials: int = 10_000,
) -> DemoResult:
    """Build the workspace and run the month (``pack``: and write the board pack to ``directory/board-pack``);
    ``activity_scale`` shrinks the synthetic hospital activity for quick runs (1.0 is ICB scale)."""
    step = progress or (lambda _message: None)
    reference = reference_dir or default_reference_dir()
    if reference is None:
        raise BadInput(
            "the demo needs NHS England's weighted-population file: set OUTTURN_REFERENCE_DIR to the "
            "reference-data directory (../shared/reference-data beside the checkout)"
        )
    month = FinancialMonth.parse_as_at(as_at)
    _clear_previous_demo(directory)
    step(f"creating the workspace in {directory}")
    with init_workspace(
        directory, default_org=icb_code, default_as_at=as_at, reference_dir=reference, overwrite=True
    ) as workspace:
        tree, populations, commissioners = _load_organisations(workspace, reference, icb_code, step)
        registered = _registered_practices(tree, populations, commissioners)
        inputs = directory / "inputs"
        demo_contracts = _synthetic_contracts(
            workspace, inputs, reference, registered, month, seed, activity_scale, step
        )
        step(
            f"generating a SYNTHETIC ledger, plan and risks for {len(commissioners)} sub-ICB location(s) (seed {seed})"
        )
        economy = synthetic_economy(
            {code: population_of(populations, tree, code) for code in commissioners},
            month.year,
            month.number,
            seed,
            demo_contracts.spend,
        )
        mapping = write_contract_map(inputs / "contract-map.csv", contract_map(demo_contracts.spend))
        import_plans(workspace, write_plans(inputs / "plan.csv", economy.plans))
        import_risks(workspace, write_risks(inputs / "risks.csv", economy.risks))
        allocations = {plan.org_code: plan.allocation_pence for plan in economy.plans}
        monthly_cycle(workspace, economy, allocations, sorted(registered), month, inputs, reference, seed, step)
        _load_contracts(workspace, demo_contracts, month, step)
        evidenced_schemes(workspace, inputs, reference, registered, month, seed, step)
        step("mapping each contract to its ledger lines")
        import_contract_map(workspace, mapping, who="demo")
        main = demo_contracts.largest
        # the holders explain the month's variances before it closes: a closed month's commentary stands as it is
        step("writing SYNTHETIC commentary on the largest variances")
        commented = write_demo_commentary(workspace, icb_code, as_at)
        step(f"closing {month}")
        savings.close_month(workspace, month, "demo")
        position = compute_position(workspace, icb_code, as_at)
        held = population_of(populations, tree, icb_code).final
        growth = weighted_population_growth(reference, held, icb_code)
        plan = build_demo_plan(workspace, position, growth, inputs, step)
        holder = commented[0].budget_holder if commented else demo_trial_balance.BUDGET_HOLDERS[CostCategory.ACUTE]
        accounts = _demo_accounts(workspace, sorted(registered), holder)
        (icb_savings,) = savings.savings_rollup(workspace, month, RollupLevel.ICB, icb_code)
        statements = contracts.contract_statements(workspace, main[0], month)
        if not pack:
            return DemoResult(
                directory.resolve(), position, icb_savings, statements, accounts=accounts, contract_map_file=mapping,
                plan=plan,
            )  # fmt: skip
        written = recovery_scenarios(icb_code, month, commissioners[0], *main)
        scenarios = write_scenarios(workspace.path / "scenarios", written)
        request = PackRequest(org_code=icb_code, as_at=as_at, trials=trials, scenarios=tuple(scenarios))
        built, files = build_pack(workspace, directory / "board-pack", request, progress=step)
    return DemoResult(directory.resolve(), position, icb_savings, statements, built, files, accounts, mapping, plan)
