"""Recovery scenarios: pick a scenario file (the workspace's ``scenarios/`` folder or the repository's
``examples/scenarios/``) or upload one, run it (``services.scenarios.run_loaded``) and show the baseline against
the scenario forecast outturn, each lever's in-year and full-year effect and the bridge, as ``outturn scenario run``.

Running a scenario stores nothing, so finance, board and admin may all run one (board stays read-only: nothing it
does here changes data). Practice users are refused: a scenario acts on the commissioner's whole position.

The file is read first, in the request: a file with problems runs nothing and lists every one (file, lever path,
reason). A good file is run as a job (``web.jobs``), never in the request and never holding up another page: one
run per user at a time, a few at once in all, each stopped at its time limit. The page shows the job and polls it
with htmx until it ends (a link refreshes it without JavaScript); the API waits for it without blocking the server
and cancels it if the client leaves.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from outturn.domain.errors import BadInput, NotFound
from outturn.domain.problems import Problem, ProblemsError
from outturn.domain.scenarios import Scenario
from outturn.reports.scenarios import scenario_document
from outturn.services.scenarios import read_scenario_file, run_loaded
from outturn.services.web import SCENARIO_SUFFIXES, scenario_files
from outturn.services.workspace import Workspace
from outturn.web.jobs import Checkpoint, Job, JobRefused, JobRunner, JobState
from outturn.web.limits import upload_name
from outturn.web.security import Reader, WorkspaceDep
from outturn.web.templating import render

router = APIRouter()
MAX_SCENARIO_BYTES = 1024 * 1024
WAIT_POLL_SECONDS = 0.5  # how often the API, waiting for a run, checks that its client is still there
_STOPPED = (JobState.FAILED, JobState.TIMED_OUT, JobState.CANCELLED)


async def _read_upload(upload: UploadFile) -> tuple[Scenario, str]:
    filename = upload_name(upload.filename, "scenario.toml")
    if PurePath(filename).suffix.lower() not in SCENARIO_SUFFIXES:
        raise ProblemsError([Problem(filename, "not a scenario file (.toml or .json)")], f"{filename} was not run")
    content = await upload.read(MAX_SCENARIO_BYTES + 1)
    if len(content) > MAX_SCENARIO_BYTES:
        raise ProblemsError([Problem(filename, "larger than 1 MB")], f"{filename} was not run")
    with tempfile.TemporaryDirectory(prefix="outturn-scenario-") as folder:
        path = Path(folder) / filename
        path.write_bytes(content)
        return await run_in_threadpool(read_scenario_file, path), filename


async def read_chosen(workspace: Workspace, name: str | None, upload: UploadFile | None) -> tuple[Scenario, str]:
    """The uploaded scenario, else the named one, and its source; every fault in the file raises
    ``ProblemsError``."""
    if upload is not None and upload.filename:
        return await _read_upload(upload)
    files = scenario_files(workspace)
    if not name:
        raise BadInput("choose a scenario file or upload one")
    if name not in files:
        raise NotFound(f"no scenario file {name!r} (one of: {', '.join(files) or 'none'})")
    path = files[name]
    return await run_in_threadpool(read_scenario_file, path), path.name


def _work(workspace: Workspace, scenario: Scenario, source: str) -> Callable[[Checkpoint], dict[str, Any]]:
    def run(checkpoint: Checkpoint) -> dict[str, Any]:
        found = run_loaded(workspace, scenario, source, checkpoint=checkpoint)
        return scenario_document(found.scenario, found.result, found.source, found.warnings)

    return run


def jobs_of(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.jobs
    return runner


async def submit(
    request: Request, username: str, workspace: Workspace, name: str | None, upload: UploadFile | None
) -> Job:
    scenario, source = await read_chosen(workspace, name, upload)
    chosen = "" if upload is not None and upload.filename else name or ""
    return jobs_of(request).submit(username, _work(workspace, scenario, source), label=chosen)


def _refused_status(error: JobRefused) -> int:
    return 503 if error.busy else 409


def _failure(job: Job) -> str:
    error = job.error
    if job.state is not JobState.FAILED:
        return f"The scenario was {job.message}."
    if not job.error_expected:
        return "The run failed unexpectedly; the error is in the server's log."
    return str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)


def _page(workspace: Workspace, **context: Any) -> dict[str, Any]:
    return {"active": "scenarios", "files": list(scenario_files(workspace)), **context}


def _job_context(job: Job) -> dict[str, Any]:
    context: dict[str, Any] = {"job": job, "chosen": job.label, "ended": job.state in (JobState.DONE, *_STOPPED)}
    if job.state is JobState.DONE:
        context["result"] = job.result
    elif isinstance(job.error, ProblemsError):
        context |= {"problems": job.error.problems, "error": job.error.summary}
    elif context["ended"]:
        context["error"] = _failure(job)
    return context


@router.get("/scenarios", include_in_schema=False)
def scenarios_page(request: Request, _user: Reader, workspace: WorkspaceDep) -> Response:
    return render(request, "scenarios.html", _page(workspace))


@router.post("/scenarios/run", include_in_schema=False)
async def scenarios_run_page(
    request: Request,
    user: Reader,
    workspace: WorkspaceDep,
    name: Annotated[str | None, Form()] = None,
    upload: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Start a run and show it (303 to the job's page)."""
    try:
        job = await submit(request, user.username, workspace, name, upload)
    except ProblemsError as error:
        context = _page(workspace, chosen=name, error=error.summary, problems=error.problems)
        return render(request, "scenarios.html", context, status_code=422)
    except JobRefused as error:
        context = _page(workspace, chosen=name, refused=str(error))
        return render(request, "scenarios.html", context, status_code=_refused_status(error))
    return RedirectResponse(f"/scenarios/jobs/{job.id}", status_code=303)


@router.get("/scenarios/jobs/{job_id}", include_in_schema=False)
def scenarios_job_page(request: Request, user: Reader, workspace: WorkspaceDep, job_id: str) -> Response:
    """A run: running (the page polls this with htmx, which gets only the job's panel), its result or why it
    stopped. Only its owner sees it."""
    context = _job_context(jobs_of(request).get(job_id, user.username))
    if request.headers.get("HX-Request") == "true":
        return render(request, "scenarios/job.html", context)
    return render(request, "scenarios.html", _page(workspace, **context))


@router.post("/scenarios/jobs/{job_id}/cancel", include_in_schema=False)
def scenarios_job_cancel(request: Request, user: Reader, job_id: str) -> Response:
    jobs_of(request).get(job_id, user.username).cancel()
    return RedirectResponse(f"/scenarios/jobs/{job_id}", status_code=303)


@router.get("/api/scenarios", tags=["scenarios"])
def scenarios_api(_user: Reader, workspace: WorkspaceDep) -> dict[str, list[str]]:
    """The scenario files that can be run by name: ``scenarios/NAME`` (the workspace's ``scenarios`` folder) and
    ``examples/NAME`` (the repository's examples). Finance, board and admin only."""
    return {"files": list(scenario_files(workspace))}


async def _wait(request: Request, job: Job) -> None:
    """Until the job ends or passes its time limit; a client that left cancels it."""
    ended = asyncio.wrap_future(job.future)
    while not ended.done() and job.state is not JobState.TIMED_OUT:
        await asyncio.wait({ended}, timeout=WAIT_POLL_SECONDS)
        if await request.is_disconnected():
            job.cancel()
            return
        job.touch()


def _job_response(job: Job) -> Response:
    if job.state is JobState.DONE:
        return JSONResponse(job.result)
    error = job.error
    if isinstance(error, ProblemsError):
        return JSONResponse(error.as_dict(), status_code=422)
    if job.state is JobState.FAILED and job.error_expected and error is not None:
        raise error  # mapped to 400 or 404 with the other pages' errors
    status = 500 if job.state is JobState.FAILED else 503
    return JSONResponse({"error": _failure(job), "state": job.state.value}, status_code=status)


# look-alike of scenarios_run_page: the API's twin of the page's route, the same form fields.
@router.post("/api/scenarios/run", tags=["scenarios"])
async def scenarios_run_api(
    request: Request,
    user: Reader,
    workspace: WorkspaceDep,
    name: Annotated[str | None, Form()] = None,
    upload: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Run a scenario (form field ``name``, one of ``GET /api/scenarios``, or a multipart ``upload`` of a .toml
    or .json file) and answer as ``outturn scenario run --format json``: ``baseline`` and ``scenario`` (forecast
    outturn, surplus, gap to the control total), ``levers`` (``in_year_pence``, ``full_year_pence``), ``bridge``.
    Nothing is stored. 422 with ``problems`` (source, reason naming the lever path; every fault in the file) for a
    bad file, a scenario of more than 20 levers, or one too large to run; 404 for an unknown name; 409 while you
    have another run going; 503 when every worker is busy, or when the run passed its time limit and was stopped
    (``state``: ``timed_out``)."""
    try:
        job = await submit(request, user.username, workspace, name, upload)
    except ProblemsError as error:
        return JSONResponse(error.as_dict(), status_code=422)
    except JobRefused as error:
        return JSONResponse({"error": str(error)}, status_code=_refused_status(error))
    await _wait(request, job)
    return _job_response(job)
