"""Loading organisations from NHS England's allocation files, ODS files or a user's CSV; listing them."""

from __future__ import annotations

from pathlib import Path

from outturn.domain.errors import BadInput
from outturn.domain.organisations import Organisation, OrgKind
from outturn.ingest.organisations import (
    find_allocation_file,
    read_allocation_hierarchy,
    read_ods_practice_map,
    read_ods_trusts,
)
from outturn.services.workspace import Workspace
from outturn.store import repository

TRUSTS_FILE = Path("ods") / "etr_2022.csv"


def _is_ods_practice_map(path: Path) -> bool:
    with path.open(encoding="utf-8-sig") as handle:
        header = handle.readline().upper()
    return "PRACTICE_CODE" in header and "COMM_REGION_CODE" in header


def load_reference_organisations(workspace: Workspace, allocation_file: Path | None = None) -> dict[str, int]:
    """Regions, ICBs, sub-ICB locations, PCNs and practices from NHS England's allocation file (or NHS
    Digital's practice mapping file, recognised by its header); NHS trusts from ODS."""
    reference_dir = workspace.settings.reference_dir
    if allocation_file is None:
        if reference_dir is None:
            raise BadInput("no reference-data directory", needs="allocation-file")
        try:
            allocation_file = find_allocation_file(reference_dir)
        except FileNotFoundError as error:
            raise BadInput(str(error)) from None
    if _is_ods_practice_map(allocation_file):
        organisations = read_ods_practice_map(allocation_file)
    else:
        organisations, _populations = read_allocation_hierarchy(allocation_file)
    trusts: list[Organisation] = []
    if reference_dir is not None and (reference_dir / TRUSTS_FILE).is_file():
        trusts = read_ods_trusts(reference_dir / TRUSTS_FILE)
    with workspace.store.transaction() as session:
        repository.upsert_organisations(session, organisations, source=allocation_file.name)
        repository.upsert_organisations(session, trusts, source=TRUSTS_FILE.name)
    counts: dict[str, int] = {}
    for org in [*organisations, *trusts]:
        counts[org.kind.value] = counts.get(org.kind.value, 0) + 1
    return counts


def list_organisations(
    workspace: Workspace, kind: OrgKind | None = None, under: str | None = None
) -> list[Organisation]:
    with workspace.store.reading() as session:
        tree = repository.org_tree(session)
    pool = tree.descendants(under.upper()) if under else tuple(tree.by_code.values())
    return sorted((org for org in pool if kind is None or org.kind is kind), key=lambda org: (org.kind, org.code))
