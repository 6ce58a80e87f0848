"""The board pack's charts as inline SVG text (matplotlib): the bridge as a waterfall, the risk fan chart and
tornado, the forecast methods' back-test, and the funnel plots and SPC charts of ``reports/charts.py``.

Text stays text in the SVG (``svg.fonttype: none``), so it prints sharply and can be searched in the PDF. Element
ids are hashed from their content with a fixed salt, so two charts in one page never clash and the same figures
give the same SVG.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outturn.domain.backtest import BACKTEST_MONTHS, TOTAL
from outturn.domain.position import BridgeStep
from outturn.reports.backtest import backtest_chart_title
from outturn.reports.charts import (
    NHS_BLUE,
    NHS_DARK_BLUE,
    NHS_DARK_GREY,
    NHS_ORANGE,
    TARGET_RED,
    write_funnel_chart,
    write_spc_chart,
)
from outturn.stats.funnel import FunnelResult
from outturn.stats.spc import SpcResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

FAVOURABLE = "#009639"  # NHS green
ADVERSE = "#DA291C"  # NHS red
PENCE_PER_MILLION = 100_000_000
_RC: dict[Any, Any] = {"svg.fonttype": "none", "svg.hashsalt": "outturn", "font.family": "sans-serif", "font.size": 9}
_PROLOG = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_SIZE = re.compile(r'<svg([^>]*?)\swidth="[^"]*"\s+height="[^"]*"')


def inline_svg(text: str) -> str:
    """An SVG document as an element to put in HTML: no XML prolog, width 100% (height from the viewBox)."""
    element = _PROLOG.sub("", text, count=1)
    return _SIZE.sub(r'<svg\1 width="100%"', element, count=1)


def _figure_svg(draw: Callable[[Axes], None], size: tuple[float, float]) -> str:
    import matplotlib as mpl
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with mpl.rc_context(_RC):
        figure: Figure = Figure(figsize=size)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        draw(axes)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "outturn"})
    return inline_svg(buffer.getvalue())


def _millions(pence: float) -> float:
    return pence / PENCE_PER_MILLION


def _chart_number(value: float) -> str:
    """£m to one place for a chart label, negatives in brackets as in the tables: ``(3.2)``."""
    return f"({-value:,.1f})" if value < 0 else f"{value:,.1f}"


def _money_axis(axes: Axes, axis: str = "y") -> None:
    from matplotlib.ticker import FuncFormatter

    formatter = FuncFormatter(lambda value, _position: f"£{value:,.0f}m" if value >= 0 else f"(£{-value:,.0f}m)")
    (axes.yaxis if axis == "y" else axes.xaxis).set_major_formatter(formatter)


def waterfall_svg(bridge: Sequence[BridgeStep], title: str) -> str:
    """The position's bridge (``kind`` start, step, subtotal, end) as a waterfall: totals as bars from zero in
    blue, steps floating from the running total before them, green when they help the surplus and red when they
    hurt it."""

    def draw(axes: Axes) -> None:
        labels = [step.label for step in bridge]
        for index, step in enumerate(bridge):
            running, pence = _millions(step.running_pence), _millions(step.pence)
            if step.kind in ("start", "subtotal", "end"):
                colour = NHS_BLUE if step.kind != "end" else NHS_DARK_BLUE
                axes.bar(index, running, color=colour, width=0.7)
                value, low, high = running, min(running, 0), max(running, 0)
            else:
                axes.bar(index, pence, bottom=running - pence, color=FAVOURABLE if pence >= 0 else ADVERSE, width=0.7)
                value, low, high = pence, min(running, running - pence), max(running, running - pence)
            below = value < 0
            axes.annotate(
                _chart_number(value),
                (index, low if below else high),
                xytext=(0, -2 if below else 2),
                textcoords="offset points",
                ha="center",
                va="top" if below else "bottom",
                fontsize=7,
            )
        axes.axhline(0, color=NHS_DARK_GREY, linewidth=0.8)
        axes.margins(y=0.12)
        axes.set_xticks(range(len(labels)), [_wrap(label) for label in labels], rotation=45, ha="right", fontsize=7)
        axes.set_ylabel("Surplus/(deficit), £m")
        _money_axis(axes)
        axes.set_title(title, color=NHS_DARK_BLUE, loc="left", pad=12)

    return _figure_svg(draw, (9, 5.2))


def _wrap(label: str, width: int = 24) -> str:
    words, lines, line = label.split(), [], ""
    for word in words:
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


def _year_end_axes(axes: Axes, x: list[int], labels: list[str], title: str) -> None:
    """The month axis, the £m year-end surplus/(deficit) axis, the legend to the right and the title: the fan
    chart's and the forecast drift chart's."""
    axes.set_xticks(x, labels)
    axes.set_ylabel("Year-end surplus/(deficit), £m")
    _money_axis(axes)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    axes.set_title(title, color=NHS_DARK_BLUE, loc="left")


def fan_svg(fan: Sequence[Mapping[str, Any]], control_total_pence: int, forecast_surplus_pence: int, title: str) -> str:
    """The simulated year-end surplus as the months resolve: P10-P90 and P25-P75 bands and the P50 line, from
    the forecast at the as-at month; the control total as a red line."""

    def draw(axes: Axes) -> None:
        months = ["Now", *(str(point["month"]) for point in fan)]
        x = list(range(len(months)))
        start = _millions(forecast_surplus_pence)

        def series(key: str) -> list[float]:
            return [start, *(_millions(point[key]) for point in fan)]

        axes.fill_between(x, series("p10_pence"), series("p90_pence"), color=NHS_BLUE, alpha=0.18, label="P10 to P90")
        axes.fill_between(x, series("p25_pence"), series("p75_pence"), color=NHS_BLUE, alpha=0.35, label="P25 to P75")
        axes.plot(x, series("p50_pence"), color=NHS_DARK_BLUE, linewidth=1.5, label="P50")
        axes.axhline(
            _millions(control_total_pence), color=TARGET_RED, linestyle="--", linewidth=1.2, label="Control total"
        )
        _year_end_axes(axes, x, months, title)

    return _figure_svg(draw, (9, 4.2))


def tornado_svg(tornado: Sequence[Mapping[str, Any]], title: str) -> str:
    """Each driver's P50 of the year-end surplus at its own P10 and P90, widest swing at the top."""

    def draw(axes: Axes) -> None:
        bars = list(reversed(tornado))
        for index, bar in enumerate(bars):
            low, high = _millions(bar["p50_low_pence"]), _millions(bar["p50_high_pence"])
            axes.barh(index, high - low, left=low, color=NHS_BLUE, height=0.6)
        axes.set_yticks(range(len(bars)), [str(bar["driver"]) for bar in bars], fontsize=7)
        axes.set_xlabel("P50 of the year-end surplus/(deficit) with the driver at its P10 and P90, £m")
        _money_axis(axes, "x")
        axes.set_title(title, color=NHS_DARK_BLUE, loc="left")

    return _figure_svg(draw, (9, max(2.5, 0.35 * len(tornado) + 1.2)))


METHOD_COLOURS = (NHS_BLUE, NHS_ORANGE, FAVOURABLE, NHS_DARK_GREY, "#7C2855", NHS_DARK_BLUE)  # + NHS plum


def backtest_svg(by_month: Sequence[Mapping[str, Any]], as_at_month: str, title: str) -> str:
    """How far out each method was at each month of the past years: the total's mean absolute percentage error
    at M01 to M11 (``forecast backtest``'s ``by_month`` rows for the ``total``), one line per method, and a
    dashed line at the as-at month (M12 marks M11, the month ``auto`` compares at then)."""
    months = [f"M{number:02d}" for number in BACKTEST_MONTHS]
    total = [item for item in by_month if item["category"] == TOTAL]
    methods = list(dict.fromkeys(str(item["method"]) for item in total))

    def draw(axes: Axes) -> None:
        for index, method in enumerate(methods):
            mape = {item["month"]: item["mape_percent"] for item in total if item["method"] == method}
            values = [float("nan") if mape.get(month) is None else float(mape[month]) for month in months]
            colour = METHOD_COLOURS[index % len(METHOD_COLOURS)]
            axes.plot(range(len(months)), values, marker="o", markersize=3, linewidth=1.5, color=colour, label=method)
        marked = months.index(as_at_month) if as_at_month in months else len(months) - 1
        axes.axvline(marked, color=TARGET_RED, linestyle="--", linewidth=1.0, label=f"as at {as_at_month}")
        axes.set_xticks(range(len(months)), months)
        axes.set_ylim(bottom=0)
        axes.set_xlabel("Month of the year the forecast was made")
        axes.set_ylabel("Mean absolute error, % of outturn")
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        axes.set_title(title, color=NHS_DARK_BLUE, loc="left")

    return _figure_svg(draw, (9, 4.2))


def backtest_chart(document: Mapping[str, Any], *, synthetic: bool) -> str | None:
    """The total's mean absolute percentage error by month, one line per method, as inline SVG; None when no
    past year was back-tested."""
    if not document["rows"]:
        return None
    return backtest_svg(document["by_month"], document["month"], backtest_chart_title(document, synthetic=synthetic))


def _via_file(write: Callable[[Path], Path]) -> str:
    with tempfile.TemporaryDirectory(prefix="outturn-chart-") as folder:
        path = write(Path(folder) / "chart.svg")
        return inline_svg(path.read_text(encoding="utf-8"))


def funnel_svg(result: FunnelResult, title: str) -> str:
    """``reports.charts``' funnel plot, inline."""
    return _via_file(lambda path: write_funnel_chart(result, path, title))


def spc_svg(result: SpcResult, title: str) -> str:
    """``reports.charts``' SPC chart, inline."""
    return _via_file(lambda path: write_spc_chart(result, path, title))


def drift_svg(months: Sequence[Mapping[str, Any]], title: str) -> str:
    """Forecast drift: the forecast surplus/(deficit) recorded at each month-end close (``outturn position
    history``'s months), against the control total as a red line."""

    def draw(axes: Axes) -> None:
        labels = [str(month["month"]) for month in months]
        x = list(range(len(labels)))
        surplus = [_millions(month["forecast_surplus_pence"]) for month in months]
        axes.plot(x, surplus, color=NHS_DARK_BLUE, marker="o", linewidth=1.5, label="Forecast surplus/(deficit)")
        axes.step(
            x,
            [_millions(month["control_total_pence"]) for month in months],
            where="mid",
            color=TARGET_RED,
            linestyle="--",
            linewidth=1.2,
            label="Control total",
            zorder=3,
        )
        for index, value in enumerate(surplus):
            axes.annotate(_chart_number(value), (index, value), xytext=(0, 5), textcoords="offset points", ha="center")
        axes.axhline(0, color=NHS_DARK_GREY, linewidth=0.6, zorder=1)
        axes.margins(x=0.08, y=0.2)
        _year_end_axes(axes, x, labels, title)

    return _figure_svg(draw, (9, 3.8))


def drift_chart(history: Mapping[str, Any]) -> str | None:
    """``outturn position history``'s document as the forecast drift chart; None before the first close."""
    if not history["months"]:
        return None
    title = f"Forecast surplus/(deficit) at each month-end close, {history['financial_year']} (£m)"
    return drift_svg(history["months"], title)
