"""``outturn imports``: the import log — every accepted import, who made it, when, from which file (and its
SHA-256), how many rows with their totals, and what it replaced."""

from __future__ import annotations

from typing import Annotated

import typer

from outturn.cli._common import (
    FormatOption,
    OutputFormat,
    WorkspaceOption,
    cell,
    emit_rows,
    reports_errors,
    workspace_from,
)
from outturn.domain.money import format_pounds
from outturn.reports.imports import import_rows
from outturn.services import imports

imports_app = typer.Typer(
    help="The import log: who imported which file, when, and what it replaced.", no_args_is_help=True
)


def _pounds(totals: dict[str, int]) -> str:
    return ", ".join(f"{name.removesuffix('_pence')} {format_pounds(pence)}" for name, pence in sorted(totals.items()))


@imports_app.command("list")
@reports_errors
def imports_list(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the newest N imports")] = None,
    workspace: WorkspaceOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Every import, newest first: kind, file, checksum, who, when, rows and totals, and what it replaced."""
    with workspace_from(ctx, workspace) as opened:
        records = imports.import_history(opened, limit)
    rows = import_rows(records)
    totals = {record.id: (_pounds(record.totals), _pounds(record.replaced_totals)) for record in records}
    emit_rows(
        fmt,
        rows,
        [
            ("Id", cell("id")),
            ("When", cell("imported_at")),
            ("Who", cell("imported_by")),
            ("Kind", cell("kind")),
            ("File", cell("source")),
            ("SHA-256", lambda row: row["sha256"][:12]),
            ("Rows", cell("rows")),
            ("Totals", lambda row: totals[row["id"]][0]),
            ("Replaced rows", cell("replaced_rows")),
            ("Replaced totals", lambda row: totals[row["id"]][1]),
        ],
    )
