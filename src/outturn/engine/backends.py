"""The one place that connects to an analytics backend and executes Ibis expressions.

DuckDB is the default (embedded, a file in the workspace or in memory). Spark support arrives with the
contract-pricing path; the engine's expressions are written to run on both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

SUPPORTED_BACKENDS = ("duckdb",)


class Backend:
    """A connection to one analytics engine, opened on first use."""

    def __init__(self, kind: str = "duckdb", database: str | None = None) -> None:
        if kind not in SUPPORTED_BACKENDS:
            raise ValueError(f"unknown warehouse backend {kind!r} (one of: {', '.join(SUPPORTED_BACKENDS)})")
        self.kind = kind
        self.database = database
        self._connection: Any = None

    @property
    def connection(self) -> Any:
        if self._connection is None:
            self._connection = ibis.duckdb.connect(self.database or ":memory:")
        return self._connection

    def initialise(self) -> None:
        """Create the warehouse (a DuckDB file) if it does not exist yet."""
        self.connection.raw_sql("CREATE TABLE IF NOT EXISTS outturn_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")

    def to_arrow(self, expression: ir.Table) -> pa.Table:
        return self.connection.to_pyarrow(expression)

    def to_rows(self, expression: ir.Table) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.to_arrow(expression).to_pylist()
        return rows

    def close(self) -> None:
        if self._connection is not None:
            self._connection.disconnect()
            self._connection = None


def memtable(rows: Sequence[Mapping[str, Any]], schema: Mapping[str, str]) -> ir.Table:
    """An in-memory Ibis table from Python rows with an explicit schema (so empty inputs keep their types)."""
    columns = {name: [row[name] for row in rows] for name in schema}
    arrow_schema = ibis.schema(dict(schema)).to_pyarrow()
    return ibis.memtable(pa.table(columns, schema=arrow_schema))
