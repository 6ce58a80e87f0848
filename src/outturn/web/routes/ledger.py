"""The trial balance's mapping (view it, upload a new version), the budget holders' report and the ledger's
roll-ups: pages for finance, and their JSON twins of ``outturn ledger mapping show``, ``outturn budget-holders
report`` and ``outturn ledger rollup``."""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from outturn.domain.errors import NotFound
from outturn.domain.problems import Problem, ProblemsError
from outturn.domain.trial_balance import BudgetHolderReport
from outturn.reports.budget_holders import budget_holder_document, mapping_document, roll_up_document
from outturn.reports.spend_charts import spend_svg
from outturn.services import budget_holders, trial_balance
from outturn.services.monthly_spend import cost_centre_monthly_spend
from outturn.services.workspace import Workspace
from outturn.web import drawing
from outturn.web.limits import upload_name
from outturn.web.security import Editor, Reader, WorkspaceDep, after_write
from outturn.web.templating import render

router = APIRouter()

SUFFIXES = frozenset({".csv", ".xlsx", ".xlsm"})


def _mapping(workspace: Workspace) -> dict[str, Any] | None:
    try:
        found = trial_balance.current_mapping(workspace)
    except NotFound:
        return None
    return mapping_document(found, trial_balance.mapping_versions(workspace))


@router.get("/api/ledger/mapping", tags=["ledger"])
async def mapping_api(_user: Reader, workspace: WorkspaceDep) -> dict[str, Any]:
    """The trial balance's mapping in force, as ``outturn ledger mapping show --format json``: ``version``,
    ``loaded_at``, ``loaded_by``, ``file``, ``rules`` (row, cost_centre, subjective_code, category, subcategory,
    budget_holder, parent) and every version loaded (``versions``). 404 when none has been loaded."""
    document = await run_in_threadpool(_mapping, workspace)
    if document is None:
        raise NotFound("no ledger mapping has been loaded")
    return document


async def _mapping_page(request: Request, workspace: Workspace, status_code: int = 200, **context: Any) -> Response:
    document = await run_in_threadpool(_mapping, workspace)
    return render(
        request, "ledger_mapping.html", {"active": "imports", "mapping": document, **context}, status_code=status_code
    )


@router.get("/ledger/mapping", include_in_schema=False)
async def mapping_page(request: Request, _user: Editor, workspace: WorkspaceDep) -> Response:
    return await _mapping_page(request, workspace)


@router.post("/ledger/mapping", include_in_schema=False)
async def mapping_upload(
    request: Request, user: Editor, workspace: WorkspaceDep, file: Annotated[UploadFile, File()]
) -> Response:
    name = upload_name(file.filename, "mapping.csv")
    most = request.app.state.config.max_upload_bytes
    content = await file.read(most + 1)
    try:
        if PurePath(name).suffix.lower() not in SUFFIXES:
            raise ProblemsError([Problem(name, "not a CSV or Excel file (.csv, .xlsx)")], f"{name} was not loaded")
        if len(content) > most:
            raise ProblemsError([Problem(name, f"larger than {most / 2**20:g} MB")], f"{name} was not loaded")
        written = after_write(request)
        await run_in_threadpool(_load, workspace, name, content, user.username)
        written()
    except ProblemsError as error:
        return await _mapping_page(request, workspace, 422, error=error.summary, problems=error.problems)
    return RedirectResponse("/ledger/mapping", status_code=303)


def _load(workspace: Workspace, name: str, content: bytes, who: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        trial_balance.import_mapping(workspace, path, who=who)


@router.get("/api/budget-holders", tags=["ledger"])
async def budget_holders_api(
    _user: Reader, workspace: WorkspaceDep, holder: str | None = None, as_at: str | None = None, org: str | None = None
) -> dict[str, Any]:
    """Each budget holder's lines, as ``outturn budget-holders report --format json``: ``holders`` (totals per
    holder) and ``lines`` (org_code, cost_centre, subjective_code with descriptions, category, subcategory,
    budget_holder, annual/ytd budget, ytd actual, ytd and forecast variance, forecast outturn and method,
    needs_commentary), the ``threshold`` and ``commentary_rule``. Money in pence."""
    report = await run_in_threadpool(budget_holders.budget_holder_report, workspace, holder, as_at, org)
    return budget_holder_document(report)


@router.get("/api/ledger/rollup", tags=["ledger"])
async def rollup_api(
    _user: Reader, workspace: WorkspaceDep, by: str = "category", as_at: str | None = None, org: str | None = None
) -> dict[str, Any]:
    """The ledger's lines summed by ``by`` (category, cost-centre, budget-holder, organisation), as ``outturn
    ledger rollup --format json``: ``rows`` and ``total``, each with ytd and forecast figures. Money in pence."""
    report, totals = await run_in_threadpool(budget_holders.ledger_roll_up, workspace, by, as_at, org)
    return roll_up_document(report, by.strip().lower().replace("-", "_"), totals)


@router.get("/budget-holders", include_in_schema=False)
async def budget_holders_page(
    request: Request, _user: Reader, workspace: WorkspaceDep, holder: str | None = None, as_at: str | None = None
) -> Response:
    report = await run_in_threadpool(budget_holders.budget_holder_report, workspace, holder or None, as_at, None)
    # one holder's cost centres are a handful of charts; every holder's would be tens, so only on a holder's page
    charts = await run_in_threadpool(_cost_centre_charts, workspace, report) if report.holder else ()
    context = {"active": "position", "report": budget_holder_document(report), "spend_charts": charts}
    return render(request, "budget_holders.html", context)


def _cost_centre_charts(workspace: Workspace, report: BudgetHolderReport) -> tuple[tuple[str, str, Markup], ...]:
    """Budget against actual by month and cumulative, with the forecast to M12: the holder's cost centres
    together, then each."""
    series = cost_centre_monthly_spend(workspace, report)
    when = f"{report.as_at.year.label} to {report.as_at.label}, forecast to M12 (£m)"
    draws: list[drawing.Draw] = [
        (spend_svg, (found, f"{found.label}: budget against spend, {when}")) for found in series
    ]
    # drawn by matplotlib from the ledger's figures and the mapping's cost centre names, escaped by the SVG writer
    return tuple(
        (found.key, found.label, Markup(drawn)) for found, drawn in zip(series, drawing.draw_all(draws), strict=True)
    )
