"""Tables of the system of record. Money columns are BIGINT pence; rates are NUMERIC, never floats."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
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
    """One accepted import: what, from where, who, when, how many rows, their totals and what they replaced
    (a file that failed or was refused leaves no row)."""

    __tablename__ = "imports"
    __table_args__ = (UniqueConstraint("uid", name="uq_imports_uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # made for each import; the warehouse's log keys its records by it too (copied here, once each)
    uid: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    source_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    imported_by: Mapped[str] = mapped_column(String(100), default="")
    replaced_rows: Mapped[int] = mapped_column(Integer, default=0)
    # {"budget_pence": ..., "actual_pence": ...}: what the file held, and what the import removed or replaced
    totals_json: Mapped[str] = mapped_column(Text, default="{}")
    replaced_totals_json: Mapped[str] = mapped_column(Text, default="{}")


class MonthStatusChangeRow(Base):
    """A closed month reopened (with its reason) or closed again: append-only (triggers refuse changes).

    A month is closed while it has a savings close and its latest change here is not a reopen."""

    __tablename__ = "month_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(10))  # "reopen" or "close"
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    who: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text, default="")


class LedgerLineRow(Base):
    __tablename__ = "ledger_lines"
    __table_args__ = (
        UniqueConstraint(
            "org_code",
            "year",
            "month",
            "category",
            "subcategory",
            "cost_centre",
            "subjective_code",
            name="uq_ledger_line",
        ),
    )

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
    cost_centre: Mapped[str] = mapped_column(String(40), default="", server_default="")
    subjective_code: Mapped[str] = mapped_column(String(40), default="", server_default="")
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))


class CostCentreRow(Base):
    """A cost centre of an organisation's trial balance: its description, parent and budget holder."""

    __tablename__ = "cost_centres"

    org_code: Mapped[str] = mapped_column(ForeignKey("organisations.code"), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    parent_code: Mapped[str] = mapped_column(String(40), default="")
    budget_holder: Mapped[str] = mapped_column(String(200), default="")


class SubjectiveCodeRow(Base):
    """A subjective (expense) code's description, as the trial balance last gave it."""

    __tablename__ = "subjective_codes"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    description: Mapped[str] = mapped_column(String(200), default="")


class LedgerMappingVersionRow(Base):
    """One version of the trial-balance mapping (cost centre / subjective code to category and budget holder):
    who loaded it, when, from which file; the rules are ``ledger_mapping_rules``. The newest version applies."""

    __tablename__ = "ledger_mapping_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    loaded_by: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(300), default="")
    checksum: Mapped[str] = mapped_column(String(64), default="")


class LedgerMappingRuleRow(Base):
    __tablename__ = "ledger_mapping_rules"

    version: Mapped[int] = mapped_column(ForeignKey("ledger_mapping_versions.version"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # the rule's row in its file
    cost_centre: Mapped[str] = mapped_column(String(40))  # a code, a wildcard pattern, or "*" for any
    subjective_code: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(40))
    subcategory: Mapped[str] = mapped_column(String(200), default="")
    budget_holder: Mapped[str] = mapped_column(String(200), default="")
    parent: Mapped[str] = mapped_column(String(40), default="")  # the cost centre's parent in the tree


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


class ForecastMethodSettingRow(Base):
    """A standing choice of forecast method for an organisation's category (scope "category", subcategory "") or
    for one of its ledger lines (scope "line"); every change is also written to the audit log."""

    __tablename__ = "forecast_method_settings"

    org_code: Mapped[str] = mapped_column(ForeignKey("organisations.code"), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    scope: Mapped[str] = mapped_column(String(10), primary_key=True)
    subcategory: Mapped[str] = mapped_column(String(200), primary_key=True, default="")
    method: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- savings (QIPP) ------------------------------------------------------------------------------------------


class SchemeRow(Base):
    """A savings scheme; ``version`` rises with every change (optimistic concurrency)."""

    __tablename__ = "savings_schemes"
    __table_args__ = (UniqueConstraint("year", "reference", name="uq_scheme_reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(60))
    year: Mapped[int] = mapped_column(Integer, index=True)
    title: Mapped[str] = mapped_column(String(300))
    org_code: Mapped[str] = mapped_column(ForeignKey("organisations.code"), index=True)
    workstream: Mapped[str] = mapped_column(String(40))
    lead: Mapped[str] = mapped_column(String(200), default="")
    recurrent: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(20))
    start_month: Mapped[int] = mapped_column(Integer)
    confidence: Mapped[Decimal] = mapped_column(Numeric(7, 6))
    evidence_measure: Mapped[str] = mapped_column(Text, default="")
    negative_reason: Mapped[str] = mapped_column(Text, default="")
    rag_override: Mapped[str | None] = mapped_column(String(10))
    rag_override_reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(100))


class SchemePhasingRow(Base):
    __tablename__ = "savings_phasing"

    scheme_id: Mapped[int] = mapped_column(ForeignKey("savings_schemes.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    planned_pence: Mapped[int] = mapped_column(BigInteger)
    delivered_pence: Mapped[int | None] = mapped_column(BigInteger)
    forecast_pence: Mapped[int | None] = mapped_column(BigInteger)


class SavingsTargetRow(Base):
    __tablename__ = "savings_targets"

    org_code: Mapped[str] = mapped_column(ForeignKey("organisations.code"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_pence: Mapped[int] = mapped_column(BigInteger)
    programme: Mapped[str] = mapped_column(String(200), default="")


class SavingsCloseRow(Base):
    """A month-end close of the savings plan: immutable once written (database triggers refuse changes)."""

    __tablename__ = "savings_closes"
    __table_args__ = (UniqueConstraint("year", "month", name="uq_savings_close_month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str] = mapped_column(String(100))


class SavingsCloseLineRow(Base):
    __tablename__ = "savings_close_lines"

    close_id: Mapped[int] = mapped_column(ForeignKey("savings_closes.id"), primary_key=True)
    reference: Mapped[str] = mapped_column(String(60), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    org_code: Mapped[str] = mapped_column(String(16))
    workstream: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    rag: Mapped[str] = mapped_column(String(10))
    confidence: Mapped[Decimal] = mapped_column(Numeric(7, 6))
    plan_pence: Mapped[int] = mapped_column(BigInteger)
    delivered_pence: Mapped[int] = mapped_column(BigInteger)
    forecast_pence: Mapped[int] = mapped_column(BigInteger)
    risk_adjusted_pence: Mapped[int] = mapped_column(BigInteger)
    scheme_json: Mapped[str] = mapped_column(Text)


class AuditRow(Base):
    """Who changed what, when, with the values before and after: append-only (triggers refuse changes)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    who: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str] = mapped_column(String(40))
    entity_key: Mapped[str] = mapped_column(String(120), index=True)
    action: Mapped[str] = mapped_column(String(40))
    before_json: Mapped[str | None] = mapped_column(Text)
    after_json: Mapped[str | None] = mapped_column(Text)


class LineCommentaryRow(Base):
    """A ledger line's commentary for a month (the line by its ``TrialBalanceLineKey``); ``version`` rises with every
    change (optimistic concurrency) and every change is written to the audit log (entity "commentary")."""

    __tablename__ = "line_commentary"
    __table_args__ = (
        UniqueConstraint(
            "year", "month", "org_code", "cost_centre", "subjective_code", name="uq_line_commentary_line_month"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    org_code: Mapped[str] = mapped_column(String(16))
    cost_centre: Mapped[str] = mapped_column(String(200))
    subjective_code: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(100))
    written_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer)


# --- provider contracts --------------------------------------------------------------------------------------


class ContractRow(Base):
    __tablename__ = "contracts"
    __table_args__ = (UniqueConstraint("provider", "commissioner", "year", name="uq_contract"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16), index=True)
    commissioner: Mapped[str] = mapped_column(String(16), index=True)
    year: Mapped[int] = mapped_column(Integer)


class ContractPlanRow(Base):
    __tablename__ = "contract_plan_lines"

    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True)
    point_of_delivery: Mapped[str] = mapped_column(String(30), primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity: Mapped[int] = mapped_column(BigInteger)
    pence: Mapped[int] = mapped_column(BigInteger)


class ContractLocalPriceRow(Base):
    __tablename__ = "contract_local_prices"

    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True)
    point_of_delivery: Mapped[str] = mapped_column(String(30), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), primary_key=True, default="")
    price_pence: Mapped[int] = mapped_column(BigInteger)


class ContractBlockRow(Base):
    __tablename__ = "contract_blocks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(String(300))
    annual_pence: Mapped[int] = mapped_column(BigInteger)


class ChallengeRow(Base):
    """A challenge raised with a provider about a contract; ``version`` rises with every change (optimistic
    concurrency) and every change is written to the audit log (entity "challenge")."""

    __tablename__ = "contract_challenges"
    __table_args__ = (UniqueConstraint("year", "reference", name="uq_challenge_reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(16), index=True)
    commissioner: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(20))
    value_pence: Mapped[int] = mapped_column(BigInteger)
    raised_on: Mapped[date] = mapped_column(Date)
    raised_by: Mapped[str] = mapped_column(String(100))
    point_of_delivery: Mapped[str | None] = mapped_column(String(30))
    treatment_function: Mapped[str | None] = mapped_column(String(10))
    months: Mapped[str] = mapped_column(String(40), default="")  # financial months, comma-separated
    status: Mapped[str] = mapped_column(String(12))
    status_changed_on: Mapped[date | None] = mapped_column(Date)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    agreed_pence: Mapped[int | None] = mapped_column(BigInteger)
    likelihood: Mapped[Decimal | None] = mapped_column(Numeric(7, 6))
    notes: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(100))


class ContractLedgerMapRow(Base):
    """A ledger line of the commissioner's that accounts for a contract with ``provider``: its value (element
    ``contract``) or non-contract spend under a label. A line is mapped once."""

    __tablename__ = "contract_ledger_map"

    commissioner: Mapped[str] = mapped_column(ForeignKey("organisations.code"), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    subcategory: Mapped[str] = mapped_column(String(200), primary_key=True)
    provider: Mapped[str] = mapped_column(ForeignKey("organisations.code"))
    element: Mapped[str] = mapped_column(String(200))


class ContractRuleRow(Base):
    """One fact of a contract's payment rules (``domain.contract_rules.RuleRow``); ``rate`` an exact fraction."""

    __tablename__ = "contract_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(30))
    point_of_delivery: Mapped[str | None] = mapped_column(String(30))
    month: Mapped[int | None] = mapped_column(Integer)
    pence: Mapped[int | None] = mapped_column(BigInteger)
    activity: Mapped[int | None] = mapped_column(BigInteger)
    rate: Mapped[str | None] = mapped_column(String(60))


# --- web users, sessions and login attempts ------------------------------------------------------------------


class UserRow(Base):
    """A person who signs in to the web application; ``password_hash`` is an argon2 hash, never the password."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    org_code: Mapped[str | None] = mapped_column(String(16))  # a practice user's practice
    budget_holder: Mapped[str | None] = mapped_column(String(200))  # a budget holder user's name as the mapping has it
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebSessionRow(Base):
    """A signed-in browser: the cookie holds a random token, the store only its SHA-256."""

    __tablename__ = "web_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class LoginAttemptRow(Base):
    """Each sign-in attempt, kept to rate-limit guessing by user name and by client address."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)


class LoginThrottleRow(Base):
    """Failed sign-ins counted per key (a user name at one client address, or an address alone) and how long that
    key must wait before its next try. ``version`` changes with every write: a claim is a compare-and-set on it."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    blocked_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- forecast history (one record per month-end close) -------------------------------------------------------


class ForecastHistoryMonthRow(Base):
    """An organisation's forecast as recorded at a month-end close (replaced when a reopened month closes again)."""

    __tablename__ = "forecast_history_months"
    __table_args__ = (UniqueConstraint("year", "month", "org_code", name="uq_forecast_history_month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    org_code: Mapped[str] = mapped_column(String(16), index=True)
    resource_pence: Mapped[int] = mapped_column(BigInteger)
    control_total_pence: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(100))


# look-alike of the savings close rows' money columns: declarative, a table's columns.
class ForecastHistoryCategoryRow(Base):
    """A category's forecast in a recorded month: the method used, the forecast with overrides, their effect."""

    __tablename__ = "forecast_history_categories"

    month_id: Mapped[int] = mapped_column(
        ForeignKey("forecast_history_months.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    method: Mapped[str] = mapped_column(String(40))
    forecast_outturn_pence: Mapped[int] = mapped_column(BigInteger)
    override_effect_pence: Mapped[int] = mapped_column(BigInteger)
    ytd_actual_pence: Mapped[int] = mapped_column(BigInteger)
    ytd_budget_pence: Mapped[int] = mapped_column(BigInteger)
    annual_budget_pence: Mapped[int] = mapped_column(BigInteger)


class ForecastHistoryMethodRow(Base):
    """A category's forecast outturn under one method (overrides left out), in a recorded month."""

    __tablename__ = "forecast_history_methods"

    month_id: Mapped[int] = mapped_column(
        ForeignKey("forecast_history_months.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    method: Mapped[str] = mapped_column(String(40), primary_key=True)
    forecast_outturn_pence: Mapped[int] = mapped_column(BigInteger)


# --- the planning bridge's assumptions ------------------------------------------------------------------------


class PlanAssumptionRow(Base):
    """One planning assumption (``outturn.domain.planning.Assumption``); ``position`` keeps the file's order."""

    __tablename__ = "plan_assumptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_code: Mapped[str] = mapped_column(String(16), index=True)
    year: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    pence: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(200))
    recurrent: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    share: Mapped[Decimal | None] = mapped_column(Numeric(9, 6), nullable=True)
    base_pence: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # a share's base; None: allocation


class SchemeMeasureRow(Base):
    """A savings scheme's activity or prescribing measure (``outturn.domain.scheme_measures.SchemeMeasure``)."""

    __tablename__ = "scheme_measures"
    __table_args__ = (UniqueConstraint("year", "reference", name="uq_scheme_measure"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(20))
    point_of_delivery: Mapped[str | None] = mapped_column(String(20), nullable=True)
    provider: Mapped[str] = mapped_column(String(16))
    commissioner: Mapped[str] = mapped_column(String(16))
    practices: Mapped[str] = mapped_column(Text)
    hrg_prefix: Mapped[str] = mapped_column(String(10))
    treatment_function: Mapped[str] = mapped_column(String(10))
    excess_bed_days: Mapped[bool] = mapped_column(Boolean)
    bnf_prefix: Mapped[str] = mapped_column(String(20))
    baseline_first: Mapped[int | None] = mapped_column(Integer, nullable=True)
    baseline_last: Mapped[int | None] = mapped_column(Integer, nullable=True)
    baseline_rule: Mapped[str] = mapped_column(String(30), server_default="monthly-average")
    target_units: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    target_share: Mapped[Decimal | None] = mapped_column(Numeric(9, 6), nullable=True)
    unit_price_pence: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    bed_day_price_pence: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
