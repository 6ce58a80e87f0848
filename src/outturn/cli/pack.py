"""``outturn pack``: the monthly board pack (HTML, PDF, XLSX) for an organisation and month."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from outturn.cli._common import console, emit, workspace_from
from outturn.cli.command import command
from outturn.cli.options import AsAtOption, MethodOption, OrgOption, OutputFormat
from outturn.domain.money import format_millions, format_surplus
from outturn.reports.pack import BoardPack, pack_document
from outturn.services.pack import FORMATS, PackFiles, PackRequest, build_pack


@contextmanager
def steps(fmt: OutputFormat) -> Iterator[Callable[[str], None] | None]:
    """A progress display for long work (a spinner and the time taken per step); nothing for JSON output."""
    if fmt is OutputFormat.JSON:
        yield None
        return
    columns = (SpinnerColumn(finished_text="[green]✓[/]"), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        current: list[TaskID] = []

        def step(message: str) -> None:
            if current:
                progress.update(current[-1], completed=1)
                progress.stop_task(current[-1])
            current.append(progress.add_task(message, total=1))

        yield step
        if current:
            progress.update(current[-1], completed=1)
            progress.stop_task(current[-1])


def render_headline(pack: BoardPack, files: PackFiles) -> None:
    head = pack.headline
    console.print(
        f"[bold]Board pack[/] {head.org_name} ({head.org_code}), {head.month} {head.financial_year} ({head.period})",
        highlight=False,
    )
    for name, path in files.as_dict().items():
        if path:
            console.print(f"  {name.upper():<5} {path}", highlight=False)
    gap = f"gap to control total {format_millions(head.gap_pence)}"
    if head.gap_change_pence is not None:
        direction = "up" if head.gap_change_pence > 0 else "down"
        gap += f" ({direction} {format_millions(abs(head.gap_change_pence))} since {head.previous_month})"
    console.print(
        f"[bold]Position[/]: forecast {format_surplus(head.forecast_surplus_pence)} against a control total of "
        f"{format_surplus(head.control_total_pence)}; {gap}",
        highlight=False,
    )
    if head.savings is not None:
        share = head.savings.delivered_share
        console.print(
            f"[bold]Savings[/]: delivered {format_millions(head.savings.delivered_pence)} of "
            f"{format_millions(head.savings.plan_to_date_pence)} planned to date"
            f"{f' ({share:.1%})' if share is not None else ''}; forecast "
            f"{format_millions(head.savings.forecast_pence)} of {format_millions(head.savings.plan_pence)}",
            highlight=False,
        )
    if head.risk is not None:
        console.print(
            f"[bold]P(meeting the control total)[/]: {head.risk.p_meet_control_total:.1%} "
            f"({head.risk.trials:,} simulated years)",
            highlight=False,
        )


def pack_summary(pack: BoardPack, files: PackFiles) -> dict[str, Any]:
    return pack_document(pack, files.as_dict())


# look-alike of cli/ledger.py:budget_holders_report (shape only): Typer option declarations and a render, one per
# command.
@command()
def pack(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option(help="Directory for the pack (default: board-pack in the workspace)")
    ] = None,
    org: OrgOption = None,
    as_at: AsAtOption = None,
    method: MethodOption = None,
    scenario: Annotated[
        list[Path] | None, typer.Option(exists=True, dir_okay=False, help="A scenario file to compare (repeatable)")
    ] = None,
    trials: Annotated[int, typer.Option(help="Simulated years for the chance of meeting the control total")] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed of the risk simulation")] = 1,
    output: Annotated[
        list[str] | None, typer.Option("--output", help="Which files: html, pdf, xlsx (repeatable; default all)")
    ] = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Write the monthly financial recovery report (board pack) as HTML, PDF and XLSX: headline, narrative,
    position, bridge, savings tracker, contracts, practice funnel plots, SPC charts, scenarios, risk."""
    request = PackRequest(
        org_code=org.upper() if org else None,
        as_at=as_at,
        method=method,
        trials=trials,
        seed=seed,
        scenarios=tuple(scenario or ()),
    )
    with workspace_from(ctx) as opened, steps(fmt) as progress:
        directory = out or opened.settings.workspace / "board-pack"
        built, files = build_pack(opened, directory, request, tuple(output or FORMATS), progress)
    emit(fmt, pack_summary(built, files), lambda: render_headline(built, files))
