"""The application factory: ``create_app(settings)`` opens the workspace and wires routers, errors and assets.

Nothing is built at import time. Errors become HTTP statuses here, in one place: no session → the login page
(401 for the API), not allowed → 403, a bad CSRF token → 403, bad input → 400 with its reasons, nothing found → 404.
"""

from __future__ import annotations

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
from outturn.domain.money import MoneyError
from outturn.domain.periods import PeriodError
from outturn.domain.problems import ProblemsError
from outturn.services.web import PositionError, SavingsError, data_stamp
from outturn.services.workspace import open_workspace
from outturn.settings import Settings
from outturn.web.cache import ResultCache
from outturn.web.config import WebConfig
from outturn.web.docs import install_docs
from outturn.web.limits import BodyLimit, upload_routes
from outturn.web.routes import ROUTERS
from outturn.web.routes.scenarios import MAX_SCENARIO_BYTES
from outturn.web.security import CsrfFailed, Forbidden, NotSignedIn, SessionCache, csrf_protect, user_of_scope
from outturn.web.templating import build_templates, render

STATIC_DIR = Path(__file__).parent / "static"
BAD_INPUT = (ValueError, PositionError, SavingsError, MoneyError, PeriodError)
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


class SecurityHeaders:
    """Adds the security headers to every response, and ``Cache-Control: no-store`` to all but the static assets
    (a plain ASGI middleware: no per-request task overhead)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

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
        listed = [problem.as_dict() for problem in error.problems]
        return _error(request, 422, "Problems found", error.summary, {"problems": listed})

    @app.exception_handler(KeyError)
    async def not_found(request: Request, error: KeyError) -> Response:
        return _error(request, 404, "Not found", str(error.args[0]) if error.args else "not found")

    for kind in BAD_INPUT:

        @app.exception_handler(kind)
        async def bad_input(request: Request, error: Exception) -> Response:
            return _error(request, 400, "Cannot show this", str(error))


def _install_middleware(app: FastAPI, config: WebConfig) -> None:
    """Outermost first: forwarded headers (from trusted proxies only), security headers, then the body limit,
    which runs before anything reads the body."""
    app.add_middleware(
        BodyLimit,
        max_body_bytes=config.max_body_bytes,
        uploads=upload_routes(config.max_upload_bytes, MAX_SCENARIO_BYTES),
        user_of=lambda scope: user_of_scope(app.state, scope),
    )
    app.add_middleware(SecurityHeaders)
    if config.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(config.trusted_proxies))


def create_app(settings: Settings, config: WebConfig | None = None) -> FastAPI:
    """The web application over the workspace ``settings`` names (opened now, closed when the app stops)."""
    config = config or WebConfig()
    workspace = open_workspace(settings.workspace)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
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
        lambda: data_stamp(workspace),
        ttl_seconds=config.cache_seconds,
        stamp_seconds=config.stamp_seconds,
        remembered_errors=(*BAD_INPUT, KeyError),
    )
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


def app_from_environment() -> FastAPI:
    """For ``uvicorn --factory`` (``outturn serve``): the workspace from ``OUTTURN_WORKSPACE``."""
    from outturn.settings import find_workspace, load_settings

    settings = load_settings(find_workspace())
    return create_app(settings, WebConfig.from_environment())
