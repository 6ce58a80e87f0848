"""Budget holders' reports: each ledger line (a trial balance's cost centre x subjective code, or a category-level
line) as at a month, year to date and forecast, and the lines whose variance needs commentary.

Each line is forecast by the method the position uses for the line it rolls up into (its organisation, category
and subcategory): a line that is the only one in its roll-up takes the roll-up's forecast as it is (so a
category-level ledger's report agrees with the position to the penny); several lines under an extrapolated
roll-up are each forecast by that method from their own figures; several lines under an override or a contract
forecast share the roll-up's forecast in proportion to their annual budgets (method ``<method> (shared)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from outturn.domain.budgets import apportion
from outturn.domain.contract_ledger import Threshold
from outturn.domain.errors import BadInput
from outturn.domain.forecast import EXTRAPOLATIONS, ForecastMethod, LineForecast, forecast_line
from outturn.domain.ledger import CostCategory
from outturn.domain.money import Pence
from outturn.domain.periods import FinancialMonth
from outturn.domain.trial_balance import (
    ROLL_UP_LEVELS,
    UNASSIGNED_HOLDER,
    BudgetHolderLine,
    BudgetHolderReport,
    CostCentre,
    LineTotals,
    TrialBalanceLineKey,
    commentary_threshold,
    needs_commentary,
    roll_up,
)
from outturn.engine.backends import memtable
from outturn.engine.ledger import TRIAL_BALANCE_KEYS, TRIAL_BALANCE_SCHEMA, line_figures_with_last_year
from outturn.services.backtest import figures_from_row
from outturn.services.position import forecast_members, position_members, resolve_request
from outturn.services.workspace import Workspace
from outturn.store import repository
from outturn.store import trial_balance_repository as tb_store

RollUpKey = tuple[str, CostCategory, str]  # organisation, category, subcategory: a line of the position


def workspace_threshold(workspace: Workspace) -> Threshold:
    """The workspace's commentary threshold (settings ``commentary_threshold_pounds`` and ``_percent``)."""
    settings = workspace.settings
    return commentary_threshold(
        int(settings.commentary_threshold_pounds), Fraction(str(settings.commentary_threshold_percent))
    )


@dataclass(frozen=True)
class _Line:
    row: Mapping[str, Any]

    @property
    def roll_up(self) -> RollUpKey:
        return (self.row["org_code"], CostCategory(self.row["category"]), self.row["subcategory"])

    @property
    def key(self) -> TrialBalanceLineKey:
        category, subcategory = CostCategory(self.row["category"]), self.row["subcategory"]
        return TrialBalanceLineKey.for_line(
            self.row["org_code"], category, subcategory, self.row["cost_centre"], self.row["subjective_code"]
        )


def line_forecasts(
    rows: Sequence[Mapping[str, Any]], roll_ups: Mapping[RollUpKey, LineForecast], as_at: FinancialMonth
) -> list[tuple[_Line, Pence, str]]:
    """Each trial-balance line's forecast and method, from the position's forecast of its roll-up."""
    grouped: dict[RollUpKey, list[_Line]] = {}
    for row in rows:
        line = _Line(row)
        grouped.setdefault(line.roll_up, []).append(line)
    found: list[tuple[_Line, Pence, str]] = []
    for parent_key, lines in grouped.items():
        parent = roll_ups[parent_key]
        if len(lines) == 1:
            found.append((lines[0], parent.forecast_outturn_pence, parent.method))
        elif parent.method in {method.value for method in EXTRAPOLATIONS}:
            found.extend(_extrapolated(lines, parent, as_at))
        else:
            shares = apportion(parent.forecast_outturn_pence, _budget_weights(lines))
            found.extend((line, share, f"{parent.method} (shared)") for line, share in zip(lines, shares, strict=True))
    return found


def _budget_weights(lines: Sequence[_Line]) -> list[int]:
    budgets = [max(line.row["annual_budget_pence"], 0) for line in lines]
    return budgets if any(budgets) else [1] * len(lines)


def _extrapolated(
    lines: Sequence[_Line], parent: LineForecast, as_at: FinancialMonth
) -> list[tuple[_Line, Pence, str]]:
    """Each line by the parent's method, then the parent's forecast less their sum (a method such as exit-rate or
    seasonal does not add up over lines, and the parent's figure holds its one-offs) shared by budget, so that the
    lines add up to the position's figure to the penny: the budget holders and the position show one forecast."""
    own = [forecast_line(figures_from_row(line.row), as_at, ForecastMethod(parent.method))[0] for line in lines]
    left = parent.forecast_outturn_pence - sum(forecast.forecast_outturn_pence for forecast in own)
    shares = apportion(left, _budget_weights(lines)) if left else [0] * len(lines)
    return [
        (line, forecast.forecast_outturn_pence + share, forecast.method)
        for line, forecast, share in zip(lines, own, shares, strict=True)
    ]


def budget_holder_report(
    workspace: Workspace, holder: str | None = None, as_at: str | None = None, org_code: str | None = None
) -> BudgetHolderReport:
    """The lines of ``holder`` (None: every holder) in the ledgers the organisation's position sums (the
    workspace's default organisation unless given), as at ``as_at`` (else the workspace's month)."""
    request = resolve_request(workspace, org_code, as_at, None)
    tree, org, members = position_members(workspace, request)
    parents, _warnings, _choices = forecast_members(workspace, request, tree, members)
    roll_ups = {(item.figures.org_code, item.figures.category, item.figures.subcategory): item for item in parents}
    year = request.as_at.year
    with workspace.store.reading() as session:
        stored = repository.ledger_rows(session, members, [year.start_year, year.start_year - 1], with_codes=True)
        centres = tb_store.cost_centres(session, members)
        subjectives = tb_store.subjective_descriptions(session)
    ledger = memtable(stored, TRIAL_BALANCE_SCHEMA)
    rows = workspace.backend.to_rows(
        line_figures_with_last_year(
            ledger, year=year.start_year, as_at_month=request.as_at.number, keys=TRIAL_BALANCE_KEYS
        )
    )
    threshold = workspace_threshold(workspace)
    lines = [
        _holder_line(line, forecast, method, centres, subjectives, threshold)
        for line, forecast, method in line_forecasts(rows, roll_ups, request.as_at)
    ]
    chosen = [line for line in lines if holder is None or line.budget_holder.casefold() == holder.casefold()]
    chosen.sort(key=lambda line: (line.budget_holder, line.key))
    return BudgetHolderReport(org.code, request.as_at, holder, threshold, tuple(chosen))


def _holder_line(
    line: _Line,
    forecast: Pence,
    method: str,
    centres: Mapping[tuple[str, str], CostCentre],
    subjectives: Mapping[str, str],
    threshold: Threshold,
) -> BudgetHolderLine:
    row = line.row
    centre = centres.get((row["org_code"], row["cost_centre"]))
    annual, ytd_budget, ytd_actual = row["annual_budget_pence"], row["ytd_budget_pence"], row["ytd_actual_pence"]
    return BudgetHolderLine(
        key=line.key,
        cost_centre_description=centre.description if centre else "",
        subjective_description=subjectives.get(row["subjective_code"], "") if row["cost_centre"] else "",
        category=CostCategory(row["category"]),
        subcategory=row["subcategory"],
        budget_holder=centre.budget_holder if centre else UNASSIGNED_HOLDER,
        annual_budget_pence=annual,
        ytd_budget_pence=ytd_budget,
        ytd_actual_pence=ytd_actual,
        forecast_outturn_pence=forecast,
        forecast_method=method,
        needs_commentary=needs_commentary(threshold, ytd_budget, ytd_budget - ytd_actual, annual, annual - forecast),
    )


def ledger_roll_up(
    workspace: Workspace, level: str, as_at: str | None = None, org_code: str | None = None
) -> tuple[BudgetHolderReport, tuple[LineTotals, ...]]:
    """Every line of the budget holders' report summed by ``level``: category, cost_centre, budget_holder or
    organisation (see ``domain.trial_balance.roll_up``)."""
    level = level.strip().lower().replace("-", "_")
    if level not in ROLL_UP_LEVELS:
        raise BadInput(f"unknown roll-up level {level!r} (one of: {', '.join(ROLL_UP_LEVELS)})")
    report = budget_holder_report(workspace, None, as_at, org_code)
    return report, roll_up(report.lines, level)


def holder_cost_centres(workspace: Workspace, holder: str) -> list[CostCentre]:
    """The cost centres ``holder`` answers for (names compared without regard to case), every organisation's."""
    with workspace.store.reading() as session:
        centres = tb_store.all_cost_centres(session)
    return [centre for centre in centres if centre.budget_holder.casefold() == holder.strip().casefold()]
