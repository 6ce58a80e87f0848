"""The scenarios page and API against figures worked by hand from the fixture (tests/web_helpers.py), and against
``outturn scenario run --format json`` on the same workspace and file.

NHS Test sub-ICB 01A as at M06 2025/26: resource £13m, control total £0.5m surplus; the ledger's one line runs at
£1.1m a month, so the run-rate forecast outturn is £13.2m (a £0.2m deficit, £0.7m short of the control total).
The scenario: vacancy control saving £10k a month from M07 (six months in year: −£60k; full year −£120k) and a
one-off £50k in M11 (in year −£50k, no full-year effect). Scenario outturn £13.2m − £110k = £13.09m: a £90k deficit,
£590k short of the control total; the recurrent levers' full-year effect −£120k.

A run is a job: the page starts it and polls it; the tests hold a lever inside a run (``Gate``) to see what the
rest of the application does meanwhile, and drive the job's clock by hand, so no test depends on how long anything
takes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from outturn.cli import app as cli
from outturn.domain import scenario_levers
from outturn.services.workspace import Workspace
from outturn.web.jobs import Job, JobLimits, JobRunner, JobState
from web_helpers import shared_client, shared_workspace, sign_in

__all__ = ["shared_client", "shared_workspace"]
POUND = 100
SCENARIO = """name = "Web test"
org = "01A"
as_at = "2025-09"

[[levers]]
type = "vacancy_control"
monthly_saving = "£10k"

[[levers]]
type = "non_recurrent"
label = "Estates disposal"
amount = "£50k"
month = "M11"
category = "other_programme"
"""
BAD = """name = "Bad"
org = "01A"

[[levers]]
type = "vacancy_control"
monthly_saving = "lots"

[[levers]]
type = "teleport"
"""


@pytest.fixture(scope="module")
def scenario_file(shared_workspace: Workspace) -> Path:
    folder = shared_workspace.path / "scenarios"
    folder.mkdir(exist_ok=True)
    path = folder / "web-test.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def _run(client: TestClient, token: str, **data: str) -> dict:
    response = client.post("/api/scenarios/run", data=data, headers={"X-CSRF-Token": token})
    assert response.status_code == 200, response.text
    return response.json()


def _job(client: TestClient, started: Any, username: str) -> Job:
    """The job a page's POST started (it answers 303 to the job's page)."""
    assert started.status_code == 303, started.text
    job_id = started.headers["location"].rsplit("/", 1)[1]
    job: Job = client.app.state.jobs.get(job_id, username)  # type: ignore[attr-defined]
    return job


def _finished_page(client: TestClient, started: Any, username: str) -> str:
    """The job's page once its worker has finished."""
    job = _job(client, started, username)
    job.future.result(timeout=60)
    return client.get(started.headers["location"]).text


def test_files_listed_from_the_workspace_and_the_examples(shared_client: TestClient, scenario_file: Path) -> None:
    sign_in(shared_client, "bob")
    files = shared_client.get("/api/scenarios").json()["files"]
    assert "scenarios/web-test.toml" in files and "examples/recovery-2025-26.toml" in files
    assert "scenarios/web-test.toml" in shared_client.get("/scenarios").text


def test_scenario_worked_by_hand(shared_client: TestClient, scenario_file: Path) -> None:
    token = sign_in(shared_client, "fiona")
    document = _run(shared_client, token, name="scenarios/web-test.toml")
    assert document["baseline"] == {
        "forecast_outturn_pence": 13_200_000 * POUND,
        "forecast_surplus_pence": -200_000 * POUND,
        "gap_to_control_total_pence": 700_000 * POUND,
    }
    assert document["scenario"] == {
        "forecast_outturn_pence": 13_090_000 * POUND,
        "forecast_surplus_pence": -90_000 * POUND,
        "gap_to_control_total_pence": 590_000 * POUND,
    }
    levers = [(lever["in_year_pence"], lever["full_year_pence"], lever["recurrent"]) for lever in document["levers"]]
    assert levers[0] == (-60_000 * POUND, -120_000 * POUND, True)
    assert levers[1][0] == -50_000 * POUND and levers[1][2] is False
    assert document["full_year_effect_pence"] == -120_000 * POUND
    bridge = [(step["kind"], step["running_pence"]) for step in document["bridge"]]
    assert bridge[0][1] == 13_200_000 * POUND and bridge[-1][1] == 13_090_000 * POUND


def test_the_page_shows_the_result_and_the_api_mirrors_the_command_line(
    shared_client: TestClient, shared_workspace: Workspace, scenario_file: Path
) -> None:
    token = sign_in(shared_client, "bob")  # board may run: running stores nothing
    started = shared_client.post(
        "/scenarios/run", data={"name": "scenarios/web-test.toml", "csrf_token": token}, follow_redirects=False
    )
    html = _finished_page(shared_client, started, "bob")
    assert 'id="baseline-outturn">£13,200,000.00<' in html and 'id="scenario-outturn">£13,090,000.00<' in html
    assert "Estates disposal" in html and "non-recurrent" in html
    result = CliRunner().invoke(
        cli, ["--workspace", str(shared_workspace.path), "scenario", "run", str(scenario_file), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert _run(shared_client, token, name="scenarios/web-test.toml") == json.loads(result.stdout)


def test_an_uploaded_bad_file_lists_its_problems(shared_client: TestClient) -> None:
    token = sign_in(shared_client, "fiona")
    upload = {"upload": ("bad.toml", BAD.encode(), "application/toml")}
    response = shared_client.post("/api/scenarios/run", files=upload, headers={"X-CSRF-Token": token})
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert {problem["source"] for problem in problems} == {"bad.toml"}
    reasons = " | ".join(problem["reason"] for problem in problems)
    assert "levers[0].monthly_saving" in reasons and "unknown lever type 'teleport'" in reasons
    page = shared_client.post("/scenarios/run", files=upload, data={"csrf_token": token})
    assert page.status_code == 422 and 'id="scenario-problems"' in page.text and "levers[1]" in page.text
    wrong = {"upload": ("notes.txt", b"hello", "text/plain")}
    refused = shared_client.post("/api/scenarios/run", files=wrong, headers={"X-CSRF-Token": token})
    assert refused.status_code == 422 and "not a scenario file" in refused.json()["problems"][0]["reason"]


def test_an_uploaded_good_file_runs(shared_client: TestClient) -> None:
    token = sign_in(shared_client, "ada")
    lever = {"type": "non_recurrent", "amount": "£1k", "month": "M12", "category": "other_programme"}
    text = json.dumps({"name": "Mine", "org": "01A", "as_at": "2025-09", "levers": [lever]})
    upload = {"upload": ("mine.json", text.encode(), "application/json")}
    response = shared_client.post("/api/scenarios/run", files=upload, headers={"X-CSRF-Token": token})
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["source"] == "mine.json" and document["change_pence"] == -1_000 * POUND


def test_unknown_file_is_404(shared_client: TestClient) -> None:
    token = sign_in(shared_client, "fiona")
    response = shared_client.post(
        "/api/scenarios/run", data={"name": "../secret.toml"}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 404


def test_running_needs_the_csrf_token(shared_client: TestClient, scenario_file: Path) -> None:
    sign_in(shared_client, "fiona")
    assert shared_client.post("/scenarios/run", data={"name": "scenarios/web-test.toml"}).status_code == 403
    response = shared_client.post("/api/scenarios/run", data={"name": "scenarios/web-test.toml"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "method,path", [("get", "/scenarios"), ("get", "/api/scenarios"), ("post", "/api/scenarios/run")]
)
def test_a_practice_user_is_refused(shared_client: TestClient, method: str, path: str) -> None:
    token = sign_in(shared_client, "pat")
    response = getattr(shared_client, method)(
        path, **({"headers": {"X-CSRF-Token": token}} if method == "post" else {})
    )
    assert response.status_code == 403
