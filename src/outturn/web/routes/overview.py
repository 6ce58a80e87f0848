"""The overview: the position, the gap to the control total, the chance of meeting it, top risks, savings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from outturn.reports.position import position_document
from outturn.reports.savings import figures_document
from outturn.services.web import Overview, overview
from outturn.web.security import CurrentUser, Reader, WorkspaceDep
from outturn.web.templating import render

router = APIRouter()


async def cached_overview(request: Request, workspace: WorkspaceDep, org: str | None, as_at: str | None) -> Overview:
    key = ("overview", (org or "").upper() or None, as_at)
    result: Overview = await request.app.state.cache.get_async(key, lambda: overview(workspace, org, as_at))
    return result


def overview_document(found: Overview) -> dict[str, Any]:
    return {
        "position": position_document(found.position),
        "p_meet_control_total": found.p_meet_control_total,
        "trials": found.trials,
        "top_risks": [
            {
                "org_code": item.org_code,
                "description": item.description,
                "category": item.category.value if item.category else None,
                "value_pence": item.value_pence,
                "likelihood": float(item.likelihood),
                "expected_pence": round(item.value_pence * item.likelihood),
            }
            for item in found.top_risks
        ],
        "savings": figures_document(found.savings),
        "reconciliation": found.reconciliation,
        "notes": list(found.notes),
    }


@router.get("/", include_in_schema=False)
async def overview_page(
    request: Request, user: CurrentUser, workspace: WorkspaceDep, org: str | None = None, as_at: str | None = None
) -> Response:
    if not user.sees_everything:
        return RedirectResponse(f"/practices/{user.org_code}", status_code=303)
    found = await cached_overview(request, workspace, org, as_at)
    return render(request, "overview.html", {"active": "overview", "o": found, "doc": overview_document(found)})


@router.get("/api/overview", tags=["overview"])
async def overview_api(
    request: Request, _user: Reader, workspace: WorkspaceDep, org: str | None = None, as_at: str | None = None
) -> dict[str, Any]:
    """The overview's figures: ``position`` (as ``outturn position --format json``), ``p_meet_control_total``
    (Monte Carlo, ``trials`` trials, seed 1), ``reconciliation`` (that simulation's mean reconciled to the
    position's likely, as ``outturn risk simulate --format json`` gives it), ``top_risks`` (largest expected value
    first) and ``savings`` (as ``outturn savings rollup --format json`` summed over the organisation)."""
    return overview_document(await cached_overview(request, workspace, org, as_at))
