"""The application factory: ``create_app(settings)`` opens the workspace and wires routers, errors and assets.

Nothing is built at import time. Errors become HTTP statuses here, in one place: no session → the login page
(401 for the API), not allowed → 403, a bad CSRF token → 403, bad input → 400 with its reasons, nothing found → 404,
a conflict → 409, a resource busy (the warehouse open in another process) → 503 with Retry-After, and anything
unexpected → a plain 500 page, with the security headers like every response and no traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from outturn import __version__
from outturn.domain.errors import BadInput, Conflict, NotFound, OutturnError, Unavailable
from outturn.domain.problems import ProblemsError
from outturn.services.web import data_stamps
from outturn.services.workspace import open_workspace
from outturn.settings import Settings
from outturn.web import drawing
from outturn.web.cache import ResultCache
from outturn.web.config import WebConfig
from outturn.web.docs import install_docs
from outturn.web.jobs import JobLimits, JobRunner
from outturn.web.limits import BodyLimit, upload_routes
from outturn.web.routes import ROUTERS
from outturn.web.routes.scenarios import MAX_SCENARIO_BYTES
from outturn.web.security import CsrfFailed, Forbidden, NotSignedIn, SessionCache, csrf_protect, user_of_scope
from outturn.web.templating import build_templates, render

STATIC_DIR = Path(__file__).parent / "static"
# Expected failures a result may be remembered as (asking again gives the same answer until the data change);
# a conflict or a busy resource is of the moment and never remembered. A plain ValueError or KeyError is a bug.
REMEMBERED = (BadInput, NotFound)
# The one mapping of the services' error family to HTTP: status and page title, most specific class first.
STATUSES: tuple[tuple[type[OutturnError], int, str], ...] = (
    (BadInput, 400, "Cannot show this"),
    (NotFound, 404, "Not found"),
    (Conflict, 409, "Changed by someone else"),
    (Unavailable, 503, "Busy: try again shortly"),
)
# What to give, as the services name it (``OutturnError.needs``), said in the web's terms.
HINTS = {
    "organisation": "add ?org=CODE (the workspace has no default organisation)",
    "month": "add ?as_at=YYYY-MM (the workspace has no default month)",
    "year": "add ?year=YYYY/YY (the workspace has no default month)",
}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
# Pages and API answers are never kept by browsers or proxies (they hold figures and per-session tokens); the
# static assets may be.
NO_STORE = (b"cache-control", b"no-store")


class HttpMiddleware:
    """A plain ASGI middleware (no per-request task overhead): anything but an HTTP request passes straight through,
    an HTTP request goes to ``http``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class SecurityHeaders(HttpMiddleware):
    """Adds the security headers to every response, and ``Cache-Control: no-store`` to all but the static assets."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        cacheable = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *SECURITY_HEADERS]
                if not cacheable:
                    headers = [(name, value) for name, value in headers if name.lower() != b"cache-control"]
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


UNEXPECTED_PAGE = (
    b'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Something went wrong - outturn'
    b"</title></head><body><h1>Something went wrong</h1><p>The request could not be completed; nothing was "
    b"changed by the part that failed. Try again, and if it fails again tell your administrator the time it "
    b'happened.</p><p><a href="/">Back to the overview</a></p></body></html>'
)
logger = logging.getLogger("outturn.web")


class UnexpectedErrors(HttpMiddleware):
    """Turns an unexpected error into a plain 500 (JSON under /api) inside the security headers.

    Starlette's own 500 is sent from outside every middleware, so it would lack the headers. The error is then
    raised on, for the server to log; the client sees no traceback."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception:
            if started:
                raise
            api = str(scope.get("path", "")).startswith("/api/")
            body = b'{"error": "something went wrong: the request could not be completed"}' if api else UNEXPECTED_PAGE
            kind = b"application/json" if api else b"text/html; charset=utf-8"
            headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            logger.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            raise


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, title: str, message: str, extra: dict[str, Any] | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message, **(extra or {})}, status_code=status)
    return render(request, "error.html", {"title": title, "message": message, **(extra or {})}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _error_: NotSignedIn) -> Response:
        if _wants_json(request):
            return JSONResponse({"error": "sign in first"}, status_code=401, headers={"WWW-Authenticate": "Cookie"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, error: Forbidden) -> Response:
        return _error(request, 403, "Not allowed", str(error))

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, error: CsrfFailed) -> Response:
        return _error(request, 403, "Security check failed", str(error))

    @app.exception_handler(ProblemsError)
    async def problems(request: Request, error: ProblemsError) -> Response:
        listed = {key: value for key, value in error.as_dict().items() if key != "error"}  # as the CLI's JSON
        return _error(request, 422, "Problems found", error.summary, listed)

    @app.exception_handler(OutturnError)
    async def expected(request: Request, error: OutturnError) -> Response:
        status, title, message = web_failure(error)
        response = _error(request, status, title, message)
        if isinstance(error, Unavailable):
            response.headers["Retry-After"] = str(error.retry_after_seconds)
        return response


def web_failure(error: OutturnError) -> tuple[int, str, str]:
    """The web's one mapping of the services' error family: (HTTP status, page title, message), the message with
    the web's hint where there is one (how to give a missing organisation or month in the query)."""
    message = str(error) or "not found"
    if error.needs in HINTS:
        message = f"{message}: {HINTS[error.needs]}"
    for family, status, title in STATUSES:
        if isinstance(error, family):
            return status, title, message
    return 400, "Cannot show this", message  # a new member not yet listed: the user's input, never a 500


def _install_middleware(app: FastAPI, config: WebConfig) -> None:
    """Outermost first: forwarded headers (from trusted proxies only), security headers round every response
    (500s included), unexpected errors as a plain 500, then the body limit, which runs before anything reads
    the body."""
    app.add_middleware(
        BodyLimit,
        max_body_bytes=config.max_body_bytes,
        uploads=upload_routes(config.max_upload_bytes, MAX_SCENARIO_BYTES),
        user_of=lambda scope: user_of_scope(app.state, scope),
    )
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(SecurityHeaders)
    if config.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(config.trusted_proxies))


def create_app(settings: Settings, config: WebConfig | None = None, *, read_only_warehouse: bool = False) -> FastAPI:
    """The web application over the workspace ``settings`` names (opened now, closed when the app stops).

    ``read_only_warehouse`` opens the warehouse for reading (the web application writes only the store), so that
    CLI reports can read it while the server runs."""
    config = config or WebConfig()
    workspace = open_workspace(settings.workspace, read_only=read_only_warehouse)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.jobs.shutdown()
        app.state.cache.shutdown()
        workspace.close()

    app = FastAPI(
        title="outturn",
        version=__version__,
        description="Financial recovery for NHS commissioners. The JSON API under /api mirrors the pages; it "
        "uses the same session cookie as the pages (sign in at /login) and every POST needs the session's CSRF "
        "token in the X-CSRF-Token header. Money is integer pence in fields named *_pence.",
        dependencies=[Depends(csrf_protect)],
        lifespan=lifespan,
        docs_url=None,  # served by install_docs, from the application's own assets
        redoc_url=None,
    )
    app.state.workspace = workspace
    app.state.config = config
    app.state.templates = build_templates()
    app.state.sessions = SessionCache(config.session_cache_seconds, timedelta(minutes=config.session_idle_minutes))
    app.state.cache = ResultCache(
        lambda: data_stamps(workspace),
        ttl_seconds=config.cache_seconds,
        stamp_seconds=config.stamp_seconds,
        stale_seconds=config.stale_seconds,
        refresh_seconds=config.refresh_seconds,
        remembered_errors=REMEMBERED,
    )
    app.state.jobs = JobRunner(JobLimits(), expected=(ProblemsError, OutturnError))
    _install_middleware(app, config)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _install_error_handlers(app)
    install_docs(app)
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    return app


SERVER_SWITCH_SECONDS = 0.001


def app_from_environment() -> FastAPI:
    """For ``uvicorn --factory`` (``outturn serve``): the workspace from ``OUTTURN_WORKSPACE``.

    The server process hands the interpreter from a busy thread (an import, a scenario run, a page recomputed in
    the background) to the one answering requests within 1 ms rather than CPython's default 5 ms: each request
    waits for the interpreter several times, so under such work the default adds tens of milliseconds to it."""
    from outturn.settings import find_workspace, load_settings

    sys.setswitchinterval(SERVER_SWITCH_SECONDS)
    drawing.start()  # the chart drawing process, loading matplotlib while the workspace opens
    settings = load_settings(find_workspace())
    return create_app(settings, WebConfig.from_environment(), read_only_warehouse=True)
