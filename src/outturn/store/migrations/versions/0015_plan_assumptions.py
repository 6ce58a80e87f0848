"""plan assumptions: the planning bridge's inputs, one row per assumption per organisation per year

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan_assumptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_code", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("pence", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("recurrent", sa.Boolean(), nullable=True),
        sa.Column("share", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("plan_assumptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_assumptions_org_code"), ["org_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("plan_assumptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_assumptions_org_code"))
    op.drop_table("plan_assumptions")
