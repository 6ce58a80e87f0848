"""Shared fixtures."""

from __future__ import annotations

import copyreg
import dataclasses
import fcntl
import os
import pickle
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from outturn.services.demo import DemoResult
from outturn.services.workspace import Workspace
from outturn.store.database import Store

POSTGRES_URL_VARIABLE = "OUTTURN_TEST_POSTGRES_URL"

# Every workspace the tests make (and every CLI they start) hashes passwords with argon2's cheapest parameters (the
# setting password_hashing): the standard parameters cost a fifth of a second and more a password, and the tests
# add and sign in hundreds of users. test_web_auth checks the standard parameters; export
# OUTTURN_PASSWORD_HASHING=standard to run everything with them.
os.environ.setdefault("OUTTURN_PASSWORD_HASHING", "cheapest")


# --- running in parallel --------------------------------------------------------------------------------------
# `make test` runs pytest on every core (pytest-xdist, `-n auto --dist loadscope --no-loadscope-reorder`): a module
# at a time, so a module's fixtures are made once. Under a worker the tests that share the costliest fixtures come
# first (the session's small demo: test_demo and test_pack; Spark, which stays up in the worker that started it), so
# that no long module starts last while the other workers sit idle; a plain run keeps the written order. Each test
# is also marked with an ``xdist_group`` (those fixtures, or its module when it uses a module-scoped fixture), for
# `--dist loadgroup`, which would hand the rest out one at a time; but pytest-xdist 3.8 cannot apply groups under
# pytest 9 (it renames Item._nodeid, which pytest 9 no longer reads), so the Makefile uses loadscope.
SMALL_DEMO_GROUP = "small_demo"
SPARK_GROUP = "spark"
FIRST_GROUPS = (SMALL_DEMO_GROUP, SPARK_GROUP)  # then the other groups, then the tests handed out one by one


def _group(item: pytest.Item) -> str | None:
    fixtures = getattr(item, "fixturenames", ())
    if "small_demo" in fixtures:
        return SMALL_DEMO_GROUP
    if _runs_spark(item.nodeid):
        return SPARK_GROUP
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    if any(definition.scope in ("module", "class", "package") for defs in definitions.values() for definition in defs):
        return item.module.__name__ if isinstance(item, pytest.Function) and item.module else item.nodeid.split("::")[0]
    return None


def pytest_itemcollected(item: pytest.Item) -> None:
    """Groups are marked as each test is collected: pytest-xdist reads them in its own collection_modifyitems."""
    group = _group(item)
    if group is not None:
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):  # a plain run keeps the order the tests are written in
        groups = {item.nodeid: _group(item) for item in items}

        def rank(item: pytest.Item) -> int:
            group = groups[item.nodeid]
            return FIRST_GROUPS.index(group) if group in FIRST_GROUPS else len(FIRST_GROUPS) + (group is None)

        items.sort(key=rank)  # stable: within a rank, the written order


# Spark runs on one worker only. loadscope hands a module to one worker, but the Spark tests are in several modules
# (test_pricing's pyspark cases, test_high_intensity, test_contract_rules), so each worker that met one started a
# JVM of its own (Spark stays up in the worker that started it, ``SparkSession.getOrCreate``). Under loadscope the
# scheduler below makes every test whose node id names Spark (``_group``'s rule) one unit of work for one worker;
# the rest of each module is still handed out by module. A module split so keeps its module fixtures in each
# worker that runs part of it (cheap for the DuckDB halves). Registered only where pytest-xdist is installed.
class _OneSparkWorker:
    @pytest.hookimpl
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: object) -> object | None:
        if config.option.dist != "loadscope":
            return None
        from xdist.scheduler import LoadScopeScheduling

        class SparkOnOneWorker(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                return SPARK_GROUP if _runs_spark(nodeid) else super()._split_scope(nodeid)

        return SparkOnOneWorker(config, log)


def _runs_spark(nodeid: str) -> bool:
    return "spark" in nodeid.lower()


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_OneSparkWorker(), "outturn-one-spark-worker")


# --- new SQLite stores, copied from one migrated store --------------------------------------------------------
# Migrating an empty store runs every Alembic revision (about 60 DDL statements, a second with the scripts' loading)
# and the tests make several hundred stores. The first new SQLite store of a worker is migrated as the application
# migrates it, then kept; each later new one (a file that does not exist yet, or is empty) is a copy of that file,
# which is byte for byte what migrating would have made. Stores that exist already (opened again, or made at an
# older revision by a test) are migrated for real; PostgreSQL stores too (``store_url``'s are copies of a database
# migrated once: ``migrated_postgres_template``). If the copy fails (a full or read-only
# disk, as test_store_faults makes), the real migration runs and meets the fault itself.
@pytest.fixture(scope="session", autouse=True)
def _new_sqlite_stores_copied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from outturn.store import database

    migrate = database.migrate
    migrated: list[Path] = []  # the worker's migrated store, once made

    def migrate_or_copy(engine: Engine) -> None:
        target = _new_sqlite_file(engine)
        if target is None:
            migrate(engine)
            return
        if not migrated:
            migrate(engine)
            engine.dispose()  # the file is complete on disk (write-ahead log checkpointed) before it is kept
            kept = tmp_path_factory.mktemp("migrated-store") / "store.sqlite"
            shutil.copyfile(target, kept)
            migrated.append(kept)
            return
        engine.dispose()
        try:
            shutil.copyfile(migrated[0], target)
        except OSError:
            target.unlink(missing_ok=True)
            migrate(engine)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(database, "migrate", migrate_or_copy)
        yield


def _new_sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite store not made yet (absent or empty, with no write-ahead log); else None."""
    name = engine.url.database
    if engine.dialect.name != "sqlite" or not name or name == ":memory:" or name.startswith("file:"):
        return None
    path = Path(name)
    if (path.exists() and path.stat().st_size > 0) or Path(f"{name}-wal").exists():
        return None
    return path


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The public NHS reference data (``OUTTURN_REFERENCE_DIR``, else ``../shared/reference-data``)."""
    configured = os.environ.get("OUTTURN_REFERENCE_DIR")
    path = Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared" / "reference-data"
    if not path.is_dir():
        pytest.skip(f"reference data directory not found: {path} (set OUTTURN_REFERENCE_DIR)")
    return path


def _fresh_postgres_database(base_url: str, template: str | None = None) -> Iterator[str]:
    """A new database on the server at ``base_url`` for one test, empty or a copy of database ``template``;
    dropped (forcibly) afterwards. Names are random, so parallel workers and runs never meet."""
    name = f"t_{uuid.uuid4().hex}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    copied = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{copied}'))
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()


def _postgres_base_url() -> str:
    """``OUTTURN_TEST_POSTGRES_URL``; skips the test when unset."""
    base_url = os.environ.get(POSTGRES_URL_VARIABLE, "").strip()
    if not base_url:
        pytest.skip(
            f"PostgreSQL store tests need {POSTGRES_URL_VARIABLE} (run `make test`, or export it from "
            "`scripts/test-postgres.sh start`)"
        )
    return base_url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database of its own for this test on the PostgreSQL server named by
    ``OUTTURN_TEST_POSTGRES_URL`` (``make test`` starts one: scripts/test-postgres.sh); skips when unset."""
    yield from _fresh_postgres_database(_postgres_base_url())


@pytest.fixture(scope="session")
def migrated_postgres_template() -> Iterator[str]:
    """The name of a database migrated once a session (per worker) by ``Store``, as the application migrates: the
    template ``migrated_postgres_url`` copies (CREATE DATABASE ... TEMPLATE), instead of migrating each test's."""
    databases = _fresh_postgres_database(_postgres_base_url())
    try:
        url = next(databases)
        Store(url).dispose()  # no connection may stay open on a template
        yield make_url(url).database or ""
    finally:
        databases.close()


@pytest.fixture
def migrated_postgres_url(migrated_postgres_template: str) -> Iterator[str]:
    """As ``postgres_url``, a database of this test's own, but a copy of ``migrated_postgres_template``: holding
    the newest schema and no rows, as a store the application has just migrated."""
    yield from _fresh_postgres_database(_postgres_base_url(), migrated_postgres_template)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty store: a SQLite file in ``tmp_path`` (not made yet: migrating it makes a copy of a migrated
    one, see ``_new_sqlite_stores_copied``), or a fresh PostgreSQL database holding the newest schema and no rows
    (``migrated_postgres_url``)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.sqlite"
    url: str = request.getfixturevalue("migrated_postgres_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """The store at ``store_url``, migrated to the newest revision; disposed afterwards."""
    opened = Store(store_url)
    try:
        yield opened
    finally:
        opened.dispose()


@pytest.fixture(scope="session")
def web_workspace_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory where ``web_helpers.build_workspace`` made its workspace (``ws``), once a session and closed:
    ``web_workspace`` gives each test a copy of its own (``web_helpers.copy_workspace``)."""
    from web_helpers import build_workspace

    return _once_a_run(tmp_path_factory, "web-template", lambda root: _closed_template(root, build_workspace))


@pytest.fixture(scope="session")
def shared_workspace_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """As ``web_workspace_template``, for ``web_helpers.build_shared_workspace`` (``shared_workspace`` copies it)."""
    from web_helpers import build_shared_workspace

    return _once_a_run(tmp_path_factory, "shared-template", lambda root: _closed_template(root, build_shared_workspace))


def _closed_template(root: Path, build: Callable[[Path], Workspace]) -> None:
    with pytest.MonkeyPatch.context() as environment:
        # the workspace's reference data is the fixture's: OUTTURN_REFERENCE_DIR must not swap in the real tariff
        environment.delenv("OUTTURN_REFERENCE_DIR", raising=False)
        build(root).close()


def _once_a_run(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A directory that ``build`` fills once for the whole run and that tests only copy from: in a plain run, a
    session's temporary directory; under pytest-xdist, one directory in the run's temporary root, built by the first
    worker to ask while the others wait on a file lock, then shared by all of them."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        root = tmp_path_factory.mktemp(name)
        build(root)
        return root
    shared = tmp_path_factory.getbasetemp().parent / name  # the run's root: each worker's basetemp is inside it
    with (shared.parent / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this worker dies
        built = shared.parent / f"{name}.built"
        if not built.exists():
            shutil.rmtree(shared, ignore_errors=True)  # a half-built one, from a worker that failed
            shared.mkdir()
            build(shared)
            built.touch()
    return shared


SMALL_DEMO_ACTIVITY_SCALE = 0.03  # of ICB-scale hospital activity: the plan, budgets and savings do not depend on it
SMALL_DEMO_TRIALS = 2_000  # the board pack's Monte Carlo trials


@pytest.fixture(scope="session")
def small_demo(reference_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """``build_demo`` once a run, with its board pack, at ``SMALL_DEMO_ACTIVITY_SCALE`` of ICB-scale activity and
    ``SMALL_DEMO_TRIALS`` trials: the demo workspace for the tests that read one (a test that writes to it copies
    ``small_demo.workspace`` first; test_pack reads it, test_demo rebuilds a copy). Under pytest-xdist the first
    worker to ask builds it (``_once_a_run``: the others wait, instead of each building its own) and keeps the
    result pickled beside it; each worker reads a copy of its own, so no two processes open one workspace."""
    shared = _once_a_run(tmp_path_factory, "small-demo", lambda root: _pickled_demo(root / "ws", reference_dir))
    built: DemoResult = pickle.loads((shared / DEMO_RESULT_FILE).read_bytes())
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return built  # a plain run: the session's own build
    copy = tmp_path_factory.mktemp("small-demo") / "ws"
    shutil.copytree(built.workspace, copy)
    return _moved_demo(built, copy)


DEMO_RESULT_FILE = "demo-result.pickle"


def _pickled_demo(out: Path, reference_dir: Path) -> None:
    from outturn.services.demo import build_demo

    built = build_demo(
        out, reference_dir=reference_dir, activity_scale=SMALL_DEMO_ACTIVITY_SCALE, pack=True, trials=SMALL_DEMO_TRIALS
    )
    with (out.parent / DEMO_RESULT_FILE).open("wb") as handle:
        pickler = pickle.Pickler(handle)
        # the scenarios' results hold read-only mappings (types.MappingProxyType), which pickle cannot write as such
        pickler.dispatch_table = {**copyreg.dispatch_table, MappingProxyType: _mapping_proxy}
        pickler.dump(built)


def _mapping_proxy(
    proxy: MappingProxyType[Any, Any],
) -> tuple[Callable[[dict[Any, Any]], MappingProxyType[Any, Any]], tuple[dict[Any, Any]]]:
    return _read_only, (dict(proxy),)


def _read_only(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(mapping)


def _moved_demo(built: DemoResult, workspace: Path) -> DemoResult:
    """``built`` with its paths (the workspace, the pack's files, the contract map) inside the copy ``workspace``."""

    def moved(path: Path | None) -> Path | None:
        if path is None:
            return None
        for old in (built.workspace, built.workspace.resolve()):
            if path.is_relative_to(old):
                return workspace / path.relative_to(old)
        return path

    files = built.pack_files
    if files is not None:
        files = dataclasses.replace(files, html=moved(files.html), pdf=moved(files.pdf), xlsx=moved(files.xlsx))
    return dataclasses.replace(
        built, workspace=workspace, pack_files=files, contract_map_file=moved(built.contract_map_file)
    )
