"""Opening the store: the engine, sessions, and migrating the schema to the newest revision.

A store that is busy or cannot be written is a ``StoreUnavailable`` with one line for the user (the driver's
message, never the statement or its values): SQLite waits ``busy_timeout_seconds`` for another process's write
before giving up, and the engine hides statement parameters from every error it raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeAlias

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from outturn.domain.errors import Unavailable

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
DEFAULT_BUSY_TIMEOUT_SECONDS = 15.0
STORE_BUSY = "the store is busy (another outturn process is writing); try again"


StoreSession: TypeAlias = Session
"""One unit of work in the store (a transaction, or a read): what ``Store.transaction`` and ``Store.reading`` yield.
Services hold it only to hand it to the store's repositories, which are the one place that writes SQL."""


class StoreUnavailable(Unavailable):
    """The store is busy with another process's write, full, or cannot be written; nothing was stored."""


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, and write-ahead logging: readers (the web's pages) go on reading while one writer commits,
    instead of waiting for its lock; a commit is as durable as before (kill -9 and power loss leave the old state or
    the new one). The mode is kept in the file, so it is set once."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode")
        if cursor.fetchone()[0].lower() not in ("wal", "memory"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def create_store_engine(url: str, *, busy_timeout_seconds: float = DEFAULT_BUSY_TIMEOUT_SECONDS) -> Engine:
    """An engine whose errors never show statement parameters (they hold the data being stored)."""
    connect_args = {"timeout": busy_timeout_seconds} if url.startswith("sqlite") else {}
    engine = create_engine(url, future=True, hide_parameters=True, connect_args=connect_args)
    _configure_sqlite(engine)
    return engine


def migrate(engine: Engine) -> None:
    """Bring the store's schema up to the newest migration (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    with _store_faults(engine), engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _describe(engine: Engine) -> str:
    if engine.dialect.name == "sqlite" and engine.url.database:
        return engine.url.database
    return engine.url.render_as_string(hide_password=True)


@contextmanager
def _store_faults(engine: Engine) -> Iterator[None]:
    """The driver's operational errors (busy, full, read-only, I/O) as one line naming the store."""
    try:
        yield
    except OperationalError as error:
        message = str(error.orig).strip().splitlines()[0] if error.orig is not None else "unknown error"
        lowered = message.lower()
        if "locked" in lowered or "busy" in lowered:
            raise StoreUnavailable(STORE_BUSY) from error
        if "full" in lowered or "no space" in lowered:
            raise StoreUnavailable(f"disk full writing {_describe(engine)}: nothing was stored") from error
        raise StoreUnavailable(f"the store could not be written: {message}") from error


class Store:
    """A migrated database and its session factory. Services open sessions; each is one transaction."""

    def __init__(self, url: str, *, busy_timeout_seconds: float = DEFAULT_BUSY_TIMEOUT_SECONDS) -> None:
        self.url = url
        self.engine = create_store_engine(url, busy_timeout_seconds=busy_timeout_seconds)
        migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[StoreSession]:
        """A session whose work commits together at the end, or rolls back entirely on any error.

        On SQLite it takes the write lock first (``BEGIN IMMEDIATE``), waiting for another writer to finish: two
        transactions that each read and then write would otherwise fail at once rather than wait their turn."""
        with _store_faults(self.engine), self._sessions.begin() as session:
            if self.engine.dialect.name == "sqlite":
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            yield session

    @contextmanager
    def autocommit(self) -> Iterator[Connection]:
        """A connection on which each statement commits by itself: for writes of one statement each, which land
        whole or not at all even if the process dies between them."""
        with _store_faults(self.engine), self.engine.connect() as connection:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def reading(self) -> Iterator[StoreSession]:
        with _store_faults(self.engine), self._sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
