"""Provider contracts in the store. Callers own the session/transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from fractions import Fraction

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from outturn.domain.activity import PointOfDelivery
from outturn.domain.contract_ledger import ContractKey, LedgerLink
from outturn.domain.contract_rules import RuleKind, RuleRow, rule_rows, rules_from_rows
from outturn.domain.contracts import BlockElement, Contract, LocalPrice, PlanLine
from outturn.domain.ledger import CostCategory
from outturn.domain.periods import FinancialYear
from outturn.store.models import (
    ContractBlockRow,
    ContractLedgerMapRow,
    ContractLocalPriceRow,
    ContractPlanRow,
    ContractRow,
    ContractRuleRow,
    LedgerLineRow,
)


def replace_contracts(session: Session, contracts: Sequence[Contract]) -> None:
    """Each contract in ``contracts`` replaces the stored one for its provider, commissioner and year."""
    for contract in contracts:
        row = session.scalars(
            select(ContractRow).where(
                ContractRow.provider == contract.provider,
                ContractRow.commissioner == contract.commissioner,
                ContractRow.year == contract.year.start_year,
            )
        ).first()
        if row is None:
            row = ContractRow(
                provider=contract.provider, commissioner=contract.commissioner, year=contract.year.start_year
            )
            session.add(row)
            session.flush()
        for model in (ContractPlanRow, ContractLocalPriceRow, ContractBlockRow, ContractRuleRow):
            session.execute(delete(model).where(model.contract_id == row.id))
        session.add_all(
            ContractPlanRow(
                contract_id=row.id,
                point_of_delivery=line.point_of_delivery.value,
                month=line.month,
                activity=line.activity,
                pence=line.pence,
            )
            for line in contract.plan
        )
        session.add_all(
            ContractLocalPriceRow(
                contract_id=row.id,
                point_of_delivery=price.point_of_delivery.value,
                code=price.code,
                price_pence=price.price_pence,
            )
            for price in contract.local_prices
        )
        session.add_all(
            ContractBlockRow(contract_id=row.id, description=block.description, annual_pence=block.annual_pence)
            for block in contract.blocks
        )
        session.add_all(
            ContractRuleRow(
                contract_id=row.id,
                rule=rule.kind.value,
                point_of_delivery=rule.point_of_delivery.value if rule.point_of_delivery else None,
                month=rule.month,
                pence=rule.pence,
                activity=rule.activity,
                rate=None if rule.rate is None else str(rule.rate),
            )
            for rule in rule_rows(contract.rules)
        )
    session.flush()


def load_contracts(session: Session, year: FinancialYear, provider: str | None = None) -> list[Contract]:
    statement = select(ContractRow).where(ContractRow.year == year.start_year)
    if provider is not None:
        statement = statement.where(ContractRow.provider == provider)
    contracts = []
    for row in session.scalars(statement.order_by(ContractRow.provider, ContractRow.commissioner)):
        plan = session.scalars(select(ContractPlanRow).where(ContractPlanRow.contract_id == row.id))
        prices = session.scalars(select(ContractLocalPriceRow).where(ContractLocalPriceRow.contract_id == row.id))
        blocks = session.scalars(
            select(ContractBlockRow).where(ContractBlockRow.contract_id == row.id).order_by(ContractBlockRow.id)
        )
        rules = session.scalars(
            select(ContractRuleRow).where(ContractRuleRow.contract_id == row.id).order_by(ContractRuleRow.id)
        )
        contracts.append(
            Contract(
                row.provider,
                row.commissioner,
                year,
                tuple(PlanLine(PointOfDelivery(p.point_of_delivery), p.month, p.activity, p.pence) for p in plan),
                tuple(LocalPrice(PointOfDelivery(p.point_of_delivery), p.code, p.price_pence) for p in prices),
                tuple(BlockElement(b.description, b.annual_pence) for b in blocks),
                rules_from_rows([_rule(r) for r in rules]),
            )
        )
    return contracts


def _rule(row: ContractRuleRow) -> RuleRow:
    return RuleRow(
        RuleKind(row.rule),
        PointOfDelivery(row.point_of_delivery) if row.point_of_delivery else None,
        row.month,
        row.pence,
        row.activity,
        None if row.rate is None else Fraction(row.rate),
    )


def contract_years(session: Session) -> frozenset[int]:
    """The financial years (by start year) for which any contract is held."""
    return frozenset(session.scalars(select(ContractRow.year).distinct()))


def contract_keys(session: Session) -> frozenset[ContractKey]:
    """Every provider x commissioner pair with a contract held in any year."""
    return frozenset(
        (row[0], row[1]) for row in session.execute(select(ContractRow.provider, ContractRow.commissioner).distinct())
    )


def ledger_line_keys(session: Session, org_codes: Collection[str] | None = None) -> list[tuple[str, CostCategory, str]]:
    """Every ledger line (organisation, category, subcategory) held in any year, of ``org_codes`` when given."""
    statement = select(LedgerLineRow.org_code, LedgerLineRow.category, LedgerLineRow.subcategory).distinct()
    if org_codes is not None:
        statement = statement.where(LedgerLineRow.org_code.in_(list(org_codes)))
    return [(row[0], CostCategory(row[1]), row[2]) for row in session.execute(statement)]


def load_ledger_links(session: Session, commissioners: Collection[str] | None = None) -> list[LedgerLink]:
    """The stored mapping of contracts to ledger lines (of ``commissioners`` when given)."""
    statement = select(ContractLedgerMapRow).order_by(
        ContractLedgerMapRow.commissioner,
        ContractLedgerMapRow.provider,
        ContractLedgerMapRow.category,
        ContractLedgerMapRow.subcategory,
    )
    if commissioners is not None:
        statement = statement.where(ContractLedgerMapRow.commissioner.in_(list(commissioners)))
    return [
        LedgerLink(row.provider, row.commissioner, CostCategory(row.category), row.subcategory, row.element)
        for row in session.scalars(statement)
    ]


# look-alike of save_contract's add_all: declarative, each table's columns.
def replace_ledger_links(session: Session, links: Sequence[LedgerLink]) -> None:
    """The links replace the whole stored mapping of each commissioner they name."""
    commissioners = sorted({link.commissioner for link in links})
    session.execute(delete(ContractLedgerMapRow).where(ContractLedgerMapRow.commissioner.in_(commissioners)))
    session.add_all(
        ContractLedgerMapRow(
            commissioner=link.commissioner,
            category=link.category.value,
            subcategory=link.line,
            provider=link.provider,
            element=link.element,
        )
        for link in links
    )
    session.flush()
