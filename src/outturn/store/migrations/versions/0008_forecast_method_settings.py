"""forecast method settings: a standing forecast method per organisation's category or ledger line

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 06:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forecast_method_settings",
        sa.Column("org_code", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("subcategory", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_code"], ["organisations.code"]),
        sa.PrimaryKeyConstraint("org_code", "category", "scope", "subcategory"),
    )


def downgrade() -> None:
    op.drop_table("forecast_method_settings")
