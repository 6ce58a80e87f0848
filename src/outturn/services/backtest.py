"""The back-test of every forecast method over the past years held, and the methods ``auto`` takes from it.

One engine query reduces the past years' ledger to line figures for every year and month; each method then
forecasts each line as the position would (``forecast_line``), without overrides, and the domain scores the sums.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import fields, replace
from typing import Any

from outturn.domain.backtest import (
    BACKTEST_MONTHS,
    AutoChoice,
    Backtest,
    BacktestRow,
    build_backtest,
    choose_methods,
    score_month,
)
from outturn.domain.forecast import EXTRAPOLATIONS, LineFigures, forecast_line
from outturn.domain.ledger import CategoryLineKey, CostCategory
from outturn.domain.money import Pence
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialMonth, FinancialYear
from outturn.engine.backends import memtable
from outturn.engine.ledger import LEDGER_SCHEMA, line_figures_by_month
from outturn.services.workspace import Workspace
from outturn.store import repository
from outturn.store.database import StoreSession

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
    outturn: dict[CategoryLineKey, Pence] = {
        (figures.org_code, figures.category, figures.subcategory): figures.ytd_actual_pence
        for figures in by_month[MONTHS_IN_YEAR]
    }
    rows: list[BacktestRow] = []
    for month in BACKTEST_MONTHS:
        as_at = year.month(month)
        for method in EXTRAPOLATIONS:
            forecasts = (forecast_line(figures, as_at, method)[0] for figures in by_month.get(month, ()))
            rows.extend(score_month(year, month, method.value, forecasts, outturn))
    return rows


def _past_figures(
    session: StoreSession, workspace: Workspace, codes: Sequence[str], years: Sequence[FinancialYear]
) -> dict[tuple[int, int], list[LineFigures]]:
    """The organisations' line figures in each of ``years`` as at each month, keyed (start year, month)."""
    starts = sorted({year.start_year for year in years} | {year.start_year - 1 for year in years})
    ledger_rows = repository.ledger_rows(session, codes, starts)
    query = line_figures_by_month(
        memtable(ledger_rows, LEDGER_SCHEMA),
        years=[year.start_year for year in years],
        months=range(1, MONTHS_IN_YEAR + 1),
    )
    grouped: dict[tuple[int, int], list[LineFigures]] = {}
    for row in workspace.backend.to_rows(query):
        grouped.setdefault((row["year"], row["as_at_month"]), []).append(figures_from_row(row))
    return grouped


def _scored(
    org_code: str,
    as_at: FinancialMonth,
    years: Sequence[FinancialYear],
    grouped: Mapping[tuple[int, int], Sequence[LineFigures]],
    keep: Callable[[LineFigures], bool] = lambda _figures: True,
) -> Backtest:
    rows: list[BacktestRow] = []
    for year in years:
        by_month = {
            month: [figures for figures in grouped.get((year.start_year, month), ()) if keep(figures)]
            for month in range(1, MONTHS_IN_YEAR + 1)
        }
        rows.extend(_score_year(year, by_month))
    return build_backtest(org_code, as_at, years, rows)


def _member_choices(
    session: StoreSession,
    categories_by_member: Mapping[str, Iterable[CostCategory]],
    as_at: FinancialMonth,
    grouped: Mapping[tuple[int, int], Sequence[LineFigures]],
) -> tuple[AutoChoice, ...]:
    """Each member's choice per category from its own back-test, over the years complete in its own ledger (the
    figures ``grouped`` must cover them)."""
    choices: list[AutoChoice] = []
    for code in sorted(categories_by_member):
        years = complete_past_years(repository.ledger_actual_months(session, [code]), as_at.year)
        backtest = _scored(code, as_at, years, grouped, _of_org(code))
        choices.extend(
            replace(choice, org_code=code) for choice in choose_methods(backtest, categories_by_member[code])
        )
    return tuple(choices)


def backtest_members(workspace: Workspace, org_code: str, members: Iterable[str], as_at: FinancialMonth) -> Backtest:
    """Every method back-tested over the members' past years with a complete year of actuals before ``as_at``,
    with ``auto``'s choice for each member and category scored (from the same figures: one engine query)."""
    codes = sorted(members)
    with workspace.store.reading() as session:
        years = complete_past_years(repository.ledger_actual_months(session, codes), as_at.year)
        if not years:
            return build_backtest(org_code, as_at, (), ())
        grouped = _past_figures(session, workspace, codes, years)
        backtest = _scored(org_code, as_at, years, grouped)
        scored = [category for category in CostCategory if any(row.category == category.value for row in backtest.rows)]
        choices = _member_choices(session, dict.fromkeys(codes, scored), as_at, grouped)
    return replace(backtest, auto_choices=choices)


def _of_org(code: str) -> Callable[[LineFigures], bool]:
    return lambda figures: figures.org_code == code


def auto_methods(
    session: StoreSession,
    workspace: Workspace,
    categories_by_member: Mapping[str, Iterable[CostCategory]],
    as_at: FinancialMonth,
) -> tuple[AutoChoice, ...]:
    """The method ``auto`` takes for each category of each member organisation (the organisations that hold the
    plans and ledger), from that organisation's own back-test: a group's position is then the sum of its members'.
    One engine query for every member (a year complete for any member is complete in their union)."""
    codes = sorted(categories_by_member)
    years = complete_past_years(repository.ledger_actual_months(session, codes), as_at.year)
    grouped = _past_figures(session, workspace, codes, years) if years else {}
    return _member_choices(session, categories_by_member, as_at, grouped)
