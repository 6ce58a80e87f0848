"""The store at the process edge: another writer, a full disk. One clear line and exit 2, never a traceback and
never the values being stored (statement parameters hold the user's data)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outturn.cli import app
from outturn.services.workspace import init_workspace

ORGANISATIONS = "code,name,kind,parent_code\nQXX,Test ICB,icb,\n01A,NHS Test sub-ICB,sub_icb,QXX\n"
SECRET = "Confidential Trust"


def _ledger(path: Path, rows: int) -> Path:
    lines = ["org_code,year,month,category,subcategory,budget,actual"]
    lines += [f"01A,2025/26,M01,acute,{SECRET} {index:04d},{1000 + index},{2000 + index}" for index in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _workspace_with_organisations(tmp_path: Path) -> Path:
    workspace = tmp_path / "ws"
    init_workspace(workspace, reference_dir=tmp_path).close()
    (tmp_path / "orgs.csv").write_text(ORGANISATIONS, encoding="utf-8")
    result = CliRunner().invoke(app, ["--workspace", str(workspace), "orgs", "import", str(tmp_path / "orgs.csv")])
    assert result.exit_code == 0, result.output
    return workspace


def _outturn(
    workspace: Path, *args: str, prelude: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own (its real stderr), after ``prelude`` Python (a fault to inject)."""
    code = f"{prelude}\nfrom outturn.cli import main\nmain()"
    return subprocess.run(
        [sys.executable, "-c", code, "--workspace", str(workspace), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


def _ledger_rows(workspace: Path) -> int:
    with closing(sqlite3.connect(workspace / "outturn.sqlite")) as connection:
        return int(connection.execute("select count(*) from ledger_lines").fetchone()[0])


def test_a_store_another_process_is_writing_is_a_clear_error_after_the_busy_timeout(tmp_path: Path) -> None:
    workspace = _workspace_with_organisations(tmp_path)
    ledger = _ledger(tmp_path / "ledger.csv", 3)
    holder = sqlite3.connect(workspace / "outturn.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        result = _outturn(workspace, "ledger", "import", str(ledger), env={"OUTTURN_STORE_BUSY_TIMEOUT_SECONDS": "0.2"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 2, result.stderr
    assert "the store is busy (another outturn process is writing); try again" in result.stderr
    assert "Traceback" not in result.stderr
    assert _ledger_rows(workspace) == 0
    retried = CliRunner().invoke(app, ["--workspace", str(workspace), "ledger", "import", str(ledger)])
    assert retried.exit_code == 0, retried.output
    assert _ledger_rows(workspace) == 3


# SQLITE_FULL, as on a full disk: the store may not grow past the pages it has now
FULL_STORE = """
from sqlalchemy import event
import outturn.store.database as database
original = database.create_store_engine
def limited(url, **options):
    engine = original(url, **options)
    @event.listens_for(engine, "connect")
    def _no_room(dbapi_connection, _record):
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")
    return engine
database.create_store_engine = limited
"""


def test_a_full_store_is_one_line_with_no_data_and_nothing_stored(tmp_path: Path) -> None:
    workspace = _workspace_with_organisations(tmp_path)
    result = _outturn(workspace, "ledger", "import", str(_ledger(tmp_path / "ledger.csv", 400)), prelude=FULL_STORE)
    assert result.returncode == 2, result.stderr
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert SECRET not in output and "1001" not in output  # no statement parameters: the user's data
    assert f"disk full writing {(workspace / 'outturn.sqlite').resolve()}: nothing was stored" in output
    assert len(result.stderr.strip().splitlines()) == 1
    assert _ledger_rows(workspace) == 0


def test_the_store_engine_hides_statement_parameters(tmp_path: Path) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from outturn.store.database import create_store_engine

    engine = create_store_engine(f"sqlite:///{tmp_path}/x.sqlite")
    with engine.begin() as connection:
        connection.execute(text("create table t (x text unique)"))
        connection.execute(text("insert into t values (:x)"), {"x": SECRET})
    with pytest.raises(IntegrityError) as raised, engine.begin() as connection:
        connection.execute(text("insert into t values (:x)"), {"x": SECRET})
    assert SECRET not in str(raised.value)
    engine.dispose()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs of its own, where the test may fill the disk; skipped where mounting is not permitted."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here to fill: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)  # -l: even if still busy


def _fill(directory: Path) -> None:
    """Write until the disk is full (it may be full already: then even opening the filler fails)."""
    try:
        with (directory / "filler").open("wb") as filler:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
    except OSError:
        pass


def test_a_full_disk_is_one_line_with_no_data_and_nothing_stored(tiny_disk: Path, tmp_path: Path) -> None:
    workspace = _workspace_with_organisations(tiny_disk)
    ledger = _ledger(tmp_path / "ledger.csv", 50)
    _fill(tiny_disk)
    result = _outturn(workspace, "ledger", "import", str(ledger))
    (tiny_disk / "filler").unlink()
    assert result.returncode == 2, result.stderr
    output = result.stdout + result.stderr
    assert "Traceback" not in output and SECRET not in output
    assert "disk full writing" in output or "the store could not be written" in output
    assert len(result.stderr.strip().splitlines()) == 1
    assert _ledger_rows(workspace) == 0


def test_a_full_disk_under_the_warehouse_is_one_line_and_the_old_table_stays(tiny_disk: Path) -> None:
    import pyarrow as pa

    from outturn.engine.backends import Backend, WarehouseUnavailable

    path = tiny_disk / "warehouse.duckdb"
    backend = Backend("duckdb", str(path))
    backend.store_tables({"kept": pa.table({"x": [1, 2, 3]})})
    backend.close()
    _fill(tiny_disk)
    backend = Backend("duckdb", str(path))
    big = pa.table({"note": [f"{SECRET} {index:08d}" for index in range(400_000)]})
    with pytest.raises(WarehouseUnavailable) as raised:
        backend.store_tables({"kept": pa.table({"x": [9]}), "big": big})
    backend.close()
    assert str(raised.value) == f"disk full writing {path}: nothing was stored"
    (tiny_disk / "filler").unlink()
    reopened = Backend("duckdb", str(path))
    assert reopened.to_rows(reopened.stored_table("kept")) == [{"x": 1}, {"x": 2}, {"x": 3}]
    assert not reopened.has_table("big")
    reopened.close()
