"""The JSON API: documented by OpenAPI, mirrors the pages, and edits with the version (409 with both versions)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from outturn.domain.periods import FinancialYear
from outturn.services import savings
from outturn.services.savings import SchemeChanges
from outturn.services.workspace import Workspace
from web_helpers import app_client, sign_in, web_workspace

__all__ = ["app_client", "web_workspace"]
YEAR = FinancialYear(2025)


def test_openapi_documents_every_api_route(app_client: TestClient) -> None:
    schema = app_client.get("/openapi.json").json()
    paths = set(schema["paths"])
    assert {
        "/api/session",
        "/api/overview",
        "/api/savings/schemes",
        "/api/savings/schemes/{year}/{reference}",
        "/api/imports/{kind}",
        "/api/practices/{code}",
        "/api/pcns/{code}",
        "/api/benchmark",
        "/api/contracts",
        "/api/contracts/{provider}",
    } <= paths
    assert all(path.startswith("/api/") for path in paths)  # pages are not in the API's schema
    assert "409" in schema["paths"]["/api/savings/schemes/{year}/{reference}"]["post"]["responses"]
    assert app_client.get("/docs").status_code == 200


def test_schemes_list_mirrors_the_register(app_client: TestClient) -> None:
    sign_in(app_client, "bob")
    document = app_client.get("/api/savings/schemes?sort=plan&dir=desc").json()
    assert document["total"] == 2 and document["as_at"] == "2025-09"
    # S2: £20k a month, half delivered to M06: plan £240k, forecast £60k + 6 × £20k = £180k
    first = document["schemes"][0]
    assert (first["reference"], first["plan_pence"], first["forecast_total_pence"]) == ("S2", 240_000_00, 180_000_00)
    assert first["shortfall_pence"] == 60_000_00


def test_edit_through_the_api_and_meet_a_conflict(app_client: TestClient, web_workspace: Workspace) -> None:
    token = sign_in(app_client, "fiona")
    headers = {"X-CSRF-Token": token}
    url = "/api/savings/schemes/2025/S1"
    assert app_client.get(url).json()["version"] == 1
    saved = app_client.post(url, json={"version": 1, "forecast_pence": {"9": 1_234_00}}, headers=headers)
    assert saved.status_code == 200 and saved.json()["version"] == 2 and saved.json()["forecast_pence"][8] == 1_234_00
    stale = app_client.post(url, json={"version": 1, "forecast_pence": {"9": 99}}, headers=headers)
    assert stale.status_code == 409
    body = stale.json()
    assert body["current"]["version"] == 2 and body["current"]["forecast_pence"][8] == 1_234_00
    assert body["yours"]["forecast_pence"][8] == 99
    # the CLI's conflict document has the same shape (tests/test_savings_service.py)
    assert set(body) == {"error", "current", "your_changes", "yours"}
    assert body["your_changes"] == {"forecast_pence": {"M09": 99}} and "changed by someone else" in body["error"]
    history = app_client.get(url).json()["history"]
    assert [entry["who"] for entry in history] == ["setup", "fiona"]
    assert savings.show_scheme(web_workspace, YEAR, "S1")[0].forecast[8] == 1_234_00


def test_edit_without_csrf_header_is_refused(app_client: TestClient) -> None:
    sign_in(app_client, "fiona")
    response = app_client.post("/api/savings/schemes/2025/S1", json={"version": 1, "forecast_pence": {"9": 1}})
    assert response.status_code == 403


def test_a_rag_override_needs_a_reason(app_client: TestClient, web_workspace: Workspace) -> None:
    token = sign_in(app_client, "fiona")
    response = app_client.post(
        "/api/savings/schemes/2025/S1", json={"version": 1, "rag_override": "red"}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 400 and "reason" in response.json()["error"]
    savings.update_scheme(web_workspace, YEAR, "S1", 1, SchemeChanges(), "nobody")  # still at version 1
    assert savings.show_scheme(web_workspace, YEAR, "S1")[0].version == 1


def test_api_edits_meet_the_scheme_rules_and_name_the_field(app_client: TestClient, web_workspace: Workspace) -> None:
    # the finding: a −£50m forecast (and −£5bn) with no reason was saved through the API
    headers = {"X-CSRF-Token": sign_in(app_client, "fiona")}
    url = "/api/savings/schemes/2025/S1"
    cases = {
        "forecast_pence.9": {"9": -50_000_000_00},
        "forecast_pence.10": {"10": 2**63},  # a 500 before: no int64 column holds it
        "forecast_pence.3": {"3": 0},  # M03 is past: the workspace is at M06
    }
    for field, forecast in cases.items():
        response = app_client.post(url, json={"version": 1, "forecast_pence": forecast}, headers=headers)
        assert response.status_code == 422, response.text
        assert list(response.json()["fields"]) == [field]
    assert savings.show_scheme(web_workspace, YEAR, "S1")[0].version == 1
    assert [entry["who"] for entry in app_client.get(url).json()["history"]] == ["setup"]


def test_an_unsafe_reference_is_refused_through_the_api(app_client: TestClient) -> None:
    headers = {"X-CSRF-Token": sign_in(app_client, "fiona")}
    response = app_client.post("/api/savings/schemes/2025/a%20b", json={"version": 1}, headers=headers)
    assert response.status_code == 422 and list(response.json()["fields"]) == ["reference"]
