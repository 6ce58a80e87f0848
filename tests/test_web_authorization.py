"""Who may see what, page by page and in the API: a practice user sees its own practice and PCN and nothing else,
however the URL is guessed; the board reads everything and changes nothing; finance and admin edit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from web_helpers import app_client, sign_in, web_workspace

__all__ = ["app_client", "web_workspace"]

EVERY_ORGANISATION_PAGES = ("/", "/savings", "/savings/2025/S1", "/imports")
EVERY_ORGANISATION_API = (
    "/api/overview",
    "/api/savings/schemes",
    "/api/savings/schemes/2025/S1",
    "/api/practices?under=01A",
)


def test_a_practice_user_reads_its_own_practice_and_pcn(app_client: TestClient) -> None:
    sign_in(app_client, "pat")
    page = app_client.get("/practices/A81001")
    assert page.status_code == 200 and "Riverside Surgery" in page.text
    assert app_client.get("/practices/a81001").status_code == 200  # codes in any case
    assert app_client.get("/api/practices/A81001").json()["parents"][0] == {
        "code": "P1",
        "name": "North PCN",
        "kind": "pcn",
    }
    pcn = app_client.get("/api/pcns/P1").json()
    assert pcn["name"] == "North PCN" and "members" not in pcn  # its PCN's totals, never the other practices' rows
    assert app_client.get("/pcns/P1").status_code == 200
    # the home page and the practice list lead to its own page
    assert app_client.get("/", follow_redirects=False).headers["location"] == "/practices/A81001"
    assert app_client.get("/practices", follow_redirects=False).headers["location"] == "/practices/A81001"


@pytest.mark.parametrize(
    "path",
    [
        "/practices/A81002",
        "/practices/A81003",
        "/pcns/P2",
        "/practices/ZZZ99",
        "/api/practices/A81002",
        "/api/practices/A81003",
        "/api/pcns/P2",
        "/api/practices/a81002",
        "/practices/A81002%20",
    ],
)
def test_a_practice_user_is_refused_every_other_practice(app_client: TestClient, path: str) -> None:
    sign_in(app_client, "pat")
    response = app_client.get(path)
    assert response.status_code == 403, path
    assert "Hill Practice" not in response.text and "Meadow Practice" not in response.text


@pytest.mark.parametrize("path", EVERY_ORGANISATION_PAGES + EVERY_ORGANISATION_API)
def test_a_practice_user_is_refused_pages_of_every_organisation(app_client: TestClient, path: str) -> None:
    sign_in(app_client, "pat")
    response = app_client.get(path, follow_redirects=False)
    assert response.status_code in (303, 403), path
    if response.status_code == 303:
        assert response.headers["location"] == "/practices/A81001"


def test_a_practice_user_cannot_edit_a_scheme_through_the_api(app_client: TestClient) -> None:
    token = sign_in(app_client, "pat")
    response = app_client.post(
        "/api/savings/schemes/2025/S1", json={"version": 1, "forecast_pence": {"8": 1}}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 403


@pytest.mark.parametrize("username", ["fiona", "bob", "ada"])
def test_finance_board_and_admin_read_every_practice(app_client: TestClient, username: str) -> None:
    sign_in(app_client, username)
    for code in ("A81001", "A81002", "A81003"):
        assert app_client.get(f"/practices/{code}").status_code == 200
        assert app_client.get(f"/api/practices/{code}").status_code == 200
    assert "members" in app_client.get("/api/pcns/P1").json()
    for path in EVERY_ORGANISATION_PAGES:
        expected = 403 if (username == "bob" and path == "/imports") else 200
        assert app_client.get(path).status_code == expected, (username, path)


def test_the_board_cannot_edit_through_the_api(app_client: TestClient) -> None:
    token = sign_in(app_client, "bob")
    response = app_client.post(
        "/api/savings/schemes/2025/S1", json={"version": 1, "forecast_pence": {"8": 1}}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 403
