"""Uploading files: a bad file's problems are listed (file, row, column, reason) and nothing of it is stored;
a good file lands; only finance and admin may import."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from outturn.services.position import compute_position
from outturn.services.workspace import Workspace
from web_helpers import app_client, csrf_from, sign_in, web_workspace

__all__ = ["app_client", "web_workspace"]
BAD_LEDGER = (
    "org_code,year,month,category,subcategory,budget,actual\n"
    "01A,2025/26,M07,acute,Trust A,1000000,1200000\n"
    "01A,2025/26,M13,acute,Trust A,1000000,1200000\n"
    'ZZZ,2025/26,M07,acute,Trust A,1000000,"1,2"\n'  # quoted: an unquoted comma refuses the whole file
    "01A,2025/26,M08,acute,Trust A,lots,1200000\n"
)


def _upload(client: TestClient, name: str, text: str, kind: str = "ledger") -> tuple[int, str]:
    token = csrf_from(client.get("/imports").text)
    response = client.post(
        "/imports", data={"kind": kind, "csrf_token": token}, files={"file": (name, text.encode(), "text/csv")}
    )
    return response.status_code, response.text


def test_a_bad_ledger_lists_its_problems_and_stores_nothing(app_client: TestClient, web_workspace: Workspace) -> None:
    sign_in(app_client, "fiona")
    before = compute_position(web_workspace, as_at="2025-10")
    status, html = _upload(app_client, "october.csv", BAD_LEDGER)
    assert status == 422
    assert "Nothing from this file was stored" in html
    rows = re.findall(r"<tr><td>october\.csv</td><td>(\d*)</td><td>([^<]*)</td><td>([^<]+)</td></tr>", html)
    assert {row for row, _column, _reason in rows} >= {"3", "4", "5"}  # the header is row 1
    assert any(column == "month" for row, column, _ in rows if row == "3")
    assert any(column == "budget" for row, column, _ in rows if row == "5")
    # the good first row was not stored either: M07 is still unreported
    after = compute_position(web_workspace, as_at="2025-10")
    assert after.ytd_actual_pence == before.ytd_actual_pence == 6 * 1_100_000 * 100


def test_a_good_ledger_lands(app_client: TestClient, web_workspace: Workspace) -> None:
    sign_in(app_client, "fiona")
    good = "org_code,year,month,category,subcategory,budget,actual\n01A,2025/26,M07,acute,Trust A,1000000,1200000\n"
    status, html = _upload(app_client, "october.csv", good)
    assert status == 200 and "Imported october.csv: 1 row(s)" in html
    assert compute_position(web_workspace, as_at="2025-10").ytd_actual_pence == (6 * 1_100_000 + 1_200_000) * 100


def test_a_file_that_is_not_csv_or_excel_is_refused(app_client: TestClient) -> None:
    sign_in(app_client, "fiona")
    status, html = _upload(app_client, "notes.txt", "hello")
    assert status == 422 and "not a CSV or Excel file" in html


def test_board_and_practice_users_cannot_import(app_client: TestClient) -> None:
    for username in ("bob", "pat"):
        sign_in(app_client, username)
        assert app_client.get("/imports").status_code == 403
        token = app_client.get("/api/session").json()["csrf_token"]
        response = app_client.post(
            "/api/imports/ledger", files={"file": ("x.csv", b"a,b\n")}, headers={"X-CSRF-Token": token}
        )
        assert response.status_code == 403


def test_api_import_answers_422_with_problems(app_client: TestClient) -> None:
    token = sign_in(app_client, "ada")
    response = app_client.post(
        "/api/imports/ledger",
        files={"file": ("october.csv", BAD_LEDGER.encode(), "text/csv")},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert {problem["row"] for problem in problems} >= {3, 4, 5}
    assert all(problem["source"] == "october.csv" for problem in problems)
