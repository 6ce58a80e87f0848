"""The command line: every command has help, a --format option and a README entry; errors mean exit 2."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from outturn import cli
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


def _options(path: tuple[str, ...]) -> dict[str, str]:
    """Each option of a command (its first flag) and its help text, as Click has them."""
    group: Any = typer.main.get_command(app)
    for name in path:
        group = group.commands[name]
    return {param.opts[0]: param.help or "" for param in group.params if param.param_type_name == "option"}


def test_the_monte_carlo_assumptions_are_one_set_of_options_in_both_commands() -> None:
    shared = {"--method", "--trials", "--seed", "--correlation", "--concentration", "--activity-sd", "--price-sd",
              "--risk-spread", "--savings-in-forecast", "--backend", "--org", "--as-at", "--workspace", "--format"}
    simulate, multi_year = _options(("risk", "simulate")), _options(("risk", "multi-year"))
    assert shared <= simulate.keys() and shared <= multi_year.keys()
    assert set(multi_year) - set(simulate) == {"--years", "--allocation-growth", "--cost-growth", "--savings-share",
                                               "--future-confidence"}
    assert all(simulate[flag] == multi_year[flag] for flag in shared)


@pytest.mark.parametrize("command", [["risk", "simulate"], ["risk", "multi-year"]], ids=" ".join)
def test_a_bad_assumption_is_refused_before_the_workspace_is_opened(command: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["-w", str(tmp_path), *command, "--correlation", "100%", "--format", "json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {"error": "the workstream correlation must be below 100%"}


@pytest.mark.parametrize("flag", ["--format", "--workspace", "--org", "--as-at", "--year", "--method", "--replace"])
def test_an_option_shared_by_commands_has_one_help_text_per_meaning(flag: str) -> None:
    """--format and --workspace mean one thing everywhere; --org, --as-at, --year and --method have a few meanings,
    each declared once (in cli/options.py, or in the one command that has it): a copy of a declaration reworded
    in another command would add a help text."""
    meanings = {
        "--format": 1,
        "--workspace": 1,
        "--replace": 1,
        "--method": 2,  # else the workspace's; else the scenario file's
        "--year": 3,  # else the workspace's; a change's year (required); the generator's start year
        # else the workspace's; a change's (required); a setting's scope; the filters of savings, benchmark,
        # reconcile and method list; init's default; else the scenario file's; a practice user's practice
        "--org": 10,
        # else the workspace's; the demo's month; the back-test's cut-off; init's default; the file's; else the
        # latest month of the activity (patients high-intensity)
        "--as-at": 6,
    }
    helps = {options[flag] for path in COMMANDS if flag in (options := _options(path))}
    assert len(helps) == meanings[flag], sorted(helps)


def test_the_workspace_after_the_command_beats_the_one_before_it(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(tmp_path / "ws"), "--reference-dir", str(tmp_path)]).exit_code == 0
    after = runner.invoke(app, ["-w", str(tmp_path / "none"), "orgs", "list", "-w", str(tmp_path / "ws"), "-f", "json"])
    assert after.exit_code == 0, after.output
    assert json.loads(after.stdout) == []
    before = runner.invoke(app, ["-w", str(tmp_path / "ws"), "orgs", "list", "--format", "json"])
    assert before.exit_code == 0 and json.loads(before.stdout) == []
    wrong = runner.invoke(app, ["-w", str(tmp_path / "ws"), "orgs", "list", "-w", str(tmp_path), "-f", "json"])
    assert wrong.exit_code == 2
    assert "not an outturn workspace" in json.loads(wrong.stdout)["error"]


def test_a_command_keeps_its_own_default_format() -> None:
    result = CliRunner().invoke(app, ["scenario", "schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["type"] == "object"


def test_no_command_module_registers_anything_when_imported() -> None:
    """Commands are registered in cli/__init__.py only: no module of the CLI holds a Typer app of its own."""
    modules = [importlib.import_module(f"outturn.cli.{info.name}") for info in pkgutil.iter_modules(cli.__path__)]
    held = [f"{module.__name__}.{name}" for module in modules for name, value in vars(module).items()
            if isinstance(value, typer.Typer)]
    assert held == []
    assert isinstance(cli.app, typer.Typer)
