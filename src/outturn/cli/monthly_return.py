"""``outturn return``: the monthly financial return (XLSX in £000, JSON in pence), read from the month's board pack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from outturn.cli._common import console, emit, workspace_from
from outturn.cli.command import command
from outturn.cli.options import AsAtOption, MethodOption, OrgOption, OutputFormat
from outturn.domain.money import format_thousands
from outturn.services.monthly_return import ReturnRequest, write_monthly_return


def render_return(document: dict[str, Any], out: Path) -> None:
    console.print(
        f"[bold]Monthly financial return[/] {document['org_name']} ({document['org_code']}), {document['month']} "
        f"{document['financial_year']} ({document['period']})",
        highlight=False,
    )
    console.print(f"  XLSX  {out}", highlight=False)
    for row in document["summary"]:
        console.print(f"  {row['label']:<55} {format_thousands(row['pence']):>14}", highlight=False, markup=False)


@command()
def monthly_return(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(dir_okay=False, help="The workbook to write (.xlsx)")],
    as_at: AsAtOption = None,
    org: OrgOption = None,
    method: MethodOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Write the monthly financial return for NHS England's shape: a cover, the summary, expenditure by category
    (year to date and full year), the underlying position, efficiencies (savings) and risks and mitigations, as
    XLSX in £000; --format json prints the same in pence. Every figure is the board pack's for the month."""
    request = ReturnRequest(org_code=org.upper() if org else None, as_at=as_at, method=method)
    with workspace_from(ctx, read_only=True) as opened:
        document = write_monthly_return(opened, out, request)
    emit(fmt, document, lambda: render_return(document, out.resolve()))
