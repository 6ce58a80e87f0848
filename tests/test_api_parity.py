"""The CLI's JSON and the API's JSON for the same request are the same document: every ``--format json`` command
with an ``/api`` twin is run both ways on one workspace (tests/web_helpers.py's shared one: the ledger, plan,
risks and savings of 01A, the contract with RXX and its activity, practice populations and prescribing) and the
two answers compared whole.

Where the API's answer is a larger document that holds the command's (``/api/prescribing`` holds ``prescribing
savings``; ``/api/close`` holds ``savings movement``), the part is compared, and the case says which. Where the API
adds fields of its own, the case names them and says why; nothing else may differ. Changes (a scheme edit, a
month close, an import) run the command on one copy of the workspace and the API on another, and compare answers.

Twins with no test here, and why: ``/api/contracts`` (no command lists contracts), ``/api/practices``,
``/api/practices/{code}``, ``/api/pcns/{code}`` and ``/api/scenarios`` (no command twin); ``/api/overview``'s
``reconciliation`` and ``savings`` (a simulation at the overview's own trials, and a sum over ``savings rollup``'s
rows: page figures, not a command's document).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from outturn.cli import app as cli
from outturn.domain.challenges import ChallengeCategory
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.services import challenges, planning, savings
from outturn.services.workspace import Workspace
from outturn.web import create_app
from web_helpers import AT_ONCE, app_client, copy_workspace, shared_workspace, sign_in, web_workspace

__all__ = ["app_client", "shared_workspace", "web_workspace"]


@dataclass(frozen=True)
class Pair:
    """A command's arguments (``--format json`` is added), the API path that answers the same question, the part of
    the API's answer that is the command's document, and the API's own fields (with why) left out of it."""

    name: str
    command: list[str]
    path: str
    part: Callable[[Any], Any] = lambda document: document
    api_only: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None  # posted as a form (with the CSRF token) rather than a GET


PAIRS = (
    Pair("position", ["position", "--org", "01A", "--as-at", "2025-09"], "/api/position?org=01A&as_at=2025-09"),
    Pair(
        "position in the overview",
        ["position", "--org", "01A", "--as-at", "2025-09"],
        "/api/overview?org=01A&as_at=2025-09",
        part=lambda document: document["position"],
    ),
    Pair("position history", ["position", "history", "--org", "01A"], "/api/position/history?org=01A"),
    Pair("forecast backtest", ["forecast", "backtest", "--as-at", "2025-09"], "/api/forecast/backtest?as_at=2025-09"),
    Pair(
        "benchmark",
        ["benchmark", "--measure", "gp_referrals", "--org", "01A", "--year", "2025/26"],
        "/api/benchmark?measure=gp_referrals&org=01A&as_at=2025-09",
        api_only={"funnel": "the funnel plot the page draws; the command's twin is `outturn funnel`"},
    ),
    Pair(
        "benchmark of avoidable admissions",
        ["benchmark", "--measure", "acsc_admissions", "--org", "01A", "--year", "2025/26"],
        "/api/benchmark?measure=acsc_admissions&org=01A&as_at=2025-09",
        api_only={"funnel": "the funnel plot the page draws; the command's twin is `outturn funnel`"},
    ),
    Pair(
        "contracts statement",
        ["contracts", "statement", "--provider", "RXX", "--as-at", "2025-09"],
        "/api/contracts/RXX?as_at=2025-09",
    ),
    Pair(
        "contracts reconcile",
        ["contracts", "reconcile", "--as-at", "2025-09"],
        "/api/contracts/reconcile?as_at=2025-09",
    ),
    Pair(
        "budget-holders report",
        ["budget-holders", "report", "--as-at", "2025-09"],
        "/api/budget-holders?as_at=2025-09",
    ),
    Pair(
        "ledger rollup",
        ["ledger", "rollup", "--by", "budget-holder", "--as-at", "2025-09"],
        "/api/ledger/rollup?by=budget-holder&as_at=2025-09",
    ),
    Pair(
        "contracts challenges list",
        ["contracts", "challenges", "list", "--provider", "RXX", "--year", "2025/26"],
        "/api/contracts/RXX/challenges?year=2025/26",
    ),
    Pair("imports list", ["imports", "list"], "/api/imports"),
    Pair("patients high-intensity", ["patients", "high-intensity"], "/api/patients/high-intensity"),
    Pair("savings show", ["savings", "show", "S1", "--as-at", "2025-09"], "/api/savings/schemes/2025/S1?as_at=2025-09"),
    Pair(
        "savings list",
        ["savings", "list", "--as-at", "2025-09"],
        "/api/savings/schemes?as_at=2025-09&per_page=1000",
        part=lambda document: document["schemes"],  # the API pages the rows: as_at, total, page, pages
    ),
    Pair(
        "prescribing savings",
        ["prescribing", "savings", "--month", "2025-08"],
        "/api/prescribing?month=2025-08",
        part=lambda document: document["savings"],
    ),
    Pair(
        "contracts challenges history",
        ["contracts", "challenges", "history", "CH-2025-0001"],
        "/api/challenges/CH-2025-0001",
    ),
    Pair(
        "savings movement",
        ["savings", "movement", "--from", "2025-08", "--to", "2025-09"],
        "/api/close",
        part=lambda document: document["movement"],
        api_only={"from": "the close the movement starts from: the command is given it", "to": "likewise its end"},
    ),
    Pair("commentary list", ["commentary", "list", "--as-at", "2025-09"], "/api/commentary?as_at=2025-09"),
    Pair(
        "plan bridge over two years",
        ["plan", "bridge", "--year", "2026/27", "--years", "2", "--org", "01A"],
        "/api/plan/bridge?year=2026/27&years=2&org=01A",
    ),
    Pair(
        "savings rollup by programme",
        ["savings", "rollup", "--level", "programme"],
        "/api/savings/rollup?level=programme",
    ),
    Pair(
        "savings rollup by organisation",
        ["savings", "rollup", "--level", "organisation", "--as-at", "2025-09"],
        "/api/savings/rollup?level=organisation&as_at=2025-09",
    ),
    Pair(
        "commentary list of a holder",
        ["commentary", "list", "--holder", "nobody", "--as-at", "2025-09"],
        "/api/commentary?holder=nobody&as_at=2025-09",
    ),
    Pair(
        "scenario run",
        ["scenario", "run", "{scenario}"],
        "/api/scenarios/run",
        form={"name": "scenarios/parity.toml"},
    ),
)
# A scenario of two levers on 01A as at September 2025 (tests/test_web_scenarios.py runs the same kind).
SCENARIO = """name = "Parity"
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


PLAN_ASSUMPTIONS = """org_code,year,assumption,amount
01A,2026/27,exit_position,-£0.2m
01A,2026/27,allocation,£13m
01A,2026/27,allocation_growth,£0.3m
01A,2026/27,tariff_inflation,£0.4m
01A,2026/27,control_total,£0.1m
01A,2027/28,allocation_growth,£0.3m
01A,2027/28,demographic_growth,£0.2m
"""


def run_cli(workspace: Workspace, command: list[str]) -> Any:
    scenario = str(workspace.path / "scenarios" / "parity.toml")
    arguments = [argument.replace("{scenario}", scenario) for argument in command]
    result = CliRunner().invoke(cli, ["--workspace", str(workspace.path), *arguments, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def workspace(shared_workspace: Workspace) -> Workspace:
    """The shared workspace with what the remaining pairs read: a scenario file, a challenge to RXX's statement
    (its reference the year's first), savings closes at August and September 2025 (a movement between them),
    plan assumptions for 2026/27 and 2027/28 and the savings targets of a programme set from them."""
    folder = shared_workspace.path / "scenarios"
    folder.mkdir(exist_ok=True)
    (folder / "parity.toml").write_text(SCENARIO, encoding="utf-8")
    new = challenges.NewChallenge("RXX", "01A", FinancialYear(2025), ChallengeCategory.CODING, 1_234_57)
    assert challenges.add_challenge(shared_workspace, new, "fiona").reference == "CH-2025-0001"
    for month in ("2025-08", "2025-09"):
        savings.close_month(shared_workspace, FinancialMonth.parse_as_at(month), "fiona")
    (folder / "assumptions.csv").write_text(PLAN_ASSUMPTIONS, encoding="utf-8")
    planning.import_plan_assumptions(shared_workspace, folder / "assumptions.csv")
    planning.targets_from_plan(shared_workspace, "2026/27", 2, "Recovery 2026-28", "fiona")
    return shared_workspace


@pytest.fixture(scope="module")
def client(workspace: Workspace) -> Iterator[tuple[TestClient, str]]:
    with TestClient(create_app(workspace.settings, AT_ONCE)) as found:
        yield found, sign_in(found, "fiona")


def api(client: tuple[TestClient, str], pair: Pair) -> Any:
    session, token = client
    if pair.form is None:
        response = session.get(pair.path)
    else:
        response = session.post(pair.path, data=pair.form, headers={"X-CSRF-Token": token})
    assert response.status_code == 200, response.text
    return pair.part(response.json())


@pytest.mark.parametrize("pair", PAIRS, ids=lambda pair: pair.name)
def test_cli_json_equals_api_json(pair: Pair, workspace: Workspace, client: tuple[TestClient, str]) -> None:
    document = api(client, pair)
    if pair.api_only:
        assert set(pair.api_only) <= set(document), "a field the API is said to add is not there"
        document = {key: value for key, value in document.items() if key not in pair.api_only}
    assert run_cli(workspace, pair.command) == document


def test_the_overviews_top_risks_are_rows_of_the_risk_register(
    workspace: Workspace, client: tuple[TestClient, str]
) -> None:
    """``/api/overview``'s ``top_risks`` are the largest expected values of ``outturn risks list``, row for row
    (tests/web_helpers.py's register: £400k at 50% = £200k, £1m at 10% = £100k, £300k at 90% = £270k, and a
    mitigation of £100k at 50%)."""
    register = run_cli(workspace, ["risks", "list", "--org", "01A", "--year", "2025/26"])
    top = api(client, Pair("overview", [], "/api/overview?org=01A&as_at=2025-09"))["top_risks"]
    assert [row["description"] for row in top][:3] == ["Drug prices", "Winter pressures", "CHC claims"]
    assert top == [next(row for row in register if row["description"] == risk["description"]) for risk in top]


# --- changes: the command on one copy of the workspace, the API on another, the same answer ------------------


# S2 (tests/web_helpers.py) is at version 1; M09 is a month still to come at the workspace's month (M06).
WRITES = (
    ("savings update", ["savings", "update", "S2", "--version", "1", "--forecast", "M09=£1"], 0,
     "/api/savings/schemes/2025/S2", {"version": 1, "forecast_pence": {"9": 100}}, 200),
    ("savings update, someone saved first", ["savings", "update", "S2", "--version", "0", "--forecast", "M09=£1"], 2,
     "/api/savings/schemes/2025/S2", {"version": 0, "forecast_pence": {"9": 100}}, 409),
    ("savings close-month", ["savings", "close-month"], 0, "/api/close", None, 200),
)  # fmt: skip


@pytest.mark.parametrize(("command", "exit_code", "path", "body", "status"), [case[1:] for case in WRITES],
                         ids=[case[0] for case in WRITES])  # fmt: skip
def test_a_change_answers_the_same_from_the_cli_and_the_api(
    command: list[str],
    exit_code: int,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    web_workspace_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two copies of ``web_helpers.build_workspace``'s workspace: the command changes one, the API (as fiona) the
    other."""
    monkeypatch.delenv("OUTTURN_REFERENCE_DIR", raising=False)  # as web_helpers.web_workspace
    copy_workspace(web_workspace_template, tmp_path / "cli").close()
    for_api = copy_workspace(web_workspace_template, tmp_path / "api")
    with TestClient(create_app(for_api.settings, AT_ONCE)) as client:
        response = client.post(path, json=body, headers={"X-CSRF-Token": sign_in(client, "fiona")})
    for_api.close()
    result = CliRunner().invoke(cli, ["--workspace", str(tmp_path / "cli" / "ws"), *command, "--format", "json"])
    assert (result.exit_code, response.status_code) == (exit_code, status), result.output + response.text
    assert json.loads(result.stdout) == response.json()


def test_commentary_written_answers_the_same_from_the_cli_and_the_api(
    web_workspace_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line's commentary written by the command (as fiona) on one copy and posted to the API (signed in as fiona)
    on another: the same document but for the moment each was written."""
    monkeypatch.delenv("OUTTURN_REFERENCE_DIR", raising=False)  # as web_helpers.web_workspace
    monkeypatch.setenv("OUTTURN_USER", "fiona")
    copy_workspace(web_workspace_template, tmp_path / "cli").close()
    for_api = copy_workspace(web_workspace_template, tmp_path / "api")
    body = {"org_code": "01A", "cost_centre": "acute", "subjective_code": "Trust A", "version": 0,
            "text": "Trust A's activity is 10% above plan.", "as_at": "2025-09"}  # fmt: skip
    with TestClient(create_app(for_api.settings, AT_ONCE)) as client:
        response = client.post("/api/commentary", json=body, headers={"X-CSRF-Token": sign_in(client, "fiona")})
    for_api.close()
    command = ["commentary", "write", "--org", "01A", "--cost-centre", "acute", "--subjective", "Trust A",
               "--version", "0", "--text", "Trust A's activity is 10% above plan.", "--as-at", "2025-09"]  # fmt: skip
    result = CliRunner().invoke(cli, ["--workspace", str(tmp_path / "cli" / "ws"), *command, "--format", "json"])
    assert (result.exit_code, response.status_code) == (0, 200), result.output + response.text
    from_cli, from_api = json.loads(result.stdout), response.json()
    assert from_cli.pop("written_at") and from_api.pop("written_at")
    assert from_cli == from_api
    assert (from_api["author"], from_api["version"], from_api["month"]) == ("fiona", 1, "M06")


def test_a_measure_that_cannot_be_benchmarked_gets_the_commands_reason(
    web_workspace: Workspace, app_client: TestClient
) -> None:
    """``web_helpers.build_workspace`` holds no practice populations: the command exits 2 and the API answers 400,
    both with the service's own message (the command adds its hint)."""
    sign_in(app_client, "fiona")
    response = app_client.get("/api/benchmark?measure=gp_referrals&org=01A&as_at=2025-09")
    result = CliRunner().invoke(
        cli,
        ["--workspace", str(web_workspace.path), "benchmark", "--measure", "gp_referrals", "--org", "01A",
         "--year", "2025/26", "--format", "json"],
    )  # fmt: skip
    assert (result.exit_code, response.status_code) == (2, 400), result.output + response.text
    # the same message; the command line adds its own hint (how to load them), which names a command
    cli_error, api_error = json.loads(result.stdout)["error"], response.json()["error"]
    assert cli_error.startswith(api_error) and "population" in api_error
    assert "outturn populations import" in cli_error and "outturn" not in api_error


# An October ledger line (new: nothing replaced), and the files build_workspace imported, again (idempotent).
OCTOBER = "org_code,year,month,category,subcategory,budget,actual\n01A,2025/26,M07,acute,Trust A,1000000,1200000\n"
IMPORTS = (("ledger", "october.csv", ["ledger", "import"]), ("plan", "plan.csv", ["plan", "import"]),
           ("risks", "risks.csv", ["risks", "import"]), ("savings", "plan.xlsx", ["savings", "import"]))  # fmt: skip


@pytest.mark.parametrize(("kind", "name", "command"), IMPORTS, ids=[case[0] for case in IMPORTS])
def test_an_import_answers_the_same_from_the_cli_and_the_api(
    kind: str,
    name: str,
    command: list[str],
    web_workspace_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same file imported by the command into one copy of ``build_workspace``'s workspace and uploaded to the
    API of another."""
    monkeypatch.delenv("OUTTURN_REFERENCE_DIR", raising=False)  # as web_helpers.web_workspace
    copy_workspace(web_workspace_template, tmp_path / "cli").close()
    for_api = copy_workspace(web_workspace_template, tmp_path / "api")
    for side in ("cli", "api"):
        if kind == "ledger":
            (tmp_path / side / name).write_text(OCTOBER, encoding="utf-8")
    content = (tmp_path / "api" / name).read_bytes()
    with TestClient(create_app(for_api.settings, AT_ONCE)) as client:
        token = sign_in(client, "fiona")
        response = client.post(f"/api/imports/{kind}", files={"file": (name, content)}, headers={"X-CSRF-Token": token})
    for_api.close()
    file = str(tmp_path / "cli" / name)
    result = CliRunner().invoke(cli, ["--workspace", str(tmp_path / "cli" / "ws"), *command, file, "--format", "json"])
    assert (result.exit_code, response.status_code) == (0, 200), result.output + response.text
    assert json.loads(result.stdout) == response.json()
