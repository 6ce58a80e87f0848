"""The CLI's JSON and the API's JSON for the same request are the same document: every ``--format json`` command
with an ``/api`` twin is run both ways on one workspace (tests/web_helpers.py's shared one: the ledger, plan,
risks and savings of 01A, the contract with RXX and its activity, practice populations and prescribing) and the
two answers compared whole.

Where the API's answer is a larger document that holds the command's (``/api/prescribing`` holds ``prescribing
savings``; ``/api/close`` holds ``savings movement``), the part is compared, and the case says which. Where the API
adds fields of its own, the case names them and says why; nothing else may differ.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from outturn.cli import app as cli
from outturn.services.workspace import Workspace
from outturn.web import create_app
from web_helpers import AT_ONCE, shared_workspace, sign_in

__all__ = ["shared_workspace"]


@dataclass(frozen=True)
class Pair:
    """A command's arguments (``--format json`` is added), the API path that answers the same question, the part of
    the API's answer that is the command's document, and the API's own fields (with why) left out of it."""

    name: str
    command: list[str]
    path: str
    part: Callable[[Any], Any] = lambda document: document
    api_only: dict[str, str] = field(default_factory=dict)


PAIRS = (
    Pair("position", ["position", "--org", "01A", "--as-at", "2025-09"], "/api/position?org=01A&as_at=2025-09"),
    Pair("position history", ["position", "history", "--org", "01A"], "/api/position/history?org=01A"),
    Pair("forecast backtest", ["forecast", "backtest", "--as-at", "2025-09"], "/api/forecast/backtest?as_at=2025-09"),
    Pair(
        "benchmark",
        ["benchmark", "--measure", "gp_referrals", "--org", "01A", "--year", "2025/26"],
        "/api/benchmark?measure=gp_referrals&org=01A&as_at=2025-09",
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
        "contracts challenges list",
        ["contracts", "challenges", "list", "--provider", "RXX", "--year", "2025/26"],
        "/api/contracts/RXX/challenges?year=2025/26",
    ),
    Pair("imports list", ["imports", "list"], "/api/imports"),
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
)


def run_cli(workspace: Workspace, command: list[str]) -> Any:
    result = CliRunner().invoke(cli, ["--workspace", str(workspace.path), *command, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def client(shared_workspace: Workspace) -> Iterator[TestClient]:
    with TestClient(create_app(shared_workspace.settings, AT_ONCE)) as found:
        sign_in(found, "fiona")
        yield found


@pytest.mark.parametrize("pair", PAIRS, ids=lambda pair: pair.name)
def test_cli_json_equals_api_json(pair: Pair, shared_workspace: Workspace, client: TestClient) -> None:
    response = client.get(pair.path)
    assert response.status_code == 200, response.text
    api = pair.part(response.json())
    if pair.api_only:
        api = {key: value for key, value in api.items() if key not in pair.api_only}
    assert run_cli(shared_workspace, pair.command) == api
