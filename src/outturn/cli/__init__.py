"""The ``outturn`` command line: each command parses, calls one service, prints a table or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outturn import __version__
from outturn.cli import contract_reconciliation as _contract_reconciliation  # noqa: F401  (adds contracts map, reconcile)
from outturn.cli import forecast as _forecast  # noqa: F401  (adds forecast backtest)
from outturn.cli import forecast_methods as _forecast_methods  # noqa: F401  (adds forecast method ...)
from outturn.cli import registers as _registers  # noqa: F401  (adds plan show, risks list, forecast list)
from outturn.cli._common import FormatOption, OutputFormat, WorkspaceOption, console, emit, reports_errors
from outturn.cli.activity import activity_app
from outturn.cli.benchmark import benchmark
from outturn.cli.contracts import contracts_app, price
from outturn.cli.data import forecast_app, ledger_app, orgs_app, plan_app, risks_app
from outturn.cli.demo import demo
from outturn.cli.imports import imports_app
from outturn.cli.pack import pack
from outturn.cli.populations import budgets_app, populations_app
from outturn.cli.position import position
from outturn.cli.position_history import position_history
from outturn.cli.prescribing import prescribing_app
from outturn.cli.risk import risk_app
from outturn.cli.savings import savings_app
from outturn.cli.scenario import scenario_app
from outturn.cli.serve import serve, users_app
from outturn.cli.statistics import funnel, spc
from outturn.services.workspace import init_workspace

app = typer.Typer(
    name="outturn",
    help="outturn: financial recovery for NHS commissioners — forecast outturn against the control total, "
    "from the ledger to the board.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["--help", "-h"]},
)


def _print_version(requested: bool) -> None:
    if requested:
        console.print(f"outturn {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    workspace: WorkspaceOption = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit")
    ] = False,
) -> None:
    """Commands find their workspace from --workspace DIR, else $OUTTURN_WORKSPACE, else the current directory."""
    ctx.obj = {"workspace": workspace}


@app.command()
@reports_errors
def init(
    directory: Annotated[Path, typer.Argument(help="Directory to create the workspace in")],
    org: Annotated[str | None, typer.Option(help="Default organisation code for reports")] = None,
    as_at: Annotated[str | None, typer.Option("--as-at", help="Default month, YYYY-MM")] = None,
    reference_dir: Annotated[
        Path | None,
        typer.Option(
            help="Official NHS reference data (default: $OUTTURN_REFERENCE_DIR, "
            "else ../shared/reference-data when present)"
        ),
    ] = None,
    store_url: Annotated[str | None, typer.Option(help="SQLAlchemy URL (default: SQLite in the workspace)")] = None,
    force: Annotated[bool, typer.Option(help="Rewrite the settings of an existing workspace")] = False,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Create a workspace: a settings file (outturn.toml), an SQLite store and a DuckDB warehouse."""
    with init_workspace(
        directory,
        default_org=org,
        default_as_at=as_at,
        reference_dir=reference_dir,
        store_url=store_url,
        overwrite=force,
    ) as workspace:
        settings = workspace.settings
        document = {
            "workspace": str(settings.workspace),
            "store_url": settings.resolved_store_url,
            "warehouse": str(settings.resolved_warehouse_path),
            "reference_dir": str(settings.reference_dir) if settings.reference_dir else None,
        }
    emit(
        fmt,
        document,
        lambda: console.print(
            f"workspace ready at {document['workspace']}\n  store: {document['store_url']}\n"
            f"  warehouse: {document['warehouse']}\n  reference data: {document['reference_dir'] or 'none found'}",
            highlight=False,
        ),
    )


position_app = typer.Typer(no_args_is_help=False)
position_app.callback(invoke_without_command=True)(position)
position_app.command("history")(position_history)
app.add_typer(position_app, name="position")
app.command()(demo)
app.command()(pack)
app.add_typer(orgs_app, name="orgs")
app.add_typer(ledger_app, name="ledger")
app.add_typer(imports_app, name="imports")
app.add_typer(plan_app, name="plan")
app.add_typer(risks_app, name="risks")
app.add_typer(forecast_app, name="forecast")
app.add_typer(savings_app, name="savings")
app.add_typer(risk_app, name="risk")
app.add_typer(scenario_app, name="scenario")
app.add_typer(contracts_app, name="contracts")
app.add_typer(activity_app, name="activity")
app.add_typer(prescribing_app, name="prescribing")
app.add_typer(populations_app, name="populations")
app.add_typer(budgets_app, name="budgets")
app.command()(price)
app.command()(funnel)
app.command()(spc)
app.command()(benchmark)
app.command()(serve)
app.add_typer(users_app, name="users")


def main() -> None:
    app()
