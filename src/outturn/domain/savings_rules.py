"""What a savings scheme may hold and which of its months an edit may change: one set of rules for every way a
scheme is changed (the web form, the JSON API, the CLI and the workbook import).

- A reference is a short safe name (letters, digits, ``.``, ``_``, ``-``; it appears in addresses and files).
- A negative delivered or forecast month (a cost, not a saving) needs the scheme's ``negative_reason``, as a
  negative annual plan does.
- No month holds more than ``MAX_MONTH_PENCE``; no delivered or forecast month more than ``PLAN_MULTIPLE`` times
  the scheme's annual plan (a figure that size is a slip: pence for pounds, a stray digit).
- Delivered savings are reported only for months up to the workspace's as-at month (in its year; a later year's
  plan, such as next year's with April already reported, is judged when the workspace reaches that year).
- Months the workspace has reported (to the as-at month) or closed keep their forecast; a closed month's delivered
  figure, once reported, is not overwritten (one reported late, after the close, may still be filled in).

Only values an edit changes are judged, so a scheme stored before a rule existed can still be edited elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from outturn.domain.money import Pence, format_pounds
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialMonth, FinancialYear
from outturn.domain.savings import Scheme

REFERENCE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
MAX_MONTH_PENCE: Pence = 1_000_000_000_00  # £1bn in one month: more than any commissioner's scheme saves in a year
PLAN_MULTIPLE = 3  # a month's figure above three times the whole year's plan is a slip
MONTHLY_MEASURES = ("planned", "delivered", "forecast")


@dataclass(frozen=True)
class SchemeFault:
    """One rule a scheme breaks: the field (``forecast`` with ``month`` 9 for M09's forecast) and why."""

    field: str
    reason: str
    month: int | None = None

    @property
    def where(self) -> str:
        return self.field if self.month is None else f"{self.field} M{self.month:02d}"

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(frozen=True)
class EditWindow:
    """Which months of a year an edit may change. ``reported_through``: the months up to the workspace's as-at
    month (12 for an earlier year; None for a later one or when the workspace has no as-at month);
    ``closed_through``: the last month closed at month end (0 when none)."""

    reported_through: int | None = None
    closed_through: int = 0

    @classmethod
    def for_year(cls, year: FinancialYear, as_at: FinancialMonth | None, closed_through: int) -> EditWindow:
        if as_at is None:
            return cls(None, closed_through)
        if year.start_year < as_at.year.start_year:
            return cls(MONTHS_IN_YEAR, closed_through)
        if year.start_year > as_at.year.start_year:  # next year's plan: judged when the workspace reaches it
            return cls(None, closed_through)
        return cls(as_at.number, closed_through)

    def forecast_frozen(self, month: int) -> bool:
        return month <= max(self.reported_through or 0, self.closed_through)

    def delivered_frozen(self, month: int) -> bool:
        return month <= self.closed_through

    def delivered_too_early(self, month: int) -> bool:
        return self.reported_through is not None and month > self.reported_through


def reference_fault(reference: str) -> SchemeFault | None:
    if REFERENCE_PATTERN.fullmatch(reference):
        return None
    reason = (
        f"reference {reference[:60]!r} is not allowed: up to 40 letters, digits, '.', '_' or '-', "
        "starting with a letter or digit"
    )
    return SchemeFault("reference", reason)


def _value_faults(scheme: Scheme, measure: str, month: int, value: Pence) -> list[SchemeFault]:
    """Planned months are bounded only by the cap (the annual plan has its own rule for a negative total)."""
    faults: list[SchemeFault] = []
    if measure != "planned" and value < 0 and not scheme.negative_reason.strip():
        reason = f"a negative saving of {format_pounds(-value)} needs a reason (negative_reason)"
        faults.append(SchemeFault(measure, reason, month))
    relative = PLAN_MULTIPLE * abs(scheme.plan_pence) if measure != "planned" else 0
    limit = min(MAX_MONTH_PENCE, relative or MAX_MONTH_PENCE)
    if abs(value) > limit:
        reason = f"{format_pounds(value)} is beyond ±{format_pounds(limit)}, the most one month can hold"
        if limit < MAX_MONTH_PENCE:
            reason += f" ({PLAN_MULTIPLE} times the year's plan of {format_pounds(scheme.plan_pence)})"
        faults.append(SchemeFault(measure, reason, month))
    return faults


def _window_faults(
    measure: str, month: int, value: Pence | None, was: Pence | None, window: EditWindow, new: bool
) -> list[SchemeFault]:
    faults: list[SchemeFault] = []
    if measure == "delivered" and value is not None and window.delivered_too_early(month):
        faults.append(SchemeFault(measure, f"M{month:02d} is after the as-at month: nothing is delivered yet", month))
    if new:
        return faults
    if measure == "delivered" and was is not None and window.delivered_frozen(month):
        reason = f"M{month:02d} is closed: its delivered saving ({format_pounds(was)}) cannot be overwritten"
        faults.append(SchemeFault(measure, reason, month))
    elif measure == "forecast" and window.forecast_frozen(month):
        reason = f"M{month:02d} is past (reported or closed): its forecast cannot change"
        faults.append(SchemeFault(measure, reason, month))
    return faults


def edit_faults(before: Scheme | None, after: Scheme, window: EditWindow) -> list[SchemeFault]:
    """Every rule ``after`` breaks in what it changes from ``before`` (None: a new scheme)."""
    faults: list[SchemeFault] = []
    if before is None or before.reference != after.reference:
        found = reference_fault(after.reference)
        faults += [found] if found else []
    for measure in MONTHLY_MEASURES:
        values: tuple[Pence | None, ...] = getattr(after, measure)
        old: tuple[Pence | None, ...] = getattr(before, measure) if before else (None,) * MONTHS_IN_YEAR
        for month, (value, was) in enumerate(zip(values, old, strict=True), start=1):
            if value == was:
                continue
            if value is not None:
                faults += _value_faults(after, measure, month, value)
            if measure != "planned":
                faults += _window_faults(measure, month, value, was, window, new=before is None)
    return faults
