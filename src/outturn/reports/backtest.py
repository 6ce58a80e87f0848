"""The back-test as a JSON-ready document: money in integer pence, percentages rounded to two places."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from outturn.domain.backtest import (
    AUTO_FALLBACK,
    AUTO_ORDER,
    TOTAL,
    AutoChoice,
    Backtest,
    ErrorSummary,
    backtest_month,
)
from outturn.domain.ledger import CostCategory
from outturn.reports.savings import share

ERROR_SIGN = "error = forecast less actual outturn: positive is a forecast above the outturn (spend over-forecast)"
AUTO_RULE = (
    "auto: for each organisation holding a ledger and each category, the method with the smallest mean absolute "
    "percentage error in that organisation's own back-test at the as-at month's number (M12 compares at M11), "
    "averaged over the past years held; ties go to the first of {order}; with no past year "
    "to test against, {fallback}"
)


def percent(value: Fraction | None) -> float | None:
    """A percentage to two decimal places (half up), for JSON; None stays None."""
    return None if value is None else share(Decimal(value.numerator) / Decimal(value.denominator), 2)


def auto_rule() -> str:
    """The ``auto`` rule in words, with the tie order and the fallback as the code has them."""
    return AUTO_RULE.format(order=", ".join(item.value for item in AUTO_ORDER), fallback=AUTO_FALLBACK.value)


def _label(category: str) -> str:
    return "Total" if category == TOTAL else CostCategory(category).label


def _summary(item: ErrorSummary) -> dict[str, Any]:
    found: dict[str, Any] = {"category": item.category, "label": _label(item.category), "method": item.method}
    if item.month is not None:
        found["month"] = f"M{item.month:02d}"
    return {
        **found,
        "observations": item.observations,
        "mape_percent": percent(item.mape_percent),
        "bias_percent": percent(item.bias_percent),
    }


def choices_document(choices: Sequence[AutoChoice]) -> list[dict[str, Any]]:
    """``auto``'s method for each category (of each organisation holding a ledger, in a position), with the error it
    was chosen on (None: the fallback) and why."""
    return [
        {
            "org_code": item.org_code or None,
            "category": item.category.value,
            "label": item.category.label,
            "method": item.method.value,
            "month": f"M{item.month:02d}",
            "mape_percent": percent(item.mape_percent),
            "reason": item.reason,
        }
        for item in choices
    ]


def backtest_document(backtest: Backtest) -> dict[str, Any]:
    """``outturn forecast backtest --format json``: every row, MAPE and bias per method (the total), per category
    and method, and month by month; and the method ``auto`` takes for each category at the as-at month."""
    as_at = backtest.as_at
    return {
        "org_code": backtest.org_code,
        "financial_year": as_at.year.label,
        "month": as_at.label,
        "as_at": as_at.calendar_label,
        "years": [year.label for year in backtest.years],
        "methods": list(backtest.methods),
        "error_sign": ERROR_SIGN,
        "auto_rule": auto_rule(),
        "auto_month": f"M{backtest_month(as_at):02d}",
        "rows": [
            {
                "category": row.category,
                "method": row.method,
                "year": row.year.label,
                "month": f"M{row.month:02d}",
                "forecast_pence": row.forecast_pence,
                "actual_pence": row.actual_pence,
                "error_pence": row.error_pence,
                "error_percent": percent(row.error_percent),
            }
            for row in backtest.rows
        ],
        "summary": [_summary(item) for item in backtest.summary if item.category == TOTAL],
        "summary_by_category": [_summary(item) for item in backtest.summary if item.category != TOTAL],
        "by_month": [_summary(item) for item in backtest.by_month],
        "auto": choices_document(backtest.auto_choices),
    }


BACKTEST_CHART_TITLE = "How far out was each method at this point of the year"


def backtest_chart_title(document: Mapping[str, Any], *, synthetic: bool) -> str:
    """The chart's title, the same in the pack and on the web page; SYNTHETIC when the workspace's data are."""
    years = ", ".join(document["years"])
    label = " (SYNTHETIC data)" if synthetic else ""
    return f"{BACKTEST_CHART_TITLE}\nmean absolute error of the year-end forecast, all categories, {years}{label}"
