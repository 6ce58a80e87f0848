"""contract rules: each contract's payment rules on top of the tariff, one row per fact

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contract_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=30), nullable=False),
        sa.Column("point_of_delivery", sa.String(length=30), nullable=True),
        sa.Column("month", sa.Integer(), nullable=True),
        sa.Column("pence", sa.BigInteger(), nullable=True),
        sa.Column("activity", sa.BigInteger(), nullable=True),
        sa.Column("rate", sa.String(length=60), nullable=True),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("contract_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contract_rules_contract_id"), ["contract_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contract_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_rules_contract_id"))
    op.drop_table("contract_rules")
