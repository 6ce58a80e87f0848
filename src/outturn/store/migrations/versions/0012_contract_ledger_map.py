"""contract ledger map: which ledger lines of the commissioner's account for each provider contract

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-02 09:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contract_ledger_map",
        sa.Column("commissioner", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("subcategory", sa.String(length=200), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("element", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["commissioner"], ["organisations.code"]),
        sa.ForeignKeyConstraint(["provider"], ["organisations.code"]),
        sa.PrimaryKeyConstraint("commissioner", "category", "subcategory"),
    )


def downgrade() -> None:
    op.drop_table("contract_ledger_map")
