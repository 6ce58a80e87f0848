"""``outturn forecast backtest``: how far out each forecast method was at each month of the past years held."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer
from rich.table import Table

from outturn.cli._common import console, emit, print_plain, workspace_from
from outturn.cli.command import command
from outturn.cli.options import OrgOption, OutputFormat
from outturn.domain.backtest import BACKTEST_MONTHS, TOTAL
from outturn.reports.backtest import backtest_document
from outturn.services.position import compute_backtest


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{round(value, 1) + 0.0:.1f}%"  # + 0.0: no "-0.0%"


def _by_month_table(document: Mapping[str, Any]) -> Table:
    methods: Sequence[str] = document["methods"]
    table = Table(title="Total: mean absolute % error by month, over the years held", title_justify="left")
    table.add_column("Month")
    for method in methods:
        table.add_column(method, justify="right")
    mape = {
        (item["month"], item["method"]): item["mape_percent"]
        for item in document["by_month"]
        if item["category"] == TOTAL
    }
    for number in BACKTEST_MONTHS:
        month = f"M{number:02d}"
        marker = " (as at)" if month == document["month"] else ""
        table.add_row(f"{month}{marker}", *(_percent(mape.get((month, method))) for method in methods))
    return table


def _chosen(organisations: list[str] | None, by_organisation: bool) -> str:
    if not organisations:
        return ""
    return f"chosen ({', '.join(organisations)})" if by_organisation else "chosen"


def _summary_table(document: Mapping[str, Any]) -> Table:
    month = document["auto_month"]
    table = Table(
        title=f"By category: over M01 to M11, and at {month} (bias: + forecast above outturn)",
        title_justify="left",
    )
    for heading in ("Category", "Method", "MAPE", "Bias", f"MAPE at {month}", "Auto"):
        table.add_column(heading, justify="left" if heading in ("Category", "Method", "Auto") else "right")
    chosen: dict[tuple[str, str], list[str]] = {}
    for choice in document["auto"]:
        chosen.setdefault((choice["category"], choice["method"]), []).append(choice["org_code"] or "")
    by_organisation = len({choice["org_code"] for choice in document["auto"]}) > 1
    at_month = {
        (item["category"], item["method"]): item["mape_percent"]
        for item in document["by_month"]
        if item["month"] == month
    }
    for item in [*document["summary_by_category"], *document["summary"]]:
        key = (item["category"], item["method"])
        table.add_row(
            item["label"],
            item["method"],
            _percent(item["mape_percent"]),
            _percent(item["bias_percent"]),
            _percent(at_month.get(key)),
            _chosen(chosen.get(key), by_organisation),
        )
    return table


def render_backtest(document: Mapping[str, Any]) -> None:
    years = ", ".join(document["years"])
    if not years:
        print_plain(
            f"{document['org_code']}: no past year with twelve months of actuals is held, so nothing to back-test; "
            "auto forecasts every category by its fallback."
        )
        return
    print_plain(
        f"{document['org_code']}: each method's year-end forecast at M01 to M11 of {years}, against the outturn "
        f"(as at {document['month']} {document['financial_year']})"
    )
    console.print(_by_month_table(document))
    console.print(_summary_table(document))
    print_plain(document["error_sign"])
    print_plain(document["auto_rule"])


@command()
def forecast_backtest(
    ctx: typer.Context,
    org: OrgOption = None,
    as_at: Annotated[
        str | None, typer.Option("--as-at", help="Month as YYYY-MM: only years before its year are tested")
    ] = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Back-test every forecast method on the past years held.

    For each past year with twelve months of actuals: the year-end forecast at M01 to M11 from what was known then,
    against the year's outturn (error, MAPE, bias)."""
    with workspace_from(ctx, read_only=True) as opened:
        document = backtest_document(compute_backtest(opened, org, as_at))
    emit(fmt, document, lambda: render_backtest(document))
