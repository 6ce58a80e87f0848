"""The command line: every command has help, a --format option and a README entry; errors mean exit 2."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from outturn.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"
NOT_REPORTING = frozenset()  # every command reports something, so every command takes --format


def command_paths(group: Any = None, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every leaf command, walking the groups (Typer's groups carry ``commands``); a group that runs on its own
    (``outturn position``, with ``position history`` under it) is a command too."""
    group = group or typer.main.get_command(app)
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            if command.invoke_without_command:
                yield (*prefix, name)
            yield from command_paths(command, (*prefix, name))
        else:
            yield (*prefix, name)


COMMANDS = list(command_paths())


def test_the_command_set_is_what_the_issue_asks_for() -> None:
    names = {" ".join(path) for path in COMMANDS}
    assert {"init", "demo", "position", "ledger import", "orgs load-reference", "plan import"} <= names


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert "--format" in result.output or path in NOT_REPORTING


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_is_documented_in_the_readme(path: tuple[str, ...]) -> None:
    documented = set(re.findall(r"`outturn ([a-z][a-z -]*?)(?: \[| [A-Z-]|`)", README.read_text()))
    assert " ".join(path) in {entry.strip() for entry in documented}


def test_no_workspace_is_a_clear_error_with_exit_code_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--workspace", str(tmp_path), "position", "--format", "json"])
    assert result.exit_code == 2
    assert "not an outturn workspace" in json.loads(result.stdout)["error"]


def test_position_without_defaults_says_what_is_missing(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(tmp_path / "ws"), "--reference-dir", str(tmp_path)]).exit_code == 0
    result = runner.invoke(app, ["--workspace", str(tmp_path / "ws"), "position"])
    assert result.exit_code == 2
    assert "--org" in result.output


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert re.search(r"outturn \d+\.\d+\.\d+", result.output)
