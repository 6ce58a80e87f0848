"""``outturn price`` and ``outturn contracts``: PbR pricing and the monthly contract statement."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from outturn.cli._common import (
    cell,
    console,
    current_user,
    emit,
    emit_rows,
    month_or_default,
    print_plain,
    workspace_from,
)
from outturn.cli.command import command
from outturn.cli.options import AsAtOption, OutputFormat, ReplaceOption
from outturn.domain.activity import ActivityKind
from outturn.domain.money import VARIANCE_CONVENTION, format_millions, format_thousands
from outturn.reports.contracts import STATEMENT_MONEY, statement_documents
from outturn.services import contracts, pricing
from outturn.services.contracts import MIN_SPELLS

KindOption = Annotated[ActivityKind, typer.Option("--kind", help="apc (spells), op (outpatients) or ae (A&E)")]


@command(workspace_option=False)
def price(
    activity: Annotated[Path, typer.Option(exists=True, help="Activity extract (.csv or .parquet)")],
    kind: KindOption,
    out: Annotated[Path, typer.Option(help="Where to write the priced activity (.parquet)")],
    tariff: Annotated[str, typer.Option(help="National tariff year: 2017/18 or 2018/19")] = "2018/19",
    reference_dir: Annotated[Path | None, typer.Option(help="Reference data (default: $OUTTURN_REFERENCE_DIR)")] = None,
    backend: Annotated[str, typer.Option(help="duckdb (default) or pyspark")] = "duckdb",
    prices_only: Annotated[
        bool, typer.Option(help="Write only each record's id, provider, commissioner and prices (a priced extract)")
    ] = False,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Price an activity extract against the national tariff; every unit that cannot be priced is counted with
    its reason, never priced at zero."""
    result = pricing.price_file(
        activity, kind, tariff, out, reference_dir=reference_dir, backend_kind=backend, prices_only=prices_only
    )

    def render() -> None:
        console.print(
            f"priced {result.priced_units:,} unit(s), {format_millions(result.price_pence, places=2)}"
            f" + {result.excess_bed_days:,} excess bed days {format_millions(result.excess_price_pence)}"
            f"; unpriced {result.unpriced_units:,}; written to {result.output}",
            highlight=False,
        )
        for reason, units in result.unpriced_by_reason.items():
            console.print(f"  unpriced: {units:,} — {reason}", highlight=False)

    emit(fmt, result.__dict__, render)


@command()
def contracts_import(
    ctx: typer.Context,
    plan: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Contract plan (.csv or .xlsx)")],
    prices: Annotated[Path | None, typer.Option(exists=True, help="Local prices file")] = None,
    rules: Annotated[
        Path | None,
        typer.Option(exists=True, help="Payment rules (readmissions, caps, marginal rate, fixed + variable, CQUIN)"),
    ] = None,
    replace: ReplaceOption = False,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Import contract plans (activity and £ by point of delivery and month, block elements), local prices and
    payment rules; each contract replaces the stored one for its provider, commissioner and year. A file that
    would change a stored contract stores nothing, shows what it would replace and exits 2 unless given
    --replace."""
    with workspace_from(ctx) as opened:
        count = contracts.import_contracts(opened, plan, prices, rules=rules, replace=replace, who=current_user())
    emit(fmt, {"contracts": count}, lambda: console.print(f"{count} contract(s) imported"))


@command()
def contracts_activity(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Activity extract (.csv or .parquet)")],
    kind: KindOption,
    replace: ReplaceOption = False,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Load this year's activity extract (year to date) into the workspace's warehouse, replacing the last one
    of that kind. A file with any problem loads nothing. When activity of that kind is stored already (from
    another file), the file stores nothing, shows what it would replace and exits 2 unless given --replace."""
    with workspace_from(ctx) as opened:
        rows = pricing.import_activity(opened, file, kind, replace=replace, who=current_user())
    emit(fmt, {"kind": kind.value, "rows": rows}, lambda: console.print(f"{rows:,} {kind.value} row(s) loaded"))


@command()
def contracts_statement(
    ctx: typer.Context,
    provider: Annotated[str, typer.Option(help="Provider (trust) code")],
    as_at: AsAtOption = None,
    commissioner: Annotated[str | None, typer.Option(help="Only this commissioner's contract")] = None,
    follow_up_benchmark: Annotated[
        float | None, typer.Option(help="Follow-ups per first attendance (default: all providers' ratio)")
    ] = None,
    min_spells: Annotated[
        int, typer.Option(help="Spells in each period before a case-mix drift cell is tested")
    ] = MIN_SPELLS,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """The monthly contract statement: plan against actual activity and £ by point of delivery, year to date;
    forecast outturn and over-performance; follow-up ratios, consultant-to-consultant referrals, case-mix drift."""
    with workspace_from(ctx, read_only=True) as opened:
        month = month_or_default(opened, as_at)
        found = contracts.contract_statements(
            opened,
            provider.upper(),
            month,
            commissioner.upper() if commissioner else None,
            follow_up_benchmark,
            min_spells,
        )
    documents = statement_documents(found)

    def render() -> None:
        for document in documents:
            console.print(
                f"[bold]{document['provider']} × {document['commissioner']}[/] {document['financial_year']}"
                f" as at {document['as_at']}: forecast variance against plan "
                f"{format_thousands(document['forecast_variance_favourable_pence'])}",
                highlight=False,
            )
            table = Table(
                "Point of delivery",
                "Plan YTD",
                "Actual YTD",
                "YTD variance",
                "Forecast",
                "Annual plan",
                "Forecast variance",
            )
            for line in document["lines"]:
                table.add_row(
                    line["point_of_delivery"],
                    *(format_thousands(line[key]) for key in STATEMENT_MONEY),
                )
            console.print(table)
            print_plain(VARIANCE_CONVENTION)
            if document["payment_rules"]:
                console.print(_payment_rules_table(document))
            block = document["challenges"]
            print_plain(
                f"Challenges: {format_thousands(block['agreed_pence'])} agreed, taken off the forecast"
                f" ({format_thousands(block['agreed_to_date_pence'])} of it off the actual to date);"
                f" {format_thousands(block['open_pence'])} open, {format_thousands(block['open_expected_pence'])}"
                " expected at likelihood"
            )
            emit_rows(
                OutputFormat.TABLE,
                document["case_mix_drift"],
                [
                    ("POD", cell("point_of_delivery")),
                    ("TF", cell("treatment_function")),
                    ("Drift £", lambda row: format_thousands(row["drift_pence"])),
                    ("z", cell("z")),
                    ("Finding", cell("result")),
                ],
            )

    emit(fmt, documents, render)


def _payment_rules_table(document: dict[str, Any]) -> Table:
    """The tariff value, each payment rule's adjustment and the contract value (the labels of the web and pack)."""
    keys = ("annual_plan_pence", "ytd_plan_pence", "ytd_actual_pence", "forecast_pence")
    table = Table("Payment rules on top of the tariff", "Annual plan", "Plan YTD", "Actual YTD", "Forecast")
    table.add_row("Tariff value", *(format_thousands(document[f"tariff_{key}"]) for key in keys))
    for rule in document["payment_rules"]:
        table.add_row(rule["label"], *(format_thousands(rule[key]) for key in keys))
    table.add_row("Contract value", *(format_thousands(document[key]) for key in keys))
    return table
