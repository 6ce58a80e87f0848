"""Alembic environment: run by outturn.store.database.migrate, never by hand-edited URLs."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import engine_from_config, pool

from outturn.store.models import Base

config = context.config
connection = config.attributes.get("connection")


def _run(connection_to_use: Any) -> None:
    context.configure(
        connection=connection_to_use,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as new_connection:
        _run(new_connection)
