"""import uid: each import's own id, by which the warehouse's import log is copied into the store's once

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 04:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uid", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint("uq_imports_uid", ["uid"])


def downgrade() -> None:
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.drop_constraint("uq_imports_uid", type_="unique")
        batch_op.drop_column("uid")
