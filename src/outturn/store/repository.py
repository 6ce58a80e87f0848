"""Reading and writing domain records in the store. Callers pass the session; services own the transaction."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, delete, func, select, tuple_
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
    OrganisationRow,
    PlanDeductionRow,
    RiskRow,
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


# --- ledger --------------------------------------------------------------------------------------------------


def record_import(session: Session, kind: str, source_name: str, sha256: str, row_count: int) -> ImportRow:
    row = ImportRow(kind=kind, source_name=source_name, sha256=sha256, row_count=row_count, imported_at=now())
    session.add(row)
    session.flush()
    return row


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
                "import_id": import_id,
            }
            for line in lines
        ],
    )
    return deleted


def ledger_rows(session: Session, org_codes: Collection[str], years: Collection[int]) -> list[dict[str, Any]]:
    """Ledger lines as plain rows in the engine's ledger schema."""
    table = LedgerLineRow.__table__
    statement = select(
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
