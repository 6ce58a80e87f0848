"""Challenges on the contracts pages: each contract's log is shown in its statement (``doc.challenges``); finance
and admin raise and change challenges with the forms there, or raise a coding challenge from a case-mix drift cell
in one step. Board users see the log but cannot change it. ``/api/contracts/{provider}/challenges`` is
``outturn contracts challenges list --format json`` for one provider; ``/api/challenges/{reference}`` is
``outturn contracts challenges history --format json``.

A form that the rules refuse (bad £, a closed challenge moved to another closed status) stores nothing and shows
the page again with the reason (422); a change from an old version likewise (409, with the version now stored);
an unknown contract or challenge is the application's 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from outturn.domain.challenges import ChallengeCategory, ChallengeChange, ChallengeStatus, parse_choice, parse_months
from outturn.domain.errors import BadInput, Conflict
from outturn.domain.money import parse_money
from outturn.domain.periods import FinancialYear
from outturn.domain.plans import parse_share
from outturn.services import challenges
from outturn.services.workspace import Workspace
from outturn.web.routes.contracts import provider_context
from outturn.web.routes.savings import as_at_month
from outturn.web.security import Editor, Reader, WorkspaceDep, after_write
from outturn.web.templating import render

router = APIRouter()


async def _form(request: Request) -> dict[str, str]:
    return {key: value.strip() for key, value in (await request.form()).items() if isinstance(value, str)}


def _back(provider: str, form: dict[str, str]) -> Response:
    """To the provider's page (at the month the form was on), at the contract's challenges."""
    query = f"?as_at={quote(form['as_at'])}" if form.get("as_at") else ""
    anchor = f"#challenges-{quote(form.get('commissioner', ''))}" if form.get("commissioner") else "#challenges"
    return RedirectResponse(f"/contracts/{quote(provider.upper())}{query}{anchor}", status_code=303)


async def _written(
    request: Request, workspace: Workspace, provider: str, form: dict[str, str], write: Callable[[], object]
) -> Response:
    """Run ``write`` (which reads the form and saves); back to the page, or the page again with the reason the
    change was refused (422; 409 when someone else changed the challenge first), nothing saved."""
    month = as_at_month(workspace, form.get("as_at") or None)
    wrote = after_write(request)
    try:
        await run_in_threadpool(write)
    except (Conflict, BadInput) as error:
        context = await provider_context(request, workspace, provider, month)
        context["challenge_error"] = str(error)
        return render(request, "contracts/provider.html", context, 409 if isinstance(error, Conflict) else 422)
    await run_in_threadpool(wrote)
    return _back(provider, form)


def _new_challenge(provider: str, form: dict[str, str], year: FinancialYear) -> challenges.NewChallenge:
    return challenges.NewChallenge(
        provider=provider,
        commissioner=form.get("commissioner", ""),
        year=year,
        category=parse_choice(ChallengeCategory, form.get("category", ""), "category"),
        value_pence=parse_money(form.get("value", "")),
        point_of_delivery=form.get("point_of_delivery") or None,
        treatment_function=form.get("treatment_function") or None,
        months=parse_months(form.get("months", "")),
        likelihood=parse_share(form["likelihood"]) if form.get("likelihood") else None,
        notes=form.get("notes", ""),
    )


def _change(form: dict[str, str]) -> tuple[int, ChallengeChange]:
    if not form.get("version", "").isdigit():
        raise BadInput("the form has no version of the challenge: reload the page and try again")
    return int(form["version"]), ChallengeChange(
        status=parse_choice(ChallengeStatus, form["status"], "status") if form.get("status") else None,
        agreed_pence=parse_money(form["agreed"]) if form.get("agreed") else None,
        notes=form.get("notes"),
        likelihood=parse_share(form["likelihood"]) if form.get("likelihood") else None,
        reason=form.get("reason", ""),
    )


@router.post("/contracts/{provider}/challenges", include_in_schema=False)
async def add_challenge(request: Request, user: Editor, workspace: WorkspaceDep, provider: str) -> Response:
    form = await _form(request)

    def write() -> object:
        year = as_at_month(workspace, form.get("as_at") or None).year
        return challenges.add_challenge(workspace, _new_challenge(provider, form, year), user.username)

    return await _written(request, workspace, provider, form, write)


@router.post("/contracts/{provider}/challenges/{reference}", include_in_schema=False)
async def change_challenge(
    request: Request, user: Editor, workspace: WorkspaceDep, provider: str, reference: str
) -> Response:
    form = await _form(request)

    def write() -> object:
        version, change = _change(form)
        return challenges.update_challenge(workspace, reference, version, change, user.username)

    return await _written(request, workspace, provider, form, write)


@router.post("/contracts/{provider}/drift-challenge", include_in_schema=False)
async def raise_drift_challenge(request: Request, user: Editor, workspace: WorkspaceDep, provider: str) -> Response:
    """A case-mix drift cell raised as a coding challenge, pre-filled from the cell (one step)."""
    form = await _form(request)
    month = as_at_month(workspace, form.get("as_at") or None)

    def write() -> object:
        return challenges.raise_drift_challenge(
            workspace,
            provider,
            form.get("commissioner", ""),
            month,
            form.get("point_of_delivery", ""),
            form.get("treatment_function", ""),
            user.username,
        )

    return await _written(request, workspace, provider, form, write)


@router.get("/api/contracts/{provider}/challenges", tags=["contracts"])
async def challenges_api(
    request: Request,
    _user: Reader,
    workspace: WorkspaceDep,
    provider: str,
    commissioner: str | None = None,
    status: str | None = None,
    year: str | None = None,
) -> dict[str, Any]:
    """The provider's challenges for the year (default: the workspace's) as ``outturn contracts challenges list
    --provider P --format json``: ``challenges`` (reference, category, ``value_pence``, ``raised_on``, status,
    ``agreed_pence``, ``likelihood``, ``expected_pence``, ``version``…) and ``totals_by_status``."""
    chosen = parse_choice(ChallengeStatus, status, "status") if status else None
    financial_year = workspace.year(year)
    return await run_in_threadpool(challenges.challenge_log, workspace, financial_year, provider, commissioner, chosen)


@router.get("/api/challenges/{reference}", tags=["contracts"])
async def challenge_history_api(_user: Reader, workspace: WorkspaceDep, reference: str) -> dict[str, Any]:
    """One challenge and every change to it from the audit trail, as ``outturn contracts challenges history
    --format json``."""
    return await run_in_threadpool(challenges.challenge_history_document, workspace, reference)
