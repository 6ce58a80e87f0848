"""Tables of the system of record. Money columns are BIGINT pence; rates are NUMERIC, never floats."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class OrganisationRow(Base):
    __tablename__ = "organisations"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), index=True)
    parent_code: Mapped[str | None] = mapped_column(String(16), index=True)
    source: Mapped[str] = mapped_column(String(200), default="")


class ImportRow(Base):
    """One accepted import: what, from where, when, how many rows (a file that failed leaves no row)."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    source_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LedgerLineRow(Base):
    __tablename__ = "ledger_lines"
    __table_args__ = (UniqueConstraint("org_code", "year", "month", "category", "subcategory", name="uq_ledger_line"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_code: Mapped[str] = mapped_column(ForeignKey("organisations.code"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(40))
    subcategory: Mapped[str] = mapped_column(String(200), default="")
    budget_pence: Mapped[int] = mapped_column(BigInteger)
    actual_pence: Mapped[int | None] = mapped_column(BigInteger)
    one_off_pence: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))


class FinancialPlanRow(Base):
    __tablename__ = "financial_plans"

    org_code: Mapped[str] = mapped_column(ForeignKey("organisations.code"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    recurrent_allocation_pence: Mapped[int] = mapped_column(BigInteger)
    non_recurrent_allocation_pence: Mapped[int] = mapped_column(BigInteger, default=0)
    brought_forward_deficit_pence: Mapped[int] = mapped_column(BigInteger, default=0)
    required_surplus_share: Mapped[Decimal] = mapped_column(Numeric(9, 6), default=Decimal(0))
    control_total_pence: Mapped[int | None] = mapped_column(BigInteger)


class PlanDeductionRow(Base):
    __tablename__ = "plan_deductions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_code: Mapped[str] = mapped_column(ForeignKey("organisations.code"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(300))
    pence: Mapped[int] = mapped_column(BigInteger)


class RiskRow(Base):
    __tablename__ = "risks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_code: Mapped[str] = mapped_column(ForeignKey("organisations.code"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(500))
    value_pence: Mapped[int] = mapped_column(BigInteger)
    likelihood: Mapped[Decimal] = mapped_column(Numeric(7, 6))
    category: Mapped[str | None] = mapped_column(String(40))


class ForecastOverrideRow(Base):
    __tablename__ = "forecast_overrides"

    org_code: Mapped[str] = mapped_column(ForeignKey("organisations.code"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    subcategory: Mapped[str] = mapped_column(String(200), primary_key=True, default="")
    forecast_pence: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
