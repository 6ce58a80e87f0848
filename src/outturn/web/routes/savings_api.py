"""The savings register as JSON: list (filtered, sorted, paged), one scheme with its history, and an edit that
carries the version it started from (409 with both versions when someone else saved first)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from outturn.domain.errors import BadInput
from outturn.domain.money import Pence
from outturn.domain.periods import FinancialYear
from outturn.domain.savings import Rag, SchemeStatus, assess_rag
from outturn.domain.savings_rules import SchemeFault
from outturn.reports.savings import conflict_document, saved_document, scheme_history_document
from outturn.services import savings, scheme_evidence
from outturn.services.savings import SchemeChanges, SchemeRefused
from outturn.services.web import VersionConflict
from outturn.web.paging import page_of
from outturn.web.routes.savings import DISPLAY_ONLY, FILTERS, as_at_month, selection
from outturn.web.security import Editor, Reader, WorkspaceDep, after_write
from outturn.web.templating import figures_headers

router = APIRouter(prefix="/api/savings", tags=["savings"])


@router.get("/schemes")
async def list_schemes(
    request: Request,
    _user: Reader,
    workspace: WorkspaceDep,
    page: int = 1,
    per_page: int = Query(100, ge=1, le=1000),
    org: str | None = None,
    workstream: str | None = None,
    status: str | None = None,
    rag: str | None = None,
    q: str | None = None,
    sort: str | None = Query(
        None, description="reference, title, org, workstream, status, rag, plan, forecast, shortfall or risk_adjusted"
    ),
    dir: str | None = Query(None, description="asc or desc"),
    as_at: str | None = Query(None, description="YYYY-MM (default: the workspace's month)"),
) -> JSONResponse:
    """The register's rows (money in pence), as the savings page shows them, each as a row of ``outturn savings
    list --format json`` (the scheme's fields and phasing, plan, delivered to date, forecast, shortfall,
    risk-adjusted, RAG with its reasons, ``workstream_label``, ``rag_overridden``), filtered, sorted and paged
    (``total``, ``page``, ``pages``); the headers say when they were computed (``X-Figures-As-At``) and whether a
    newer change is being added to them (``X-Figures-Refreshing``)."""
    chosen = {key: value for key, value in request.query_params.items() if key in FILTERS}
    month = as_at_month(workspace, as_at)
    cached = await selection(request, workspace, month, chosen)
    rows, _totals = cached.value
    shown, page, pages = page_of(rows, page, per_page)
    schemes = [{key: value for key, value in row.items() if key not in DISPLAY_ONLY} for row in shown]
    document = {"as_at": month.calendar_label, "total": len(rows), "page": page, "pages": pages, "schemes": schemes}
    return JSONResponse(document, headers=figures_headers(cached))


@router.get("/schemes/{year}/{reference}")
def get_scheme(
    request: Request, _user: Reader, workspace: WorkspaceDep, year: int, reference: str, as_at: str | None = None
) -> dict[str, Any]:
    """One scheme with its evidenced delivery and its audit trail, oldest first, as ``outturn savings show
    --format json``."""
    month = as_at_month(workspace, as_at)
    scheme, history = savings.show_scheme(workspace, FinancialYear(year), reference)
    evidenced = scheme_evidence.scheme_evidence(workspace, scheme, month)
    return scheme_history_document(scheme, assess_rag(scheme, month.number), month.number, history, evidenced)


class SchemeEditBody(BaseModel):
    version: int = Field(description="The version the edit started from (from GET)")
    status: SchemeStatus | None = None
    forecast_pence: dict[int, Pence | None] = Field(
        default_factory=dict, description="Month number (1 = April) to forecast pence; null: as planned"
    )
    rag_override: Rag | None = None
    rag_override_reason: str | None = None
    clear_rag_override: bool = False


def _api_field(fault: SchemeFault) -> str:
    """The body's name for a refused field: ``forecast_pence.9`` for M09's forecast."""
    return fault.field if fault.month is None else f"{fault.field}_pence.{fault.month}"


@router.post(
    "/schemes/{year}/{reference}",
    responses={
        409: {"description": "Someone else saved first"},
        422: {"description": "The edit breaks the scheme rules: ``fields`` names each field and why"},
    },
)
def edit_scheme(
    request: Request, user: Editor, workspace: WorkspaceDep, year: int, reference: str, body: SchemeEditBody
) -> JSONResponse:
    """Edit a scheme's forecast, status or RAG override. 409 when the scheme is no longer at ``version``: the
    answer has ``yours`` (your edit applied to the current version) and ``current`` (the stored scheme). 422 when
    the edit breaks the scheme rules (a negative forecast with no reason, a past month, a figure out of bounds)."""
    if any(not 1 <= month <= 12 for month in body.forecast_pence):
        raise BadInput("forecast_pence months are 1 (April) to 12 (March)")
    changes = SchemeChanges(
        status=body.status,
        forecast=body.forecast_pence,
        rag_override=body.rag_override,
        rag_override_reason=body.rag_override_reason,
        clear_rag_override=body.clear_rag_override,
    )
    wrote = after_write(request)
    try:
        saved = savings.update_scheme(workspace, FinancialYear(year), reference, body.version, changes, user.username)
    except SchemeRefused as refused:
        fields: dict[str, list[str]] = {}
        for fault in refused.faults:
            fields.setdefault(_api_field(fault), []).append(fault.reason)
        return JSONResponse({"error": str(refused), "fields": fields}, status_code=422)
    except VersionConflict as conflict:
        document = conflict_document(
            str(conflict), conflict.current, changes.apply(conflict.current), changes.as_data()
        )
        return JSONResponse(document, status_code=409)
    wrote()
    return JSONResponse(saved_document(saved))
