"""The monthly position: gather plans, ledger, risks and overrides, reduce on the engine, forecast, assemble.

Which method forecasts each line is a ``MethodPlan`` (outturn.domain.forecast_methods): the stored settings per
line and per category, then any per-category picks (``method_plan(..., by_category=...)``, where a caller such as
an ``auto`` method puts its choice), then the method requested. ``forecast_lines`` takes that plan, or any function
from a line's figures to a method.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from outturn.domain.backtest import AUTO, AUTO_FALLBACK, AutoChoice, Backtest
from outturn.domain.errors import BadInput
from outturn.domain.forecast import EXTRAPOLATIONS, ForecastMethod, LineFigures, LineForecast, forecast_line
from outturn.domain.forecast_methods import MethodPlan, MethodScope, MethodSetting
from outturn.domain.ledger import CategoryLineKey, CostCategory
from outturn.domain.money import Pence
from outturn.domain.organisations import Organisation, OrgTree
from outturn.domain.periods import FinancialMonth
from outturn.domain.plans import FinancialPlan, ForecastOverride
from outturn.domain.position import Position, build_position
from outturn.domain.problems import Problem
from outturn.domain.savings import remaining_savings
from outturn.engine.backends import memtable
from outturn.engine.ledger import LEDGER_SCHEMA, line_figures_with_last_year
from outturn.services.backtest import auto_methods, backtest_members, figures_from_row
from outturn.services.contract_ledger import line_contract_forecasts
from outturn.services.workspace import Workspace
from outturn.store import method_settings, repository
from outturn.store import savings_repository as savings_store
from outturn.store.database import StoreSession


class PositionError(BadInput):
    """The position cannot be computed: an unknown organisation, no plan, no month given."""


@dataclass(frozen=True)
class PositionRequest:
    org_code: str
    as_at: FinancialMonth
    method: ForecastMethod  # with ``auto``, the method for a category the back-test cannot choose for
    auto: bool = False  # each category's method chosen by the back-test (``domain/backtest.py``)


def resolve_request(
    workspace: Workspace, org_code: str | None, as_at: str | None, method: str | None
) -> PositionRequest:
    """Fill what the command left out from the workspace's defaults, and check it."""
    scope = workspace.scope(org_code, as_at)
    request = PositionRequest(scope.org_code, scope.month, AUTO_FALLBACK)
    return resolve_method(workspace, request, method)


def resolve_method(workspace: Workspace, request: PositionRequest, method: str | None) -> PositionRequest:
    """The request with the method asked for, else the workspace's default, checked."""
    method_text = method or workspace.settings.forecast_method
    if method_text.strip().lower() == AUTO:
        return replace(request, method=AUTO_FALLBACK, auto=True)
    allowed = ", ".join([AUTO, *(item.value for item in EXTRAPOLATIONS)])
    try:
        chosen = ForecastMethod.parse(method_text)
    except BadInput:
        raise PositionError(f"unknown forecast method {method_text!r} (one of: {allowed})") from None
    if chosen is ForecastMethod.CONTRACT:
        raise PositionError(
            "the contract method forecasts only the ledger lines that carry a contract's value: set it for those "
            f"lines and give the position one of: {allowed}",
            needs="line-methods",
        )
    return replace(request, method=chosen, auto=False)


def planning_members(tree: OrgTree, org: Organisation, planned: set[str]) -> list[str]:
    if org.code in planned:
        return [org.code]
    return sorted(member.code for member in tree.descendants(org.code) if member.code in planned)


MethodChoice = MethodPlan | Callable[[LineFigures], ForecastMethod]


def forecast_lines(
    rows: Sequence[dict[str, Any]],
    as_at: FinancialMonth,
    methods: MethodChoice,
    overrides: Sequence[ForecastOverride] = (),
    contract_forecasts: Mapping[CategoryLineKey, Pence] | None = None,
) -> tuple[list[LineForecast], list[Problem]]:
    """Forecast every line of ``line_figures_with_last_year``'s rows, each by the method ``methods`` picks for it
    (a ``MethodPlan``: stored settings, then per-category picks, then the requested method; or any function of the
    line's figures), unless an override replaces it. A line set to ``contract`` takes its contract's forecast
    from ``contract_forecasts`` (``contract_forecasts_for``)."""
    method_for = methods.method_for if isinstance(methods, MethodPlan) else methods
    by_line = {(item.org_code, item.category, item.subcategory): item for item in overrides}
    contract_forecasts = contract_forecasts or {}
    forecasts: list[LineForecast] = []
    warnings: list[Problem] = []
    for row in rows:
        figures = figures_from_row(row)
        key = (figures.org_code, figures.category, figures.subcategory)
        override = by_line.pop(key, None)
        forecast, line_warnings = forecast_line(
            figures, as_at, method_for(figures), override, contract_forecasts.get(key)
        )
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


def contract_forecasts_for(
    workspace: Workspace, methods: MethodChoice, rows: Sequence[dict[str, Any]], as_at: FinancialMonth
) -> Mapping[CategoryLineKey, Pence]:
    """The contract forecast of each ledger line carrying a contract's value, priced only when some line of
    ``rows`` is set to the ``contract`` method (pricing is heavy; the position is computed for every page)."""
    method_for = methods.method_for if isinstance(methods, MethodPlan) else methods
    if not any(method_for(figures_from_row(row)) is ForecastMethod.CONTRACT for row in rows):
        return {}
    return line_contract_forecasts(workspace, as_at)


def lineage(tree: OrgTree, members: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Each member organisation with those above it, nearest first: whose method settings apply to its lines."""
    return {code: (code, *(ancestor.code for ancestor in tree.ancestors(code))) for code in members}


def method_plan(
    request: PositionRequest,
    tree: OrgTree,
    members: Sequence[str],
    settings: Sequence[MethodSetting],
    by_category: Mapping[CostCategory, ForecastMethod] | None = None,
) -> MethodPlan:
    """The requested method, any per-category picks, and the stored settings of the members and those above."""
    return MethodPlan(
        default=request.method,
        by_category=dict(by_category or {}),
        settings=tuple(settings),
        lineage=lineage(tree, members),
    )


def unmatched_line_settings(
    settings: Sequence[MethodSetting], figures: Sequence[LineFigures], members: Sequence[str]
) -> list[Problem]:
    """A warning for each line setting of a member organisation that names no line in its ledger this year."""
    lines = {(line.org_code, line.category, line.subcategory) for line in figures}
    return [
        Problem("forecast methods", f"{setting.describe()}: setting for a line with no ledger this year; ignored")
        for setting in settings
        if setting.scope is MethodScope.LINE
        and setting.org_code in members
        and (setting.org_code, setting.category, setting.subcategory) not in lines
    ]


def _planned(
    session: StoreSession, request: PositionRequest
) -> tuple[OrgTree, Organisation, list[FinancialPlan], list[str]]:
    """The organisation asked for, the plans the position sums and their organisations (the members)."""
    year = request.as_at.year
    tree = repository.org_tree(session)
    if request.org_code not in tree:
        raise PositionError(f"unknown organisation {request.org_code!r}")
    org = tree.get(request.org_code)
    subtree = sorted(tree.subtree_codes(org.code))
    plans: list[FinancialPlan] = repository.plans_for(session, subtree, year)
    members = planning_members(tree, org, {plan.org_code for plan in plans})
    if not members:
        raise PositionError(
            f"no financial plan for {org.code} or the organisations under it in {year}", needs="plan"
        )
    return tree, org, [plan for plan in plans if plan.org_code in members], members


def position_members(workspace: Workspace, request: PositionRequest) -> tuple[OrgTree, Organisation, list[str]]:
    """The organisation asked for, with the organisations whose plans and ledgers its position sums."""
    with workspace.store.reading() as session:
        tree, org, _plans, members = _planned(session, request)
    return tree, org, members


def compute_backtest(workspace: Workspace, org_code: str | None = None, as_at: str | None = None) -> Backtest:
    """Every forecast method back-tested over the past years held for the organisations the position sums."""
    request = resolve_request(workspace, org_code, as_at, AUTO)
    with workspace.store.reading() as session:
        _tree, org, _plans, members = _planned(session, request)
    return backtest_members(workspace, org.code, members, request.as_at)


def position_methods(
    session: StoreSession,
    workspace: Workspace,
    request: PositionRequest,
    tree: OrgTree,
    members: Sequence[str],
    figures: Sequence[LineFigures],
) -> tuple[MethodPlan, tuple[MethodSetting, ...], tuple[AutoChoice, ...]]:
    """How the position forecasts each line: the stored settings of the members and those above them, then (with
    ``auto``) the back-test's pick for each member's category that has a line no setting decides, then the
    method requested. Returns the plan, the settings and auto's choices."""
    settings = tuple(
        method_settings.settings_for(session, {code for codes in lineage(tree, members).values() for code in codes})
    )
    plan = method_plan(request, tree, members, settings)
    if not request.auto:
        return plan, settings, ()
    open_categories: dict[str, set[CostCategory]] = {}
    for line in figures:
        if plan.setting_for(line) is None:
            open_categories.setdefault(line.org_code, set()).add(line.category)
    ordered = {
        code: [category for category in CostCategory if category in found] for code, found in open_categories.items()
    }
    choices = auto_methods(session, workspace, ordered, request.as_at)
    picks = {(item.org_code, item.category): item.method for item in choices}
    return replace(plan, by_org_category=picks), settings, choices


def ledger_figures(workspace: Workspace, rows: Sequence[dict[str, Any]], as_at: FinancialMonth) -> list[dict[str, Any]]:
    """The stored ledger rows (this year and last) reduced on the engine to one row of figures per line."""
    ledger = memtable(rows, LEDGER_SCHEMA)
    return workspace.backend.to_rows(
        line_figures_with_last_year(ledger, year=as_at.year.start_year, as_at_month=as_at.number)
    )


def forecast_members(
    workspace: Workspace, request: PositionRequest, tree: OrgTree, members: Sequence[str]
) -> tuple[list[LineForecast], list[Problem], tuple[AutoChoice, ...]]:
    """Every ledger line of ``members`` forecast as the position forecasts it (stored settings, ``auto``'s picks
    or the method requested, the ``contract`` method's contract forecasts, overrides); with the warnings and
    ``auto``'s choices."""
    year = request.as_at.year
    with workspace.store.reading() as session:
        rows = repository.ledger_rows(session, members, [year.start_year, year.start_year - 1])
        overrides = repository.overrides_for(session, members, year)
        figures = ledger_figures(workspace, rows, request.as_at)
        plan, settings, choices = position_methods(
            session, workspace, request, tree, members, [figures_from_row(row) for row in figures]
        )
    contract_forecasts = contract_forecasts_for(workspace, plan, figures, request.as_at)
    forecasts, warnings = forecast_lines(figures, request.as_at, plan, overrides, contract_forecasts)
    warnings.extend(unmatched_line_settings(settings, [line.figures for line in forecasts], members))
    return forecasts, warnings, choices


def compute_position(
    workspace: Workspace,
    org_code: str | None = None,
    as_at: str | None = None,
    method: str | None = None,
) -> Position:
    request = resolve_request(workspace, org_code, as_at, method)
    year = request.as_at.year
    with workspace.store.reading() as session:
        tree, org, plans, members = _planned(session, request)
        risks = repository.risks_for(session, members, year)
        schemes = savings_store.load_schemes(session, year, members)
    forecasts, warnings, choices = forecast_members(workspace, request, tree, members)
    if not forecasts:
        warnings.append(Problem("ledger", f"no ledger lines for {org.code} in {year}: import the ledger first"))
    position = build_position(
        org_code=org.code,
        org_name=org.name,
        as_at=request.as_at,
        method=AUTO if request.auto else request.method.value,
        plans=plans,
        line_forecasts=forecasts,
        risk_items=risks,
        warnings=warnings,
        savings=remaining_savings(schemes, request.as_at.number),
    )
    return replace(position, auto_choices=choices) if choices else position
