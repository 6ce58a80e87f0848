"""``outturn contracts reconcile``: every contract's statement set against the ledger lines that account for it
(the rule: ``outturn.domain.contract_ledger``; the rows: ``outturn.domain.contract_reconciliation``).

The contract's figures are read only through the statement's totals (``ContractStatement.annual_plan_pence``,
``ytd_actual_pence``, ``forecast_pence``); the ledger's through the position's own line forecasts (the same method
resolution: stored settings, ``auto``, overrides, the ``contract`` method)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from outturn.domain.activity import PointOfDelivery
from outturn.domain.backtest import AUTO_FALLBACK
from outturn.domain.contract_ledger import ContractLinks, Figures, LedgerLink, Threshold
from outturn.domain.contract_reconciliation import ContractReconciliation, ElementRow, LedgerRow, Reconciliation
from outturn.domain.contracts import ContractError
from outturn.domain.errors import NotFound
from outturn.domain.forecast import LineForecast
from outturn.domain.ledger import CategoryLineKey
from outturn.domain.organisations import OrgTree
from outturn.domain.periods import FinancialMonth
from outturn.reports.contract_reconciliation import reconciliation_document
from outturn.services.contract_ledger import contract_links, every_statement, statements_by_contract
from outturn.services.contracts import ContractStatement
from outturn.services.position import PositionRequest, forecast_members, resolve_method
from outturn.services.workspace import Workspace
from outturn.store import repository

_POINTS_OF_DELIVERY = frozenset(pod.value for pod in PointOfDelivery)


AGREED_CHALLENGES = "agreed challenges"


def non_tariff_elements(statement: ContractStatement) -> tuple[ElementRow, ...]:
    """The statement's lines other than points of delivery priced from activity (blocks, and any element the
    statement adds on top of the tariff), each payment rule's adjustment, and the agreed challenges the statement
    takes off."""
    elements = [
        ElementRow(line.point_of_delivery, Figures(line.annual_plan_pence, line.ytd_actual_pence, line.forecast_pence))
        for line in statement.lines
        if line.point_of_delivery not in _POINTS_OF_DELIVERY
    ]
    elements += [
        ElementRow(rule.label, Figures(rule.annual_plan_pence, rule.ytd_actual_pence, rule.forecast_pence))
        for rule in statement.rule_lines
    ]
    agreed = statement.challenges
    if agreed is not None and agreed.agreed_pence:
        elements.append(
            ElementRow(AGREED_CHALLENGES, Figures(0, -agreed.agreed_to_date_pence, -agreed.agreed_pence))
        )
    return tuple(elements)


def _chosen(statements: Sequence[ContractStatement], tree: OrgTree, org_code: str | None) -> list[ContractStatement]:
    """The contracts of ``org_code``: as commissioner (or above the commissioner), or as provider."""
    if org_code is None:
        return list(statements)
    if org_code not in tree:
        raise NotFound(f"unknown organisation {org_code!r}")
    under = tree.subtree_codes(org_code)
    return [s for s in statements if s.contract.commissioner in under or s.contract.provider == org_code]


def _ledger_row(link: LedgerLink, forecast: LineForecast) -> LedgerRow:
    figures = forecast.figures
    return LedgerRow(
        link.category,
        link.line,
        link.element,
        Figures(figures.annual_budget_pence, figures.ytd_actual_pence, forecast.forecast_outturn_pence),
        forecast.method,
        link.default,
    )


def _reconcile_one(
    statement: ContractStatement,
    found: ContractLinks,
    forecasts: Mapping[CategoryLineKey, LineForecast],
    threshold: Threshold,
    as_at: FinancialMonth,
) -> ContractReconciliation:
    notes = [found.note] if found.note else []
    rows: dict[bool, list[LedgerRow]] = {True: [], False: []}
    for link in found.links:
        forecast = forecasts.get(link.line_key)
        if forecast is None:
            notes.append(f"{link.category.value} / {link.line}: no ledger for {as_at.year}")
            continue
        rows[link.carries_contract].append(_ledger_row(link, forecast))
    return ContractReconciliation(
        statement.contract.provider,
        statement.contract.commissioner,
        Figures(statement.annual_plan_pence, statement.ytd_actual_pence, statement.forecast_pence),
        non_tariff_elements(statement),
        tuple(rows[True]),
        tuple(rows[False]),
        threshold,
        "; ".join(notes),
    )


def reconcile_contracts(
    workspace: Workspace,
    as_at: FinancialMonth,
    org_code: str | None = None,
    threshold: Threshold | None = None,
) -> Reconciliation:
    """Every contract of the year (of ``org_code`` when given) against its ledger lines as at ``as_at``."""
    threshold = threshold or Threshold()
    with workspace.store.reading() as session:
        tree = repository.org_tree(session)
    statements = _chosen(every_statement(workspace, as_at), tree, org_code.upper() if org_code else None)
    if not statements:
        which = f" of {org_code.upper()}" if org_code else ""
        raise ContractError(f"no contract{which} in {as_at.year}", needs="contracts")
    by_contract = statements_by_contract(statements)
    with workspace.store.reading() as session:
        resolved = contract_links(session, by_contract)
    members = sorted({link.commissioner for found in resolved for link in found.links})
    request = resolve_method(workspace, PositionRequest("", as_at, AUTO_FALLBACK), None)
    forecasts = forecast_members(workspace, request, tree, members)[0] if members else []
    by_line = {(f.figures.org_code, f.figures.category, f.figures.subcategory): f for f in forecasts}
    return Reconciliation(
        as_at,
        threshold,
        tuple(
            _reconcile_one(by_contract[(found.provider, found.commissioner)], found, by_line, threshold, as_at)
            for found in resolved
        ),
    )


def reconciliation_json(workspace: Workspace, as_at: FinancialMonth, org_code: str | None = None) -> dict[str, Any]:
    """``reconcile_contracts``' document with the default threshold: what the web page, the API and the pack show."""
    return reconciliation_document(reconcile_contracts(workspace, as_at, org_code))
