"""Commentary on ledger lines, per line per month: list a budget holder's lines with their commentary (and last
month's, offered for reuse), write one, copy last month's, import a file of them; and the digest the board pack's
narrative quotes.

Every write is its own transaction with its audit entry (entity "commentary", the commentary before and after),
saved with optimistic concurrency like savings schemes: a write names the version it started from (0 for a line
with none yet) and is refused when the stored one has moved on. A write restricted to a budget holder (the web's
budget holder users) is refused for a line that is not theirs as if the line did not exist.

The rules of the commentary itself (its text, the order of lines, what the pack quotes) are in
``outturn.domain.commentary``; the lines and whether each needs commentary come from ``services.budget_holders``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from outturn.domain.commentary import (
    Commentary,
    CommentaryClosed,
    CommentaryConflict,
    CommentaryDigest,
    CommentaryError,
    CommentedLine,
    clean_text,
    commentary_order,
    pack_digest,
)
from outturn.domain.errors import BadInput, NotFound
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.problems import Problem, ProblemsError
from outturn.domain.trial_balance import BudgetHolderLine, TrialBalanceLineKey
from outturn.ingest.commentary import read_commentary
from outturn.reports.audit import audit_trail
from outturn.reports.commentary import commentary_document, commentary_import_document, commentary_list_document
from outturn.services.budget_holders import budget_holder_report
from outturn.services.imports import sha256_of
from outturn.services.workspace import Workspace
from outturn.store import commentary_repository as store
from outturn.store import repository
from outturn.store.savings_repository import history, record_change

__all__ = [
    "AUDIT_ENTITY",
    "CommentaryClosed",
    "CommentaryConflict",
    "CommentaryDigest",
    "CommentaryError",
    "TrialBalanceLineKey",
    "commentary_history",
    "commentary_list",
    "copy_last_month",
    "import_commentary",
    "pack_commentary",
    "write_commentary",
]

AUDIT_ENTITY = "commentary"
AUDIT_KEY_LENGTH = 120  # the audit log's key column


def audit_key(key: TrialBalanceLineKey, month: FinancialMonth) -> str:
    """The audit log's key of a line's commentary for a month: ``2025/26 M06 01A acute / Trust A`` (cut to the
    column's width; the entry's before and after name the line in full)."""
    return f"{month.year.label} {month.label} {key.label}"[:AUDIT_KEY_LENGTH]


def _previous(month: FinancialMonth) -> FinancialMonth:
    """Last month: M12 of the year before for M01 (a line's commentary carries over the year end)."""
    return (
        month.year.month(month.number - 1) if month.number > 1 else FinancialYear(month.year.start_year - 1).month(12)
    )


def _same_holder(line: BudgetHolderLine, holder: str | None) -> bool:
    return holder is None or line.budget_holder.casefold() == holder.casefold()


def commented_lines(
    workspace: Workspace, as_at: str | None = None, holder: str | None = None, org_code: str | None = None
) -> tuple[FinancialMonth, tuple[CommentedLine, ...]]:
    """The month, and the lines of ``holder`` (None: every line) with the month's commentary and last month's,
    those needing commentary first, the largest forecast variance first."""
    report = budget_holder_report(workspace, holder, as_at, org_code)
    month = report.as_at
    orgs = {line.key.org_code for line in report.lines}
    before = _previous(month)
    with workspace.store.reading() as session:
        this_month = store.month_commentary(session, month, orgs)
        last_month = store.month_commentary(session, before, orgs)
    items = (CommentedLine(line, this_month.get(line.key), last_month.get(line.key)) for line in report.lines)
    return month, commentary_order(items)


def commentary_list(
    workspace: Workspace, as_at: str | None = None, holder: str | None = None, org_code: str | None = None
) -> dict[str, Any]:
    """``outturn commentary list --format json`` and ``/api/commentary``."""
    month, items = commented_lines(workspace, as_at, holder, org_code)
    with workspace.store.reading() as session:
        closed = _is_closed(session, month)
    return commentary_list_document(month, holder, items, closed)


def _line(
    workspace: Workspace, key: TrialBalanceLineKey, as_at: str | None, holder: str | None
) -> tuple[FinancialMonth, Any]:
    month, items = commented_lines(workspace, as_at, None, key.org_code)
    found = [item for item in items if item.line.key == key and _same_holder(item.line, holder)]
    if not found:
        whose = f" among {holder}'s lines" if holder is not None else ""
        raise NotFound(f"no ledger line {key.label}{whose} as at {month.calendar_label}")
    return month, found[0]


def _is_closed(session: Any, month: FinancialMonth) -> bool:
    """Whether the month is closed now (closed and not reopened since): its commentary is then read-only."""
    return (month.year.start_year, month.number) in repository.closed_months(session)


def _save(
    workspace: Workspace, key: TrialBalanceLineKey, month: FinancialMonth, text: str, expected: int, who: str
) -> Commentary:
    with workspace.store.transaction() as session:
        if _is_closed(session, month):
            raise CommentaryClosed(month)
        before = store.load_commentary(session, key, month)
        if (before.version if before else 0) != expected:
            raise CommentaryConflict(key, month, expected, before)
        stored = store.save_commentary(session, key, month, text, who, expected)
        before_document = commentary_document(before) if before else None
        action = "write" if before is None else "rewrite"
        record_change(
            session, who, AUDIT_ENTITY, audit_key(key, month), action, before_document, commentary_document(stored)
        )
    return stored


def write_commentary(
    workspace: Workspace,
    key: TrialBalanceLineKey,
    as_at: str | None,
    text: str,
    expected_version: int,
    who: str,
    holder: str | None = None,
) -> dict[str, Any]:
    """Write the line's commentary for the month (the workspace's unless given) if it is still at
    ``expected_version`` (0: none yet); ``holder``: only on that budget holder's lines."""
    cleaned = clean_text(text)
    month, _item = _line(workspace, key, as_at, holder)
    return commentary_document(_save(workspace, key, month, cleaned, expected_version, who))


def copy_last_month(
    workspace: Workspace,
    key: TrialBalanceLineKey,
    as_at: str | None,
    expected_version: int,
    who: str,
    holder: str | None = None,
) -> dict[str, Any]:
    """Last month's commentary on the line, written again as this month's (a new version, by ``who``)."""
    month, item = _line(workspace, key, as_at, holder)
    if item.last_month is None:
        raise NotFound(f"no commentary on {key.label} last month to copy")
    return commentary_document(_save(workspace, key, month, item.last_month.text, expected_version, who))


def commentary_history(workspace: Workspace, key: TrialBalanceLineKey, as_at: str | None = None) -> dict[str, Any]:
    """The line's commentary for the month as it stands, and every change to it from the audit trail."""
    month = workspace.month(as_at)
    with workspace.store.reading() as session:
        current = store.load_commentary(session, key, month)
        entries = history(session, AUDIT_ENTITY, audit_key(key, month))
    return {
        "commentary": commentary_document(current) if current else None,
        "history": audit_trail(entries),
    }


def _known_lines(
    workspace: Workspace, wanted: set[tuple[str, FinancialMonth]]
) -> set[tuple[TrialBalanceLineKey, FinancialMonth]]:
    """The lines the ledger holds for each organisation and month asked about (none where it has no position)."""
    known: set[tuple[TrialBalanceLineKey, FinancialMonth]] = set()
    for org_code, month in sorted(wanted, key=lambda pair: (pair[0], pair[1].number)):
        try:
            report = budget_holder_report(workspace, None, month.calendar_label, org_code)
        except BadInput:  # no ledger or plan for the organisation: it holds no lines to comment on
            continue
        known.update((line.key, month) for line in report.lines)
    return known


def import_commentary(workspace: Workspace, path: Path, as_at: str | None, who: str) -> dict[str, Any]:
    """Each row's commentary written as its line's for its month (a new version where there is one): the whole file
    or, when any row is at fault (a bad cell, a line the ledger does not hold), nothing."""
    year = workspace.month(as_at).year
    with workspace.store.reading() as session:
        orgs = set(repository.org_tree(session).by_code)
    rows, problems = read_commentary(path, year=year, known_org_codes=orgs)
    known = _known_lines(workspace, {(row.key.org_code, year.month(row.month)) for row in rows})
    problems.extend(
        Problem(path.name, f"the ledger holds no line {row.key.label} in M{row.month:02d} {year.label}", row=row.row)
        for row in rows
        if (row.key, year.month(row.month)) not in known
    )
    with workspace.store.reading() as session:
        closed = {month for start_year, month in repository.closed_months(session) if start_year == year.start_year}
    problems.extend(
        Problem(
            path.name, f"M{row.month:02d} {year.label} is closed: its commentary cannot be changed", row.row, "month"
        )
        for row in rows
        if row.month in closed
    )
    if problems:
        raise ProblemsError(problems, f"{path.name} was not imported: {len(problems)} problem(s), nothing stored")
    stored: list[Commentary] = []
    with workspace.store.transaction() as session:
        repository.record_import(session, "commentary", path.name, sha256_of(path), len(rows), who=who)
        for row in rows:
            month = year.month(row.month)
            before = store.load_commentary(session, row.key, month)
            saved = store.save_commentary(session, row.key, month, row.text, who, before.version if before else 0)
            before_document = commentary_document(before) if before else None
            record_change(
                session, who, AUDIT_ENTITY, audit_key(row.key, month), "import", before_document,
                commentary_document(saved),
            )  # fmt: skip
            stored.append(saved)
    return commentary_import_document(path.name, year.label, stored)


def pack_commentary(workspace: Workspace, org_code: str, as_at: str) -> CommentaryDigest:
    """What the board pack's narrative quotes: the commentary on the organisation's largest variances above the
    threshold, and the lines above it with none."""
    _month, items = commented_lines(workspace, as_at, None, org_code)
    return pack_digest(items)
