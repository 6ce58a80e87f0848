"""The planning bridge: import the plan's assumptions, and bridge each organisation (and their total) from the
underlying position to the savings requirement for a year or the medium term."""

from __future__ import annotations

from collections.abc import Container
from pathlib import Path

from outturn.domain.errors import NotFound
from outturn.domain.organisations import OrgTree
from outturn.domain.periods import FinancialYear
from outturn.domain.planning import MAX_YEARS, combined, plan_bridge
from outturn.domain.savings import SavingsTarget
from outturn.domain.savings_programmes import ProgrammeRow
from outturn.domain.savings_programmes import programme_rollup as programme_rollup_of
from outturn.ingest.planning import read_plan_assumptions
from outturn.reports.planning import PlanBridgeResult
from outturn.services import savings
from outturn.services.imports import ImportSummary, accept_rows, known_org_codes, sha256_of
from outturn.services.workspace import Workspace
from outturn.store import planning_repository, repository, savings_repository

TOTAL_CODE = "TOTAL"


def import_plan_assumptions(workspace: Workspace, path: Path, *, who: str = "") -> ImportSummary:
    """Replace the assumptions of each organisation and year in the file: the whole file, or nothing."""
    items = accept_rows(*read_plan_assumptions(path, known_org_codes=known_org_codes(workspace)), path)
    with workspace.store.transaction() as session:
        removed = planning_repository.replace_assumptions(session, items)
        repository.record_import(session, "plan_assumptions", path.name, sha256_of(path), len(items), who=who)
    periods = tuple(sorted({f"{item.org_code} {item.year}" for item in items}))
    return ImportSummary("plan_assumptions", path.name, len(items), replaced_rows=removed, periods=periods)


class _Everyone:
    def __contains__(self, code: object) -> bool:
        return True


def _scope(tree: OrgTree, org: str | None) -> Container[str]:
    """``org`` and the organisations under it (every organisation when None)."""
    if org is None:
        return _Everyone()
    code = org.strip().upper()
    if code not in tree:
        raise NotFound(f"unknown organisation {code!r}")
    return tree.subtree_codes(code)


def _start(workspace: Workspace, year: str | None) -> FinancialYear:
    return FinancialYear.parse(year) if year else FinancialYear(workspace.month(None).year.start_year + 1)


def planned_years(workspace: Workspace, year: str | None) -> int:
    """How many years the stored assumptions cover from ``year`` (default: the year after the workspace's): to
    the last year any organisation has an assumption for, 1 to ``MAX_YEARS``."""
    start = _start(workspace, year)
    with workspace.store.reading() as session:
        last = max((item.year.start_year for item in planning_repository.assumptions_for(session)), default=0)
    return min(max(last - start.start_year + 1, 1), MAX_YEARS)


def bridge(workspace: Workspace, year: str | None, years: int = 1, org: str | None = None) -> PlanBridgeResult:
    """The bridge for ``year`` (default: the year after the workspace's) and the ``years`` after it, of ``org`` or
    of every organisation with assumptions (under ``org`` when given), with their total when more than one."""
    start = _start(workspace, year)
    with workspace.store.reading() as session:
        tree = repository.org_tree(session)
        codes = [code for code in planning_repository.planned_org_codes(session) if code in _scope(tree, org)]
        items = planning_repository.assumptions_for(session, codes)
    if not items:
        where = f" for {org.strip().upper()} or the organisations under it" if org else ""
        raise NotFound(f"no plan assumptions are stored{where}", needs="plan-assumptions")
    bridges = tuple(plan_bridge(code, items, start, years) for code in codes)
    names = {code: tree.get(code).name if code in tree else code for code in codes}
    total = combined(TOTAL_CODE, list(bridges)) if len(bridges) > 1 else None
    return PlanBridgeResult(start, years, bridges, names, total)


def targets_from_plan(
    workspace: Workspace, year: str | None, years: int, programme: str, who: str, org: str | None = None
) -> list[SavingsTarget]:
    """Each organisation's savings target for each year of the plan set to the bridge's savings requirement (none
    below zero), named as part of ``programme``; every change goes to the audit trail."""
    result = bridge(workspace, year, years, org)
    targets = [
        SavingsTarget(plan.org_code, step.year, max(step.savings_requirement_pence, 0), programme.strip())
        for plan in result.organisations
        for step in plan.years
    ]
    for target in targets:
        savings.set_target(workspace, target, who)
    return targets


def programme_rollup(workspace: Workspace, org: str | None = None) -> tuple[ProgrammeRow, ...]:
    """Every programme's target, identified and unidentified savings, year by year and in total."""
    with workspace.store.reading() as session:
        scope = _scope(repository.org_tree(session), org)
        targets = [target for target in savings_repository.load_targets(session) if target.org_code in scope]
        schemes = [
            scheme
            for year in sorted({target.year for target in targets})
            for scheme in savings_repository.load_schemes(session, year, {target.org_code for target in targets})
        ]
    return programme_rollup_of(schemes, targets)
