"""``outturn imports``: the import log — every accepted import, who made it, when, from which file (and its
SHA-256), how many rows with their totals, and what it replaced."""

from __future__ import annotations

from typing import Annotated

import typer

from outturn.cli._common import cell, emit_rows, workspace_from
from outturn.cli.command import command
from outturn.cli.options import OutputFormat
from outturn.domain.money import format_pounds
from outturn.reports.imports import import_rows
from outturn.services import imports


def _pounds(totals: dict[str, int]) -> str:
    return ", ".join(f"{name.removesuffix('_pence')} {format_pounds(pence)}" for name, pence in sorted(totals.items()))


# look-alike of cli/data.py:ledger_list (shape only): Typer option declarations and a render, one per command.
@command()
def imports_list(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the newest N imports")] = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Every import, newest first: kind, file, checksum, who, when, rows and totals, and what it replaced."""
    with workspace_from(ctx) as opened:
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
