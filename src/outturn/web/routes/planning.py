"""The planning bridge's API: ``/api/plan/bridge`` is ``outturn plan bridge --format json``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from outturn.reports.planning import bridge_document
from outturn.services import planning
from outturn.web.security import Reader, WorkspaceDep

router = APIRouter()


@router.get("/api/plan/bridge", tags=["plan"])
async def plan_bridge_api(
    _user: Reader, workspace: WorkspaceDep, year: str | None = None, years: int = 1, org: str | None = None
) -> dict[str, Any]:
    """The bridge from the underlying position to the savings requirement, as ``outturn plan bridge --format
    json``: ``year``, ``years``, ``organisations`` (each: ``org_code``, ``name``, ``years`` with ``steps``
    (``label``, ``kind``, ``pence``, ``running_pence``, ``recurrent``), ``savings_requirement_pence``,
    ``savings_requirement_share``, ``carried_forward_pence``…) and their ``total``."""
    return bridge_document(await run_in_threadpool(planning.bridge, workspace, year, years, org))
