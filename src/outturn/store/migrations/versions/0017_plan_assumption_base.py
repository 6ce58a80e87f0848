"""plan assumptions as a share of a base: the base amount (none: the allocation)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plan_assumptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("base_pence", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plan_assumptions", schema=None) as batch_op:
        batch_op.drop_column("base_pence")
