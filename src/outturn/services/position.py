"""The monthly position: gather plans, ledger, risks and overrides, reduce on the engine, forecast, assemble."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from outturn.domain.errors import BadInput
from outturn.domain.forecast import ForecastMethod, LineFigures, LineForecast, forecast_line
from outturn.domain.ledger import CostCategory
from outturn.domain.organisations import Organisation, OrgTree
from outturn.domain.periods import FinancialMonth
from outturn.domain.plans import FinancialPlan, ForecastOverride
from outturn.domain.position import Position, build_position
from outturn.domain.problems import Problem
from outturn.engine.backends import memtable
from outturn.engine.ledger import LEDGER_SCHEMA, line_figures_with_last_year
from outturn.services.workspace import Workspace
from outturn.store import repository


class PositionError(BadInput):
    """The position cannot be computed: an unknown organisation, no plan, no month given."""


@dataclass(frozen=True)
class PositionRequest:
    org_code: str
    as_at: FinancialMonth
    method: ForecastMethod


def resolve_request(
    workspace: Workspace, org_code: str | None, as_at: str | None, method: str | None
) -> PositionRequest:
    """Fill what the command left out from the workspace's defaults, and check it."""
    code = (org_code or workspace.settings.default_org or "").upper()
    if not code:
        raise PositionError("no organisation given: pass --org CODE or set a default with `outturn init --org`")
    month_text = as_at or workspace.settings.default_as_at
    if not month_text:
        raise PositionError("no month given: pass --as-at YYYY-MM or set a default with `outturn init --as-at`")
    return PositionRequest(code, FinancialMonth.parse_as_at(month_text), resolve_method(workspace, method))


def resolve_method(workspace: Workspace, method: str | None) -> ForecastMethod:
    """The method asked for, else the workspace's default, checked."""
    method_text = method or workspace.settings.forecast_method
    try:
        return ForecastMethod(method_text)
    except ValueError:
        allowed = ", ".join(item.value for item in ForecastMethod)
        raise PositionError(f"unknown forecast method {method_text!r} (one of: {allowed})") from None


def planning_members(tree: OrgTree, org: Organisation, planned: set[str]) -> list[str]:
    if org.code in planned:
        return [org.code]
    return sorted(member.code for member in tree.descendants(org.code) if member.code in planned)


def _figures(row: dict[str, Any]) -> LineFigures:
    return LineFigures(
        org_code=row["org_code"],
        category=CostCategory(row["category"]),
        subcategory=row["subcategory"],
        annual_budget_pence=int(row["annual_budget_pence"]),
        ytd_budget_pence=int(row["ytd_budget_pence"]),
        ytd_actual_pence=int(row["ytd_actual_pence"]),
        ytd_one_off_pence=int(row["ytd_one_off_pence"]),
        months_reported=int(row["months_reported"]),
        sum_month_times_recurring=int(row["sum_month_times_recurring"]),
        last_year_ytd_recurring_pence=row["last_year_ytd_recurring_pence"],
        last_year_total_recurring_pence=row["last_year_total_recurring_pence"],
    )


def forecast_lines(
    rows: Sequence[dict[str, Any]],
    request: PositionRequest,
    overrides: Sequence[ForecastOverride],
) -> tuple[list[LineForecast], list[Problem]]:
    by_line = {(item.org_code, item.category, item.subcategory): item for item in overrides}
    forecasts: list[LineForecast] = []
    warnings: list[Problem] = []
    for row in rows:
        figures = _figures(row)
        override = by_line.pop((figures.org_code, figures.category, figures.subcategory), None)
        forecast, line_warnings = forecast_line(figures, request.as_at, request.method, override)
        forecasts.append(forecast)
        warnings.extend(line_warnings)
    warnings.extend(
        Problem(
            "overrides",
            f"{item.org_code} {item.category.value} / {item.subcategory!r}: override for a line "
            "with no ledger this year; ignored",
        )
        for item in by_line.values()
    )
    return forecasts, warnings


def compute_position(
    workspace: Workspace,
    org_code: str | None = None,
    as_at: str | None = None,
    method: str | None = None,
) -> Position:
    request = resolve_request(workspace, org_code, as_at, method)
    year = request.as_at.year
    with workspace.store.reading() as session:
        tree = repository.org_tree(session)
        if request.org_code not in tree:
            raise PositionError(f"unknown organisation {request.org_code!r}")
        org = tree.get(request.org_code)
        subtree = sorted(tree.subtree_codes(org.code))
        plans: list[FinancialPlan] = repository.plans_for(session, subtree, year)
        members = planning_members(tree, org, {plan.org_code for plan in plans})
        if not members:
            raise PositionError(
                f"no financial plan for {org.code} or the organisations under it in {year}: "
                "import one with `outturn plan import FILE`"
            )
        plans = [plan for plan in plans if plan.org_code in members]
        rows = repository.ledger_rows(session, members, [year.start_year, year.start_year - 1])
        risks = repository.risks_for(session, members, year)
        overrides = repository.overrides_for(session, members, year)
    ledger = memtable(rows, LEDGER_SCHEMA)
    figures = workspace.backend.to_rows(
        line_figures_with_last_year(ledger, year=year.start_year, as_at_month=request.as_at.number)
    )
    forecasts, warnings = forecast_lines(figures, request, overrides)
    if not forecasts:
        warnings.append(Problem("ledger", f"no ledger lines for {org.code} in {year}: import the ledger first"))
    return build_position(
        org_code=org.code,
        org_name=org.name,
        as_at=request.as_at,
        method=request.method.value,
        plans=plans,
        line_forecasts=forecasts,
        risk_items=risks,
        warnings=warnings,
    )
