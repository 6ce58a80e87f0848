"""``outturn contracts map`` and ``outturn contracts reconcile``: which ledger lines account for each contract,
and the contracts set against them."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from outturn.cli._common import console, current_user, emit, month_or_default, print_plain, workspace_from
from outturn.cli.command import command
from outturn.cli.options import AsAtOption, OutputFormat, ReplaceOption
from outturn.domain.contract_ledger import DEFAULT_THRESHOLD_PERCENT, DEFAULT_THRESHOLD_POUNDS, Threshold
from outturn.domain.errors import BadInput
from outturn.domain.money import format_thousands
from outturn.reports.contract_reconciliation import COLUMNS, FIGURES, reconciliation_document, table_rows
from outturn.services.contract_ledger import import_contract_map
from outturn.services.contract_reconciliation import reconcile_contracts


@command()
def contracts_map(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Mapping (.csv or .xlsx)")],
    replace: ReplaceOption = False,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Map contracts to ledger lines: columns provider, commissioner, category, line, element (``contract``, or
    empty, for the line carrying the contract's value; a short label for a line of non-contract spend with the
    provider). The file replaces the stored mapping of each commissioner it names; one that would remove or
    change a stored link stores nothing, shows what it would replace and exits 2 unless given --replace."""
    with workspace_from(ctx) as opened:
        summary = import_contract_map(opened, file, replace=replace, who=current_user())
    document = {"links": summary.rows, "replaced_links": summary.replaced_rows}
    emit(
        fmt,
        document,
        lambda: console.print(f"{summary.rows} link(s) of contracts to ledger lines imported", highlight=False),
    )


def _cell(value: Any) -> str:
    return "" if value is None else format_thousands(value)


@command()
def contracts_reconcile(
    ctx: typer.Context,
    as_at: AsAtOption = None,
    org: Annotated[str | None, typer.Option(help="Only this commissioner's (or those under it) or provider's")] = None,
    threshold_pounds: Annotated[
        int, typer.Option(help="Flag a difference above this many pounds (and above --threshold-percent)")
    ] = DEFAULT_THRESHOLD_POUNDS,
    threshold_percent: Annotated[
        str, typer.Option(help="Flag a difference above this % of the contract's figure (and above the pounds)")
    ] = str(DEFAULT_THRESHOLD_PERCENT),
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Each contract against the ledger lines that account for it: contract plan against ledger budget, priced
    activity to date against the ledger's actual (the accrual), contract forecast against the ledger's forecast,
    and the difference (ledger less contract), flagged above the threshold. Non-contract spend and the contract's
    non-tariff elements are rows of their own."""
    try:
        percent = Fraction(Decimal(threshold_percent.strip().rstrip("%")))
    except ArithmeticError:
        raise BadInput(f"not a percentage: {threshold_percent!r}") from None
    threshold = Threshold(threshold_pounds, percent)
    with workspace_from(ctx, read_only=True) as opened:
        found = reconcile_contracts(opened, month_or_default(opened, as_at), org, threshold)
    document = reconciliation_document(found)

    def render() -> None:
        print_plain(f"Contracts against the ledger, {document['financial_year']} as at {document['as_at']}")
        table = Table("Contract", "Row", *COLUMNS, "Flagged")
        for row in table_rows(document):
            table.add_row(
                row["contract"],
                row["label"],
                *(_cell(row[key]) for key in FIGURES),
                row["flag"],
            )
        console.print(table)
        print_plain(document["difference_convention"])
        print_plain(document["flag_rule"])

    emit(fmt, document, render)
