"""Reading what is stored for an organisation and year: its plan, risk register and forecast overrides."""

from __future__ import annotations

from outturn.domain.errors import NotFound
from outturn.domain.periods import FinancialYear
from outturn.domain.plans import FinancialPlan, ForecastOverride, RiskItem
from outturn.services.workspace import Workspace
from outturn.store import repository


def _subtree(workspace: Workspace, org_code: str) -> list[str]:
    with workspace.store.reading() as session:
        tree = repository.org_tree(session)
    if org_code not in tree:
        raise NotFound(f"unknown organisation {org_code!r}")
    return sorted(tree.subtree_codes(org_code))


def plans(workspace: Workspace, org_code: str, year: FinancialYear) -> list[FinancialPlan]:
    """The plans of the organisation and of every organisation under it."""
    codes = _subtree(workspace, org_code)
    with workspace.store.reading() as session:
        return sorted(repository.plans_for(session, codes, year), key=lambda plan: plan.org_code)


def risk_register(workspace: Workspace, org_code: str, year: FinancialYear) -> list[RiskItem]:
    codes = _subtree(workspace, org_code)
    with workspace.store.reading() as session:
        return repository.risks_for(session, codes, year)


def overrides(workspace: Workspace, org_code: str, year: FinancialYear) -> list[ForecastOverride]:
    codes = _subtree(workspace, org_code)
    with workspace.store.reading() as session:
        return repository.overrides_for(session, codes, year)
