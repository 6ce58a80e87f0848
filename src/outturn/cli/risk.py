"""``outturn risk``: Monte Carlo simulation of the year-end position and of a multi-year recovery plan."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer
from rich.table import Table

from outturn.cli._common import (
    METHOD_HELP,
    FormatOption,
    OutputFormat,
    WorkspaceOption,
    console,
    emit,
    print_warnings,
    reports_errors,
    workspace_from,
)
from outturn.domain.errors import BadInput
from outturn.domain.money import format_millions, format_surplus
from outturn.domain.plans import parse_share
from outturn.domain.year_end import LABELS_BY_FIELD, LIKELY, P10, P90, SIMULATED_MEAN, SIMULATION_FIELDS
from outturn.services.risk import (
    Assumptions,
    PlanSettings,
    multi_year_document,
    simulate_multi_year,
    simulate_year_end,
    simulation_document,
)

risk_app = typer.Typer(help="Risk: Monte Carlo simulation of the year-end position and multi-year plans.")

OrgOption = Annotated[str | None, typer.Option(help="Organisation code (default: the workspace's)")]
AsAtOption = Annotated[str | None, typer.Option("--as-at", help="Month as YYYY-MM (default: the workspace's)")]
MethodOption = Annotated[str | None, typer.Option(help=METHOD_HELP)]
TrialsOption = Annotated[int, typer.Option(help="Number of simulated years")]
SeedOption = Annotated[int, typer.Option(help="Seed: the same seed gives the same result")]
CorrelationOption = Annotated[
    str, typer.Option(help="Correlation of schemes' delivery within a workstream (Gaussian copula), e.g. 30%")
]
ConcentrationOption = Annotated[
    str,
    typer.Option(help="Beta concentration κ of a scheme's delivered fraction: 0 all or nothing, inf no uncertainty"),
]
ActivityOption = Annotated[str, typer.Option(help="Standard deviation of activity growth on acute spend to come")]
PriceOption = Annotated[str, typer.Option(help="Standard deviation of prices on prescribing and CHC spend to come")]
SpreadOption = Annotated[
    str, typer.Option(help="Risk values triangular from (1 − spread) to (1 + spread) of the register's value")
]
SavingsOption = Annotated[
    bool,
    typer.Option(
        "--savings-in-forecast/--savings-not-in-forecast",
        help="Whether the forecast already counts the remaining savings in full (shortfall is the risk)",
    ),
]
BackendOption = Annotated[
    str | None, typer.Option(help="numpy or jax (default: the monte_carlo_backend setting, numpy)")
]


def _concentration(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise BadInput(f"not a concentration: {text!r} (a number ≥ 0, or inf)") from None
    if value.is_nan() or value < 0:
        raise BadInput(f"the concentration {text!r} must be 0 or more (or inf)")
    return value


def _assumptions(
    correlation: str, concentration: str, activity_sd: str, price_sd: str, risk_spread: str, savings: bool
) -> Assumptions:
    share = parse_share(correlation)
    if share >= 1:
        raise BadInput("the workstream correlation must be below 100%")
    return Assumptions(
        correlation=share,
        concentration=_concentration(concentration),
        activity_sd=parse_share(activity_sd),
        price_sd=parse_share(price_sd),
        risk_spread=parse_share(risk_spread),
        savings_in_forecast=savings,
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
    headline = Table(show_header=False, box=None)
    headline.add_column(style="bold")
    headline.add_column(justify="right")
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


@risk_app.command()
@reports_errors
def simulate(
    ctx: typer.Context,
    org: OrgOption = None,
    as_at: AsAtOption = None,
    method: MethodOption = None,
    trials: TrialsOption = 10_000,
    seed: SeedOption = 1,
    correlation: CorrelationOption = "30%",
    concentration: ConcentrationOption = "4",
    activity_sd: ActivityOption = "2%",
    price_sd: PriceOption = "3%",
    risk_spread: SpreadOption = "0%",
    savings_in_forecast: SavingsOption = True,
    backend: BackendOption = None,
    workspace: WorkspaceOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Simulate the year-end surplus/(deficit): P(meeting the control total), P10/P50/P90, fan chart, tornado."""
    assumptions = _assumptions(correlation, concentration, activity_sd, price_sd, risk_spread, savings_in_forecast)
    with workspace_from(ctx, workspace, read_only=True) as opened:
        simulation = simulate_year_end(
            opened,
            trials=trials,
            seed=seed,
            org_code=org,
            as_at=as_at,
            method=method,
            assumptions=assumptions,
            backend=backend,
        )
    document = simulation_document(simulation)
    emit(fmt, document, lambda: render_simulation(document, simulation.seconds))


@risk_app.command("multi-year")
@reports_errors
def multi_year(
    ctx: typer.Context,
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
    method: MethodOption = None,
    trials: TrialsOption = 10_000,
    seed: SeedOption = 1,
    correlation: CorrelationOption = "30%",
    concentration: ConcentrationOption = "4",
    activity_sd: ActivityOption = "2%",
    price_sd: PriceOption = "3%",
    risk_spread: SpreadOption = "0%",
    savings_in_forecast: SavingsOption = True,
    backend: BackendOption = None,
    workspace: WorkspaceOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Project a recovery plan over up to five years: recurrent savings carried forward, a missed control
    total taken off the next year's allocation."""
    assumptions = _assumptions(correlation, concentration, activity_sd, price_sd, risk_spread, savings_in_forecast)
    settings = PlanSettings(
        years=years,
        allocation_growth=parse_share(allocation_growth),
        cost_growth=parse_share(cost_growth),
        savings_share=parse_share(savings_share) if savings_share else None,
        confidence=parse_share(future_confidence) if future_confidence else None,
    )
    with workspace_from(ctx, workspace, read_only=True) as opened:
        plan = simulate_multi_year(
            opened,
            trials=trials,
            seed=seed,
            settings=settings,
            org_code=org,
            as_at=as_at,
            method=method,
            assumptions=assumptions,
            backend=backend,
        )
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
