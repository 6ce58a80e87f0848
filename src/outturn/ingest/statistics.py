"""Funnel plot groups and SPC series from a CSV or XLSX file, read with the one table reader and checked.

A file with any fault yields nothing and names every fault by file, row and column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from outturn.domain.errors import BadInput
from outturn.domain.problems import Problem, ProblemsError
from outturn.ingest.tables import RawTable, RowReader, earlier_row, read_table, text_of
from outturn.stats.funnel import FunnelGroup, FunnelKind, RatioMethod
from outturn.stats.spc import MINIMUM_POINTS

_NUMBER = re.compile(r"[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
MONTH = re.compile(r"(\d{4})-(\d{1,2})")
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
    month = MONTH.fullmatch(text)
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
            "observed is 0: the SHMI method's log scale needs at least 1 (the CQC ratio method takes 0)", "numerator"
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
        if name and (earlier := earlier_row(first_row, name, number)) is not None:
            reader.fault(f"group {name!r} appears more than once (first on row {earlier})", "group")
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

    def positions_of(self, periods: Sequence[str]) -> list[int]:
        """Where each period given as text (``YYYY-MM`` or a date) falls in the series; one it lacks is bad input."""
        positions = []
        for text in periods:
            when, label = parse_period(text)
            if when not in self.dates:
                raise BadInput(f"rebase at {label}: {self.source} has no such period")
            positions.append(self.dates.index(when))
        return positions

    def missing_months(self) -> list[str]:
        """Months absent from a series of months (YYYY-MM labels); none for dated series."""
        if not all(MONTH.fullmatch(period) for period in self.periods):
            return []
        present = {(when.year, when.month) for when in self.dates}
        first, last = self.dates[0], self.dates[-1]
        missing, year, month = [], first.year, first.month
        while (year, month) < (last.year, last.month):
            if (year, month) not in present:
                missing.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return missing


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
        if period is not None and (earlier := earlier_row(first_row, period[0], number)) is not None:
            reader.fault(f"period {period[1]} appears more than once (first on row {earlier})", "period")
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
