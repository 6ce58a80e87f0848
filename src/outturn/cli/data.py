"""Commands that load and list the workspace's data: organisations, ledger, plans, risks, forecast overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outturn.cli._common import cell, console, current_user, emit, emit_import_summary, emit_rows, workspace_from
from outturn.cli.command import command
from outturn.cli.options import OrgCodeOption, OutputFormat, ReplaceOption, YearCodeOption
from outturn.domain.ledger import CostCategory
from outturn.domain.money import format_pounds, parse_money
from outturn.domain.organisations import OrgKind
from outturn.domain.periods import FinancialYear
from outturn.domain.plans import ForecastOverride
from outturn.services import forecasts, imports
from outturn.services.organisations import list_organisations, load_reference_organisations

FileArgument = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .csv or .xlsx file")]


@command()
def orgs_load_reference(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Option(help="NHS England's practice weighted-population file, or NHS Digital's practice mapping file"),
    ] = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Load the hierarchy (region, ICB, sub-ICB, PCN, practice) and NHS trusts from the reference data."""
    with workspace_from(ctx) as opened:
        counts = load_reference_organisations(opened, file)
    emit(fmt, counts, lambda: console.print(", ".join(f"{n} {kind}" for kind, n in counts.items()), highlight=False))


@command()
def orgs_import(ctx: typer.Context, file: FileArgument, fmt: OutputFormat = OutputFormat.TABLE) -> None:
    """Import your own organisations from a CSV with columns code, name, kind, parent_code."""
    with workspace_from(ctx) as opened:
        emit_import_summary(fmt, imports.import_organisations(opened, file, who=current_user()))


@command()
def orgs_list(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option(help="region, icb, sub_icb, pcn, practice or provider")] = None,
    under: Annotated[str | None, typer.Option(help="Only organisations under this code")] = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """List organisations."""
    with workspace_from(ctx) as opened:
        found = list_organisations(opened, OrgKind.parse(kind) if kind else None, under)
    rows = [{"code": o.code, "name": o.name, "kind": o.kind.value, "parent_code": o.parent_code} for o in found]
    emit_rows(
        fmt,
        rows,
        [("Code", cell("code")), ("Name", cell("name")), ("Kind", cell("kind")), ("Parent", cell("parent_code"))],
    )


@command()
def ledger_import(
    ctx: typer.Context,
    file: FileArgument,
    sheet: Annotated[str | None, typer.Option(help="Worksheet name (default: the first)")] = None,
    header_row: Annotated[int | None, typer.Option(help="Row holding the column names (default: 1)")] = None,
    replace: ReplaceOption = False,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Import a ledger file. Each organisation-month in the file replaces what is stored for it; a file
    with any problem stores nothing and lists every problem with its row and column.

    A file that would remove stored lines stores nothing, shows what it would replace (lines, budget and actual
    by category, before and after) and exits 2 unless given --replace. A file that would change a closed month
    is refused until the month is reopened (outturn savings reopen-month). Every import is recorded (outturn
    imports list).
    """
    with workspace_from(ctx) as opened:
        summary = imports.import_ledger(
            opened, file, sheet=sheet, header_row=header_row, replace=replace, who=current_user()
        )
        emit_import_summary(fmt, summary)


@command()
def ledger_list(ctx: typer.Context, fmt: OutputFormat = OutputFormat.TABLE) -> None:
    """The months of ledger stored, per organisation."""
    with workspace_from(ctx) as opened:
        periods = imports.ledger_periods(opened)
    rows = [
        {"org_code": org, "year": str(FinancialYear(year)), "month": f"M{month:02d}", "lines": lines}
        for org, year, month, lines in periods
    ]
    emit_rows(
        fmt,
        rows,
        [
            ("Organisation", cell("org_code")),
            ("Year", cell("year")),
            ("Month", cell("month")),
            ("Lines", cell("lines")),
        ],
    )


@command()
def plan_import(ctx: typer.Context, file: FileArgument, fmt: OutputFormat = OutputFormat.TABLE) -> None:
    """Import plan items (org_code, year, item, amount, description): allocations, deductions,
    required surplus and control total."""
    with workspace_from(ctx) as opened:
        emit_import_summary(fmt, imports.import_plans(opened, file, who=current_user()))


# look-alike of cli/commentary.py:commentary_import (shape only): Typer option declarations and a render, one per
# command.
@command()
def risks_import(
    ctx: typer.Context,
    file: FileArgument,
    replace: ReplaceOption = False,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Replace the risk register of each organisation and year in the file (org_code, year, kind,
    description, value, likelihood[, category]). A file that would remove stored items stores nothing, shows
    what it would replace and exits 2 unless given --replace."""
    with workspace_from(ctx) as opened:
        emit_import_summary(fmt, imports.import_risks(opened, file, replace=replace, who=current_user()))


@command()
def forecast_override(
    ctx: typer.Context,
    org: OrgCodeOption,
    year: YearCodeOption,
    category: Annotated[str, typer.Option(help="Cost category, e.g. acute")],
    amount: Annotated[str, typer.Option(help="Forecast outturn for the line, e.g. £12.5m")],
    reason: Annotated[str, typer.Option(help="Why the method's forecast is wrong (required)")],
    subcategory: Annotated[str, typer.Option(help="Ledger line within the category")] = "",
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Set a manual forecast for one ledger line, replacing the method's, with its reason."""
    override = ForecastOverride(
        org.upper(), FinancialYear.parse(year), CostCategory.parse(category), subcategory, parse_money(amount), reason
    )
    with workspace_from(ctx) as opened:
        forecasts.set_override(opened, override)
    document = {
        "org_code": override.org_code,
        "year": str(override.year),
        "category": override.category.value,
        "subcategory": override.subcategory,
        "forecast_pence": override.forecast_pence,
        "reason": override.reason,
    }
    emit(
        fmt,
        document,
        lambda: console.print(
            f"{override.org_code} {override.category.label}: forecast set to {format_pounds(override.forecast_pence)}",
            highlight=False,
        ),
    )


@command()
def forecast_clear(
    ctx: typer.Context,
    org: OrgCodeOption,
    year: YearCodeOption,
    category: Annotated[str, typer.Option(help="Cost category")],
    subcategory: Annotated[str, typer.Option(help="Ledger line within the category")] = "",
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Remove a manual forecast so the method's forecast applies again."""
    with workspace_from(ctx) as opened:
        removed = forecasts.clear_override(
            opened, org.upper(), FinancialYear.parse(year), CostCategory.parse(category), subcategory
        )
    emit(fmt, {"removed": removed}, lambda: console.print("removed" if removed else "no override was set"))
