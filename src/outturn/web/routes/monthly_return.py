"""The monthly financial return: ``GET /api/return`` is ``outturn return --format json``, and ``/return.xlsx`` its
workbook (£000), offered on the overview. Finance, board and admin only: the return shows every organisation's
figures, so a practice or budget-holder user is refused (403)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from outturn.reports.return_xlsx import return_xlsx_bytes
from outturn.services.monthly_return import ReturnRequest, monthly_return
from outturn.web.security import Reader, WorkspaceDep

router = APIRouter()
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _request(org: str | None, as_at: str | None, method: str | None) -> ReturnRequest:
    return ReturnRequest(org_code=org.upper() if org else None, as_at=as_at, method=method)


@router.get("/api/return", tags=["return"])
async def return_api(
    _user: Reader, workspace: WorkspaceDep, as_at: str | None = None, org: str | None = None, method: str | None = None
) -> dict[str, Any]:
    """The monthly financial return, as ``outturn return --format json``: the cover fields (``org_code``,
    ``month``, ``as_at``, ``sign_convention``, ``built_at``…), then ``summary``, ``expenditure`` (``rows``,
    ``total``), ``underlying`` (``rows``, ``by_category``), ``savings`` (``total``, ``workstreams``, ``by_rag``)
    and ``risks`` (``items``, ``totals``), money in pence; every figure is the month's board pack's."""
    found: dict[str, Any] = await run_in_threadpool(monthly_return, workspace, _request(org, as_at, method))
    return found


@router.get("/return.xlsx", include_in_schema=False)
async def return_download(
    _user: Reader, workspace: WorkspaceDep, as_at: str | None = None, org: str | None = None, method: str | None = None
) -> Response:
    document = await run_in_threadpool(monthly_return, workspace, _request(org, as_at, method))
    name = f"monthly-return-{document['org_code']}-{document['as_at']}.xlsx"
    return Response(
        await run_in_threadpool(return_xlsx_bytes, document),
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
