"""``outturn demo``: build a demo workspace from the real reference data and a synthetic ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from outturn.cli._common import console, emit
from outturn.cli.command import command
from outturn.cli.options import OutputFormat
from outturn.cli.pack import pack_summary, render_headline, steps
from outturn.cli.position import render_position
from outturn.domain.money import format_millions
from outturn.reports.contracts import statement_documents
from outturn.reports.planning import bridge_document, requirement_percent
from outturn.reports.position import position_document
from outturn.reports.savings import rollup_document
from outturn.services.demo import DEMO_PASSWORD, build_demo


def render_plan(plan: dict[str, Any]) -> None:
    """Next year's savings requirement (£ and % of allocation) and the medium term's, from the plan's bridge."""
    (organisation,) = plan["organisations"]
    first = organisation["years"][0]
    programme = format_millions(organisation["total_requirement_pence"], places=1)
    years = len(organisation["years"])
    later = ", ".join(
        f"{year['year']} {format_millions(year['savings_requirement_pence'], places=1)} ({requirement_percent(year)})"
        for year in organisation["years"][1:]
    )
    console.print(
        f"[bold]Plan {first['year']}[/] (SYNTHETIC assumptions from this year's position): savings requirement "
        f"{format_millions(first['savings_requirement_pence'], places=1)}, {requirement_percent(first)} of the "
        f"{format_millions(first['allocation_pence'], places=1)} allocation; then {later}; "
        f"{years}-year programme {programme}"
        f" (savings targets set from the bridge; `outturn plan bridge --year {first['year']} --years {years}`, or "
        "/plan on the web)",
        highlight=False,
    )


@command(workspace_option=False)
def demo(
    out: Annotated[Path, typer.Option(help="Directory for the demo workspace")] = Path("demo-workspace"),
    icb: Annotated[str, typer.Option(help="ICB code from the weighted-population file")] = "QU9",
    as_at: Annotated[str, typer.Option("--as-at", help="Month of the position, YYYY-MM")] = "2025-11",
    seed: Annotated[int, typer.Option(help="Seed for the synthetic ledger")] = 2025,
    activity_scale: Annotated[
        float, typer.Option(help="Scale of the synthetic hospital activity (1 = ICB scale; 0.05 for a quick run)")
    ] = 1.0,
    pack: Annotated[bool, typer.Option("--pack/--no-pack", help="Write the month's board pack")] = True,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Run the month for one real ICB on a SYNTHETIC economy: build the workspace, import last month's and this
    month's ledger, savings, prescribing and activity, close the months, and write the board pack.

    Practices and PCNs come from NHS England's weighted-population file; the ledger, plan, risks, savings plan,
    hospital activity and prescribing are synthetic, calibrated to real data, and labelled so."""
    with steps(fmt) as progress:
        result = build_demo(
            out, icb_code=icb, as_at=as_at, seed=seed, progress=progress, activity_scale=activity_scale, pack=pack
        )
    savings = rollup_document((result.savings,))[0]
    statements = statement_documents(result.statements)
    plan = bridge_document(result.plan) if result.plan is not None else None
    document = {
        "workspace": str(result.workspace),
        "synthetic": True,
        "position": position_document(result.position),
        "savings": savings,
        "contracts": statements,
        "plan": plan,
        "pack": pack_summary(result.pack, result.pack_files) if result.pack and result.pack_files else None,
        "accounts": [
            {"user": name, "role": role, "practice": practice, "budget_holder": holder}
            for name, role, practice, holder in result.accounts
        ],
    }

    def render() -> None:
        console.print(
            f"[bold]Demo workspace:[/] {result.workspace}  [dim](ledger, savings plan, risks and hospital activity "
            "are SYNTHETIC, calibrated to real weighted populations and the national tariff)[/]",
            highlight=False,
        )
        render_position(result.position)
        console.print(
            f"[bold]Savings (QIPP)[/]: plan {format_millions(savings['plan_pence'], places=2)}, delivered "
            f"{format_millions(savings['delivered_pence'], places=2)}, forecast "
            f"{format_millions(savings['forecast_pence'], places=2)} ({savings['shortfall_pct']}% short), "
            f"risk-adjusted {format_millions(savings['risk_adjusted_pence'], places=2)}, unidentified "
            f"{format_millions(savings['unidentified_pence'], places=2)}",
            highlight=False,
        )
        for contract in statements:
            console.print(
                f"[bold]Contract[/] {contract['provider']} × {contract['commissioner']}: YTD actual "
                f"{format_millions(contract['ytd_actual_pence'], places=2)} against plan "
                f"{format_millions(contract['ytd_plan_pence'], places=2)}; forecast over-performance "
                f"{format_millions(contract['over_performance_pence'], places=2)} (SYNTHETIC activity, priced at "
                f"the {contract['tariff_year']} national tariff)",
                highlight=False,
            )
        if plan is not None:
            render_plan(plan)
        if result.pack and result.pack_files:
            render_headline(result.pack, result.pack_files)
        if result.accounts:
            names = ", ".join(
                f"{name} ({role}{f' {scope}' if (scope := practice or holder) else ''})"
                for name, role, practice, holder in result.accounts
            )
            console.print(
                f"[bold]Web application[/]: `make serve` (or `outturn -w {result.workspace} serve`), then sign in as "
                f"{names}; the demo's password is {DEMO_PASSWORD!r}",
                highlight=False,
            )

    emit(fmt, document, render)
