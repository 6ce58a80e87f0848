"""Line commentary as JSON-ready documents (money in integer pence): one commentary, a budget holder's lines with
their commentary for the month and last month's, and a commentary file's import. ``outturn commentary ...
--format json``, the API and the commentary page all show what these build."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from outturn.domain.commentary import Commentary, CommentedLine
from outturn.domain.periods import FinancialMonth
from outturn.domain.trial_balance import BudgetHolderLine, LineKey


def key_document(key: LineKey) -> dict[str, str]:
    return {"org_code": key.org_code, "cost_centre": key.cost_centre, "subjective_code": key.subjective_code}


def month_document(month: FinancialMonth) -> dict[str, str]:
    return {"financial_year": month.year.label, "month": month.label, "as_at": month.calendar_label}


def commentary_document(commentary: Commentary) -> dict[str, Any]:
    """One line's commentary for one month: the line, the month, the text, who wrote it, when, and its version."""
    return {
        **key_document(commentary.key),
        **month_document(commentary.month),
        "text": commentary.text,
        "author": commentary.author,
        "written_at": commentary.written_at.isoformat(timespec="seconds"),
        "version": commentary.version,
    }


def line_document(line: BudgetHolderLine) -> dict[str, Any]:
    return {
        **key_document(line.key),
        "cost_centre_description": line.cost_centre_description,
        "subjective_description": line.subjective_description,
        "category": line.category.value,
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


def commented_line_document(item: CommentedLine) -> dict[str, Any]:
    return {
        **line_document(item.line),
        "commentary": commentary_document(item.commentary) if item.commentary else None,
        "last_month": commentary_document(item.last_month) if item.last_month else None,
    }


def commentary_list_document(
    month: FinancialMonth, holder: str | None, items: Sequence[CommentedLine]
) -> dict[str, Any]:
    """``outturn commentary list --format json``: the lines (one holder's, or every line when ``holder`` is None),
    those needing commentary first, the largest forecast variance first; each with this month's commentary and
    last month's, offered for reuse."""
    return {
        **month_document(month),
        "holder": holder,
        "lines_count": len(items),
        "needing_commentary": sum(1 for item in items if item.line.needs_commentary),
        "missing_commentary": sum(1 for item in items if item.missing),
        "lines": [commented_line_document(item) for item in items],
    }


def commentary_import_document(source: str, year: str, stored: Sequence[Commentary]) -> dict[str, Any]:
    """``outturn commentary import --format json``: the file, its financial year, and each commentary as stored
    (new, or a new version of the line's commentary for its month)."""
    return {
        "source": source,
        "financial_year": year,
        "rows": len(stored),
        "commentary": [commentary_document(item) for item in stored],
    }
