"""The position's monthly spend charts as inline SVG (matplotlib, the pack's style): for one series, budget
against actual by month with the forecast months to M12 (left), and both cumulated, the spend ending at the
forecast outturn (right)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from outturn.domain.monthly_spend import SpendSeries
from outturn.reports.charts import NHS_BLUE, NHS_DARK_BLUE, NHS_DARK_GREY, NHS_ORANGE
from outturn.reports.pack_charts import _RC, inline_svg

if TYPE_CHECKING:
    from matplotlib.axes import Axes

PENCE_PER_MILLION = 100_000_000
BUDGET_GREY = "#AEB7BD"
MONTH_TICKS = [f"M{month:02d}" for month in range(1, 13)]


def _money_axis(axes: Axes) -> None:
    """£m to one place on the y axis (a month's spend is often under £1m), negatives in brackets."""
    from matplotlib.ticker import FuncFormatter

    formatter = FuncFormatter(lambda value, _position: f"£{value:,.1f}m" if value >= 0 else f"(£{-value:,.1f}m)")
    axes.yaxis.set_major_formatter(formatter)


def _millions(pence: int) -> float:
    return pence / PENCE_PER_MILLION  # for drawing only: every figure shown as text is formatted from pence


def _monthly(axes: Axes, series: SpendSeries) -> None:
    x = list(range(12))
    width = 0.4
    axes.bar(
        [i - width / 2 for i in x],
        [_millions(m.budget_pence) for m in series.months],
        width,
        color=BUDGET_GREY,
        label="Budget",
    )
    actual = [_millions(m.actual_pence) if m.actual_pence is not None else 0.0 for m in series.months]
    forecast = [_millions(m.forecast_pence) if m.forecast_pence is not None else 0.0 for m in series.months]
    axes.bar([i + width / 2 for i in x], actual, width, color=NHS_DARK_BLUE, label="Actual")
    axes.bar(
        [i + width / 2 for i in x], forecast, width, color="white", edgecolor=NHS_ORANGE, hatch="///", label="Forecast"
    )
    axes.set_xticks(x, MONTH_TICKS)
    axes.set_title("By month", color=NHS_DARK_BLUE, loc="left")
    _money_axis(axes)


def _cumulative(axes: Axes, series: SpendSeries) -> None:
    x = list(range(12))
    budget = [_millions(pence) for pence in series.cumulative_budget_pence]
    spend = [_millions(pence) for pence in series.cumulative_spend_pence]
    done = series.as_at_month
    axes.plot(x, budget, color=NHS_DARK_GREY, linewidth=1.2, label="Budget")
    axes.plot(x[:done], spend[:done], color=NHS_DARK_BLUE, marker="o", markersize=3, linewidth=1.6, label="Actual")
    if done < 12:
        start = max(done - 1, 0)
        axes.plot(x[start:], spend[start:], color=NHS_ORANGE, linestyle="--", linewidth=1.6, label="Forecast to M12")
    axes.axvline(done - 0.5, color=NHS_BLUE, linewidth=0.6, linestyle=":")
    axes.set_xticks(x, MONTH_TICKS)
    axes.set_title("Cumulative", color=NHS_DARK_BLUE, loc="left")
    _money_axis(axes)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False, ncols=3)


def spend_svg(series: SpendSeries, title: str) -> str:
    """One series' monthly and cumulative charts side by side, as an SVG element."""
    import matplotlib as mpl
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with mpl.rc_context(_RC):
        figure = Figure(figsize=(10, 3.8))
        FigureCanvasAgg(figure)
        monthly, cumulative = figure.subplots(1, 2)
        _monthly(monthly, series)
        _cumulative(cumulative, series)
        for axes in (monthly, cumulative):
            axes.spines[["top", "right"]].set_visible(False)
        monthly.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False, ncols=3)
        figure.suptitle(title, color=NHS_DARK_BLUE, x=0.01, ha="left")
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "outturn"})
    return inline_svg(buffer.getvalue())
