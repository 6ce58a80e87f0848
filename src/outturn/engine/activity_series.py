"""Activity as a time series: a benchmarking measure's units counted week by week, for SPC charts.

Weeks start on Monday (ISO weeks: DuckDB's and Spark's ``date_trunc('week', ...)``); the caller chooses the first
and last day so that only whole weeks are counted. Weeks with no records are absent here and filled with zero by
the caller, which knows the calendar.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from outturn.domain.benchmark import Measure

DAYS_IN_WEEK = 7


def measure_records(records: ir.Table, measure: Measure) -> ir.Table:
    """The records a measure counts (its filters applied), as ``engine.benchmark.measure_activity`` counts them."""
    chosen = records
    for condition in measure.filters:
        chosen = chosen.filter(chosen[condition.column].isin(list(condition.values)))
    return chosen


def weekly_units(
    records: ir.Table,
    measure: Measure,
    date_column: str,
    *,
    first_day: date,
    last_day: date,
    commissioners: Sequence[str] | None = None,
) -> ir.Table:
    """Per week (``week_start``, a Monday) the measure's units dated from ``first_day`` to ``last_day`` inclusive,
    for the records of ``commissioners`` (all records without them), in week order."""
    chosen = measure_records(records, measure)
    day = chosen[date_column]
    chosen = chosen.filter((day >= ibis.literal(first_day)) & (day <= ibis.literal(last_day)))
    if commissioners is not None:
        chosen = chosen.filter(chosen.commissioner.isin(list(commissioners)))
    units = chosen[measure.count_column].sum() if measure.count_column else chosen.count()
    weekly = chosen.group_by(week_start=chosen[date_column].truncate("W").cast("date")).aggregate(
        units=units.cast("int64")
    )
    return weekly.order_by("week_start")


def whole_weeks(first: date, last: date) -> tuple[date, date] | None:
    """The first Monday on or after ``first`` and the last Sunday on or before ``last``; ``None`` without a whole
    week between them."""
    start = first + timedelta(days=(DAYS_IN_WEEK - first.weekday()) % DAYS_IN_WEEK)
    end = last - timedelta(days=(last.weekday() + 1) % DAYS_IN_WEEK)
    return (start, end) if end - start >= timedelta(days=DAYS_IN_WEEK - 1) else None


def week_starts(first_monday: date, last_sunday: date) -> list[date]:
    """Every Monday from ``first_monday`` to the week ending ``last_sunday``."""
    weeks = (last_sunday - first_monday).days // DAYS_IN_WEEK + 1
    return [first_monday + timedelta(days=DAYS_IN_WEEK * index) for index in range(weeks)]
