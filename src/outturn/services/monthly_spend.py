"""The position's monthly spend: budget against actual by month to the position's month and the forecast to M12,
per category and for all categories (``domain.monthly_spend``), from the ledger of the position's members."""

from __future__ import annotations

from outturn.domain.money import Pence
from outturn.domain.monthly_spend import SpendSeries, monthly_spend
from outturn.domain.position import Position
from outturn.domain.trial_balance import BudgetHolderReport
from outturn.services.workspace import Workspace
from outturn.store import repository


def position_monthly_spend(workspace: Workspace, position: Position) -> tuple[SpendSeries, ...]:
    """All categories first, then each category of the position in its order, each ending at its forecast
    outturn."""
    year = position.as_at.year.start_year
    with workspace.store.reading() as session:
        rows = repository.ledger_rows(session, position.member_codes, [year])
    forecasts = {row.category.value: row.forecast_outturn_pence for row in position.by_category}
    labels = {row.category.value: row.category.label for row in position.by_category}
    return monthly_spend(
        [row for row in rows if row["year"] == year],
        position.as_at.number,
        forecasts,
        labels,
    )


def cost_centre_monthly_spend(workspace: Workspace, report: BudgetHolderReport) -> tuple[SpendSeries, ...]:
    """The same charts per cost centre of ``report``'s lines (one holder's, or every holder's): all of them first,
    then each cost centre in the report's order, each ending at the sum of its lines' forecast outturns. A cost
    centre is keyed ``ORG CODE`` (a category-level ledger's "cost centre" is its category, as in
    ``TrialBalanceLineKey``)."""
    forecasts: dict[str, Pence] = {}
    labels: dict[str, str] = {}
    for line in report.lines:
        key = _centre_key(line.key.org_code, line.key.cost_centre)
        forecasts[key] = forecasts.get(key, 0) + line.forecast_outturn_pence
        labels[key] = " ".join(filter(None, (line.key.cost_centre, line.cost_centre_description)))
    year = report.as_at.year.start_year
    orgs = {line.key.org_code for line in report.lines}
    with workspace.store.reading() as session:
        rows = repository.ledger_rows(session, orgs, [year], with_codes=True)
    keyed = [{**row, "centre": _centre_key(row["org_code"], row["cost_centre"] or row["category"])} for row in rows]
    return monthly_spend(keyed, report.as_at.number, forecasts, labels, by="centre")


def _centre_key(org_code: str, cost_centre: str) -> str:
    return f"{org_code} {cost_centre}"
