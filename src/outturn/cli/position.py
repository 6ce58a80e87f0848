"""``outturn position``: the month's financial position, forecast outturn and gap to control total."""

from __future__ import annotations

import typer
from rich.table import Table

from outturn.cli._common import console, emit, key_value_table, print_plain, print_warnings, workspace_from
from outturn.cli.command import command
from outturn.cli.options import AsAtOption, MethodOption, OrgOption, OutputFormat
from outturn.domain.money import VARIANCE_CONVENTION, format_millions, format_surplus, format_thousands
from outturn.domain.position import MIXED, Position
from outturn.domain.year_end import BEST, CONTROL_TOTAL, FORECAST_SURPLUS, LIKELY, SAVINGS_SHORTFALL, WORST
from outturn.reports.position import position_document
from outturn.services.position import compute_position


def render_position(position: Position) -> None:
    console.print(
        f"[bold]{position.org_name} ({position.org_code})[/] — position as at {position.as_at.label} "
        f"{position.as_at.year} ({position.as_at.name}), forecast by {position.method}",
        highlight=False,
    )
    headline = key_value_table()
    for label, value in (
        ("Allocation", format_millions(position.allocation_pence, places=2)),
        ("Deductions from allocation", format_millions(-sum(d.pence for d in position.deductions), places=2)),
        (CONTROL_TOTAL, format_surplus(position.control_total_pence)),
        (
            "YTD budget / actual",
            f"{format_thousands(position.ytd_budget_pence)} / {format_thousands(position.ytd_actual_pence)}",
        ),
        ("YTD variance (budget less actual)", format_thousands(position.ytd_variance_pence)),
        ("Forecast outturn (spend)", format_millions(position.forecast_outturn_pence, places=2)),
        (FORECAST_SURPLUS, format_surplus(position.forecast_surplus_pence)),
        ("Gap to control total", format_millions(position.gap_to_control_total_pence, places=2)),
        ("Savings needed to close it", format_millions(position.savings_needed_pence, places=2)),
        (SAVINGS_SHORTFALL, format_millions(-position.risk.savings_shortfall_pence, places=2)),
        (BEST, format_surplus(position.risk.best_surplus_pence)),
        (LIKELY, format_surplus(position.risk.likely_surplus_pence)),
        (WORST, format_surplus(position.risk.worst_surplus_pence)),
    ):
        headline.add_row(label, value)
    console.print(headline)
    categories = Table(title="By category (£000)", title_justify="left")
    for column in ("Category", "Annual budget", "YTD budget", "YTD actual", "YTD variance", "Forecast", "Variance"):
        categories.add_column(column, justify="left" if column == "Category" else "right")
    categories.add_column("Method")
    for row in position.by_category:
        categories.add_row(
            row.category.label,
            *(
                format_thousands(value)
                for value in (
                    row.annual_budget_pence,
                    row.ytd_budget_pence,
                    row.ytd_actual_pence,
                    row.ytd_variance_pence,
                    row.forecast_outturn_pence,
                    row.forecast_variance_pence,
                )
            ),
            row.method + (f" ({', '.join(row.methods)})" if row.method == MIXED else ""),
        )
    console.print(categories)
    print_plain(VARIANCE_CONVENTION)
    bridge = Table(title="Bridge from control total to forecast (£000)", title_justify="left")
    bridge.add_column("Step")
    bridge.add_column("£000", justify="right")
    bridge.add_column("Running", justify="right")
    for step in position.bridge:
        style = "bold" if step.kind in ("start", "subtotal", "end") else ""
        bridge.add_row(
            step.label,
            format_thousands(step.pence),
            format_thousands(step.running_pence),
            style=style,
        )
    console.print(bridge)
    print_warnings(position.warnings, limit=10)


@command()
def position(
    ctx: typer.Context,
    org: OrgOption = None,
    as_at: AsAtOption = None,
    method: MethodOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """The month's position: YTD, forecast outturn, gap to control total, risk range and bridge.

    For one organisation, or the sum of the organisations under it that have plans.

    `outturn position history`: the forecast recorded at each month-end close."""
    if ctx.invoked_subcommand is not None:
        return
    with workspace_from(ctx, read_only=True) as opened:
        result = compute_position(opened, org, as_at, method)
    emit(fmt, position_document(result), lambda: render_position(result))
