"""The position by category, and the bridge from the planned to the forecast surplus, for a page and the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from outturn.domain.position import Position
from outturn.reports.backtest import backtest_document
from outturn.reports.pack_charts import backtest_chart, fan_svg, waterfall_svg
from outturn.reports.pack_html import SYNTHETIC_NOTE
from outturn.reports.position import position_document
from outturn.services.pack import report_notes
from outturn.services.position import compute_backtest
from outturn.services.workspace import Workspace
from outturn.web.routes.overview import cached_overview
from outturn.web.security import Reader, WorkspaceDep
from outturn.web.templating import render

router = APIRouter()


def _backtest(workspace: Workspace, org: str | None, as_at: str | None) -> dict[str, Any]:
    return backtest_document(compute_backtest(workspace, org, as_at))


async def cached_backtest(request: Request, workspace: Workspace, org: str | None, as_at: str | None) -> dict[str, Any]:
    key = ("backtest", (org or "").upper() or None, as_at)
    found: dict[str, Any] = await request.app.state.cache.get_async(key, lambda: _backtest(workspace, org, as_at))
    return found


async def _backtest_chart(request: Request, workspace: Workspace, position: Position) -> Markup | None:
    """The methods' back-test at the position's month, drawn (SYNTHETIC in its title where the data are)."""
    as_at = position.as_at.calendar_label
    document = await cached_backtest(request, workspace, position.org_code, as_at)

    def draw() -> str | None:
        synthetic = any(SYNTHETIC_NOTE in note for note in report_notes(workspace))
        return backtest_chart(document, synthetic=synthetic)

    # drawn by matplotlib from our own figures and method names: nothing a user typed
    drawn = request.app.state.cache.get(("backtest-svg", position.org_code, as_at), draw)
    return Markup(drawn) if drawn else None


@router.get("/position", include_in_schema=False)
async def position_page(
    request: Request, _user: Reader, workspace: WorkspaceDep, org: str | None = None, as_at: str | None = None
) -> Response:
    found = await cached_overview(request, workspace, org, as_at)
    document = position_document(found.position)
    title = f"From control total to forecast, {found.position.as_at.label} {found.position.as_at.year.label} (£m)"
    key = ("bridge-svg", found.position.org_code, found.position.as_at.label, found.position.as_at.year.label)
    # drawn by matplotlib from our own figures and category labels: nothing a user typed
    chart = Markup(request.app.state.cache.get(key, lambda: waterfall_svg(document["bridge"], title)))
    context = {
        "active": "position",
        "p": found.position,
        "doc": document,
        "bridge_chart": chart,
        "fan_chart": None,
        "backtest_chart": await _backtest_chart(request, workspace, found.position),
    }
    if found.fan:
        position = found.position
        fan_title = f"Forecast year-end surplus/(deficit) as the months resolve ({found.trials:,} simulated years, £m)"
        context["fan_chart"] = Markup(
            request.app.state.cache.get(
                ("fan-svg", *key[1:]),
                lambda: fan_svg(found.fan, position.control_total_pence, position.forecast_surplus_pence, fan_title),
            )
        )
    return render(request, "position.html", context)


@router.get("/api/position", tags=["position"])
async def position_api(
    request: Request, _user: Reader, workspace: WorkspaceDep, org: str | None = None, as_at: str | None = None
) -> dict[str, Any]:
    """The position as ``outturn position --format json`` gives it (by category, bridge, risk range)."""
    return position_document((await cached_overview(request, workspace, org, as_at)).position)


@router.get("/api/forecast/backtest", tags=["position"])
async def backtest_api(
    request: Request, _user: Reader, workspace: WorkspaceDep, org: str | None = None, as_at: str | None = None
) -> dict[str, Any]:
    """Every forecast method back-tested on the past years held, as ``outturn forecast backtest --format json``
    gives it (rows, MAPE and bias per method and per category, by month, and ``auto``'s choices)."""
    return await cached_backtest(request, workspace, org, as_at)
