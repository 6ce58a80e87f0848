"""The position by category, and the bridge from the planned to the forecast surplus, for a page and the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from outturn.domain.position import Position
from outturn.reports.forecast_history import history_document
from outturn.reports.pack_charts import drift_svg, fan_svg, waterfall_svg
from outturn.reports.position import position_document
from outturn.services.forecast_history import position_history
from outturn.services.workspace import Workspace
from outturn.web.routes.overview import cached_overview
from outturn.web.security import Reader, WorkspaceDep
from outturn.web.templating import render

router = APIRouter()


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
    context = {"active": "position", "p": found.position, "doc": document, "bridge_chart": chart, "fan_chart": None}
    context.update(await _drift(request, workspace, found.position))
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


async def _drift(request: Request, workspace: Workspace, position: Position) -> dict[str, Any]:
    """The forecast history to the position's month and its drift chart (none before the first close)."""
    cache = request.app.state.cache
    key = (position.org_code, position.as_at.label, position.as_at.year.label)
    history = await cache.get_async(
        ("history", *key),
        lambda: history_document(*position_history(workspace, position.org_code, up_to=position.as_at)),
    )
    if not history["months"]:
        return {"history": history, "drift_chart": None}
    title = f"Forecast surplus/(deficit) at each month-end close, {position.as_at.year.label} (£m)"
    # drawn from our own figures and month labels: nothing a user typed
    chart = Markup(await cache.get_async(("drift-svg", *key), lambda: drift_svg(history["months"], title)))
    return {"history": history, "drift_chart": chart}


@router.get("/api/position/history", tags=["position"])
async def position_history_api(
    _user: Reader, workspace: WorkspaceDep, org: str | None = None, year: str | None = None
) -> dict[str, Any]:
    """The forecast recorded at each month-end close, as ``outturn position history --format json`` gives it."""
    return history_document(*await run_in_threadpool(position_history, workspace, org, year))


@router.get("/api/position", tags=["position"])
async def position_api(
    request: Request, _user: Reader, workspace: WorkspaceDep, org: str | None = None, as_at: str | None = None
) -> dict[str, Any]:
    """The position as ``outturn position --format json`` gives it (by category, bridge, risk range)."""
    return position_document((await cached_overview(request, workspace, org, as_at)).position)
