"""Every option more than one command takes, declared once: its flag, its type and its one help text.

Where an option means two things today (an organisation that defaults to the workspace's, or one that names
whose settings change), each meaning has its own name. ``MonteCarloOptions`` is a group of options: a command
takes it as one parameter and the ``command`` decorator (cli/command.py) spreads its fields into options."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypedDict

import typer

from outturn.domain.errors import BadInput
from outturn.domain.plans import parse_share
from outturn.services.risk import Assumptions


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="table for people, json for programs (money in pence)")
]
WorkspaceOption = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace directory (default: $OUTTURN_WORKSPACE, else the current one)"),
]
ReferenceDirOption = Annotated[
    Path | None,
    typer.Option(
        help="Official NHS reference data (default: $OUTTURN_REFERENCE_DIR, else ../shared/reference-data when present)"
    ),
]
ReplaceOption = Annotated[
    bool,
    typer.Option("--replace", help="Allow the file to remove or replace stored data (shown first when refused)"),
]

# The scope of a report: given, else the workspace's default.
OrgOption = Annotated[str | None, typer.Option(help="Organisation code (default: the workspace's)")]
AsAtOption = Annotated[str | None, typer.Option("--as-at", help="Month, YYYY-MM (default: the workspace's)")]
YearOption = Annotated[str | None, typer.Option(help="Financial year, e.g. 2025/26 (default: the workspace's)")]

# A filter: only this organisation and those under it (no default).
OrgUnderOption = Annotated[str | None, typer.Option("--org", help="Only this organisation and those under it")]

# What a change applies to: required, no default.
OrgCodeOption = Annotated[str, typer.Option("--org", help="Organisation code")]
YearCodeOption = Annotated[str, typer.Option("--year", help="Financial year, e.g. 2025/26")]
SettingOrgOption = Annotated[
    str, typer.Option("--org", help="Organisation code; the setting applies to the organisations under it")
]

METHOD_HELP = (
    "Forecast method: auto (per category, the method with the smallest back-test error; the default), run-rate, "
    "seasonal, trend, budget-phased or exit-rate"
)
MethodOption = Annotated[str | None, typer.Option(help=METHOD_HELP)]


class SimulationRun(TypedDict):
    """The keyword arguments the simulation services (``simulate_year_end``, ``simulate_multi_year``) share."""

    trials: int
    seed: int
    method: str | None
    assumptions: Assumptions
    backend: str | None


class OptionGroup:
    """Marks a dataclass whose fields are options: a command parameter of this type becomes one option a field."""


# look-alike of MonteCarloOptions (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class MonteCarloOptions(OptionGroup):
    """The assumptions ``risk simulate`` and ``risk multi-year`` share."""

    method: MethodOption = None
    trials: Annotated[int, typer.Option(help="Number of simulated years")] = 10_000
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same result")] = 1
    correlation: Annotated[
        str, typer.Option(help="Correlation of schemes' delivery within a workstream (Gaussian copula), e.g. 30%")
    ] = "30%"
    concentration: Annotated[
        str,
        typer.Option(
            help="Beta concentration κ of a scheme's delivered fraction: 0 all or nothing, inf no uncertainty"
        ),
    ] = "4"
    activity_sd: Annotated[str, typer.Option(help="Standard deviation of activity growth on acute spend to come")] = (
        "2%"
    )
    price_sd: Annotated[str, typer.Option(help="Standard deviation of prices on prescribing and CHC spend to come")] = (
        "3%"
    )
    risk_spread: Annotated[
        str, typer.Option(help="Risk values triangular from (1 − spread) to (1 + spread) of the register's value")
    ] = "0%"
    savings_in_forecast: Annotated[
        bool,
        typer.Option(
            "--savings-in-forecast/--savings-not-in-forecast",
            help="Whether the forecast already counts the remaining savings in full (shortfall is the risk)",
        ),
    ] = True
    evidenced_savings: Annotated[
        bool,
        typer.Option(
            help="Simulate schemes with an activity measure at their evidenced delivery (evidenced ÷ reported, at "
            "most 100%, applied to their reported months and their forecast)"
        ),
    ] = False
    backend: Annotated[
        str | None, typer.Option(help="numpy or jax (default: the monte_carlo_backend setting, numpy)")
    ] = None

    def run(self) -> SimulationRun:
        """The options as the simulation services' keyword arguments (assumptions checked first)."""
        return SimulationRun(
            trials=self.trials,
            seed=self.seed,
            method=self.method,
            assumptions=self.assumptions(),
            backend=self.backend,
        )

    def assumptions(self) -> Assumptions:
        """The options as the simulation's assumptions; a share or concentration that cannot be one is refused."""
        share = parse_share(self.correlation)
        if share >= 1:
            raise BadInput("the workstream correlation must be below 100%")
        return Assumptions(
            correlation=share,
            concentration=_concentration(self.concentration),
            activity_sd=parse_share(self.activity_sd),
            price_sd=parse_share(self.price_sd),
            risk_spread=parse_share(self.risk_spread),
            savings_in_forecast=self.savings_in_forecast,
            evidenced_savings=self.evidenced_savings,
        )


def _concentration(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise BadInput(f"not a concentration: {text!r} (a number ≥ 0, or inf)") from None
    if value.is_nan() or value < 0:
        raise BadInput(f"the concentration {text!r} must be 0 or more (or inf)")
    return value
