"""Funnel plots and SPC charts from a CSV or XLSX file: read and check it, compute, optionally draw a chart.

A file with any fault computes nothing and names every fault by file, row and column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outturn.domain.errors import BadInput
from outturn.ingest.statistics import Series, read_funnel_groups, read_series
from outturn.reports import charts  # matplotlib and plotly load only when a chart is drawn (charts imports them lazily)
from outturn.stats.funnel import (
    FunnelKind,
    FunnelLimits,
    FunnelPoint,
    FunnelResult,
    OutlierLimit,
    RatioMethod,
    funnel,
)
from outturn.stats.spc import RECOMMENDED_POINTS, SpcPoint, SpcResult, SpcSegment, spc
from outturn.stats.spc_rules import ImprovementDirection

__all__ = [
    "FunnelKind",
    "FunnelReport",
    "ImprovementDirection",
    "OutlierLimit",
    "RatioMethod",
    "SpcReport",
    "funnel_from_file",
    "spc_from_file",
]


def _spc_warnings(series: Series, result: SpcResult) -> tuple[str, ...]:
    warnings = [
        f"{segment.first_period} to {segment.last_period}: {segment.points} points; limits from fewer than "
        f"{RECOMMENDED_POINTS} are unreliable"
        for segment in result.segments
        if segment.short
    ]
    missing = series.missing_months()
    if missing:
        warnings.append(f"the series skips {len(missing)} month(s): {', '.join(missing[:6])}")
    return tuple(warnings)


def _limits_document(limits: FunnelLimits) -> dict[str, float]:
    return {name: float(value) for name, value in vars(limits).items()}


def _funnel_point_document(point: FunnelPoint) -> dict[str, Any]:
    return {
        "group": point.group,
        "numerator": float(point.numerator),
        "denominator": float(point.denominator),
        "value": point.value,
        "z": point.z,
        "z_adjusted": point.z_adjusted,
        **_limits_document(point.limits),
        "outlier": point.outlier.value if point.outlier else None,
        "outside_95": point.outside_95.value if point.outside_95 else None,
        "outside_998": point.outside_998.value if point.outside_998 else None,
    }


@dataclass(frozen=True)
class FunnelReport:
    source: str
    result: FunnelResult
    chart: Path | None

    def document(self) -> dict[str, Any]:
        result = self.result
        return {
            "source": self.source,
            "type": result.kind.value,
            "ratio_method": result.ratio_method.value if result.ratio_method else None,
            "scale": result.scale,
            "target": result.target,
            "multiplier": result.multiplier,
            "groups": len(result.points),
            "outlier_limit": result.outlier_limit.value,
            "overdispersion": {
                "requested": result.overdispersion_requested,
                "applied": result.overdispersion_applied,
                "phi": result.phi,
                "tau2": result.tau2,
                "groups_in_phi": result.groups_in_phi,
                "trim": result.trim,
            },
            "outliers": {"high": _count(result, "high"), "low": _count(result, "low")},
            "points": [_funnel_point_document(point) for point in result.points],
            "chart": str(self.chart) if self.chart else None,
        }


def _count(result: FunnelResult, side: str) -> int:
    return sum(1 for point in result.points if point.outlier is not None and point.outlier.value == side)


def funnel_from_file(
    path: Path,
    kind: FunnelKind,
    *,
    overdispersion: bool = True,
    ratio_method: RatioMethod = RatioMethod.SHMI,
    outlier_limit: OutlierLimit = OutlierLimit.LIMIT_998,
    multiplier: float = 1.0,
    chart: Path | None = None,
    title: str | None = None,
) -> FunnelReport:
    """The funnel plot of the groups in ``path``, drawn to ``chart`` (.svg, .png or .html) when given."""
    if chart is not None:
        charts.check_chart_path(chart)
    if not multiplier > 0:
        raise BadInput("the multiplier must be greater than 0")
    groups = read_funnel_groups(path, kind, ratio_method)
    result = funnel(
        groups,
        kind,
        overdispersion=overdispersion,
        ratio_method=ratio_method,
        outlier_limit=outlier_limit,
        multiplier=multiplier,
    )
    written = charts.write_funnel_chart(result, chart, title) if chart is not None else None
    return FunnelReport(path.name, result, written)


# look-alike of the other document builders (reports/contracts.py): declarative, one JSON field per attribute.
def _segment_document(segment: SpcSegment) -> dict[str, Any]:
    return {
        "first_period": segment.first_period,
        "last_period": segment.last_period,
        "points": segment.points,
        "mean": segment.mean,
        "mean_moving_range": segment.mean_moving_range,
        "moving_ranges_screened_out": segment.moving_ranges_screened_out,
        "lower_process_limit": segment.lower_process_limit,
        "upper_process_limit": segment.upper_process_limit,
    }


def _spc_point_document(point: SpcPoint) -> dict[str, Any]:
    return {
        "period": point.period,
        "value": point.value,
        "segment": point.segment,
        "mean": point.mean,
        "lower_process_limit": point.lower_process_limit,
        "upper_process_limit": point.upper_process_limit,
        "outside_limits": point.outside_limits,
        "run_of_seven": point.run_of_seven,
        "trend_of_seven": point.trend_of_seven,
        "two_of_three": point.two_of_three,
        "special_cause": point.special_cause.value if point.special_cause else None,
        "point_type": point.point_type.value,
    }


# look-alike of reports/backtest.py:backtest_document (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class SpcReport:
    source: str
    result: SpcResult
    chart: Path | None
    warnings: tuple[str, ...]

    def document(self) -> dict[str, Any]:
        result = self.result
        latest = result.latest_segment
        return {
            "source": self.source,
            "improvement_direction": result.improvement_direction.value,
            "target": result.target,
            "screen_outliers": result.screen_outliers,
            "fix_after": result.fix_after,
            "mean": latest.mean,
            "lower_process_limit": latest.lower_process_limit,
            "upper_process_limit": latest.upper_process_limit,
            "variation": result.variation.value,
            "assurance": result.assurance.value if result.assurance else None,
            "segments": [_segment_document(segment) for segment in result.segments],
            "points": [_spc_point_document(point) for point in result.points],
            "warnings": list(self.warnings),
            "chart": str(self.chart) if self.chart else None,
        }


def spc_from_file(
    path: Path,
    *,
    improvement_direction: ImprovementDirection = ImprovementDirection.INCREASE,
    target: float | None = None,
    rebase: Sequence[str] = (),
    fix_after: int | None = None,
    screen_outliers: bool = True,
    chart: Path | None = None,
    title: str | None = None,
) -> SpcReport:
    """The XmR chart of the series in ``path``, drawn to ``chart`` (.svg, .png or .html) when given."""
    if chart is not None:
        charts.check_chart_path(chart)
    series = read_series(path)
    result = spc(
        series.periods,
        series.values,
        improvement_direction=improvement_direction,
        target=target,
        rebase_at=series.positions_of(rebase),
        fix_after=fix_after,
        screen_outliers=screen_outliers,
    )
    written = charts.write_spc_chart(result, chart, title) if chart is not None else None
    return SpcReport(path.name, result, written, _spc_warnings(series, result))
