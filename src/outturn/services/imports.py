"""Importing files into the store: all of a file lands in one transaction, or none of it does."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from outturn.domain.organisations import Organisation
from outturn.domain.problems import Problem, ProblemsError
from outturn.ingest.ledger import read_ledger
from outturn.ingest.organisations import read_organisations_csv
from outturn.ingest.plans import read_plans, read_risks
from outturn.services.workspace import Workspace
from outturn.store import repository

T = TypeVar("T")


@dataclass(frozen=True)
class ImportSummary:
    kind: str
    source: str
    rows: int
    replaced_rows: int = 0
    periods: tuple[str, ...] = ()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _accept(records: Sequence[T], problems: Sequence[Problem], path: Path) -> Sequence[T]:
    if problems:
        raise ProblemsError(problems, f"{path.name} was not imported: {len(problems)} problem(s), nothing stored")
    return records


def _known_org_codes(workspace: Workspace) -> Mapping[str, Organisation]:
    """The organisations loaded, by code (a collection of the codes, and their kinds and parents)."""
    with workspace.store.reading() as session:
        return repository.org_tree(session).by_code


def import_ledger(
    workspace: Workspace, path: Path, *, sheet: str | None = None, header_row: int | None = None
) -> ImportSummary:
    """Replace, for each organisation and month in the file, that month's ledger with the file's lines."""
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
    with workspace.store.transaction() as session:
        record = repository.record_import(session, "ledger", path.name, _sha256(path), len(lines))
        replaced = repository.replace_ledger_months(session, lines, record.id)
    periods = sorted({f"{line.org_code} {line.year} M{line.month:02d}" for line in lines})
    return ImportSummary("ledger", path.name, len(lines), replaced, tuple(periods))


def import_plans(workspace: Workspace, path: Path) -> ImportSummary:
    plans = _accept(*read_plans(path, known_org_codes=_known_org_codes(workspace)), path)
    with workspace.store.transaction() as session:
        repository.record_import(session, "plan", path.name, _sha256(path), len(plans))
        for plan in plans:
            repository.save_plan(session, plan)
    return ImportSummary("plan", path.name, len(plans), periods=tuple(f"{p.org_code} {p.year}" for p in plans))


def import_risks(workspace: Workspace, path: Path) -> ImportSummary:
    """Replace the risk register of each organisation and year in the file."""
    items = _accept(*read_risks(path, known_org_codes=_known_org_codes(workspace)), path)
    with workspace.store.transaction() as session:
        repository.record_import(session, "risks", path.name, _sha256(path), len(items))
        repository.replace_risks(session, items)
    return ImportSummary("risks", path.name, len(items))


def import_organisations(workspace: Workspace, path: Path) -> ImportSummary:
    organisations = read_organisations_csv(path, known=_known_org_codes(workspace))
    with workspace.store.transaction() as session:
        repository.record_import(session, "organisations", path.name, _sha256(path), len(organisations))
        count = repository.upsert_organisations(session, organisations, source=path.name)
    return ImportSummary("organisations", path.name, count)
