"""Planning assumptions in the store. Callers own the session/transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from outturn.domain.periods import FinancialYear
from outturn.domain.planning import Assumption, AssumptionKind
from outturn.store.models import PlanAssumptionRow


def replace_assumptions(session: Session, items: Sequence[Assumption]) -> int:
    """Replace the assumptions of each organisation and year in ``items``; the number of rows removed."""
    removed = 0
    for org_code, year in sorted({(item.org_code, item.year.start_year) for item in items}):
        result = session.execute(
            delete(PlanAssumptionRow).where(PlanAssumptionRow.org_code == org_code, PlanAssumptionRow.year == year)
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
    session.add_all(
        PlanAssumptionRow(
            org_code=item.org_code,
            year=item.year.start_year,
            position=position,
            kind=item.kind.value,
            pence=item.pence,
            description=item.description,
            recurrent=item.recurrent,
            share=item.share,
            base_pence=item.base_pence,
        )
        for position, item in enumerate(items)
    )
    return removed


# look-alike of challenges_repository's row reading: declarative, each table's columns.
def assumptions_for(session: Session, org_codes: Collection[str] | None = None) -> list[Assumption]:
    """The stored assumptions (of ``org_codes``, or all), by organisation, year and the file's order."""
    query = select(PlanAssumptionRow).order_by(
        PlanAssumptionRow.org_code, PlanAssumptionRow.year, PlanAssumptionRow.position
    )
    if org_codes is not None:
        query = query.where(PlanAssumptionRow.org_code.in_(org_codes))
    return [
        Assumption(
            org_code=row.org_code,
            year=FinancialYear(row.year),
            kind=AssumptionKind(row.kind),
            pence=row.pence,
            description=row.description,
            recurrent=row.recurrent,
            share=row.share,
            base_pence=row.base_pence,
        )
        for row in session.scalars(query)
    ]


def planned_org_codes(session: Session) -> list[str]:
    return list(session.scalars(select(PlanAssumptionRow.org_code).distinct().order_by(PlanAssumptionRow.org_code)))
