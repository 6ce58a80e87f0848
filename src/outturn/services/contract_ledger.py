"""Contracts and the ledger: importing the mapping of contracts to ledger lines, resolving each contract's lines
(stored, else by the provider's code in the line's name), and the contract forecasts the ``contract`` forecast
method gives those lines (every contract's statement, priced once and kept while the data they read stand)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path

from outturn.domain.contract_ledger import (
    ContractKey,
    ContractLinks,
    ContractMapError,
    LedgerLink,
    contract_line_owners,
    resolve_links,
)
from outturn.domain.ledger import CategoryLineKey
from outturn.domain.money import Pence
from outturn.domain.periods import FinancialMonth
from outturn.domain.problems import ProblemsError
from outturn.ingest.contract_map import line_name_key, read_contract_map
from outturn.services import imports
from outturn.services.contracts import ContractStatement, contract_statements
from outturn.services.workspace import Workspace
from outturn.store import contracts_repository, repository
from outturn.store.database import StoreSession

IMPORT_KIND = "contract map"


def _link_content(link: LedgerLink) -> tuple[str, str, str, str, str]:
    return link.provider, link.commissioner, link.category.value, link.line, link.element


def import_contract_map(
    workspace: Workspace, path: Path, *, replace: bool = False, who: str = ""
) -> imports.ImportSummary:
    """The file's links replace the stored mapping of each commissioner it names; a file that would remove or
    change a stored link needs ``replace`` (and shows what it replaces). Recorded in the import log."""
    sha256 = imports.sha256_of(path)
    with workspace.store.reading() as session:
        contracts = contracts_repository.contract_keys(session)
        lines = {
            (org, category, line_name_key(line)): line
            for org, category, line in contracts_repository.ledger_line_keys(session)
        }
    links, problems = read_contract_map(path, contracts=contracts, ledger_lines=lines)
    if problems:
        raise ProblemsError(problems, f"{path.name} was not imported: {len(problems)} problem(s), nothing stored")
    commissioners = sorted({link.commissioner for link in links})
    with workspace.store.transaction() as session:
        stored = contracts_repository.load_ledger_links(session, commissioners)
        removed = set(map(_link_content, stored)) - set(map(_link_content, links))
        replaces = {
            "commissioners": len(commissioners),
            "links_before": len(stored),
            "links_after": len(links),
            "links_removed_or_changed": len(removed),
        }
        what = f"{len(removed)} stored link(s) of contracts to ledger lines"
        imports.refuse_unless_replace(path, sha256, what, replaces, removes=bool(removed), replace=replace)
        repository.record_import(
            session,
            IMPORT_KIND,
            path.name,
            sha256,
            len(links),
            who=who,
            replaced_rows=len(stored),
            totals={"links": len(links)},
            replaced_totals={"links": len(stored)},
        )
        contracts_repository.replace_ledger_links(session, links)
    return imports.ImportSummary(IMPORT_KIND, path.name, len(links), len(stored))


def contract_links(session: StoreSession, contracts: Iterable[ContractKey]) -> list[ContractLinks]:
    """Each contract's ledger lines: the stored mapping, else the commissioner's one line naming the provider."""
    chosen = list(contracts)
    commissioners = sorted({commissioner for _provider, commissioner in chosen})
    return resolve_links(
        chosen,
        contracts_repository.load_ledger_links(session, commissioners),
        contracts_repository.ledger_line_keys(session, commissioners),
    )


def check_contract_line(session: StoreSession, line: CategoryLineKey) -> None:
    """Bad input unless the ledger line carries a contract's value (mapped, or by default): what the ``contract``
    forecast method needs."""
    org_code, category, subcategory = line
    resolved = contract_links(
        session, sorted(k for k in contracts_repository.contract_keys(session) if k[1] == org_code)
    )
    if line not in contract_line_owners(resolved):
        raise ContractMapError(
            f"{org_code} {category.value} / {subcategory} carries no contract's value, so it cannot be forecast by "
            "the contract method: map a contract to it first",
            needs="contract-map",
        )


# --- every contract's statement, priced once and cached by the data it reads ---------------------------------

_CACHE_SIZE = 8
_cache: OrderedDict[Hashable, tuple[ContractStatement, ...]] = OrderedDict()
_cache_lock = threading.Lock()


def _data_key(workspace: Workspace, as_at: FinancialMonth) -> Hashable:
    """What every contract's statement depends on: the workspace, the month and the stamps of its data (imports
    of contracts, activity, the contract map and the ledger; audited changes), as the web's page cache has them;
    a kind not known here counts, so what a later kind of data changes is never missed."""
    from outturn.services.web import CLOSES, OVERRIDES, SAVINGS, data_stamps  # web reads the position, which reads this

    unread = {SAVINGS, CLOSES, OVERRIDES, "plan", "risks", "prescribing"}  # kinds no statement reads
    stamps = data_stamps(workspace)
    return (str(workspace.path), str(as_at), tuple(sorted((k, repr(v)) for k, v in stamps.items() if k not in unread)))


def every_statement(workspace: Workspace, as_at: FinancialMonth) -> tuple[ContractStatement, ...]:
    """Every contract's statement for the year of ``as_at`` (none when no contract is held), the activity
    priced once for all of them; kept while the data they read stand."""
    return _cached(_data_key(workspace, as_at), lambda: _statements(workspace, as_at))


def _statements(workspace: Workspace, as_at: FinancialMonth) -> tuple[ContractStatement, ...]:
    with workspace.store.reading() as session:
        if not contracts_repository.load_contracts(session, as_at.year):
            return ()
    return tuple(contract_statements(workspace, None, as_at))


def _cached(key: Hashable, compute: Callable[[], tuple[ContractStatement, ...]]) -> tuple[ContractStatement, ...]:
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    found = compute()
    with _cache_lock:
        _cache[key] = found
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return found


def line_contract_forecasts(workspace: Workspace, as_at: FinancialMonth) -> dict[CategoryLineKey, Pence]:
    """The forecast outturn of the contract whose value each ledger line carries (its ``contract`` line)."""
    by_contract = statements_by_contract(every_statement(workspace, as_at))
    with workspace.store.reading() as session:
        resolved = contract_links(session, by_contract)
    return {
        link.line_key: by_contract[link.contract_key].forecast_pence
        for found in resolved
        for link in found.contract_lines
    }


def statements_by_contract(statements: Sequence[ContractStatement]) -> dict[ContractKey, ContractStatement]:
    return {(s.contract.provider, s.contract.commissioner): s for s in statements}
