"""The monthly financial return (``outturn return``): the month's board pack retold in the shape a commissioner
reports to NHS England, as one JSON document in pence (pure: no I/O).

Nothing here is computed afresh from the ledger: every table is read from the board pack of the same month
(``reports.pack.BoardPack`` and its documents, ``reports.pack_documents``), so each figure is the pack's figure to
the penny. What the return adds is derived from those figures by the rules stated beside each table:

- **Summary**: the position's resource, spend and surplus against the control total.
- **Expenditure by category**: each category's plan (its budget) and actual, year to date and full year (the
  forecast outturn), with the variances, and their total.
- **Underlying position**: the forecast surplus with its non-recurrent items taken out (non-recurrent allocation
  removed; one-off spend to date added back) and, beside it, the exit run rate: each category's recurring spend
  in the last (up to) three months to date, a month's average × 12, against the recurrent resource.
- **Efficiencies** (the savings plan): plan, delivered to date, forecast, target, identified and unidentified for
  the organisation, by workstream with the pack's RAG, and summed by that RAG.
- **Risks and mitigations**: each item of the register, gross and likely (× likelihood), and their totals; the
  net risk is the likely risks less the likely mitigations.

Sign convention: a surplus is positive, a deficit negative; variances are plan less actual (positive favourable).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from outturn.domain.money import VARIANCE_CONVENTION, Pence, div_round
from outturn.domain.periods import MONTHS_IN_YEAR
from outturn.domain.position import CategoryPosition, Position
from outturn.reports.pack import BoardPack
from outturn.reports.pack_documents import PackDocuments

EXIT_WINDOW_MONTHS = 3  # the exit run rate averages the last three months to date (fewer before M03)
SIGN_CONVENTION = f"A surplus is positive and a deficit negative. {VARIANCE_CONVENTION}"
UNITS = "pence in the JSON; £000 in the workbook (each figure also in pence, under its JSON field name)"
SUMMARY_FIELDS = (
    ("Allocation", "allocation_pence"),
    ("Deductions", "deductions_pence"),
    ("Resource (allocation less deductions)", "resource_pence"),
    ("Annual budget (planned spend)", "annual_budget_pence"),
    ("Planned surplus/(deficit)", "planned_surplus_pence"),
    ("YTD budget", "ytd_budget_pence"),
    ("YTD actual", "ytd_actual_pence"),
    ("YTD variance", "ytd_variance_pence"),
    ("Forecast outturn", "forecast_outturn_pence"),
    ("Forecast variance", "forecast_variance_pence"),
    ("Forecast surplus/(deficit)", "forecast_surplus_pence"),
    ("Control total", "control_total_pence"),
    ("Gap to control total", "gap_to_control_total_pence"),
    ("Likely surplus/(deficit) after risks and mitigations", "likely_surplus_pence"),
)
EXPENDITURE_FIELDS = (
    "annual_budget_pence",
    "ytd_budget_pence",
    "ytd_actual_pence",
    "ytd_variance_pence",
    "forecast_outturn_pence",
    "forecast_variance_pence",
)
SAVINGS_FIELDS = (
    "plan_pence",
    "plan_to_date_pence",
    "delivered_pence",
    "forecast_pence",
    "shortfall_pence",
    "risk_adjusted_pence",
    "target_pence",
    "identified_pence",
    "unidentified_pence",
)
RAGS = ("red", "amber", "green")
TABLES = (
    ("summary", "Summary"),
    ("expenditure", "Expenditure by category"),
    ("underlying", "Underlying position"),
    ("savings", "Efficiencies"),
    ("risks", "Risks and mitigations"),
)


def _summary(position: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The position's headline figures, each as the pack shows it (``outturn position``'s fields)."""
    deductions = sum(item["pence"] for item in position["deductions"])
    values = {
        **position,
        "deductions_pence": deductions,
        "likely_surplus_pence": position["risk"]["likely_surplus_pence"],
    }
    return [{"label": label, "field": key, "pence": values[key]} for label, key in SUMMARY_FIELDS]


def _expenditure(position: Mapping[str, Any]) -> dict[str, Any]:
    """Plan and actual/forecast by category, year to date and full year, as the pack's position rows."""
    rows = [
        {"category": row["category"], "label": row["label"], **{key: row[key] for key in EXPENDITURE_FIELDS}}
        for row in position["by_category"]
    ]
    total = {"category": "total", "label": "Total", **{key: position[key] for key in EXPENDITURE_FIELDS}}
    return {"rows": rows, "total": total}


def exit_run_rate_pence(row: CategoryPosition, months_elapsed: int) -> Pence:
    """A category's recurring spend a year at its exit rate: the average of the last (up to) three months'
    recurring actual × 12, rounded to the penny."""
    window = min(EXIT_WINDOW_MONTHS, months_elapsed)
    return div_round(row.exit_recurring_pence * MONTHS_IN_YEAR, window)


def _underlying(position: Position) -> dict[str, Any]:
    """The forecast surplus with its non-recurrent items out, and the position at the exit run rate."""
    one_off = sum(row.ytd_one_off_pence for row in position.by_category)
    non_recurrent = position.non_recurrent_allocation_pence
    underlying = position.forecast_surplus_pence - non_recurrent + one_off
    elapsed = position.as_at.elapsed
    by_category: list[dict[str, Any]] = [
        {
            "category": row.category.value,
            "label": row.category.label,
            "ytd_one_off_pence": row.ytd_one_off_pence,
            "exit_recurring_pence": row.exit_recurring_pence,
            "exit_run_rate_pence": exit_run_rate_pence(row, elapsed),
            "forecast_outturn_pence": row.forecast_outturn_pence,
        }
        for row in position.by_category
    ]
    run_rate = sum(exit_run_rate_pence(row, elapsed) for row in position.by_category)
    recurrent_resource = position.resource_pence - non_recurrent
    steps = [
        ("Forecast surplus/(deficit)", "forecast_surplus_pence", position.forecast_surplus_pence),
        ("Less non-recurrent allocation", "non_recurrent_allocation_pence", -non_recurrent),
        ("Add back one-off spend to date", "ytd_one_off_pence", one_off),
        ("Underlying surplus/(deficit)", "underlying_surplus_pence", underlying),
        ("Recurrent resource (resource less non-recurrent allocation)", "recurrent_resource_pence", recurrent_resource),
        ("Exit run rate of recurring spend (a year)", "exit_run_rate_pence", run_rate),
        ("Surplus/(deficit) at the exit run rate", "exit_run_rate_surplus_pence", recurrent_resource - run_rate),
    ]
    return {
        "exit_window_months": min(EXIT_WINDOW_MONTHS, elapsed),
        "rows": [{"label": label, "field": key, "pence": pence} for label, key, pence in steps],
        "by_category": by_category,
    }


def _savings_row(document: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "code": document["code"],
        "name": document["name"],
        "schemes": document["schemes"],
        **extra,
        **{key: document[key] for key in SAVINGS_FIELDS},
    }


def by_rag(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Workstream rows summed by their RAG, red first; a RAG with no workstream is all zeros."""
    totals: dict[str, dict[str, Any]] = {
        rag: {"rag": rag, "workstreams": 0, **dict.fromkeys(SAVINGS_FIELDS, 0)} for rag in RAGS
    }
    for row in rows:
        into = totals[row["rag"]]
        into["workstreams"] += 1
        for key in SAVINGS_FIELDS:
            into[key] += row[key]
    return list(totals.values())


def _savings(pack: BoardPack, docs: PackDocuments) -> dict[str, Any] | None:
    """The organisation's savings total and its workstreams (``savings rollup``), each with the pack's RAG."""
    if docs.savings_total is None:
        return None
    workstreams = [
        _savings_row(document, rag=item.rag) for item, document in zip(pack.workstreams, docs.workstreams, strict=True)
    ]
    return {
        "total": _savings_row(docs.savings_total, scheme_rag=dict(docs.savings_total["rag"])),
        "workstreams": workstreams,
        "by_rag": by_rag(workstreams),
    }


def _risks(position: Mapping[str, Any], register: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Each risk and mitigation, gross and likely, and the position's totals of them."""
    risk = position["risk"]
    totals = [
        ("Risks (gross)", "risks_total_pence", risk["risks_total_pence"]),
        ("Risks (likely)", "risks_expected_pence", risk["risks_expected_pence"]),
        ("Mitigations (gross)", "mitigations_total_pence", risk["mitigations_total_pence"]),
        ("Mitigations (likely)", "mitigations_expected_pence", risk["mitigations_expected_pence"]),
        (
            "Net risk (likely risks less likely mitigations)",
            "net_risk_pence",
            risk["risks_expected_pence"] - risk["mitigations_expected_pence"],
        ),
        ("Savings shortfall for the months to come", "savings_shortfall_pence", risk["savings_shortfall_pence"]),
        ("Forecast surplus/(deficit)", "forecast_surplus_pence", position["forecast_surplus_pence"]),
        ("Likely surplus/(deficit)", "likely_surplus_pence", risk["likely_surplus_pence"]),
        ("Best case", "best_surplus_pence", risk["best_surplus_pence"]),
        ("Worst case", "worst_surplus_pence", risk["worst_surplus_pence"]),
    ]
    items = [
        {
            "org_code": item["org_code"],
            "kind": item["kind"],
            "description": item["description"],
            "category": item["category"],
            "likelihood": item["likelihood"],
            "gross_pence": item["value_pence"],
            "likely_pence": item["expected_pence"],
        }
        for item in register
    ]
    return {"items": items, "totals": [{"label": label, "field": key, "pence": pence} for label, key, pence in totals]}


def return_document(pack: BoardPack, docs: PackDocuments, built_at: datetime) -> dict[str, Any]:
    """The month's return: a cover and five tables, every figure in pence, read from the pack."""
    position = docs.position
    return {
        "return": "Monthly financial return",
        "org_code": position["org_code"],
        "org_name": position["org_name"],
        "financial_year": position["financial_year"],
        "month": position["month"],
        "as_at": position["as_at"],
        "period": pack.headline.period,
        "method": position["method"],
        "built_at": built_at.isoformat(timespec="seconds"),
        "sign_convention": SIGN_CONVENTION,
        "units": UNITS,
        "tables": [{"key": key, "title": title} for key, title in TABLES],
        "summary": _summary(position),
        "expenditure": _expenditure(position),
        "underlying": _underlying(pack.position),
        "savings": _savings(pack, docs),
        "risks": _risks(position, docs.register),
        "notes": list(pack.notes),
    }
