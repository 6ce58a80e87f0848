"""``outturn funnel`` and ``outturn spc``: funnel plots and "Making Data Count" SPC charts from a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from outturn.cli._common import console, emit, print_warnings
from outturn.cli.command import command
from outturn.cli.options import OutputFormat
from outturn.services import statistics
from outturn.services.statistics import FunnelKind, ImprovementDirection, OutlierLimit, RatioMethod

InputOption = Annotated[Path, typer.Option("--input", "-i", exists=True, dir_okay=False, help="Input .csv or .xlsx")]
ChartOption = Annotated[
    Path | None, typer.Option("--chart", help="Also draw the chart: FILE.svg, FILE.png or FILE.html (interactive)")
]
TitleOption = Annotated[str | None, typer.Option("--title", help="Chart title")]


def _number(value: float) -> str:
    return f"{value:.4g}"


@command(workspace_option=False)
def funnel(
    input_file: InputOption,
    kind: Annotated[
        FunnelKind, typer.Option("--type", help="proportion, rate (per head) or ratio (observed/expected)")
    ],
    overdispersion: Annotated[
        bool, typer.Option("--overdispersion/--no-overdispersion", help="Widen limits for overdispersion (τ²)")
    ] = True,
    ratio_method: Annotated[
        RatioMethod,
        typer.Option("--ratio-method", help="ratios only: shmi (log scale, truncation) or cqc (√, Winsorised)"),
    ] = RatioMethod.SHMI,
    limit: Annotated[OutlierLimit, typer.Option("--limit", help="Flag outliers beyond the 95 or 99.8 limits")] = (
        OutlierLimit.LIMIT_998
    ),
    multiplier: Annotated[float, typer.Option(help="Scale values and limits, e.g. 1000 for a rate per 1,000")] = 1.0,
    chart: ChartOption = None,
    title: TitleOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Funnel plot (Spiegelhalter 2005, as FunnelPlotR): each group's value, z-score, 95% and 99.8% limits at its
    denominator and outlier flag, from a file with columns group, numerator, denominator."""
    report = statistics.funnel_from_file(
        input_file,
        kind,
        overdispersion=overdispersion,
        ratio_method=ratio_method,
        outlier_limit=limit,
        multiplier=multiplier,
        chart=chart,
        title=title,
    )
    result = report.result

    def render() -> None:
        table = Table("group", "numerator", "denominator", "value", "z", "95% limits", "99.8% limits", "outlier")
        for point in result.points:
            table.add_row(
                point.group,
                f"{point.numerator:g}",
                f"{point.denominator:g}",
                _number(point.value),
                f"{point.z_adjusted:.2f}",
                f"{_number(point.limits.lower_95)} – {_number(point.limits.upper_95)}",
                f"{_number(point.limits.lower_998)} – {_number(point.limits.upper_998)}",
                point.outlier.value if point.outlier else "",
            )
        console.print(table)
        adjusted = "applied" if result.overdispersion_applied else "not applied"
        console.print(
            f"target {_number(result.target)}; overdispersion φ {result.phi:.3f}, τ² {result.tau2:.5f} ({adjusted})"
            + (f"; chart written to {report.chart}" if report.chart else ""),
            highlight=False,
        )

    emit(fmt, report.document(), render)


# look-alike of the funnel command's service call above: declarative, each command's keyword options.
@command(workspace_option=False)
def spc(
    input_file: InputOption,
    improvement_direction: Annotated[
        ImprovementDirection, typer.Option("--improvement-direction", help="Which way is better for this measure")
    ] = ImprovementDirection.INCREASE,
    target: Annotated[float | None, typer.Option(help="Target, for the assurance icon")] = None,
    rebase: Annotated[
        list[str] | None, typer.Option("--rebase", help="Recalculate limits from this period (repeatable)")
    ] = None,
    fix_after: Annotated[int | None, typer.Option("--fix-after", help="Fix limits on each segment's first N")] = None,
    screen_outliers: Annotated[
        bool, typer.Option("--screen-outliers/--no-screen-outliers", help="Leave large moving ranges out of limits")
    ] = True,
    chart: ChartOption = None,
    title: TitleOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """SPC chart as NHS England's "Making Data Count" (XmR, as NHSRplotthedots): mean, process limits and each
    point's special-cause flags, from a file with columns period (YYYY-MM or YYYY-MM-DD), value."""
    report = statistics.spc_from_file(
        input_file,
        improvement_direction=improvement_direction,
        target=target,
        rebase=rebase or (),
        fix_after=fix_after,
        screen_outliers=screen_outliers,
        chart=chart,
        title=title,
    )
    result = report.result

    def render() -> None:
        table = Table("period", "value", "mean", "lower limit", "upper limit", "special cause", "variation")
        for point in result.points:
            table.add_row(
                point.period,
                _number(point.value),
                _number(point.mean),
                _number(point.lower_process_limit),
                _number(point.upper_process_limit),
                point.special_cause.value.replace("_", " ") if point.special_cause else "",
                "" if point.special_cause is None else point.point_type.value.replace("_", " "),
            )
        console.print(table)
        assurance = result.assurance.value.replace("_", " ") if result.assurance else "no target"
        console.print(
            f"variation: {result.variation.value.replace('_', ' ')}; assurance: {assurance}"
            + (f"; chart written to {report.chart}" if report.chart else ""),
            highlight=False,
        )
        print_warnings(report.warnings)

    emit(fmt, report.document(), render)
