"""Importing a trial balance through its mapping, and loading the mapping itself (versioned, audited).

A trial balance lands whole or not at all: every row must be readable, every cost centre x subjective code must
be mapped (else one error lists each unmapped code with its budget and actual, and nothing is stored, the mapping
given with it included), and the months it names follow the ledger's replace and closed-month rules (a re-import
shows what it replaces). A mapping given with the trial balance is stored as a new version in the same
transaction; without one, the newest stored version applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from outturn.domain.errors import BadInput, NotFound
from outturn.domain.ledger_mapping import (
    LedgerMapping,
    MappedTrialBalance,
    MappingVersion,
    UnmappedCode,
    map_trial_balance,
    unmapped_message,
)
from outturn.domain.problems import ProblemsError
from outturn.ingest.ledger import first_spelling
from outturn.ingest.trial_balance import read_mapping, read_trial_balance
from outturn.services.imports import (
    ImportSummary,
    Progress,
    check_expected_file,
    no_progress,
    sha256_of,
    store_ledger_lines,
)
from outturn.services.workspace import Workspace
from outturn.store import repository
from outturn.store import trial_balance_repository as tb_store
from outturn.store.database import StoreSession


class UnmappedCodes(BadInput):
    """Trial-balance lines whose cost centre and subjective code no rule of the mapping covers."""

    def __init__(self, unmapped: tuple[UnmappedCode, ...], source: str) -> None:
        super().__init__(unmapped_message(unmapped, source), needs="ledger-mapping")
        self.unmapped = unmapped


class MappingError(BadInput):
    """A mapping that cannot be used: no mapping loaded, or one giving a cost centre two budget holders."""


# look-alike of reports/narrative.py:RegisterLine (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class MappingSummary:
    version: int
    source: str
    rules: int


@dataclass(frozen=True)
class _ReadMapping:
    mapping: LedgerMapping
    parents: dict[str, str]
    source: str
    sha256: str


def _read_mapping(path: Path, sheet: str | None = None) -> _ReadMapping:
    mapping, parents, problems = read_mapping(path, sheet=sheet)
    if problems:
        raise ProblemsError(problems, f"{path.name} was not loaded: {len(problems)} problem(s), nothing stored")
    if not mapping.rules:
        raise MappingError(f"{path.name} holds no mapping rules")
    return _ReadMapping(mapping, parents, path.name, sha256_of(path))


def _save(read: _ReadMapping, who: str) -> Callable[[StoreSession], int]:
    def save(session: StoreSession) -> int:
        return tb_store.save_mapping(
            session, read.mapping, read.parents, who=who, file_name=read.source, checksum=read.sha256
        )

    return save


def import_mapping(workspace: Workspace, path: Path, *, who: str = "", sheet: str | None = None) -> MappingSummary:
    """Load the mapping in ``path`` as the next version; it applies to trial balances imported from now on."""
    read = _read_mapping(path, sheet)
    with workspace.store.transaction() as session:
        version = _save(read, who)(session)
    return MappingSummary(version, read.source, len(read.mapping.rules))


def current_mapping(workspace: Workspace) -> MappingVersion:
    with workspace.store.reading() as session:
        found = tb_store.current_mapping(session)
    if found is None:
        raise NotFound("no ledger mapping has been loaded", needs="ledger-mapping")
    return found


def mapping_versions(workspace: Workspace) -> list[tuple[int, object, str, str, int]]:
    """(version, loaded at, by whom, file, rules) of every version loaded, newest first."""
    with workspace.store.reading() as session:
        return list(tb_store.mapping_versions(session))


def _mapped(
    workspace: Workspace, path: Path, read: _ReadMapping | None, sheet: str | None, header_row: int | None
) -> MappedTrialBalance:
    with workspace.store.reading() as session:
        known = repository.org_tree(session).by_code
        stored = tb_store.current_mapping(session) if read is None else None
        spellings: dict[str, str] = {}
        for spelt in repository.ledger_subcategories(session):
            first_spelling(spelt, spellings)
    if read is not None:
        mapping, parents = read.mapping, read.parents
    elif stored is not None:
        mapping, parents = stored.mapping, dict(stored.parents)
    else:
        raise MappingError(
            f"{path.name} was not imported: no ledger mapping has been loaded; give one with the trial balance",
            needs="ledger-mapping",
        )
    rows, problems = read_trial_balance(path, known_org_codes=known, sheet=sheet, header_row=header_row)
    if problems:
        raise ProblemsError(problems, f"{path.name} was not imported: {len(problems)} problem(s), nothing stored")
    mapped = map_trial_balance(rows, mapping, parents, lambda text: first_spelling(text, spellings))
    if mapped.unmapped:
        raise UnmappedCodes(mapped.unmapped, path.name)
    if mapped.holder_conflicts:
        raise MappingError(f"{path.name} was not imported: " + "; ".join(mapped.holder_conflicts) + "; nothing stored")
    return mapped


# look-alike of services/imports.import_ledger's signature: declarative, the same import options and the mapping file.
def import_trial_balance(
    workspace: Workspace,
    path: Path,
    *,
    mapping_path: Path | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    replace: bool = False,
    expected_sha256: str | None = None,
    who: str = "",
    progress: Progress = no_progress,
) -> ImportSummary:
    """Replace, for each organisation and month in the trial balance, that month's ledger with its lines mapped to
    categories (the mapping in ``mapping_path``, stored as a new version, else the newest stored)."""
    progress("reading")
    sha256 = sha256_of(path)
    check_expected_file(path, sha256, expected_sha256)
    read = _read_mapping(mapping_path) if mapping_path is not None else None
    mapped = _mapped(workspace, path, read, sheet, header_row)

    def also(session: StoreSession) -> None:
        if read is not None:
            _save(read, who)(session)
        tb_store.save_cost_centres(session, mapped.cost_centres)
        tb_store.save_subjective_descriptions(session, mapped.subjective_descriptions)

    return store_ledger_lines(
        workspace, path, sha256, mapped.lines, replace=replace, who=who, progress=progress, also=also
    )
