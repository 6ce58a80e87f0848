"""Budget holders' reports, ledger roll-ups and the trial-balance mapping as JSON-ready documents (money in integer
pence): one builder each, for the CLI, the API, the web page and the pack."""

from __future__ import annotations

from typing import Any

from outturn.domain.contract_ledger import Threshold
from outturn.domain.ledger_mapping import MappingVersion
from outturn.domain.trial_balance import BudgetHolderLine, BudgetHolderReport, LineTotals

VARIANCE_CONVENTION = "Variance = budget less actual (or forecast): positive is an underspend, negative an overspend."


def commentary_rule(threshold: Threshold) -> str:
    rule = threshold.describe("the matching budget")
    return f"A line needs commentary when its year-to-date or forecast variance is {rule}."


def totals_document(totals: LineTotals) -> dict[str, Any]:
    return {
        "name": totals.name,
        "lines": totals.lines,
        "lines_needing_commentary": totals.needing_commentary,
        "annual_budget_pence": totals.annual_budget_pence,
        "ytd_budget_pence": totals.ytd_budget_pence,
        "ytd_actual_pence": totals.ytd_actual_pence,
        "ytd_variance_pence": totals.ytd_variance_pence,
        "forecast_outturn_pence": totals.forecast_outturn_pence,
        "forecast_variance_pence": totals.forecast_variance_pence,
    }


def line_document(line: BudgetHolderLine) -> dict[str, Any]:
    return {
        "org_code": line.key.org_code,
        "cost_centre": line.key.cost_centre,
        "cost_centre_description": line.cost_centre_description,
        "subjective_code": line.key.subjective_code,
        "subjective_description": line.subjective_description,
        "category": line.category.value,
        "category_label": line.category.label,
        "subcategory": line.subcategory,
        "budget_holder": line.budget_holder,
        "annual_budget_pence": line.annual_budget_pence,
        "ytd_budget_pence": line.ytd_budget_pence,
        "ytd_actual_pence": line.ytd_actual_pence,
        "ytd_variance_pence": line.ytd_variance_pence,
        "forecast_outturn_pence": line.forecast_outturn_pence,
        "forecast_variance_pence": line.forecast_variance_pence,
        "forecast_method": line.forecast_method,
        "needs_commentary": line.needs_commentary,
    }


def budget_holder_document(report: BudgetHolderReport) -> dict[str, Any]:
    """``outturn budget-holders report --format json`` and ``/api/budget-holders``."""
    return {
        "org_code": report.org_code,
        "financial_year": report.as_at.year.label,
        "as_at": report.as_at.calendar_label,
        "holder": report.holder,
        "threshold": {"pounds": report.threshold.pounds, "percent": str(float(report.threshold.percent))},
        "commentary_rule": commentary_rule(report.threshold),
        "variance_convention": VARIANCE_CONVENTION,
        "holders": [totals_document(totals) for totals in report.holders],
        "lines": [line_document(line) for line in report.lines],
    }


def roll_up_document(report: BudgetHolderReport, level: str, totals: tuple[LineTotals, ...]) -> dict[str, Any]:
    """``outturn ledger rollup --format json`` and ``/api/ledger/rollup``."""
    return {
        "org_code": report.org_code,
        "financial_year": report.as_at.year.label,
        "as_at": report.as_at.calendar_label,
        "by": level,
        "variance_convention": VARIANCE_CONVENTION,
        "rows": [totals_document(item) for item in totals],
        "total": totals_document(_sum(totals)),
    }


# look-alike of domain/forecast_history.py:_combine_categories (shape only): declarative, keyword fields or columns,
# one per attribute.
def _sum(totals: tuple[LineTotals, ...]) -> LineTotals:
    return LineTotals(
        name="Total",
        lines=sum(item.lines for item in totals),
        needing_commentary=sum(item.needing_commentary for item in totals),
        annual_budget_pence=sum(item.annual_budget_pence for item in totals),
        ytd_budget_pence=sum(item.ytd_budget_pence for item in totals),
        ytd_actual_pence=sum(item.ytd_actual_pence for item in totals),
        forecast_outturn_pence=sum(item.forecast_outturn_pence for item in totals),
    )


def mapping_document(found: MappingVersion, versions: list[tuple[int, Any, str, str, int]]) -> dict[str, Any]:
    """``outturn ledger mapping show --format json`` and ``/api/ledger/mapping``: the rules in force and every
    version loaded (who, when, file)."""
    return {
        "version": found.version,
        "loaded_at": found.loaded_at.isoformat(timespec="seconds"),
        "loaded_by": found.loaded_by,
        "file": found.file_name,
        "rules": [
            {
                "row": rule.row,
                "cost_centre": rule.cost_centre,
                "subjective_code": rule.subjective_code,
                "category": rule.category.value,
                "subcategory": rule.subcategory,
                "budget_holder": rule.budget_holder,
                "parent": found.parents.get(rule.cost_centre, ""),
            }
            for rule in found.mapping.rules
        ],
        "versions": [
            {
                "version": version,
                "loaded_at": at.isoformat(timespec="seconds"),
                "loaded_by": who,
                "file": name,
                "rules": rules,
            }
            for version, at, who, name, rules in versions
        ],
    }
