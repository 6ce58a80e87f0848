"""Signing in and out, for pages (the login form) and for API clients (``/api/session``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from outturn.services import users
from outturn.services.users import LoginRefused, SignedIn, TooManyAttempts, User
from outturn.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    WorkspaceDep,
    client_address,
    csrf_token_for,
    optional_user,
    set_login_csrf_cookie,
    set_session_cookie,
)
from outturn.web.templating import render

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _user_document(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "org_code": user.org_code,
        "visible_orgs": None if user.visible_orgs is None else sorted(user.visible_orgs),
        "budget_holder": user.budget_holder,
        "can_edit": user.can_edit,
    }


def _login_page(request: Request, status: int = 200, **context: Any) -> Response:
    token = csrf_token_for(request)
    response = render(request, "login.html", {"next": _safe_next(request.query_params.get("next")), **context}, status)
    if optional_user(request) is None:
        set_login_csrf_cookie(request, response, token)
    return response


@router.get("/login", include_in_schema=False)
def login_page(request: Request) -> Response:
    return _login_page(request)


def _sign_in(request: Request, workspace: WorkspaceDep, username: str, password: str) -> SignedIn:
    idle = request.app.state.sessions.idle
    signed_in = users.sign_in(workspace, username, password, client_address(request), idle)
    request.state.session = (signed_in.user, signed_in.csrf_token)
    return signed_in


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    workspace: WorkspaceDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next_page: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    try:
        signed_in = _sign_in(request, workspace, username, password)
    except TooManyAttempts as error:
        response = _login_page(request, 429, error=str(error), username=username)
        response.headers["Retry-After"] = str(error.retry_after_seconds)
        return response
    except LoginRefused as error:
        return _login_page(request, 401, error=str(error), username=username)
    response = RedirectResponse(_safe_next(next_page), status_code=303)
    set_session_cookie(request, response, signed_in.token)
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, workspace: WorkspaceDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        users.sign_out(workspace, token)
        request.app.state.sessions.forget(token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


class Credentials(BaseModel):
    username: str
    password: str


@router.get("/api/session", tags=["session"])
def session_state(request: Request) -> JSONResponse:
    """Who is signed in, and the CSRF token every POST must send in ``X-CSRF-Token``. Before sign-in it sets
    the login cookie whose token (returned here) the POST to this address must carry."""
    user = optional_user(request)
    token = csrf_token_for(request)
    response = JSONResponse(
        {"signed_in": user is not None, "user": _user_document(user) if user else None, "csrf_token": token}
    )
    if user is None:
        set_login_csrf_cookie(request, response, token)
    return response


@router.post("/api/session", tags=["session"])
def api_sign_in(request: Request, workspace: WorkspaceDep, credentials: Credentials) -> JSONResponse:
    """Sign in: sets the session cookie and returns the session's CSRF token. 401 wrong user name or password,
    429 too many failures (``Retry-After`` says for how long)."""
    try:
        signed_in = _sign_in(request, workspace, credentials.username, credentials.password)
    except TooManyAttempts as error:
        headers = {"Retry-After": str(error.retry_after_seconds)}
        return JSONResponse({"error": str(error)}, status_code=429, headers=headers)
    except LoginRefused as error:
        return JSONResponse({"error": str(error)}, status_code=401)
    response = JSONResponse({"user": _user_document(signed_in.user), "csrf_token": signed_in.csrf_token})
    set_session_cookie(request, response, signed_in.token)
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.delete("/api/session", tags=["session"])
def api_sign_out(request: Request, workspace: WorkspaceDep) -> JSONResponse:
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        users.sign_out(workspace, token)
        request.app.state.sessions.forget(token)
    response = JSONResponse({"signed_in": False})
    response.delete_cookie(SESSION_COOKIE)
    return response
