"""The monthly board pack: gather every section from the services the commands use, then write HTML, PDF, XLSX.

Each section is the result its own command prints (``position``, ``savings rollup``, ``savings movement``,
``contracts statement``, ``benchmark``, ``scenario run``, ``risk simulate``, ``risks list``; ``patients
high-intensity``'s counts and pounds), computed by the same service for the same workspace and month, and kept
typed (``reports.pack.PackInputs``). A section whose data is not loaded (no contracts, no activity, no populations,
no month-end close) is left out with a note saying why; the position is the one thing required.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pyarrow as pa

from outturn.domain.activity import ActivityKind
from outturn.domain.benchmark import MEASURE_REGISTRY, BenchmarkSpec, Direction, find_measure
from outturn.domain.contracts import ContractError
from outturn.domain.errors import BadInput, NotFound
from outturn.domain.organisations import OrgTree
from outturn.domain.periods import FinancialMonth
from outturn.domain.position import Position
from outturn.domain.prescribing import BnfGrouping, OrgLevel
from outturn.domain.savings_rollup import RollupLevel, RollupRow
from outturn.engine import activity_series
from outturn.reports.pack import (
    BenchmarkSection,
    BoardPack,
    EvidencedScheme,
    ForecastHistory,
    FunnelSection,
    PackInputs,
    SchemeMovements,
    SpcSection,
    build_board_pack,
)
from outturn.reports.pack_documents import pack_documents
from outturn.reports.pack_html import render_html
from outturn.reports.pack_pdf import write_pdf
from outturn.reports.pack_xlsx import write_xlsx
from outturn.reports.patients import HighIntensitySummary, pack_summary
from outturn.services import registers, savings
from outturn.services.benchmark import DATE_COLUMNS, benchmark
from outturn.services.commentary import CommentaryDigest, pack_commentary
from outturn.services.contract_ledger import every_statement
from outturn.services.contract_reconciliation import reconcile_contracts
from outturn.services.contracts import ContractStatement
from outturn.services.forecast_history import position_history
from outturn.services.patients import high_intensity_users
from outturn.services.position import PositionError, compute_backtest, compute_position
from outturn.services.prescribing import prescribing_measures, stored_months
from outturn.services.pricing import ACTIVITY_TABLES
from outturn.services.risk import simulate_year_end, summarise
from outturn.services.savings import SavingsError
from outturn.services.scenarios import run_scenario
from outturn.services.workspace import Workspace
from outturn.stats.funnel import FunnelGroup, FunnelKind, funnel
from outturn.stats.spc import spc
from outturn.stats.spc_rules import ImprovementDirection
from outturn.store import repository

NOTES_TABLE = "report_notes"  # one column, ``note``: what every report of the workspace must say (SYNTHETIC data)
BENCHMARK_MEASURES = ("emergency_admissions", "gp_referrals")
SPC_MEASURES = ("emergency_admissions", "ae_attendances", "gp_referrals")
FORMATS = ("html", "pdf", "xlsx")
PER_THOUSAND = 1000.0

Progress = Callable[[str], None]


@dataclass(frozen=True)
class PackRequest:
    org_code: str | None = None
    as_at: str | None = None
    method: str | None = None
    trials: int = 10_000
    seed: int = 1
    scenarios: tuple[Path, ...] = ()
    benchmark_measures: tuple[str, ...] = BENCHMARK_MEASURES
    spc_measures: tuple[str, ...] = SPC_MEASURES


@dataclass(frozen=True)
class PackFiles:
    html: Path | None = None
    pdf: Path | None = None
    xlsx: Path | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {name: str(path) if path else None for name, path in vars(self).items()}


def previous_month(month: FinancialMonth) -> FinancialMonth | None:
    return month.year.month(month.number - 1) if month.number > 1 else None


def _tree(workspace: Workspace) -> OrgTree:
    with workspace.store.reading() as session:
        return repository.org_tree(session)


def _previous_position(workspace: Workspace, request: PackRequest, org: str, month: FinancialMonth) -> Position | None:
    before = previous_month(month)
    if before is None:
        return None
    try:
        return compute_position(workspace, org, before.calendar_label, request.method)
    except PositionError:
        return None


def _savings(
    workspace: Workspace, org: str, name: str, month: FinancialMonth, notes: list[str]
) -> tuple[RollupRow | None, tuple[RollupRow, ...], SchemeMovements | None]:
    """The organisation's savings total (every scheme and target under it), by workstream, and the movement
    between last month's close and this month's, each scheme with its workstream."""
    total_rows = savings.savings_rollup(workspace, month, RollupLevel.NATIONAL, org)
    total = replace(total_rows[0], level=RollupLevel.ORGANISATION, code=org, name=name) if total_rows else None
    workstreams = savings.savings_rollup(workspace, month, RollupLevel.WORKSTREAM, org)
    before = previous_month(month)
    if before is None or total is None:
        return total, workstreams, None
    try:
        items = savings.movement(workspace, before, month)
    except SavingsError as error:
        notes.append(f"savings movement not shown: {error}")
        return total, workstreams, None
    scope = _tree(workspace).subtree_codes(org)
    workstream_of = {
        view.scheme.reference: view.scheme.workstream.value for view in savings.list_schemes(workspace, month, org)
    }
    mine = tuple(item for item in items if item.org_code in scope)
    return total, workstreams, SchemeMovements(mine, workstream_of)


def _savings_evidence(workspace: Workspace, org: str, month: FinancialMonth) -> tuple[EvidencedScheme, ...]:
    """The organisation's schemes with an activity measure, each evidenced beside its reported delivery."""
    return tuple(
        EvidencedScheme(view.scheme, view.rag, view.evidence)
        for view in savings.list_schemes(workspace, month, org)
        if view.evidence is not None
    )


def contract_statements(workspace: Workspace, org: str, month: FinancialMonth) -> list[ContractStatement]:
    """The statement of every contract whose commissioner is the organisation or under it (``contracts
    statement --provider P`` for each provider, those rows kept; the activity priced once for all of them)."""
    scope = _tree(workspace).subtree_codes(org)
    return sorted(
        (s for s in every_statement(workspace, month) if s.contract.commissioner in scope),
        key=lambda s: (s.contract.provider, s.contract.commissioner),
    )


def benchmark_sections(
    workspace: Workspace, org: str, month: FinancialMonth, measures: Sequence[str], notes: list[str]
) -> list[BenchmarkSection]:
    """Each measure benchmarked across the organisation's practices at the median (``outturn benchmark``'s
    defaults), with its funnel plot: activity per 1,000 weighted population (Spiegelhalter, overdispersion)."""
    sections = []
    for name in measures:
        measure = find_measure(name)
        try:
            result = benchmark(workspace, measure, org=org, year=month.year)
        except ValueError as error:
            notes.append(f"benchmark {name} not shown: {error}")
            continue
        groups = [
            FunnelGroup(row["org_code"], float(row["activity"]), float(row["weighted_population"]))
            for row in result.rows
            if row["weighted_population"]
        ]
        try:
            plot = funnel(groups, FunnelKind.RATE, multiplier=PER_THOUSAND) if len(groups) > 1 else None
        except ValueError:
            plot = None
        sections.append(
            BenchmarkSection(
                measure=measure,
                benchmark=BenchmarkSpec().kind.value,
                benchmark_rate=result.practice_benchmark_rate,
                rows=tuple(result.rows),
                funnel=plot,
                result=result,
            )
        )
    return sections


def generic_rate_funnel(workspace: Workspace, org: str, notes: list[str]) -> FunnelSection | None:
    """The generic prescribing rate of the organisation's practices in the latest month held, as a funnel plot."""
    if not stored_months(workspace):
        return None
    try:
        document = prescribing_measures(workspace, level=OrgLevel.PRACTICE, grouping=BnfGrouping.ALL)
    except ValueError as error:
        notes.append(f"generic prescribing not shown: {error}")
        return None
    scope = _tree(workspace).subtree_codes(org)
    groups = [
        FunnelGroup(row["org"], float(row["generic_items"]), float(row["generic_eligible_items"]))
        for row in document["rows"]
        if row["org"] in scope and row["generic_eligible_items"]
    ]
    if len(groups) < 2:
        return None
    return FunnelSection(
        f"Generic prescribing rate, {document['month']}",
        "Items written generically as a share of items of medicines with a generic equivalent (OpenPrescribing's "
        f"definition), by practice, {document['month']}; low is the concern.",
        funnel(groups, FunnelKind.PROPORTION),
    )


def _month_end(month: FinancialMonth) -> date:
    return date(
        month.calendar_year, month.calendar_month, calendar.monthrange(month.calendar_year, month.calendar_month)[1]
    )


def spc_sections(workspace: Workspace, org: str, month: FinancialMonth, measures: Sequence[str]) -> list[SpcSection]:
    """Weekly counts of key activity for the organisation's commissioners, whole weeks from 1 April to the end of
    the as-at month, as XmR charts (more is worse for each of these measures)."""
    weeks = activity_series.whole_weeks(date(month.year.start_year, 4, 1), _month_end(month))
    backend = workspace.backend
    if weeks is None:
        return []
    scope = sorted(_tree(workspace).subtree_codes(org))
    sections = []
    for name in measures:
        measure = MEASURE_REGISTRY[name]
        kind = ActivityKind(measure.source)
        if not backend.has_table(ACTIVITY_TABLES[kind]):
            continue
        expression = activity_series.weekly_units(
            backend.stored_table(ACTIVITY_TABLES[kind]),
            measure,
            DATE_COLUMNS[kind],
            first_day=weeks[0],
            last_day=weeks[1],
            commissioners=scope,
        )
        counted = {row["week_start"]: row["units"] for row in backend.to_rows(expression)}
        if not counted:
            continue
        periods = activity_series.week_starts(*weeks)
        direction = (
            ImprovementDirection.DECREASE
            if measure.direction is Direction.HIGH_IS_BAD
            else ImprovementDirection.INCREASE
        )
        result = spc(
            [day.isoformat() for day in periods],
            [float(counted.get(day, 0)) for day in periods],
            improvement_direction=direction,
        )
        sections.append(SpcSection(f"{measure.unit.capitalize()} a week", name, measure.unit, result))
    return sections


def report_notes(workspace: Workspace) -> list[str]:
    """What the workspace says every report must carry (the demo: that its data are SYNTHETIC)."""
    backend = workspace.backend
    if not backend.has_table(NOTES_TABLE):
        return []
    return [str(row["note"]) for row in backend.to_rows(backend.stored_table(NOTES_TABLE))]


def set_report_notes(workspace: Workspace, notes: Sequence[str]) -> None:
    workspace.backend.store_table(NOTES_TABLE, pa.table({"note": pa.array(list(notes), pa.string())}))


def _commentary(workspace: Workspace, org: str, as_at: str, notes: list[str]) -> CommentaryDigest | None:
    """The budget holders' commentary on the organisation's largest variances, for the narrative."""
    try:
        return pack_commentary(workspace, org, as_at)
    except BadInput as error:
        notes.append(f"commentary not shown: {error}")
        return None


def _high_intensity(workspace: Workspace, month: FinancialMonth, notes: list[str]) -> HighIntensitySummary | None:
    """How many patients are high-intensity users as at the month and what their activity cost (``patients
    high-intensity``'s ``flagged`` figures): counts and pounds only, never the patients."""
    try:
        return pack_summary(high_intensity_users(workspace, month, flags_only=True))
    except (BadInput, NotFound) as error:
        notes.append(f"high-intensity users not shown: {error}")
        return None


def gather_pack(
    workspace: Workspace, request: PackRequest = PackRequest(), progress: Progress | None = None
) -> BoardPack:
    """Every section of the month's board pack, from the workspace."""
    step = progress or (lambda _message: None)
    notes = report_notes(workspace)
    step(f"computing the position and simulating the year end ({request.trials:,} trials)")
    simulation = simulate_year_end(
        workspace,
        trials=request.trials,
        seed=request.seed,
        org_code=request.org_code,
        as_at=request.as_at,
        method=request.method,
    )
    position = simulation.inputs.position  # the simulation's own position: computed once
    org, month = position.org_code, position.as_at
    as_at = month.calendar_label
    step("rolling up the savings plan and its movement since last month's close")
    total, workstreams, movement = _savings(workspace, org, position.org_name, month, notes)
    step("pricing the contract statements")
    try:
        statements = contract_statements(workspace, org, month)
    except ContractError as error:
        statements = []
        notes.append(f"contracts not shown: {error}")
    reconciled = None
    if statements:
        try:
            reconciled = reconcile_contracts(workspace, month, org)
        except BadInput as error:  # a line set to the contract method with no contract, say
            notes.append(f"contracts not reconciled to the ledger: {error}")
    risk = summarise(simulation)
    notes.extend(f"risk: {note}" for note in risk.notes)
    scenarios = []
    for path in request.scenarios:
        step(f"running the scenario {path.name}")
        scenarios.append(run_scenario(workspace, path, org_code=org, as_at=as_at, method=request.method))
    step("benchmarking practices and charting key activity")
    benchmarks = benchmark_sections(workspace, org, month, request.benchmark_measures, notes)
    generic = generic_rate_funnel(workspace, org, notes)
    step("back-testing the forecast methods on the past years held")
    backtest = compute_backtest(workspace, org, as_at)
    step("counting the high-intensity users")
    high_intensity = _high_intensity(workspace, month, notes)
    inputs = PackInputs(
        position=position,
        previous_position=_previous_position(workspace, request, org, month),
        savings_total=total,
        savings_workstreams=workstreams,
        savings_movement=movement,
        savings_evidence=_savings_evidence(workspace, org, month),
        contracts=statements,
        organisation_names={code: item.name for code, item in _tree(workspace).by_code.items()},
        risk=risk,
        register=registers.risk_register(workspace, org, month.year),
        scenarios=scenarios,
        benchmarks=benchmarks,
        funnels=[generic] if generic else [],
        spc=spc_sections(workspace, org, month, request.spc_measures),
        notes=notes,
        backtest=backtest,
        forecast_history=ForecastHistory(*position_history(workspace, org, up_to=month)),
        contract_reconciliation=reconciled,
        commentary=_commentary(workspace, org, as_at, notes),
        high_intensity=high_intensity,
    )
    return build_board_pack(inputs)


def pack_stem(pack: BoardPack) -> str:
    return f"board-pack-{pack.headline.org_code}-{pack.headline.as_at}"


def write_pack(
    pack: BoardPack, out_dir: Path, formats: Sequence[str] = FORMATS, progress: Progress | None = None
) -> PackFiles:
    """Write the pack's HTML, PDF and XLSX (those asked for) to ``out_dir``."""
    step = progress or (lambda _message: None)
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise BadInput(f"unknown pack format(s) {', '.join(unknown)} (choose from {', '.join(FORMATS)})")
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir.resolve() / pack_stem(pack)
    files: dict[str, Path] = {}
    docs = pack_documents(pack)
    if "html" in formats or "pdf" in formats:
        step("drawing the charts and writing the HTML")
        html = render_html(pack, docs)
        if "html" in formats:
            files["html"] = stem.with_suffix(".html")
            files["html"].write_text(html, encoding="utf-8")
        if "pdf" in formats:
            step("laying out the PDF (WeasyPrint)")
            files["pdf"] = write_pdf(html, stem.with_suffix(".pdf"))
    if "xlsx" in formats:
        step("writing the XLSX")
        files["xlsx"] = write_xlsx(pack, stem.with_suffix(".xlsx"), docs)
    return PackFiles(**files)


def build_pack(
    workspace: Workspace,
    out_dir: Path,
    request: PackRequest = PackRequest(),
    formats: Sequence[str] = FORMATS,
    progress: Progress | None = None,
) -> tuple[BoardPack, PackFiles]:
    pack = gather_pack(workspace, request, progress)
    return pack, write_pack(pack, out_dir, formats, progress)
