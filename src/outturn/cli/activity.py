"""``outturn activity``: SYNTHETIC hospital activity for the demo and the benchmarks."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from outturn.cli._common import console, emit
from outturn.cli.command import command
from outturn.cli.options import OutputFormat, ReferenceDirOption
from outturn.services.activity import generate

_LABELS = {"apc": "admitted spells", "op": "outpatient attendances", "ae": "A&E attendances"}


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
