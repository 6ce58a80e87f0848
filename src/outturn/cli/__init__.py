"""The ``outturn`` command line: each command parses, calls one service, prints a table or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outturn import __version__
from outturn.cli import (
    activity,
    benchmark,
    challenges,
    commentary,
    contract_reconciliation,
    contracts,
    data,
    demo,
    forecast,
    forecast_methods,
    imports,
    ledger,
    monthly_return,
    pack,
    patients,
    planning,
    populations,
    position,
    position_history,
    prescribing,
    registers,
    risk,
    savings,
    scenario,
    serve,
    statistics,
)
from outturn.cli._common import console, emit
from outturn.cli.command import Command, command
from outturn.cli.options import OutputFormat, ReferenceDirOption, WorkspaceOption
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


@command(workspace_option=False)
def init(
    directory: Annotated[Path, typer.Argument(help="Directory to create the workspace in")],
    org: Annotated[str | None, typer.Option(help="Default organisation code for reports")] = None,
    as_at: Annotated[str | None, typer.Option("--as-at", help="Default month, YYYY-MM")] = None,
    reference_dir: ReferenceDirOption = None,
    store_url: Annotated[str | None, typer.Option(help="SQLAlchemy URL (default: SQLite in the workspace)")] = None,
    force: Annotated[bool, typer.Option(help="Rewrite the settings of an existing workspace")] = False,
    fmt: OutputFormat = OutputFormat.TABLE,
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


def _group(help_text: str | None, commands: dict[str, Command], *, no_args_is_help: bool = True) -> typer.Typer:
    """A command group: each command registered under its name, in the order given."""
    group = typer.Typer(help=help_text, no_args_is_help=no_args_is_help)
    for name, function in commands.items():
        group.command(name)(function)
    return group


def _register(root: typer.Typer) -> None:
    """Every command of every module, registered here and nowhere else (no module registers on import)."""
    root.command("init")(init)
    position_app = typer.Typer(no_args_is_help=False)
    position_app.callback(invoke_without_command=True)(position.position)
    position_app.command("history")(position_history.position_history)
    root.add_typer(position_app, name="position")
    root.command("demo")(demo.demo)
    root.command("pack")(pack.pack)
    root.command("return")(monthly_return.monthly_return)
    groups = {
        "orgs": _group(
            "Organisations: regions, ICBs, sub-ICB locations, PCNs, practices, providers.",
            {"load-reference": data.orgs_load_reference, "import": data.orgs_import, "list": data.orgs_list},
        ),
        "ledger": _ledger_group(),
        "budget-holders": _group(
            "Budget holders: their lines, year-to-date and forecast variance, the lines needing commentary.",
            {"report": ledger.budget_holders_report},
        ),
        "patients": _group(
            "Patients: high-intensity users of urgent care, from pseudonymised activity.",
            {"high-intensity": patients.patients_high_intensity},
        ),
        "imports": _group(
            "The import log: who imported which file, when, and what it replaced.", {"list": imports.imports_list}
        ),
        "plan": _group(
            "Financial plans: allocation, deductions, control total; the bridge to the savings requirement.",
            {
                "import": data.plan_import,
                "show": registers.plan_show,
                "import-assumptions": planning.plan_import_assumptions,
                "bridge": planning.plan_bridge,
                "targets": planning.plan_targets,
            },
        ),
        "risks": _group(
            "The risks and mitigations register.", {"import": data.risks_import, "list": registers.risks_list}
        ),
        "forecast": _forecast_group(),
        "savings": _group(
            "Savings plans (QIPP): schemes, delivery, RAG, month-end close, roll-ups.",
            {
                "import": savings.savings_import,
                "import-measures": savings.savings_import_measures,
                "export": savings.savings_export,
                "list": savings.savings_list,
                "show": savings.savings_show,
                "update": savings.savings_update,
                "target": savings.savings_target,
                "close-month": savings.savings_close_month,
                "reopen-month": savings.savings_reopen_month,
                "movement": savings.savings_movement,
                "rollup": savings.savings_rollup,
            },
        ),
        "risk": _group(
            "Risk: Monte Carlo simulation of the year-end position and multi-year plans.",
            {"simulate": risk.simulate, "multi-year": risk.multi_year},
            no_args_is_help=False,
        ),
        "scenario": _group(
            "Recovery scenarios: levers (referral cuts, follow-up ratios, prescribing, PLCV, contract cuts, vacancy "
            "control, bed closures, population growth, tariff changes, one-off measures) applied to the forecast "
            "outturn.",
            {"run": scenario.scenario_run, "schema": scenario.scenario_schema, "example": scenario.scenario_example},
        ),
        "contracts": _contracts_group(),
        "activity": _group(
            "Hospital activity under Payment by Results: admitted spells, outpatient and A&E attendances.",
            {"generate": activity.activity_generate, "import": activity.activity_import},
        ),
        "prescribing": _group(
            "Practice prescribing (English Prescribing Dataset): measures, generic prescribing and price-per-unit "
            "savings.",
            {
                "import": prescribing.prescribing_import,
                "measures": prescribing.prescribing_measures,
                "savings": prescribing.prescribing_savings,
                "generate": prescribing.prescribing_generate,
            },
        ),
        "populations": _group(
            "Practice populations: list sizes by age and sex, ASTRO-PUs, NHS England weighted populations.",
            {"import": populations.populations_import, "show": populations.populations_show},
        ),
        "commentary": _group(
            "Commentary on ledger lines' variances, per line per month: list, write, import, history.",
            {
                "list": commentary.commentary_list,
                "write": commentary.commentary_write,
                "import": commentary.commentary_import,
                "history": commentary.commentary_history,
            },
        ),
        "budgets": _group(
            "Indicative practice budgets, spend against them, distance from target, the incentive scheme.",
            {
                "indicative": populations.budgets_indicative,
                "distance": populations.budgets_distance,
                "incentive": populations.budgets_incentive,
            },
        ),
    }
    for name, group in groups.items():
        root.add_typer(group, name=name)
    for name, function in {
        "price": contracts.price,
        "funnel": statistics.funnel,
        "spc": statistics.spc,
        "benchmark": benchmark.benchmark,
        "serve": serve.serve,
    }.items():
        root.command(name)(function)
    root.add_typer(
        _group(
            "Accounts for the web application: roles finance, practice, board, admin, budget_holder.",
            {"add": serve.add, "list": serve.list_accounts},
        ),
        name="users",
    )


def _ledger_group() -> typer.Typer:
    group = _group(
        "The monthly ledger: budget and actual by organisation, category (or trial balance line), month.",
        {"import": ledger.ledger_import, "list": data.ledger_list, "rollup": ledger.ledger_rollup},
    )
    mapping = _group(
        "The trial balance's mapping: cost centres and subjective codes to categories and budget holders.",
        {"import": ledger.mapping_import, "show": ledger.mapping_show},
    )
    group.add_typer(mapping, name="mapping")
    return group


def _forecast_group() -> typer.Typer:
    group = _group(
        "Forecasts: manual overrides, each with its reason, the method per category or line, and the back-test of "
        "every method.",
        {
            "override": data.forecast_override,
            "clear": data.forecast_clear,
            "backtest": forecast.forecast_backtest,
            "list": registers.forecast_list,
        },
    )
    methods = _group(
        "The forecast method per category or ledger line: a line's setting beats its category's, which beats "
        "the method asked for (--method, else the workspace's).",
        {
            "set": forecast_methods.method_set,
            "clear": forecast_methods.method_clear,
            "list": forecast_methods.method_list,
            "history": forecast_methods.method_history,
        },
    )
    group.add_typer(methods, name="method")
    return group


def _contracts_group() -> typer.Typer:
    group = _group(
        "Provider contracts under Payment by Results.",
        {
            "import": contracts.contracts_import,
            "activity": contracts.contracts_activity,
            "statement": contracts.contracts_statement,
            "map": contract_reconciliation.contracts_map,
            "reconcile": contract_reconciliation.contracts_reconcile,
        },
    )
    group.add_typer(
        _group(
            "Challenges raised with providers about their contracts: list, add, update, history.",
            {
                "list": challenges.challenges_list,
                "add": challenges.challenges_add,
                "update": challenges.challenges_update,
                "history": challenges.challenges_history,
            },
        ),
        name="challenges",
    )
    return group


_register(app)


def main() -> None:
    app()
