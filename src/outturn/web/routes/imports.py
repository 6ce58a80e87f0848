"""Imports: upload a ledger, plan, risk register or savings workbook; a file with problems is listed problem by
problem (file, row, column, reason) and nothing of it is stored — the services import a file whole or not at all."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from outturn.domain.problems import Problem, ProblemsError
from outturn.services import imports, savings
from outturn.services.users import User
from outturn.services.workspace import Workspace
from outturn.web.security import Editor, WorkspaceDep
from outturn.web.templating import render

router = APIRouter()

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
SUFFIXES = frozenset({".csv", ".xlsx", ".xlsm"})


def _summary(workspace: Workspace, path: Path, kind: str, user: User) -> dict[str, Any]:
    if kind == "savings":
        result = savings.import_workbook(workspace, path, user.username)
        return {"kind": "savings", "source": result.source, "rows": result.created + result.updated, **asdict(result)}
    return asdict(IMPORTERS[kind](workspace, path))


IMPORTERS: dict[str, Callable[[Workspace, Path], imports.ImportSummary]] = {
    "ledger": imports.import_ledger,
    "plan": imports.import_plans,
    "risks": imports.import_risks,
}
KINDS = {
    "ledger": "Ledger (budget and actual by month)",
    "plan": "Financial plan (allocations, control total)",
    "risks": "Risk register (risks and mitigations)",
    "savings": "Savings plan workbook (QIPP)",
}


async def _import(request: Request, workspace: Workspace, user: User, kind: str, upload: UploadFile) -> dict[str, Any]:
    """Store the upload under its own name in a private temporary folder and import it; problems raise."""
    name = PurePath(upload.filename or "upload.csv").name
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r} (one of: {', '.join(KINDS)})")
    if PurePath(name).suffix.lower() not in SUFFIXES:
        raise ProblemsError([Problem(name, "not a CSV or Excel file (.csv, .xlsx)")], f"{name} was not imported")
    content = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        raise ProblemsError([Problem(name, "larger than 50 MB")], f"{name} was not imported")
    with tempfile.TemporaryDirectory(prefix="outturn-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        summary = _summary(workspace, path, kind, user)
    request.app.state.cache.invalidate()
    return summary


@router.get("/imports", include_in_schema=False)
def imports_page(request: Request, _user: Editor) -> Response:
    return render(request, "imports.html", {"active": "imports", "kinds": KINDS})


@router.post("/imports", include_in_schema=False)
async def upload(
    request: Request,
    user: Editor,
    workspace: WorkspaceDep,
    kind: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
) -> Response:
    context: dict[str, Any] = {"active": "imports", "kinds": KINDS, "kind": kind}
    try:
        context["summary"] = await _import(request, workspace, user, kind, file)
    except ProblemsError as error:
        context.update(error=error.summary, problems=error.problems)
        return render(request, "imports.html", context, status_code=422)
    return render(request, "imports.html", context)


@router.post("/api/imports/{kind}", tags=["imports"])
async def upload_api(request: Request, user: Editor, workspace: WorkspaceDep, kind: str, file: UploadFile) -> Response:
    """Import one file (``kind``: ledger, plan, risks or savings). 200 with what landed; 422 with
    ``problems`` (source, sheet, row, column, reason) when the file is refused — and then nothing is stored."""
    try:
        return JSONResponse(await _import(request, workspace, user, kind, file))
    except ProblemsError as error:
        problems = [problem.as_dict() for problem in error.problems]
        return JSONResponse({"error": error.summary, "problems": problems}, status_code=422)
