"""contract challenges: queries raised with a provider about a contract, versioned, with the audit log

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-02 09:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contract_challenges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("commissioner", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("value_pence", sa.BigInteger(), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("raised_by", sa.String(length=100), nullable=False),
        sa.Column("point_of_delivery", sa.String(length=30), nullable=True),
        sa.Column("treatment_function", sa.String(length=10), nullable=True),
        sa.Column("months", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("status_changed_on", sa.Date(), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("agreed_pence", sa.BigInteger(), nullable=True),
        sa.Column("likelihood", sa.Numeric(precision=7, scale=6), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "reference", name="uq_challenge_reference"),
    )
    with op.batch_alter_table("contract_challenges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contract_challenges_provider"), ["provider"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contract_challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_challenges_provider"))
    op.drop_table("contract_challenges")
