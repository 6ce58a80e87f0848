"""How much a request may send: a body limit per route, decided before the application reads a byte.

Every request may send a small body (a form, a JSON document: ``WebConfig.max_body_bytes``). Only the upload
routes allow more, and only to a signed-in user whose role may use them (the session cookie is looked up first: the
same cached look-up every page makes). A declared ``Content-Length`` over the limit is answered 413 at once, without
reading the body; a body without one (chunked) is counted as it arrives and refused as soon as it passes the limit
(Starlette's ``RequestBodyLimitResponder`` does the counting), so no more than the limit and one chunk is ever read.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from starlette.datastructures import Headers
from starlette.middleware.body_limit import RequestBodyLimitResponder
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from outturn.services.users import User

# What a multipart upload adds around the file itself: part headers, the other form fields, boundaries.
MULTIPART_ALLOWANCE_BYTES = 64 * 1024
# An uploaded file's name as it is saved and reported: file systems allow 255 bytes (UTF-8), and a name this long
# is already hard to read in a list of problems.
MAX_NAME_CHARACTERS = 100
MAX_NAME_BYTES = 200
_UNSAFE_IN_NAME = re.compile(r"[^\w .()£&+,-]+")


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


def _cut(text: str, ending: str = "") -> str:
    """``text``, or its longest start that with ``ending`` fits ``MAX_NAME_CHARACTERS`` and ``MAX_NAME_BYTES``."""
    room = MAX_NAME_BYTES - len(ending.encode())
    return text[: MAX_NAME_CHARACTERS - len(ending)].encode()[:room].decode(errors="ignore").rstrip() + ending


def upload_name(filename: str | None, default: str) -> str:
    """A safe name to save an upload under and to name it by in problems: the last part of whatever path the
    browser sent, without control or unusual characters, at most ``MAX_NAME_CHARACTERS`` characters and
    ``MAX_NAME_BYTES`` bytes (the end of the stem cut, ``…`` in its place, the suffix kept); ``default`` when nothing
    usable is left."""
    name = PureWindowsPath(PurePosixPath(filename or "").name).name
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C")
    name = _UNSAFE_IN_NAME.sub("_", name).strip(" .")
    if not name.strip("_"):
        return default
    if _cut(name) == name:
        return name
    stem, dot, suffix = name.rpartition(".")
    return _cut(stem, f"….{suffix}") if dot and stem and len(suffix) <= 10 else _cut(name, "…")


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
