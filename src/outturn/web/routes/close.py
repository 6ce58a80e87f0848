"""The savings month-end close: the closes made so far, closing the workspace's month (``services.savings
.close_month``: every scheme's plan and forecast frozen as at the month, never changed after), and the movement
between the last two closes, scheme by scheme (as ``outturn savings close-month`` and ``savings movement``).

Finance and admin close a month, and reopen a closed one with a reason (``services.savings.reopen_month``, as
``outturn savings reopen-month``: recorded with who, when and why); board reads; practice users are refused (the
close covers every scheme). A month closes once: a second attempt is refused with 409 and a message saying so.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from outturn.domain.errors import BadInput, Conflict
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.reports.savings import closed_document, movement_document, reopened_document
from outturn.services import savings
from outturn.services.web import MonthEndClose, month_end_closes
from outturn.services.workspace import Workspace
from outturn.web.routes.savings import as_at_month
from outturn.web.security import Editor, Reader, WorkspaceDep, after_write
from outturn.web.templating import render

router = APIRouter()


def _month(close: MonthEndClose) -> FinancialMonth:
    return FinancialMonth(FinancialYear(close.start_year), close.month)


def close_document(workspace: Workspace) -> dict[str, Any]:
    """The workspace's month, every close (oldest first) and the movement between the last two."""
    month = as_at_month(workspace, None)
    closes = month_end_closes(workspace)
    months = [_month(close) for close in closes]
    closed = savings.closed_months(workspace)
    movement = None
    if len(months) >= 2:
        earlier, later = months[-2], months[-1]
        movement = {
            "from": earlier.calendar_label,
            "to": later.calendar_label,
            **movement_document(savings.movement(workspace, earlier, later)),
        }
    return {
        "as_at": month.calendar_label,
        "as_at_label": f"{month.label} {month.year.label}",
        "as_at_closed": month in closed,
        "as_at_reopened": month in months and month not in closed,
        "reopens": [
            {
                "month": change.month.calendar_label,
                "label": f"{change.month.label} {change.month.year.label}",
                "action": change.action,
                "at": change.at.isoformat(timespec="seconds"),
                "who": change.who,
                "reason": change.reason,
            }
            for change in savings.month_status_changes(workspace)
        ],
        "closes": [
            {
                "month": found.calendar_label,
                "label": f"{found.label} {found.year.label}",
                "closed_at": close.closed_at.isoformat(timespec="seconds"),
                "closed_by": close.closed_by,
            }
            for found, close in zip(months, closes, strict=True)
        ],
        "movement": movement,
    }


async def _close(request: Request, workspace: Workspace, who: str) -> dict[str, Any]:
    month = as_at_month(workspace, None)

    wrote = after_write(request)
    count = await run_in_threadpool(savings.close_month, workspace, month, who)
    await run_in_threadpool(wrote)
    return closed_document(month, count)


async def _reopen(request: Request, workspace: Workspace, who: str, reason: str) -> dict[str, Any]:
    month = as_at_month(workspace, None)
    wrote = after_write(request)
    await run_in_threadpool(savings.reopen_month, workspace, month, who, reason)
    await run_in_threadpool(wrote)
    return reopened_document(month, reason)


@router.get("/close", include_in_schema=False)
async def close_page(
    request: Request, _user: Reader, workspace: WorkspaceDep, closed: str | None = None, reopened: str | None = None
) -> Response:
    document = await run_in_threadpool(close_document, workspace)
    return render(
        request, "close.html", {"active": "close", "just_closed": closed, "just_reopened": reopened, **document}
    )


@router.post("/close/reopen", include_in_schema=False)
async def reopen_month_page(
    request: Request, user: Editor, workspace: WorkspaceDep, reason: Annotated[str, Form()] = ""
) -> Response:
    """Reopen the workspace's month with the reason given; the page again with the refusal (422 without a reason,
    409 when the month is not closed), nothing recorded."""
    try:
        result = await _reopen(request, workspace, user.username, reason)
    except (Conflict, BadInput) as error:
        document = await run_in_threadpool(close_document, workspace)
        context = {"active": "close", "error": str(error), "error_title": "The month was not reopened", **document}
        return render(request, "close.html", context, status_code=409 if isinstance(error, Conflict) else 422)
    return RedirectResponse(f"/close?reopened={result['reopened']}", status_code=303)


@router.post("/close", include_in_schema=False)
async def close_month_page(request: Request, user: Editor, workspace: WorkspaceDep) -> Response:
    try:
        result = await _close(request, workspace, user.username)
    except Conflict as error:
        document = await run_in_threadpool(close_document, workspace)
        return render(request, "close.html", {"active": "close", "error": str(error), **document}, status_code=409)
    return RedirectResponse(f"/close?closed={result['closed']}", status_code=303)


@router.get("/api/close", tags=["savings"])
async def close_api(_user: Reader, workspace: WorkspaceDep) -> dict[str, Any]:
    """The savings month-end closes: ``as_at`` (the workspace's month) and whether it is closed, ``closes``
    (``month`` YYYY-MM, ``closed_at``, ``closed_by``, oldest first) and ``movement`` between the last two (as
    ``outturn savings movement --format json``, with ``from`` and ``to``; null with fewer than two closes), and
    ``reopens``: each reopen (``action`` "reopen", with its ``reason``) and close again (``action`` "close")."""
    return await run_in_threadpool(close_document, workspace)


@router.post("/api/close", tags=["savings"])
async def close_month_api(request: Request, user: Editor, workspace: WorkspaceDep) -> Response:
    """Close the workspace's month for savings (finance and admin): ``{"closed": "YYYY-MM", "schemes": n}`` as
    ``outturn savings close-month --format json``. 409 when the month is already closed (a close never changes)."""
    try:
        return JSONResponse(await _close(request, workspace, user.username))
    except Conflict as error:
        return JSONResponse({"error": str(error)}, status_code=409)


class ReopenBody(BaseModel):
    reason: str


@router.post("/api/close/reopen", tags=["savings"])
async def reopen_month_api(request: Request, user: Editor, workspace: WorkspaceDep, body: ReopenBody) -> Response:
    """Reopen the workspace's closed month so its ledger can be corrected (finance and admin), recording who, when
    and ``reason``: ``{"reopened": "YYYY-MM", "reason": ...}`` as ``outturn savings reopen-month --format json``.
    422 without a reason; 409 when the month is not closed."""
    try:
        return JSONResponse(await _reopen(request, workspace, user.username, body.reason))
    except Conflict as error:
        return JSONResponse({"error": str(error)}, status_code=409)
    except BadInput as error:
        return JSONResponse({"error": str(error)}, status_code=422)
