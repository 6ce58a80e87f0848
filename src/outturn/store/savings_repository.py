"""Savings schemes, targets, closes and the audit trail in the store. Callers own the session/transaction."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from outturn.domain.errors import NotFound, StaleVersion
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialYear
from outturn.domain.savings import Rag, SavingsTarget, Scheme, SchemeStatus, Workstream
from outturn.domain.savings_codec import normalised, scheme_to_data
from outturn.domain.savings_rollup import SchemeSnapshot
from outturn.store.models import (
    AuditRow,
    SavingsCloseLineRow,
    SavingsCloseRow,
    SavingsTargetRow,
    SchemePhasingRow,
    SchemeRow,
)
from outturn.store.repository import now


class VersionConflict(StaleVersion[Scheme]):
    """Someone else saved the scheme first: the stored version is not the one the edit started from."""

    def __init__(self, reference: str, expected: int, current: Scheme) -> None:
        super().__init__("scheme", "edited", reference, expected, current)


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


# --- schemes -------------------------------------------------------------------------------------------------


# look-alike of challenges_repository._columns: declarative, each table's columns.
def _scheme_columns(scheme: Scheme) -> dict[str, Any]:
    return {
        "title": scheme.title,
        "org_code": scheme.org_code,
        "workstream": scheme.workstream.value,
        "lead": scheme.lead,
        "recurrent": scheme.recurrent,
        "status": scheme.status.value,
        "start_month": scheme.start_month,
        "confidence": scheme.confidence,
        "evidence_measure": scheme.evidence_measure,
        "negative_reason": scheme.negative_reason,
        "rag_override": scheme.rag_override.value if scheme.rag_override else None,
        "rag_override_reason": scheme.rag_override_reason,
    }


def _phasing_rows(scheme_id: int, scheme: Scheme) -> list[dict[str, Any]]:
    return [
        {
            "scheme_id": scheme_id,
            "month": month,
            "planned_pence": scheme.planned[month - 1],
            "delivered_pence": scheme.delivered[month - 1],
            "forecast_pence": scheme.forecast[month - 1],
        }
        for month in range(1, MONTHS_IN_YEAR + 1)
    ]


def insert_schemes(session: Session, schemes: Sequence[Scheme], who: str) -> None:
    """New schemes at version 1, with their phasing (in bulk: one statement for schemes, one for phasing)."""
    if not schemes:
        return
    connection, table, stamp = session.connection(), _table(SchemeRow), now()
    connection.execute(
        table.insert(),
        [
            {
                **_scheme_columns(scheme),
                "reference": scheme.reference,
                "year": scheme.year.start_year,
                "version": 1,
                "updated_at": stamp,
                "updated_by": who,
            }
            for scheme in schemes
        ],
    )
    ids: dict[tuple[int, str], int] = {}
    for year in {scheme.year.start_year for scheme in schemes}:
        references = [scheme.reference for scheme in schemes if scheme.year.start_year == year]
        for start in range(0, len(references), 500):
            statement = select(table.c.reference, table.c.id).where(
                table.c.year == year, table.c.reference.in_(references[start : start + 500])
            )
            ids.update({(year, reference): scheme_id for reference, scheme_id in connection.execute(statement)})
    phasing = [
        row for scheme in schemes for row in _phasing_rows(ids[(scheme.year.start_year, scheme.reference)], scheme)
    ]
    connection.execute(_table(SchemePhasingRow).insert(), phasing)


def replace_scheme(session: Session, scheme: Scheme, expected_version: int, who: str) -> Scheme:
    """Save ``scheme`` over the stored one if, and only if, the stored version is ``expected_version``."""
    table = _table(SchemeRow)
    result = session.connection().execute(
        update(table)
        .where(
            table.c.year == scheme.year.start_year,
            table.c.reference == scheme.reference,
            table.c.version == expected_version,
        )
        .values(**_scheme_columns(scheme), version=expected_version + 1, updated_at=now(), updated_by=who)
        .returning(table.c.id)
    )
    scheme_id = result.scalar()
    if scheme_id is None:
        current = load_scheme(session, scheme.year, scheme.reference)
        if current is None:
            raise NotFound(f"no scheme {scheme.reference} in {scheme.year}")
        raise VersionConflict(scheme.reference, expected_version, current)
    phasing = _table(SchemePhasingRow)
    session.connection().execute(phasing.delete().where(phasing.c.scheme_id == scheme_id))
    session.connection().execute(phasing.insert(), _phasing_rows(scheme_id, scheme))
    return scheme.with_changes(version=expected_version + 1)


def _scheme(row: Any, months: list[tuple[int, int | None, int | None]]) -> Scheme:
    return Scheme(
        reference=row.reference,
        title=row.title,
        org_code=row.org_code,
        year=FinancialYear(row.year),
        workstream=Workstream(row.workstream),
        planned=tuple(planned for planned, _d, _f in months),
        delivered=tuple(delivered for _p, delivered, _f in months),
        forecast=tuple(forecast for _p, _d, forecast in months),
        lead=row.lead,
        recurrent=bool(row.recurrent),
        status=SchemeStatus(row.status),
        start_month=row.start_month,
        confidence=normalised(Decimal(row.confidence)),
        evidence_measure=row.evidence_measure,
        negative_reason=row.negative_reason,
        rag_override=Rag(row.rag_override) if row.rag_override else None,
        rag_override_reason=row.rag_override_reason,
        version=row.version,
    )


def load_schemes(
    session: Session, year: FinancialYear, org_codes: Collection[str] | None = None, reference: str | None = None
) -> list[Scheme]:
    """Every scheme of the year (optionally of some organisations, or one reference), ordered by reference.

    One statement reads each scheme with its months, so the version and the months always come from the same
    state of the store, however many saves run beside it (a statement sees one snapshot on SQLite and PostgreSQL).
    """
    schemes, phasing = _table(SchemeRow), _table(SchemePhasingRow)
    condition = schemes.c.year == year.start_year
    if org_codes is not None:
        condition = condition & schemes.c.org_code.in_(list(org_codes))
    if reference is not None:
        condition = condition & (schemes.c.reference == reference)
    month_columns = (phasing.c.planned_pence, phasing.c.delivered_pence, phasing.c.forecast_pence)
    statement = (
        select(schemes, *month_columns)
        .join(phasing, phasing.c.scheme_id == schemes.c.id)
        .where(condition)
        .order_by(schemes.c.reference, phasing.c.month)
    )
    rows: dict[int, Any] = {}
    months: dict[int, list[tuple[int, int | None, int | None]]] = {}
    for row in session.connection().execute(statement):
        rows.setdefault(row.id, row)
        months.setdefault(row.id, []).append((row.planned_pence, row.delivered_pence, row.forecast_pence))
    return [_scheme(rows[scheme_id], months[scheme_id]) for scheme_id in rows]


def load_scheme(session: Session, year: FinancialYear, reference: str) -> Scheme | None:
    found = load_schemes(session, year, reference=reference)
    return found[0] if found else None


def existing_references(session: Session, year: FinancialYear) -> set[str]:
    table = _table(SchemeRow)
    return set(session.connection().execute(select(table.c.reference).where(table.c.year == year.start_year)).scalars())


# --- targets -------------------------------------------------------------------------------------------------


def save_targets(session: Session, targets: Sequence[SavingsTarget]) -> None:
    for target in targets:
        row = session.get(SavingsTargetRow, (target.org_code, target.year.start_year)) or SavingsTargetRow(
            org_code=target.org_code, year=target.year.start_year
        )
        row.target_pence, row.programme = target.target_pence, target.programme
        session.add(row)
    session.flush()


def load_targets(session: Session, year: FinancialYear | None = None) -> list[SavingsTarget]:
    statement = select(SavingsTargetRow).order_by(SavingsTargetRow.year, SavingsTargetRow.org_code)
    if year is not None:
        statement = statement.where(SavingsTargetRow.year == year.start_year)
    return [
        SavingsTarget(row.org_code, FinancialYear(row.year), row.target_pence, row.programme)
        for row in session.scalars(statement)
    ]


# --- audit trail ---------------------------------------------------------------------------------------------


def record_change(
    session: Session,
    who: str,
    entity: str,
    key: str,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    session.add(
        AuditRow(
            at=now(),
            who=who,
            entity=entity,
            entity_key=key,
            action=action,
            before_json=json.dumps(before) if before is not None else None,
            after_json=json.dumps(after) if after is not None else None,
        )
    )
    session.flush()


def record_scheme_change(session: Session, who: str, action: str, before: Scheme | None, after: Scheme | None) -> None:
    scheme = after or before
    assert scheme is not None
    key = f"{scheme.year.label} {scheme.reference}"
    record_change(
        session,
        who,
        "scheme",
        key,
        action,
        scheme_to_data(before) if before else None,
        scheme_to_data(after) if after else None,
    )


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    who: str
    entity: str
    key: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def history(session: Session, entity: str, key: str) -> list[AuditEntry]:
    rows = session.scalars(
        select(AuditRow).where(AuditRow.entity == entity, AuditRow.entity_key == key).order_by(AuditRow.id)
    )
    return [
        AuditEntry(
            row.at,
            row.who,
            row.entity,
            row.entity_key,
            row.action,
            json.loads(row.before_json) if row.before_json else None,
            json.loads(row.after_json) if row.after_json else None,
        )
        for row in rows
    ]


# --- month-end closes ----------------------------------------------------------------------------------------


def create_close(
    session: Session,
    year: FinancialYear,
    month: int,
    who: str,
    snapshots: Sequence[SchemeSnapshot],
    schemes: Sequence[Scheme],
) -> int:
    close = SavingsCloseRow(year=year.start_year, month=month, closed_at=now(), closed_by=who)
    session.add(close)
    session.flush()
    by_reference = {scheme.reference: scheme for scheme in schemes}
    lines = [
        {
            "close_id": close.id,
            "reference": item.reference,
            "title": item.title,
            "org_code": item.org_code,
            "workstream": item.workstream,
            "status": item.status,
            "rag": item.rag,
            "confidence": item.confidence,
            "plan_pence": item.plan_pence,
            "delivered_pence": item.delivered_pence,
            "forecast_pence": item.forecast_pence,
            "risk_adjusted_pence": item.risk_adjusted_pence,
            "scheme_json": json.dumps(scheme_to_data(by_reference[item.reference])),
        }
        for item in snapshots
    ]
    if lines:
        session.connection().execute(_table(SavingsCloseLineRow).insert(), lines)
    return close.id


def last_closed_month(session: Session, year: FinancialYear) -> int:
    """The latest month of ``year`` closed at month end (0 when none has been)."""
    statement = select(func.max(SavingsCloseRow.month)).where(SavingsCloseRow.year == year.start_year)
    return session.execute(statement).scalar() or 0


def close_exists(session: Session, year: FinancialYear, month: int) -> bool:
    statement = select(SavingsCloseRow.id).where(
        SavingsCloseRow.year == year.start_year, SavingsCloseRow.month == month
    )
    return session.execute(statement).first() is not None


def close_snapshots(session: Session, year: FinancialYear, month: int) -> list[SchemeSnapshot] | None:
    close = session.scalars(
        select(SavingsCloseRow).where(SavingsCloseRow.year == year.start_year, SavingsCloseRow.month == month)
    ).first()
    if close is None:
        return None
    rows = session.scalars(
        select(SavingsCloseLineRow)
        .where(SavingsCloseLineRow.close_id == close.id)
        .order_by(SavingsCloseLineRow.reference)
    )
    return [
        SchemeSnapshot(
            row.reference,
            row.title,
            row.org_code,
            row.workstream,
            row.status,
            row.rag,
            Decimal(row.confidence),
            row.plan_pence,
            row.delivered_pence,
            row.forecast_pence,
            row.risk_adjusted_pence,
        )
        for row in rows
    ]


def list_closes(session: Session) -> list[tuple[int, int, datetime, str]]:
    rows = session.scalars(select(SavingsCloseRow).order_by(SavingsCloseRow.year, SavingsCloseRow.month))
    return [(row.year, row.month, row.closed_at, row.closed_by) for row in rows]
