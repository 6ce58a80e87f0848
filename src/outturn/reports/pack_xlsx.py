"""The board pack as an Excel workbook (openpyxl): one sheet per section, numbers as numbers.

Every money figure appears twice: in pounds with a £ number format where the reader looks for it, and in whole
pence in a column headed by its JSON field name (``forecast_outturn_pence``), so the workbook reconciles exactly,
to the penny, with the JSON the commands print (``outturn position --format json`` and the rest).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook

from outturn.domain.backtest import method_in_words
from outturn.domain.year_end import (
    BEST,
    CONTROL_TOTAL,
    FORECAST_SURPLUS,
    LABELS_BY_FIELD,
    LIKELY,
    SAVINGS_SHORTFALL,
    SIMULATED_MEAN,
    SIMULATION_FIELDS,
    WORST,
)
from outturn.reports import pack_xlsx_activity as activity_sheets
from outturn.reports.pack import BoardPack, headline_document
from outturn.reports.pack_documents import PackDocuments, pack_documents
from outturn.reports.xlsx_tables import (
    FIELD_COLUMNS,
    Column,
    field_rows,
    fit_widths,
    money,
    new_sheet,
    write_table,
)


def _headline(book: Workbook, pack: BoardPack, docs: PackDocuments) -> None:
    document = headline_document(pack.headline)
    sheet, row = new_sheet(
        book,
        "Headline",
        f"{pack.headline.org_name}, {pack.headline.month} {pack.headline.financial_year}",
        convention=True,
    )
    flat = {**document, **{f"savings_{key}": value for key, value in (document["savings"] or {}).items()}}
    money_rows = [
        {"label": key.removesuffix("_pence").replace("_", " ").capitalize(), "field": key, "value": value}
        for key, value in flat.items()
        if key.endswith("_pence") and value is not None
    ]
    row = write_table(sheet, row, FIELD_COLUMNS, money_rows)
    shares = [
        {
            "label": "Chance of meeting the control total",
            "field": "p_meet_control_total",
            "value": document["p_meet_control_total"],
        },
        {
            "label": "Savings delivered / planned to date",
            "field": "savings_delivered_share",
            "value": flat.get("savings_delivered_share"),
        },
    ]
    write_table(
        sheet, row, (Column("Figure", "label"), Column("Share", "value", "share"), Column("Field", "field")), shares
    )


def _narrative(book: Workbook, pack: BoardPack, docs: PackDocuments) -> None:
    sheet, row = new_sheet(
        book,
        "Narrative",
        "Sentences written from this pack's figures by fixed rules (no figure in them is typed by hand)",
    )
    for offset, sentence in enumerate(pack.narrative):
        sheet.cell(row + offset, 1, sentence)
    sheet.column_dimensions["A"].width = 160


POSITION_FIELDS = (
    ("Allocation", "allocation_pence"),
    ("Recurrent allocation", "recurrent_allocation_pence"),
    ("Non-recurrent allocation", "non_recurrent_allocation_pence"),
    ("Resource", "resource_pence"),
    ("Required surplus", "required_surplus_pence"),
    (CONTROL_TOTAL, "control_total_pence"),
    ("Annual budget", "annual_budget_pence"),
    ("Planned surplus", "planned_surplus_pence"),
    ("YTD budget", "ytd_budget_pence"),
    ("YTD actual", "ytd_actual_pence"),
    ("YTD variance", "ytd_variance_pence"),
    ("Forecast outturn", "forecast_outturn_pence"),
    ("Forecast variance", "forecast_variance_pence"),
    (FORECAST_SURPLUS, "forecast_surplus_pence"),
    ("Gap to control total", "gap_to_control_total_pence"),
    ("Savings needed", "savings_needed_pence"),
    ("Risk-adjusted gap", "risk_adjusted_gap_pence"),
)
RISK_FIELDS = (
    ("Risks (total)", "risks_total_pence"),
    ("Risks (expected)", "risks_expected_pence"),
    ("Mitigations (total)", "mitigations_total_pence"),
    ("Mitigations (expected)", "mitigations_expected_pence"),
    ("Savings planned for the months to come (the budgets assume)", "savings_planned_remaining_pence"),
    ("Savings forecast for the months to come", "savings_forecast_remaining_pence"),
    ("Savings forecast for the months to come, risk-adjusted", "savings_risk_adjusted_remaining_pence"),
    (SAVINGS_SHORTFALL, "savings_shortfall_pence"),
    (BEST, "best_surplus_pence"),
    (LIKELY, "likely_surplus_pence"),
    (WORST, "worst_surplus_pence"),
)
CATEGORY_COLUMNS = (
    Column("Category", "category"),
    Column("Label", "label"),
    money("Annual budget", "annual_budget_pence"),
    money("YTD budget", "ytd_budget_pence"),
    money("YTD actual", "ytd_actual_pence"),
    money("YTD variance", "ytd_variance_pence"),
    money("YTD one-off", "ytd_one_off_pence"),
    money("Forecast outturn", "forecast_outturn_pence"),
    money("Forecast variance", "forecast_variance_pence"),
    Column("Method", "method"),
    Column("Methods", "methods"),
)


def _position(book: Workbook, pack: BoardPack, docs: PackDocuments) -> None:
    for title, document in (("Position", docs.position), ("Position last month", docs.previous_position)):
        if document is None:
            continue
        sheet, row = new_sheet(
            book,
            title,
            f"{document['org_name']} as at {document['month']} {document['financial_year']}: budget, actual to date"
            f" and forecast outturn by category (forecast by {method_in_words(document['method'])})",
            convention=True,
        )
        row = write_table(sheet, row, FIELD_COLUMNS, field_rows(document, POSITION_FIELDS))
        row = write_table(sheet, row, FIELD_COLUMNS, field_rows(document["risk"], RISK_FIELDS))
        row = write_table(sheet, row, CATEGORY_COLUMNS, document["by_category"])
        deductions = (Column("Deduction", "description"), money("Amount", "pence"))
        row = write_table(sheet, row, deductions, document["deductions"])
        write_table(sheet, row, (Column("Warning", "warning"),), [{"warning": text} for text in document["warnings"]])
        fit_widths(sheet)
    sheet, row = new_sheet(
        book, "Bridge", "From control total to forecast surplus and the likely (risk-adjusted) position"
    )
    columns = (
        Column("Step", "label"),
        Column("Kind", "kind"),
        money("Amount", "pence"),
        money("Running total", "running_pence"),
    )
    write_table(sheet, row, columns, docs.position["bridge"])
    fit_widths(sheet)


def _movement(key: str) -> Any:
    return lambda row: row["movement"][key] if row["movement"] else None


HISTORY_COLUMNS = (
    Column("Month", "month"),
    money("Forecast outturn", "forecast_outturn_pence"),
    money("Forecast surplus/(deficit)", "forecast_surplus_pence"),
    money("Control total", "control_total_pence"),
    money("Gap to control total", "gap_to_control_total_pence"),
    money("Override effect", "override_effect_pence"),
    money("Movement", "total_pence", read=_movement("total_pence")),
    money("New actuals", "new_actuals_pence", read=_movement("new_actuals_pence")),
    money("Method changes", "method_changes_pence", read=_movement("method_changes_pence")),
    money("Overrides", "overrides_pence", read=_movement("overrides_pence")),
)


def _forecast_history(book: Workbook, pack: BoardPack, docs: PackDocuments) -> None:
    history = docs.forecast_history
    if history is None or not history["months"]:
        return
    sheet, row = new_sheet(
        book, "Forecast history", f"The forecast outturn as recorded at each month's close, {history['financial_year']}"
    )
    write_table(sheet, row, HISTORY_COLUMNS, history["months"])
    fit_widths(sheet)


SAVINGS_COLUMNS = (
    Column("Code", "code"),
    Column("Name", "name"),
    Column("Schemes", "schemes"),
    money("Plan", "plan_pence"),
    money("Plan to date", "plan_to_date_pence"),
    money("Delivered", "delivered_pence"),
    money("Forecast", "forecast_pence"),
    money("Shortfall", "shortfall_pence"),
    Column("Shortfall %", "shortfall_pct", "float"),
    money("Risk-adjusted", "risk_adjusted_pence"),
    money("Pipeline", "pipeline_pence"),
    money("Target", "target_pence"),
    money("Identified", "identified_pence"),
    money("Unidentified", "unidentified_pence"),
    Column("Red", "red", read=lambda row: row["rag"]["red"]),
    Column("Amber", "amber", read=lambda row: row["rag"]["amber"]),
    Column("Green", "green", read=lambda row: row["rag"]["green"]),
)


def _savings(book: Workbook, pack: BoardPack, docs: PackDocuments) -> None:
    sheet, row = new_sheet(
        book, "Savings", "Savings plan, delivery and forecast by workstream, and the organisation's total"
    )
    movement = (
        Column("RAG", "workstream_rag"),
        money("Forecast change since last close", "forecast_change_pence"),
        money("Delivered change since last close", "delivered_change_pence"),
        money("Risk-adjusted change since last close", "risk_adjusted_change_pence"),
    )
    rows = [
        {
            **figures,
            "workstream_rag": item.rag,
            "forecast_change_pence": item.forecast_change_pence,
            "delivered_change_pence": item.delivered_change_pence,
            "risk_adjusted_change_pence": item.risk_adjusted_change_pence,
        }
        for item, figures in zip(pack.workstreams, docs.workstreams, strict=True)
    ]
    row = write_table(sheet, row, (*SAVINGS_COLUMNS, *movement), rows)
    if docs.savings_total is not None:  # the organisation's total, with its targets
        write_table(sheet, row, SAVINGS_COLUMNS, [docs.savings_total])
    fit_widths(sheet)
    if docs.savings_movement is not None:
        sheet, row = new_sheet(
            book, "Savings movement", "How each scheme's plan, delivery and forecast moved since last month's close"
        )
        columns = (
            Column("Reference", "reference"),
            Column("Title", "title"),
            Column("Organisation", "org_code"),
            Column("Workstream", "workstream"),
            money("Plan change", "plan_change_pence"),
            money("Delivered change", "delivered_change_pence"),
            money("Forecast change", "forecast_change_pence"),
            money("Risk-adjusted change", "risk_adjusted_change_pence"),
            Column("Explanation", "explanation"),
        )
        write_table(sheet, row, columns, docs.savings_movement["schemes"])
        fit_widths(sheet)
    if docs.savings_evidence:
        sheet, row = new_sheet(
            book,
            "Savings evidence",
            "The schemes with an activity measure: delivery to date as reported and as the measure evidences it",
        )
        evidence = (
            Column("Reference", "reference"),
            Column("Title", "title"),
            Column("Organisation", "org_code"),
            Column("Measure", "measure_described"),
            money("Reported to date", "reported_pence"),
            money("Evidenced to date", "evidenced_pence"),
            money("Reported less evidenced", "difference_pence"),
            Column("Flagged", "difference_flagged"),
        )
        write_table(sheet, row, evidence, docs.savings_evidence)
        fit_widths(sheet)


# look-alike of _position's Bridge sheet: declarative, each sheet's title and columns.
def _scenarios(book: Workbook, pack: BoardPack, docs: PackDocuments) -> None:
    if not docs.scenarios:
        return
    columns: tuple[Column, ...]
    sheet, row = new_sheet(
        book, "Scenarios", "The forecast outturn without any change (the baseline) and with each scenario's changes"
    )
    columns = (
        Column("Scenario", "name"),
        money("Forecast outturn", "forecast_outturn_pence"),
        money(FORECAST_SURPLUS, "forecast_surplus_pence"),
        money("Gap to control total", "gap_to_control_total_pence"),
        money("Change in year", "change_pence"),
        money("Full-year effect", "full_year_effect_pence"),
    )
    baseline = {"name": "Baseline", **docs.scenarios[0]["baseline"], "change_pence": 0, "full_year_effect_pence": 0}
    compared = [
        {
            "name": document["name"],
            **document["scenario"],
            **{k: document[k] for k in ("change_pence", "full_year_effect_pence")},
        }
        for document in docs.scenarios
    ]
    write_table(sheet, row, columns, [baseline, *compared])
    fit_widths(sheet)
    sheet, row = new_sheet(
        book, "Scenario levers", "Each lever's in-year and full-year change in forecast outturn (negative: a saving)"
    )
    columns = (
        Column("Scenario", "scenario"),
        Column("Index", "index"),
        Column("Type", "type"),
        Column("Label", "label"),
        Column("First month", "first_month"),
        Column("Recurrent", "recurrent"),
        money("In year", "in_year_pence"),
        money("Full year", "full_year_pence"),
    )
    levers = [{"scenario": document["name"], **lever} for document in docs.scenarios for lever in document["levers"]]
    write_table(sheet, row, columns, levers)
    fit_widths(sheet)


def _risk(book: Workbook, pack: BoardPack, docs: PackDocuments) -> None:
    if docs.risk is not None:
        risk = docs.risk
        sheet, row = new_sheet(
            book,
            "Risk",
            f"The year-end surplus simulated {risk['trials']:,} times from the risks' and mitigations' values and"
            " likelihoods",
        )
        fields = (
            *((LABELS_BY_FIELD[key], key) for key in SIMULATION_FIELDS),
            ("Standard deviation", "sd_surplus_pence"),
        )
        row = write_table(sheet, row, FIELD_COLUMNS, field_rows(risk, fields))
        reconciliation = (
            Column(f"From the {LIKELY} to the {SIMULATED_MEAN}", "label"),
            Column("Kind", "kind"),
            money("Step", "pence"),
            money("Running", "running_pence"),
            money("Standard error", "standard_error_pence"),
        )
        row = write_table(sheet, row, reconciliation, risk["reconciliation"]["steps"])
        shares = (Column("Figure", "label"), Column("Value", "value", "share"), Column("Field", "field"))
        row = write_table(
            sheet, row, shares, field_rows(risk, (("Chance of meeting the control total", "p_meet_control_total"),))
        )
        fan = (Column("Month", "month"), *(money(f"P{q}", f"p{q}_pence") for q in (10, 25, 50, 75, 90)))
        row = write_table(sheet, row, fan, risk["fan"])
        tornado = (
            Column("Driver", "driver"),
            Column("Kind", "kind"),
            money("P50 at P10", "p50_low_pence"),
            money("P50 at P90", "p50_high_pence"),
            money("Swing", "swing_pence"),
            Column("Share of variance", "variance_share", "share"),
        )
        row = write_table(sheet, row, tornado, risk["tornado"])
        histogram = (money("From", "from_pence"), money("To", "to_pence"), Column("Trials", "trials"))
        write_table(sheet, row, histogram, risk["distribution"])
        fit_widths(sheet)
    sheet, row = new_sheet(
        book,
        "Risks and mitigations",
        "The risks and mitigations register: value, likelihood and expected value (value × likelihood)",
    )
    columns = (
        Column("Organisation", "org_code"),
        Column("Kind", "kind"),
        Column("Description", "description"),
        money("Value", "value_pence"),
        Column("Likelihood", "likelihood", "share"),
        money("Expected", "expected_pence"),
        Column("Category", "category"),
    )
    write_table(sheet, row, columns, docs.register)
    fit_widths(sheet)


def _notes(book: Workbook, pack: BoardPack, docs: PackDocuments) -> None:
    sheet, row = new_sheet(book, "Notes")
    for offset, note in enumerate(pack.notes):
        sheet.cell(row + offset, 1, note)
    sheet.column_dimensions["A"].width = 160


def write_xlsx(pack: BoardPack, path: Path, docs: PackDocuments | None = None) -> Path:
    """The workbook; each section's figures are its command's JSON document (``pack_documents``: built here
    unless given)."""
    docs = docs or pack_documents(pack)
    book = Workbook()
    book.remove(book.active)
    for section in (
        _headline,
        _narrative,
        _position,
        _forecast_history,
        _savings,
        activity_sheets.contracts,
        activity_sheets.contract_reconciliation,
        activity_sheets.benchmarks,
        activity_sheets.spc,
        activity_sheets.high_intensity,
        _scenarios,
        _risk,
        _notes,
    ):
        section(book, pack, docs)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path
