"""The monthly financial return as an Excel workbook (openpyxl): a cover sheet, then one sheet per table, money in
£000 with each figure repeated in whole pence under its JSON field name (``reports.xlsx_tables``), so the workbook
reconciles to the penny with ``outturn return --format json`` and with the board pack it was read from."""

from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from outturn.reports.monthly_return import SAVINGS_FIELDS
from outturn.reports.xlsx_tables import Column, fit_widths, new_sheet, thousands, write_table

Document = Mapping[str, Any]

FIGURE_COLUMNS = (Column("Figure", "label"), thousands("£000", "pence"), Column("Field", "field"))
EXPENDITURE_COLUMNS = (
    Column("Category", "label"),
    thousands("Full year plan", "annual_budget_pence"),
    thousands("YTD plan", "ytd_budget_pence"),
    thousands("YTD actual", "ytd_actual_pence"),
    thousands("YTD variance", "ytd_variance_pence"),
    thousands("Full year forecast", "forecast_outturn_pence"),
    thousands("Full year variance", "forecast_variance_pence"),
    Column("Code", "category"),
)
_SAVINGS_HEADINGS = {
    "plan_pence": "Plan",
    "plan_to_date_pence": "Plan to date",
    "delivered_pence": "Delivered to date",
    "forecast_pence": "Forecast",
    "shortfall_pence": "Shortfall",
    "risk_adjusted_pence": "Risk-adjusted forecast",
    "target_pence": "Target",
    "identified_pence": "Identified",
    "unidentified_pence": "Unidentified",
}
SAVINGS_MONEY = tuple(thousands(_SAVINGS_HEADINGS[key], key) for key in SAVINGS_FIELDS)


def _cover(book: Workbook, document: Document) -> None:
    sheet, row = new_sheet(book, "Cover", f"{document['return']}: {document['org_name']}")
    fields = (
        ("Organisation", f"{document['org_name']} ({document['org_code']})"),
        ("Financial year", document["financial_year"]),
        ("Month", f"{document['month']} ({document['period']})"),
        ("Forecast method", document["method"]),
        ("Units", document["units"]),
        ("Sign convention", document["sign_convention"]),
        ("Built", document["built_at"]),
        ("Tables", ", ".join(table["title"] for table in document["tables"])),
        *(("Note", note) for note in document["notes"]),
    )
    row = write_table(
        sheet,
        row,
        (Column("Item", "item"), Column("Value", "value")),
        [{"item": item, "value": value} for item, value in fields],
    )
    fit_widths(sheet)
    sheet.column_dimensions["B"].width = 120


def _figures(book: Workbook, title: str, note: str, rows: list[dict[str, Any]]) -> tuple[Any, int]:
    sheet, row = new_sheet(book, title, note, convention=True)
    row = write_table(sheet, row, FIGURE_COLUMNS, rows)
    return sheet, row


def _summary(book: Workbook, document: Document) -> None:
    sheet, _row = _figures(book, "Summary", "The position: resource, spend and surplus", document["summary"])
    fit_widths(sheet)


def _expenditure(book: Workbook, document: Document) -> None:
    sheet, row = new_sheet(
        book, "Expenditure", "Plan and actual/forecast by expenditure category, £000", convention=True
    )
    table = document["expenditure"]
    write_table(sheet, row, EXPENDITURE_COLUMNS, [*table["rows"], table["total"]])
    fit_widths(sheet)


def _underlying(book: Workbook, document: Document) -> None:
    underlying = document["underlying"]
    sheet, row = _figures(
        book,
        "Underlying position",
        f"Non-recurrent items out; exit run rate: the last {underlying['exit_window_months']} months' recurring "
        "spend, a month's average x 12",
        underlying["rows"],
    )
    columns = (
        Column("Category", "label"),
        thousands("One-off spend to date", "ytd_one_off_pence"),
        thousands("Recurring spend in the exit months", "exit_recurring_pence"),
        thousands("Exit run rate (a year)", "exit_run_rate_pence"),
        thousands("Full year forecast", "forecast_outturn_pence"),
        Column("Code", "category"),
    )
    write_table(sheet, row, columns, underlying["by_category"])
    fit_widths(sheet)


def _savings(book: Workbook, document: Document) -> None:
    savings = document["savings"]
    sheet, row = new_sheet(book, "Efficiencies", "The savings plan and its delivery, £000")
    if savings is None:
        sheet.cell(row, 1, "No savings plan is held for the organisation and year.")
        return
    named = (Column("Code", "code"), Column("Name", "name"), Column("Schemes", "schemes"))
    total = {**savings["total"], **{f"rag_{key}": value for key, value in savings["total"]["scheme_rag"].items()}}
    rag_counts = tuple(Column(f"Schemes {rag}", f"rag_{rag}") for rag in ("red", "amber", "green"))
    row = write_table(sheet, row, (*named, *SAVINGS_MONEY, *rag_counts), [total])
    row = write_table(sheet, row, (*named, Column("RAG", "rag"), *SAVINGS_MONEY), savings["workstreams"])
    write_table(
        sheet, row, (Column("RAG", "rag"), Column("Workstreams", "workstreams"), *SAVINGS_MONEY), savings["by_rag"]
    )
    fit_widths(sheet)


def _risks(book: Workbook, document: Document) -> None:
    risks = document["risks"]
    sheet, row = _figures(book, "Risks and mitigations", "Gross, likely (x likelihood), and net", risks["totals"])
    columns = (
        Column("Organisation", "org_code"),
        Column("Kind", "kind"),
        Column("Description", "description"),
        Column("Category", "category"),
        Column("Likelihood", "likelihood"),
        thousands("Gross", "gross_pence"),
        thousands("Likely", "likely_pence"),
    )
    write_table(sheet, row, columns, risks["items"])
    fit_widths(sheet)


def return_workbook(document: Document) -> Workbook:
    """The cover, then a sheet per table in the document's order."""
    book = Workbook()
    book.remove(book.active)
    for section in (_cover, _summary, _expenditure, _underlying, _savings, _risks):
        section(book, document)
    return book


def write_return_xlsx(document: Document, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return_workbook(document).save(path)
    return path


def return_xlsx_bytes(document: Document) -> bytes:
    """The workbook as the bytes of an .xlsx file (the web's download)."""
    buffer = BytesIO()
    return_workbook(document).save(buffer)
    return buffer.getvalue()
