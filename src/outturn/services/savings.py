"""Savings plans (QIPP): import and export the workbook, edit a scheme safely, close the month, roll up.

Every change is recorded in the audit trail (who, when, before, after) in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from outturn.domain.errors import BadInput, Conflict, NotFound, OutturnError
from outturn.domain.money import Pence
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.problems import Problem, ProblemsError
from outturn.domain.savings import Rag, RagAssessment, SavingsTarget, Scheme, SchemeStatus, assess_rag
from outturn.domain.savings_codec import target_to_data
from outturn.domain.savings_rollup import Movement, RollupLevel, RollupRow, movements, rollup, snapshot
from outturn.domain.savings_rules import EditWindow, SchemeFault, edit_faults, reference_fault
from outturn.domain.scheme_measures import Evidence
from outturn.ingest.savings_workbook import read_savings_workbook
from outturn.reports.savings_workbook import write_savings_workbook
from outturn.services import forecast_history, scheme_evidence
from outturn.services.workspace import Workspace
from outturn.store import repository
from outturn.store import savings_repository as store
from outturn.store.database import StoreSession
from outturn.store.savings_repository import VersionConflict

__all__ = [
    "CloseRefused",
    "MonthNotClosed",
    "MonthStatusChange",
    "ReasonMissing",
    "SavingsError",
    "SchemeChanges",
    "SchemeNotFound",
    "SchemeRefused",
    "SchemeView",
    "VersionConflict",
    "WorkbookImport",
    "close_month",
    "closed_months",
    "edit_window",
    "export_workbook",
    "import_workbook",
    "list_schemes",
    "month_status_changes",
    "movement",
    "reopen_month",
    "savings_rollup",
    "set_target",
    "show_scheme",
    "update_scheme",
]


class SavingsError(OutturnError):
    """A savings operation that cannot be done as asked; each kind below is also the family member it means, so
    the CLI and the web map it by that (catch ``SavingsError`` for any of them)."""


class SchemeNotFound(SavingsError, NotFound):
    """No scheme of that reference in that year."""


class CloseRefused(SavingsError, Conflict):
    """A month-end close or reopen that the months' state forbids (already closed, not closed, reopened)."""


class ReasonMissing(SavingsError, BadInput):
    """A change that must say why (a reopen) was given no reason."""


class MonthNotClosed(SavingsError, Conflict):
    """A figure that needs a month's close (the movement between closes) asked of a month not yet closed."""

    def __init__(self, month: FinancialMonth) -> None:
        self.month = month
        super().__init__(f"{month} has not been closed")


class SchemeRefused(BadInput):
    """An edit that breaks the scheme rules (``domain.savings_rules``); ``faults`` name each field. Nothing saved."""

    def __init__(self, reference: str, faults: Sequence[SchemeFault]) -> None:
        self.reference, self.faults = reference, tuple(faults)
        super().__init__(f"scheme {reference} was not saved: " + "; ".join(str(fault) for fault in self.faults))


def _as_at(workspace: Workspace) -> FinancialMonth | None:
    return workspace.month_or_default(None)


def edit_window(workspace: Workspace, session: StoreSession, year: FinancialYear) -> EditWindow:
    """The months of ``year`` an edit may change: by the workspace's as-at month and the month-end closes."""
    return EditWindow.for_year(year, _as_at(workspace), store.last_closed_month(session, year))


@dataclass(frozen=True)
class WorkbookImport:
    source: str
    created: int
    updated: int
    unchanged: int
    targets: int


def _scope(workspace: Workspace, org_code: str | None) -> list[str] | None:
    if org_code is None:
        return None
    with workspace.store.reading() as session:
        tree = repository.org_tree(session)
    if org_code not in tree:
        raise NotFound(f"unknown organisation {org_code!r}")
    return sorted(tree.subtree_codes(org_code))


class _StoredSchemes:
    """The stored schemes and edit windows of the years a workbook names, read once per year, to judge its rows."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.years: dict[FinancialYear, tuple[dict[str, Scheme], EditWindow]] = {}

    def _year(self, year: FinancialYear) -> tuple[dict[str, Scheme], EditWindow]:
        if year not in self.years:
            with self.workspace.store.reading() as session:
                stored = {scheme.reference: scheme for scheme in store.load_schemes(session, year)}
                self.years[year] = stored, edit_window(self.workspace, session, year)
        return self.years[year]

    def faults(self, scheme: Scheme) -> list[SchemeFault]:
        stored, window = self._year(scheme.year)
        return edit_faults(stored.get(scheme.reference), scheme, window)


def import_workbook(workspace: Workspace, path: Path, who: str) -> WorkbookImport:
    """New schemes are created; a scheme already stored is replaced only if the workbook carries the version
    it was exported at (otherwise someone has changed it since, and the whole import is refused). Every row is
    judged by the same rules as an edit (``domain.savings_rules``) against the scheme as stored."""
    with workspace.store.reading() as session:
        known = frozenset(repository.org_tree(session).by_code)
    schemes, targets, problems = read_savings_workbook(
        path, known_org_codes=known, check=_StoredSchemes(workspace).faults
    )
    if problems:
        raise ProblemsError(problems, f"{path.name} was not imported: {len(problems)} problem(s), nothing stored")
    created = updated = unchanged = 0
    with workspace.store.transaction() as session:
        stored = {
            (scheme.year, scheme.reference): scheme
            for year in {scheme.year for scheme in schemes}
            for scheme in store.load_schemes(session, year)
        }
        conflicts = [
            Problem(
                path.name,
                f"scheme {scheme.reference} is at version {current.version} in the store but the "
                f"workbook has version {scheme.version}: export again and re-apply your changes",
                sheet="Schemes",
            )
            for scheme in schemes
            if (current := stored.get((scheme.year, scheme.reference))) and current.version != scheme.version
        ]
        if conflicts:
            raise ProblemsError(conflicts, f"{path.name} was not imported: it is out of date, nothing stored")
        new = [scheme for scheme in schemes if (scheme.year, scheme.reference) not in stored]
        store.insert_schemes(session, new, who)
        for scheme in new:
            store.record_scheme_change(session, who, "import", None, scheme)
        for scheme in schemes:
            current = stored.get((scheme.year, scheme.reference))
            if current is None:
                continue
            if current == scheme:
                unchanged += 1
                continue
            saved = store.replace_scheme(session, scheme, current.version, who)
            store.record_scheme_change(session, who, "import", current, saved)
            updated += 1
        created = len(new)
        _save_targets(session, targets, who)
    return WorkbookImport(path.name, created, updated, unchanged, len(targets))


def _save_targets(session: StoreSession, targets: Sequence[SavingsTarget], who: str) -> None:
    before = {(target.org_code, target.year): target for target in store.load_targets(session)}
    store.save_targets(session, targets)
    for target in targets:
        old = before.get((target.org_code, target.year))
        if old != target:
            store.record_change(
                session,
                who,
                "target",
                f"{target.year.label} {target.org_code}",
                "set",
                target_to_data(old) if old else None,
                target_to_data(target),
            )


def export_workbook(workspace: Workspace, path: Path, year: FinancialYear, org_code: str | None = None) -> int:
    codes = _scope(workspace, org_code)
    with workspace.store.reading() as session:
        schemes = store.load_schemes(session, year, codes)
        targets = [t for t in store.load_targets(session) if codes is None or t.org_code in codes]
    write_savings_workbook(path, schemes, targets)
    return len(schemes)


@dataclass(frozen=True)
class SchemeView:
    scheme: Scheme
    rag: RagAssessment
    evidence: Evidence | None = None  # delivery evidenced from the scheme's measure, where it names one


def list_schemes(
    workspace: Workspace,
    as_at: FinancialMonth,
    org_code: str | None = None,
    workstream: str | None = None,
    status: str | None = None,
    rag: str | None = None,
) -> list[SchemeView]:
    codes = _scope(workspace, org_code)
    with workspace.store.reading() as session:
        schemes = store.load_schemes(session, as_at.year, codes)
    evidenced = scheme_evidence.schemes_evidence(workspace, schemes, as_at)
    views = [
        SchemeView(scheme, assess_rag(scheme, as_at.number), evidenced.get(scheme.reference)) for scheme in schemes
    ]
    return [
        view
        for view in views
        if (workstream is None or view.scheme.workstream.value == workstream)
        and (status is None or view.scheme.status.value == status)
        and (rag is None or view.rag.rag.value == rag)
    ]


def show_scheme(workspace: Workspace, year: FinancialYear, reference: str) -> tuple[Scheme, list[store.AuditEntry]]:
    with workspace.store.reading() as session:
        scheme = store.load_scheme(session, year, reference)
        if scheme is None:
            raise SchemeNotFound(f"no scheme {reference} in {year}")
        return scheme, store.history(session, "scheme", f"{year.label} {reference}")


@dataclass(frozen=True)
class SchemeChanges:
    """What one person changes in one edit; months are 1..12."""

    status: SchemeStatus | None = None
    confidence: Decimal | None = None
    title: str | None = None
    lead: str | None = None
    forecast: Mapping[int, Pence | None] = field(default_factory=dict)
    delivered: Mapping[int, Pence | None] = field(default_factory=dict)
    rag_override: Rag | None = None
    rag_override_reason: str | None = None
    clear_rag_override: bool = False

    def apply(self, scheme: Scheme) -> Scheme:
        forecast, delivered = list(scheme.forecast), list(scheme.delivered)
        for month, value in self.forecast.items():
            forecast[month - 1] = value
        for month, value in self.delivered.items():
            delivered[month - 1] = value
        changes: dict[str, object] = {"forecast": tuple(forecast), "delivered": tuple(delivered)}
        for name in ("status", "confidence", "title", "lead"):
            if getattr(self, name) is not None:
                changes[name] = getattr(self, name)
        if self.clear_rag_override:
            changes.update(rag_override=None, rag_override_reason="")
        elif self.rag_override is not None:
            changes.update(rag_override=self.rag_override, rag_override_reason=self.rag_override_reason or "")
        return scheme.with_changes(**changes)

    def as_data(self) -> dict[str, object]:
        """The fields this edit sets, as a document shows them (months as ``M01``..``M12``)."""
        return {
            name: value
            for name, value in (
                ("status", self.status.value if self.status else None),
                ("confidence", str(self.confidence) if self.confidence is not None else None),
                ("title", self.title),
                ("lead", self.lead),
                ("forecast_pence", {f"M{m:02d}": v for m, v in self.forecast.items()} or None),
                ("delivered_pence", {f"M{m:02d}": v for m, v in self.delivered.items()} or None),
                ("rag_override", self.rag_override.value if self.rag_override else None),
                ("rag_override_reason", self.rag_override_reason),
                ("clear_rag_override", True if self.clear_rag_override else None),
            )
            if value is not None
        }


def update_scheme(
    workspace: Workspace,
    year: FinancialYear,
    reference: str,
    expected_version: int,
    changes: SchemeChanges,
    who: str,
) -> Scheme:
    """Apply one person's changes to the version they started from; a later save by someone else raises
    ``VersionConflict`` (carrying the current scheme) and nothing is stored. An edit that breaks the scheme rules
    raises ``SchemeRefused`` naming each field, and nothing is stored either."""
    found = reference_fault(reference)
    if found is not None:
        raise SchemeRefused(reference[:60], [found])
    with workspace.store.transaction() as session:
        current = store.load_scheme(session, year, reference)
        if current is None:
            raise SchemeNotFound(f"no scheme {reference} in {year}")
        if current.version != expected_version:
            raise VersionConflict(reference, expected_version, current)
        edited = changes.apply(current)
        faults = edit_faults(current, edited, edit_window(workspace, session, year))
        if faults:
            raise SchemeRefused(reference, faults)
        if edited == current:
            return current
        saved = store.replace_scheme(session, edited, expected_version, who)
        store.record_scheme_change(session, who, "update", current, saved)
        return saved


def set_target(workspace: Workspace, target: SavingsTarget, who: str) -> None:
    with workspace.store.transaction() as session:
        if target.org_code not in repository.org_tree(session):
            raise NotFound(f"unknown organisation {target.org_code!r}")
        _save_targets(session, [target], who)


def close_month(workspace: Workspace, as_at: FinancialMonth, who: str) -> int:
    """Freeze every scheme's plan and forecast as at the month; a month closes once and stays as closed, unless
    reopened (to correct its ledger), when closing it again records the close and keeps the first snapshot.
    Each close (and close again) also records the month's forecast history, replacing the month's earlier record."""
    with workspace.store.transaction() as session:
        if store.close_exists(session, as_at.year, as_at.number):
            closed = _close_again(session, as_at, who)
            forecast_history.record_month(session, workspace, as_at, who)
            return closed
        forecast_history.record_month(session, workspace, as_at, who)
        schemes = store.load_schemes(session, as_at.year)
        snapshots = [snapshot(scheme, as_at.number) for scheme in schemes]
        store.create_close(session, as_at.year, as_at.number, who, snapshots, schemes)
        store.record_change(
            session, who, "close", f"{as_at.year.label} {as_at.label}", "close-month", None, {"schemes": len(schemes)}
        )
    return len(schemes)


def _close_again(session: StoreSession, as_at: FinancialMonth, who: str) -> int:
    """Close a reopened month again (its first close's snapshot stands: a close never changes)."""
    if (as_at.year.start_year, as_at.number) in repository.closed_months(session):
        raise CloseRefused(f"{as_at} is already closed: closes cannot be changed")
    repository.record_month_status(session, as_at.year.start_year, as_at.number, "close", who, "")
    store.record_change(session, who, "close", f"{as_at.year.label} {as_at.label}", "close-again", None, None)
    return len(store.close_snapshots(session, as_at.year, as_at.number) or [])


def reopen_month(workspace: Workspace, as_at: FinancialMonth, who: str, reason: str) -> None:
    """Reopen a closed month so its ledger can be corrected; recorded with who, when and why."""
    if not reason.strip():
        raise ReasonMissing(f"a reason is needed to reopen {as_at}")
    key = (as_at.year.start_year, as_at.number)
    with workspace.store.transaction() as session:
        if key not in repository.closed_months(session):
            state = "reopened already" if store.close_exists(session, as_at.year, as_at.number) else "not closed"
            raise CloseRefused(f"{as_at} is {state}: only a closed month can be reopened")
        repository.record_month_status(session, *key, "reopen", who, reason.strip())
        store.record_change(
            session, who, "close", f"{as_at.year.label} {as_at.label}", "reopen", None, {"reason": reason.strip()}
        )


@dataclass(frozen=True)
class MonthStatusChange:
    month: FinancialMonth
    action: str  # "reopen" or "close" (closed again)
    at: datetime
    who: str
    reason: str


def closed_months(workspace: Workspace) -> frozenset[FinancialMonth]:
    """The months closed now: closed, and not reopened since they were last closed."""
    with workspace.store.reading() as session:
        found = repository.closed_months(session)
    return frozenset(FinancialMonth(FinancialYear(year), month) for year, month in found)


def month_status_changes(workspace: Workspace) -> list[MonthStatusChange]:
    """Every reopen (with its reason) and close again, oldest first."""
    with workspace.store.reading() as session:
        changes = repository.month_status_changes(session)
    return [
        MonthStatusChange(FinancialMonth(FinancialYear(year), month), action, at, who, reason)
        for year, month, action, at, who, reason in changes
    ]


def movement(workspace: Workspace, earlier: FinancialMonth, later: FinancialMonth) -> tuple[Movement, ...]:
    """What changed between two month-end closes, scheme by scheme."""
    with workspace.store.reading() as session:
        before = store.close_snapshots(session, earlier.year, earlier.number)
        after = store.close_snapshots(session, later.year, later.number)
    for month, found in ((earlier, before), (later, after)):
        if found is None:
            raise MonthNotClosed(month)
    assert before is not None and after is not None
    return movements(before, after)


def savings_rollup(
    workspace: Workspace, as_at: FinancialMonth, level: RollupLevel, org_code: str | None = None
) -> tuple[RollupRow, ...]:
    codes = _scope(workspace, org_code)
    with workspace.store.reading() as session:
        tree = repository.org_tree(session)
        schemes = store.load_schemes(session, as_at.year, codes)
        targets = [
            target for target in store.load_targets(session, as_at.year) if codes is None or target.org_code in codes
        ]
    return rollup(schemes, targets, tree, as_at.number, level)
