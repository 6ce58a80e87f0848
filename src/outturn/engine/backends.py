"""The one place that connects to an analytics backend and executes Ibis expressions.

DuckDB is the default (embedded: a file in the workspace, or in memory). Apache Spark runs the same expressions
through Ibis' PySpark backend, in local mode here and on a cluster (Databricks) for national teams.

A backend holds one connection, which cannot run two statements at once: every use of it takes the backend's lock,
for one statement at a time, so threads (the web application's requests and jobs) share it safely and nobody
waits longer than the statement before theirs.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from outturn.domain.errors import BadInput, Unavailable

SUPPORTED_BACKENDS = ("duckdb", "pyspark")

# The warehouse's own log of the imports whose data it holds, written in the same transaction as their data: the
# store's import log copies it (see ``Backend.store_tables``). Times are UTC.
IMPORT_LOG_TABLE = "outturn_import_log"
IMPORT_LOG_COLUMNS: Mapping[str, str] = {
    "uid": "VARCHAR PRIMARY KEY",
    "kind": "VARCHAR NOT NULL",
    "source_name": "VARCHAR NOT NULL",
    "sha256": "VARCHAR NOT NULL",
    "row_count": "BIGINT NOT NULL",
    "imported_at": "TIMESTAMP NOT NULL",
    "imported_by": "VARCHAR NOT NULL",
    "replaced_rows": "BIGINT NOT NULL",
    "totals_json": "VARCHAR NOT NULL",
    "replaced_totals_json": "VARCHAR NOT NULL",
}


class WarehouseUnavailable(Unavailable):
    """The warehouse cannot be opened or written just now (in use elsewhere, or the disk is full)."""


class WarehouseBusy(WarehouseUnavailable, RuntimeError):
    """The DuckDB warehouse file is open in another process (DuckDB lets one process write a file at a time)."""


class Backend:
    """A connection to one analytics engine, opened on first use."""

    def __init__(
        self, kind: str = "duckdb", database: str | None = None, *, threads: int | None = None, read_only: bool = False
    ) -> None:
        """``read_only`` opens a DuckDB file so that other read-only processes can open it too (DuckDB admits
        many readers or one writer process); the first write reopens it for writing."""
        if kind not in SUPPORTED_BACKENDS:
            raise BadInput(f"unknown warehouse backend {kind!r} (one of: {', '.join(SUPPORTED_BACKENDS)})")
        self.kind = kind
        self.database = database
        self.threads = threads
        self.read_only = read_only
        self._connection: Any = None
        self._scratch: Any = None
        self._tables = 0
        self._lock = threading.RLock()

    @property
    def connection(self) -> Any:
        with self._lock:
            if self._connection is None:
                self._connection = self._connect()
            return self._connection

    def _connect(self) -> Any:
        if self.kind == "pyspark":
            from pyspark.sql import SparkSession

            session = (
                SparkSession.builder.master(f"local[{self.threads or 2}]")
                .appName("outturn")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.shuffle.partitions", "4")
                .config("spark.ui.showConsoleProgress", "false")
                .getOrCreate()
            )
            session.sparkContext.setLogLevel("ERROR")
            return ibis.pyspark.connect(session)
        import duckdb  # with ibis.duckdb, loaded when a warehouse is first opened, not at start-up

        try:
            connection = self._connect_duckdb()
        except duckdb.IOException as error:  # "Could not set lock on file ...": another process has it open
            if "lock" not in str(error).lower():
                raise
            raise WarehouseBusy(
                f"the warehouse {self.database} is open in another process: another outturn command (try again "
                "when it has finished), or the web application on this workspace, which keeps it open while it "
                "runs (stop it for imports into the warehouse)"
            ) from error
        if self.threads:
            connection.raw_sql(f"SET threads = {int(self.threads)}")
        # Spark's integer division ``div`` (engine.pricing.whole_division), over DuckDB's integer ``//``
        connection.raw_sql("CREATE OR REPLACE TEMP MACRO div(a, b) AS a // b")
        return connection

    def _connect_duckdb(self) -> Any:
        import duckdb

        database = self.database or ":memory:"
        if not (self.read_only and self.database is not None and Path(self.database).is_file()):
            return ibis.duckdb.connect(database)
        try:
            return ibis.duckdb.connect(database, read_only=True)
        except duckdb.ConnectionException as error:  # this process has it open for writing: share that
            if "different configuration" not in str(error):
                raise
            return ibis.duckdb.connect(database)

    def initialise(self) -> None:
        """Create the warehouse (a DuckDB file) if it does not exist yet."""
        with self._lock:
            self._writable()
            self.connection.raw_sql("CREATE TABLE IF NOT EXISTS outturn_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")

    def table(self, data: pa.Table) -> ir.Table:
        """An Arrow table as a table on this backend, nulls and types intact.

        DuckDB reads Arrow directly. Spark is handed a parquet copy: Ibis' in-memory path into Spark goes through
        pandas, which turns a nullable integer column into floats (and its nulls into NaN)."""
        if self.kind != "pyspark":
            return ibis.memtable(data)
        import tempfile

        import pyarrow.parquet as pq

        with self._lock:
            if self._scratch is None:
                self._scratch = tempfile.TemporaryDirectory(prefix="outturn-spark-")
            self._tables += 1
            path = Path(self._scratch.name) / f"table-{self._tables}.parquet"
        pq.write_table(data, path)
        return self.read_parquet(path)

    def dimension(self, expression: ir.Table) -> ir.Table:
        """A small table (a pricing dimension) worked out once and held by the backend. On DuckDB it is a
        temporary table, named by its content so the same dimension is held once per connection: a table has
        statistics, and with them a join on its integer key is a direct lookup rather than a hash join."""
        data = self.to_arrow(expression)
        if self.kind != "duckdb":
            return self.table(data)
        import hashlib

        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, data.schema) as writer:
            writer.write_table(data)
        name = "outturn_dimension_" + hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()[:24]
        with self._lock:
            duck = self.connection.con
            duck.register("outturn_dimension_staging", data)
            try:
                duck.execute(f'CREATE TEMP TABLE IF NOT EXISTS "{name}" AS SELECT * FROM outturn_dimension_staging')
            finally:
                duck.unregister("outturn_dimension_staging")
            return self.connection.table(name)

    def store_table(self, name: str, data: pa.Table) -> None:
        """Make ``data`` the warehouse table ``name`` in one statement: the old table stays until it succeeds."""
        self.store_tables({name: data})

    def store_tables(self, tables: Mapping[str, pa.Table], *, log: Mapping[str, Any] | None = None) -> None:
        """Replace several warehouse tables in one transaction: all of them land, or none (the old ones stay).

        ``log`` (a value for each of ``IMPORT_LOG_COLUMNS``) is added to the warehouse's import log in the same
        transaction, so the data and the record of its import land together."""
        if self.kind != "duckdb":
            raise BadInput("only the DuckDB warehouse stores tables")
        for name in tables:
            if not name.isidentifier():
                raise BadInput(f"not a table name: {name!r}")
        if log is not None and set(log) != set(IMPORT_LOG_COLUMNS):
            raise BadInput(f"an import log record has the columns {', '.join(IMPORT_LOG_COLUMNS)}")
        import duckdb

        with self._lock:
            self._writable()
            duck = self.connection.con
            try:
                self._replace_in_one_transaction(duck, tables, log)
            except (duckdb.IOException, duckdb.FatalException, duckdb.OutOfMemoryException) as error:
                raise _write_failed(error, str(self.database), "the warehouse") from error

    @staticmethod
    def _replace_in_one_transaction(duck: Any, tables: Mapping[str, pa.Table], log: Mapping[str, Any] | None) -> None:
        duck.execute("BEGIN TRANSACTION")
        try:
            for name, data in tables.items():
                duck.register("outturn_staging", data)
                try:
                    duck.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM outturn_staging')
                finally:
                    duck.unregister("outturn_staging")
            if log is not None:
                _append_to_import_log(duck, log)
        except BaseException:
            duck.execute("ROLLBACK")
            raise
        duck.execute("COMMIT")

    def import_log(self) -> list[dict[str, Any]]:
        """The warehouse's import log, oldest first (empty when there is no warehouse file or log yet).

        Read through this backend's connection when it has one, else through a short read-only one closed at once
        (so reading the log holds no lock); ``WarehouseBusy`` when another process has the file open for writing."""
        if self.kind != "duckdb":
            return []
        with self._lock:
            if self._connection is not None:
                return _read_import_log(self._connection.con)
            if self.database is None or not Path(self.database).is_file():
                return []
            duck = self._open_briefly()
            try:
                return _read_import_log(duck)
            finally:
                duck.close()

    def _open_briefly(self) -> Any:
        """A plain read-only DuckDB connection to the file; ``WarehouseBusy`` when another process is writing it,
        ``WarehouseUnavailable`` when it cannot be read."""
        import duckdb

        try:
            try:
                return duckdb.connect(str(self.database), read_only=True)
            except duckdb.ConnectionException as error:  # this process has it open for writing: share that
                if "different configuration" not in str(error):
                    raise
                return duckdb.connect(str(self.database))
        except duckdb.Error as error:
            if isinstance(error, duckdb.IOException) and "lock" in str(error).lower():
                raise WarehouseBusy(f"the warehouse {self.database} is open in another process") from error
            raise WarehouseUnavailable(f"the warehouse {self.database} cannot be read: {_first_line(error)}") from error

    def _writable(self) -> None:
        """Reopen a read-only warehouse for writing (tables and expressions from before must not be used after)."""
        with self._lock:
            if self.read_only:
                self.close()
                self.read_only = False

    def has_table(self, name: str) -> bool:
        with self._lock:
            return name in self.connection.list_tables()

    def stored_table(self, name: str) -> ir.Table:
        with self._lock:
            return self.connection.table(name)

    def read_parquet(self, path: Path | str) -> ir.Table:
        """A parquet file, directory or glob as a table (read lazily where the backend can)."""
        with self._lock:
            return self.connection.read_parquet(str(path))

    def to_arrow(self, expression: ir.Table) -> pa.Table:
        with self._lock:
            return self.connection.to_pyarrow(expression)

    def to_rows(self, expression: ir.Table) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.to_arrow(expression).to_pylist()
        return rows

    def to_parquet(self, expression: ir.Table, path: Path) -> None:
        """Stream the result to a parquet file (DuckDB writes without holding it all in memory)."""
        import duckdb

        with self._lock:
            try:
                self.connection.to_parquet(expression, str(path))
            except (duckdb.IOException, OSError) as error:
                raise _write_failed(error, str(path), str(path)) from error

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                if self.kind == "duckdb":
                    self._connection.disconnect()
                self._connection = None
            if self._scratch is not None:
                self._scratch.cleanup()
                self._scratch = None


def _append_to_import_log(duck: Any, log: Mapping[str, Any]) -> None:
    columns = ", ".join(f"{name} {kind}" for name, kind in IMPORT_LOG_COLUMNS.items())
    duck.execute(f"CREATE TABLE IF NOT EXISTS {IMPORT_LOG_TABLE} ({columns})")
    values = [_utc_naive(log[name]) for name in IMPORT_LOG_COLUMNS]
    marks = ", ".join("?" for _ in IMPORT_LOG_COLUMNS)
    duck.execute(f"INSERT INTO {IMPORT_LOG_TABLE} ({', '.join(IMPORT_LOG_COLUMNS)}) VALUES ({marks})", values)


def _read_import_log(duck: Any) -> list[dict[str, Any]]:
    found = duck.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [IMPORT_LOG_TABLE]
    ).fetchone()
    if not found[0]:
        return []
    names = list(IMPORT_LOG_COLUMNS)
    rows = duck.execute(f"SELECT {', '.join(names)} FROM {IMPORT_LOG_TABLE} ORDER BY imported_at, uid").fetchall()
    return [{name: _utc(value) for name, value in zip(names, row, strict=True)} for row in rows]


def _utc(value: Any) -> Any:
    """A time read from the warehouse (naive UTC) as a UTC time; anything else as it is."""
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) else value


def _utc_naive(value: Any) -> Any:
    """A time as naive UTC (the warehouse's TIMESTAMP), whatever its zone; anything else as it is."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _write_failed(error: Exception, path: str, what: str) -> WarehouseUnavailable:
    """A failed write as one line: a full disk, or the driver's first line (never a statement's data)."""
    message = _first_line(error)
    if "no space left" in message.lower() or "disk is full" in message.lower():
        return WarehouseUnavailable(f"disk full writing {path}: nothing was stored")
    return WarehouseUnavailable(f"{what} could not be written: {message}")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def memtable(rows: Sequence[Mapping[str, Any]], schema: Mapping[str, str]) -> ir.Table:
    """An in-memory Ibis table from Python rows with an explicit schema (so empty inputs keep their types)."""
    columns = {name: [row[name] for row in rows] for name in schema}
    arrow_schema = ibis.schema(dict(schema)).to_pyarrow()
    return ibis.memtable(pa.table(columns, schema=arrow_schema))


def arrow_table(table: pa.Table) -> ir.Table:
    """An in-memory Ibis table over an Arrow table."""
    return ibis.memtable(table)
