"""Pricing hospital activity against the national tariff, and the activity the workspace holds: price a file,
import an extract, the priced activity of a year by contract."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa

from outturn.domain.activity import SCHEMAS, ActivityKind
from outturn.domain.contracts import ContractError
from outturn.domain.organisations import COMMISSIONER_KINDS, OrgKind
from outturn.domain.periods import FinancialYear
from outturn.engine import contracts as contract_engine
from outturn.engine import pricing, pricing_totals
from outturn.engine.backends import Backend, memtable
from outturn.engine.codes import KEYED_COLUMNS, PATIENT_KEY, PATIENT_KEYED_KINDS, key_columns
from outturn.ingest import activity_keys
from outturn.ingest.activity import read_activity
from outturn.ingest.activity_checks import Expected, plausible_dates
from outturn.ingest.activity_keys import no_codes, no_patients
from outturn.ingest.tariff import Tariff, available_years, load_tariff
from outturn.services import imports
from outturn.services.workspace import Workspace
from outturn.settings import default_reference_dir
from outturn.store import contracts_repository, repository

ACTIVITY_TABLES = {kind: f"activity_{kind.value}" for kind in ActivityKind}
# The code dictionary of the keys stored with the activity (``engine.codes``), extended by every activity import.
CODES_TABLE = "activity_codes"
# The patient dictionary of the ``patient_key`` stored with A&E and admitted care (``engine.codes``), likewise.
PATIENTS_TABLE = "activity_patients"


def _reference_dir(workspace: Workspace | None, reference_dir: Path | None) -> Path:
    chosen = reference_dir or (workspace.settings.reference_dir if workspace else None)
    if chosen is None:
        chosen = default_reference_dir()
    if chosen is None:
        raise ContractError("no reference-data directory for the national tariff: set OUTTURN_REFERENCE_DIR")
    return chosen


def priced_activity(
    backend: Backend, kind: ActivityKind, activity: ir.Table, tariff: Tariff, *, totalled: bool = False
) -> ir.Table:
    """``activity`` priced against ``tariff``: joined on the integer keys stored with it at import where it has
    them (against the workspace's code dictionary), else keyed on read against the tariff's own codes.
    ``totalled``: its totals by point of delivery and reason instead of the priced records."""

    def table(data: pa.Table) -> ir.Table:
        return backend.table(data)

    stored_keys = set(key_columns(kind)) <= set(activity.columns) and backend.has_table(CODES_TABLE)
    codes = backend.stored_table(CODES_TABLE) if stored_keys else None
    how: dict[str, Any] = {
        "year": tariff.year.start_year,
        "codes": codes,
        "dimension": backend.dimension,
        "totalled": totalled,
    }
    if kind is ActivityKind.APC:
        return pricing.price_apc(activity, table(tariff.apc), table(tariff.mff), **how)
    if kind is ActivityKind.OP:
        return pricing.price_op(activity, table(tariff.op), table(tariff.apc), table(tariff.mff), **how)
    return pricing.price_ae(activity, table(tariff.ae), table(tariff.mff), **how)


@dataclass(frozen=True)
class PricingResult:
    kind: str
    tariff_year: str
    output: str
    priced_units: int
    unpriced_units: int
    price_pence: int
    excess_bed_days: int
    excess_price_pence: int
    by_point_of_delivery: list[dict[str, Any]]
    unpriced_by_reason: dict[str, int]


def price_file(
    activity_path: Path,
    kind: ActivityKind,
    tariff_year: str,
    out: Path,
    *,
    reference_dir: Path | None = None,
    backend_kind: str = "duckdb",
    prices_only: bool = False,
) -> PricingResult:
    """Validate an activity extract, price it against a year's national tariff and write the priced rows: every
    activity column with the prices, or with ``prices_only`` the record id, provider, commissioner and prices."""
    tariff = load_tariff(_reference_dir(None, reference_dir), tariff_year)
    engine = Backend(backend_kind)
    try:
        activity = engine.table(read_activity(activity_path, kind))
        priced = priced_activity(engine, kind, activity, tariff)
        engine.to_parquet(pricing_totals.prices_only(priced) if prices_only else priced, out)
        summary = engine.to_rows(priced_activity(engine, kind, activity, tariff, totalled=True))
    finally:
        engine.close()
    priced = [row for row in summary if row["unpriced_reason"] is None]
    return PricingResult(
        kind=kind.value,
        tariff_year=tariff.year.label,
        output=str(out),
        priced_units=sum(row["units"] for row in priced),
        unpriced_units=sum(row["units"] for row in summary if row["unpriced_reason"] is not None),
        price_pence=sum(row["price_pence"] for row in priced),
        excess_bed_days=sum(row["excess_bed_days"] for row in priced),
        excess_price_pence=sum(row["excess_price_pence"] for row in priced),
        by_point_of_delivery=[
            {
                key: row[key]
                for key in ("point_of_delivery", "units", "price_pence", "excess_bed_days", "excess_price_pence")
            }
            for row in priced
        ],
        unpriced_by_reason=_unpriced_by_reason(summary),
    )


def _unpriced_by_reason(summary: list[dict[str, Any]]) -> dict[str, int]:
    """Unpriced units by reason, summed over every point of delivery (the summary has a row for each point of
    delivery and reason), so the reasons add up to the unpriced units."""
    units: dict[str, int] = {}
    for row in summary:
        if row["unpriced_reason"] is not None:
            reason = str(row["unpriced_reason"])
            units[reason] = units.get(reason, 0) + int(row["units"])
    return units


def outturn_by_contract(
    workspace: Workspace, activity: dict[ActivityKind, Path], year: FinancialYear
) -> list[dict[str, Any]]:
    """Priced activity and £ by provider, commissioner, point of delivery and month, from a year's extracts."""
    tariff = contract_tariff(workspace, year)
    backend = workspace.backend
    priced = {
        kind: priced_activity(backend, kind, backend.table(read_activity(path, kind)), tariff)
        for kind, path in activity.items()
    }
    units = contract_engine.contract_units(priced[ActivityKind.APC], priced[ActivityKind.OP], priced[ActivityKind.AE])
    return backend.to_rows(contract_engine.contract_actuals(units, year=year.start_year))


def expected_activity(workspace: Workspace) -> Expected:
    """Activity dates in the years of the contracts held (when any are); providers and commissioners among the
    organisations held of their kind (when any organisations are held), practices among those held (when any are)."""
    with workspace.store.reading() as session:
        organisations = tuple(repository.org_tree(session).by_code.values())
        years = contracts_repository.contract_years(session)

    def codes(kinds: frozenset[OrgKind]) -> frozenset[str]:
        return frozenset(org.code for org in organisations if org.kind in kinds)

    practices = codes(frozenset({OrgKind.PRACTICE}))
    allowed = {
        "provider": codes(frozenset({OrgKind.PROVIDER})) if organisations else None,
        "commissioner": codes(COMMISSIONER_KINDS) if organisations else None,
        "practice": practices or None,
    }
    return dataclasses.replace(plausible_dates(date.today()), years=years or None, codes=allowed)


def import_activity(
    workspace: Workspace,
    path: Path,
    kind: ActivityKind,
    *,
    replace: bool = False,
    expected_sha256: str | None = None,
    who: str = "",
) -> int:
    """Validate an extract against the organisations and contract years held, and make it the workspace's
    activity of that kind (one statement: all or nothing).

    The extract replaces the whole table: when one is stored, a different file needs ``replace``."""
    sha256 = imports.sha256_of(path)
    imports.check_expected_file(path, sha256, expected_sha256)
    table = read_activity(path, kind, expected_activity(workspace))
    return store_activity(workspace, path, sha256, kind, table, replace=replace, who=who)


def store_activity(
    workspace: Workspace, path: Path, sha256: str, kind: ActivityKind, table: pa.Table, *, replace: bool, who: str
) -> int:
    """Make ``table`` (read from ``path``) the workspace's activity of ``kind``, in one statement; when activity
    from another file is stored, only with ``replace``."""
    name, log_kind = ACTIVITY_TABLES[kind], f"activity {kind.value}"
    before = imports.warehouse_rows(workspace, name)
    replaces = {"rows_before": before, "rows_after": int(table.num_rows)}
    imports.refuse_unless_replace(
        path,
        sha256,
        f"all {before:,} stored {kind.value} activity row(s) with {table.num_rows:,}",
        replaces,
        removes=before > 0 and not imports.is_last_import(workspace, log_kind, sha256),
        replace=replace,
    )
    codes = activity_keys.extended_codes(_stored_codes(workspace), table, KEYED_COLUMNS[kind])
    keyed = activity_keys.with_stored_indexes(activity_keys.with_stored_keys(table, codes, KEYED_COLUMNS[kind]), kind)
    tables = {name: keyed, CODES_TABLE: codes}
    if kind in PATIENT_KEYED_KINDS:
        patients = activity_keys.extended_patients(_stored_patients(workspace), table)
        tables |= {name: activity_keys.with_patient_keys(keyed, patients), PATIENTS_TABLE: patients}
    imports.store_warehouse_import(
        workspace,
        tables,
        log_kind,
        path,
        sha256,
        int(table.num_rows),
        who=who,
        replaced_rows=before,
    )
    return int(table.num_rows)


def _stored_codes(workspace: Workspace) -> pa.Table:
    backend = workspace.backend
    return backend.to_arrow(backend.stored_table(CODES_TABLE)) if backend.has_table(CODES_TABLE) else no_codes()


def _stored_patients(workspace: Workspace) -> pa.Table:
    backend = workspace.backend
    if backend.has_table(PATIENTS_TABLE):
        return backend.to_arrow(backend.stored_table(PATIENTS_TABLE))
    return no_patients()


def stored_activity(workspace: Workspace, kind: ActivityKind) -> ir.Table:
    name = ACTIVITY_TABLES[kind]
    if workspace.backend.has_table(name):
        return workspace.backend.stored_table(name)
    keys = {PATIENT_KEY: "int64"} if kind in PATIENT_KEYED_KINDS else {}
    return memtable([], {**SCHEMAS[kind], **keys})  # no activity of this kind loaded yet: keyed as an import keys


def contract_tariff(workspace: Workspace, year: FinancialYear) -> Tariff:
    """The national tariff for the contract year; the nearest published year where it is not held."""
    held = min(available_years(), key=lambda candidate: abs(candidate.start_year - year.start_year))
    return load_tariff(_reference_dir(workspace, None), held)
