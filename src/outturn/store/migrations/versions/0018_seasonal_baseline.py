"""scheme measures: the baseline rule (monthly-average, or same-months-last-year with no baseline months)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 17:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scheme_measures", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("baseline_rule", sa.String(length=30), nullable=False, server_default="monthly-average")
        )
        batch_op.alter_column("baseline_first", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("baseline_last", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("scheme_measures", schema=None) as batch_op:
        batch_op.alter_column("baseline_last", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("baseline_first", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("baseline_rule")
