"""The trial balance's reference data: cost centres (description, parent, budget holder), subjective codes'
descriptions, and the versions of the mapping from codes to categories and budget holders."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outturn.domain.ledger import CostCategory
from outturn.domain.ledger_mapping import LedgerMapping, MappingRule, MappingVersion
from outturn.domain.trial_balance import CostCentre
from outturn.store.models import (
    CostCentreRow,
    LedgerMappingRuleRow,
    LedgerMappingVersionRow,
    SubjectiveCodeRow,
)
from outturn.store.repository import now
from outturn.store.savings_repository import record_change


def cost_centres(session: Session, org_codes: Collection[str]) -> dict[tuple[str, str], CostCentre]:
    """The cost centres of the organisations, keyed by (organisation, code)."""
    rows = session.scalars(select(CostCentreRow).where(CostCentreRow.org_code.in_(list(org_codes))))
    return {
        (row.org_code, row.code): CostCentre(
            row.org_code, row.code, row.description, row.parent_code, row.budget_holder
        )
        for row in rows
    }


# look-alike of store/repository.py:list_imports (shape only): declarative, keyword fields or columns, one per
# attribute.
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


def save_mapping(
    session: Session, mapping: LedgerMapping, parents: Mapping[str, str], *, who: str, file_name: str, checksum: str
) -> int:
    """Store ``mapping`` as the next version (the newest applies), recorded in the audit trail; its number. The
    same file as the newest version's (by checksum) is that version, not a new one."""
    newest = session.scalars(select(LedgerMappingVersionRow).order_by(LedgerMappingVersionRow.version.desc())).first()
    if newest is not None and newest.checksum == checksum:
        return newest.version
    latest = newest.version if newest is not None else 0
    version = latest + 1
    session.add(
        LedgerMappingVersionRow(version=version, loaded_at=now(), loaded_by=who, file_name=file_name, checksum=checksum)
    )
    session.flush()
    session.add_all(
        LedgerMappingRuleRow(
            version=version,
            position=index,
            cost_centre=rule.cost_centre,
            subjective_code=rule.subjective_code,
            category=rule.category.value,
            subcategory=rule.subcategory,
            budget_holder=rule.budget_holder,
            parent=parents.get(rule.cost_centre, ""),
        )
        for index, rule in enumerate(mapping.rules, start=1)
    )
    record_change(
        session,
        who,
        "ledger mapping",
        str(version),
        "load",
        None,
        {"file": file_name, "sha256": checksum, "rules": len(mapping.rules)},
    )
    session.flush()
    return version


def _version(session: Session, row: LedgerMappingVersionRow) -> MappingVersion:
    rules = session.scalars(
        select(LedgerMappingRuleRow)
        .where(LedgerMappingRuleRow.version == row.version)
        .order_by(LedgerMappingRuleRow.position)
    ).all()
    mapping = LedgerMapping(
        tuple(
            MappingRule(
                cost_centre=rule.cost_centre,
                subjective_code=rule.subjective_code,
                category=CostCategory(rule.category),
                subcategory=rule.subcategory,
                budget_holder=rule.budget_holder,
                row=rule.position,
            )
            for rule in rules
        ),
        version=row.version,
    )
    parents = {rule.cost_centre: rule.parent for rule in rules if rule.parent}
    return MappingVersion(row.version, row.loaded_at, row.loaded_by, row.file_name, row.checksum, mapping, parents)


def current_mapping(session: Session) -> MappingVersion | None:
    """The newest version of the mapping, or None when none has been loaded."""
    row = session.scalars(select(LedgerMappingVersionRow).order_by(LedgerMappingVersionRow.version.desc())).first()
    return None if row is None else _version(session, row)


def mapping_versions(session: Session) -> list[tuple[int, datetime, str, str, int]]:
    """(version, loaded at, by whom, file, rules) of every version, newest first."""
    statement = (
        select(
            LedgerMappingVersionRow.version,
            LedgerMappingVersionRow.loaded_at,
            LedgerMappingVersionRow.loaded_by,
            LedgerMappingVersionRow.file_name,
            func.count(LedgerMappingRuleRow.position),
        )
        .join(LedgerMappingRuleRow, LedgerMappingRuleRow.version == LedgerMappingVersionRow.version, isouter=True)
        .group_by(LedgerMappingVersionRow.version)
        .order_by(LedgerMappingVersionRow.version.desc())
    )
    return [(row[0], row[1], row[2], row[3], row[4]) for row in session.execute(statement)]


def all_cost_centres(session: Session) -> list[CostCentre]:
    """Every organisation's cost centres, by organisation and code."""
    rows = session.scalars(select(CostCentreRow).order_by(CostCentreRow.org_code, CostCentreRow.code))
    return [CostCentre(row.org_code, row.code, row.description, row.parent_code, row.budget_holder) for row in rows]
