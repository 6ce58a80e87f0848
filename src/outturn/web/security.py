"""Who is asking, and may they: the session cookie, CSRF checks on every unsafe request, and role checks.

The session cookie holds a random token (HttpOnly, SameSite=Lax, Secure behind TLS); the store keeps its hash
and the session's CSRF token. Every POST/PUT/PATCH/DELETE must carry that CSRF token, in the form field
``csrf_token`` or the ``X-CSRF-Token`` header (htmx sends the header). Before sign-in the login form is protected
the same way by a double-submit cookie. A session unused for ``WebConfig.session_idle_minutes`` ends.

The client address (which sign-in slow-down counts against) is the connection's peer; ``X-Forwarded-For`` and
``X-Forwarded-Proto`` are believed only from ``WebConfig.trusted_proxies`` (uvicorn's ``ProxyHeadersMiddleware``).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from starlette.requests import HTTPConnection
from starlette.types import Scope

from outturn.services import users
from outturn.services.users import User
from outturn.services.workspace import Workspace

SESSION_COOKIE = "outturn_session"
LOGIN_CSRF_COOKIE = "outturn_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotSignedIn(Exception):
    """No valid session: pages redirect to the login page, the API answers 401."""


class Forbidden(Exception):
    """Signed in, but this user may not see or do this: 403."""


class CsrfFailed(Exception):
    """An unsafe request without the session's CSRF token: 403."""


class SessionCache:
    """Sessions looked up in the store, trusted for a few seconds in this process (signing out drops them)."""

    def __init__(self, seconds: float, idle: timedelta = users.SESSION_IDLE) -> None:
        self._seconds = seconds
        self.idle = idle
        self._entries: dict[str, tuple[float, User, str]] = {}
        self._lock = threading.Lock()

    def look_up(self, workspace: Workspace, token: str) -> tuple[User, str] | None:
        found = self._entries.get(token)
        if found is not None and time.monotonic() - found[0] < self._seconds:
            return found[1], found[2]
        session = users.session_for(workspace, token, self.idle)
        with self._lock:
            if session is None:
                self._entries.pop(token, None)
            else:
                if len(self._entries) > 10_000:
                    self._entries.clear()
                self._entries[token] = (time.monotonic(), *session)
        return session

    def forget(self, token: str) -> None:
        with self._lock:
            self._entries.pop(token, None)

    def forget_user(self, username: str) -> None:
        """Drop every session of an account an admin changed, so the change holds from the next request."""
        with self._lock:
            for token in [token for token, entry in self._entries.items() if entry[1].username == username]:
                self._entries.pop(token, None)


# The dependencies are ``async`` so that FastAPI runs them on the event loop rather than handing each to the
# thread pool: they do no I/O but a session look-up every few seconds (``SessionCache``).


async def get_workspace(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace
    return workspace


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]


def _look_up(state: Any, connection: HTTPConnection) -> tuple[User, str] | None:
    token = connection.cookies.get(SESSION_COOKIE, "")
    cache: SessionCache = state.sessions
    return cache.look_up(state.workspace, token) if token else None


def session_of(request: Request) -> tuple[User, str] | None:
    """The request's signed-in user and CSRF token (looked up once per request)."""
    if not hasattr(request.state, "session"):
        request.state.session = _look_up(request.app.state, request)
    found: tuple[User, str] | None = request.state.session
    return found


def user_of_scope(app_state: Any, scope: Scope) -> User | None:
    """The signed-in user of a request not yet parsed (for ASGI middleware): its session cookie, looked up."""
    found = _look_up(app_state, HTTPConnection(scope))
    return found[0] if found else None


def client_address(request: Request) -> str:
    """The address sign-in attempts are counted against (a trusted proxy's client, else the connection's peer)."""
    return request.client.host if request.client else "unknown"


def optional_user(request: Request) -> User | None:
    found = session_of(request)
    return found[0] if found else None


async def current_user(request: Request) -> User:
    user = optional_user(request)
    if user is None:
        raise NotSignedIn()
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def reader(user: CurrentUser) -> User:
    """Finance, board and admin: everything that is not a single practice's."""
    if not user.sees_everything:
        raise Forbidden("this page shows every organisation's figures; practice users see their own practice")
    return user


async def editor(user: CurrentUser) -> User:
    if not user.can_edit:
        raise Forbidden(f"a {user.role.value} user cannot change data")
    return user


async def admin(user: CurrentUser) -> User:
    if user.role is not users.Role.ADMIN:
        raise Forbidden("only an admin manages accounts")
    return user


Reader = Annotated[User, Depends(reader)]
Editor = Annotated[User, Depends(editor)]
Admin = Annotated[User, Depends(admin)]


def require_org(user: User, org_code: str) -> None:
    if not user.may_see(org_code):
        raise Forbidden(f"{user.username} may not see {org_code}")


def reader_of(request: Request) -> str | None:
    """Whose reads must show their own writes (``web.cache``): the signed-in session, named by its CSRF token."""
    found = session_of(request)
    return found[1] if found else None


def after_write(request: Request) -> Callable[[], None]:
    """Taken before a write, called once it has landed (on any thread): the page cache learns what changed since
    (nothing, for a file imported again), and the writer sees it on their next page."""
    cache = request.app.state.cache
    return partial(cache.wrote, reader_of(request), cache.sequence)


def csrf_token_for(request: Request) -> str:
    """The token forms on this page must carry: the session's, or before sign-in the login cookie's."""
    found = session_of(request)
    if found:
        return found[1]
    if not hasattr(request.state, "login_csrf"):
        request.state.login_csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    token: str = request.state.login_csrf
    return token


async def csrf_protect(request: Request) -> None:
    """Applied to every route: an unsafe request must carry the expected CSRF token."""
    if request.method in SAFE_METHODS:
        return
    found = session_of(request)
    expected = found[1] if found else request.cookies.get(LOGIN_CSRF_COOKIE, "")
    provided = request.headers.get(CSRF_HEADER, "")
    content_type = request.headers.get("content-type", "")
    if not provided and content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        field = (await request.form()).get(CSRF_FIELD, "")
        provided = field if isinstance(field, str) else ""
    if not expected or not provided or not secrets.compare_digest(expected, provided):
        raise CsrfFailed("the form's security token is missing or out of date: reload the page and try again")


def cookie_secure(request: Request) -> bool:
    return bool(request.app.state.config.secure_cookies or request.url.scheme == "https")


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(users.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path="/",
    )


def set_login_csrf_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict", secure=cookie_secure(request)
    )
