"""``outturn benchmark``: activity rates per 1,000 actual and weighted population, benchmarks and opportunity."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from outturn.cli._common import console, emit, print_warnings, workspace_from
from outturn.cli.command import command
from outturn.cli.options import OutputFormat, YearOption
from outturn.domain.benchmark import (
    MEASURE_REGISTRY,
    Basis,
    BenchmarkKind,
    BenchmarkSpec,
    Level,
    PeerGrouping,
    find_measure,
)
from outturn.domain.money import format_pounds
from outturn.domain.periods import FinancialYear
from outturn.reports.benchmark import benchmark_document
from outturn.services.benchmark import benchmark as run_benchmark


def _render(document: dict[str, Any], top: int | None) -> None:
    measure, summary = document["measure"], document["summary"]
    table = Table("Code")
    table.add_column("Name", max_width=28, no_wrap=True, overflow="ellipsis")
    for heading in ("Activity", "List", "Weighted", "Rate", "Wtd rate", "Rank", "Wtd rank", "Change", "Bench"):
        table.add_column(heading, justify="right")
    table.add_column("Opportunity", justify="right")
    table.add_column("£", justify="right")
    for row in document["rows"][:top]:
        pence = row["opportunity_pence"]
        table.add_row(
            row["org_code"] or "(none)",
            row["org_name"] or "",
            f"{row['activity']:,}",
            f"{row['population']:,.0f}",
            f"{row['weighted_population']:,.0f}",
            f"{row['rate_actual']:.1f}",
            f"{row['rate_weighted']:.1f}",
            str(row["rank_actual"]),
            str(row["rank_weighted"]),
            f"{row['rank_change']:+d}",
            f"{row['benchmark_rate']:.1f}",
            f"{row['opportunity_activity']:,.0f}",
            "" if pence is None else format_pounds(pence),
        )
    console.print(
        f"[bold]{measure['description']}[/] per {measure['per']:,} registered and per {measure['per']:,} "
        f"{measure['weighted_population']} population; benchmark: {document['benchmark']['kind']} "
        f"({document['benchmark']['basis']})",
        highlight=False,
    )
    console.print(table)
    total = summary["opportunity_pence"]
    console.print(
        f"opportunity: {summary['opportunity_activity']:,.0f} {measure['unit']}"
        + ("" if total is None else f", {format_pounds(total)}")
        + f" from {summary['practices_above_benchmark']} practice(s) above the benchmark",
        highlight=False,
    )
    print_warnings(document["warnings"])


@command()
def benchmark(
    ctx: typer.Context,
    measure: Annotated[str, typer.Option(help=f"Measure: {', '.join(MEASURE_REGISTRY)}")],
    level: Annotated[Level, typer.Option(help="Compare practices, PCNs or sub-ICB locations")] = Level.PRACTICE,
    kind: Annotated[
        BenchmarkKind | None,
        typer.Option("--benchmark", help="median (default), upper-quartile, average, peer-group, or given (--rate)"),
    ] = None,
    rate: Annotated[float | None, typer.Option(help="A benchmark rate to use (per 1,000), e.g. a national one")] = None,
    basis: Annotated[Basis, typer.Option(help="Benchmark the rate on the weighted or the actual population")] = (
        Basis.WEIGHTED
    ),
    peers: Annotated[PeerGrouping, typer.Option(help="Peer groups: fifths of need index or of list size")] = (
        PeerGrouping.NEED
    ),
    org: Annotated[
        str | None,
        typer.Option(help="Only practices under this ICB, sub-ICB or PCN (default: the workspace's organisation)"),
    ] = None,
    year: YearOption = None,
    top: Annotated[int | None, typer.Option(help="Table output: show only the first N rows")] = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Activity per 1,000 registered and per 1,000 need-weighted population for every practice (or PCN, or
    sub-ICB location), ranks on each and the change weighting makes, and the activity and £ saved if every
    practice beyond a benchmark moved to it."""
    chosen = kind or (BenchmarkKind.GIVEN if rate is not None else BenchmarkKind.MEDIAN)
    spec = BenchmarkSpec(chosen, basis, peers, rate)
    with workspace_from(ctx) as opened:
        result = run_benchmark(
            opened,
            find_measure(measure),
            level=level,
            spec=spec,
            org=org.upper() if org else None,
            year=FinancialYear.parse(year) if year else None,
        )
    document = benchmark_document(result)
    emit(fmt, document, lambda: _render(document, top))
