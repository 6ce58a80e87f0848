"""``outturn activity``: SYNTHETIC hospital activity for the demo and the benchmarks."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from outturn.cli._common import console, current_user, emit, workspace_from
from outturn.cli.command import command
from outturn.cli.options import OutputFormat, ReferenceDirOption, ReplaceOption
from outturn.domain.activity import ActivityKind
from outturn.domain.errors import BadInput
from outturn.services import hes, pricing
from outturn.services.activity import generate

_LABELS = {"apc": "admitted spells", "op": "outpatient attendances", "ae": "A&E attendances"}


class Layout(StrEnum):
    OUTTURN = "outturn"
    HES = "hes"


class Scale(StrEnum):
    ICB = "icb"
    NATIONAL = "national"


@command(workspace_option=False)
def activity_generate(
    out: Annotated[Path, typer.Option(help="Directory for apc.parquet, op.parquet and ae.parquet")],
    scale: Annotated[
        Scale, typer.Option(help="icb: ~350k spells, 2m outpatient, 600k A&E; national: ~20m, 125m, 25m")
    ] = Scale.ICB,
    scale_factor: Annotated[float, typer.Option(help="Multiplies the counts (0.01 for a quick demo)")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed: the same seed writes the same files")] = 2018,
    year: Annotated[int, typer.Option(help="Start of the financial year (2018 for 2018/19)")] = 2018,
    reference_dir: ReferenceDirOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Generate a year of SYNTHETIC activity calibrated to the national tariff and the National Cost Collection.

    Writes Parquet files in the activity layouts; every record is synthetic and each file's metadata says so."""
    if fmt is OutputFormat.TABLE:
        columns = (
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=False) as bar:
            tasks: dict[str, TaskID] = {}

            def advance(kind: str, done: int, total: int) -> None:
                if kind not in tasks:
                    tasks[kind] = bar.add_task(_LABELS.get(kind, kind), total=total)
                bar.update(tasks[kind], completed=done, total=total)

            result = generate(
                out,
                scale=scale.value,
                scale_factor=scale_factor,
                seed=seed,
                year=year,
                reference_dir=reference_dir,
                progress=advance,
            )
    else:
        result = generate(
            out, scale=scale.value, scale_factor=scale_factor, seed=seed, year=year, reference_dir=reference_dir
        )
    document = {
        "out": str(result.out_dir),
        "synthetic": True,
        "scale": result.scale,
        "scale_factor": result.scale_factor,
        "seed": result.seed,
        "year": result.year,
        "counts": result.counts,
        "files": {kind: str(path) for kind, path in result.files.items()},
    }

    def render() -> None:
        table = Table("kind", "rows", "file", title=f"SYNTHETIC activity, {result.year}/{(result.year + 1) % 100:02d}")
        for kind, rows in result.counts.items():
            table.add_row(_LABELS.get(kind, kind), f"{rows:,}", str(result.files[kind]))
        console.print(table)

    emit(fmt, document, render)


@command()
def activity_import(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Activity extract: .csv (.parquet too, outturn layout)")
    ],
    layout: Annotated[
        Layout, typer.Option(help="outturn: the activity layout; hes: a national HES / SUS+ extract")
    ] = Layout.OUTTURN,
    kind: Annotated[
        ActivityKind | None,
        typer.Option(
            "--kind", help="apc (admitted), op (outpatients) or ae (A&E); a HES extract's is told by its columns"
        ),
    ] = None,
    replace: ReplaceOption = False,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Load an activity extract into the workspace's warehouse, replacing the stored activity of its kind. A HES
    extract's codes are mapped by the published HES data dictionary: rows it cannot map are left out and counted,
    unknown codes are listed with their counts, never guessed. A file with any other problem loads nothing."""
    with workspace_from(ctx) as opened:
        if layout is Layout.HES:
            document = hes.import_hes_activity(opened, file, kind, replace=replace, who=current_user()).to_json()
        elif kind is None:
            raise BadInput("say which kind of activity the file holds: apc, op or ae")
        else:
            rows = pricing.import_activity(opened, file, kind, replace=replace, who=current_user())
            document = {"file": file.name, "layout": "outturn", "kind": kind.value, "rows_imported": rows}
    emit(fmt, document, lambda: _render_import(document))


def _render_import(document: dict[str, Any]) -> None:
    label = _LABELS.get(document["kind"], document["kind"])
    console.print(f"{document['rows_imported']:,} {label} loaded from {document['file']}")
    if document["layout"] != "hes":
        return
    for reason, rows in document["left_out"].items():
        console.print(f"  left out: {rows:,} row(s): {reason}")
    for field_name, codes in document["unknown_codes"].items():
        shown = ", ".join(f"{code} ({rows:,})" for code, rows in codes.items())
        console.print(f"  {field_name} codes not in the published table: {shown}")
    for column, rows in document["kept_blank"].items():
        console.print(f"  {rows:,} row(s) with no {column.replace('_', ' ')}")
    for reason, rows in document["unpriced"].items():
        console.print(f"  unpriced: {rows:,} row(s): {reason}")
    if document["admission_methods"]:
        table = Table("ADMIMETH", "meaning", "admission method", "rows", title="Admission methods")
        for row in document["admission_methods"]:
            table.add_row(
                row["code"] or "blank", row["meaning"], row["admission_method"] or "left out", f"{row['rows']:,}"
            )
        console.print(table)
