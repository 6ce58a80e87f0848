"""The month-end close page and API (tests/web_helpers.py's fixture; the workspace's month is M06 2025/26).

Schemes: S1 plans and delivers £10k a month; S2 plans £20k a month and delivers half, £10k, to M06. Closing M05
then M06 freezes delivery to date of £50k + £50k, then £60k + £60k: the movement between them is £10k delivered
on each scheme (£20k in all) and no change in plan (both £360k).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from outturn.cli import app as cli
from outturn.domain.periods import FinancialMonth
from outturn.services import savings
from outturn.services.workspace import Workspace
from outturn.store.savings_repository import history
from web_helpers import shared_client, shared_workspace, sign_in

__all__ = ["shared_client", "shared_workspace"]
POUND = 100


def test_close_the_month_once_then_read_the_movement(shared_client: TestClient, shared_workspace: Workspace) -> None:
    token = sign_in(shared_client, "bob")
    before = shared_client.get("/api/close").json()
    assert before == {
        "as_at": "2025-09",
        "as_at_label": "M06 2025/26",
        "as_at_closed": False,
        "as_at_reopened": False,
        "reopens": [],
        "closes": [],
        "movement": None,
    }
    assert 'id="close-month"' not in shared_client.get("/close").text  # board reads only
    assert shared_client.post("/api/close", headers={"X-CSRF-Token": token}).status_code == 403
    savings.close_month(shared_workspace, FinancialMonth.parse_as_at("2025-08"), "earlier")

    token = sign_in(shared_client, "fiona")
    assert 'id="close-month"' in shared_client.get("/close").text
    closed = shared_client.post("/api/close", headers={"X-CSRF-Token": token})
    assert closed.status_code == 200 and closed.json() == {"closed": "2025-09", "schemes": 2}
    again = shared_client.post("/api/close", headers={"X-CSRF-Token": token})
    assert again.status_code == 409 and "already closed" in again.json()["error"]
    page = shared_client.post("/close", data={"csrf_token": token})
    assert page.status_code == 409 and 'id="close-error"' in page.text and "already closed" in page.text

    document = shared_client.get("/api/close").json()
    assert document["as_at_closed"] is True
    assert [(c["month"], c["closed_by"]) for c in document["closes"]] == [("2025-08", "earlier"), ("2025-09", "fiona")]
    movement = document["movement"]
    assert (movement["from"], movement["to"]) == ("2025-08", "2025-09")
    delivered = {row["reference"]: row["delivered_change_pence"] for row in movement["schemes"]}
    assert delivered == {"S1": 10_000 * POUND, "S2": 10_000 * POUND}
    assert movement["delivered_change_pence"] == 20_000 * POUND and movement["plan_change_pence"] == 0
    result = CliRunner().invoke(
        cli,
        [
            "--workspace",
            str(shared_workspace.path),
            "savings",
            "movement",
            "--from",
            "2025-08",
            "--to",
            "2025-09",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert {k: v for k, v in movement.items() if k not in ("from", "to")} == json.loads(result.stdout)
    html = shared_client.get("/close").text
    assert 'id="close-state"' in html and "M05 2025/26" in html and "fiona" in html and "£10,000.00" in html


def test_closing_needs_the_csrf_token(shared_client: TestClient) -> None:
    sign_in(shared_client, "ada")
    assert shared_client.post("/close").status_code == 403
    assert shared_client.post("/api/close").status_code == 403


@pytest.mark.parametrize(
    "method,path",
    [("get", "/close"), ("get", "/api/close"), ("post", "/api/close"), ("post", "/close/reopen"),
     ("post", "/api/close/reopen")],
)  # fmt: skip
def test_a_practice_user_is_refused(shared_client: TestClient, method: str, path: str) -> None:
    token = sign_in(shared_client, "pat")
    response = getattr(shared_client, method)(path, headers={"X-CSRF-Token": token})
    assert response.status_code == 403


def test_a_reopened_month_shows_its_reason_and_closes_again(
    shared_client: TestClient, shared_workspace: Workspace
) -> None:
    token = sign_in(shared_client, "fiona")
    september = FinancialMonth.parse_as_at("2025-09")
    if september not in savings.closed_months(shared_workspace):  # the workspace is shared with the test above
        assert shared_client.post("/api/close", headers={"X-CSRF-Token": token}).status_code == 200
    savings.reopen_month(shared_workspace, FinancialMonth.parse_as_at("2025-09"), "fiona", "late Trust A invoice")

    reopened = shared_client.get("/api/close").json()
    again = shared_client.post("/api/close", headers={"X-CSRF-Token": token})
    closed = shared_client.get("/api/close").json()

    assert (reopened["as_at_closed"], reopened["as_at_reopened"]) == (False, True)
    assert [(r["month"], r["action"], r["who"], r["reason"]) for r in reopened["reopens"]] == [
        ("2025-09", "reopen", "fiona", "late Trust A invoice")
    ]
    assert again.status_code == 200 and again.json() == {"closed": "2025-09", "schemes": 2}
    assert (closed["as_at_closed"], closed["as_at_reopened"]) == (True, False)
    assert [r["action"] for r in closed["reopens"]] == ["reopen", "close"]
    assert "late Trust A invoice" in shared_client.get("/close").text


def _closed_september(workspace: Workspace) -> FinancialMonth:
    """The workspace's month (M06), closed now (closed again where an earlier test in the module reopened it)."""
    september = FinancialMonth.parse_as_at("2025-09")
    if september not in savings.closed_months(workspace):
        savings.close_month(workspace, september, "fiona")
    return september


def _audited_reopens(workspace: Workspace) -> list[tuple[str, str, Any]]:
    with workspace.store.reading() as session:
        entries = history(session, "close", "2025/26 M06")
    return [(entry.who, entry.action, entry.after) for entry in entries if entry.action == "reopen"]


def test_a_finance_user_reopens_the_closed_month_on_the_page_with_a_reason(
    shared_client: TestClient, shared_workspace: Workspace
) -> None:
    september = _closed_september(shared_workspace)
    audited_before = len(_audited_reopens(shared_workspace))
    token = sign_in(shared_client, "fiona")
    page = shared_client.get("/close").text
    assert 'id="reopen-month"' in page and "outturn savings" not in page  # the page offers it, not a command

    no_reason = shared_client.post("/close/reopen", data={"csrf_token": token, "reason": "  "})
    assert no_reason.status_code == 422 and 'id="close-error"' in no_reason.text
    assert "The month was not reopened" in no_reason.text and "a reason is needed" in no_reason.text
    assert september in savings.closed_months(shared_workspace)  # nothing recorded
    assert len(_audited_reopens(shared_workspace)) == audited_before

    done = shared_client.post(
        "/close/reopen", data={"csrf_token": token, "reason": " Trust B credit note "}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/close?reopened=2025-09"
    assert september not in savings.closed_months(shared_workspace)
    audited = _audited_reopens(shared_workspace)
    assert audited[audited_before:] == [("fiona", "reopen", {"reason": "Trust B credit note"})]  # as the CLI's
    after = shared_client.get("/close?reopened=2025-09").text
    assert 'id="reopen-done"' in after and 'id="close-month"' in after and "Trust B credit note" in after

    again = shared_client.post("/close/reopen", data={"csrf_token": token, "reason": "twice"})
    assert again.status_code == 409 and "only a closed month can be reopened" in again.text


def test_the_api_reopens_as_the_command_answers(shared_client: TestClient, shared_workspace: Workspace) -> None:
    _closed_september(shared_workspace)
    token = sign_in(shared_client, "fiona")
    headers = {"X-CSRF-Token": token}
    missing = shared_client.post("/api/close/reopen", json={"reason": ""}, headers=headers)
    reopened = shared_client.post("/api/close/reopen", json={"reason": "late invoice "}, headers=headers)
    again = shared_client.post("/api/close/reopen", json={"reason": "late invoice"}, headers=headers)
    assert missing.status_code == 422 and "a reason is needed" in missing.json()["error"]
    assert reopened.status_code == 200 and reopened.json() == {"reopened": "2025-09", "reason": "late invoice"}
    assert again.status_code == 409 and "reopened already" in again.json()["error"]


def test_a_board_member_is_told_who_can_reopen_and_cannot(
    shared_client: TestClient, shared_workspace: Workspace
) -> None:
    _closed_september(shared_workspace)
    token = sign_in(shared_client, "bob")
    page = shared_client.get("/close").text
    assert "Finance and admin users can reopen it, with a reason" in page
    assert 'id="reopen-month"' not in page and "outturn savings" not in page
    refused = shared_client.post("/close/reopen", data={"csrf_token": token, "reason": "board says"})
    api = shared_client.post("/api/close/reopen", json={"reason": "board says"}, headers={"X-CSRF-Token": token})
    assert (refused.status_code, api.status_code) == (403, 403)
    assert FinancialMonth.parse_as_at("2025-09") in savings.closed_months(shared_workspace)
