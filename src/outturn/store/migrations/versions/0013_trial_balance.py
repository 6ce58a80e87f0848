"""trial balance: ledger lines keep their cost centre and subjective code; cost centres; mapping versions

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 12:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

LINE_COLUMNS = ["org_code", "year", "month", "category", "subcategory"]


def upgrade() -> None:
    with op.batch_alter_table("ledger_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cost_centre", sa.String(length=40), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("subjective_code", sa.String(length=40), nullable=False, server_default=""))
        batch_op.drop_constraint("uq_ledger_line", type_="unique")
        batch_op.create_unique_constraint("uq_ledger_line", [*LINE_COLUMNS, "cost_centre", "subjective_code"])
    op.create_table(
        "cost_centres",
        sa.Column("org_code", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("parent_code", sa.String(length=40), nullable=False),
        sa.Column("budget_holder", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["org_code"], ["organisations.code"]),
        sa.PrimaryKeyConstraint("org_code", "code"),
    )
    op.create_table(
        "subjective_codes",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "ledger_mapping_versions",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(length=200), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_table(
        "ledger_mapping_rules",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("cost_centre", sa.String(length=40), nullable=False),
        sa.Column("subjective_code", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("subcategory", sa.String(length=200), nullable=False),
        sa.Column("budget_holder", sa.String(length=200), nullable=False),
        sa.Column("parent", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["version"], ["ledger_mapping_versions.version"]),
        sa.PrimaryKeyConstraint("version", "position"),
    )


def downgrade() -> None:
    op.drop_table("ledger_mapping_rules")
    op.drop_table("ledger_mapping_versions")
    op.drop_table("subjective_codes")
    op.drop_table("cost_centres")
    with op.batch_alter_table("ledger_lines", schema=None) as batch_op:
        batch_op.drop_constraint("uq_ledger_line", type_="unique")
        batch_op.create_unique_constraint("uq_ledger_line", LINE_COLUMNS)
        batch_op.drop_column("subjective_code")
        batch_op.drop_column("cost_centre")
