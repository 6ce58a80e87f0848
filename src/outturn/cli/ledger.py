"""``outturn ledger import`` (a category ledger, or a trial balance with its mapping), ``outturn ledger mapping``,
``outturn ledger rollup`` and ``outturn budget-holders report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from outturn.cli._common import console, current_user, emit, emit_import_summary, print_plain, workspace_from
from outturn.cli.command import command
from outturn.cli.options import AsAtOption, OrgOption, OutputFormat, ReplaceOption
from outturn.domain.errors import BadInput
from outturn.domain.money import format_thousands
from outturn.reports.budget_holders import budget_holder_document, mapping_document, roll_up_document
from outturn.services import budget_holders, imports, trial_balance

ExistingFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .csv or .xlsx file")]
SheetOption = Annotated[str | None, typer.Option(help="Worksheet name (default: the first)")]
HeaderRowOption = Annotated[int | None, typer.Option(help="Row holding the column names (default: 1)")]


@command()
def ledger_import(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(exists=True, dir_okay=False, help="A category ledger (.csv or .xlsx)")
    ] = None,
    trial_balance_file: Annotated[
        Path | None,
        typer.Option(
            "--trial-balance", exists=True, dir_okay=False, help="A trial balance (.csv or .xlsx) instead of FILE"
        ),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="The mapping of cost centres and subjective codes to categories and budget holders, loaded as a "
            "new version with the trial balance (default: the last loaded)",
        ),
    ] = None,
    sheet: SheetOption = None,
    header_row: HeaderRowOption = None,
    replace: ReplaceOption = False,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Import a ledger file: a category ledger (FILE: org_code, year, month, category, budget, actual), or a trial
    balance (--trial-balance: entity, year, period, cost centre, subjective, budget, actual, optional
    descriptions) mapped to categories and budget holders by --mapping (else the mapping last loaded with
    outturn ledger mapping import). Each organisation-month in the file replaces what is stored for it; a file
    with any problem stores nothing and lists every problem with its row and column; a trial balance with
    codes no rule maps stores nothing and lists each code with its budget and actual.

    A file that would remove stored lines stores nothing, shows what it would replace (lines, budget and actual
    by category, before and after) and exits 2 unless given --replace. A file that would change a closed month
    is refused until the month is reopened (outturn savings reopen-month). Every import is recorded (outturn
    imports list).
    """
    if (file is None) == (trial_balance_file is None):
        raise BadInput("give a category ledger FILE or a --trial-balance FILE (one of them)")
    if mapping is not None and trial_balance_file is None:
        raise BadInput("--mapping goes with --trial-balance; to load a mapping alone: outturn ledger mapping import")
    with workspace_from(ctx) as opened:
        if trial_balance_file is not None:
            summary = trial_balance.import_trial_balance(
                opened,
                trial_balance_file,
                mapping_path=mapping,
                sheet=sheet,
                header_row=header_row,
                replace=replace,
                who=current_user(),
            )
        else:
            assert file is not None
            summary = imports.import_ledger(
                opened, file, sheet=sheet, header_row=header_row, replace=replace, who=current_user()
            )
        emit_import_summary(fmt, summary)


@command()
def mapping_import(
    ctx: typer.Context, file: ExistingFile, sheet: SheetOption = None, fmt: OutputFormat = OutputFormat.TABLE
) -> None:
    """Load the trial balance's mapping as a new version: columns category, and cost_centre and/or
    subjective_code (a code, a pattern such as 11*, or any); optional subcategory, budget_holder, parent. The
    most specific rule matching a line applies. Trial balances imported from now on use it."""
    with workspace_from(ctx) as opened:
        summary = trial_balance.import_mapping(opened, file, who=current_user(), sheet=sheet)
    document = {"version": summary.version, "file": summary.source, "rules": summary.rules}
    emit(
        fmt,
        document,
        lambda: print_plain(f"mapping version {summary.version} loaded from {summary.source}: {summary.rules} rule(s)"),
    )


@command()
def mapping_show(ctx: typer.Context, fmt: OutputFormat = OutputFormat.TABLE) -> None:
    """The mapping in force (its rules) and every version loaded: who, when, which file."""
    with workspace_from(ctx, read_only=True) as opened:
        document = mapping_document(trial_balance.current_mapping(opened), trial_balance.mapping_versions(opened))

    def render() -> None:
        print_plain(
            f"Mapping version {document['version']}, loaded {document['loaded_at']} by {document['loaded_by']} "
            f"from {document['file']}"
        )
        table = Table("Row", "Cost centre", "Subjective", "Category", "Subcategory", "Budget holder", "Parent")
        for rule in document["rules"]:
            table.add_row(
                *(
                    str(rule[key])
                    for key in (
                        "row",
                        "cost_centre",
                        "subjective_code",
                        "category",
                        "subcategory",
                        "budget_holder",
                        "parent",
                    )
                )
            )
        console.print(table)

    emit(fmt, document, render)


def _totals_table(title: str, rows: list[dict[str, object]]) -> Table:
    table = Table(
        title, "Lines", "YTD budget", "YTD actual", "YTD variance", "Forecast", "Forecast variance", "Need commentary"
    )
    for row in rows:
        table.add_row(
            str(row["name"]) or "(unassigned)",
            str(row["lines"]),
            *(
                format_thousands(int(str(row[key])))
                for key in (
                    "ytd_budget_pence",
                    "ytd_actual_pence",
                    "ytd_variance_pence",
                    "forecast_outturn_pence",
                    "forecast_variance_pence",
                )
            ),
            str(row["lines_needing_commentary"]),
        )
    return table


@command()
def ledger_rollup(
    ctx: typer.Context,
    by: Annotated[str, typer.Option(help="category, cost-centre, budget-holder or organisation")] = "category",
    as_at: AsAtOption = None,
    org: OrgOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """The ledger's lines (a trial balance's cost centre x subjective code, or a category ledger's lines) year to
    date and forecast, summed by category, cost centre, budget holder or organisation."""
    with workspace_from(ctx, read_only=True) as opened:
        report, totals = budget_holders.ledger_roll_up(opened, by, as_at, org)
    document = roll_up_document(report, by.strip().lower().replace("-", "_"), totals)

    def render() -> None:
        print_plain(f"Ledger by {by}, {document['financial_year']} as at {document['as_at']}")
        console.print(_totals_table(by, [*document["rows"], document["total"]]))
        print_plain(document["variance_convention"])

    emit(fmt, document, render)


@command()
def budget_holders_report(
    ctx: typer.Context,
    holder: Annotated[
        str | None, typer.Option(help="Only this budget holder's lines (default: every holder's)")
    ] = None,
    as_at: AsAtOption = None,
    org: OrgOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Each budget holder's lines: year to date and forecast variance, the forecast method, and the lines whose
    variance needs commentary (above the workspace's threshold in £ and %, both)."""
    with workspace_from(ctx, read_only=True) as opened:
        report = budget_holders.budget_holder_report(opened, holder, as_at, org)
    document = budget_holder_document(report)

    def render() -> None:
        print_plain(f"Budget holders, {document['financial_year']} as at {document['as_at']}")
        console.print(_totals_table("Budget holder", document["holders"]))
        table = Table(
            "Holder",
            "Cost centre",
            "Subjective",
            "Category",
            "YTD variance",
            "Forecast variance",
            "Method",
            "Commentary",
        )
        for line in document["lines"]:
            if line["needs_commentary"]:
                table.add_row(
                    line["budget_holder"] or "(unassigned)",
                    f"{line['cost_centre']} {line['cost_centre_description']}".strip(),
                    f"{line['subjective_code']} {line['subjective_description']}".strip(),
                    line["category_label"],
                    format_thousands(line["ytd_variance_pence"]),
                    format_thousands(line["forecast_variance_pence"]),
                    line["forecast_method"],
                    "needed",
                )
        console.print(table)
        print_plain(document["commentary_rule"])
        print_plain(document["variance_convention"])

    emit(fmt, document, render)
