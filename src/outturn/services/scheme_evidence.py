"""Schemes' activity measures: import them (audited as scheme changes), and evidence a scheme's delivery from the
activity and prescribing the workspace holds (``domain.scheme_measures`` states the rule)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import ibis.expr.types as ir

from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.prescribing import PRESCRIBING_SCHEMA, PRESCRIBING_TABLE
from outturn.domain.problems import ProblemsError
from outturn.domain.savings import Scheme
from outturn.domain.scheme_measures import (
    Evidence,
    MeasureSource,
    MonthTotals,
    SchemeMeasure,
    evidence,
    measure_to_data,
    scheme_months,
)
from outturn.engine import scheme_evidence as engine
from outturn.engine.backends import memtable
from outturn.ingest.scheme_measures import read_scheme_measures
from outturn.services.pricing import contract_tariff, priced_activity, stored_activity
from outturn.services.workspace import Workspace
from outturn.store import measures_repository
from outturn.store import savings_repository as store


def import_measures(workspace: Workspace, path: Path, who: str) -> int:
    """Store the file's measures, each replacing its scheme's; any problem stores nothing. Each change is recorded
    in the scheme's audit trail (action ``measure``)."""
    held: dict[FinancialYear, frozenset[str]] = {}

    def scheme_held(year: FinancialYear, reference: str) -> bool:
        if year not in held:
            with workspace.store.reading() as session:
                held[year] = frozenset(scheme.reference for scheme in store.load_schemes(session, year))
        return reference in held[year]

    measures, problems = read_scheme_measures(path, scheme_held=scheme_held)
    if problems:
        raise ProblemsError(problems, f"{path.name} was not imported: {len(problems)} problem(s), nothing stored")
    with workspace.store.transaction() as session:
        before = {
            (measure.year, measure.reference): measures_repository.load_measure(session, *key)
            for measure in measures
            for key in ((measure.year, measure.reference),)
        }
        measures_repository.save_measures(session, measures)
        for measure in measures:
            old = before[(measure.year, measure.reference)]
            if old != measure:
                store.record_change(
                    session,
                    who,
                    "scheme",
                    f"{measure.year.label} {measure.reference}",
                    "measure",
                    measure_to_data(old) if old else None,
                    measure_to_data(measure),
                )
    return len(measures)


def scheme_measure(workspace: Workspace, year: FinancialYear, reference: str) -> SchemeMeasure | None:
    with workspace.store.reading() as session:
        return measures_repository.load_measure(session, year, reference)


def _totals(workspace: Workspace, measure: SchemeMeasure) -> tuple[dict[int, MonthTotals], list[int]]:
    backend = workspace.backend
    months: ir.Table
    held: ir.Table
    if measure.source is MeasureSource.PRESCRIBING:
        has_rx = backend.has_table(PRESCRIBING_TABLE)
        rx = backend.stored_table(PRESCRIBING_TABLE) if has_rx else memtable([], PRESCRIBING_SCHEMA)
        months, held = engine.prescribing_months(rx, measure), engine.prescribing_held_months(rx)
    else:
        assert measure.point_of_delivery is not None
        kind = engine.KIND_OF_POINT[measure.point_of_delivery]
        activity = stored_activity(workspace, kind)
        priced = priced_activity(backend, kind, activity, contract_tariff(workspace, measure.year))
        months, held = engine.activity_months(priced, kind, measure), engine.activity_held_months(activity, kind)
    totals = {
        int(row["month"]): MonthTotals(
            int(row["units"]), int(row["pence"]), int(row["bed_days"]), int(row["bed_day_pence"])
        )
        for row in backend.to_rows(months)
    }
    return totals, [int(row["month"]) for row in backend.to_rows(held)]


def scheme_evidence(workspace: Workspace, scheme: Scheme, as_at: FinancialMonth) -> Evidence | None:
    """The scheme's delivery to ``as_at`` evidenced from its measure, beside the delivery reported; ``None`` when
    the scheme names no measure."""
    measure = scheme_measure(workspace, scheme.year, scheme.reference)
    return None if measure is None else _evidence(workspace, scheme, measure, as_at)


def _evidence(workspace: Workspace, scheme: Scheme, measure: SchemeMeasure, as_at: FinancialMonth) -> Evidence:
    totals, held = _totals(workspace, measure)
    counted = scheme_months(scheme.year, scheme.start_month, as_at.number) if as_at.year == scheme.year else ()
    return evidence(
        measure,
        totals,
        held,
        counted,
        scheme.delivered_to_date(as_at.number),
        scheme.plan_to_date(as_at.number),
    )


def schemes_evidence(workspace: Workspace, schemes: Sequence[Scheme], as_at: FinancialMonth) -> dict[str, Evidence]:
    """Evidence of each scheme that names a measure, by reference (the year's measures read once)."""
    with workspace.store.reading() as session:
        measures = {measure.reference: measure for measure in measures_repository.load_measures(session, as_at.year)}
    return {
        scheme.reference: _evidence(workspace, scheme, measures[scheme.reference], as_at)
        for scheme in schemes
        if scheme.reference in measures
    }
