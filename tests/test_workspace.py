"""Workspaces: `outturn init` creates settings, store and warehouse; settings come from the file and the environment."""

from __future__ import annotations

import sqlite3
import tomllib
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from outturn.cli import app
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
    with pytest.raises(WorkspaceError, match="outturn init"):
        find_workspace()


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
