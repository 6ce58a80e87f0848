"""The users page, for admins only: every account, and forms to add one, change a role (a budget holder user with
the holder's name, as the ledger's mapping spells it), disable or enable one and reset a password
(``services.users.add_user`` and ``services.user_admin``), so no administration needs the CLI.

Each change is audited with the admin's user name. An admin cannot disable themselves or take away their own admin
role, and the last active admin cannot be disabled or made something else: those are refused (409) with the reason
on the page. A change to an account drops its cached sessions here, so it holds from that account's next request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from outturn.domain.errors import OutturnError
from outturn.services import user_admin, users
from outturn.services.users import Role
from outturn.web.security import Admin, SessionCache, WorkspaceDep
from outturn.web.templating import render

router = APIRouter()
ROLE_LABELS = {
    Role.FINANCE: "finance (reads everything, edits schemes, imports, closes the month)",
    Role.BOARD: "board (reads everything, changes nothing)",
    Role.PRACTICE: "practice (its own practice and PCN)",
    Role.ADMIN: "admin (finance, and manages accounts)",
    Role.BUDGET_HOLDER: "budget holder (their own cost centres' lines and commentary)",
}


async def _page(request: Request, workspace: WorkspaceDep, **context: Any) -> Response:
    accounts = await run_in_threadpool(users.list_users, workspace)
    status = context.pop("status_code", 200)
    values = {"active": "users", "accounts": accounts, "roles": ROLE_LABELS, **context}
    return render(request, "users.html", values, status_code=status)


async def _change(
    request: Request, workspace: WorkspaceDep, username: str, change: Callable[[], Any], done: str
) -> Response:
    """Make one change; on success back to the page saying what was done, else the page with the reason."""
    try:
        await run_in_threadpool(change)
    except OutturnError as error:
        from outturn.web.app import web_failure  # the one mapping to HTTP (app.py includes this router: no cycle)

        status, _title, message = web_failure(error)
        return await _page(request, workspace, error=message, status_code=status)
    sessions: SessionCache = request.app.state.sessions
    sessions.forget_user(username)
    return RedirectResponse(f"/users?done={done}&user={username}", status_code=303)


@router.get("/users", include_in_schema=False)
async def users_page(
    request: Request, _user: Admin, workspace: WorkspaceDep, done: str | None = None, user: str | None = None
) -> Response:
    return await _page(request, workspace, done=done, done_user=user)


# look-alike of imports.upload's route: FastAPI form declarations, one per page.
@router.post("/users", include_in_schema=False)
async def add_user_page(
    request: Request,
    admin: Admin,
    workspace: WorkspaceDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[Role, Form()],
    display_name: Annotated[str, Form()] = "",
    org_code: Annotated[str, Form()] = "",
    budget_holder: Annotated[str, Form()] = "",
) -> Response:
    def add() -> None:
        users.add_user(
            workspace,
            username,
            password,
            role,
            org_code=org_code or None,
            display_name=display_name,
            budget_holder=budget_holder or None,
            added_by=admin.username,
        )

    return await _change(request, workspace, username.strip(), add, "added")


@router.post("/users/{username}/role", include_in_schema=False)
async def change_role_page(
    request: Request,
    admin: Admin,
    workspace: WorkspaceDep,
    username: str,
    role: Annotated[Role, Form()],
    org_code: Annotated[str, Form()] = "",
    budget_holder: Annotated[str, Form()] = "",
) -> Response:
    def change() -> None:
        user_admin.change_account(
            workspace, username, admin.username, role=role, org_code=org_code or None, budget_holder=budget_holder
        )

    return await _change(request, workspace, username, change, "role")


@router.post("/users/{username}/active", include_in_schema=False)
async def set_active_page(
    request: Request, admin: Admin, workspace: WorkspaceDep, username: str, active: Annotated[bool, Form()]
) -> Response:
    def change() -> None:
        user_admin.change_account(workspace, username, admin.username, active=active)

    return await _change(request, workspace, username, change, "enabled" if active else "disabled")


@router.post("/users/{username}/password", include_in_schema=False)
async def reset_password_page(
    request: Request, admin: Admin, workspace: WorkspaceDep, username: str, password: Annotated[str, Form()]
) -> Response:
    def reset() -> None:
        user_admin.reset_password(workspace, username, password, admin.username)

    return await _change(request, workspace, username, reset, "password")
