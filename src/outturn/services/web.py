"""What the web application asks of the services beyond the single use-cases: the overview page's figures, a
cheap stamp that changes whenever the store's data does (so the web can cache computed pages), and the
version conflict it shows as a comparison (re-exported so that the web never imports the store)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from outturn.domain.errors import BadInput
from outturn.domain.periods import FinancialYear
from outturn.domain.plans import RiskItem, RiskKind
from outturn.domain.position import Position
from outturn.domain.savings import SavingsFigures
from outturn.domain.savings_rollup import RollupLevel
from outturn.ingest.scenarios import FORMATS, example_scenario_files
from outturn.reports.risk import fan_document, reconciliation_document
from outturn.services.position import compute_position
from outturn.services.reconciliation import reconciliation
from outturn.services.risk import fan_months, simulate_year_end
from outturn.services.savings import savings_rollup
from outturn.services.workspace import Workspace
from outturn.stats import montecarlo
from outturn.store import contracts_repository, repository
from outturn.store import savings_repository as savings_store
from outturn.store import stamps as stored_stamps
from outturn.store.savings_repository import VersionConflict

__all__ = [
    "ContractSummary",
    "MonthEndClose",
    "Overview",
    "VersionConflict",
    "contract_summaries",
    "data_stamps",
    "month_end_closes",
    "overview",
    "scenario_files",
]

OVERVIEW_TRIALS = 4_000
OVERVIEW_SEED = 1
TOP_RISKS = 5


@dataclass(frozen=True)
class Overview:
    position: Position
    p_meet_control_total: float | None  # None where the simulation could not run
    trials: int
    top_risks: tuple[RiskItem, ...]  # risks (not mitigations) by expected value, largest first
    savings: SavingsFigures
    notes: tuple[str, ...]
    fan: tuple[dict[str, Any], ...] = ()  # the simulated year-end by remaining month (``risk simulate``'s fan)
    reconciliation: dict[str, Any] | None = None  # likely to simulated mean (``risk simulate``'s reconciliation)


# The kinds of data a cached page reads, besides one per import kind ("ledger", "plan", "risks", "contracts",
# "prescribing", "activity …", "organisations"): each has its own stamp (``data_stamps``).
SAVINGS = "savings"  # the savings register: schemes and targets
CLOSES = "closes"  # month-end closes and reopens
OVERRIDES = "overrides"  # forecast overrides
ORGANISATIONS = "organisations"
AUDITED = {"scheme": SAVINGS, "target": SAVINGS, "close": CLOSES}  # audit trail entity -> the kind it changes


def data_stamps(workspace: Workspace) -> dict[str, Any]:
    """One stamp per kind of data, which moves whenever a stored figure of that kind may have changed and never
    when none did, so a cache can drop only what read the kinds that moved:

    - each import kind: the newest import of that kind whose file differs from the import of that kind before it
      (importing the same file again stores the same figures, as ``imports.is_last_import`` has it);
    - the savings register and month closes: their newest audit entry (every change to them is audited, and an
      unchanged scheme in a re-imported workbook is not);
    - overrides: how many and the newest; organisations: their import kind's stamp and how many there are.
    """
    with workspace.store.reading() as session:
        stamps: dict[str, Any] = dict(stored_stamps.changing_imports(session))
        for entity, newest in stored_stamps.newest_audit_entries(session).items():
            kind = AUDITED.get(entity, f"audit {entity}")
            stamps[kind] = max(newest, stamps.get(kind, newest))
        stamps[OVERRIDES] = stored_stamps.overrides_stamp(session)
        stamps[ORGANISATIONS] = (stamps.get(ORGANISATIONS), stored_stamps.organisation_count(session))
    return stamps


def _top_risks(workspace: Workspace, position: Position) -> tuple[RiskItem, ...]:
    with workspace.store.reading() as session:
        items = repository.risks_for(session, position.member_codes, position.as_at.year)
    risks = [item for item in items if item.kind is RiskKind.RISK]
    risks.sort(key=lambda item: (-item.value_pence * item.likelihood, item.description))
    return tuple(risks[:TOP_RISKS])


def _savings(workspace: Workspace, position: Position) -> SavingsFigures:
    rows = savings_rollup(workspace, position.as_at, RollupLevel.ORGANISATION, position.org_code)
    return sum((row.figures for row in rows), SavingsFigures())


def overview(workspace: Workspace, org_code: str | None = None, as_at: str | None = None) -> Overview:
    """The position, the chance of meeting the control total, the largest risks and savings delivery."""
    notes: list[str] = []
    try:
        simulation = simulate_year_end(
            workspace, trials=OVERVIEW_TRIALS, seed=OVERVIEW_SEED, org_code=org_code, as_at=as_at
        )
        position = simulation.inputs.position
        p_meet: float | None = float(montecarlo.p_meet(simulation.result))
        fan = tuple(fan_document(fan_months(simulation.result)))
        reconciled: dict[str, Any] | None = reconciliation_document(reconciliation(position, simulation.result))
        notes.extend(simulation.inputs.notes)
    except BadInput as error:  # a model the simulation cannot take; the position still stands
        position = compute_position(workspace, org_code, as_at)
        p_meet = None
        fan = ()
        reconciled = None
        notes.append(f"risk simulation not run: {error}")
    return Overview(
        position,
        p_meet,
        OVERVIEW_TRIALS,
        _top_risks(workspace, position),
        _savings(workspace, position),
        tuple(notes),
        fan,
        reconciled,
    )


@dataclass(frozen=True)
class ContractSummary:
    """One provider × commissioner contract of a year, as the contracts list shows it."""

    provider: str
    provider_name: str | None
    commissioner: str
    annual_plan_pence: int
    annual_plan_activity: int
    block_pence: int


def contract_summaries(workspace: Workspace, year: FinancialYear) -> list[ContractSummary]:
    """Every contract held for ``year``, by provider then commissioner, with the provider's name where known."""
    with workspace.store.reading() as session:
        contracts = contracts_repository.load_contracts(session, year)
        names = repository.org_tree(session).by_code
    return [
        ContractSummary(
            contract.provider,
            names[contract.provider].name if contract.provider in names else None,
            contract.commissioner,
            sum(line.pence for line in contract.plan),
            sum(line.activity for line in contract.plan),
            sum(block.annual_pence for block in contract.blocks),
        )
        for contract in contracts
    ]


SCENARIO_SUFFIXES = tuple(FORMATS)


def scenario_files(workspace: Workspace) -> dict[str, Path]:
    """The scenario files a user may pick, by the name the page shows: ``scenarios/NAME`` from the workspace's
    ``scenarios`` folder, then ``examples/NAME`` from the examples shipped with outturn."""
    found: dict[str, Path] = {}
    folder = workspace.path / "scenarios"
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix.lower() in SCENARIO_SUFFIXES:
                found[f"scenarios/{path.name}"] = path
    found.update({f"examples/{name}": path for name, path in example_scenario_files().items()})
    return found


@dataclass(frozen=True)
class MonthEndClose:
    """A savings month-end close: the year's start, the month number (April = 1), when and by whom."""

    start_year: int
    month: int
    closed_at: datetime
    closed_by: str


def month_end_closes(workspace: Workspace) -> list[MonthEndClose]:
    """Every savings month-end close, oldest first."""
    with workspace.store.reading() as session:
        return [MonthEndClose(*row) for row in savings_store.list_closes(session)]
