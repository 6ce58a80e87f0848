"""The back-test of every forecast method over the past years held, and the methods ``auto`` takes from it.

One engine query reduces the past years' ledger to line figures for every year and month; each method then
forecasts each line as the position would (``forecast_line``), without overrides, and the domain scores the sums.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import fields
from typing import Any

from outturn.domain.backtest import (
    BACKTEST_MONTHS,
    AutoChoice,
    Backtest,
    BacktestRow,
    LineKey,
    build_backtest,
    choose_methods,
    score_month,
)
from outturn.domain.forecast import ForecastMethod, LineFigures, forecast_line
from outturn.domain.ledger import CostCategory
from outturn.domain.money import Pence
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialMonth, FinancialYear
from outturn.engine.backends import memtable
from outturn.engine.ledger import LEDGER_SCHEMA, line_figures_by_month
from outturn.services.workspace import Workspace
from outturn.store import repository

_FIGURE_FIELDS = tuple(item.name for item in fields(LineFigures) if item.name != "category")


def figures_from_row(row: Mapping[str, Any]) -> LineFigures:
    """One row of ``engine.ledger.line_figures_with_last_year`` as the domain's figures for the line (every
    column named as a field of ``LineFigures`` is taken, so a new field needs only its engine column)."""
    values = {name: row[name] for name in _FIGURE_FIELDS if name in row}
    return LineFigures(category=CostCategory(row["category"]), **values)


def complete_past_years(actual_months: Collection[tuple[int, int]], before: FinancialYear) -> tuple[FinancialYear, ...]:
    """The years before ``before`` with an actual in every month M01 to M12."""
    months_by_year: dict[int, set[int]] = {}
    for year, month in actual_months:
        months_by_year.setdefault(year, set()).add(month)
    return tuple(
        FinancialYear(year)
        for year, months in sorted(months_by_year.items())
        if year < before.start_year and len(months) == MONTHS_IN_YEAR
    )


def _score_year(year: FinancialYear, by_month: Mapping[int, Sequence[LineFigures]]) -> list[BacktestRow]:
    outturn: dict[LineKey, Pence] = {
        (figures.org_code, figures.category, figures.subcategory): figures.ytd_actual_pence
        for figures in by_month[MONTHS_IN_YEAR]
    }
    rows: list[BacktestRow] = []
    for month in BACKTEST_MONTHS:
        as_at = year.month(month)
        for method in ForecastMethod:
            forecasts = (forecast_line(figures, as_at, method)[0] for figures in by_month.get(month, ()))
            rows.extend(score_month(year, month, method.value, forecasts, outturn))
    return rows


def backtest_members(workspace: Workspace, org_code: str, members: Iterable[str], as_at: FinancialMonth) -> Backtest:
    """Every method back-tested over the members' past years with a complete year of actuals before ``as_at``."""
    codes = sorted(members)
    with workspace.store.reading() as session:
        years = complete_past_years(repository.ledger_actual_months(session, codes), as_at.year)
        starts = sorted({year.start_year for year in years} | {year.start_year - 1 for year in years})
        ledger_rows = repository.ledger_rows(session, codes, starts) if years else []
    if not years:
        return build_backtest(org_code, as_at, (), ())
    query = line_figures_by_month(
        memtable(ledger_rows, LEDGER_SCHEMA),
        years=[year.start_year for year in years],
        months=range(1, MONTHS_IN_YEAR + 1),
    )
    grouped: dict[tuple[int, int], list[LineFigures]] = {}
    for row in workspace.backend.to_rows(query):
        grouped.setdefault((row["year"], row["as_at_month"]), []).append(figures_from_row(row))
    rows: list[BacktestRow] = []
    for year in years:
        by_month = {month: grouped.get((year.start_year, month), []) for month in range(1, MONTHS_IN_YEAR + 1)}
        rows.extend(_score_year(year, by_month))
    return build_backtest(org_code, as_at, years, rows)


def auto_methods(
    workspace: Workspace,
    org_code: str,
    members: Iterable[str],
    as_at: FinancialMonth,
    categories: Iterable[CostCategory],
) -> tuple[AutoChoice, ...]:
    """The method ``auto`` takes for each category, from the members' back-test."""
    return choose_methods(backtest_members(workspace, org_code, members, as_at), categories)
