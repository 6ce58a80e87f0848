"""Forecast history: each month-end close records every planned organisation's forecast by category and method;
``outturn position history`` reads it back for an organisation (a group: its members' records summed), with each
month's movement split into new actuals, method changes and overrides (``domain.forecast_history``)."""

from __future__ import annotations

from collections.abc import Sequence

from outturn.domain.backtest import AUTO_FALLBACK
from outturn.domain.errors import BadInput
from outturn.domain.forecast import EXTRAPOLATIONS, LineForecast
from outturn.domain.forecast_history import CategoryRecord, HistoryMonth, MonthRecord, history
from outturn.domain.forecast_methods import MethodPlan
from outturn.domain.ledger import CostCategory
from outturn.domain.organisations import Organisation
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.position import method_of
from outturn.services.backtest import figures_from_row
from outturn.services.position import (
    PositionError,
    PositionRequest,
    contract_forecasts_for,
    forecast_lines,
    ledger_figures,
    planning_members,
    position_methods,
    resolve_method,
)
from outturn.services.workspace import Workspace
from outturn.store import forecast_history_repository as store
from outturn.store import repository
from outturn.store.database import StoreSession
from outturn.store.savings_repository import record_change

OrgCategoryKey = tuple[str, CostCategory]


def _by_org_category(lines: Sequence[LineForecast]) -> dict[OrgCategoryKey, list[LineForecast]]:
    grouped: dict[OrgCategoryKey, list[LineForecast]] = {}
    for line in lines:
        grouped.setdefault((line.figures.org_code, line.figures.category), []).append(line)
    return grouped


def _total(lines: Sequence[LineForecast]) -> int:
    return sum(line.forecast_outturn_pence for line in lines)


def _category_record(
    category: CostCategory,
    method: str,
    used: Sequence[LineForecast],
    plain: Sequence[LineForecast],
    by_method: dict[str, Sequence[LineForecast]],
) -> CategoryRecord:
    """``used``: the lines as the position forecast them; ``plain``: the same without overrides."""
    return CategoryRecord(
        category=category,
        method=method,
        forecast_outturn_pence=_total(used),
        override_effect_pence=_total(used) - _total(plain),
        ytd_actual_pence=sum(line.figures.ytd_actual_pence for line in used),
        ytd_budget_pence=sum(line.figures.ytd_budget_pence for line in used),
        annual_budget_pence=sum(line.figures.annual_budget_pence for line in used),
        by_method_pence={name: _total(lines) for name, lines in by_method.items()},
    )


def month_records(session: StoreSession, workspace: Workspace, month: FinancialMonth) -> list[MonthRecord]:
    """Every planned organisation's forecast as at ``month``, from the ledger, plans, overrides and method settings
    as they stand: the position's own forecast (the workspace's method with the stored settings and, with ``auto``,
    each organisation's back-test picks; overrides included) and each method's without overrides."""
    year = month.year
    codes = store.planned_org_codes(session, year)
    if not codes:
        return []
    plans = repository.plans_for(session, codes, year)
    rows = repository.ledger_rows(session, codes, [year.start_year, year.start_year - 1])
    overrides = repository.overrides_for(session, codes, year)
    figures = ledger_figures(workspace, rows, month)
    request = resolve_method(workspace, PositionRequest("", month, AUTO_FALLBACK), None)
    plan, _settings, _choices = position_methods(
        session, workspace, request, repository.org_tree(session), codes, [figures_from_row(row) for row in figures]
    )
    contracts = contract_forecasts_for(workspace, plan, figures, month)
    used = _by_org_category(forecast_lines(figures, month, plan, overrides, contracts)[0])
    plain = _by_org_category(forecast_lines(figures, month, plan, (), contracts)[0])
    each_method = {
        item.value: _by_org_category(forecast_lines(figures, month, MethodPlan(default=item))[0])
        for item in EXTRAPOLATIONS
    }
    return [
        MonthRecord(
            org_code=plan_.org_code,
            month=month,
            resource_pence=plan_.resource_pence,
            control_total_pence=plan_.effective_control_total_pence,
            categories=tuple(
                _category_record(
                    category,
                    method_of(line.method for line in plain[key]),
                    used[key],
                    plain[key],
                    {name: lines[key] for name, lines in each_method.items()},
                )
                for category in CostCategory
                if (key := (plan_.org_code, category)) in used
            ),
        )
        for plan_ in sorted(plans, key=lambda item: item.org_code)
    ]


def record_month(session: StoreSession, workspace: Workspace, month: FinancialMonth, who: str) -> int:
    """Record ``month``'s forecast history in the caller's transaction (a month recorded before is replaced, and
    the audit trail says what it held); returns the number of organisations recorded."""
    records = month_records(session, workspace, month)
    before = {
        record.org_code: record.forecast_outturn_pence
        for record in store.load_records(session, store.planned_org_codes(session, month.year), month.year)
        if record.month == month
    }
    replaced = store.replace_month(session, month, records, who)
    after = {record.org_code: record.forecast_outturn_pence for record in records}
    record_change(
        session,
        who,
        "forecast-history",
        f"{month.year.label} {month.label}",
        "replace" if replaced else "record",
        {"forecast_outturn_pence": before} if replaced else None,
        {"forecast_outturn_pence": after},
    )
    return len(records)


def record_forecast_history(workspace: Workspace, month: FinancialMonth, who: str) -> int:
    """Record ``month``'s forecast history in a transaction of its own (the month-end close records it in its)."""
    with workspace.store.transaction() as session:
        return record_month(session, workspace, month, who)


def position_history(
    workspace: Workspace, org_code: str | None = None, year: str | None = None, up_to: FinancialMonth | None = None
) -> tuple[Organisation, FinancialYear, tuple[HistoryMonth, ...]]:
    """The organisation's forecast history for the year (default: the workspace's organisation and year), to
    ``up_to`` when given (whose year it then is)."""
    code = workspace.org_code(org_code)
    chosen = up_to.year if up_to else _year(workspace, year)
    with workspace.store.reading() as session:
        tree = repository.org_tree(session)
        if code not in tree:
            raise PositionError(f"unknown organisation {code!r}")
        org = tree.get(code)
        members = planning_members(tree, org, set(store.planned_org_codes(session, chosen)))
        records = [
            record
            for record in store.load_records(session, members, chosen)
            if up_to is None or record.month.number <= up_to.number
        ]
    return org, chosen, history(org.code, records)


def _year(workspace: Workspace, year: str | None) -> FinancialYear:
    if year:
        try:
            return FinancialYear.parse(year)
        except BadInput as error:
            raise PositionError(f"bad year {year!r}: {error}") from None
    return workspace.year(None)
