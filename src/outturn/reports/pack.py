"""The monthly board pack as one record of every figure it shows (pure: no I/O).

Each section holds the typed result that the section's own command prints — ``outturn position`` (a ``Position``),
``savings rollup`` (``RollupRow``), ``savings movement`` (``Movement``), ``contracts statement`` (a ``Statement``),
``benchmark``, ``scenario run``, ``risks list`` (``RiskItem``), ``forecast backtest``, ``position history``,
``contracts reconcile``, ``risk simulate`` (a ``SimulatedYearEnd``: its figures computed from the trials by
``services.risk.summarise``) — from the same service calls. JSON is built only at the edge:
``reports.pack_documents`` turns each section into its command's document with the command's own builder, and the
HTML and XLSX show those documents, so their figures reconcile with the JSON outputs by construction (and the tests
check that they do). What the pack adds is derived here from the typed results, by stated rules: the headline, each
workstream's RAG and movement since last month, the contracts' over-performance summary and the narrative.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from outturn.domain.activity import POINT_OF_DELIVERY_LABELS
from outturn.domain.backtest import Backtest
from outturn.domain.benchmark import Measure
from outturn.domain.commentary import CommentaryDigest
from outturn.domain.contract_reconciliation import Reconciliation
from outturn.domain.forecast_history import HistoryMonth
from outturn.domain.ledger import CostCategory
from outturn.domain.money import Pence
from outturn.domain.organisations import Organisation
from outturn.domain.periods import FinancialYear
from outturn.domain.plans import RiskItem, RiskKind
from outturn.domain.position import Position
from outturn.domain.savings import GREEN_DELIVERY, RED_DELIVERY, RagAssessment, SavingsFigures, Scheme
from outturn.domain.savings_rollup import Movement, RollupRow
from outturn.domain.scenario_effects import ScenarioResult
from outturn.domain.scenarios import Scenario
from outturn.domain.scheme_measures import Evidence
from outturn.domain.simulated_year_end import SimulatedYearEnd
from outturn.reports.benchmark import BenchmarkedRates
from outturn.reports.commentary_narrative import commentary_sentences
from outturn.reports.contracts import Statement
from outturn.reports.narrative import (
    BenchmarkLine,
    CategoryMovement,
    ContractsSummary,
    Headline,
    NarrativeFigures,
    RegisterLine,
    RiskHeadline,
    SavingsHeadline,
    SavingsMovement,
    ScenarioLine,
    write_narrative,
)
from outturn.reports.patients import HighIntensitySummary, summary_document
from outturn.stats.funnel import FunnelResult, Side
from outturn.stats.spc import SpcResult

_UPPER_WORDS = frozenset({"NHS", "ICB", "CCG", "PCT", "PCN", "UK", "GP"})


def tidy_name(name: str) -> str:
    """``OXFORD UNIVERSITY HOSPITALS NHS FOUNDATION TRUST`` as ``Oxford University Hospitals NHS Foundation Trust``;
    a name already in mixed case is left as it is."""
    if name != name.upper():
        return name
    return " ".join(word if word in _UPPER_WORDS else word.capitalize() for word in name.split())


@dataclass(frozen=True)
class WorkstreamRow:
    """A workstream's savings (``savings rollup --level workstream``), its RAG and its movement since last month."""

    row: RollupRow
    rag: str
    forecast_change_pence: Pence | None = None
    delivered_change_pence: Pence | None = None
    risk_adjusted_change_pence: Pence | None = None


@dataclass(frozen=True)
class SchemeMovements:
    """The scheme movements between last month's close and this month's (``savings movement``), each scheme's
    workstream by its reference (``other`` when the scheme is no longer listed)."""

    items: tuple[Movement, ...]
    workstream_of: Mapping[str, str] = field(default_factory=dict)

    def workstream(self, item: Movement) -> str:
        return self.workstream_of.get(item.reference, "other")

    @property
    def forecast_change_pence(self) -> Pence:
        return sum(item.forecast_change_pence for item in self.items)

    @property
    def delivered_change_pence(self) -> Pence:
        return sum(item.delivered_change_pence for item in self.items)


# look-alike of domain/plans.py:_Allocated (shape only): declarative, a class's fields.
class ScenarioRun(Protocol):
    """A scenario run (``outturn scenario run FILE``): what ``reports.scenarios.scenario_document`` reads."""

    @property
    def source(self) -> str: ...
    @property
    def scenario(self) -> Scenario: ...
    @property
    def result(self) -> ScenarioResult: ...
    @property
    def warnings(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class ForecastHistory:
    """The organisation's forecast at each month-end close of the year (``outturn position history``)."""

    org: Organisation
    year: FinancialYear
    months: tuple[HistoryMonth, ...]


@dataclass(frozen=True)
class BenchmarkSection:
    """A measure benchmarked across the organisation's practices (``outturn benchmark --measure NAME``)."""

    measure: Measure
    benchmark: str  # median, upper-quartile, ...
    benchmark_rate: float | None
    rows: tuple[Mapping[str, Any], ...]  # the engine's practice rows (``engine.ROW_COLUMNS``)
    funnel: FunnelResult | None = None
    result: BenchmarkedRates | None = None  # what ``outturn benchmark --format json`` prints (reports.benchmark)

    @property
    def practices_above(self) -> int:
        return sum(1 for row in self.rows if row["above_benchmark"])

    @property
    def opportunity_activity(self) -> float:
        return float(sum(row["opportunity_activity"] or 0 for row in self.rows))

    @property
    def opportunity_pence(self) -> Pence | None:
        values = [row["opportunity_pence"] for row in self.rows]
        return None if any(value is None for value in values) else sum(values)

    @property
    def funnel_high(self) -> int | None:
        if self.funnel is None:
            return None
        return sum(1 for point in self.funnel.points if point.outlier is Side.HIGH)


# look-alike of reports/narrative.py:RegisterLine (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class FunnelSection:
    title: str
    description: str
    result: FunnelResult


@dataclass(frozen=True)
class SpcSection:
    title: str
    measure: str
    unit: str
    result: SpcResult


@dataclass(frozen=True)
class EvidencedScheme:
    """A scheme with an activity measure: its delivery evidenced from the activity held, beside the reported."""

    scheme: Scheme
    rag: RagAssessment
    evidence: Evidence


@dataclass(frozen=True)
class PackInputs:
    """What the services computed for the month, as the domain's results."""

    position: Position
    previous_position: Position | None = None
    savings_total: RollupRow | None = None  # the organisation's total, every scheme and target under it
    savings_workstreams: Sequence[RollupRow] = ()
    savings_movement: SchemeMovements | None = None
    contracts: Sequence[Statement] = ()  # ``contracts statement`` for each contract in scope
    organisation_names: Mapping[str, str] = field(default_factory=dict)
    risk: SimulatedYearEnd | None = None  # ``risk simulate``
    register: Sequence[RiskItem] = ()
    scenarios: Sequence[ScenarioRun] = ()
    benchmarks: Sequence[BenchmarkSection] = ()
    funnels: Sequence[FunnelSection] = ()  # funnel plots beyond the benchmarks' own (the generic prescribing rate)
    spc: Sequence[SpcSection] = ()
    notes: Sequence[str] = ()
    backtest: Backtest | None = None  # ``forecast backtest``
    forecast_history: ForecastHistory | None = None  # ``outturn position history``, to the pack's month
    contract_reconciliation: Reconciliation | None = None  # ``contracts reconcile``, the pack's contracts
    commentary: CommentaryDigest | None = None  # the budget holders' commentary the narrative quotes
    high_intensity: HighIntensitySummary | None = None  # ``patients high-intensity``: counts and pounds only
    savings_evidence: Sequence[EvidencedScheme] = ()  # the schemes with a measure (``savings list``'s rows)


@dataclass(frozen=True)
class BoardPack:
    headline: Headline
    narrative: tuple[str, ...]
    position: Position
    previous_position: Position | None
    savings_total: RollupRow | None
    workstreams: tuple[WorkstreamRow, ...]
    savings_movement: SchemeMovements | None
    contracts: tuple[Statement, ...]
    organisation_names: Mapping[str, str]
    risk: SimulatedYearEnd | None
    register: tuple[RiskItem, ...]
    scenarios: tuple[ScenarioRun, ...]
    benchmarks: tuple[BenchmarkSection, ...]
    funnels: tuple[FunnelSection, ...]
    spc: tuple[SpcSection, ...]
    notes: tuple[str, ...]
    backtest: Backtest | None = None
    forecast_history: ForecastHistory | None = None
    contract_reconciliation: Reconciliation | None = None
    commentary: CommentaryDigest | None = None
    high_intensity: HighIntensitySummary | None = None
    savings_evidence: tuple[EvidencedScheme, ...] = ()

    def name_of(self, code: str) -> str:
        return tidy_name(self.organisation_names.get(code, code))


# --- derived figures -----------------------------------------------------------------------------------------


def workstream_rag(figures: SavingsFigures) -> str:
    """The scheme rules for delivery applied to a workstream's totals, worst finding wins: delivered to date under
    95% of plan to date, or the year's forecast under 95% of plan, is amber; under 80% red."""
    ratios = [
        Decimal(figures.delivered_pence) / figures.plan_to_date_pence if figures.plan_to_date_pence > 0 else None,
        Decimal(figures.forecast_pence) / figures.plan_pence if figures.plan_pence > 0 else None,
    ]
    found = [ratio for ratio in ratios if ratio is not None]
    if any(ratio < RED_DELIVERY for ratio in found):
        return "red"
    return "amber" if any(ratio < GREEN_DELIVERY for ratio in found) else "green"


@dataclass
class _Change:
    forecast: Pence = 0
    delivered: Pence = 0
    risk_adjusted: Pence = 0


def movement_by_workstream(movement: SchemeMovements | None) -> dict[str, _Change]:
    """The scheme movements between two closes summed by workstream."""
    totals: dict[str, _Change] = {}
    if movement is None:
        return totals
    for item in movement.items:
        into = totals.setdefault(movement.workstream(item), _Change())
        into.forecast += item.forecast_change_pence
        into.delivered += item.delivered_change_pence
        into.risk_adjusted += item.risk_adjusted_change_pence
    return totals


def workstream_rows(workstreams: Sequence[RollupRow], movement: SchemeMovements | None) -> tuple[WorkstreamRow, ...]:
    moved = movement_by_workstream(movement)
    rows = []
    for row in workstreams:
        change = moved.get(row.code, _Change())
        has = movement is not None
        rows.append(
            WorkstreamRow(
                row,
                workstream_rag(row.figures),
                change.forecast if has else None,
                change.delivered if has else None,
                change.risk_adjusted if has else None,
            )
        )
    return tuple(rows)


def _savings_headline(total: RollupRow | None) -> SavingsHeadline | None:
    if total is None:
        return None
    figures = total.figures
    red, amber, green = figures.rag_counts
    return SavingsHeadline(
        plan_pence=figures.plan_pence,
        plan_to_date_pence=figures.plan_to_date_pence,
        delivered_pence=figures.delivered_pence,
        forecast_pence=figures.forecast_pence,
        risk_adjusted_pence=figures.risk_adjusted_pence,
        target_pence=figures.target_pence,
        unidentified_pence=figures.unidentified_pence,
        red=red,
        amber=amber,
        green=green,
    )


# look-alike of _savings_headline above: declarative, a headline record built field by field.
def _risk_headline(risk: SimulatedYearEnd | None) -> RiskHeadline | None:
    if risk is None:
        return None
    top = risk.tornado[0] if risk.tornado else None
    return RiskHeadline(
        trials=risk.trials,
        p_meet_control_total=risk.p_meet_control_total,
        p10_pence=risk.p10_pence,
        p50_pence=risk.p50_pence,
        p90_pence=risk.p90_pence,
        top_driver=top.driver if top else None,
        top_swing_pence=top.swing_pence if top else 0,
        mean_pence=risk.mean_surplus_pence,
    )


def headline(inputs: PackInputs) -> Headline:
    position, previous = inputs.position, inputs.previous_position
    month = position.as_at
    return Headline(
        org_code=position.org_code,
        org_name=position.org_name,
        financial_year=month.year.label,
        month=month.label,
        as_at=month.calendar_label,
        period=f"{month.name} {month.calendar_year}",
        control_total_pence=position.control_total_pence,
        forecast_outturn_pence=position.forecast_outturn_pence,
        forecast_surplus_pence=position.forecast_surplus_pence,
        gap_pence=position.gap_to_control_total_pence,
        likely_surplus_pence=position.risk.likely_surplus_pence,
        best_surplus_pence=position.risk.best_surplus_pence,
        worst_surplus_pence=position.risk.worst_surplus_pence,
        previous_month=previous.as_at.label if previous else None,
        previous_gap_pence=previous.gap_to_control_total_pence if previous else None,
        savings=_savings_headline(inputs.savings_total),
        risk=_risk_headline(inputs.risk),
    )


def category_changes(position: Position, previous: Position | None) -> dict[CostCategory, Pence]:
    """Each category's forecast outturn less last month's (a category new this month: all of it)."""
    before = {row.category: row.forecast_outturn_pence for row in previous.by_category} if previous else {}
    return {row.category: row.forecast_outturn_pence - before.get(row.category, 0) for row in position.by_category}


def _categories(position: Position, previous: Position | None) -> tuple[CategoryMovement, ...]:
    changes = category_changes(position, previous)
    return tuple(
        CategoryMovement(row.category.label, row.forecast_variance_pence, changes[row.category] if previous else None)
        for row in position.by_category
    )


def over_performance_pence(statement: Statement) -> Pence:
    """The contract's forecast above its annual plan (after payment rules and agreed challenges)."""
    return statement.forecast_pence - statement.annual_plan_pence


def contracts_summary(contracts: Sequence[Statement], names: Mapping[str, str]) -> ContractsSummary | None:
    """The contracts' total over-performance, the contract with the most and its line with the most."""
    if not contracts:
        return None
    top = max(contracts, key=lambda s: (over_performance_pence(s), s.contract.provider, s.contract.commissioner))
    lines = [line for line in top.lines if line.point_of_delivery in POINT_OF_DELIVERY_LABELS]
    line = max(lines, key=lambda item: item.over_performance_pence, default=None)
    shown = line if line is not None and line.over_performance_pence > 0 else None
    provider = top.contract.provider
    return ContractsSummary(
        contracts=len(contracts),
        over_performance_pence=sum(over_performance_pence(s) for s in contracts),
        top_provider=provider,
        top_provider_name=tidy_name(names.get(provider, provider)),
        top_commissioner=top.contract.commissioner,
        top_over_performance_pence=over_performance_pence(top),
        top_line_label=POINT_OF_DELIVERY_LABELS[shown.point_of_delivery] if shown else None,
        top_line_over_performance_pence=shown.over_performance_pence if shown else 0,
    )


def _savings_movement(movement: SchemeMovements | None, workstreams: Sequence[WorkstreamRow]) -> SavingsMovement | None:
    if movement is None:
        return None
    change = movement.forecast_change_pence
    same_way = [
        row for row in workstreams if row.forecast_change_pence and (row.forecast_change_pence > 0) == (change > 0)
    ]
    top = max(same_way, key=lambda row: abs(row.forecast_change_pence or 0), default=None)
    return SavingsMovement(
        forecast_change_pence=change,
        delivered_change_pence=movement.delivered_change_pence,
        top_workstream=top.row.name if top else None,
        top_workstream_change_pence=(top.forecast_change_pence or 0) if top else 0,
    )


def largest_risks(register: Sequence[RiskItem]) -> tuple[RegisterLine, ...]:
    """Risks (not mitigations) summed by description over the organisations, largest expected value first."""
    totals: dict[str, list[Pence]] = {}
    for item in register:
        if item.kind is RiskKind.RISK:
            pair = totals.setdefault(item.description, [0, 0])
            pair[0] += item.value_pence
            pair[1] += item.expected_pence
    ordered = sorted(totals.items(), key=lambda entry: (-entry[1][1], entry[0]))
    return tuple(RegisterLine(description, value, expected) for description, (value, expected) in ordered)


def _scenario_lines(scenarios: Sequence[ScenarioRun]) -> tuple[ScenarioLine, ...]:
    return tuple(
        ScenarioLine(
            run.scenario.name,
            run.result.change_pence,
            run.result.full_year_effect_pence,
            run.result.gap_pence(run.result.forecast_outturn_pence),
        )
        for run in scenarios
    )


def _benchmark_line(benchmarks: Sequence[BenchmarkSection]) -> BenchmarkLine | None:
    if not benchmarks:
        return None
    first = benchmarks[0]
    return BenchmarkLine(
        unit=first.measure.unit,
        benchmark=first.benchmark.replace("-", " "),
        practices=len(first.rows),
        above=first.practices_above,
        opportunity_activity=first.opportunity_activity,
        opportunity_pence=first.opportunity_pence,
        funnel_high=first.funnel_high,
    )


def build_board_pack(inputs: PackInputs) -> BoardPack:
    """The pack's record: the inputs as they are, and what is derived from them (headline, RAG, narrative)."""
    workstreams = workstream_rows(inputs.savings_workstreams, inputs.savings_movement)
    top = headline(inputs)
    figures = NarrativeFigures(
        headline=top,
        categories=_categories(inputs.position, inputs.previous_position),
        contracts=contracts_summary(inputs.contracts, inputs.organisation_names),
        savings_movement=_savings_movement(inputs.savings_movement, workstreams),
        top_risks=largest_risks(inputs.register),
        scenarios=_scenario_lines(inputs.scenarios),
        benchmark=_benchmark_line(inputs.benchmarks),
    )
    return BoardPack(
        headline=top,
        narrative=write_narrative(figures) + commentary_sentences(inputs.commentary),
        position=inputs.position,
        previous_position=inputs.previous_position,
        savings_total=inputs.savings_total,
        workstreams=workstreams,
        savings_movement=inputs.savings_movement,
        contracts=tuple(inputs.contracts),
        organisation_names=dict(inputs.organisation_names),
        risk=inputs.risk,
        register=tuple(inputs.register),
        scenarios=tuple(inputs.scenarios),
        benchmarks=tuple(inputs.benchmarks),
        funnels=tuple(inputs.funnels),
        spc=tuple(inputs.spc),
        notes=tuple(inputs.notes),
        backtest=inputs.backtest,
        forecast_history=inputs.forecast_history,
        contract_reconciliation=inputs.contract_reconciliation,
        commentary=inputs.commentary,
        high_intensity=inputs.high_intensity,
        savings_evidence=tuple(inputs.savings_evidence),
    )


# look-alike of reports/contract_reconciliation.py's documents: declarative, one JSON field per attribute.
def headline_document(head: Headline) -> dict[str, Any]:
    """The headline as JSON (money in pence): what ``outturn pack --format json`` and the demo print."""
    savings, risk = head.savings, head.risk
    return {
        "org_code": head.org_code,
        "org_name": head.org_name,
        "financial_year": head.financial_year,
        "month": head.month,
        "as_at": head.as_at,
        "control_total_pence": head.control_total_pence,
        "forecast_outturn_pence": head.forecast_outturn_pence,
        "forecast_surplus_pence": head.forecast_surplus_pence,
        "gap_to_control_total_pence": head.gap_pence,
        "previous_month": head.previous_month,
        "previous_gap_to_control_total_pence": head.previous_gap_pence,
        "gap_change_pence": head.gap_change_pence,
        "likely_surplus_pence": head.likely_surplus_pence,
        "savings": None
        if savings is None
        else {
            "plan_pence": savings.plan_pence,
            "plan_to_date_pence": savings.plan_to_date_pence,
            "delivered_pence": savings.delivered_pence,
            "forecast_pence": savings.forecast_pence,
            "risk_adjusted_pence": savings.risk_adjusted_pence,
            "unidentified_pence": savings.unidentified_pence,
            "delivered_share": None if savings.delivered_share is None else round(float(savings.delivered_share), 4),
        },
        "p_meet_control_total": None if risk is None else risk.p_meet_control_total,
        "mean_surplus_pence": None if risk is None else risk.mean_pence,
        "p10_pence": None if risk is None else risk.p10_pence,
        "p50_pence": None if risk is None else risk.p50_pence,
        "p90_pence": None if risk is None else risk.p90_pence,
    }


def pack_document(pack: BoardPack, files: Mapping[str, str | None]) -> dict[str, Any]:
    """``outturn pack --format json``: where the files are, the headline (pence), the narrative and notes."""
    return {
        "files": dict(files),
        "headline": headline_document(pack.headline),
        "narrative": list(pack.narrative),
        "sections": {
            "contracts": len(pack.contracts),
            "workstreams": len(pack.workstreams),
            "benchmarks": [section.measure.name for section in pack.benchmarks],
            "funnels": [section.title for section in pack.funnels],
            "spc": [section.measure for section in pack.spc],
            "scenarios": [run.scenario.name for run in pack.scenarios],
            "risks": len(pack.register),
            "high_intensity_users": None if pack.high_intensity is None else summary_document(pack.high_intensity),
        },
        "notes": list(pack.notes),
    }
