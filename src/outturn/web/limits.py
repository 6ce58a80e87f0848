"""How much a request may send: a body limit per route, decided before the application reads a byte.

Every request may send a small body (a form, a JSON document: ``WebConfig.max_body_bytes``). Only the upload
routes allow more, and only to a signed-in user whose role may use them (the session cookie is looked up first: the
same cached look-up every page makes). A declared ``Content-Length`` over the limit is answered 413 at once, without
reading the body; a body without one (chunked) is counted as it arrives and refused as soon as it passes the limit
(Starlette's ``RequestBodyLimitResponder`` does the counting), so no more than the limit and one chunk is ever read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.middleware.body_limit import RequestBodyLimitResponder
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from outturn.services.users import User

# What a multipart upload adds around the file itself: part headers, the other form fields, boundaries.
MULTIPART_ALLOWANCE_BYTES = 64 * 1024


@dataclass(frozen=True)
class UploadRoute:
    """A route that takes files: ``path`` and every path under it."""

    path: str
    max_bytes: int
    may_upload: Callable[[User], bool]

    def matches(self, path: str) -> bool:
        return path == self.path or path.startswith(self.path + "/")


def upload_routes(max_upload_bytes: int, max_scenario_bytes: int) -> tuple[UploadRoute, ...]:
    """Imports (finance and admin) and scenario files (everyone who may run a scenario)."""
    return (
        UploadRoute("/imports", max_upload_bytes, lambda user: user.can_edit),
        UploadRoute("/api/imports", max_upload_bytes, lambda user: user.can_edit),
        UploadRoute("/scenarios/run", max_scenario_bytes, lambda user: user.sees_everything),
        UploadRoute("/api/scenarios/run", max_scenario_bytes, lambda user: user.sees_everything),
    )


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def too_large(path: str, limit: int) -> Response:
    message = f"request body too large: at most {limit:,} bytes may be sent here"
    if path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=413)
    return PlainTextResponse(message, status_code=413)


class BodyLimit:
    """A pure ASGI middleware limiting each request's body before anything parses it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        uploads: Sequence[UploadRoute],
        user_of: Callable[[Scope], User | None],
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.uploads = tuple(uploads)
        self.user_of = user_of

    def limit_for(self, scope: Scope) -> int:
        """The small limit, or an upload route's own when the signed-in user may upload there."""
        path: str = scope["path"]
        route = next((route for route in self.uploads if route.matches(path)), None)
        if route is None or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return self.max_body_bytes
        user = self.user_of(scope)
        if user is None or not route.may_upload(user):
            return self.max_body_bytes
        return max(self.max_body_bytes, route.max_bytes + MULTIPART_ALLOWANCE_BYTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await too_large(scope["path"], limit)(scope, receive, send)
            return
        await RequestBodyLimitResponder(self.app, limit)(scope, receive, send)
