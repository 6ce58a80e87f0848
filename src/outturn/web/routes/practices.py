"""Practices and PCNs: a list (for those who see every organisation), each practice's own page and its PCN's.

A practice user sees its own practice and the PCN it belongs to, nothing else: every page and API address here
checks the organisation in the URL against the user's, so guessing another practice's code gives 403. A practice
user's PCN page shows the PCN's totals, not the other practices' rows.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from outturn.domain.errors import BadInput, NotFound
from outturn.domain.organisations import Organisation, OrgKind
from outturn.domain.populations import Level, PracticeRecord, roll_up
from outturn.services import organisations, populations
from outturn.services.users import User
from outturn.services.workspace import Workspace
from outturn.web.cache import NOT_SAVINGS
from outturn.web.routes.benchmarking import practice_measures
from outturn.web.security import CurrentUser, Reader, WorkspaceDep, require_org
from outturn.web.templating import render

router = APIRouter()


def _organisation(request: Request, workspace: Workspace, code: str, kind: OrgKind) -> tuple[Organisation, ...]:
    """The organisation and its ancestors (nearest first); 404 when it is not one of ``kind``."""

    def compute() -> tuple[Organisation, ...]:
        found = [org for org in organisations.list_organisations(workspace, kind) if org.code == code]
        if not found:
            raise NotFound(f"no {kind.value} {code!r} in the workspace")
        chain = [found[0]]
        everything = {org.code: org for org in organisations.list_organisations(workspace)}
        while chain[-1].parent_code in everything and len(chain) < 8:
            chain.append(everything[chain[-1].parent_code])
        return tuple(chain)

    chain: tuple[Organisation, ...] = request.app.state.cache.get(
        ("organisation", kind.value, code), compute, NOT_SAVINGS
    )
    return chain


def _records(request: Request, workspace: Workspace, under: str) -> tuple[list[PracticeRecord], str | None]:
    """The population records of the practices at or under ``under``, or a note why there are none."""

    def compute() -> tuple[list[PracticeRecord], str | None]:
        try:
            return populations.practice_records(workspace, under), None
        except BadInput as error:
            return [], str(error)

    found: tuple[list[PracticeRecord], str | None] = request.app.state.cache.get(
        ("records", under), compute, NOT_SAVINGS
    )
    return found


def _record_document(record: PracticeRecord) -> dict[str, Any]:
    return {
        "practice": record.practice,
        "practice_name": record.practice_name,
        "pcn": record.pcn,
        "sub_icb": record.sub_icb,
        "icb": record.icb,
        "list_size": record.list_size,
        "astro_pu": record.astro_pu,
        "weighted": dict(record.weighted),
    }


def practice_document(request: Request, workspace: Workspace, user: User, code: str) -> dict[str, Any]:
    code = code.upper()
    require_org(user, code)
    chain = _organisation(request, workspace, code, OrgKind.PRACTICE)
    records, note = _records(request, workspace, code)
    compared = (records[0].sub_icb if records else None) or workspace.org_or_default(None)
    return {
        "code": code,
        "name": chain[0].name,
        "parents": [{"code": org.code, "name": org.name, "kind": org.kind.value} for org in chain[1:]],
        "population": _record_document(records[0]) if records else None,
        # its row of each measure against the benchmark across its sub-ICB location's practices
        "measures": practice_measures(request, workspace, code, compared) if records and compared else [],
        "note": note,
    }


def pcn_document(request: Request, workspace: Workspace, user: User, code: str) -> dict[str, Any]:
    code = code.upper()
    require_org(user, code)
    chain = _organisation(request, workspace, code, OrgKind.PCN)
    records, note = _records(request, workspace, code)
    totals = roll_up(records, Level.PCN) if records else ()
    document: dict[str, Any] = {
        "code": code,
        "name": chain[0].name,
        "parents": [{"code": org.code, "name": org.name, "kind": org.kind.value} for org in chain[1:]],
        "practices": len(records),
        "list_size": totals[0].list_size if totals else None,
        "weighted": dict(totals[0].weighted) if totals else None,
        "note": note,
    }
    if user.sees_everything:  # a practice user sees its PCN's totals, never the other practices' rows
        document["members"] = [_record_document(record) for record in records]
    return document


@router.get("/practices", include_in_schema=False)
def practices_page(request: Request, user: CurrentUser, workspace: WorkspaceDep, under: str | None = None) -> Response:
    if not user.sees_everything:
        return RedirectResponse(user.home, status_code=303)
    chosen = workspace.org_or_default(under) or ""
    records, note = _records(request, workspace, chosen) if chosen else ([], "choose an organisation: ?under=CODE")
    return render(
        request, "practices/list.html", {"active": "practices", "under": chosen, "records": records, "note": note}
    )


@router.get("/practices/{code}", include_in_schema=False)
def practice_page(request: Request, user: CurrentUser, workspace: WorkspaceDep, code: str) -> Response:
    document = practice_document(request, workspace, user, code)
    return render(request, "practices/practice.html", {"active": "practices", "doc": document})


@router.get("/pcns/{code}", include_in_schema=False)
def pcn_page(request: Request, user: CurrentUser, workspace: WorkspaceDep, code: str) -> Response:
    document = pcn_document(request, workspace, user, code)
    return render(request, "practices/pcn.html", {"active": "practices", "doc": document})


@router.get("/api/practices", tags=["practices"])
def practices_api(request: Request, _user: Reader, workspace: WorkspaceDep, under: str) -> list[dict[str, Any]]:
    """The practices at or under an organisation, with their populations (finance, board and admin only)."""
    records, note = _records(request, workspace, under.upper())
    if note:
        raise BadInput(note)
    return [_record_document(record) for record in records]


@router.get("/api/practices/{code}", tags=["practices"])
def practice_api(request: Request, user: CurrentUser, workspace: WorkspaceDep, code: str) -> dict[str, Any]:
    """One practice: name, PCN and parents, population, and ``measures``: its activity rates against the
    benchmark of each measure (as ``outturn benchmark``). A practice user may ask only for its own (else 403)."""
    return practice_document(request, workspace, user, code)


@router.get("/api/pcns/{code}", tags=["practices"])
def pcn_api(request: Request, user: CurrentUser, workspace: WorkspaceDep, code: str) -> dict[str, Any]:
    """One PCN's totals (and, for those who see every organisation, its practices). A practice user may ask only
    for its own PCN (else 403)."""
    return pcn_document(request, workspace, user, code)
