"""Reading and writing domain records in the store. Callers pass the session; services own the transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypedDict, Unpack, cast

from sqlalchemy import Connection, Table, delete, func, insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outturn.domain.ledger import CostCategory, LedgerLine
from outturn.domain.organisations import Organisation, OrgKind, OrgTree
from outturn.domain.periods import FinancialYear
from outturn.domain.plans import Deduction, FinancialPlan, ForecastOverride, RiskItem, RiskKind
from outturn.store.models import (
    FinancialPlanRow,
    ForecastOverrideRow,
    ImportRow,
    LedgerLineRow,
    MonthStatusChangeRow,
    OrganisationRow,
    PlanDeductionRow,
    RiskRow,
    SavingsCloseRow,
)


def now() -> datetime:
    return datetime.now(UTC)


# --- organisations -------------------------------------------------------------------------------------------


def org_tree(session: Session) -> OrgTree:
    rows = session.scalars(select(OrganisationRow)).all()
    return OrgTree.build(Organisation(row.code, row.name, OrgKind(row.kind), row.parent_code) for row in rows)


def upsert_organisations(session: Session, organisations: Iterable[Organisation], source: str) -> int:
    existing = {row.code: row for row in session.scalars(select(OrganisationRow))}
    count = 0
    for org in organisations:
        row = existing.get(org.code)
        if row is None:
            row = OrganisationRow(code=org.code)
            session.add(row)
            existing[org.code] = row
        row.name, row.kind, row.parent_code, row.source = org.name, org.kind.value, org.parent_code, source
        count += 1
    return count


# --- imports -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportRecord:
    """One accepted import as recorded: who, when, which file, how many rows, their totals and what they replaced."""

    id: int
    kind: str
    source_name: str
    sha256: str
    row_count: int
    imported_at: datetime
    imported_by: str
    replaced_rows: int
    totals: dict[str, int]
    replaced_totals: dict[str, int]


def new_import(
    kind: str,
    source_name: str,
    sha256: str,
    row_count: int,
    *,
    who: str = "",
    replaced_rows: int = 0,
    totals: Mapping[str, int] | None = None,
    replaced_totals: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """A new import's record, as the columns of the import log (less ``id``), with its own ``uid`` and the time
    now; ``totals`` and ``replaced_totals`` map names ending ``_pence`` to integer pence."""
    return {
        "uid": uuid.uuid4().hex,
        "kind": kind,
        "source_name": source_name,
        "sha256": sha256,
        "row_count": row_count,
        "imported_at": now(),
        "imported_by": who,
        "replaced_rows": replaced_rows,
        "totals_json": json.dumps(dict(totals or {}), sort_keys=True),
        "replaced_totals_json": json.dumps(dict(replaced_totals or {}), sort_keys=True),
    }


class ImportDetails(TypedDict, total=False):
    """``new_import``'s optional details, for a caller that passes them on."""

    who: str
    replaced_rows: int
    totals: Mapping[str, int] | None
    replaced_totals: Mapping[str, int] | None


def record_import(
    session: Session, kind: str, source_name: str, sha256: str, row_count: int, **details: Unpack[ImportDetails]
) -> ImportRow:
    """Record an import in the session's transaction (see ``new_import``)."""
    row = ImportRow(**new_import(kind, source_name, sha256, row_count, **details))
    session.add(row)
    session.flush()
    return row


def add_missing_imports(connection: Connection, records: Sequence[Mapping[str, Any]]) -> int:
    """Add to the import log each record (``new_import``'s columns) whose ``uid`` it lacks, oldest first; return
    how many were added. Each is one ``INSERT``, so on an autocommit connection each lands whole or not at all and
    a rerun (or another process doing the same) adds nothing twice."""
    uids = [record["uid"] for record in records]
    held = set(connection.scalars(select(ImportRow.uid).where(ImportRow.uid.in_(uids)))) if uids else set()
    missing = sorted((r for r in records if r["uid"] not in held), key=lambda r: (r["imported_at"], r["uid"]))
    for record in missing:
        try:
            connection.execute(insert(ImportRow).values(**record))
        except IntegrityError:  # another process added it first
            found = connection.scalars(select(ImportRow.uid).where(ImportRow.uid == record["uid"])).first()
            if found is None:
                raise
    return len(missing)


def last_import_sha256(session: Session, kind: str) -> str | None:
    """The SHA-256 of the newest recorded import of ``kind`` (None when there is none)."""
    statement = select(ImportRow.sha256).where(ImportRow.kind == kind).order_by(ImportRow.id.desc()).limit(1)
    return session.scalars(statement).first()


def list_imports(session: Session, limit: int | None = None) -> list[ImportRecord]:
    """Recorded imports, newest first."""
    statement = select(ImportRow).order_by(ImportRow.id.desc())
    if limit is not None:
        statement = statement.limit(limit)
    return [
        ImportRecord(
            id=row.id,
            kind=row.kind,
            source_name=row.source_name,
            sha256=row.sha256,
            row_count=row.row_count,
            imported_at=row.imported_at,
            imported_by=row.imported_by,
            replaced_rows=row.replaced_rows,
            totals=json.loads(row.totals_json or "{}"),
            replaced_totals=json.loads(row.replaced_totals_json or "{}"),
        )
        for row in session.scalars(statement)
    ]


# --- closed months ---------------------------------------------------------------------------------------------


def closed_months(session: Session) -> set[tuple[int, int]]:
    """(start year, month) of every month closed now: closed, and not reopened since its last close."""
    closed = {(row[0], row[1]) for row in session.execute(select(SavingsCloseRow.year, SavingsCloseRow.month))}
    latest: dict[tuple[int, int], str] = {}
    for year, month, action in session.execute(
        select(MonthStatusChangeRow.year, MonthStatusChangeRow.month, MonthStatusChangeRow.action).order_by(
            MonthStatusChangeRow.id
        )
    ):
        latest[(year, month)] = action
    return {key for key in closed if latest.get(key, "close") == "close"}


def record_month_status(session: Session, year: int, month: int, action: str, who: str, reason: str) -> None:
    """Record a reopen or a close again of a month (append-only)."""
    session.add(MonthStatusChangeRow(year=year, month=month, action=action, at=now(), who=who, reason=reason))
    session.flush()


def month_status_changes(session: Session) -> list[tuple[int, int, str, datetime, str, str]]:
    """(start year, month, action, at, who, reason) of every reopen and close again, oldest first."""
    rows = session.scalars(select(MonthStatusChangeRow).order_by(MonthStatusChangeRow.id))
    return [(row.year, row.month, row.action, row.at, row.who, row.reason) for row in rows]


# --- ledger ----------------------------------------------------------------------------------------------------


def ledger_lines_in_months(session: Session, months: Collection[tuple[str, int, int]]) -> list[LedgerLine]:
    """Every stored line of the given (organisation, start year, month)s, as domain records."""
    chosen = sorted(set(months))
    found: list[LedgerLine] = []
    for start in range(0, len(chosen), 500):
        chunk = chosen[start : start + 500]
        rows = session.scalars(
            select(LedgerLineRow).where(
                tuple_(LedgerLineRow.org_code, LedgerLineRow.year, LedgerLineRow.month).in_(chunk)
            )
        )
        found.extend(
            LedgerLine(
                org_code=row.org_code,
                year=FinancialYear(row.year),
                month=row.month,
                category=CostCategory(row.category),
                subcategory=row.subcategory,
                budget_pence=row.budget_pence,
                actual_pence=row.actual_pence,
                one_off_pence=row.one_off_pence,
                note=row.note,
                cost_centre=row.cost_centre,
                subjective_code=row.subjective_code,
            )
            for row in rows
        )
    return found


def replace_ledger_months(session: Session, lines: Sequence[LedgerLine], import_id: int) -> int:
    """Delete every stored line for the (organisation, year, month)s in ``lines``, then insert ``lines``."""
    months = sorted({(line.org_code, line.year.start_year, line.month) for line in lines})
    deleted = 0
    for start in range(0, len(months), 500):
        chunk = months[start : start + 500]
        result = session.execute(
            delete(LedgerLineRow).where(
                tuple_(LedgerLineRow.org_code, LedgerLineRow.year, LedgerLineRow.month).in_(chunk)
            )
        )
        deleted += result.rowcount or 0  # type: ignore[attr-defined]
    ledger_table = cast(Table, LedgerLineRow.__table__)
    session.connection().execute(
        ledger_table.insert(),
        [
            {
                "org_code": line.org_code,
                "year": line.year.start_year,
                "month": line.month,
                "category": line.category.value,
                "subcategory": line.subcategory,
                "budget_pence": line.budget_pence,
                "actual_pence": line.actual_pence,
                "one_off_pence": line.one_off_pence,
                "note": line.note,
                "cost_centre": line.cost_centre,
                "subjective_code": line.subjective_code,
                "import_id": import_id,
            }
            for line in lines
        ],
    )
    return deleted


def ledger_rows(
    session: Session, org_codes: Collection[str], years: Collection[int], *, with_codes: bool = False
) -> list[dict[str, Any]]:
    """Ledger lines as plain rows in the engine's ledger schema (``with_codes``: its trial-balance schema, each
    line's cost centre and subjective code too)."""
    table = LedgerLineRow.__table__
    codes = (table.c.cost_centre, table.c.subjective_code) if with_codes else ()
    statement = select(
        *codes,
        table.c.org_code,
        table.c.year,
        table.c.month,
        table.c.category,
        table.c.subcategory,
        table.c.budget_pence,
        table.c.actual_pence,
        table.c.one_off_pence,
    ).where(table.c.org_code.in_(list(org_codes)), table.c.year.in_(list(years)))
    return [dict(row._mapping) for row in session.execute(statement)]


def ledger_actual_months(session: Session, org_codes: Collection[str]) -> set[tuple[int, int]]:
    """(year, month) of every month in which any of the organisations has an actual in the ledger."""
    statement = (
        select(LedgerLineRow.year, LedgerLineRow.month)
        .where(LedgerLineRow.org_code.in_(list(org_codes)), LedgerLineRow.actual_pence.is_not(None))
        .distinct()
    )
    return {(row[0], row[1]) for row in session.execute(statement)}


def ledger_subcategories(session: Session) -> list[str]:
    """Every distinct subcategory spelling stored, in order (so the first of two spellings is always the same)."""
    statement = select(LedgerLineRow.subcategory).distinct().order_by(LedgerLineRow.subcategory)
    return list(session.scalars(statement))


def ledger_periods(session: Session) -> list[tuple[str, int, int, int]]:
    """(org, year, month, lines) for every stored month, for listing what is loaded."""
    statement = (
        select(LedgerLineRow.org_code, LedgerLineRow.year, LedgerLineRow.month, func.count())
        .group_by(LedgerLineRow.org_code, LedgerLineRow.year, LedgerLineRow.month)
        .order_by(LedgerLineRow.org_code, LedgerLineRow.year, LedgerLineRow.month)
    )
    return [(row[0], row[1], row[2], row[3]) for row in session.execute(statement)]


# --- plans, risks, overrides ---------------------------------------------------------------------------------


def save_plan(session: Session, plan: FinancialPlan) -> None:
    key = (plan.org_code, plan.year.start_year)
    row = session.get(FinancialPlanRow, key) or FinancialPlanRow(org_code=key[0], year=key[1])
    row.recurrent_allocation_pence = plan.recurrent_allocation_pence
    row.non_recurrent_allocation_pence = plan.non_recurrent_allocation_pence
    row.brought_forward_deficit_pence = plan.brought_forward_deficit_pence
    row.required_surplus_share = plan.required_surplus_share
    row.control_total_pence = plan.control_total_pence
    session.add(row)
    session.execute(
        delete(PlanDeductionRow).where(PlanDeductionRow.org_code == key[0], PlanDeductionRow.year == key[1])
    )
    session.add_all(
        PlanDeductionRow(org_code=key[0], year=key[1], description=item.description, pence=item.pence)
        for item in plan.other_deductions
    )


# look-alike of services/forecast_history.py:month_records (shape only): declarative, keyword fields or columns, one
# per attribute.
def plans_for(session: Session, org_codes: Collection[str], year: FinancialYear) -> list[FinancialPlan]:
    deductions: dict[str, list[Deduction]] = {}
    for row in session.scalars(
        select(PlanDeductionRow)
        .where(PlanDeductionRow.org_code.in_(list(org_codes)), PlanDeductionRow.year == year.start_year)
        .order_by(PlanDeductionRow.id)
    ):
        deductions.setdefault(row.org_code, []).append(Deduction(row.description, row.pence))
    rows = session.scalars(
        select(FinancialPlanRow).where(
            FinancialPlanRow.org_code.in_(list(org_codes)), FinancialPlanRow.year == year.start_year
        )
    )
    return [
        FinancialPlan(
            org_code=row.org_code,
            year=year,
            recurrent_allocation_pence=row.recurrent_allocation_pence,
            non_recurrent_allocation_pence=row.non_recurrent_allocation_pence,
            brought_forward_deficit_pence=row.brought_forward_deficit_pence,
            other_deductions=tuple(deductions.get(row.org_code, ())),
            required_surplus_share=Decimal(row.required_surplus_share),
            control_total_pence=row.control_total_pence,
        )
        for row in rows
    ]


def replace_risks(session: Session, items: Sequence[RiskItem]) -> None:
    """Replace the register of every (organisation, year) in ``items`` with ``items``."""
    for org_code, year in sorted({(item.org_code, item.year.start_year) for item in items}):
        session.execute(delete(RiskRow).where(RiskRow.org_code == org_code, RiskRow.year == year))
    session.add_all(
        RiskRow(
            org_code=item.org_code,
            year=item.year.start_year,
            kind=item.kind.value,
            description=item.description,
            value_pence=item.value_pence,
            likelihood=item.likelihood,
            category=item.category.value if item.category else None,
        )
        for item in items
    )


def risks_for(session: Session, org_codes: Collection[str], year: FinancialYear) -> list[RiskItem]:
    rows = session.scalars(
        select(RiskRow)
        .where(RiskRow.org_code.in_(list(org_codes)), RiskRow.year == year.start_year)
        .order_by(RiskRow.id)
    )
    return [
        RiskItem(
            org_code=row.org_code,
            year=year,
            kind=RiskKind(row.kind),
            description=row.description,
            value_pence=row.value_pence,
            likelihood=Decimal(row.likelihood),
            category=CostCategory(row.category) if row.category else None,
        )
        for row in rows
    ]


def save_override(session: Session, override: ForecastOverride) -> None:
    key = (override.org_code, override.year.start_year, override.category.value, override.subcategory)
    row = session.get(ForecastOverrideRow, key) or ForecastOverrideRow(
        org_code=key[0], year=key[1], category=key[2], subcategory=key[3]
    )
    row.forecast_pence, row.reason, row.recorded_at = override.forecast_pence, override.reason, now()
    session.add(row)


def delete_override(session: Session, org_code: str, year: FinancialYear, category: CostCategory, sub: str) -> bool:
    row = session.get(ForecastOverrideRow, (org_code, year.start_year, category.value, sub))
    if row is None:
        return False
    session.delete(row)
    return True


def overrides_for(session: Session, org_codes: Collection[str], year: FinancialYear) -> list[ForecastOverride]:
    rows = session.scalars(
        select(ForecastOverrideRow).where(
            ForecastOverrideRow.org_code.in_(list(org_codes)), ForecastOverrideRow.year == year.start_year
        )
    )
    return [
        ForecastOverride(
            row.org_code, year, CostCategory(row.category), row.subcategory, row.forecast_pence, row.reason
        )
        for row in rows
    ]
