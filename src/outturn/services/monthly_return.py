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

from outturn.reports.monthly_return import return_document
from outturn.reports.pack import BoardPack
from outturn.reports.pack_documents import pack_documents
from outturn.reports.return_xlsx import write_return_xlsx
from outturn.services.pack import PackRequest, gather_pack
from outturn.services.workspace import Workspace

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


def monthly_return(workspace: Workspace, request: ReturnRequest = ReturnRequest()) -> dict[str, Any]:
    """The month's return as its JSON document (pence): an unknown organisation, or a month with no ledger,
    fails as the position does."""
    return return_of_pack(gather_pack(workspace, pack_request(request)))


def write_monthly_return(workspace: Workspace, out: Path, request: ReturnRequest = ReturnRequest()) -> dict[str, Any]:
    """The return, written as a workbook at ``out``; returns its document."""
    document = monthly_return(workspace, request)
    write_return_xlsx(document, out)
    return document
