"""The one place that executes: storing warehouse tables, together or not at all."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from outturn.engine.backends import Backend


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
