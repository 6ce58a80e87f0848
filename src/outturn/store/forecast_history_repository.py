"""The forecast history in and out of the store (``domain.forecast_history`` records); the caller's session."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from outturn.domain.forecast_history import CategoryRecord, MonthRecord
from outturn.domain.ledger import CostCategory
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.store.models import (
    FinancialPlanRow,
    ForecastHistoryCategoryRow,
    ForecastHistoryMethodRow,
    ForecastHistoryMonthRow,
)
from outturn.store.repository import now


def planned_org_codes(session: Session, year: FinancialYear) -> list[str]:
    """Every organisation with a financial plan for ``year``."""
    statement = select(FinancialPlanRow.org_code).where(FinancialPlanRow.year == year.start_year)
    return sorted(session.scalars(statement))


def _month_ids(session: Session, month: FinancialMonth) -> list[int]:
    return list(
        session.scalars(
            select(ForecastHistoryMonthRow.id).where(
                ForecastHistoryMonthRow.year == month.year.start_year, ForecastHistoryMonthRow.month == month.number
            )
        )
    )


# look-alike of commentary_repository's month key: declarative, each table's columns.
def replace_month(session: Session, month: FinancialMonth, records: Sequence[MonthRecord], who: str) -> int:
    """Store ``records`` as ``month``'s history, replacing any recorded before; returns how many it replaced."""
    replaced = _month_ids(session, month)
    if replaced:
        for model in (ForecastHistoryMethodRow, ForecastHistoryCategoryRow):
            session.execute(delete(model).where(model.month_id.in_(replaced)))
        session.execute(delete(ForecastHistoryMonthRow).where(ForecastHistoryMonthRow.id.in_(replaced)))
    at = now()
    for record in records:
        row = ForecastHistoryMonthRow(
            year=month.year.start_year,
            month=month.number,
            org_code=record.org_code,
            resource_pence=record.resource_pence,
            control_total_pence=record.control_total_pence,
            recorded_at=at,
            recorded_by=who,
        )
        session.add(row)
        session.flush()
        _insert_categories(session, row.id, record.categories)
    return len(replaced)


# look-alike of reports/forecast_history.py's document: declarative, each table's columns.
def _insert_categories(session: Session, month_id: int, categories: Sequence[CategoryRecord]) -> None:
    if not categories:
        return
    session.execute(
        insert(ForecastHistoryCategoryRow),
        [
            {
                "month_id": month_id,
                "category": row.category.value,
                "method": row.method,
                "forecast_outturn_pence": row.forecast_outturn_pence,
                "override_effect_pence": row.override_effect_pence,
                "ytd_actual_pence": row.ytd_actual_pence,
                "ytd_budget_pence": row.ytd_budget_pence,
                "annual_budget_pence": row.annual_budget_pence,
            }
            for row in categories
        ],
    )
    methods = [
        {"month_id": month_id, "category": row.category.value, "method": method, "forecast_outturn_pence": pence}
        for row in categories
        for method, pence in row.by_method_pence.items()
    ]
    if methods:
        session.execute(insert(ForecastHistoryMethodRow), methods)


def load_records(session: Session, org_codes: Collection[str], year: FinancialYear) -> list[MonthRecord]:
    """Every recorded month of ``year`` for ``org_codes``, oldest first."""
    months = list(
        session.scalars(
            select(ForecastHistoryMonthRow)
            .where(
                ForecastHistoryMonthRow.year == year.start_year,
                ForecastHistoryMonthRow.org_code.in_(list(org_codes)),
            )
            .order_by(ForecastHistoryMonthRow.month, ForecastHistoryMonthRow.org_code)
        )
    )
    ids = [row.id for row in months]
    by_method: dict[tuple[int, str], dict[str, int]] = {}
    for method_row in session.scalars(
        select(ForecastHistoryMethodRow)
        .where(ForecastHistoryMethodRow.month_id.in_(ids))
        .order_by(ForecastHistoryMethodRow.method)
    ):
        by_method.setdefault((method_row.month_id, method_row.category), {})[method_row.method] = (
            method_row.forecast_outturn_pence
        )
    categories: dict[int, list[CategoryRecord]] = {}
    for row in session.scalars(select(ForecastHistoryCategoryRow).where(ForecastHistoryCategoryRow.month_id.in_(ids))):
        categories.setdefault(row.month_id, []).append(
            CategoryRecord(
                category=CostCategory(row.category),
                method=row.method,
                forecast_outturn_pence=row.forecast_outturn_pence,
                override_effect_pence=row.override_effect_pence,
                ytd_actual_pence=row.ytd_actual_pence,
                ytd_budget_pence=row.ytd_budget_pence,
                annual_budget_pence=row.annual_budget_pence,
                by_method_pence=by_method.get((row.month_id, row.category), {}),
            )
        )
    order = {category: index for index, category in enumerate(CostCategory)}
    return [
        MonthRecord(
            org_code=row.org_code,
            month=FinancialMonth(year, row.month),
            resource_pence=row.resource_pence,
            control_total_pence=row.control_total_pence,
            categories=tuple(sorted(categories.get(row.id, []), key=lambda item: order[item.category])),
        )
        for row in months
    ]
