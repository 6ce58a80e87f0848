"""``outturn risk``: Monte Carlo simulation of the year-end position and of a multi-year recovery plan."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from outturn.cli._common import console, emit, key_value_table, print_warnings, workspace_from
from outturn.cli.command import command
from outturn.cli.options import AsAtOption, MonteCarloOptions, OrgOption, OutputFormat
from outturn.domain.money import format_millions, format_surplus
from outturn.domain.plans import parse_share
from outturn.domain.year_end import LABELS_BY_FIELD, LIKELY, P10, P90, SIMULATED_MEAN, SIMULATION_FIELDS
from outturn.reports.risk import simulation_document
from outturn.services.risk import (
    PlanSettings,
    multi_year_document,
    simulate_multi_year,
    simulate_year_end,
    summarise,
)


def _money(pence: int) -> str:
    return format_millions(pence, places=2)


def render_simulation(document: dict[str, Any], seconds: float) -> None:
    console.print(
        f"[bold]{document['org_name']} ({document['org_code']})[/] — year-end position as at {document['month']} "
        f"{document['financial_year']}: {document['trials']:,} trials, seed {document['seed']}, "
        f"{document['backend']} ({seconds:.2f} s)",
        highlight=False,
    )
    headline = key_value_table()
    for key in SIMULATION_FIELDS:
        headline.add_row(LABELS_BY_FIELD[key], format_surplus(document[key]))
    headline.add_row("Chance of meeting the control total", f"{document['p_meet_control_total']:.1%}")
    console.print(headline)
    fan = Table(title=f"Fan chart: simulated year-end as the months resolve, {P10} to {P90} (£m)", title_justify="left")
    for column in ("Month", "P10", "P25", "P50", "P75", "P90"):
        fan.add_column(column, justify="left" if column == "Month" else "right")
    for point in document["fan"]:
        fan.add_row(point["month"], *(_money(point[f"p{q}_pence"]) for q in (10, 25, 50, 75, 90)))
    console.print(fan)
    reconciliation = document["reconciliation"]
    bridge = Table(
        title=f"From the {LIKELY} to the {SIMULATED_MEAN} (£m; standard error of the mean "
        f"{format_millions(reconciliation['standard_error_pence'], places=3)})",
        title_justify="left",
    )
    for column in ("Step", "£m", "Running", "Standard error"):
        bridge.add_column(column, justify="left" if column == "Step" else "right")
    for step in reconciliation["steps"]:
        error = step["standard_error_pence"]
        bridge.add_row(
            step["label"],
            format_millions(step["pence"], places=3),
            format_millions(step["running_pence"], places=3),
            "" if error is None else format_millions(error, places=3),
            style="" if step["kind"] == "step" else "bold",
        )
    console.print(bridge)
    tornado = Table(title="Tornado: P50 with each driver at its P10 and P90 (£m)", title_justify="left")
    for column in ("Driver", "P50 at P10", "P50 at P90", "Swing", "Share of variance"):
        tornado.add_column(column, justify="left" if column == "Driver" else "right")
    for bar in document["tornado"]:
        tornado.add_row(
            bar["driver"],
            _money(bar["p50_low_pence"]),
            _money(bar["p50_high_pence"]),
            _money(bar["swing_pence"]),
            f"{bar['variance_share']:.1%}",
        )
    console.print(tornado)
    print_warnings(document["notes"], label="note")


@command()
def simulate(
    ctx: typer.Context,
    monte_carlo: MonteCarloOptions,
    org: OrgOption = None,
    as_at: AsAtOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Simulate the year-end surplus/(deficit): P(meeting the control total), P10/P50/P90, fan chart, tornado."""
    run = monte_carlo.run()
    with workspace_from(ctx, read_only=True) as opened:
        simulation = simulate_year_end(opened, org_code=org, as_at=as_at, **run)
    document = simulation_document(summarise(simulation))
    emit(fmt, document, lambda: render_simulation(document, simulation.seconds))


# look-alike of cli/ledger.py:budget_holders_report (shape only): Typer option declarations and a render, one per
# command.
@command()
def multi_year(
    ctx: typer.Context,
    monte_carlo: MonteCarloOptions,
    years: Annotated[int, typer.Option(help="Years in the plan, including this one (at most 5)")] = 3,
    allocation_growth: Annotated[str, typer.Option(help="Allocation growth a year where no plan is held")] = "3%",
    cost_growth: Annotated[str, typer.Option(help="Growth of underlying spend a year")] = "4%",
    savings_share: Annotated[
        str | None, typer.Option(help="New savings a year as a share of resource (default: this year's)")
    ] = None,
    future_confidence: Annotated[
        str | None, typer.Option(help="Confidence in later years' savings (default: this year's schemes')")
    ] = None,
    org: OrgOption = None,
    as_at: AsAtOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Project a recovery plan over up to five years: recurrent savings carried forward, a missed control
    total taken off the next year's allocation."""
    run = monte_carlo.run()
    settings = PlanSettings(
        years=years,
        allocation_growth=parse_share(allocation_growth),
        cost_growth=parse_share(cost_growth),
        savings_share=parse_share(savings_share) if savings_share else None,
        confidence=parse_share(future_confidence) if future_confidence else None,
    )
    with workspace_from(ctx, read_only=True) as opened:
        plan = simulate_multi_year(opened, settings=settings, org_code=org, as_at=as_at, **run)
    document = multi_year_document(plan)

    def render() -> None:
        console.print(
            f"[bold]{document['org_name']} ({document['org_code']})[/] — {len(document['years'])}-year plan from "
            f"{document['month']} {document['financial_year']}: {document['trials']:,} trials, seed {document['seed']}",
            highlight=False,
        )
        table = Table()
        for column in ("Year", "Control total", "P(meet)", "P10", "P50", "P90", "Penalty (mean)", "Carried (mean)"):
            table.add_column(column, justify="left" if column == "Year" else "right")
        for year in document["years"]:
            table.add_row(
                year["financial_year"],
                _money(year["control_total_pence"]),
                f"{year['p_meet_control_total']:.1%}",
                *(_money(year[key]) for key in ("p10_pence", "p50_pence", "p90_pence")),
                _money(year["mean_penalty_pence"]),
                _money(year["mean_carried_forward_pence"]),
            )
        console.print(table)

    emit(fmt, document, render)
