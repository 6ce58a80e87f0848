"""The monthly financial return (``outturn return``): gather the month's board pack (``services.pack.gather_pack``,
the same service calls as ``outturn pack``) and retell it as the return (``reports.monthly_return``).

The return shows no simulated figure, so the pack it reads is gathered without the sections the return does not
show that can be skipped by asking (benchmarks, SPC charts, scenarios) and with a smaller simulation; every figure
the return does show (the position, the savings rollup, the risk register) is the same whatever those settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from outturn.domain.errors import BadInput
from outturn.reports.monthly_return import return_document
from outturn.reports.pack import BoardPack
from outturn.reports.pack_documents import pack_documents
from outturn.reports.return_xlsx import write_return_xlsx
from outturn.services.pack import PackRequest, gather_pack
from outturn.services.position import position_members, resolve_request
from outturn.services.workspace import Workspace
from outturn.store import repository

RETURN_TRIALS = 1_000  # the pack's simulation, which the return does not show: enough to run it, no more


@dataclass(frozen=True)
class ReturnRequest:
    org_code: str | None = None
    as_at: str | None = None
    method: str | None = None


def pack_request(request: ReturnRequest) -> PackRequest:
    return PackRequest(
        org_code=request.org_code,
        as_at=request.as_at,
        method=request.method,
        trials=RETURN_TRIALS,
        benchmark_measures=(),
        spc_measures=(),
    )


def return_of_pack(pack: BoardPack, built_at: datetime | None = None) -> dict[str, Any]:
    """The return read from a board pack already gathered (``outturn pack``'s)."""
    return return_document(pack, pack_documents(pack), built_at or datetime.now(UTC))


def check_month_reported(workspace: Workspace, request: ReturnRequest) -> None:
    """A return is made for a month the ledger reports: an unknown organisation, or one with no plan, fails as the
    position does; a month no ledger line of the organisation (or those under it) has an actual for fails here."""
    asked = resolve_request(workspace, request.org_code, request.as_at, request.method)
    _tree, org, members = position_members(workspace, asked)
    month = asked.as_at
    with workspace.store.reading() as session:
        rows = repository.ledger_rows(session, members, [month.year.start_year])
    if not any(row["month"] == month.number and row["actual_pence"] is not None for row in rows):
        raise BadInput(
            f"no ledger actuals for {org.code} in {month.label} {month.year.label} ({month.name} "
            f"{month.calendar_year}): the return is made for a month the ledger reports; import that month's ledger"
        )


def monthly_return(workspace: Workspace, request: ReturnRequest = ReturnRequest()) -> dict[str, Any]:
    """The month's return as its JSON document (pence)."""
    check_month_reported(workspace, request)
    return return_of_pack(gather_pack(workspace, pack_request(request)))


def write_monthly_return(workspace: Workspace, out: Path, request: ReturnRequest = ReturnRequest()) -> dict[str, Any]:
    """The return, written as a workbook at ``out``; returns its document."""
    document = monthly_return(workspace, request)
    write_return_xlsx(document, out)
    return document
