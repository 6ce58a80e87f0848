"""Imports: upload a ledger, plan, risk register or savings workbook; a file with problems is listed problem by
problem (file, row, column, reason) and nothing of it is stored — the services import a file whole or not at all.

Every import runs off the event loop (``web.import_jobs``): the upload answers at once with the job's page, which
polls its stage (htmx) until the result. A ledger that would remove stored lines shows what it replaces, category
by category, and stores nothing until the user confirms that very file (the confirmation carries its SHA-256); a
ledger that would change a closed month is refused until the month is reopened. The page lists the import log."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from functools import partial
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from outturn.domain.errors import BadInput
from outturn.domain.problems import Problem, ProblemsError
from outturn.reports.imports import import_document, import_rows, workbook_import_document
from outturn.services import commentary, imports, savings, trial_balance
from outturn.services.imports import ImportRefused
from outturn.services.users import User
from outturn.services.workspace import Workspace
from outturn.web.import_jobs import ImportJob, ImportJobs
from outturn.web.limits import upload_name
from outturn.web.security import Editor, WorkspaceDep, after_write
from outturn.web.templating import render

router = APIRouter()

SUFFIXES = frozenset({".csv", ".xlsx", ".xlsm"})
HISTORY_ROWS = 50
KINDS = {
    "ledger": "Ledger (budget and actual by month)",
    "trial_balance": "Trial balance (cost centre x subjective, through the ledger mapping)",
    "plan": "Financial plan (allocations, control total)",
    "risks": "Risk register (risks and mitigations)",
    "savings": "Savings plan workbook (QIPP)",
    "commentary": "Commentary on ledger lines (org, cost centre, subjective, month, commentary)",
}
STAGES = {
    "queued": "Waiting to start",
    "reading": "Reading the file",
    "comparing": "Comparing with what is stored",
    "storing": "Storing",
    "done": "Done",
}
STEPS = ("reading", "comparing", "storing")  # the stages a ledger import reports, in order (others only read)


def run_import(
    workspace: Workspace,
    kind: str,
    user: User,
    path: Path,
    replace: bool = False,
    expected_sha256: str | None = None,
    progress: imports.Progress = imports.no_progress,
) -> dict[str, Any]:
    """Import ``path`` as ``kind`` (on a worker thread); what landed, as the API returns it."""
    progress("reading")
    if kind == "ledger":
        summary = imports.import_ledger(
            workspace, path, replace=replace, expected_sha256=expected_sha256, who=user.username, progress=progress
        )
        return import_document(summary)
    if kind == "commentary":
        return commentary.import_commentary(workspace, path, None, user.username)
    if kind == "trial_balance":
        summary = trial_balance.import_trial_balance(
            workspace, path, replace=replace, expected_sha256=expected_sha256, who=user.username, progress=progress
        )
        return import_document(summary)
    if kind == "savings":
        return workbook_import_document(savings.import_workbook(workspace, path, user.username))
    if kind == "risks":
        summary = imports.import_risks(
            workspace, path, replace=replace, expected_sha256=expected_sha256, who=user.username
        )
        return import_document(summary)
    return import_document(imports.import_plans(workspace, path, who=user.username))


def _jobs(request: Request) -> ImportJobs:
    jobs: ImportJobs | None = getattr(request.app.state, "import_jobs", None)
    if jobs is None:
        jobs = request.app.state.import_jobs = ImportJobs()
    return jobs


async def _checked_upload(request: Request, kind: str, upload: UploadFile) -> tuple[str, bytes]:
    """The upload's own name (no folders) and its bytes, or the reason it cannot be imported (over the configured
    upload size, which the body limit also applies before the request is read)."""
    name = upload_name(upload.filename, "upload.csv")
    if kind not in KINDS:
        raise BadInput(f"unknown import kind {kind!r} (one of: {', '.join(KINDS)})")
    if PurePath(name).suffix.lower() not in SUFFIXES:
        raise ProblemsError([Problem(name, "not a CSV or Excel file (.csv, .xlsx)")], f"{name} was not imported")
    most = request.app.state.config.max_upload_bytes
    content = await upload.read(most + 1)
    if len(content) > most:
        raise ProblemsError([Problem(name, f"larger than {most / 2**20:g} MB")], f"{name} was not imported")
    return name, content


def _history(workspace: Workspace) -> list[dict[str, Any]]:
    return [
        {**asdict(record), "imported_at": record.imported_at.isoformat(timespec="seconds")}
        for record in imports.import_history(workspace, HISTORY_ROWS)
    ]


async def _page(request: Request, workspace: Workspace, status_code: int = 200, **context: Any) -> Response:
    history = await run_in_threadpool(_history, workspace)
    page = {"active": "imports", "kinds": KINDS, "history": history, **context}
    return render(request, "imports.html", page, status_code=status_code)


def _job_status(job: ImportJob) -> int:
    if not job.done.is_set() or job.summary is not None or job.confirmed_as is not None:
        return 200
    if job.problems is not None:
        return 422
    return 409 if job.refused is not None else 400


@router.get("/imports", include_in_schema=False)
async def imports_page(request: Request, _user: Editor, workspace: WorkspaceDep) -> Response:
    return await _page(request, workspace)


@router.post("/imports", include_in_schema=False)
async def upload(
    request: Request,
    user: Editor,
    workspace: WorkspaceDep,
    kind: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
) -> Response:
    try:
        name, content = await _checked_upload(request, kind, file)
    except ProblemsError as error:
        return await _page(request, workspace, 422, kind=kind, error=error.summary, problems=error.problems)
    run = partial(run_import, workspace, kind, user)
    job = _jobs(request).start(user.username, kind, name, content, run, after_write(request))
    return RedirectResponse(f"/imports/jobs/{job.id}", status_code=303)


@router.get("/imports/jobs/{job_id}", include_in_schema=False)
async def job_page(request: Request, user: Editor, workspace: WorkspaceDep, job_id: str) -> Response:
    """The job's stage while it runs (the page polls this), then its result or the comparison to confirm."""
    job = _jobs(request).get(job_id, user.username)
    context = {"job": job, "stages": STAGES, "steps": STEPS, "kind": job.kind}
    return await _page(request, workspace, _job_status(job), **context)


@router.post("/imports/jobs/{job_id}/confirm", include_in_schema=False)
async def confirm(
    request: Request, user: Editor, workspace: WorkspaceDep, job_id: str, sha256: Annotated[str, Form()]
) -> Response:
    """Replace as compared: the same user, the same kept file, its SHA-256 as the comparison page showed it."""
    jobs = _jobs(request)
    job = jobs.get(job_id, user.username)
    try:
        again = jobs.confirm(job, sha256, after_write(request))
    except BadInput as error:
        return await _page(request, workspace, 409, kind=job.kind, error=str(error), problems=())
    return RedirectResponse(f"/imports/jobs/{again.id}", status_code=303)


@router.post("/imports/jobs/{job_id}/cancel", include_in_schema=False)
async def cancel(request: Request, user: Editor, job_id: str) -> Response:
    jobs = _jobs(request)
    jobs.cancel(jobs.get(job_id, user.username))
    return RedirectResponse("/imports", status_code=303)


@router.get("/api/imports", tags=["imports"])
async def history_api(_user: Editor, workspace: WorkspaceDep) -> list[dict[str, Any]]:
    """The import log, newest first (the newest 50), as ``outturn imports list --format json``: ``id``, ``kind``,
    ``source``, ``sha256``, ``imported_at``, ``imported_by``, ``rows``, ``replaced_rows``, each total as ``*_pence``
    and each replaced total as ``replaced_*_pence``."""
    return import_rows(await run_in_threadpool(imports.import_history, workspace, HISTORY_ROWS))


# look-alike of the helper's parameters above: FastAPI declarations of the same form fields.
@router.post("/api/imports/{kind}", tags=["imports"])
async def upload_api(
    request: Request,
    user: Editor,
    workspace: WorkspaceDep,
    kind: str,
    file: UploadFile,
    replace: bool = False,
    sha256: str | None = None,
) -> Response:
    """Import one file (``kind``: ledger, plan, risks or savings), off the event loop. 200 with what landed; 422
    with ``problems`` (source, sheet, row, column, reason) when the file is refused — and then nothing is stored.
    A ledger that would remove stored lines answers 409 with ``replaces`` (lines, budget and actual by category,
    before and after, in pence) and ``sha256``: send it again with ``replace=true`` and that ``sha256``. A ledger
    that would change a closed month answers 409 until the month is reopened. ``commentary``: line commentary (as
    ``outturn commentary import``), each row a new version of its line's commentary for its month."""
    written = after_write(request)
    try:
        name, content = await _checked_upload(request, kind, file)
        summary = await run_in_threadpool(_import_bytes, workspace, kind, user, name, content, replace, sha256)
    except ProblemsError as error:
        return JSONResponse(error.as_dict(), status_code=422)
    except ImportRefused as error:
        return JSONResponse(error.document(), status_code=409)
    await run_in_threadpool(written)
    return JSONResponse(summary)


def _import_bytes(
    workspace: Workspace, kind: str, user: User, name: str, content: bytes, replace: bool, sha256: str | None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="outturn-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        return run_import(workspace, kind, user, path, replace, sha256)
