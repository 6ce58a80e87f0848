"""The position by category, and the bridge from the planned to the forecast surplus, for a page and the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from outturn.domain.year_end import P10, P50, P90
from outturn.reports.pack_charts import fan_svg, waterfall_svg
from outturn.reports.position import position_document
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
    context = {
        "active": "position",
        "p": found.position,
        "o": found,
        "doc": document,
        "bridge_chart": chart,
        "fan_chart": None,
    }
    if found.fan:
        position = found.position
        fan_title = (
            f"Simulated year-end as the months resolve: {P10}, {P50}, {P90} ({found.trials:,} simulated years, £m)"
        )
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
