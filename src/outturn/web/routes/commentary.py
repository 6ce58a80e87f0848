"""The commentary page: a budget holder's lines as at the month, those needing commentary first, each with a text
box; and its API (``/api/commentary`` is ``outturn commentary list --format json``; a POST writes one line's).

Who sees and writes what: a budget holder user sees only their own lines and writes only their commentary (asking
for another holder's lines is refused, 403; writing on a line that is not theirs is answered as a line that does
not exist, 404); finance and admin see every line (or one holder's, ``?holder=``) and write on any; board users
read every line and write none; practice users are refused the page.

A write that the rules refuse (empty text, too long) stores nothing and shows the page again with the reason
(422); a write from an old version likewise (409, with the version now stored).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from outturn.domain.errors import BadInput, Conflict
from outturn.services import commentary
from outturn.services.commentary import TrialBalanceLineKey
from outturn.services.users import Role, User
from outturn.services.workspace import Workspace
from outturn.web.security import CurrentUser, Forbidden, WorkspaceDep, after_write
from outturn.web.templating import render

router = APIRouter()
WRITERS = frozenset({Role.FINANCE, Role.ADMIN, Role.BUDGET_HOLDER})


async def commentary_reader(user: CurrentUser) -> User:
    """Everyone but practice users; a budget holder user only for their own lines (see ``holder_for``)."""
    if user.role is Role.PRACTICE:
        raise Forbidden("commentary is for finance, budget holders and the board; practice users see their practice")
    return user


CommentaryReader = Annotated[User, Depends(commentary_reader)]


def holder_for(user: User, asked: str | None) -> str | None:
    """Whose lines the user may see: a budget holder only their own (another's is refused); others whoever they
    ask for (None: every line)."""
    if user.role is not Role.BUDGET_HOLDER:
        return asked or None
    mine = user.budget_holder or ""
    if asked and asked.casefold() != mine.casefold():
        raise Forbidden(f"{user.username} may see only {mine}'s lines")
    return mine


def may_write(user: User) -> bool:
    return user.role in WRITERS


async def _form(request: Request) -> dict[str, str]:
    return {key: value for key, value in (await request.form()).items() if isinstance(value, str)}


def _key(form: dict[str, str]) -> TrialBalanceLineKey:
    return TrialBalanceLineKey(
        form.get("org_code", "").strip().upper(),
        form.get("cost_centre", "").strip(),
        form.get("subjective_code", "").strip(),
    )


def _version(form: dict[str, str]) -> int:
    text = form.get("version", "").strip()
    if not text.isdigit():
        raise BadInput("the form has no version of the commentary: reload the page and try again")
    return int(text)


def line_anchor(org_code: str, cost_centre: str, subjective_code: str) -> str:
    """The HTML id of a line's row on the page."""
    return "line-" + quote(f"{org_code}-{cost_centre}-{subjective_code}", safe="").replace("%", "_")


async def _page(
    request: Request, workspace: Workspace, user: User, as_at: str | None, holder: str | None, **extra: Any
) -> dict[str, Any]:
    document = await run_in_threadpool(commentary.commentary_list, workspace, as_at, holder)
    for line in document["lines"]:
        line["anchor"] = line_anchor(line["org_code"], line["cost_centre"], line["subjective_code"])
        line["writable"] = may_write(user) and not document["month_closed"]
    # finance, admin and board may narrow the page to one holder's lines (a budget holder sees only their own)
    holders = sorted({line["budget_holder"] for line in document["lines"] if line["budget_holder"]})
    choices = [] if user.role is Role.BUDGET_HOLDER else holders if holder is None else [holder]
    return {"doc": document, "active": "commentary", "holder": holder, "holder_choices": choices, **extra}


@router.get("/commentary", include_in_schema=False)
async def commentary_page(
    request: Request,
    user: CommentaryReader,
    workspace: WorkspaceDep,
    as_at: str | None = None,
    holder: str | None = None,
) -> Response:
    context = await _page(request, workspace, user, as_at, holder_for(user, holder))
    return render(request, "commentary.html", context)


def _write(workspace: Workspace, user: User, form: dict[str, str]) -> dict[str, Any]:
    holder = holder_for(user, None)
    key, version, as_at = _key(form), _version(form), form.get("as_at") or None
    if form.get("copy_last_month", "").strip().lower() not in ("", "0", "false", "no"):
        return commentary.copy_last_month(workspace, key, as_at, version, user.username, holder)
    return commentary.write_commentary(workspace, key, as_at, form.get("text", ""), version, user.username, holder)


@router.post("/commentary", include_in_schema=False)
async def write_commentary(request: Request, user: CommentaryReader, workspace: WorkspaceDep) -> Response:
    """One line's commentary from the page's form; back to the page at the line, or the page again with why not."""
    if not may_write(user):
        raise Forbidden(f"a {user.role.value} user cannot write commentary")
    form = await _form(request)
    as_at, holder = form.get("as_at") or None, form.get("holder") or None
    wrote = after_write(request)
    try:
        document = await run_in_threadpool(_write, workspace, user, form)
    except (Conflict, BadInput) as error:
        context = await _page(request, workspace, user, as_at, holder_for(user, holder), error=str(error))
        key = _key(form)
        context["error_anchor"] = line_anchor(key.org_code, key.cost_centre, key.subjective_code)
        return render(request, "commentary.html", context, 409 if isinstance(error, Conflict) else 422)
    await run_in_threadpool(wrote)
    query = urlencode({name: value for name, value in (("as_at", as_at), ("holder", holder)) if value})
    anchor = line_anchor(document["org_code"], document["cost_centre"], document["subjective_code"])
    return RedirectResponse(f"/commentary{'?' + query if query else ''}#{anchor}", status_code=303)


@router.get("/api/commentary", tags=["commentary"])
async def commentary_api(
    user: CommentaryReader,
    workspace: WorkspaceDep,
    as_at: str | None = None,
    holder: str | None = None,
    org: str | None = None,
) -> dict[str, Any]:
    """The lines as at the month (a budget holder user: only their own), with each line's commentary and last
    month's, as ``outturn commentary list --format json``: ``lines`` (``org_code``, ``cost_centre``,
    ``subjective_code``, ``budget_holder``, ``ytd_variance_pence``, ``forecast_variance_pence``,
    ``forecast_method``, ``needs_commentary``, ``commentary``, ``last_month``…), ``needing_commentary``,
    ``missing_commentary``."""
    chosen = holder_for(user, holder)
    return await run_in_threadpool(commentary.commentary_list, workspace, as_at, chosen, org)


@router.post("/api/commentary", tags=["commentary"])
async def commentary_write_api(request: Request, user: CommentaryReader, workspace: WorkspaceDep) -> dict[str, Any]:
    """Write one line's commentary for the month (form or JSON: ``org_code``, ``cost_centre``,
    ``subjective_code``, ``version`` (0 for a line with none yet), ``text`` or ``copy_last_month``, ``as_at``), as
    ``outturn commentary write --format json``. 409 when someone changed it first; 404 for a line that is not
    the budget holder user's."""
    if not may_write(user):
        raise Forbidden(f"a {user.role.value} user cannot write commentary")
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.json()
        form = {key: str(value) for key, value in body.items() if value is not None} if isinstance(body, dict) else {}
    else:
        form = await _form(request)
    wrote = after_write(request)
    document = await run_in_threadpool(_write, workspace, user, form)
    await run_in_threadpool(wrote)
    return document
