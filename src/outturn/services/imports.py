"""Importing files into the store: all of a file lands in one transaction, or none of it does."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, Unpack

import pyarrow as pa

from outturn.domain.ledger import LedgerLine
from outturn.domain.ledger_replacement import LedgerReplacement, Side, compare_ledger
from outturn.domain.organisations import Organisation
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.plans import RiskItem
from outturn.domain.problems import Problem, ProblemsError
from outturn.ingest.ledger import read_ledger
from outturn.ingest.organisations import read_organisations_csv
from outturn.ingest.plans import read_plans, read_risks
from outturn.services.workspace import Workspace, reconcile_import_log
from outturn.store import repository
from outturn.store.database import StoreSession, StoreUnavailable
from outturn.store.repository import ImportDetails, ImportRecord

__all__ = [
    "FileChanged",
    "ImportRecord",
    "ImportRefused",
    "ImportSummary",
    "MonthClosed",
    "Progress",
    "ReplaceRequired",
    "check_expected_file",
    "import_history",
    "import_ledger",
    "import_organisations",
    "import_plans",
    "import_risks",
    "is_last_import",
    "ledger_periods",
    "no_progress",
    "refuse_unless_replace",
    "sha256_of",
    "store_ledger_lines",
    "store_warehouse_import",
    "warehouse_rows",
]

T = TypeVar("T")


@dataclass(frozen=True)
class ImportSummary:
    kind: str
    source: str
    rows: int
    replaced_rows: int = 0
    periods: tuple[str, ...] = ()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _accept(records: Sequence[T], problems: Sequence[Problem], path: Path) -> Sequence[T]:
    if problems:
        raise ProblemsError(problems, f"{path.name} was not imported: {len(problems)} problem(s), nothing stored")
    return records


def _known_org_codes(workspace: Workspace) -> Mapping[str, Organisation]:
    """The organisations loaded, by code (a collection of the codes, and their kinds and parents)."""
    with workspace.store.reading() as session:
        return repository.org_tree(session).by_code


accept_rows, known_org_codes = _accept, _known_org_codes  # for the importers in other service modules


class ImportRefused(Exception):
    """An import refused as asked (it would replace data, or change a closed month); nothing has been stored.

    ``replaces`` says what the file would replace: counts, and money as integer pence in fields ``*_pence``."""

    def __init__(self, message: str, source: str, sha256: str, replaces: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.source = source
        self.sha256 = sha256
        self.replaces = dict(replaces)

    def document(self) -> dict[str, Any]:
        return {"error": str(self), "source": self.source, "sha256": self.sha256, "replaces": self.replaces}


class ReplaceRequired(ImportRefused):
    """The file would remove stored lines: it needs an explicit replace, after its comparison has been seen."""


class MonthClosed(ImportRefused):
    """The file would change a closed month: the month must be reopened, with a reason, first."""


class FileChanged(ImportRefused):
    """The file confirmed is not the file whose comparison was shown."""


Progress = Callable[[str], None]


def check_expected_file(path: Path, sha256: str, expected_sha256: str | None) -> None:
    """Refuse a file that is not the one whose comparison was shown (when one was)."""
    if expected_sha256 is not None and expected_sha256 != sha256:
        raise FileChanged(
            f"{path.name} was not imported: it is not the file whose comparison was shown; nothing stored",
            path.name,
            sha256,
            {},
        )


def refuse_unless_replace(
    path: Path, sha256: str, what: str, replaces: Mapping[str, Any], *, removes: bool, replace: bool
) -> None:
    """Raise ``ReplaceRequired`` when the file would remove stored data (``removes``) and no replace was asked."""
    if removes and not replace:
        raise ReplaceRequired(
            f"{path.name} was not imported: it would replace {what}; nothing stored. Compare what it replaces, "
            "then import it again asking to replace",
            path.name,
            sha256,
            replaces,
        )


def no_progress(_stage: str) -> None:
    return None


def _periods(lines: Sequence[LedgerLine]) -> tuple[str, ...]:
    return tuple(sorted({f"{line.org_code} {line.year} M{line.month:02d}" for line in lines}))


def _month_names(months: Iterable[tuple[int, int]]) -> str:
    return ", ".join(str(FinancialMonth(FinancialYear(year), month)) for year, month in sorted(months))


def _check_replacement(
    session: StoreSession, path: Path, sha256: str, lines: Sequence[LedgerLine], replace: bool
) -> LedgerReplacement:
    """Compare the file with the stored months it names; raise when it changes a closed month, or removes
    stored lines without an explicit replace."""
    months = {(line.org_code, line.year.start_year, line.month) for line in lines}
    replacement = compare_ledger(repository.ledger_lines_in_months(session, months), lines)
    closed = repository.closed_months(session) & {(year, month) for _org, year, month in replacement.changed_months()}
    if closed:
        raise MonthClosed(
            f"{path.name} was not imported: it would change {_month_names(closed)}, which is closed; reopen the "
            "month, giving a reason, before importing it again; nothing stored",
            path.name,
            sha256,
            replacement.as_dict(),
        )
    if replacement.removed and not replace:
        raise ReplaceRequired(
            f"{path.name} was not imported: it would remove {replacement.removed} stored line(s) and change "
            f"{replacement.changed}; nothing stored. Compare what it replaces, then import it again asking to "
            "replace",
            path.name,
            sha256,
            replacement.as_dict(),
        )
    return replacement


def _totals(side: Side) -> dict[str, int]:
    return {"budget_pence": side.budget_pence, "actual_pence": side.actual_pence}


def import_ledger(
    workspace: Workspace,
    path: Path,
    *,
    sheet: str | None = None,
    header_row: int | None = None,
    replace: bool = False,
    expected_sha256: str | None = None,
    who: str = "",
    progress: Progress = no_progress,
) -> ImportSummary:
    """Replace, for each organisation and month in the file, that month's ledger with the file's lines.

    A file that would remove stored lines needs ``replace``; one that would change a closed month is refused until
    the month is reopened; ``expected_sha256`` (when given) must be the file's, so the file replaced is the file
    compared. Re-importing identical lines changes nothing but is recorded."""
    progress("reading")
    sha256 = sha256_of(path)
    check_expected_file(path, sha256, expected_sha256)
    with workspace.store.reading() as session:
        subcategories = repository.ledger_subcategories(session)
    read = read_ledger(
        path,
        known_org_codes=_known_org_codes(workspace),
        sheet=sheet,
        header_row=header_row,
        subcategories=subcategories,
    )
    lines = _accept(*read, path)
    return store_ledger_lines(workspace, path, sha256, lines, replace=replace, who=who, progress=progress)


def store_ledger_lines(
    workspace: Workspace,
    path: Path,
    sha256: str,
    lines: Sequence[LedgerLine],
    *,
    replace: bool = False,
    who: str = "",
    progress: Progress = no_progress,
    also: Callable[[StoreSession], None] | None = None,
) -> ImportSummary:
    """Store ``lines`` read from ``path`` as ``import_ledger`` does (the replace and closed-month rules, the
    import log), with ``also`` (when given) writing what goes with them in the same transaction."""
    progress("comparing")
    with workspace.store.transaction() as session:
        replacement = _check_replacement(session, path, sha256, lines, replace)
        progress("storing")
        if also is not None:
            also(session)
        record = repository.record_import(
            session,
            "ledger",
            path.name,
            sha256,
            len(lines),
            who=who,
            replaced_rows=replacement.before.lines,
            totals=_totals(replacement.after),
            replaced_totals=_totals(replacement.before),
        )
        replaced = repository.replace_ledger_months(session, lines, record.id)
    return ImportSummary("ledger", path.name, len(lines), replaced, _periods(lines))


def warehouse_rows(workspace: Workspace, name: str) -> int:
    """How many rows the warehouse table ``name`` holds (0 when there is no such table)."""
    backend = workspace.backend
    if not backend.has_table(name):
        return 0
    stored = backend.stored_table(name)
    return int(backend.to_rows(stored.aggregate(rows=stored.count()))[0]["rows"])


def is_last_import(workspace: Workspace, kind: str, sha256: str) -> bool:
    """Whether the newest import of ``kind`` was this very file (importing it again changes nothing)."""
    reconcile_import_log(workspace)
    with workspace.store.reading() as session:
        return repository.last_import_sha256(session, kind) == sha256


def store_warehouse_import(
    workspace: Workspace,
    tables: Mapping[str, pa.Table],
    kind: str,
    path: Path,
    sha256: str,
    rows: int,
    **details: Unpack[ImportDetails],
) -> None:
    """Store an import's data in the warehouse and record it: the record lands in the warehouse's import log in
    the data's own transaction, then is copied into the store's log. Should the process die between the two,
    opening the workspace copies it (``reconcile_import_log``): the data and its record land together or not at
    all, as the workspace is seen."""
    record = repository.new_import(kind, path.name, sha256, rows, **details)
    workspace.backend.store_tables(tables, log=record)
    try:
        with workspace.store.autocommit() as connection:
            repository.add_missing_imports(connection, [record])
    except StoreUnavailable as error:
        reason = str(error).removesuffix(": nothing was stored")
        raise StoreUnavailable(
            f"{path.name} was stored, but not yet in the store's import log ({reason}): it will be recorded there "
            "when the workspace is next opened"
        ) from error


def import_history(workspace: Workspace, limit: int | None = None) -> list[ImportRecord]:
    """Every recorded import, newest first."""
    reconcile_import_log(workspace)
    with workspace.store.reading() as session:
        return repository.list_imports(session, limit)


def ledger_periods(workspace: Workspace) -> list[tuple[str, int, int, int]]:
    """The months of ledger stored: (organisation, year's start, month number, lines), by organisation and month."""
    with workspace.store.reading() as session:
        return repository.ledger_periods(session)


def import_plans(workspace: Workspace, path: Path, *, who: str = "") -> ImportSummary:
    plans = _accept(*read_plans(path, known_org_codes=_known_org_codes(workspace)), path)
    sha256 = sha256_of(path)
    with workspace.store.transaction() as session:
        totals = {"recurrent_allocation_pence": sum(plan.recurrent_allocation_pence for plan in plans)}
        repository.record_import(session, "plan", path.name, sha256, len(plans), who=who, totals=totals)
        for plan in plans:
            repository.save_plan(session, plan)
    return ImportSummary("plan", path.name, len(plans), periods=tuple(f"{p.org_code} {p.year}" for p in plans))


def _risk_content(item: RiskItem) -> tuple[object, ...]:
    return (
        item.org_code,
        item.year.start_year,
        item.kind.value,
        item.description,
        item.value_pence,
        item.likelihood,
        item.category,
    )


def _risk_replacement(stored: Sequence[RiskItem], incoming: Sequence[RiskItem]) -> dict[str, int]:
    """Stored items of the file's registers against the file's: counts and values (pence) before and after."""
    removed = Counter(map(_risk_content, stored)) - Counter(map(_risk_content, incoming))
    return {
        "rows_before": len(stored),
        "rows_after": len(incoming),
        "rows_removed": sum(removed.values()),
        "value_before_pence": sum(item.value_pence for item in stored),
        "value_after_pence": sum(item.value_pence for item in incoming),
    }


def import_risks(
    workspace: Workspace,
    path: Path,
    *,
    replace: bool = False,
    expected_sha256: str | None = None,
    who: str = "",
) -> ImportSummary:
    """Replace the risk register of each organisation and year in the file; a file that would remove stored
    items (any not in it, as they stand) needs ``replace``."""
    sha256 = sha256_of(path)
    check_expected_file(path, sha256, expected_sha256)
    items = _accept(*read_risks(path, known_org_codes=_known_org_codes(workspace)), path)
    registers = sorted({(item.org_code, item.year.start_year) for item in items})
    with workspace.store.transaction() as session:
        stored = [
            found
            for org_code, year in registers
            for found in repository.risks_for(session, [org_code], FinancialYear(year))
        ]
        replaces = _risk_replacement(stored, items)
        removes = replaces["rows_removed"] > 0
        what = f"{replaces['rows_removed']} stored risk(s) or mitigation(s) of {len(registers)} register(s)"
        refuse_unless_replace(path, sha256, what, replaces, removes=removes, replace=replace)
        repository.record_import(
            session,
            "risks",
            path.name,
            sha256,
            len(items),
            who=who,
            replaced_rows=len(stored),
            totals={"value_pence": replaces["value_after_pence"]},
            replaced_totals={"value_pence": replaces["value_before_pence"]},
        )
        repository.replace_risks(session, items)
    return ImportSummary("risks", path.name, len(items), len(stored))


def import_organisations(workspace: Workspace, path: Path, *, who: str = "") -> ImportSummary:
    organisations = read_organisations_csv(path, known=_known_org_codes(workspace))
    sha256 = sha256_of(path)
    with workspace.store.transaction() as session:
        repository.record_import(session, "organisations", path.name, sha256, len(organisations), who=who)
        count = repository.upsert_organisations(session, organisations, source=path.name)
    return ImportSummary("organisations", path.name, count)
