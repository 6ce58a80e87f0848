"""``outturn position history``: the forecast recorded at each month-end close, with each month's movement."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from outturn.cli._common import console, emit, print_plain, workspace_from
from outturn.cli.command import command
from outturn.cli.options import OrgOption, OutputFormat, YearOption
from outturn.domain.money import format_thousands
from outturn.reports.forecast_history import MOVEMENT_LABELS, history_document
from outturn.services.forecast_history import position_history as load_history


def render_history(document: dict[str, Any]) -> None:
    print_plain(
        f"{document['org_name']} ({document['org_code']}): forecast history {document['financial_year']}, "
        "as recorded at each month-end close"
    )
    if not document["months"]:
        console.print("no month-end close has recorded a forecast this year yet", markup=False)
        return
    table = Table(title="Forecast outturn by month (£000)", title_justify="left")
    columns = ("Month", "Forecast outturn", "Surplus/(deficit)", "Control total", "Gap", "Movement")
    for column in (*columns, *(label for _key, label in MOVEMENT_LABELS)):
        table.add_column(column, justify="left" if column == "Month" else "right")
    for month in document["months"]:
        moved = month["movement"]
        table.add_row(
            month["month"],
            *(
                format_thousands(month[key])
                for key in (
                    "forecast_outturn_pence",
                    "forecast_surplus_pence",
                    "control_total_pence",
                    "gap_to_control_total_pence",
                )
            ),
            *(
                format_thousands(moved[key]) if moved else "—"
                for key in ("total_pence", *(key for key, _label in MOVEMENT_LABELS))
            ),
        )
    console.print(table)


@command()
def position_history(
    ctx: typer.Context,
    org: OrgOption = None,
    year: YearOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """The forecast recorded at each month-end close, month by month.

    Outturn, surplus/(deficit) against the control total; movement: new actuals, method changes, overrides."""
    with workspace_from(ctx, read_only=True) as opened:
        org_found, chosen, months = load_history(opened, org, year)
    document = history_document(org_found, chosen, months)
    emit(fmt, document, lambda: render_history(document))
