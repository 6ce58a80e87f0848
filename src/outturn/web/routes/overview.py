"""The overview: the position, the gap to the control total, the chance of meeting it, top risks, savings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from outturn.reports.position import position_document
from outturn.reports.registers import risk_row
from outturn.reports.savings import figures_document
from outturn.services.web import Overview, overview
from outturn.web.cache import EVERYTHING, Cached
from outturn.web.routes.contracts import names_of
from outturn.web.security import CurrentUser, Reader, WorkspaceDep, reader_of
from outturn.web.templating import figures_headers, figures_note, render

router = APIRouter()


def _key(org: str | None, as_at: str | None) -> tuple[str, str | None, str | None]:
    return ("overview", (org or "").upper() or None, as_at)


async def cached_overview(
    request: Request, workspace: WorkspaceDep, org: str | None, as_at: str | None
) -> Cached[Overview]:
    """The overview's figures, which read nearly everything: while a change is added to them (in the background)
    the previous figures are served, saying so, except to whoever made the change."""
    found: Cached[Overview] = await request.app.state.cache.figures_async(
        _key(org, as_at), lambda: overview(workspace, org, as_at), EVERYTHING, reader_of(request)
    )
    return found


def overview_document(found: Overview) -> dict[str, Any]:
    return {
        "position": position_document(found.position),
        "p_meet_control_total": found.p_meet_control_total,
        "trials": found.trials,
        "top_risks": [risk_row(item) for item in found.top_risks],
        "savings": figures_document(found.savings),
        "reconciliation": found.reconciliation,
        "notes": list(found.notes),
    }


@router.get("/", include_in_schema=False)
async def overview_page(
    request: Request, user: CurrentUser, workspace: WorkspaceDep, org: str | None = None, as_at: str | None = None
) -> Response:
    if not user.sees_everything:
        return RedirectResponse(user.home, status_code=303)
    cached = await cached_overview(request, workspace, org, as_at)
    found = cached.value
    names = await names_of(request, workspace, found.position.as_at)
    context = {
        "active": "overview",
        "o": found,
        "doc": overview_document(found),
        "names": names,
        **figures_note(cached),
    }
    return render(request, "overview.html", context)


@router.get("/api/overview", tags=["overview"])
async def overview_api(
    request: Request, _user: Reader, workspace: WorkspaceDep, org: str | None = None, as_at: str | None = None
) -> JSONResponse:
    """The overview's figures: ``position`` (as ``outturn position --format json``), ``p_meet_control_total``
    (Monte Carlo, ``trials`` trials, seed 1), ``reconciliation`` (that simulation's mean reconciled to the
    position's likely, as ``outturn risk simulate --format json`` gives it), ``top_risks`` (largest expected value
    first) and ``savings`` (as ``outturn savings rollup --format json`` summed over the organisation). The
    ``X-Figures-As-At`` header says when they were computed, and ``X-Figures-Refreshing: true`` that a newer change
    is being added to them."""
    cached = await cached_overview(request, workspace, org, as_at)
    return JSONResponse(overview_document(cached.value), headers=figures_headers(cached))
