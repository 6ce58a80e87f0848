"""Funnel plots and SPC charts in NHS style: SVG or PNG through matplotlib, interactive HTML through plotly with
plotly.js written into the page (no CDN: NHS networks often have none).

SPC points are coloured by variation as "Making Data Count" does (and NHSRplotthedots' palette): grey for common
cause, blue for special-cause improvement, orange for concern, purple for neutral special cause. Funnel points are
NHS blue, outliers orange and labelled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from outturn.domain.errors import BadInput
from outturn.stats.funnel import FunnelKind, FunnelPoint, FunnelResult
from outturn.stats.spc import SpcResult
from outturn.stats.spc_rules import PointType

if TYPE_CHECKING:  # matplotlib and plotly take a second to import: only drawing a chart loads them
    import plotly.graph_objects as go
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CHART_SUFFIXES = (".svg", ".png", ".html")

NHS_BLUE = "#005EB8"
NHS_DARK_BLUE = "#003087"
NHS_DARK_GREY = "#425563"
NHS_MID_GREY = "#768692"
NHS_ORANGE = "#ED8B00"
SPC_COLOURS = {  # NHSRplotthedots' ptd_spc_colours
    PointType.COMMON_CAUSE: "#7B7D7D",
    PointType.IMPROVEMENT: "#289DE0",
    PointType.CONCERN: "#FAB428",
    PointType.NEUTRAL_HIGH: "#361475",
    PointType.NEUTRAL_LOW: "#361475",
}
SPC_LABELS = {
    PointType.COMMON_CAUSE: "Common cause",
    PointType.IMPROVEMENT: "Special cause: improvement",
    PointType.CONCERN: "Special cause: concern",
    PointType.NEUTRAL_HIGH: "Special cause: neutral (high)",
    PointType.NEUTRAL_LOW: "Special cause: neutral (low)",
}
TARGET_RED = "#DE1B1B"
FUNNEL_CURVE_POINTS = 200
_RC: dict[Any, Any] = {"svg.fonttype": "none", "svg.hashsalt": "outturn", "font.family": "sans-serif", "font.size": 9}
_PNG_DPI = 150


def check_chart_path(path: Path) -> None:
    """Refuse, before any work, a chart file whose type we cannot write."""
    if path.suffix.lower() not in CHART_SUFFIXES:
        raise BadInput(f"a chart must be .svg, .png or .html: {path.name}")


def _funnel_curve(result: FunnelResult) -> tuple[list[float], np.ndarray]:
    denominators = [point.denominator for point in result.points]
    low, high = min(denominators), max(denominators)
    grid = np.geomspace(max(low / 2, 1e-9), high * 1.05, FUNNEL_CURVE_POINTS)
    limits = result.limits_at(list(grid))
    columns = np.array([[limit.lower_95, limit.upper_95, limit.lower_998, limit.upper_998] for limit in limits]).T
    return [float(x) for x in grid], columns


def _funnel_title(result: FunnelResult, title: str | None) -> str:
    adjustment = "overdispersion-adjusted" if result.overdispersion_applied else "unadjusted"
    return title or f"Funnel plot: {result.kind.value} ({adjustment} limits)"


def _x_label(result: FunnelResult) -> str:
    return "Expected" if result.kind is FunnelKind.RATIO else "Denominator"


def _save(figure: Figure, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    if path.suffix.lower() == ".png":
        figure.savefig(path, format="png", dpi=_PNG_DPI, metadata={"Software": "outturn"})
    else:
        figure.savefig(path, format="svg", metadata={"Date": None, "Creator": "outturn"})
    return path


def _draw_funnel(axes: Axes, result: FunnelResult) -> None:
    grid, limits = _funnel_curve(result)
    axes.axhline(result.target, color=NHS_DARK_GREY, linewidth=1, label=f"Target {result.target:.4g}")
    for row, style, label in ((0, "--", "95% limits"), (2, "-", "99.8% limits")):
        axes.plot(grid, limits[row], style, color=NHS_BLUE, linewidth=1, label=label)
        axes.plot(grid, limits[row + 1], style, color=NHS_BLUE, linewidth=1)
    inside = [point for point in result.points if point.outlier is None]
    outliers = [point for point in result.points if point.outlier is not None]
    for points, colour, gid, label in (
        (inside, NHS_BLUE, "funnel-points", "Within limits"),
        (outliers, NHS_ORANGE, "funnel-outliers", "Outlier"),
    ):
        if points:
            scatter = axes.scatter(
                [p.denominator for p in points], [p.value for p in points], s=22, color=colour, label=label, zorder=3
            )
            scatter.set_gid(gid)
    for point in outliers:
        axes.annotate(point.group, (point.denominator, point.value), xytext=(4, 4), textcoords="offset points")


R = TypeVar("R")
ChartWriter = Callable[[R, Path, str | None], Path]  # a result, the file to write and a title -> the file written


def _write_chart(path: Path, html: ChartWriter[R], image: ChartWriter[R]) -> ChartWriter[R]:
    """The writer for the chart file's suffix (``.html`` interactive, else an image), once the path is checked."""
    check_chart_path(path)
    return html if path.suffix.lower() == ".html" else image


def _funnel_png_svg(result: FunnelResult, path: Path, title: str | None) -> Path:
    import matplotlib as mpl
    from matplotlib.figure import Figure

    with mpl.rc_context(_RC):
        figure = Figure(figsize=(9, 5))
        axes = figure.add_subplot()
        _draw_funnel(axes, result)
        axes.set_title(_funnel_title(result, title), color=NHS_DARK_BLUE, loc="left")
        axes.set_xlabel(_x_label(result))
        axes.set_ylabel(result.kind.value.capitalize())
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        return _save(figure, path)


def _hover(point: FunnelPoint) -> str:
    flag = f"<br>outlier ({point.outlier.value})" if point.outlier else ""
    return (
        f"{point.group}<br>{point.numerator:g} / {point.denominator:g}<br>value {point.value:.4g}"
        f"<br>z {point.z:.2f}{flag}"
    )


def _write_html(figure: go.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.update_layout(template="simple_white", font={"family": "Arial, sans-serif"})
    figure.write_html(path, include_plotlyjs=True, full_html=True, config={"displaylogo": False})
    return path


def _funnel_html(result: FunnelResult, path: Path, title: str | None) -> Path:
    import plotly.graph_objects as go

    grid, limits = _funnel_curve(result)
    figure = go.Figure()
    for row, dash, label in ((0, "dash", "95% limits"), (2, "solid", "99.8% limits")):
        for offset in (0, 1):
            figure.add_trace(
                go.Scatter(
                    x=grid,
                    y=limits[row + offset],
                    mode="lines",
                    line={"color": NHS_BLUE, "dash": dash, "width": 1},
                    name=label,
                    showlegend=offset == 0,
                    hoverinfo="skip",
                )
            )
    figure.add_hline(y=result.target, line={"color": NHS_DARK_GREY, "width": 1})
    for outlying, colour, label in ((False, NHS_BLUE, "Within limits"), (True, NHS_ORANGE, "Outlier")):
        points = [point for point in result.points if (point.outlier is not None) == outlying]
        figure.add_trace(
            go.Scatter(
                x=[p.denominator for p in points],
                y=[p.value for p in points],
                mode="markers",
                marker={"color": colour, "size": 8},
                name=label,
                text=[_hover(p) for p in points],
                customdata=[p.group for p in points],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    figure.update_layout(
        title=_funnel_title(result, title), xaxis_title=_x_label(result), yaxis_title=result.kind.value.capitalize()
    )
    return _write_html(figure, path)


def write_funnel_chart(result: FunnelResult, path: Path, title: str | None = None) -> Path:
    """The funnel plot as ``.svg``, ``.png`` or ``.html`` (chosen by the file's suffix)."""
    return _write_chart(path, _funnel_html, _funnel_png_svg)(result, path, title)


def _segment_lines(result: SpcResult) -> list[tuple[list[int], float, float, float]]:
    """Per segment: its x positions, mean and process limits."""
    lines, start = [], 0
    for segment in result.segments:
        positions = list(range(start, start + segment.points))
        lines.append((positions, segment.mean, segment.lower_process_limit, segment.upper_process_limit))
        start += segment.points
    return lines


def _spc_title(result: SpcResult, title: str | None) -> str:
    assurance = f"; assurance: {result.assurance.value.replace('_', ' ')}" if result.assurance else ""
    return title or f"SPC chart — variation: {SPC_LABELS[result.variation].lower()}{assurance}"


def _tick_positions(labels: Sequence[str]) -> list[int]:
    step = max(1, len(labels) // 12)
    return list(range(0, len(labels), step))


def _spc_png_svg(result: SpcResult, path: Path, title: str | None) -> Path:
    import matplotlib as mpl
    from matplotlib.figure import Figure

    labels = [point.period for point in result.points]
    with mpl.rc_context(_RC):
        figure = Figure(figsize=(9, 5))
        axes = figure.add_subplot()
        axes.plot(range(len(labels)), [p.value for p in result.points], color=SPC_COLOURS[PointType.COMMON_CAUSE])
        for index, (positions, mean, lower, upper) in enumerate(_segment_lines(result)):
            first = index == 0
            axes.plot(positions, [mean] * len(positions), color="black", linewidth=1, label="Mean" if first else None)
            for limit in (lower, upper):
                axes.plot(
                    positions,
                    [limit] * len(positions),
                    "--",
                    color=NHS_MID_GREY,
                    linewidth=1,
                    label="Process limits" if first and limit == lower else None,
                )
        if result.target is not None:
            axes.axhline(result.target, color=TARGET_RED, linestyle=":", linewidth=1.2, label="Target")
        for kind in PointType:
            positions = [i for i, p in enumerate(result.points) if p.point_type is kind]
            if positions:
                values = [result.points[i].value for i in positions]
                scatter = axes.scatter(
                    positions, values, s=26, color=SPC_COLOURS[kind], zorder=3, label=SPC_LABELS[kind]
                )
                scatter.set_gid(f"spc-{kind.value}")
        ticks = _tick_positions(labels)
        axes.set_xticks(ticks, [labels[i] for i in ticks], rotation=90)
        axes.set_title(_spc_title(result, title), color=NHS_DARK_BLUE, loc="left")
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        return _save(figure, path)


def _spc_html(result: SpcResult, path: Path, title: str | None) -> Path:
    import plotly.graph_objects as go

    labels = [point.period for point in result.points]
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=labels,
            y=[p.value for p in result.points],
            mode="lines",
            name="Value",
            line={"color": SPC_COLOURS[PointType.COMMON_CAUSE]},
            hoverinfo="skip",
        )
    )
    for index, (positions, mean, lower, upper) in enumerate(_segment_lines(result)):
        x = [labels[i] for i in positions]
        for level, dash, name in (
            (mean, "solid", "Mean"),
            (lower, "dash", "Lower limit"),
            (upper, "dash", "Upper limit"),
        ):
            figure.add_trace(
                go.Scatter(
                    x=x,
                    y=[level] * len(x),
                    mode="lines",
                    name=name,
                    showlegend=index == 0,
                    line={"color": "black" if name == "Mean" else NHS_MID_GREY, "dash": dash, "width": 1},
                )
            )
    if result.target is not None:
        figure.add_hline(y=result.target, line={"color": TARGET_RED, "dash": "dot"}, annotation_text="Target")
    for kind in PointType:
        chosen = [p for p in result.points if p.point_type is kind]
        if chosen:
            figure.add_trace(
                go.Scatter(
                    x=[p.period for p in chosen],
                    y=[p.value for p in chosen],
                    mode="markers",
                    marker={"color": SPC_COLOURS[kind], "size": 8},
                    name=SPC_LABELS[kind],
                    text=[(p.special_cause or "common cause").replace("_", " ") for p in chosen],
                    hovertemplate="%{x}: %{y}<br>%{text}<extra></extra>",
                )
            )
    figure.update_layout(title=_spc_title(result, title), xaxis={"type": "category"})
    return _write_html(figure, path)


def write_spc_chart(result: SpcResult, path: Path, title: str | None = None) -> Path:
    """The SPC chart as ``.svg``, ``.png`` or ``.html`` (chosen by the file's suffix)."""
    return _write_chart(path, _spc_html, _spc_png_svg)(result, path, title)
