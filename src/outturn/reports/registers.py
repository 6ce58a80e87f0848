"""The registers' rows as documents (``plan show``, ``forecast list``, ``risks list``).

The risk register's rows: one builder for ``outturn risks list --format json``, the board pack's register and
the web overview's top risks, so a risk reads the same everywhere.

``likelihood`` is the stored decimal as a string without trailing zeros (``"0.5"``: exact, as JSON numbers are
not), and
``expected_pence`` is ``RiskItem.expected_pence``: value × likelihood rounded by the domain's one rule (half away
from zero), so a 5p risk at 50% is 3p on every screen."""

from __future__ import annotations

from typing import Any

from outturn.domain.plans import FinancialPlan, ForecastOverride, RiskItem


# look-alike of domain/savings_codec.target_to_data and override_row below: declarative, one JSON field per attribute.
def risk_row(item: RiskItem) -> dict[str, Any]:
    return {
        "org_code": item.org_code,
        "kind": item.kind.value,
        "description": item.description,
        "value_pence": item.value_pence,
        "likelihood": format(item.likelihood.normalize(), "f"),
        "expected_pence": item.expected_pence,
        "category": item.category.value if item.category else None,
    }


# look-alike of reports/budget_holders.py:line_document (shape only): declarative, keyword fields or columns, one per
# attribute.
def plan_row(plan: FinancialPlan) -> dict[str, Any]:
    return {
        "org_code": plan.org_code,
        "year": str(plan.year),
        "allocation_pence": plan.allocation_pence,
        "recurrent_allocation_pence": plan.recurrent_allocation_pence,
        "non_recurrent_allocation_pence": plan.non_recurrent_allocation_pence,
        "deductions": [{"description": d.description, "pence": d.pence} for d in plan.deductions],
        "deductions_pence": plan.deductions_pence,
        "resource_pence": plan.resource_pence,
        "required_surplus_pence": plan.required_surplus_pence,
        "control_total_pence": plan.effective_control_total_pence,
    }


def override_row(item: ForecastOverride) -> dict[str, Any]:
    return {
        "org_code": item.org_code,
        "category": item.category.value,
        "subcategory": item.subcategory,
        "forecast_pence": item.forecast_pence,
        "reason": item.reason,
    }
