"""The board pack workbook's contract and activity sheets: contracts (their lines and payment rules), the contract
reconciliation, the benchmarks and funnels, SPC and high-intensity users (``reports/pack_xlsx.py`` writes the
workbook; the money columns follow its rule: pounds to read, whole pence under the JSON field's name)."""

from __future__ import annotations

from typing import Any

from openpyxl import Workbook

from outturn.reports.contract_reconciliation import table_rows
from outturn.reports.pack import BoardPack
from outturn.reports.pack_documents import PackDocuments
from outturn.reports.xlsx_tables import Column, fit_widths, money, new_sheet, write_table
from outturn.stats.funnel import FunnelPoint

CONTRACT_COLUMNS = (
    money("Annual plan", "annual_plan_pence"),
    money("YTD plan", "ytd_plan_pence"),
    money("YTD actual", "ytd_actual_pence"),
    money("YTD variance", "ytd_variance_favourable_pence"),
    money("Forecast", "forecast_pence"),
    money("Forecast variance", "forecast_variance_favourable_pence"),
    money("Over-performance (adverse)", "over_performance_pence"),
)


def contracts(book: Workbook, pack: BoardPack, docs: PackDocuments) -> None:
    columns: tuple[Column, ...]
    sheet, row = new_sheet(
        book,
        "Contracts",
        "Each provider contract in scope: its plan, the activity to date priced at tariff, and the year's forecast",
        convention=True,
    )
    columns = (
        Column("Provider", "provider"),
        Column("Provider name", "provider_name", read=lambda contract: pack.name_of(contract["provider"])),
        Column("Commissioner", "commissioner"),
        Column("Tariff year", "tariff_year"),
        *CONTRACT_COLUMNS,
        money("YTD actual before challenges", "ytd_actual_before_challenges_pence"),
        money("Forecast before challenges", "forecast_before_challenges_pence"),
        Column("Consultant referral share", "consultant_referral_share", "share"),
    )
    write_table(sheet, row, columns, docs.contracts)
    fit_widths(sheet)
    sheet, row = new_sheet(
        book, "Contract lines", "Each contract's statement lines by point of delivery", convention=True
    )
    columns = (
        Column("Provider", "provider"),
        Column("Commissioner", "commissioner"),
        Column("Point of delivery", "point_of_delivery"),
        Column("Annual plan activity", "annual_plan_activity"),
        Column("YTD plan activity", "ytd_plan_activity"),
        Column("YTD actual activity", "ytd_actual_activity"),
        Column("Forecast activity", "forecast_activity"),
        *CONTRACT_COLUMNS,
    )
    write_table(sheet, row, columns, _per_contract(docs, "lines"))
    fit_widths(sheet)
    _payment_rules(book, pack, docs)


def _per_contract(docs: PackDocuments, key: str) -> list[dict[str, Any]]:
    """The rows each contract's statement lists under ``key``, each with its provider and commissioner."""
    return [
        {"provider": contract["provider"], "commissioner": contract["commissioner"], **item}
        for contract in docs.contracts
        for item in contract[key]
    ]


def _payment_rules(book: Workbook, pack: BoardPack, docs: PackDocuments) -> None:
    sheet, row = new_sheet(
        book, "Contract rules", "Each contract's payment rules: the adjustment to the tariff value", convention=False
    )
    columns = (
        Column("Provider", "provider"),
        Column("Commissioner", "commissioner"),
        Column("Rule", "label"),
        money("Annual plan", "annual_plan_pence"),
        money("YTD plan", "ytd_plan_pence"),
        money("YTD actual", "ytd_actual_pence"),
        money("Forecast", "forecast_pence"),
    )
    write_table(sheet, row, columns, _per_contract(docs, "payment_rules"))
    fit_widths(sheet)


def contract_reconciliation(book: Workbook, pack: BoardPack, docs: PackDocuments) -> None:
    document = docs.contract_reconciliation
    if document is None:
        return
    sheet, row = new_sheet(
        book,
        "Contract reconciliation",
        "Each contract's plan, value to date and forecast against what the ledger holds for it",
    )
    sheet.cell(row, 1, document["difference_convention"])
    sheet.cell(row + 1, 1, document["flag_rule"])
    columns = (
        Column("Contract", "contract"),
        Column("Kind", "kind"),
        Column("Row", "label"),
        money("Annual plan / budget", "annual_pence"),
        money("Actual to date", "ytd_pence"),
        money("Forecast outturn", "forecast_pence"),
        Column("Flagged", "flag"),
    )
    write_table(sheet, row + 3, columns, table_rows(document))
    fit_widths(sheet)


BENCHMARK_COLUMNS = (
    Column("Practice", "org_code"),
    Column("Name", "org_name"),
    Column("PCN", "parent_code"),
    Column("Activity", "activity"),
    Column("Priced activity", "priced_activity"),
    money("Activity value", "pence"),
    Column("Registered list", "population"),
    Column("Weighted population", "weighted_population", "float"),
    Column("Rate per 1,000 (list)", "rate_actual", "float"),
    Column("Rate per 1,000 (weighted)", "rate_weighted", "float"),
    Column("Need index", "need_index", "float"),
    Column("Rank (list)", "rank_actual"),
    Column("Rank (weighted)", "rank_weighted"),
    Column("Rank change", "rank_change"),
    Column("Benchmark rate", "benchmark_rate", "float"),
    Column("Above benchmark", "above_benchmark"),
    Column("Opportunity (units)", "opportunity_activity", "float"),
    money("Opportunity", "opportunity_pence"),
    Column("Funnel z (adjusted)", "funnel_z", "float"),
    Column("Funnel outlier", "funnel_outlier"),
)


def _funnel_cells(point: FunnelPoint | None) -> dict[str, Any]:
    if point is None:
        return {"funnel_z": None, "funnel_outlier": None}
    return {"funnel_z": point.z_adjusted, "funnel_outlier": point.outlier.value if point.outlier else None}


def benchmarks(book: Workbook, pack: BoardPack, docs: PackDocuments) -> None:
    for section in pack.benchmarks:
        name = section.measure.name
        sheet, row = new_sheet(
            book,
            f"Benchmark {name}"[:31],
            f"{section.measure.description}; each practice against the {section.benchmark.replace('-', ' ')}",
        )
        points = {point.group: point for point in section.funnel.points} if section.funnel else {}
        rows = [{**practice, **_funnel_cells(points.get(practice["org_code"]))} for practice in section.rows]
        write_table(sheet, row, BENCHMARK_COLUMNS, rows)
        fit_widths(sheet)
    for funnel in pack.funnels:
        sheet, row = new_sheet(book, funnel.title.split(",")[0][:31], funnel.description)
        columns = (
            Column("Group", "group"),
            Column("Numerator", "numerator", "float"),
            Column("Denominator", "denominator", "float"),
            Column("Value", "value", "float"),
            Column("z (adjusted)", "z_adjusted", "float"),
            Column("Lower 99.8%", "lower_998", "float"),
            Column("Upper 99.8%", "upper_998", "float"),
            Column("Outlier", "outlier"),
        )
        rows = [
            {**vars(point), **vars(point.limits), "outlier": point.outlier.value if point.outlier else None}
            for point in funnel.result.points
        ]
        write_table(sheet, row, columns, rows)
        fit_widths(sheet)


def spc(book: Workbook, pack: BoardPack, docs: PackDocuments) -> None:
    if not pack.spc:
        return
    sheet, row = new_sheet(book, "SPC", "Weekly counts of key activity: XmR charts (Making Data Count)")
    columns = (
        Column("Chart", "chart"),
        Column("Week starting", "period"),
        Column("Value", "value", "float"),
        Column("Mean", "mean", "float"),
        Column("Lower process limit", "lower_process_limit", "float"),
        Column("Upper process limit", "upper_process_limit", "float"),
        Column("Special cause", "special_cause"),
        Column("Point type", "point_type"),
    )
    rows = [
        {**vars(point), "chart": chart.title, "point_type": point.point_type.value}
        for chart in pack.spc
        for point in chart.result.points
    ]
    write_table(sheet, row, columns, rows)
    fit_widths(sheet)


def high_intensity(book: Workbook, pack: BoardPack, docs: PackDocuments) -> None:
    if docs.high_intensity is None:
        return
    document = docs.high_intensity
    sheet, row = new_sheet(
        book,
        "High-intensity users",
        f"Patients with high hospital use as at {document['as_at']}: how many, their activity's cost at tariff and"
        " how many practices they are with (counts and £ only: no patient is named)",
    )
    columns = (
        Column("As at", "as_at"),
        Column("Patients flagged", "patients", "int"),
        Column("Practices", "practices", "int"),
        money("Activity at tariff", "value_pence"),
    )
    write_table(sheet, row, columns, [document])
    fit_widths(sheet)
