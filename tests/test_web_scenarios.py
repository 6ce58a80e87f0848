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
    assert '<option value="scenarios/web-test.toml" selected>' in html  # ready to run again
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
    "method,path",
    [
        ("get", "/scenarios"),
        ("get", "/api/scenarios"),
        ("post", "/api/scenarios/run"),
        ("post", "/scenarios/run"),
        ("get", "/scenarios/jobs/any"),
        ("post", "/scenarios/jobs/any/cancel"),
    ],
)
def test_a_practice_user_is_refused(shared_client: TestClient, method: str, path: str) -> None:
    token = sign_in(shared_client, "pat")
    response = getattr(shared_client, method)(
        path, **({"headers": {"X-CSRF-Token": token}} if method == "post" else {})
    )
    assert response.status_code == 403


# --- heavy work: runs are jobs, bounded, and never hold up the pages ---------------------------------------------


class Gate:
    """Holds every scenario run at its first vacancy-control lever until opened, and records each lever applied."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self.holding = True
        self.applied: list[str] = []
        for lever_type, rule in list(scenario_levers.RULES.items()):
            monkeypatch.setitem(scenario_levers.RULES, lever_type, self._wrap(lever_type, rule))  # type: ignore[index]

    def _wrap(self, lever_type: str, rule: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any) -> Any:
            if lever_type == "vacancy_control" and self.holding:
                self.entered.set()
                self.release.wait(30)  # a safety net only: each test opens the gate itself
            self.applied.append(lever_type)
            return rule(*args)

        return wrapped


def _in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, threading.Event, list[Any]]:
    """``work`` run in a thread: the thread, an event set when it returns, and its answer."""
    finished, answer = threading.Event(), []

    def run() -> None:
        answer.append(work())
        finished.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, finished, answer


def test_pages_answer_while_a_scenario_runs(
    shared_client: TestClient, scenario_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A board user's run used to hold the one compute lock, so finance's position waited for it (219 s)."""
    gate = Gate(monkeypatch)
    token = sign_in(shared_client, "bob")
    form = {"name": "scenarios/web-test.toml", "csrf_token": token}
    runner, _, started = _in_thread(lambda: shared_client.post("/scenarios/run", data=form, follow_redirects=False))
    assert gate.entered.wait(30)
    shared_client.app.state.cache.invalidate()  # type: ignore[attr-defined]  # nothing cached: the pages compute now
    reader, read, answers = _in_thread(lambda: (shared_client.get("/api/position"), shared_client.get("/")))
    read_while_held = read.wait(30)  # a safety net only: the pages answer at once unless they wait for the run
    gate.release.set()
    runner.join(30)
    reader.join(30)
    assert read_while_held, "a page waited for the scenario run"
    position, overview = answers[0]
    assert position.status_code == 200 and position.json()["forecast_outturn_pence"] == 13_200_000 * POUND
    assert overview.status_code == 200 and "£200k deficit" in overview.text  # the overview in £000 by default
    assert 'id="scenario-outturn">£13,090,000.00<' in _finished_page(shared_client, started[0], "bob")


def test_a_run_past_its_time_limit_is_reported_timed_out_stops_and_frees_its_worker(
    shared_client: TestClient, scenario_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [0.0]  # the jobs' clock, moved by hand
    app: Any = shared_client.app
    app.state.jobs.shutdown()
    app.state.jobs = JobRunner(JobLimits(workers=1, time_limit_seconds=10), clock=lambda: now[0])
    gate = Gate(monkeypatch)
    token = sign_in(shared_client, "fiona")
    form = {"name": "scenarios/web-test.toml", "csrf_token": token}
    poster, _, started = _in_thread(lambda: shared_client.post("/scenarios/run", data=form, follow_redirects=False))
    assert gate.entered.wait(30)
    poster.join(30)  # the page answered at once: the run is a job
    job = _job(shared_client, started[0], "fiona")
    now[0] = 11.0  # past the limit while the first lever is still held
    panel = shared_client.get(started[0].headers["location"], headers={"HX-Request": "true"}).text
    assert 'data-state="timed_out"' in panel and "time limit of 10 seconds" in panel and "hx-trigger" not in panel
    gate.release.set()
    job.future.result(timeout=60)
    assert job.state is JobState.TIMED_OUT and gate.applied == ["vacancy_control"]  # stopped before the next lever

    gate.holding = False  # the one worker is free: the next run goes through to the end
    again = shared_client.post("/scenarios/run", data=form, follow_redirects=False)
    assert 'id="scenario-outturn">£13,090,000.00<' in _finished_page(shared_client, again, "fiona")

    gate.holding, gate.release = True, threading.Event()  # the API says so too, while the lever is still held
    gate.entered.clear()
    headers = {"X-CSRF-Token": token}
    caller, _, answer = _in_thread(
        lambda: shared_client.post("/api/scenarios/run", data={"name": "scenarios/web-test.toml"}, headers=headers)
    )
    assert gate.entered.wait(30)
    now[0] = 30.0
    caller.join(30)
    gate.release.set()
    assert answer[0].status_code == 503 and answer[0].json()["state"] == "timed_out"


def test_fifty_levers_are_refused_naming_the_cap(shared_client: TestClient) -> None:
    token = sign_in(shared_client, "bob")
    lever = '[[levers]]\ntype = "vacancy_control"\nmonthly_saving = "£1k"\n'
    text = 'name = "Fifty"\norg = "01A"\nas_at = "2025-09"\n' + lever * 50
    upload = {"upload": ("fifty.toml", text.encode(), "application/toml")}
    response = shared_client.post("/api/scenarios/run", files=upload, headers={"X-CSRF-Token": token})
    assert response.status_code == 422
    (problem,) = response.json()["problems"]
    assert problem["source"] == "fifty.toml"
    assert problem["reason"] == "levers: a scenario holds at most 20 levers, not 50: split it into smaller scenarios"
    page = shared_client.post("/scenarios/run", files=upload, data={"csrf_token": token})
    assert page.status_code == 422 and "at most 20 levers, not 50" in page.text


def test_one_run_at_a_time_per_user_seen_and_cancelled_only_by_its_owner(
    shared_client: TestClient, scenario_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(monkeypatch)
    token = sign_in(shared_client, "fiona")
    form = {"name": "scenarios/web-test.toml", "csrf_token": token}
    poster, _, started = _in_thread(lambda: shared_client.post("/scenarios/run", data=form, follow_redirects=False))
    assert gate.entered.wait(30)
    poster.join(30)
    mine = _job(shared_client, started[0], "fiona")
    second = shared_client.post("/scenarios/run", data=form)
    assert second.status_code == 409 and "already have a scenario running" in second.text
    api = shared_client.post(
        "/api/scenarios/run", data={"name": "scenarios/web-test.toml"}, headers={"X-CSRF-Token": token}
    )
    assert api.status_code == 409

    other = TestClient(shared_client.app)  # another user, signed in on their own
    other_token = sign_in(other, "bob")
    theirs = other.post("/scenarios/run", data={**form, "csrf_token": other_token}, follow_redirects=False)
    assert theirs.status_code == 303  # accepted: the limit is per user
    location = started[0].headers["location"]
    assert other.get(location).status_code == 404
    assert other.post(f"{location}/cancel", data={"csrf_token": other_token}).status_code == 404

    assert (
        shared_client.post(f"{location}/cancel", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    )
    gate.release.set()
    mine.future.result(timeout=60)
    assert mine.state is JobState.CANCELLED
    page = shared_client.get(location).text
    assert 'id="scenario-stopped-reason">The scenario was cancelled.<' in page
    assert 'id="scenario-outturn">£13,090,000.00<' in _finished_page(other, theirs, "bob")


def test_a_run_nobody_asks_after_is_cancelled() -> None:
    """The page polls a running job; a client that left stops asking, and the run stops at its next step."""
    now = [0.0]
    runner = JobRunner(JobLimits(workers=1, abandon_seconds=5, time_limit_seconds=100), clock=lambda: now[0])
    entered, release = threading.Event(), threading.Event()

    def work(checkpoint: Callable[[], None]) -> str:
        entered.set()
        release.wait(30)
        checkpoint()
        return "finished"

    asked_after = runner.submit("fiona", work)
    assert entered.wait(30)
    now[0] = 4.0
    runner.get(asked_after.id, "fiona")  # a poll
    now[0] = 8.0  # four seconds since the last poll
    release.set()
    asked_after.future.result(timeout=30)
    assert asked_after.state is JobState.DONE and asked_after.result == "finished"

    entered.clear()
    release.clear()
    left = runner.submit("fiona", work)
    assert entered.wait(30)
    now[0] = 14.0  # six seconds with nobody asking
    release.set()
    left.future.result(timeout=30)
    assert left.state is JobState.CANCELLED and "nobody was waiting" in left.message
    runner.shutdown()


def test_a_scenario_the_workspace_cannot_answer_says_why(shared_client: TestClient) -> None:
    """The position behind the scenario cannot be worked out (no plan for 2019/20): the run's answer is the
    reason, a 400 from the API and the message on the job's page, never an unexpected failure."""
    token = sign_in(shared_client, "fiona")
    lever = {"type": "vacancy_control", "monthly_saving": "£1k"}
    text = json.dumps({"name": "Old", "org": "01A", "as_at": "2019-09", "levers": [lever]})
    upload = {"upload": ("old.json", text.encode(), "application/json")}
    response = shared_client.post("/api/scenarios/run", files=upload, headers={"X-CSRF-Token": token})
    assert response.status_code == 400, response.text
    reason = response.json()["error"]
    assert "2019/20" in reason
    started = shared_client.post("/scenarios/run", files=upload, data={"csrf_token": token}, follow_redirects=False)
    page = _finished_page(shared_client, started, "fiona")
    assert f'id="scenario-stopped-reason">{reason}<' in page.replace("&#39;", "'")
