"""The financial plan: the ``/plan`` page (the bridge from the underlying position to the savings requirement, its
years side by side and each year's waterfall), ``/api/plan/bridge`` (``outturn plan bridge --format json``) and
``/api/savings/rollup`` (``outturn savings rollup --format json``, ``level=programme`` included)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from outturn.domain.errors import BadInput, NotFound
from outturn.domain.savings_rollup import RollupLevel
from outturn.reports.pack_charts import waterfall_svg
from outturn.reports.planning import bridge_document, programme_rollup_document
from outturn.reports.planning_page import plan_page, waterfall_steps
from outturn.reports.savings import rollup_document
from outturn.services import planning, savings
from outturn.services.workspace import Workspace
from outturn.web import drawing
from outturn.web.security import Reader, WorkspaceDep
from outturn.web.templating import render

router = APIRouter()
PROGRAMME_LEVEL = "programme"
LEVELS = (*(level.value for level in RollupLevel), PROGRAMME_LEVEL)


@router.get("/api/plan/bridge", tags=["plan"])
async def plan_bridge_api(
    _user: Reader, workspace: WorkspaceDep, year: str | None = None, years: int = 1, org: str | None = None
) -> dict[str, Any]:
    """The bridge from the underlying position to the savings requirement, as ``outturn plan bridge --format
    json``: ``year``, ``years``, ``organisations`` (each: ``org_code``, ``name``, ``years`` with ``steps``
    (``label``, ``kind``, ``pence``, ``running_pence``, ``recurrent``, and for a step given as a share its
    ``share``, ``base`` and ``base_pence``), ``savings_requirement_pence``, ``savings_requirement_share``,
    ``carried_forward_pence``…) and their ``total``."""
    return bridge_document(await run_in_threadpool(planning.bridge, workspace, year, years, org))


def _rollup(workspace: Workspace, level: str, org: str | None, as_at: str | None) -> list[dict[str, Any]]:
    if level == PROGRAMME_LEVEL:
        return programme_rollup_document(planning.programme_rollup(workspace, org))
    if level not in LEVELS:
        raise BadInput(f"a savings rollup is by one of: {', '.join(LEVELS)}; not {level!r}")
    month = workspace.month(as_at)
    return rollup_document(savings.savings_rollup(workspace, month, RollupLevel(level), org.upper() if org else None))


@router.get("/api/savings/rollup", tags=["savings"])
async def savings_rollup_api(
    _user: Reader,
    workspace: WorkspaceDep,
    level: str = "organisation",
    org: str | None = None,
    as_at: str | None = None,
) -> list[dict[str, Any]]:
    """The savings rolled up, as ``outturn savings rollup --format json``: by ``level`` (organisation, icb,
    region, national or workstream: plan, delivered, forecast, shortfall and risk-adjusted at ``as_at``), or
    ``level=programme``: each programme's ``org_codes``, each year's ``target_pence``, ``identified_pence`` and
    ``unidentified_pence``, and their totals across the years."""
    return await run_in_threadpool(_rollup, workspace, level, org, as_at)


def _plan_context(workspace: Workspace, year: str | None, org: str | None) -> dict[str, Any]:
    years = planning.planned_years(workspace, year)
    document = bridge_document(planning.bridge(workspace, year, years))
    page = plan_page(document, org)
    draws: list[drawing.Draw] = [
        (waterfall_svg, (waterfall_steps(found), f"{found['year']}: from the position to the savings requirement (£m)"))
        for found in page.plan["years"]
    ]
    # drawn by matplotlib from our figures and the plan's step labels, which the SVG writer escapes
    charts = [Markup(chart) for chart in drawing.draw_all(draws)]
    return {"doc": document, "page": page, "charts": charts, "org": (org or "").strip().upper()}


@router.get("/plan", include_in_schema=False)
async def plan_page_view(
    request: Request, _user: Reader, workspace: WorkspaceDep, year: str | None = None, org: str | None = None
) -> Response:
    """The plan for the year after the workspace's (or ``year``) and every later year with assumptions: the bridge
    as a table and a waterfall, the years side by side, the requirement in pounds and as a share of allocation."""
    try:
        context = await run_in_threadpool(_plan_context, workspace, year, org)
    except NotFound as missing:
        if missing.needs != "plan-assumptions":
            raise
        context = {"doc": None, "missing": str(missing)}
    return render(request, "plan.html", {"active": "plan", **context})
