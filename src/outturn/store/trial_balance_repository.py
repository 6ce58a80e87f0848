"""The trial balance's reference data: cost centres (description, parent, budget holder), subjective codes'
descriptions, and the versions of the mapping from codes to categories and budget holders."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from outturn.domain.trial_balance import CostCentre
from outturn.store.models import CostCentreRow, SubjectiveCodeRow


def cost_centres(session: Session, org_codes: Collection[str]) -> dict[tuple[str, str], CostCentre]:
    """The cost centres of the organisations, keyed by (organisation, code)."""
    rows = session.scalars(select(CostCentreRow).where(CostCentreRow.org_code.in_(list(org_codes))))
    return {
        (row.org_code, row.code): CostCentre(
            row.org_code, row.code, row.description, row.parent_code, row.budget_holder
        )
        for row in rows
    }


def save_cost_centres(session: Session, centres: Iterable[CostCentre]) -> None:
    """Insert or update each cost centre (a blank description or parent keeps the one stored)."""
    for centre in centres:
        row = session.get(CostCentreRow, (centre.org_code, centre.code))
        if row is None:
            session.add(
                CostCentreRow(
                    org_code=centre.org_code,
                    code=centre.code,
                    description=centre.description,
                    parent_code=centre.parent_code,
                    budget_holder=centre.budget_holder,
                )
            )
            continue
        row.description = centre.description or row.description
        row.parent_code = centre.parent_code or row.parent_code
        row.budget_holder = centre.budget_holder
    session.flush()


def subjective_descriptions(session: Session) -> dict[str, str]:
    return {row.code: row.description for row in session.scalars(select(SubjectiveCodeRow))}


def save_subjective_descriptions(session: Session, descriptions: dict[str, str]) -> None:
    for code, description in descriptions.items():
        if not description:
            continue
        row = session.get(SubjectiveCodeRow, code)
        if row is None:
            session.add(SubjectiveCodeRow(code=code, description=description))
        else:
            row.description = description
    session.flush()
