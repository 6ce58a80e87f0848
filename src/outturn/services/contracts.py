"""Pricing activity and monitoring provider contracts: the monthly contract statement."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa
from sqlalchemy.orm import Session

from outturn.domain.activity import SCHEMAS, ActivityKind, PointOfDelivery
from outturn.domain.contracts import ActualLine, Contract, StatementLine, statement_lines
from outturn.domain.errors import BadInput
from outturn.domain.organisations import COMMISSIONER_KINDS, OrgKind
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.problems import ProblemsError
from outturn.engine import contracts as contract_engine
from outturn.engine import pricing
from outturn.engine.backends import Backend, memtable
from outturn.ingest.activity import read_activity
from outturn.ingest.activity_checks import Expected, plausible_dates
from outturn.ingest.contracts import read_contracts
from outturn.ingest.tariff import Tariff, available_years, load_tariff
from outturn.reports.contracts import statement_document
from outturn.services import imports
from outturn.services.workspace import Workspace
from outturn.settings import default_reference_dir
from outturn.stats.casemix import MIN_SPELLS, Drift, PriceSample, adjust_family, case_mix_drift
from outturn.store import contracts_repository, repository

ACTIVITY_TABLES = {kind: f"activity_{kind.value}" for kind in ActivityKind}


class ContractError(BadInput):
    """A contract statement that cannot be produced: no contract, no activity, no tariff."""


def _reference_dir(workspace: Workspace | None, reference_dir: Path | None) -> Path:
    chosen = reference_dir or (workspace.settings.reference_dir if workspace else None)
    if chosen is None:
        chosen = default_reference_dir()
    if chosen is None:
        raise ContractError("no reference-data directory for the national tariff: set OUTTURN_REFERENCE_DIR")
    return chosen


def _priced(backend: Backend, kind: ActivityKind, activity: ir.Table, tariff: Tariff) -> ir.Table:
    def table(data: pa.Table) -> ir.Table:
        return backend.table(data)

    year = tariff.year.start_year
    if kind is ActivityKind.APC:
        return pricing.price_apc(activity, table(tariff.apc), table(tariff.mff), year=year)
    if kind is ActivityKind.OP:
        return pricing.price_op(activity, table(tariff.op), table(tariff.apc), table(tariff.mff), year=year)
    return pricing.price_ae(activity, table(tariff.ae), table(tariff.mff), year=year)


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
        priced = _priced(engine, kind, activity, tariff)
        engine.to_parquet(pricing.prices_only(priced) if prices_only else priced, out)
        summary = engine.to_rows(pricing.pricing_summary(engine.read_parquet(out)))
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
    tariff = _contract_tariff(workspace, year)
    backend = workspace.backend
    priced = {
        kind: _priced(backend, kind, backend.table(read_activity(path, kind)), tariff)
        for kind, path in activity.items()
    }
    units = contract_engine.contract_units(priced[ActivityKind.APC], priced[ActivityKind.OP], priced[ActivityKind.AE])
    return backend.to_rows(contract_engine.contract_actuals(units, year=year.start_year))


def _expected_activity(workspace: Workspace) -> Expected:
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
    table = read_activity(path, kind, _expected_activity(workspace))
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
    imports.store_warehouse_import(
        workspace, {name: table}, log_kind, path, sha256, int(table.num_rows), who=who, replaced_rows=before
    )
    return int(table.num_rows)


def _contract_key(contract: Contract) -> tuple[str, str, int]:
    return (contract.provider, contract.commissioner, contract.year.start_year)


def _contract_content(contract: Contract) -> tuple[object, ...]:
    """A contract's terms, whatever the order of its lines."""
    return tuple(sorted(map(repr, (*contract.plan, *contract.local_prices, *contract.blocks))))


def _contract_pence(contracts: Sequence[Contract]) -> int:
    return sum(line.pence for c in contracts for line in c.plan) + sum(
        b.annual_pence for c in contracts for b in c.blocks
    )


def _contracts_replacement(session: Session, contracts: Sequence[Contract]) -> dict[str, int]:
    """The stored contracts the file's would replace: how many, how many differ, and their plan £ before and after."""
    stored = {
        _contract_key(found): found
        for year in sorted({contract.year.start_year for contract in contracts})
        for found in contracts_repository.load_contracts(session, FinancialYear(year))
    }
    matching = [stored[_contract_key(c)] for c in contracts if _contract_key(c) in stored]
    changed = [
        c
        for c in contracts
        if _contract_key(c) in stored and _contract_content(c) != _contract_content(stored[_contract_key(c)])
    ]
    return {
        "contracts_before": len(matching),
        "contracts_after": len(contracts),
        "contracts_changed": len(changed),
        "plan_before_pence": _contract_pence(matching),
        "plan_after_pence": _contract_pence(contracts),
    }


def import_contracts(
    workspace: Workspace, plan: Path, prices: Path | None = None, *, replace: bool = False, who: str = ""
) -> int:
    """Each contract in the file replaces the stored one for its provider, commissioner and year; a file that
    would change a stored contract needs ``replace``."""
    sha256 = imports.sha256_of(plan)
    with workspace.store.reading() as session:
        known = repository.org_tree(session).by_code
    contracts, problems = read_contracts(plan, known=known, prices_path=prices)
    if problems:
        raise ProblemsError(problems, f"{plan.name} was not imported: {len(problems)} problem(s), nothing stored")
    with workspace.store.transaction() as session:
        replaces = _contracts_replacement(session, contracts)
        what = f"{replaces['contracts_changed']} stored contract(s) with different terms"
        imports.refuse_unless_replace(
            plan, sha256, what, replaces, removes=replaces["contracts_changed"] > 0, replace=replace
        )
        repository.record_import(
            session,
            "contracts",
            plan.name,
            sha256,
            len(contracts),
            who=who,
            replaced_rows=replaces["contracts_before"],
            totals={"plan_pence": replaces["plan_after_pence"]},
            replaced_totals={"plan_pence": replaces["plan_before_pence"]},
        )
        contracts_repository.replace_contracts(session, contracts)
    return len(contracts)


@dataclass(frozen=True)
class ContractStatement:
    contract: Contract
    as_at: FinancialMonth
    lines: tuple[StatementLine, ...]
    follow_ups: list[dict[str, Any]]
    referrals: dict[str, int]
    drift: list[tuple[str, str, Drift]]
    tariff_year: FinancialYear
    min_spells: int = MIN_SPELLS  # spells in each period before a case-mix cell is tested


def _activity(workspace: Workspace, kind: ActivityKind) -> ir.Table:
    name = ACTIVITY_TABLES[kind]
    if workspace.backend.has_table(name):
        return workspace.backend.stored_table(name)
    return memtable([], SCHEMAS[kind])  # no activity of this kind loaded yet


def _local_prices(contracts: Sequence[Contract]) -> ir.Table:
    rows = [
        {
            "provider": c.provider,
            "commissioner": c.commissioner,
            "point_of_delivery": p.point_of_delivery.value,
            "code": p.code,
            "price_pence": p.price_pence,
        }
        for c in contracts
        for p in c.local_prices
    ]
    return memtable(rows, contract_engine.LOCAL_PRICE_SCHEMA)


def contract_statements(
    workspace: Workspace,
    provider: str,
    as_at: FinancialMonth,
    commissioner: str | None = None,
    follow_up_benchmark: float | None = None,
    min_spells: int = MIN_SPELLS,
) -> list[ContractStatement]:
    """One statement per contract; case-mix drift is tested only in cells with ``min_spells`` spells in each
    period, and adjusted for multiple testing across the cells tested in each contract."""
    if min_spells < 2:
        raise ContractError(f"the minimum spells for a case-mix test must be at least 2, not {min_spells}")
    year = as_at.year
    with workspace.store.reading() as session:
        contracts = [
            c
            for c in contracts_repository.load_contracts(session, year, provider)
            if commissioner is None or c.commissioner == commissioner
        ]
    if not contracts:
        raise ContractError(
            f"no contract with provider {provider} in {year}: import one with `outturn contracts import FILE`"
        )
    tariff = _contract_tariff(workspace, year)
    backend = workspace.backend
    priced = {kind: _priced(backend, kind, _activity(workspace, kind), tariff) for kind in ActivityKind}
    units = contract_engine.apply_local_prices(
        contract_engine.contract_units(priced[ActivityKind.APC], priced[ActivityKind.OP], priced[ActivityKind.AE]),
        _local_prices(contracts),
    )
    actual_rows = backend.to_rows(contract_engine.contract_actuals(units, year=year.start_year, provider=provider))
    follow_rows = backend.to_rows(
        contract_engine.follow_up_ratios(priced[ActivityKind.OP], year=year.start_year, as_at_month=as_at.number)
    )
    referral_rows = backend.to_rows(
        contract_engine.referral_sources(priced[ActivityKind.OP], year=year.start_year, as_at_month=as_at.number)
    )
    drift = _drift(backend, priced[ActivityKind.APC], year, as_at, min_spells)
    benchmark = follow_up_benchmark if follow_up_benchmark is not None else _peer_ratio(follow_rows)
    statements = []
    for contract in contracts:
        mine = (contract.provider, contract.commissioner)
        actuals = [
            ActualLine(PointOfDelivery(row["point_of_delivery"]), row["month"], row["activity"], row["pence"])
            for row in actual_rows
            if (row["provider"], row["commissioner"]) == mine
        ]
        statements.append(
            ContractStatement(
                contract,
                as_at,
                statement_lines(contract, actuals, as_at),
                _follow_ups([row for row in follow_rows if (row["provider"], row["commissioner"]) == mine], benchmark),
                next(
                    (
                        {
                            "first_attendances": row["first_attendances"],
                            "consultant_referrals": row["consultant_referrals"],
                        }
                        for row in referral_rows
                        if (row["provider"], row["commissioner"]) == mine
                    ),
                    {"first_attendances": 0, "consultant_referrals": 0},
                ),
                _adjusted([(pod, tf, found) for (key, pod, tf, found) in drift if key == mine]),
                tariff.year,
                min_spells,
            )
        )
    return statements


def _contract_tariff(workspace: Workspace, year: FinancialYear) -> Tariff:
    """The national tariff for the contract year; the nearest published year where it is not held."""
    held = min(available_years(), key=lambda candidate: abs(candidate.start_year - year.start_year))
    return load_tariff(_reference_dir(workspace, None), held)


def _peer_ratio(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Follow-ups per first attendance by treatment function across every provider and commissioner."""
    totals: dict[str, list[int]] = {}
    for row in rows:
        pair = totals.setdefault(row["treatment_function"], [0, 0])
        pair[0] += row["firsts"]
        pair[1] += row["follow_ups"]
    return {tf: follow / first for tf, (first, follow) in totals.items() if first}


def _follow_ups(rows: Sequence[dict[str, Any]], benchmark: float | dict[str, float]) -> list[dict[str, Any]]:
    found = []
    for row in rows:
        target = benchmark if isinstance(benchmark, float) else benchmark.get(row["treatment_function"])
        ratio = row["follow_ups"] / row["firsts"] if row["firsts"] else None
        excess = max(row["follow_ups"] - round(row["firsts"] * target), 0) if target is not None else None
        found.append(
            {
                **{k: row[k] for k in ("treatment_function", "firsts", "follow_ups")},
                "ratio": ratio,
                "benchmark_ratio": target,
                "follow_ups_above_benchmark": excess,
            }
        )
    return found


def _adjusted(cells: list[tuple[str, str, Drift]]) -> list[tuple[str, str, Drift]]:
    """One contract's cells with their p-values adjusted (Holm) across the cells tested."""
    adjusted = adjust_family([found for _, _, found in cells])
    return [(pod, tf, found) for (pod, tf, _), found in zip(cells, adjusted, strict=True)]


def _drift(
    backend: Backend, priced_apc: ir.Table, year: FinancialYear, as_at: FinancialMonth, min_spells: int
) -> list[tuple[tuple[str, str], str, str, Drift]]:
    """Case mix in the latest three months against the first quarter of the year (needs as-at M06 or later)."""
    if as_at.number < 6:
        return []
    baseline = backend.to_rows(contract_engine.case_mix(priced_apc, year=year.start_year, first_month=1, last_month=3))
    current = backend.to_rows(
        contract_engine.case_mix(
            priced_apc, year=year.start_year, first_month=as_at.number - 2, last_month=as_at.number
        )
    )
    before = {(r["provider"], r["commissioner"], r["point_of_delivery"], r["treatment_function"]): r for r in baseline}
    found = []
    for row in current:
        key = (row["provider"], row["commissioner"], row["point_of_delivery"], row["treatment_function"])
        if key not in before:
            continue
        old = before[key]
        result = case_mix_drift(
            PriceSample(old["spells"], old["pence"], old["sum_squares"]),
            PriceSample(row["spells"], row["pence"], row["sum_squares"]),
            min_spells,
        )
        found.append(((key[0], key[1]), key[2], key[3], result))
    return found


def statement_documents(found: Sequence[ContractStatement]) -> list[dict[str, Any]]:
    """The JSON documents of these statements (``outturn contracts statement --format json``); one builder for the
    CLI, the web pages and the board pack."""
    return [
        statement_document(
            s.contract.provider,
            s.contract.commissioner,
            s.contract.year.label,
            s.as_at.calendar_label,
            list(s.lines),
            s.follow_ups,
            s.referrals,
            s.drift,
            s.tariff_year.label,
            s.min_spells,
        )
        for s in found
    ]
