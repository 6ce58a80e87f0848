"""Helpers for the reliability suite: run the CLI and kill it, copy a workspace, and fingerprint its tables.

A *fingerprint* is, for every table of the store and of the DuckDB warehouse, a SHA-256 of its rows sorted, with
the columns each run makes afresh left out (the clock columns, and ``uid``, the id made for each import): two runs
of the same import at different times leave equal fingerprints. It is taken after opening the workspace as the next
command would, which copies into the store's import log any import the warehouse recorded and the store did not
(a process killed between the two); so it is the workspace as the application sees it.
With ``ignore_ids`` the surrogate keys (an integer ``id`` and the columns referring to one) are left out too, for
comparing runs whose failed attempts may have used up PostgreSQL sequence numbers.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import DateTime, MetaData, create_engine, make_url, select, text
from sqlalchemy.pool import NullPool

import outturn
from outturn.services.workspace import open_workspace

FORKSERVER = Path(__file__).with_name("cli_forkserver.py")
SOURCE_ROOT = Path(outturn.__file__).resolve().parents[1]
Fingerprint = dict[str, str]
PER_RUN_COLUMNS = frozenset({"uid"})  # made afresh by each run, like the clock columns


# --- the command line, run and killed -------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    returncode: int  # negative: killed by that signal
    stdout: str
    stderr: str
    statements: int | None  # None when the run was killed before it could count
    commits: int | None
    first_write: int | None
    seconds: float

    @property
    def killed(self) -> bool:
        return self.returncode == -9


def cli_environment() -> dict[str, str]:
    """The environment for a CLI subprocess: this test's outturn source first on the path, no stray workspace."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OUTTURN_")}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE_ROOT), os.environ.get("PYTHONPATH")]))
    environment["COLUMNS"] = "200"
    return environment


class CliRunner:
    """One forkserver (tests/cli_forkserver.py) for the session; each ``run`` forks a fresh ``outturn`` process."""

    def __init__(self, scratch: Path) -> None:
        self._scratch = scratch
        self._numbers = itertools.count()
        self._process = subprocess.Popen(
            [sys.executable, str(FORKSERVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=cli_environment(),
            text=True,
        )

    def run(
        self,
        argv: Sequence[str],
        *,
        kill_before_statement: int | None = None,
        kill_after_commit: int | None = None,
        kill_after_seconds: float | None = None,
    ) -> Run:
        number = next(self._numbers)
        paths = {name: self._scratch / f"run{number}.{name}" for name in ("stdout", "stderr", "counts")}
        request = {
            "argv": list(argv),
            **{name: str(path) for name, path in paths.items()},
            "kill_before_statement": kill_before_statement,
            "kill_after_commit": kill_after_commit,
            "kill_after_seconds": kill_after_seconds,
        }
        assert self._process.stdin and self._process.stdout
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        answer = json.loads(self._process.stdout.readline())
        return Run(
            returncode=answer["returncode"],
            stdout=paths["stdout"].read_text(encoding="utf-8", errors="replace"),
            stderr=paths["stderr"].read_text(encoding="utf-8", errors="replace"),
            statements=answer.get("statements"),
            commits=answer.get("commits"),
            first_write=answer.get("first_write"),
            seconds=answer["seconds"],
        )

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        self._process.wait(timeout=30)


def outturn_command() -> list[str]:
    """The installed ``outturn`` script beside this Python, else the same entry point through ``-c``."""
    script = Path(sys.executable).with_name("outturn")
    if script.is_file():
        return [sys.executable, str(script)]
    return [sys.executable, "-c", "from outturn.cli import main; main()"]


# --- copies of a workspace ------------------------------------------------------------------------------------


class WorkspaceCopies:
    """Fresh copies of one prepared workspace: its files, and for PostgreSQL its database (``TEMPLATE``)."""

    def __init__(self, source: Path, scratch: Path) -> None:
        self.source = source
        self._scratch = scratch
        self._numbers = itertools.count()
        self._databases: list[str] = []
        self._store_url = _settings(source).get("store_url", "")

    @property
    def is_postgres(self) -> bool:
        return self._store_url.startswith("postgresql")

    def copy(self) -> Path:
        target = self._scratch / f"copy{next(self._numbers)}"
        shutil.copytree(self.source, target)
        if self.is_postgres:
            url = make_url(self._store_url)
            name = f"{url.database}_c{len(self._databases)}"
            with _admin(self._store_url) as connection:
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"'))
            self._databases.append(name)
            settings = target / "outturn.toml"
            copied_url = url.set(database=name).render_as_string(hide_password=False)
            settings.write_text(
                re.sub(r'(?m)^store_url = ".*"$', lambda _match: f'store_url = "{copied_url}"', settings.read_text())
            )
        return target

    def drop(self) -> None:
        if not self._databases:
            return
        with _admin(self._store_url) as connection:
            for name in self._databases:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def _admin(url: str) -> Iterator[Any]:
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _settings(workspace: Path) -> dict[str, Any]:
    return tomllib.loads((workspace / "outturn.toml").read_text(encoding="utf-8"))


# --- fingerprints ---------------------------------------------------------------------------------------------


def _digest(rows: list[tuple[Any, ...]]) -> str:
    lines = sorted(repr(tuple(str(value) for value in row)) for row in rows)
    return f"{len(lines)} rows " + hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def _id_columns(table: Any) -> set[str]:
    ids = {column.name for column in table.columns if column.name == "id" and column.primary_key}
    refers = {column.name for column in table.columns for key in column.foreign_keys if key.column.name == "id"}
    return ids | refers


def store_fingerprint(url: str, *, ignore_ids: bool = False) -> Fingerprint:
    engine = create_engine(url, poolclass=NullPool)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        fingerprint: Fingerprint = {}
        with engine.connect() as connection:
            for name, table in sorted(metadata.tables.items()):
                skipped = _id_columns(table) if ignore_ids else set()
                columns = [
                    column
                    for column in table.columns
                    if not isinstance(column.type, DateTime) and column.name not in skipped | PER_RUN_COLUMNS
                ]
                fingerprint[f"store.{name}"] = _digest([tuple(row) for row in connection.execute(select(*columns))])
        return fingerprint
    finally:
        engine.dispose()


def warehouse_fingerprint(path: Path) -> Fingerprint:
    if not path.exists():
        return {}
    connection = duckdb.connect(str(path), read_only=True)
    try:
        columns: dict[str, list[str]] = {}
        for table, column, kind in connection.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns ORDER BY ordinal_position"
        ).fetchall():
            if not kind.upper().startswith("TIMESTAMP") and column not in PER_RUN_COLUMNS:
                columns.setdefault(table, []).append(f'"{column}"')
        return {
            f"warehouse.{name}": _digest(connection.execute(f'SELECT {", ".join(kept)} FROM "{name}"').fetchall())
            for name, kept in sorted(columns.items())
        }
    finally:
        connection.close()


def fingerprint(workspace_dir: Path, *, ignore_ids: bool = False) -> Fingerprint:
    """Open the workspace as the application does (which must work, and which completes the store's import log from
    the warehouse's), then fingerprint its store and warehouse."""
    with open_workspace(workspace_dir) as workspace:
        store_url = workspace.settings.resolved_store_url
        warehouse = Path(workspace.settings.resolved_warehouse_path)
    return store_fingerprint(store_url, ignore_ids=ignore_ids) | warehouse_fingerprint(warehouse)


def differences(found: Fingerprint, expected: Fingerprint) -> dict[str, tuple[str | None, str | None]]:
    """The tables whose fingerprints differ: name -> (found, expected)."""
    return {
        name: (found.get(name), expected.get(name))
        for name in sorted(set(found) | set(expected))
        if found.get(name) != expected.get(name)
    }


def spread(first: int, last: int, count: int) -> list[int]:
    """``count`` points spread evenly over ``first..last`` (both ends included), without repeats."""
    if last < first:
        return []
    if count <= 1:
        return [last]
    step = (last - first) / (count - 1)
    return sorted({round(first + step * index) for index in range(count)})
