"""scheme measures: a savings scheme's structured activity or prescribing measure, one per scheme

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheme_measures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("point_of_delivery", sa.String(length=20), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("commissioner", sa.String(length=16), nullable=False),
        sa.Column("practices", sa.Text(), nullable=False),
        sa.Column("hrg_prefix", sa.String(length=10), nullable=False),
        sa.Column("treatment_function", sa.String(length=10), nullable=False),
        sa.Column("excess_bed_days", sa.Boolean(), nullable=False),
        sa.Column("bnf_prefix", sa.String(length=20), nullable=False),
        sa.Column("baseline_first", sa.Integer(), nullable=False),
        sa.Column("baseline_last", sa.Integer(), nullable=False),
        sa.Column("target_units", sa.BigInteger(), nullable=True),
        sa.Column("target_share", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("unit_price_pence", sa.BigInteger(), nullable=True),
        sa.Column("bed_day_price_pence", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "reference", name="uq_scheme_measure"),
    )


def downgrade() -> None:
    op.drop_table("scheme_measures")
