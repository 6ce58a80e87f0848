"""The web edge: request bodies limited per route before anything parses them, no caching of pages or API
answers, and the API documentation pages served from the application's own assets.

The body tests call the application as an ASGI server would, with a ``receive`` that counts what the application
takes: what matters is that it never reads more than the limit and one chunk, whatever the client sends.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from outturn.web.limits import upload_name
from web_helpers import app_client, sign_in, web_workspace

__all__ = ["app_client", "web_workspace"]

SMALL_LIMIT = 64 * 1024  # WebConfig.max_body_bytes
CHUNK = 16 * 1024
SENT_AT_MOST = 4 * 1024 * 1024  # what the counting client offers before it ends the body


@dataclass
class Exchange:
    """One request played against the application: what it read of the body, and what it answered."""

    read: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> int:
        status: int = next(m["status"] for m in self.messages if m["type"] == "http.response.start")
        return status


def _body(total: int, opening: bytes) -> Iterator[bytes]:
    """``opening``, then filler, in chunks of ``CHUNK`` bytes, ``total`` bytes in all."""
    sent = 0
    while sent < total:
        yield (opening + b"x" * CHUNK)[:CHUNK] if sent == 0 else b"x" * CHUNK
        sent += CHUNK


def _play(app: FastAPI, path: str, headers: dict[str, str], total: int = SENT_AT_MOST) -> Exchange:
    exchange = Exchange()
    multipart = headers.get("content-type", "").startswith("multipart/")
    chunks = _body(total, FILE_PART if multipart else b"")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "client": ("10.0.0.5", 50000),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, Any]:
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        exchange.read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        exchange.messages.append(message)

    asyncio.run(app(scope, receive, send))
    return exchange


MULTIPART = "multipart/form-data; boundary=outturn-test-boundary"
FILE_PART = (
    b"--outturn-test-boundary\r\n"
    b'Content-Disposition: form-data; name="file"; filename="ledger.csv"\r\nContent-Type: text/csv\r\n\r\n'
)


def test_a_huge_declared_upload_without_a_session_is_refused_before_a_byte_is_read(app_client: TestClient) -> None:
    """A 1 GB POST with no session used to be written to disk before the 403."""
    headers = {"content-type": MULTIPART, "content-length": str(10**9)}
    exchange = _play(app_client.app, "/api/imports/ledger", headers)
    assert exchange.status == 413 and exchange.read == 0


def test_a_huge_json_body_to_sign_in_is_refused_before_a_byte_is_read(app_client: TestClient) -> None:
    """A 100 MB JSON body to /api/session used to be read and parsed (460 MB of memory)."""
    headers = {"content-type": "application/json", "content-length": str(100 * 1024 * 1024)}
    exchange = _play(app_client.app, "/api/session", headers)
    assert exchange.status == 413 and exchange.read == 0


def test_a_chunked_body_is_cut_off_just_past_the_limit(app_client: TestClient) -> None:
    for path, content_type in (("/api/session", "application/json"), ("/api/imports/ledger", MULTIPART)):
        exchange = _play(app_client.app, path, {"content-type": content_type})
        assert exchange.status == 413, path
        assert SMALL_LIMIT < exchange.read <= SMALL_LIMIT + CHUNK, (path, exchange.read)


def _ledger(rows: int) -> bytes:
    lines = ["org_code,year,month,category,subcategory,budget,actual"]
    lines += [f"01A,2025/26,M01,acute,Trust number {n:05d},1000,1100" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_only_a_user_who_may_import_may_send_a_large_file(app_client: TestClient) -> None:
    """A 200 KB ledger (over the 64 KB every request may send): finance may upload it, board may not."""
    content = _ledger(4000)
    assert len(content) > 3 * SMALL_LIMIT
    files = {"file": ("ledger.csv", content, "text/csv")}
    response = app_client.post("/api/imports/ledger", files=files, headers={"X-CSRF-Token": "none"})
    assert response.status_code == 413  # not signed in
    board = sign_in(app_client, "bob")
    response = app_client.post("/api/imports/ledger", files=files, headers={"X-CSRF-Token": board})
    assert response.status_code == 413 and "at most 65,536 bytes" in response.json()["error"]
    app_client.post("/logout", data={"csrf_token": board})
    finance = sign_in(app_client, "fiona")
    response = app_client.post("/api/imports/ledger", files=files, headers={"X-CSRF-Token": finance})
    assert response.status_code in (200, 409, 422), response.text  # imported, or refused for what it holds


def test_even_finance_may_not_declare_more_than_the_upload_limit(app_client: TestClient) -> None:
    sign_in(app_client, "fiona")
    cookie = f"outturn_session={app_client.cookies['outturn_session']}"
    headers = {"content-type": MULTIPART, "content-length": str(51 * 1024 * 1024), "cookie": cookie}
    exchange = _play(app_client.app, "/api/imports/ledger", headers)
    assert exchange.status == 413 and exchange.read == 0


def test_a_small_form_is_not_held_back(app_client: TestClient) -> None:
    token = sign_in(app_client, "fiona")
    response = app_client.post("/api/session", json={"username": "x" * 1000, "password": "y"})
    assert response.status_code == 403  # the CSRF check, after the body was read: not a size refusal
    assert app_client.get("/api/session").json()["csrf_token"] == token


# --- uploaded file names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "saved"),
    [
        ("ledger M01.csv", "ledger M01.csv"),
        ("Plan £ 2025 (v2).xlsx", "Plan £ 2025 (v2).xlsx"),
        ("C:\\Users\\fiona\\ledger.csv", "ledger.csv"),  # old browsers send the whole Windows path
        ("../../etc/passwd", "passwd"),
        ("..", "upload.csv"),
        ("", "upload.csv"),
        (None, "upload.csv"),
        ("led\x00ger\n.csv", "ledger.csv"),
        ("\u202eevil.csv", "evil.csv"),  # a right-to-left override would disguise the name in a problem list
        ("a<b>|c?.csv", "a_b_c_.csv"),
        ("a" * 252 + ".csv", "a" * 95 + "….csv"),  # 256 characters: 100 kept, the suffix with them
        ("計" * 200 + ".xlsx", "計" * 64 + "….xlsx"),  # 200 bytes of UTF-8 at most: 64 × 3 + 3 + 5
    ],
)
def test_an_uploaded_file_name_is_made_safe_to_save_and_show(sent: str | None, saved: str) -> None:
    assert upload_name(sent, "upload.csv") == saved


def test_a_256_character_name_can_be_saved(tmp_path: Path) -> None:
    """The upload with a 256-character name was a 500 (the file system refuses names over 255 bytes)."""
    with pytest.raises(OSError):
        (tmp_path / ("a" * 252 + ".csv")).write_bytes(b"x")
    (tmp_path / upload_name("a" * 252 + ".csv", "upload.csv")).write_bytes(b"x")
    (tmp_path / upload_name("é" * 300 + ".csv", "upload.csv")).write_bytes(b"x")
    assert len(list(tmp_path.iterdir())) == 2


# --- caching -----------------------------------------------------------------------------------------------------


def test_pages_and_api_answers_are_never_stored_but_static_assets_may_be(app_client: TestClient) -> None:
    assert app_client.get("/login").headers["cache-control"] == "no-store"
    sign_in(app_client, "fiona")
    for path in ("/", "/savings", "/api/overview", "/api/session"):
        response = app_client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store", path
        assert response.headers["x-frame-options"] == "DENY"
    asset = app_client.get("/static/outturn/outturn.css")
    assert asset.status_code == 200 and "no-store" not in asset.headers.get("cache-control", "")
    assert app_client.get("/api/overview?year=bad").headers["cache-control"] == "no-store"  # errors too


# --- API documentation -------------------------------------------------------------------------------------------


def _referenced(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)


def test_the_api_documentation_uses_only_the_applications_own_assets(app_client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        response = app_client.get(path)
        assert response.status_code == 200, path
        html = response.text
        assert "<script>" not in html.replace(" ", ""), path  # no inline script: the CSP would block it
        referenced = _referenced(html)
        assert referenced and all(url.startswith("/static/") for url in referenced), (path, referenced)
        for url in referenced:
            assert app_client.get(url).status_code == 200, url
    assert app_client.get("/openapi.json").json()["info"]["title"] == "outturn"
