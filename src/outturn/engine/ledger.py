"""Ledger reductions: one row per ledger line with the year-to-date figures forecasts need."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import ibis
import ibis.expr.types as ir

from outturn.domain.errors import BadInput
from outturn.domain.forecast import EXIT_RATE_MONTHS

LEDGER_SCHEMA = {
    "org_code": "string",
    "year": "int64",
    "month": "int64",
    "category": "string",
    "subcategory": "string",
    "budget_pence": "int64",
    "actual_pence": "int64",
    "one_off_pence": "int64",
}

LINE_KEYS = ("org_code", "category", "subcategory")

# a trial balance's lines: the ledger with each line's cost centre and subjective code ("" at category level)
TRIAL_BALANCE_SCHEMA = {**LEDGER_SCHEMA, "cost_centre": "string", "subjective_code": "string"}
TRIAL_BALANCE_KEYS = (*LINE_KEYS, "cost_centre", "subjective_code")


FIGURE_COLUMNS = (
    "annual_budget_pence",
    "ytd_budget_pence",
    "ytd_actual_pence",
    "ytd_one_off_pence",
    "months_reported",
    "sum_month_times_recurring",
    "exit_recurring_pence",
    "last_year_ytd_recurring_pence",
    "last_year_total_recurring_pence",
    "last_year_exit_recurring_pence",
)

# a month number, or a column of them (the back-test reduces every month at once)
AsAt: TypeAlias = int | ir.IntegerValue


def _ytd(ledger: ir.Table, as_at_month: AsAt, value: ir.IntegerValue) -> ir.IntegerScalar:
    return ibis.ifelse(ledger.month <= as_at_month, value, 0).sum()


def _exit_window(ledger: ir.Table, as_at_month: AsAt, value: ir.IntegerValue) -> ir.IntegerScalar:
    """The sum over the exit-rate window: the last three months to the as-at month (fewer before M03)."""
    first = as_at_month - EXIT_RATE_MONTHS + 1
    return ibis.ifelse((ledger.month >= first) & (ledger.month <= as_at_month), value, 0).sum()


def _this_year(current: ir.Table, as_at_month: AsAt, keys: Sequence[str]) -> ir.Table:
    actual = current.actual_pence.coalesce(0)
    recurring = actual - current.one_off_pence
    return current.group_by(list(keys)).aggregate(
        annual_budget_pence=current.budget_pence.sum(),
        ytd_budget_pence=_ytd(current, as_at_month, current.budget_pence),
        ytd_actual_pence=_ytd(current, as_at_month, actual),
        ytd_one_off_pence=_ytd(current, as_at_month, current.one_off_pence),
        # months, not rows: a trial balance holds several rows of a line's month
        months_reported=ibis.ifelse(
            (current.month <= as_at_month) & current.actual_pence.notnull(), current.month, ibis.null()
        ).nunique(),
        sum_month_times_recurring=_ytd(current, as_at_month, current.month * recurring),
        exit_recurring_pence=_exit_window(current, as_at_month, recurring),
    )


def _last_year(previous: ir.Table, as_at_month: AsAt, keys: Sequence[str]) -> ir.Table:
    recurring = previous.actual_pence.coalesce(0) - previous.one_off_pence
    return previous.group_by(list(keys)).aggregate(
        last_year_ytd_recurring_pence=_ytd(previous, as_at_month, recurring),
        last_year_total_recurring_pence=recurring.sum(),
        last_year_exit_recurring_pence=_exit_window(previous, as_at_month, recurring),
    )


def line_figures(ledger: ir.Table, *, year: int, as_at_month: int, keys: Sequence[str] = LINE_KEYS) -> ir.Table:
    """Per org, category and subcategory (or other ``keys``) in ``year``: annual and YTD budget, YTD actual and
    one-offs, months with an actual, the sum of month x recurring actual (for the trend's regression) and the
    recurring actual of the last three months (for the exit rate)."""
    return _this_year(ledger.filter(ledger.year == year), as_at_month, keys)


def last_year_profile(ledger: ir.Table, *, year: int, as_at_month: int, keys: Sequence[str] = LINE_KEYS) -> ir.Table:
    """Per line, last year's recurring actual to the same month, for the whole year and in the exit window."""
    return _last_year(ledger.filter(ledger.year == year - 1), as_at_month, keys)


def line_figures_with_last_year(
    ledger: ir.Table, *, year: int, as_at_month: int, keys: Sequence[str] = LINE_KEYS
) -> ir.Table:
    """This year's line figures, with last year's profile where the line existed last year. ``keys``:
    ``TRIAL_BALANCE_KEYS`` for a trial balance's own lines (a ledger in ``TRIAL_BALANCE_SCHEMA``)."""
    this_year = line_figures(ledger, year=year, as_at_month=as_at_month, keys=keys)
    profile = last_year_profile(ledger, year=year, as_at_month=as_at_month, keys=keys)
    joined = this_year.left_join(profile, list(keys))
    return joined.select(*keys, *FIGURE_COLUMNS).order_by(list(keys))


def line_figures_by_month(ledger: ir.Table, *, years: Sequence[int], months: Sequence[int]) -> ir.Table:
    """``line_figures_with_last_year`` for every year and as-at month asked for, in one query: the ledger is
    paired with each as-at month and reduced by the same rules, each row tagged with its ``year`` and
    ``as_at_month``. (Stacking one reduction per month instead costs Ibis seconds to build and compile.)"""
    if not years or not months:
        raise BadInput("line figures by month need at least one year and one month")
    as_at = ibis.memtable({"as_at_month": [int(month) for month in months]}, schema={"as_at_month": "int64"})
    keys = ("year", "as_at_month", *LINE_KEYS)
    current = ledger.filter(ledger.year.isin(list(years))).cross_join(as_at)
    previous = ledger.filter(ledger.year.isin([year - 1 for year in years]))
    previous = previous.mutate(year=previous.year + 1).cross_join(as_at)
    this_year = _this_year(current, current.as_at_month, keys)
    profile = _last_year(previous, previous.as_at_month, keys)
    joined = this_year.left_join(profile, list(keys))
    return joined.select(*keys, *FIGURE_COLUMNS).order_by(list(keys))
