"""The one place that executes: storing warehouse tables, together or not at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from outturn.engine.backends import Backend
from web_helpers import warehouse_held_elsewhere


def test_tables_replaced_together_or_not_at_all(tmp_path: Path) -> None:
    backend = Backend("duckdb", str(tmp_path / "warehouse.duckdb"))
    backend.store_tables({"first": pa.table({"x": [1]}), "second": pa.table({"y": ["a"]})})
    with pytest.raises(Exception, match=r"(?i)not|invalid|type"):
        backend.store_tables({"first": pa.table({"x": [2, 3]}), "second": "not a table"})  # type: ignore[dict-item]
    assert backend.to_rows(backend.stored_table("first")) == [{"x": 1}]  # the failed call left the old tables
    assert backend.to_rows(backend.stored_table("second")) == [{"y": "a"}]
    backend.store_tables({"first": pa.table({"x": [2, 3]})})
    assert [row["x"] for row in backend.to_rows(backend.stored_table("first"))] == [2, 3]
    backend.close()


def test_table_names_are_checked_before_anything_is_written(tmp_path: Path) -> None:
    backend = Backend("duckdb", str(tmp_path / "warehouse.duckdb"))
    with pytest.raises(ValueError, match="not a table name"):
        backend.store_tables({"fine": pa.table({"x": [1]}), "drop table x; --": pa.table({"x": [1]})})
    assert not backend.has_table("fine")
    backend.close()


def _log_record(uid: str, hour: int) -> dict[str, object]:
    return {
        "uid": uid,
        "kind": "prescribing",
        "source_name": f"{uid}.csv",
        "sha256": "ab" * 32,
        "row_count": 2,
        "imported_at": datetime(2025, 10, 1, hour, 30, tzinfo=timezone(timedelta(hours=1))),
        "imported_by": "ann",
        "replaced_rows": 0,
        "totals_json": '{"nic_pence": 336}',
        "replaced_totals_json": "{}",
    }


def test_an_import_log_record_lands_with_its_tables_or_not_at_all(tmp_path: Path) -> None:
    path = str(tmp_path / "warehouse.duckdb")
    backend = Backend("duckdb", path)
    assert backend.import_log() == []  # no file yet
    first = _log_record("first", 9)
    backend.store_tables({"data": pa.table({"x": [1]})}, log=first)
    with pytest.raises(Exception, match=r"(?i)not|invalid|type"):
        backend.store_tables({"data": pa.table({"x": [2]}), "other": "not a table"}, log=_log_record("second", 10))  # type: ignore[dict-item]
    with pytest.raises(Exception, match=r"(?i)constraint|duplicate|primary"):  # the same import twice
        backend.store_tables({"data": pa.table({"x": [3]})}, log=first)
    with pytest.raises(ValueError, match="columns"):
        backend.store_tables({"data": pa.table({"x": [4]})}, log={"uid": "third"})
    assert backend.to_rows(backend.stored_table("data")) == [{"x": 1}]
    logged = backend.import_log()
    backend.close()

    expected = {**first, "imported_at": datetime(2025, 10, 1, 8, 30, tzinfo=UTC)}  # 09:30 at +01:00 is 08:30 UTC
    assert logged == [expected]
    assert Backend("duckdb", path, read_only=True).import_log() == [expected]  # read briefly, from the file


def test_a_warehouse_open_in_another_process_is_a_clear_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from outturn.cli import app
    from outturn.engine.backends import WarehouseBusy
    from outturn.services.workspace import init_workspace
    from outturn.settings import WAREHOUSE_FILE

    init_workspace(tmp_path / "ws").close()
    warehouse = tmp_path / "ws" / WAREHOUSE_FILE
    with warehouse_held_elsewhere(warehouse):
        with pytest.raises(WarehouseBusy, match="open in another process"):
            _ = Backend("duckdb", str(warehouse)).connection
        result = CliRunner().invoke(app, ["init", str(tmp_path / "ws"), "--force", "--format", "json"])
        assert result.exit_code == 2
        assert "open in another process" in result.stdout


def test_a_read_only_warehouse_admits_other_readers_and_reopens_for_a_write(tmp_path: Path) -> None:
    path = str(tmp_path / "warehouse.duckdb")
    Backend("duckdb", path).store_tables({"first": pa.table({"x": [1]})})  # closed when collected
    import gc

    gc.collect()
    reader = Backend("duckdb", path, read_only=True)
    other = Backend("duckdb", path, read_only=True)  # a second reader: in another process, the same lock
    assert reader.to_rows(reader.stored_table("first")) == [{"x": 1}]
    assert other.to_rows(other.stored_table("first")) == [{"x": 1}]
    other.close()
    reader.store_tables({"first": pa.table({"x": [2]})})  # reopened for writing
    assert reader.to_rows(reader.stored_table("first")) == [{"x": 2}]
    reader.close()


# what `outturn serve` does: the application over the workspace, its warehouse opened on first use
SERVER = """
import os, sys
os.environ["OUTTURN_WORKSPACE"] = sys.argv[1]
from outturn.web.app import app_from_environment
app = app_from_environment()
app.state.workspace.backend.to_rows(app.state.workspace.backend.stored_table("outturn_meta"))
print("open", flush=True)
sys.stdin.read()
"""


def test_reports_run_while_the_web_application_has_the_warehouse_open(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    from typer.testing import CliRunner

    from outturn.cli import app
    from web_helpers import build_workspace

    workspace = build_workspace(tmp_path)
    workspace.close()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(workspace.path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "open"
        report = CliRunner().invoke(app, ["--workspace", str(workspace.path), "position", "--format", "json"])
    finally:
        server.communicate("")
    assert report.exit_code == 0, report.output
    # the fixture's one ledger line: £1.1m a month actual to M06, the workspace's default month
    document = json.loads(report.stdout)
    assert (document["org_code"], document["ytd_actual_pence"]) == ("01A", 6 * 1_100_000 * 100)


def test_threads_share_one_backend_one_statement_at_a_time(tmp_path: Path) -> None:
    """The web application's requests and scenario jobs use the workspace's one connection from several threads:
    each gets its own right answer (before the backend's lock, DuckDB failed them with "closed pending query")."""
    import threading

    backend = Backend("duckdb", str(tmp_path / "warehouse.duckdb"))
    backend.store_table("numbers", pa.table({"x": list(range(200_000))}))
    numbers = backend.stored_table("numbers")
    start = threading.Barrier(6)
    answers: dict[int, list[int]] = {}
    failures: list[str] = []

    def count_multiples(step: int) -> None:
        start.wait()
        try:
            for _ in range(5):
                found = backend.to_rows(numbers.filter(numbers.x % step == 0).aggregate(n=numbers.x.count()))
                answers.setdefault(step, []).append(found[0]["n"])
        except Exception as error:  # every failure is the finding
            failures.append(repr(error))

    threads = [threading.Thread(target=count_multiples, args=(step,)) for step in range(2, 8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    backend.close()
    assert failures == []
    assert answers == {step: [len(range(0, 200_000, step))] * 5 for step in range(2, 8)}
