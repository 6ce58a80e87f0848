"""Errors at the web edge: every response carries the security headers, an unexpected error is a plain 500 with
no traceback, and a warehouse held by another process is a 503 with Retry-After rather than a 500."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from outturn.services.workspace import Workspace
from outturn.settings import WAREHOUSE_FILE
from outturn.web import WebConfig, create_app
from web_helpers import sign_in, warehouse_held_elsewhere, web_workspace  # noqa: F401  (fixture)

SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options")


@pytest.fixture
def client(web_workspace: Workspace) -> Iterator[TestClient]:  # noqa: F811
    web_workspace.backend.close()  # the app opens the warehouse itself, on first use
    app = create_app(web_workspace.settings, WebConfig(stamp_seconds=0.0))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _fail(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("secret internal detail")


@pytest.mark.parametrize("path", ["/position", "/api/position"])
def test_an_unexpected_error_is_a_plain_500_with_the_security_headers(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    sign_in(client, "fiona")
    monkeypatch.setattr("outturn.web.routes.position.position_document", _fail)
    response = client.get(path)
    assert response.status_code == 500
    for header in SECURITY_HEADERS:
        assert header in response.headers, header
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert "something went wrong" in response.text.lower()
    if path.startswith("/api/"):
        assert response.json() == {"error": "something went wrong: the request could not be completed"}
    assert client.get("/healthz").status_code == 200  # the application carries on


def test_a_warehouse_held_by_another_process_is_a_503_with_retry_after(
    client: TestClient,
    web_workspace: Workspace,  # noqa: F811
) -> None:
    sign_in(client, "fiona")
    warehouse = Path(web_workspace.settings.workspace) / WAREHOUSE_FILE
    with warehouse_held_elsewhere(warehouse):
        api = client.get("/api/position")
        page = client.get("/position")
    assert api.status_code == 503
    assert "open in another process" in api.json()["error"]
    assert int(api.headers["retry-after"]) > 0
    assert page.status_code == 503 and "try again" in page.text
    for header in SECURITY_HEADERS:
        assert header in page.headers, header
    assert client.get("/api/position").status_code == 200  # once the other process has finished


@pytest.mark.parametrize(
    ("name", "content"),
    [("plan.xlsx", b"org_code,year\n01A,2025/26\n"), ("x" * 251 + ".xlsx", b"org_code\n")],
    ids=["csv-named-xlsx", "256-character-name"],
)
def test_uploads_that_once_broke_the_server_answer_with_the_security_headers(
    client: TestClient, name: str, content: bytes
) -> None:
    token = sign_in(client, "fiona")
    response = client.post(
        "/api/imports/ledger", files={"file": (name, content)}, headers={"X-CSRF-Token": token}
    )  # whatever the status (a 500 until its cause is fixed, a 4xx after), the headers and no traceback
    for header in SECURITY_HEADERS:
        assert header in response.headers, (response.status_code, header)
    assert "Traceback" not in response.text and "BadZipFile" not in response.text


def _bug(error: Exception) -> Callable[..., None]:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise error

    return fail


@pytest.mark.parametrize(
    ("path", "service", "error"),
    [
        # a KeyError once read as "no such scheme" (a 404); a ValueError once shown as a note (and cached)
        ("/savings/2025/S1", "outturn.services.savings.show_scheme", KeyError("S1")),
        ("/api/savings/schemes/2025/S1", "outturn.services.savings.show_scheme", KeyError("S1")),
        ("/practices", "outturn.services.populations.practice_records", ValueError("a bug")),
    ],
)
def test_a_plain_error_from_a_service_is_a_500_and_never_remembered(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, path: str, service: str, error: Exception
) -> None:
    sign_in(client, "fiona")
    healthy = client.get(path)
    monkeypatch.setattr(service, _bug(error))
    client.app.state.cache.invalidate()  # type: ignore[attr-defined]
    broken = client.get(path)
    monkeypatch.undo()

    assert healthy.status_code == 200, healthy.text
    assert broken.status_code == 500
    assert "something went wrong" in broken.text.lower() and "a bug" not in broken.text
    assert client.get(path).status_code == 200  # the bug's answer was not cached


def test_the_service_errors_map_by_their_family(client: TestClient) -> None:
    sign_in(client, "fiona")
    # SchemeNotFound is a NotFound: a 404 on the page and in the API, with the service's message
    page, api = client.get("/savings/2025/NOPE"), client.get("/api/savings/schemes/2025/NOPE")
    assert (page.status_code, api.status_code) == (404, 404)
    assert api.json() == {"error": "no scheme NOPE in 2025/26"}
