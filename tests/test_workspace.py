"""Workspaces: `outturn init` creates settings, store and warehouse; settings come from the file and the environment."""

from __future__ import annotations

import json
import sqlite3
import tomllib
from contextlib import closing
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from outturn.cli import app
from outturn.cli._common import failure_message
from outturn.services.workspace import init_workspace, open_workspace
from outturn.settings import WorkspaceError, find_workspace, load_settings


def test_init_creates_settings_store_and_warehouse(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["init", str(tmp_path / "ws"), "--org", "qu9", "--as-at", "2025-11", "--reference-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    settings = tomllib.loads((tmp_path / "ws" / "outturn.toml").read_text())
    assert settings["default_org"] == "QU9"
    assert settings["default_as_at"] == "2025-11"
    assert Path(settings["reference_dir"]).is_absolute()
    with sqlite3.connect(tmp_path / "ws" / "outturn.sqlite") as connection:
        tables = {row[0] for row in connection.execute("select name from sqlite_master where type = 'table'")}
    assert {"organisations", "ledger_lines", "financial_plans", "risks", "forecast_overrides", "imports"} <= tables
    assert "alembic_version" in tables
    with duckdb.connect(str(tmp_path / "ws" / "warehouse.duckdb")) as warehouse:
        assert warehouse.execute("select count(*) from outturn_meta").fetchone() == (0,)


def test_init_refuses_to_overwrite_a_workspace_unless_forced(tmp_path: Path) -> None:
    init_workspace(tmp_path / "ws", reference_dir=tmp_path).close()
    with pytest.raises(WorkspaceError, match="already an outturn workspace"):
        init_workspace(tmp_path / "ws", reference_dir=tmp_path)
    init_workspace(tmp_path / "ws", reference_dir=tmp_path, overwrite=True).close()


def test_init_refuses_a_bad_month(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["init", str(tmp_path / "ws"), "--as-at", "2025-13"])
    assert result.exit_code == 2
    assert "calendar month 13" in result.output
    assert not (tmp_path / "ws" / "outturn.toml").exists()


def test_the_workspace_is_found_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    init_workspace(tmp_path / "ws", reference_dir=tmp_path).close()
    monkeypatch.setenv("OUTTURN_WORKSPACE", str(tmp_path / "ws"))
    assert find_workspace() == (tmp_path / "ws").resolve()
    monkeypatch.delenv("OUTTURN_WORKSPACE")
    monkeypatch.chdir(tmp_path / "ws")
    assert find_workspace() == (tmp_path / "ws").resolve()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WorkspaceError, match="is not an outturn workspace") as raised:
        find_workspace()
    assert failure_message(raised.value) == (  # the CLI says how to make or name one
        f"{raised.value}: create one with `outturn init DIR` or pass --workspace DIR"
    )


def test_environment_overrides_the_settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    init_workspace(tmp_path / "ws", reference_dir=tmp_path, default_org="AAA").close()
    monkeypatch.setenv("OUTTURN_DEFAULT_ORG", "BBB")
    assert load_settings((tmp_path / "ws").resolve()).default_org == "BBB"


def test_relative_store_paths_resolve_inside_the_workspace(tmp_path: Path) -> None:
    with init_workspace(tmp_path / "ws", reference_dir=tmp_path) as workspace:
        assert workspace.settings.store_url == "sqlite:///outturn.sqlite"
        assert workspace.settings.resolved_store_url == f"sqlite:///{(tmp_path / 'ws' / 'outturn.sqlite').resolve()}"
    moved = tmp_path / "moved"
    (tmp_path / "ws").rename(moved)
    with open_workspace(moved) as reopened:
        assert reopened.settings.resolved_store_url.endswith("moved/outturn.sqlite")


def test_reference_dir_defaults_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTTURN_REFERENCE_DIR", str(tmp_path))
    with init_workspace(tmp_path / "ws") as workspace:
        assert workspace.settings.reference_dir == tmp_path.resolve()


def _accounts(workspace: Path) -> list[str]:
    with closing(sqlite3.connect(workspace / "outturn.sqlite")) as connection:
        return [row[0] for row in connection.execute("select username from users order by username")]


def test_an_explicit_workspace_beats_the_environment_for_store_and_settings(tmp_path: Path) -> None:
    init_workspace(tmp_path / "a", reference_dir=tmp_path, default_org="AAA").close()
    init_workspace(tmp_path / "b", reference_dir=tmp_path, default_org="BBB").close()
    runner = CliRunner(env={"OUTTURN_WORKSPACE": str(tmp_path / "a")})
    added = runner.invoke(
        app,
        ["--workspace", str(tmp_path / "b"), "users", "add", "carol", "--role", "finance", "--password-stdin"],
        input="a-long-password-1\n",
    )
    assert added.exit_code == 0, added.output
    assert _accounts(tmp_path / "b") == ["carol"]  # the account landed in the workspace named on the command line
    assert _accounts(tmp_path / "a") == []
    with_env = runner.invoke(app, ["users", "list", "--format", "json"])  # no option: the environment's workspace
    assert with_env.exit_code == 0, with_env.output
    assert with_env.stdout.strip() == "[]"


def test_init_with_a_workspace_in_the_environment_writes_only_the_new_workspace(tmp_path: Path) -> None:
    init_workspace(tmp_path / "a", reference_dir=tmp_path, default_org="AAA").close()
    before = (tmp_path / "a" / "outturn.toml").read_bytes()
    result = CliRunner(env={"OUTTURN_WORKSPACE": str(tmp_path / "a"), "OUTTURN_DEFAULT_ORG": "ENV"}).invoke(
        app, ["init", str(tmp_path / "c"), "--org", "ccc", "--reference-dir", str(tmp_path), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a" / "outturn.toml").read_bytes() == before
    recorded = tomllib.loads((tmp_path / "c" / "outturn.toml").read_text())
    assert recorded["default_org"] == "CCC"  # the option given beats OUTTURN_DEFAULT_ORG
    assert (tmp_path / "c" / "outturn.sqlite").is_file() and (tmp_path / "c" / "warehouse.duckdb").is_file()


def test_an_explicit_value_beats_the_environment_which_beats_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_workspace(tmp_path / "ws", reference_dir=tmp_path, default_org="FILE", default_as_at="2025-06").close()
    workspace = (tmp_path / "ws").resolve()
    monkeypatch.setenv("OUTTURN_DEFAULT_ORG", "ENV")
    assert load_settings(workspace).default_as_at == "2025-06"  # only the file sets it
    assert load_settings(workspace).default_org == "ENV"
    assert load_settings(workspace, default_org="GIVEN").default_org == "GIVEN"
    monkeypatch.setenv("OUTTURN_WORKSPACE", str(tmp_path / "elsewhere"))
    assert load_settings(workspace).workspace == workspace


def test_a_misspelt_key_in_the_settings_file_is_an_error_naming_it(tmp_path: Path) -> None:
    init_workspace(tmp_path / "ws", reference_dir=tmp_path).close()
    settings_file = tmp_path / "ws" / "outturn.toml"
    settings_file.write_text(settings_file.read_text() + 'defualt_org = "QU9"\n')
    result = CliRunner().invoke(app, ["--workspace", str(tmp_path / "ws"), "users", "list", "--format", "json"])
    assert result.exit_code == 2
    message = json.loads(result.stdout)["error"]
    assert "unknown setting 'defualt_org'" in message
    assert "did you mean 'default_org'" in message
    assert "known settings: store_url" in message and "forecast_method" in message
    assert "Traceback" not in result.output
