"""The position by category, and the bridge from the planned to the forecast surplus, for a page and the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

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
    return render(request, "position.html", {"active": "position", "p": found.position, "doc": document})


@router.get("/api/position", tags=["position"])
async def position_api(
    request: Request, _user: Reader, workspace: WorkspaceDep, org: str | None = None, as_at: str | None = None
) -> dict[str, Any]:
    """The position as ``outturn position --format json`` gives it (by category, bridge, risk range)."""
    return position_document((await cached_overview(request, workspace, org, as_at)).position)
