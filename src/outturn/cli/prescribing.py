"""``outturn prescribing``: import EPD/PDPI months, measures per 1,000 patients or ASTRO-PU, price-per-unit savings."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from outturn.cli._common import console, current_user, emit, workspace_from
from outturn.cli.command import command
from outturn.cli.options import OutputFormat, ReplaceOption
from outturn.domain.benchmark import Level
from outturn.domain.money import format_pounds
from outturn.domain.prescribing import BnfGrouping, Denominator
from outturn.services import prescribing
from outturn.services.prescribing import Layout


class PerChoice(StrEnum):
    LIST = "list"
    ASTRO_PU = "astro-pu"

    @property
    def denominator(self) -> Denominator:
        return Denominator.LIST if self is PerChoice.LIST else Denominator.ASTRO_PU


MonthOption = Annotated[str | None, typer.Option(help="Month, YYYY-MM (default: the latest held)")]
LevelOption = Annotated[Level, typer.Option(help="practice, pcn or sub-icb")]


@command()
def prescribing_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(dir_okay=False, help="EPD or PDPI month (.csv)")],
    layout: Annotated[Layout, typer.Option(help="epd, pdpi or auto (from the header)")] = Layout.AUTO,
    month: Annotated[
        str | None, typer.Option(help="YYYY-MM, for a PDPI file whose name and columns do not say the month")
    ] = None,
    replace: ReplaceOption = False,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Import a month of practice prescribing, replacing the months the file holds. A file with any problem
    stores nothing and lists every problem (file, row, column, reason). A file whose months are stored already
    (from another file) stores nothing, shows what it would replace and exits 2 unless given --replace."""
    with workspace_from(ctx) as opened:
        result = prescribing.import_prescribing(
            opened, file, layout=layout, month=month, replace=replace, who=current_user()
        )
    document = {**result.__dict__, "months": list(result.months)}
    emit(
        fmt,
        document,
        lambda: console.print(
            f"{result.source} ({result.layout.upper()}): {', '.join(result.months)} — {result.source_rows:,} rows "
            f"read, {result.rows:,} practice × presentation rows stored ({result.replaced_rows:,} replaced); "
            f"{result.practices} practice(s), {result.items:,} items, NIC {format_pounds(result.nic_pence)}, "
            f"actual cost {format_pounds(result.actual_cost_pence)}",
            highlight=False,
        ),
    )


def _rate(value: Any) -> str:
    return "" if value is None else f"{value:,.1f}"


@command()
def prescribing_measures(
    ctx: typer.Context,
    level: LevelOption = Level.PRACTICE,
    by: Annotated[BnfGrouping, typer.Option(help="BNF chapter, section, chemical, or all together")] = (
        BnfGrouping.CHAPTER
    ),
    per: Annotated[PerChoice, typer.Option(help="per 1,000 registered patients (list) or ASTRO-PU")] = (PerChoice.LIST),
    month: MonthOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Items, net ingredient cost and actual cost by organisation and BNF group, per 1,000 patients or per 1,000
    ASTRO-PU, and the generic prescribing rate."""
    with workspace_from(ctx, read_only=True) as opened:
        document = prescribing.prescribing_measures(
            opened, level=level.org_level, grouping=by, denominator=per.denominator, month=month
        )

    def render() -> None:
        table = Table(
            "org",
            "BNF",
            "items",
            "NIC £",
            "actual £",
            f"items /1,000 {per.value}",
            f"NIC £ /1,000 {per.value}",
            "generic %",
            title=f"Prescribing {document['month']} by {level.value} and {by.value}",
        )
        for row in document["rows"]:
            table.add_row(
                row["org"],
                row["bnf_group"],
                f"{row['items']:,}",
                format_pounds(row["nic_pence"]),
                format_pounds(row["actual_cost_pence"]),
                _rate(row["items_per_1000"]),
                _rate(None if row["nic_pence_per_1000"] is None else row["nic_pence_per_1000"] / 100),
                "" if row["generic_rate"] is None else f"{100 * row['generic_rate']:.1f}",
            )
        console.print(table)
        if document["unplaced_practices"]:
            console.print(f"not in the practice populations: {', '.join(document['unplaced_practices'])}")

    emit(fmt, document, render)


# look-alike of cli/activity.py's service call: declarative, each command's keyword options.
@command()
def prescribing_savings(
    ctx: typer.Context,
    level: LevelOption = Level.PRACTICE,
    floor_pence: Annotated[
        int | None,
        typer.Option(
            help="Ignore an organisation's saving on a group below this (default 1000 practice, 5000 PCN, "
            "20000 sub-ICB)"
        ),
    ] = None,
    practice_floor_pence: Annotated[
        int | None, typer.Option(help="Count a practice's saving on a group as zero below this (default 1000)")
    ] = None,
    min_quantity: Annotated[
        float, typer.Option(help="Leave out a practice's group with this quantity or less (default 0)")
    ] = 0.0,
    month: MonthOption = None,
    limit: Annotated[int, typer.Option(help="Largest savings listed (0: all)")] = 50,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Price-per-unit savings: for each organisation and group of equivalent presentations, net ingredient cost
    less quantity × the 10th centile of practices' price per unit (OpenPrescribing's method)."""
    with workspace_from(ctx, read_only=True) as opened:
        document = prescribing.prescribing_savings(
            opened,
            level=level.org_level,
            floor_pence=floor_pence,
            practice_floor_pence=practice_floor_pence,
            min_quantity=min_quantity,
            month=month,
            limit=limit or None,
        )

    def render() -> None:
        console.print(
            f"Price-per-unit savings {document['month']} by {level.value}: "
            f"{format_pounds(document['total_savings_pence'])} (floors: {format_pounds(document['org_floor_pence'])}"
            f" per {level.value} and group, {format_pounds(document['practice_floor_pence'])} per practice)",
            highlight=False,
        )
        table = Table("org", "group", "name", "quantity", "PPU p", "target p", "saving £")
        for row in document["savings"]:
            table.add_row(
                row["org"],
                row["set_code"],
                row["name"] or "",
                f"{row['quantity']:,.0f}",
                f"{row['price_per_unit_pence']:.2f}",
                f"{row['target_price_per_unit_pence']:.2f}",
                format_pounds(row["savings_pence"]),
            )
        console.print(table)

    emit(fmt, document, render)


@command(workspace_option=False)
def prescribing_generate(
    out: Annotated[Path, typer.Option(help="Directory for prescribing.parquet and practices.parquet")],
    rows: Annotated[int, typer.Option(help="Practice × presentation rows (a national month is about 18m)")] = (
        18_000_000
    ),
    practices: Annotated[int, typer.Option(help="Practices (up to about 6,500, from the allocation file)")] = 6_500,
    seed: Annotated[int, typer.Option(help="Seed: the same seed writes the same files")] = 2017,
    month: Annotated[str, typer.Option(help="The month to label the rows, YYYY-MM")] = "2017-10",
    reference_dir: Annotated[
        Path | None, typer.Option(help="Official NHS reference data (default: $OUTTURN_REFERENCE_DIR)")
    ] = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Generate a SYNTHETIC national month of practice prescribing (warehouse layout, Parquet), with presentations
    and prices from real practices' prescribing, and the practices' populations."""
    options: dict[str, Any] = {
        "rows": rows,
        "practices": practices,
        "seed": seed,
        "month": month,
        "reference_dir": reference_dir,
    }
    if fmt is OutputFormat.TABLE:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("SYNTHETIC prescribing rows", total=rows)
            result = prescribing.generate_prescribing(
                out, progress=lambda done, total: bar.update(task, completed=done, total=total), **options
            )
    else:
        result = prescribing.generate_prescribing(out, **options)
    document = {
        "out": str(result.out_dir),
        "synthetic": True,
        "rows": result.rows,
        "practices": result.practices,
        "presentations": result.presentations,
        "seed": result.seed,
        "month": result.month,
        "files": {name: str(path) for name, path in result.files.items()},
    }
    emit(
        fmt,
        document,
        lambda: console.print(
            f"SYNTHETIC prescribing {result.month}: {result.rows:,} rows, {result.practices:,} practices, "
            f"{result.presentations:,} presentations → {result.out_dir}",
            highlight=False,
        ),
    )
