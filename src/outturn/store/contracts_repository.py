"""Provider contracts in the store. Callers own the session/transaction."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from outturn.domain.activity import PointOfDelivery
from outturn.domain.contract_rules import RuleKind, RuleRow, rule_rows, rules_from_rows
from outturn.domain.contracts import BlockElement, Contract, LocalPrice, PlanLine
from outturn.domain.periods import FinancialYear
from outturn.store.models import (
    ContractBlockRow,
    ContractLocalPriceRow,
    ContractPlanRow,
    ContractRow,
    ContractRuleRow,
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
