"""Line commentary as JSON-ready documents (money in integer pence): one commentary, a budget holder's lines with
their commentary for the month and last month's, and a commentary file's import. ``outturn commentary ...
--format json``, the API and the commentary page all show what these build."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from outturn.domain.commentary import Commentary, CommentedLine
from outturn.domain.periods import FinancialMonth
from outturn.domain.trial_balance import TrialBalanceLineKey
from outturn.reports.budget_holders import line_document


def key_document(key: TrialBalanceLineKey) -> dict[str, str]:
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


def commented_line_document(item: CommentedLine) -> dict[str, Any]:
    """A line as the budget holder's report shows it, with the month's commentary and last month's."""
    return {
        **line_document(item.line),
        "commentary": commentary_document(item.commentary) if item.commentary else None,
        "last_month": commentary_document(item.last_month) if item.last_month else None,
    }


def commentary_list_document(
    month: FinancialMonth, holder: str | None, items: Sequence[CommentedLine], month_closed: bool = False
) -> dict[str, Any]:
    """``outturn commentary list --format json``: the lines (one holder's, or every line when ``holder`` is None),
    those needing commentary first, the largest forecast variance first; each with this month's commentary and
    last month's, offered for reuse; ``month_closed``: the month is closed, so its commentary is read-only."""
    return {
        **month_document(month),
        "month_closed": month_closed,
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
