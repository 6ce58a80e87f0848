"""Funnel plots and SPC charts from a CSV or XLSX file: read and check it, compute, optionally draw a chart.

A file with any fault computes nothing and names every fault by file, row and column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from outturn.domain.errors import BadInput
from outturn.domain.problems import Problem, ProblemsError
from outturn.ingest.tables import RawTable, RowReader, read_table, text_of
from outturn.reports import charts  # matplotlib and plotly load only when a chart is drawn (charts imports them lazily)
from outturn.stats.funnel import (
    FunnelGroup,
    FunnelKind,
    FunnelLimits,
    FunnelPoint,
    FunnelResult,
    OutlierLimit,
    RatioMethod,
    funnel,
)
from outturn.stats.spc import MINIMUM_POINTS, RECOMMENDED_POINTS, SpcPoint, SpcResult, SpcSegment, spc
from outturn.stats.spc_rules import ImprovementDirection

_NUMBER = re.compile(r"[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_number(text: str) -> float:
    """``1234``, ``1,234.5``, ``-0.25``, ``1e-3``; never ``nan``, ``inf`` or an ambiguous ``1,23``."""
    cleaned = text.strip()
    if not _NUMBER.fullmatch(cleaned):
        raise BadInput(f"not a number: {text!r}")
    number = float(cleaned.replace(",", ""))
    if not math.isfinite(number):
        raise BadInput(f"not a finite number: {text!r}")
    return number


def parse_period(cell: object) -> tuple[date, str]:
    """A month ``YYYY-MM`` (its first day) or an ISO date ``YYYY-MM-DD`` (or a spreadsheet date), with its label."""
    if isinstance(cell, datetime):
        cell = cell.date()
    if isinstance(cell, date):
        return cell, cell.isoformat()
    text = text_of(cell)
    month = _MONTH.fullmatch(text)
    try:
        if month is not None:
            year, number = int(month.group(1)), int(month.group(2))
            return date(year, number, 1), f"{year:04d}-{number:02d}"
        if _ISO_DATE.fullmatch(text):
            return date.fromisoformat(text), text
    except ValueError:
        pass
    raise BadInput(f"not a period: {text!r} (expected YYYY-MM, e.g. 2025-11, or a date YYYY-MM-DD)")


def _number(reader: RowReader, column: str) -> float | None:
    return reader.parse(column, parse_number)


def _funnel_row(reader: RowReader, kind: FunnelKind, ratio_method: RatioMethod) -> FunnelGroup | None:
    group = reader.text("group")
    if not group:
        reader.fault("a group name is required", "group")
    numerator, denominator = _number(reader, "numerator"), _number(reader, "denominator")
    if numerator is not None and numerator < 0:
        reader.fault("the numerator cannot be negative", "numerator")
    if denominator is not None and denominator <= 0:
        reader.fault("the denominator must be greater than 0", "denominator")
    if (
        kind is FunnelKind.PROPORTION
        and numerator is not None
        and denominator is not None
        and 0 < denominator < numerator
    ):
        reader.fault(f"a proportion's numerator ({numerator:g}) exceeds its denominator ({denominator:g})", "numerator")
    if kind is FunnelKind.RATIO and ratio_method is RatioMethod.SHMI and numerator == 0:
        reader.fault(
            "observed is 0: the SHMI method's log scale needs at least 1 (use --ratio-method cqc)", "numerator"
        )
    if reader.problems or numerator is None or denominator is None:
        return None
    return FunnelGroup(group, numerator, denominator)


def read_funnel_groups(path: Path, kind: FunnelKind, ratio_method: RatioMethod = RatioMethod.SHMI) -> list[FunnelGroup]:
    """Groups from a ``group, numerator, denominator`` file; every fault found is raised together."""
    table = read_table(path, required=("group", "numerator", "denominator"))
    groups: list[FunnelGroup] = []
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    for number, cells in table.rows:
        reader = RowReader(table, number, cells)
        found = _funnel_row(reader, kind, ratio_method)
        name = reader.text("group")
        if name and name in first_row:
            reader.fault(f"group {name!r} appears more than once (first on row {first_row[name]})", "group")
        first_row.setdefault(name, number)
        problems.extend(reader.problems)
        if found is not None and not reader.problems:
            groups.append(found)
    if not problems and len(groups) < 2:
        problems.append(table.problem(f"a funnel plot needs at least 2 groups; found {len(groups)}"))
    if not problems and kind is not FunnelKind.RATIO and sum(group.numerator for group in groups) == 0:
        problems.append(table.problem("every numerator is 0: there is nothing to compare", column="numerator"))
    if problems:
        raise ProblemsError(problems, f"cannot draw a funnel plot from {path.name}")
    return groups


@dataclass(frozen=True)
class Series:
    """Values in period order, with the dates that order them."""

    source: str
    dates: tuple[date, ...]
    periods: tuple[str, ...]
    values: tuple[float, ...]


def _series_rows(table: RawTable) -> tuple[list[tuple[date, str, float]], list[Problem]]:
    rows: list[tuple[date, str, float]] = []
    problems: list[Problem] = []
    first_row: dict[date, int] = {}
    for number, cells in table.rows:
        reader = RowReader(table, number, cells)
        period: tuple[date, str] | None = None
        try:
            period = parse_period(cells.get("period"))
        except ValueError as error:
            reader.fault(str(error), "period")
        value = _number(reader, "value")
        if period is not None and period[0] in first_row:
            reader.fault(f"period {period[1]} appears more than once (first on row {first_row[period[0]]})", "period")
        elif period is not None:
            first_row[period[0]] = number
        problems.extend(reader.problems)
        if period is not None and value is not None and not reader.problems:
            rows.append((period[0], period[1], value))
    return rows, problems


def read_series(path: Path) -> Series:
    """A ``period, value`` file (any row order); every fault found is raised together."""
    table = read_table(path, required=("period", "value"))
    rows, problems = _series_rows(table)
    if not problems and len(rows) < MINIMUM_POINTS:
        problems.append(table.problem(f"an SPC chart needs at least {MINIMUM_POINTS} points; found {len(rows)}"))
    if problems:
        raise ProblemsError(problems, f"cannot draw an SPC chart from {path.name}")
    rows.sort()
    return Series(
        table.source,
        tuple(row[0] for row in rows),
        tuple(row[1] for row in rows),
        tuple(row[2] for row in rows),
    )


def _rebase_positions(series: Series, rebase: Sequence[str]) -> list[int]:
    positions = []
    for text in rebase:
        when, label = parse_period(text)
        if when not in series.dates:
            raise BadInput(f"rebase at {label}: {series.source} has no such period")
        positions.append(series.dates.index(when))
    return positions


def _missing_months(series: Series) -> list[str]:
    """Months absent from a series of months (YYYY-MM labels); none for dated series."""
    if not all(_MONTH.fullmatch(period) for period in series.periods):
        return []
    present = {(when.year, when.month) for when in series.dates}
    first, last = series.dates[0], series.dates[-1]
    missing, year, month = [], first.year, first.month
    while (year, month) < (last.year, last.month):
        if (year, month) not in present:
            missing.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return missing


def _spc_warnings(series: Series, result: SpcResult) -> tuple[str, ...]:
    warnings = [
        f"{segment.first_period} to {segment.last_period}: {segment.points} points; limits from fewer than "
        f"{RECOMMENDED_POINTS} are unreliable"
        for segment in result.segments
        if segment.short
    ]
    missing = _missing_months(series)
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
        rebase_at=_rebase_positions(series, rebase),
        fix_after=fix_after,
        screen_outliers=screen_outliers,
    )
    written = charts.write_spc_chart(result, chart, title) if chart is not None else None
    return SpcReport(path.name, result, written, _spc_warnings(series, result))
