"""``outturn scenario``: recovery scenarios — run a scenario file, print its JSON Schema, write an example."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from outturn.cli._common import console, emit, print_warnings, workspace_from
from outturn.cli.command import command
from outturn.cli.options import METHOD_HELP, OutputFormat
from outturn.domain.errors import BadInput
from outturn.domain.money import format_surplus, format_thousands
from outturn.domain.scenarios import scenario_json_schema
from outturn.domain.year_end import FORECAST_SURPLUS
from outturn.reports.scenarios import scenario_document
from outturn.services.scenarios import example_scenario, run_scenario


def _money(pence: int) -> str:
    return format_thousands(pence)


def render_scenario(document: dict[str, Any]) -> None:
    console.print(
        f"[bold]{document['name']}[/] — {document['org_name']} ({document['org_code']}) as at {document['month']} "
        f"{document['financial_year']}, forecast by {document['method']}",
        highlight=False,
    )
    levers = Table(title="Levers (change in forecast outturn, £000; negative is a saving)", title_justify="left")
    for column in ("#", "Lever", "From", "In year", "Full year"):
        levers.add_column(column, justify="left" if column in ("#", "Lever") else "right")
    for lever in document["levers"]:
        full_year = _money(lever["full_year_pence"]) if lever["recurrent"] else "non-recurrent"
        levers.add_row(
            str(lever["index"]), lever["label"], lever["first_month"] or "—", _money(lever["in_year_pence"]), full_year
        )
    console.print(levers)
    bridge = Table(title="Bridge from baseline to scenario forecast outturn (£000)", title_justify="left")
    bridge.add_column("Step")
    bridge.add_column("£000", justify="right")
    bridge.add_column("Running", justify="right")
    for step in document["bridge"]:
        style = "bold" if step["kind"] in ("start", "end") else ""
        bridge.add_row(step["label"], _money(step["pence"]), _money(step["running_pence"]), style=style)
    console.print(bridge)
    before, after = document["baseline"], document["scenario"]
    console.print(
        f"{FORECAST_SURPLUS}: {format_surplus(before['forecast_surplus_pence'])} → "
        f"{format_surplus(after['forecast_surplus_pence'])}; gap to control total "
        f"{_money(before['gap_to_control_total_pence'])} → {_money(after['gap_to_control_total_pence'])}; "
        f"full-year effect of the recurrent levers {_money(document['full_year_effect_pence'])}",
        highlight=False,
    )
    print_warnings(
        [f"lever {lever['index']}: {warning}" for lever in document["levers"] for warning in lever["warnings"]]
    )


@command()
def scenario_run(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Scenario file (.toml or .json)")],
    org: Annotated[str | None, typer.Option(help="Organisation (default: the file's, else the workspace's)")] = None,
    as_at: Annotated[str | None, typer.Option("--as-at", help="Month, YYYY-MM (default: the file's)")] = None,
    method: Annotated[str | None, typer.Option(help=f"{METHOD_HELP} (default: the file's)")] = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Apply a scenario's levers, in the file's order, to the forecast outturn and the contracts: each lever's
    in-year and full-year effect, by contract and point of delivery, and the bridge from baseline to scenario.
    A file with any problem runs nothing and exits 2."""
    with workspace_from(ctx) as opened:
        run = run_scenario(opened, file, org_code=org.upper() if org else None, as_at=as_at, method=method)
    document = scenario_document(run.scenario, run.result, run.source, run.warnings)
    emit(fmt, document, lambda: render_scenario(document))


@command(workspace_option=False)
def scenario_schema(fmt: OutputFormat = OutputFormat.JSON) -> None:
    """Print the JSON Schema of scenario files (JSON whatever the format)."""
    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")


@command(workspace_option=False)
def scenario_example(
    out: Annotated[Path | None, typer.Option(help="Write the example here (default: print it)")] = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """An example scenario file (TOML) with one of every lever, written for the demo workspace."""
    if out is None:
        sys.stdout.write(example_scenario())
        return
    if out.exists():
        raise BadInput(f"{out} exists: choose another name or remove it first")
    out.write_text(example_scenario(), encoding="utf-8")
    emit(fmt, {"written": str(out)}, lambda: console.print(f"example scenario written to {out}", highlight=False))
