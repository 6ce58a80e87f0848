"""import log (who, totals, what was replaced) and month reopens

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 03:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

APPEND_ONLY_TABLE = "month_status_changes"


def _append_only_trigger() -> None:
    """A reopen or a close again is history: the database refuses UPDATE and DELETE (as 0002 does for closes)."""
    if op.get_bind().dialect.name == "postgresql":
        # outturn_append_only() was created by 0002
        op.execute(
            f"CREATE TRIGGER {APPEND_ONLY_TABLE}_append_only BEFORE UPDATE OR DELETE ON {APPEND_ONLY_TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION outturn_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {APPEND_ONLY_TABLE}_no_{event.lower()} BEFORE {event} ON {APPEND_ONLY_TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_TABLE} is append-only: history cannot be edited'); END"
        )


def upgrade() -> None:
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("imported_by", sa.String(length=100), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("replaced_rows", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("totals_json", sa.Text(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("replaced_totals_json", sa.Text(), nullable=False, server_default="{}"))
    op.create_table(
        APPEND_ONLY_TABLE,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("who", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _append_only_trigger()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {APPEND_ONLY_TABLE}_append_only ON {APPEND_ONLY_TABLE}")
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {APPEND_ONLY_TABLE}_no_{event}")
    op.drop_table(APPEND_ONLY_TABLE)
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.drop_column("replaced_totals_json")
        batch_op.drop_column("totals_json")
        batch_op.drop_column("replaced_rows")
        batch_op.drop_column("imported_by")
