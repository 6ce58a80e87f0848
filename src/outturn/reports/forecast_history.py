"""The forecast history as a JSON-ready document (``outturn position history --format json``, the API, the web
page's forecast drift and the board pack): money in integer pence, fields named ``*_pence``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from outturn.domain.forecast_history import CategoryRecord, HistoryMonth, Movement
from outturn.domain.organisations import Organisation
from outturn.domain.periods import FinancialYear

MOVEMENT_LABELS = (
    ("new_actuals_pence", "New actuals"),
    ("method_changes_pence", "Method changes"),
    ("overrides_pence", "Overrides"),
)


def movement_document(movement: Movement | None) -> dict[str, int] | None:
    if movement is None:
        return None
    return {
        "total_pence": movement.total_pence,
        "new_actuals_pence": movement.new_actuals_pence,
        "method_changes_pence": movement.method_changes_pence,
        "overrides_pence": movement.overrides_pence,
    }


def _category(row: CategoryRecord, month: HistoryMonth) -> dict[str, Any]:
    moved = month.movement_by_category.get(row.category) if month.since else None
    return {
        "category": row.category.value,
        "label": row.category.label,
        "method": row.method,
        "forecast_outturn_pence": row.forecast_outturn_pence,
        "override_effect_pence": row.override_effect_pence,
        "ytd_actual_pence": row.ytd_actual_pence,
        "ytd_budget_pence": row.ytd_budget_pence,
        "annual_budget_pence": row.annual_budget_pence,
        "forecast_by_method_pence": dict(row.by_method_pence),
        "movement": movement_document(moved),
    }


def _month(month: HistoryMonth) -> dict[str, Any]:
    record = month.record
    return {
        "month": record.month.label,
        "as_at": record.month.calendar_label,
        "resource_pence": record.resource_pence,
        "control_total_pence": record.control_total_pence,
        "ytd_actual_pence": sum(row.ytd_actual_pence for row in record.categories),
        "annual_budget_pence": sum(row.annual_budget_pence for row in record.categories),
        "forecast_outturn_pence": record.forecast_outturn_pence,
        "forecast_surplus_pence": record.forecast_surplus_pence,
        "gap_to_control_total_pence": record.gap_to_control_total_pence,
        "override_effect_pence": record.override_effect_pence,
        "movement_since": month.since.label if month.since else None,
        "movement": movement_document(month.movement),
        "by_category": [_category(row, month) for row in record.categories],
    }


def history_document(org: Organisation, year: FinancialYear, months: Sequence[HistoryMonth]) -> dict[str, Any]:
    """The organisation's forecast at each month-end close of the year, oldest first."""
    return {
        "org_code": org.code,
        "org_name": org.name,
        "financial_year": year.label,
        "months": [_month(month) for month in months],
    }
