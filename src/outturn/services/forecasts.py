"""Manual forecast overrides: set or clear, each in its own transaction."""

from __future__ import annotations

from outturn.domain.errors import NotFound
from outturn.domain.ledger import CostCategory
from outturn.domain.periods import FinancialYear
from outturn.domain.plans import ForecastOverride
from outturn.services.workspace import Workspace
from outturn.store import repository


def set_override(workspace: Workspace, override: ForecastOverride) -> None:
    with workspace.store.transaction() as session:
        if override.org_code not in repository.org_tree(session):
            raise NotFound(f"unknown organisation {override.org_code!r}")
        repository.save_override(session, override)


def clear_override(
    workspace: Workspace, org_code: str, year: FinancialYear, category: CostCategory, subcategory: str
) -> bool:
    with workspace.store.transaction() as session:
        return repository.delete_override(session, org_code, year, category, subcategory)
