"""``outturn demo``: build a demo workspace from the real reference data and a synthetic ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outturn.cli._common import FormatOption, OutputFormat, console, emit, reports_errors
from outturn.cli.position import render_position
from outturn.domain.money import format_millions
from outturn.reports.position import position_document
from outturn.reports.savings import rollup_document
from outturn.services.demo import build_demo


@reports_errors
def demo(
    out: Annotated[Path, typer.Option(help="Directory for the demo workspace")] = Path("demo-workspace"),
    icb: Annotated[str, typer.Option(help="ICB code from the weighted-population file")] = "QU9",
    as_at: Annotated[str, typer.Option("--as-at", help="Month of the position, YYYY-MM")] = "2025-11",
    seed: Annotated[int, typer.Option(help="Seed for the synthetic ledger")] = 2025,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Build a demo workspace from one real ICB and a SYNTHETIC ledger, and print its position.

    Practices and PCNs come from NHS England's weighted-population file; the ledger, plan and risks are
    synthetic, calibrated to the weighted population, and labelled so."""
    progress = (
        (lambda message: console.print(f"[dim]→ {message}[/]", highlight=False)) if fmt is OutputFormat.TABLE else None
    )
    result = build_demo(out, icb_code=icb, as_at=as_at, seed=seed, progress=progress)
    savings = rollup_document((result.savings,))[0]
    document = {
        "workspace": str(result.workspace),
        "synthetic": True,
        "position": position_document(result.position),
        "savings": savings,
    }

    def render() -> None:
        console.print(
            f"[bold]Demo workspace:[/] {result.workspace}  [dim](ledger, plan and risks are SYNTHETIC, "
            "calibrated to real weighted populations)[/]",
            highlight=False,
        )
        render_position(result.position)
        figures = savings
        console.print(
            f"[bold]Savings (QIPP)[/]: plan {format_millions(figures['plan_pence'], places=2)}, delivered "
            f"{format_millions(figures['delivered_pence'], places=2)}, forecast "
            f"{format_millions(figures['forecast_pence'], places=2)} ({figures['shortfall_pct']}% short), "
            f"risk-adjusted {format_millions(figures['risk_adjusted_pence'], places=2)}, unidentified "
            f"{format_millions(figures['unidentified_pence'], places=2)}",
            highlight=False,
        )

    emit(fmt, document, render)
