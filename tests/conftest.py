"""Shared fixtures."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
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


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The public NHS reference data (``OUTTURN_REFERENCE_DIR``, else ``../shared/reference-data``)."""
    configured = os.environ.get("OUTTURN_REFERENCE_DIR")
    path = Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared" / "reference-data"
    if not path.is_dir():
        pytest.skip(f"reference data directory not found: {path} (set OUTTURN_REFERENCE_DIR)")
    return path


def _fresh_postgres_database(base_url: str) -> Iterator[str]:
    """A new, empty database on the server at ``base_url`` for one test; dropped (forcibly) afterwards."""
    name = f"t_{uuid.uuid4().hex}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database of its own for this test on the PostgreSQL server named by
    ``OUTTURN_TEST_POSTGRES_URL`` (``make test`` starts one: scripts/test-postgres.sh); skips when unset."""
    base_url = os.environ.get(POSTGRES_URL_VARIABLE, "").strip()
    if not base_url:
        pytest.skip(
            f"PostgreSQL store tests need {POSTGRES_URL_VARIABLE} (run `make test`, or export it from "
            "`scripts/test-postgres.sh start`)"
        )
    yield from _fresh_postgres_database(base_url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty store: a SQLite file in ``tmp_path``, or a fresh PostgreSQL database (``postgres_url``)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.sqlite"
    url: str = request.getfixturevalue("postgres_url")
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

    return _closed_template(tmp_path_factory.mktemp("web-template"), build_workspace)


@pytest.fixture(scope="session")
def shared_workspace_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """As ``web_workspace_template``, for ``web_helpers.build_shared_workspace`` (``shared_workspace`` copies it)."""
    from web_helpers import build_shared_workspace

    return _closed_template(tmp_path_factory.mktemp("shared-template"), build_shared_workspace)


def _closed_template(root: Path, build: Callable[[Path], Workspace]) -> Path:
    with pytest.MonkeyPatch.context() as environment:
        # the workspace's reference data is the fixture's: OUTTURN_REFERENCE_DIR must not swap in the real tariff
        environment.delenv("OUTTURN_REFERENCE_DIR", raising=False)
        build(root).close()
    return root


SMALL_DEMO_ACTIVITY_SCALE = 0.03  # of ICB-scale hospital activity: the plan, budgets and savings do not depend on it
SMALL_DEMO_TRIALS = 2_000  # the board pack's Monte Carlo trials


@pytest.fixture(scope="session")
def small_demo(reference_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """``build_demo`` once a session, with its board pack, at ``SMALL_DEMO_ACTIVITY_SCALE`` of ICB-scale activity
    and ``SMALL_DEMO_TRIALS`` trials: the demo workspace for the tests that read one (a test that writes to it
    copies ``small_demo.workspace`` first; test_pack reads it, test_demo rebuilds a copy)."""
    from outturn.services.demo import build_demo

    out = tmp_path_factory.mktemp("small-demo") / "ws"
    return build_demo(
        out, reference_dir=reference_dir, activity_scale=SMALL_DEMO_ACTIVITY_SCALE, pack=True, trials=SMALL_DEMO_TRIALS
    )
