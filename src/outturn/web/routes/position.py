"""The position by category, and the bridge from the planned to the forecast surplus, for a page and the API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from markupsafe import Markup

from outturn.reports.pack_charts import fan_svg, waterfall_svg
from outturn.reports.position import position_document
from outturn.web.cache import NOTHING
from outturn.web.routes.overview import cached_overview
from outturn.web.security import Reader, WorkspaceDep
from outturn.web.templating import figures_headers, figures_note, render

router = APIRouter()


@router.get("/position", include_in_schema=False)
async def position_page(
    request: Request, _user: Reader, workspace: WorkspaceDep, org: str | None = None, as_at: str | None = None
) -> Response:
    cached = await cached_overview(request, workspace, org, as_at)
    found = cached.value
    document = position_document(found.position)
    title = f"From control total to forecast, {found.position.as_at.label} {found.position.as_at.year.label} (£m)"
    # drawn by matplotlib from our own figures and category labels (nothing a user typed), in the thread pool, and
    # kept by what they draw: the same figures are drawn once, whichever computation of them a page shows
    bridge = document["bridge"]
    chart = await request.app.state.cache.get_async(
        ("bridge-svg", title, repr(bridge)), lambda: waterfall_svg(bridge, title), NOTHING
    )
    context = {
        "active": "position",
        "p": found.position,
        "doc": document,
        "bridge_chart": Markup(chart),
        "fan_chart": None,
        **figures_note(cached),
    }
    if found.fan:
        position = found.position
        fan_title = f"Forecast year-end surplus/(deficit) as the months resolve ({found.trials:,} simulated years, £m)"
        drawn = (found.fan, position.control_total_pence, position.forecast_surplus_pence, fan_title)
        fan = await request.app.state.cache.get_async(("fan-svg", repr(drawn)), lambda: fan_svg(*drawn), NOTHING)
        context["fan_chart"] = Markup(fan)
    return render(request, "position.html", context)


@router.get("/api/position", tags=["position"])
async def position_api(
    request: Request, _user: Reader, workspace: WorkspaceDep, org: str | None = None, as_at: str | None = None
) -> JSONResponse:
    """The position as ``outturn position --format json`` gives it (by category, bridge, risk range); the headers
    say when its figures were computed (``X-Figures-As-At``, ``X-Figures-Refreshing``), as the overview's."""
    cached = await cached_overview(request, workspace, org, as_at)
    return JSONResponse(position_document(cached.value.position), headers=figures_headers(cached))
