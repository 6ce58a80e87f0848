"""Uploading files: a bad file's problems are listed (file, row, column, reason) and nothing of it is stored;
a good file lands; only finance and admin may import."""

from __future__ import annotations

import hashlib
import re
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.services import imports as imports_service
from outturn.services import savings
from outturn.services.position import compute_position
from outturn.services.workspace import Workspace
from outturn.store.models import ImportRow, LedgerLineRow
from web_helpers import app_client, csrf_from, sign_in, web_workspace

__all__ = ["app_client", "web_workspace"]
BAD_LEDGER = (
    "org_code,year,month,category,subcategory,budget,actual\n"
    "01A,2025/26,M07,acute,Trust A,1000000,1200000\n"
    "01A,2025/26,M13,acute,Trust A,1000000,1200000\n"
    'ZZZ,2025/26,M07,acute,Trust A,1000000,"1,2"\n'  # quoted: an unquoted comma refuses the whole file
    "01A,2025/26,M08,acute,Trust A,lots,1200000\n"
)


def _finished(client: TestClient, response: Any) -> Any:
    """Follow an upload or confirmation to its job's page once the job has ended (no timing: wait on the job)."""
    if response.status_code != 303:
        return response
    location = response.headers["location"]
    job_id = location.rsplit("/", 1)[-1]
    jobs = client.app.state.import_jobs  # type: ignore[attr-defined]
    for job in list(jobs._jobs.values()):
        if job.id == job_id:
            assert job.done.wait(120), "the import never ended"
    return client.get(location)


def _post_upload(client: TestClient, name: str, text: str, kind: str = "ledger") -> Any:
    token = csrf_from(client.get("/imports").text)
    return client.post(
        "/imports",
        data={"kind": kind, "csrf_token": token},
        files={"file": (name, text.encode(), "text/csv")},
        follow_redirects=False,
    )


def _upload(client: TestClient, name: str, text: str, kind: str = "ledger") -> tuple[int, str]:
    response = _finished(client, _post_upload(client, name, text, kind))
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
    # the same shape as `outturn ledger import --format json`: every problem listed here, none left out
    assert response.json()["problems_total"] == len(problems) and response.json()["problems_omitted"] == []


# --- a ledger that removes lines needs a confirmation of that very file; imports run off the event loop -------

# The workspace holds one line a month (acute, Trust A: budget £1m; actual £1.1m to M06). This file moves M07 to
# Trust B, so it would remove Trust A's M07 line.
MOVED = "org_code,year,month,category,subcategory,budget,actual\n01A,2025/26,M07,acute,Trust B,900000,950000\n"


def _ledger(workspace: Workspace) -> list[tuple[Any, ...]]:
    with workspace.store.reading() as session:
        return [tuple(row) for row in session.execute(select(LedgerLineRow.__table__).order_by(LedgerLineRow.id))]


def _import_rows(workspace: Workspace) -> int:
    with workspace.store.reading() as session:
        return session.scalar(select(func.count()).select_from(ImportRow)) or 0


def _confirm_form(html: str) -> tuple[str, str]:
    found = re.search(r'action="(/imports/jobs/[^"]+/confirm)".*?name="sha256" value="([0-9a-f]{64})"', html, re.S)
    assert found, "no confirmation form on the page"
    return found.group(1), found.group(2)


def test_a_ledger_that_removes_lines_shows_the_comparison_and_stores_nothing_until_confirmed(
    app_client: TestClient, web_workspace: Workspace
) -> None:
    sign_in(app_client, "fiona")
    before, imports_before = _ledger(web_workspace), _import_rows(web_workspace)

    status, html = _upload(app_client, "moved.csv", MOVED)

    assert status == 409
    assert "would remove 1 stored line(s)" in html
    # acute 2025/26 M07: one line £1,000,000.00 budget, no actual → one line £900,000.00 and £950,000.00
    assert "£1,000,000.00 → £900,000.00" in html and "£0.00 → £950,000.00" in html
    assert _ledger(web_workspace) == before and _import_rows(web_workspace) == imports_before
    action, sha256 = _confirm_form(html)
    assert sha256 == hashlib.sha256(MOVED.encode()).hexdigest()

    no_csrf = app_client.post(action, data={"sha256": sha256}, follow_redirects=False)
    token = csrf_from(html)
    wrong = app_client.post(action, data={"sha256": "0" * 64, "csrf_token": token}, follow_redirects=False)
    assert (no_csrf.status_code, wrong.status_code) == (403, 409)
    assert _ledger(web_workspace) == before

    done = _finished(
        app_client, app_client.post(action, data={"sha256": sha256, "csrf_token": token}, follow_redirects=False)
    )

    assert done.status_code == 200 and "Imported moved.csv: 1 row(s), replacing 1" in done.text
    july = [row for row in _ledger(web_workspace) if row[3] == 7]
    assert [(row[5], row[6], row[7]) for row in july] == [("Trust B", 90_000_000, 95_000_000)]
    again = app_client.post(action, data={"sha256": sha256, "csrf_token": token}, follow_redirects=False)
    assert again.status_code == 409  # a confirmation is used once


def test_the_file_confirmed_must_be_the_file_compared(app_client: TestClient, web_workspace: Workspace) -> None:
    sign_in(app_client, "fiona")
    status, html = _upload(app_client, "moved.csv", MOVED)
    assert status == 409
    action, sha256 = _confirm_form(html)
    job = app_client.app.state.import_jobs.get(action.split("/")[3], "fiona")  # type: ignore[attr-defined]
    job.path.write_text(MOVED.replace("900000", "1"), encoding="utf-8")  # the kept file changed under us
    before = _ledger(web_workspace)

    done = _finished(
        app_client,
        app_client.post(action, data={"sha256": sha256, "csrf_token": csrf_from(html)}, follow_redirects=False),
    )

    assert done.status_code == 409 and "not the file whose comparison was shown" in done.text
    assert _ledger(web_workspace) == before


def test_another_user_cannot_see_or_confirm_a_job(app_client: TestClient) -> None:
    sign_in(app_client, "fiona")
    _status, html = _upload(app_client, "moved.csv", MOVED)
    action, sha256 = _confirm_form(html)
    token = sign_in(app_client, "ada")
    assert app_client.get(action.removesuffix("/confirm")).status_code == 404
    response = app_client.post(action, data={"sha256": sha256, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 404


def test_a_closed_month_is_refused_without_a_confirmation(app_client: TestClient, web_workspace: Workspace) -> None:
    savings.close_month(web_workspace, FinancialMonth(FinancialYear(2025), 7), "fiona")
    sign_in(app_client, "fiona")
    before = _ledger(web_workspace)

    status, html = _upload(app_client, "moved.csv", MOVED)

    assert status == 409 and "which is closed" in html
    assert 'name="sha256"' not in html
    assert _ledger(web_workspace) == before


def test_the_import_log_shows_who_imported_what(app_client: TestClient) -> None:
    token = sign_in(app_client, "fiona")
    good = "org_code,year,month,category,subcategory,budget,actual\n01A,2025/26,M07,acute,Trust A,1000000,1200000\n"
    assert _upload(app_client, "october.csv", good)[0] == 200

    page = app_client.get("/imports").text
    log = app_client.get("/api/imports").json()

    assert re.search(r"<td>fiona</td><td>ledger</td><td>october\.csv</td>", page)
    newest = log[0]
    assert (newest["kind"], newest["source"], newest["imported_by"], newest["rows"]) == (
        "ledger",
        "october.csv",
        "fiona",
        1,
    )
    assert newest["sha256"] == hashlib.sha256(good.encode()).hexdigest()
    assert (newest["budget_pence"], newest["actual_pence"]) == (100_000_000, 120_000_000)
    assert newest["replaced_rows"] == 1
    assert (newest["replaced_budget_pence"], newest["replaced_actual_pence"]) == (100_000_000, 0)
    assert token


def _slowed(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Make the ledger reader wait, once started, until released: an import that lasts as long as the test likes."""
    started, release = threading.Event(), threading.Event()
    real = imports_service.read_ledger

    def slow_read(*args: Any, **kwargs: Any) -> Any:
        started.set()
        release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(imports_service, "read_ledger", slow_read)
    return started, release


def test_healthz_answers_while_an_api_import_runs(app_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    token = sign_in(app_client, "fiona")
    started, release = _slowed(monkeypatch)
    finished: list[str] = []
    good = "org_code,year,month,category,subcategory,budget,actual\n01A,2025/26,M07,acute,Trust A,1000000,1200000\n"

    def post() -> None:
        response = app_client.post(
            "/api/imports/ledger", files={"file": ("october.csv", good.encode())}, headers={"X-CSRF-Token": token}
        )
        finished.append(f"import {response.status_code}")

    worker = threading.Thread(target=post)
    worker.start()
    assert started.wait(60)
    health = app_client.get("/healthz")
    finished.append(f"healthz {health.status_code}")
    release.set()
    worker.join(120)

    assert finished == ["healthz 200", "import 200"]  # healthz answered while the import was still running


def test_healthz_answers_while_a_page_import_runs(app_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    sign_in(app_client, "fiona")
    started, release = _slowed(monkeypatch)
    good = "org_code,year,month,category,subcategory,budget,actual\n01A,2025/26,M07,acute,Trust A,1000000,1200000\n"

    response = _post_upload(app_client, "october.csv", good)
    assert started.wait(60)
    running = app_client.get(response.headers["location"])
    health = app_client.get("/healthz")
    release.set()
    done = _finished(app_client, response)

    assert response.status_code == 303
    assert running.status_code == 200 and "Importing october.csv: step 1 of 3, reading the file" in running.text
    assert '<progress id="import-step" max="3" value="1">' in running.text  # reading, comparing, storing
    assert re.search(r"\(\d+ seconds? so far; you can leave this page and come back\)", running.text)
    assert 'hx-trigger="every 1s"' in running.text  # the page polls the job
    assert health.status_code == 200
    assert "Imported october.csv: 1 row(s)" in done.text and "hx-trigger" not in done.text


def test_a_very_long_file_name_imports_under_a_safe_name(app_client: TestClient, web_workspace: Workspace) -> None:
    """A 256-character name was a 500 (the temporary file could not be created); now the file lands under a
    shortened name that keeps its suffix."""
    token = sign_in(app_client, "fiona")
    good = "org_code,year,month,category,subcategory,budget,actual\n01A,2025/26,M07,acute,Trust A,1000000,1200000\n"
    response = app_client.post(
        "/api/imports/ledger",
        files={"file": ("a" * 252 + ".csv", good.encode())},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 200, response.text
    with web_workspace.store.reading() as session:
        sources = session.scalars(select(ImportRow.source_name)).all()
    assert any(source.endswith(".csv") and 0 < len(source) <= 100 for source in sources), sources
