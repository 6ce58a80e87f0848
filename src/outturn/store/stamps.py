"""Cheap reads that move whenever stored data of a kind may have changed: what the web's page cache keys on
(``services.web.data_stamps`` puts them together). Callers own the session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from outturn.store.models import AuditRow, ForecastOverrideRow, ImportRow, OrganisationRow


def changing_imports(session: Session) -> dict[str, int]:
    """By import kind, the id of the newest import whose file differs from the import of that kind before it."""
    previous = func.lag(ImportRow.sha256).over(partition_by=ImportRow.kind, order_by=ImportRow.id).label("previous")
    imports = select(ImportRow.id, ImportRow.kind, ImportRow.sha256, previous).subquery()
    changing = (
        select(imports.c.kind, func.max(imports.c.id))
        .where(or_(imports.c.previous.is_(None), imports.c.previous != imports.c.sha256))
        .group_by(imports.c.kind)
    )
    return {row[0]: row[1] for row in session.execute(changing)}


def newest_audit_entries(session: Session) -> dict[str, int]:
    """By audited entity, the id of its newest audit entry."""
    newest = select(AuditRow.entity, func.max(AuditRow.id)).group_by(AuditRow.entity)
    return {row[0]: row[1] for row in session.execute(newest)}


def overrides_stamp(session: Session) -> tuple[int, datetime | None]:
    """How many forecast overrides are stored, and when the newest was recorded."""
    count, newest = session.execute(
        select(func.count(), func.max(ForecastOverrideRow.recorded_at)).select_from(ForecastOverrideRow)
    ).one()
    return count, newest


def organisation_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OrganisationRow)) or 0
