"""The position as a JSON-ready document: money in integer pence, fields named ``*_pence``."""

from __future__ import annotations

from typing import Any

from outturn.domain.position import Position
from outturn.domain.year_end import LABELS_BY_FIELD
from outturn.reports.backtest import choices_document


def position_heading(position: Position) -> dict[str, Any]:
    """Whose position, as at when, forecast how: the fields every document about a position starts with."""
    return {
        "org_code": position.org_code,
        "org_name": position.org_name,
        "financial_year": position.as_at.year.label,
        "month": position.as_at.label,
        "as_at": position.as_at.calendar_label,
        "method": position.method,
    }


def year_end_figures(position: Position) -> list[dict[str, Any]]:
    """The position's named year-end figures, each with its one label (``domain/year_end.py``)."""
    risk = position.risk
    figures = {
        "control_total_pence": position.control_total_pence,
        "forecast_surplus_pence": position.forecast_surplus_pence,
        "best_surplus_pence": risk.best_surplus_pence,
        "likely_surplus_pence": risk.likely_surplus_pence,
        "worst_surplus_pence": risk.worst_surplus_pence,
    }
    return [{"field": key, "label": LABELS_BY_FIELD[key], "pence": pence} for key, pence in figures.items()]


def position_document(position: Position) -> dict[str, Any]:
    risk = position.risk
    return {
        **position_heading(position),
        "members": list(position.member_codes),
        "allocation_pence": position.allocation_pence,
        "recurrent_allocation_pence": position.recurrent_allocation_pence,
        "non_recurrent_allocation_pence": position.non_recurrent_allocation_pence,
        "deductions": [{"description": item.description, "pence": item.pence} for item in position.deductions],
        "resource_pence": position.resource_pence,
        "required_surplus_pence": position.required_surplus_pence,
        "control_total_pence": position.control_total_pence,
        "annual_budget_pence": position.annual_budget_pence,
        "planned_surplus_pence": position.planned_surplus_pence,
        "ytd_budget_pence": position.ytd_budget_pence,
        "ytd_actual_pence": position.ytd_actual_pence,
        "ytd_variance_pence": position.ytd_variance_pence,
        "forecast_outturn_pence": position.forecast_outturn_pence,
        "forecast_variance_pence": position.forecast_variance_pence,
        "forecast_surplus_pence": position.forecast_surplus_pence,
        "gap_to_control_total_pence": position.gap_to_control_total_pence,
        "savings_needed_pence": position.savings_needed_pence,
        "risk_adjusted_gap_pence": position.risk_adjusted_gap_pence,
        "risk": {
            "risks_total_pence": risk.risks_total_pence,
            "risks_expected_pence": risk.risks_expected_pence,
            "mitigations_total_pence": risk.mitigations_total_pence,
            "mitigations_expected_pence": risk.mitigations_expected_pence,
            "best_surplus_pence": risk.best_surplus_pence,
            "likely_surplus_pence": risk.likely_surplus_pence,
            "worst_surplus_pence": risk.worst_surplus_pence,
            "savings_planned_remaining_pence": risk.savings.planned_pence,
            "savings_forecast_remaining_pence": risk.savings.forecast_pence,
            "savings_risk_adjusted_remaining_pence": risk.savings.risk_adjusted_pence,
            "savings_shortfall_pence": risk.savings_shortfall_pence,
        },
        "year_end": year_end_figures(position),
        "by_category": [
            {
                "category": row.category.value,
                "label": row.category.label,
                "annual_budget_pence": row.annual_budget_pence,
                "ytd_budget_pence": row.ytd_budget_pence,
                "ytd_actual_pence": row.ytd_actual_pence,
                "ytd_variance_pence": row.ytd_variance_pence,
                "ytd_one_off_pence": row.ytd_one_off_pence,
                "forecast_outturn_pence": row.forecast_outturn_pence,
                "forecast_variance_pence": row.forecast_variance_pence,
                "method": row.method,
                "methods": list(row.methods),
                "line_methods": [
                    {"org_code": line.org_code, "subcategory": line.subcategory, "method": line.method}
                    for line in row.line_methods
                ],
            }
            for row in position.by_category
        ],
        "bridge": [
            {"label": step.label, "kind": step.kind, "pence": step.pence, "running_pence": step.running_pence}
            for step in position.bridge
        ],
        "warnings": [str(problem) for problem in position.warnings],
        "auto_choices": choices_document(position.auto_choices),
    }
