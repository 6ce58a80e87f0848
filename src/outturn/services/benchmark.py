"""Practice benchmarking: activity rates per 1,000 actual and weighted population, benchmarks and opportunity.

A measure's records come from ``NUMERATOR_SOURCES``: hospital activity (the warehouse tables loaded by
``outturn contracts activity``) priced against the national tariff nearest the year. Another kind of record
(prescribing, say) is one entry more: a function ``(workspace, year) -> Ibis table`` with a ``practice`` column,
the columns its measures filter on and their value columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from outturn.domain.activity import SCHEMAS, ActivityKind
from outturn.domain.benchmark import ACSC_SOURCE, PRESCRIBING_SOURCE, BenchmarkSpec, Level, Measure
from outturn.domain.errors import BadInput
from outturn.domain.periods import FinancialYear
from outturn.domain.prescribing import PRESCRIBING_SCHEMA, PRESCRIBING_TABLE
from outturn.engine import benchmark as engine
from outturn.engine.acsc import acsc_spells
from outturn.engine.backends import Backend, memtable
from outturn.engine.codes import index_columns, key_columns
from outturn.engine.contracts import in_financial_year
from outturn.ingest.acsc import read_acsc_codes
from outturn.ingest.tariff import TARIFF_FILES, Tariff, available_years, load_tariff, tariff_directory
from outturn.services.populations import (
    earliest_list_note,
    organisation_names,
    period_list_sizes,
    practice_populations,
)
from outturn.services.pricing import ACTIVITY_TABLES, priced_activity
from outturn.services.workspace import Workspace
from outturn.settings import default_reference_dir

NumeratorSource = Callable[[Workspace, FinancialYear | None], ir.Table]

DATE_COLUMNS = {ActivityKind.APC: "discharge_date", ActivityKind.OP: "attendance_date", ActivityKind.AE: "arrival_date"}
EXCLUDED_REASON = "no list size or weighted population"
NOTHING_PRICED = (
    "no activity could be priced (no national tariff in the reference data?): opportunity is counted in activity"
    " only, not in pence"
)


def _tariff(workspace: Workspace, year: FinancialYear | None) -> Tariff | None:
    """The national tariff nearest ``year`` (the latest held without one); ``None`` with no reference data."""
    reference = workspace.settings.reference_dir or default_reference_dir()
    if reference is None or not reference.is_dir():
        return None
    held = available_years()
    chosen = held[-1] if year is None else min(held, key=lambda c: abs(c.start_year - year.start_year))
    if not (tariff_directory(reference) / TARIFF_FILES[chosen.start_year].apc).is_file():
        return None  # no tariff held: activity is benchmarked, not valued
    return load_tariff(reference, chosen)


def hospital_records(workspace: Workspace, kind: ActivityKind, year: FinancialYear | None) -> ir.Table:
    """The workspace's activity of ``kind`` in ``year`` (all of it without one), priced where a tariff is held;
    without one the price columns are null, so nothing is valued."""
    name = ACTIVITY_TABLES[kind]
    backend = workspace.backend
    activity = backend.stored_table(name) if backend.has_table(name) else memtable([], SCHEMAS[kind])
    if year is not None:
        activity = activity.filter(in_financial_year(activity[DATE_COLUMNS[kind]], year.start_year))
    tariff = _tariff(workspace, year)
    if tariff is None:
        unpriced = ibis.null().cast("int64")
        stored_keys = set(key_columns(kind)) | set(index_columns(kind))  # pricing's, never an activity column
        own = [name for name in activity.columns if name not in stored_keys]  # keeps the diagnosis where held
        return activity.select(*own).mutate(price_pence=unpriced, excess_price_pence=unpriced)
    return priced_activity(backend, kind, activity, tariff)


def _hospital_source(kind: ActivityKind) -> NumeratorSource:
    return lambda workspace, year: hospital_records(workspace, kind, year)


def prescribing_records(workspace: Workspace, year: FinancialYear | None) -> ir.Table:
    """The workspace's practice prescribing (one row per month x practice x presentation) in ``year``."""
    backend = workspace.backend
    if backend.has_table(PRESCRIBING_TABLE):
        records = backend.stored_table(PRESCRIBING_TABLE)
    else:
        records = memtable([], PRESCRIBING_SCHEMA)
    if year is None:
        return records
    first, last = f"{year.start_year}-04", f"{year.start_year + 1}-03"
    return records.filter((records.year_month >= first) & (records.year_month <= last))


NO_DIAGNOSIS = (
    "no primary diagnoses held: avoidable admissions need admitted care loaded in the HES / SUS layout, which "
    "carries them"
)


def acsc_records(workspace: Workspace, year: FinancialYear | None) -> ir.Table:
    """The workspace's admitted care spells in ``year`` whose primary diagnosis is a chronic ambulatory care
    sensitive condition (``acsc_condition``), priced where a tariff is held; none without diagnoses held."""
    spells = hospital_records(workspace, ActivityKind.APC, year)
    if "primary_diagnosis" not in spells.columns:
        spells = spells.mutate(primary_diagnosis=ibis.null().cast("string"))
    codes = read_acsc_codes()
    table = workspace.backend.table(
        pa.table({"code": [code.code for code in codes], "condition": [code.condition for code in codes]})
    )
    return acsc_spells(spells, table)


def _diagnoses_held(workspace: Workspace) -> bool:
    name = ACTIVITY_TABLES[ActivityKind.APC]
    return workspace.backend.has_table(name) and "primary_diagnosis" in workspace.backend.stored_table(name).columns


NUMERATOR_SOURCES: Mapping[str, NumeratorSource] = MappingProxyType(
    {kind.value: _hospital_source(kind) for kind in ActivityKind}
    | {PRESCRIBING_SOURCE: prescribing_records, ACSC_SOURCE: acsc_records}
)


def _under(populations: ir.Table, org: str | None) -> ir.Table:
    """The practices at or under ``org`` (a practice, PCN, sub-ICB location or ICB code); all without one."""
    if org is None:
        return populations
    match = populations.practice == org
    for column in engine.HIERARCHY:
        if column in populations.columns:
            match = match | (populations[column] == org)
    return populations.filter(match)


@dataclass(frozen=True)
class BenchmarkResult:
    """Rows at the chosen level (dicts with ``engine.ROW_COLUMNS``) and what the summary needs."""

    measure: Measure
    level: Level
    spec: BenchmarkSpec
    org_code: str | None
    financial_year: FinancialYear | None
    rows: list[dict[str, Any]]
    unit_price_pence: float | None
    practice_benchmark_rate: float | None  # the rate practices were moved to (None for a peer group)
    peer_group_rates: dict[int, float] = field(default_factory=dict)
    excluded: list[dict[str, Any]] = field(default_factory=list)
    unmatched_activity: int = 0
    warnings: list[str] = field(default_factory=list)


def _default_year(workspace: Workspace) -> FinancialYear | None:
    month = workspace.month_or_default(None)
    return month.year if month else None


def _names(workspace: Workspace, rows: list[dict[str, Any]]) -> None:
    """Fill PCN and sub-ICB names from the allocation file imported and the organisations in the store."""
    names = organisation_names(workspace)
    for row in rows:
        if row["org_name"] is None:
            row["org_name"] = names.get(row["org_code"] or "")


def _excluded(backend: Backend, activity: ir.Table, populations: ir.Table, measure: Measure) -> list[dict[str, Any]]:
    rows = backend.to_rows(engine.excluded(engine.practice_units(activity, populations, measure)))
    return [
        {key: row[key] for key in ("org_code", "org_name", "activity")} | {"reason": EXCLUDED_REASON} for row in rows
    ]


def _unmatched(backend: Backend, activity: ir.Table, populations: ir.Table) -> int:
    unmatched = engine.unmatched_activity(activity, populations)
    total = backend.to_rows(unmatched.aggregate(activity=unmatched.activity.sum()))[0]["activity"]
    return int(total or 0)


def benchmark(
    workspace: Workspace,
    measure: Measure,
    *,
    level: Level = Level.PRACTICE,
    spec: BenchmarkSpec | None = None,
    org: str | None = None,
    year: FinancialYear | None = None,
) -> BenchmarkResult:
    """Rates, ranks, benchmark and opportunity for ``measure`` at ``level`` among the practices under ``org``
    (default: the workspace's organisation) in ``year`` (default: the workspace's year; else all activity)."""
    spec = spec or BenchmarkSpec()
    org = workspace.org_or_default(org)
    year = year or _default_year(workspace)
    source = NUMERATOR_SOURCES.get(measure.source)
    if source is None:
        raise BadInput(f"measure {measure.name}: no source of {measure.source!r} records in this workspace")
    all_populations = practice_populations(workspace, year=year)
    populations = _under(all_populations, org)
    backend = workspace.backend
    # the records are counted (and priced) once; everything after works on one row per practice
    activity = backend.table(backend.to_arrow(engine.measure_activity(source(workspace, year), measure)))
    practices = backend.to_arrow(engine.benchmark_practices(activity, populations, measure, spec))
    if practices.num_rows == 0:
        where = f" under {org}" if org else ""
        raise BadInput(f"no practices{where} with a list size and weighted population to compare")
    first = practices.slice(0, 1).to_pylist()[0]
    peer_rows = practices.select(["peer_group", "benchmark_rate"]).to_pylist()
    rows = backend.to_rows(engine.roll_up(backend.table(practices), level, spec, measure))
    _names(workspace, rows)
    return BenchmarkResult(
        measure=measure,
        level=level,
        spec=spec,
        org_code=org,
        financial_year=year,
        rows=rows,
        unit_price_pence=first["unit_price_pence"],
        practice_benchmark_rate=None if first["peer_group"] is not None else first["benchmark_rate"],
        peer_group_rates={row["peer_group"]: row["benchmark_rate"] for row in peer_rows if row["peer_group"]},
        excluded=_excluded(backend, activity, populations, measure),
        unmatched_activity=_unmatched(backend, activity, all_populations),
        warnings=_warnings(workspace, measure, year, first["unit_price_pence"] is not None),
    )


def _warnings(workspace: Workspace, measure: Measure, year: FinancialYear | None, priced: bool) -> list[str]:
    early = earliest_list_note(period_list_sizes(workspace, year=year))
    undiagnosed = measure.source == ACSC_SOURCE and not _diagnoses_held(workspace)
    return [
        *([] if priced else [NOTHING_PRICED]),
        *([NO_DIAGNOSIS] if undiagnosed else []),
        *([early] if early else []),
    ]
