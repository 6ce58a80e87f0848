"""Recovery scenarios: pick a scenario file (the workspace's ``scenarios/`` folder or the repository's
``examples/scenarios/``) or upload one, run it (``services.scenarios.run_scenario``) and show the baseline against
the scenario forecast outturn, each lever's in-year and full-year effect and the bridge, as ``outturn scenario run``.

Running a scenario stores nothing, so finance, board and admin may all run one (board stays read-only: nothing it
does here changes data). Practice users are refused: a scenario acts on the commissioner's whole position. A file
with problems runs nothing and lists them (file, lever path, reason).
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from outturn.domain.problems import Problem, ProblemsError
from outturn.reports.scenarios import scenario_document
from outturn.services.scenarios import run_scenario
from outturn.services.web import SCENARIO_SUFFIXES, scenario_files
from outturn.services.workspace import Workspace
from outturn.web.security import Reader, WorkspaceDep
from outturn.web.templating import render

router = APIRouter()
MAX_SCENARIO_BYTES = 1024 * 1024


async def _run(request: Request, workspace: Workspace, path: Path) -> dict[str, Any]:
    """Run in the thread pool, one computation at a time with the cached pages (one warehouse connection)."""

    def compute() -> dict[str, Any]:
        with request.app.state.cache.compute_lock:
            run = run_scenario(workspace, path)
        return scenario_document(run.scenario, run.result, run.source, run.warnings)

    return await run_in_threadpool(compute)


async def run_chosen(
    request: Request, workspace: Workspace, name: str | None, upload: UploadFile | None
) -> dict[str, Any]:
    """The scenario document of the uploaded file, else of the named one; problems raise ``ProblemsError``."""
    if upload is not None and upload.filename:
        filename = PurePath(upload.filename).name
        if PurePath(filename).suffix.lower() not in SCENARIO_SUFFIXES:
            raise ProblemsError([Problem(filename, "not a scenario file (.toml or .json)")], f"{filename} was not run")
        content = await upload.read(MAX_SCENARIO_BYTES + 1)
        if len(content) > MAX_SCENARIO_BYTES:
            raise ProblemsError([Problem(filename, "larger than 1 MB")], f"{filename} was not run")
        with tempfile.TemporaryDirectory(prefix="outturn-scenario-") as folder:
            path = Path(folder) / filename
            path.write_bytes(content)
            return await _run(request, workspace, path)
    files = scenario_files(workspace)
    if not name:
        raise ValueError("choose a scenario file or upload one")
    if name not in files:
        raise KeyError(f"no scenario file {name!r} (one of: {', '.join(files) or 'none'})")
    return await _run(request, workspace, files[name])


def _page(workspace: Workspace, **context: Any) -> dict[str, Any]:
    return {"active": "scenarios", "files": list(scenario_files(workspace)), **context}


@router.get("/scenarios", include_in_schema=False)
def scenarios_page(request: Request, _user: Reader, workspace: WorkspaceDep) -> Response:
    return render(request, "scenarios.html", _page(workspace))


@router.post("/scenarios/run", include_in_schema=False)
async def scenarios_run_page(
    request: Request,
    _user: Reader,
    workspace: WorkspaceDep,
    name: Annotated[str | None, Form()] = None,
    upload: Annotated[UploadFile | None, File()] = None,
) -> Response:
    try:
        document = await run_chosen(request, workspace, name, upload)
    except ProblemsError as error:
        context = _page(workspace, chosen=name, error=error.summary, problems=error.problems)
        return render(request, "scenarios.html", context, status_code=422)
    return render(request, "scenarios.html", _page(workspace, chosen=name, result=document))


@router.get("/api/scenarios", tags=["scenarios"])
def scenarios_api(_user: Reader, workspace: WorkspaceDep) -> dict[str, list[str]]:
    """The scenario files that can be run by name: ``scenarios/NAME`` (the workspace's ``scenarios`` folder) and
    ``examples/NAME`` (the repository's examples). Finance, board and admin only."""
    return {"files": list(scenario_files(workspace))}


@router.post("/api/scenarios/run", tags=["scenarios"])
async def scenarios_run_api(
    request: Request,
    _user: Reader,
    workspace: WorkspaceDep,
    name: Annotated[str | None, Form()] = None,
    upload: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Run a scenario (form field ``name``, one of ``GET /api/scenarios``, or a multipart ``upload`` of a .toml
    or .json file) and answer as ``outturn scenario run --format json``: ``baseline`` and ``scenario`` (forecast
    outturn, surplus, gap to the control total), ``levers`` (``in_year_pence``, ``full_year_pence``), ``bridge``.
    Nothing is stored. 422 with ``problems`` (source, reason naming the lever path) for a bad file; 404 for an
    unknown name."""
    try:
        return JSONResponse(await run_chosen(request, workspace, name, upload))
    except ProblemsError as error:
        problems = [problem.as_dict() for problem in error.problems]
        return JSONResponse({"error": error.summary, "problems": problems}, status_code=422)
