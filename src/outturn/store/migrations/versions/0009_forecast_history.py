"""forecast history: each month-end close records every organisation's forecast by category and by method

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 06:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forecast_history_months",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("org_code", sa.String(length=16), nullable=False),
        sa.Column("resource_pence", sa.BigInteger(), nullable=False),
        sa.Column("control_total_pence", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "month", "org_code", name="uq_forecast_history_month"),
    )
    with op.batch_alter_table("forecast_history_months", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_forecast_history_months_org_code"), ["org_code"], unique=False)
    op.create_table(
        "forecast_history_categories",
        sa.Column("month_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("forecast_outturn_pence", sa.BigInteger(), nullable=False),
        sa.Column("override_effect_pence", sa.BigInteger(), nullable=False),
        sa.Column("ytd_actual_pence", sa.BigInteger(), nullable=False),
        sa.Column("ytd_budget_pence", sa.BigInteger(), nullable=False),
        sa.Column("annual_budget_pence", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["month_id"], ["forecast_history_months.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("month_id", "category"),
    )
    op.create_table(
        "forecast_history_methods",
        sa.Column("month_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("forecast_outturn_pence", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["month_id"], ["forecast_history_months.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("month_id", "category", "method"),
    )


def downgrade() -> None:
    op.drop_table("forecast_history_methods")
    op.drop_table("forecast_history_categories")
    with op.batch_alter_table("forecast_history_months", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forecast_history_months_org_code"))
    op.drop_table("forecast_history_months")
