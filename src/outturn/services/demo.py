"""The main job: build a demo workspace from real reference data and a SYNTHETIC ledger, and report it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from outturn.demo.activity import activity_path, generate_activity
from outturn.demo.files import write_contract_plans, write_ledger, write_plans, write_risks
from outturn.demo.ledger import synthetic_economy
from outturn.demo.savings import synthetic_savings
from outturn.domain.activity import ActivityKind
from outturn.domain.organisations import OrgKind, OrgTree
from outturn.domain.periods import FinancialMonth
from outturn.domain.populations import PracticePopulation, population_of
from outturn.domain.position import Position
from outturn.domain.savings_rollup import RollupLevel, RollupRow
from outturn.ingest.organisations import find_allocation_file, read_allocation_hierarchy
from outturn.reports.savings_workbook import write_savings_workbook
from outturn.services import contracts, savings
from outturn.services.contracts import ContractStatement
from outturn.services.imports import import_ledger, import_plans, import_risks
from outturn.services.organisations import load_reference_organisations
from outturn.services.populations import import_populations
from outturn.services.position import PositionError, compute_position
from outturn.services.workspace import Workspace, init_workspace
from outturn.settings import SETTINGS_FILE, STORE_FILE, WAREHOUSE_FILE, default_reference_dir


@dataclass(frozen=True)
class DemoResult:
    workspace: Path
    position: Position
    savings: RollupRow
    statements: list[ContractStatement]


MAIN_PROVIDER = "RTH"  # Oxford University Hospitals: the demo ICB's largest acute contract
CONTRACT_GROWTH = "0.02"  # contract plans: last year's outturn plus 2%
ACTIVITY_GROWTH = "1.045"  # this year's activity: 4.5% more than last year's, so contracts over-perform


def _contracts(
    workspace: Workspace,
    inputs: Path,
    reference: Path,
    registered: Mapping[str, tuple[str, float]],
    month: FinancialMonth,
    seed: int,
    step: Callable[[str], None],
) -> list[ContractStatement]:
    """SYNTHETIC activity for last year and this, contracts rolled forward from last year, this year's statement."""
    files: dict[int, dict[ActivityKind, Path]] = {}
    for offset, year in ((1, month.year.previous()), (0, month.year)):
        step(f"generating SYNTHETIC hospital activity for {year} (ICB scale)")
        folder = inputs / f"activity-{year.start_year}"
        generate_activity(
            folder,
            reference_dir=reference,
            scale="icb",
            seed=seed,
            year=year.start_year,
            registered=registered,
            scale_factor=1.0 if offset else float(ACTIVITY_GROWTH),
        )
        files[offset] = {kind: activity_path(folder, kind) for kind in ActivityKind}
    step("pricing last year's activity and rolling the contracts forward")
    last_year = contracts.outturn_by_contract(workspace, files[1], month.year.previous())
    plan = write_contract_plans(inputs / "contracts.csv", last_year, month.year.label, CONTRACT_GROWTH)
    contracts.import_contracts(workspace, plan)
    step("loading this year's activity and pricing the contract statement")
    for kind, path in files[0].items():
        contracts.import_activity(workspace, path, kind)
    return contracts.contract_statements(workspace, MAIN_PROVIDER, month)


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


def _clear_previous_demo(directory: Path) -> None:
    for name in (SETTINGS_FILE, STORE_FILE, WAREHOUSE_FILE, f"{WAREHOUSE_FILE}.wal"):
        (directory / name).unlink(missing_ok=True)


def build_demo(
    directory: Path,
    *,
    icb_code: str = "QU9",
    as_at: str = "2025-11",
    seed: int = 2025,
    reference_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    step = progress or (lambda _message: None)
    reference = reference_dir or default_reference_dir()
    if reference is None:
        raise FileNotFoundError(
            "the demo needs NHS England's weighted-population file: set OUTTURN_REFERENCE_DIR to the "
            "reference-data directory (../shared/reference-data beside the checkout)"
        )
    month = FinancialMonth.parse_as_at(as_at)
    _clear_previous_demo(directory)
    step(f"creating the workspace in {directory}")
    with init_workspace(
        directory, default_org=icb_code, default_as_at=as_at, reference_dir=reference, overwrite=True
    ) as workspace:
        allocation_file = find_allocation_file(reference)
        step(f"loading organisations from {allocation_file.name}")
        load_reference_organisations(workspace, allocation_file)
        organisations, populations = read_allocation_hierarchy(allocation_file)
        tree = OrgTree.build(organisations)
        if icb_code not in tree or tree.get(icb_code).kind is not OrgKind.ICB:
            raise PositionError(f"{icb_code!r} is not an ICB in {allocation_file.name}")
        commissioners = [org.code for org in tree.descendants(icb_code) if org.kind is OrgKind.SUB_ICB]
        step(f"generating a SYNTHETIC ledger for {len(commissioners)} sub-ICB location(s) (seed {seed})")
        economy = synthetic_economy(
            {code: population_of(populations, tree, code) for code in commissioners}, month.year, month.number, seed
        )
        inputs = directory / "inputs"
        step("importing plan, ledger and risks")
        import_plans(workspace, write_plans(inputs / "plan.csv", economy.plans))
        import_ledger(workspace, write_ledger(inputs / "ledger.csv", economy.ledger))
        import_risks(workspace, write_risks(inputs / "risks.csv", economy.risks))
        step("importing a SYNTHETIC savings plan (QIPP) and closing the month")
        schemes, targets = synthetic_savings(
            {plan.org_code: plan.allocation_pence for plan in economy.plans}, month.year, month.number, seed
        )
        savings.import_workbook(workspace, write_savings_workbook(inputs / "savings.xlsx", schemes, targets), "demo")
        savings.close_month(workspace, month, "demo")
        step(f"computing the position as at {month}")
        position = compute_position(workspace, icb_code, as_at)
        (icb_savings,) = savings.savings_rollup(workspace, month, RollupLevel.ICB, icb_code)
        step("loading practice populations: weighted populations, list sizes and ASTRO-PU")
        import_populations(workspace, allocation_file)
        registered = _registered_practices(tree, populations, commissioners)
        statements = _contracts(workspace, inputs, reference, registered, month, seed, step)
    return DemoResult(directory.resolve(), position, icb_savings, statements)
