"""The position's monthly spend: budget against actual by month to the position's month and the forecast to M12,
per category and for all categories (``domain.monthly_spend``), from the ledger of the position's members."""

from __future__ import annotations

from outturn.domain.monthly_spend import SpendSeries, monthly_spend
from outturn.domain.position import Position
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
