"""Practice prescribing: each practice's items and actual cost for a month, per 1,000 registered patients and per
1,000 ASTRO-PU, its generic prescribing rate, and the largest price-per-unit savings (practice × group of equivalent
presentations, OpenPrescribing's method), as ``outturn prescribing measures --by all`` and ``prescribing savings``.

Finance, board and admin see every practice. A practice user sees its own practice's rows only: its measures and
its own savings (the target price per unit is the centile over all practices, which names none of them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from outturn.domain.prescribing import BnfGrouping, Denominator
from outturn.services import prescribing
from outturn.services.users import User
from outturn.services.workspace import Workspace
from outturn.web.cache import NOT_SAVINGS
from outturn.web.paging import Row, TableQuery, table_page
from outturn.web.security import CurrentUser, WorkspaceDep
from outturn.web.templating import render

router = APIRouter()
SAVINGS_SHOWN = 50


def _practice_rows(workspace: Workspace, month: str | None) -> dict[str, Any]:
    """The month's measures by practice (all BNF chapters together) per 1,000 patients and per 1,000 ASTRO-PU."""
    per_list = prescribing.prescribing_measures(workspace, grouping=BnfGrouping.ALL, month=month)
    per_astro = prescribing.prescribing_measures(
        workspace, grouping=BnfGrouping.ALL, denominator=Denominator.ASTRO_PU, month=per_list["month"]
    )
    astro = {row["org"]: row for row in per_astro["rows"]}
    practices = []
    for row in per_list["rows"]:
        other = astro.get(row["org"], {})
        practices.append(
            {
                "practice": row["org"],
                "practice_name": row["org_name"],
                "items": row["items"],
                "nic_pence": row["nic_pence"],
                "actual_cost_pence": row["actual_cost_pence"],
                "list_size": row["denominator"],
                "items_per_1000_patients": row["items_per_1000"],
                "actual_cost_pence_per_1000_patients": row["actual_cost_pence_per_1000"],
                "astro_pu": other.get("denominator"),
                "items_per_1000_astro_pu": other.get("items_per_1000"),
                "actual_cost_pence_per_1000_astro_pu": other.get("actual_cost_pence_per_1000"),
                "generic_items": row["generic_items"],
                "generic_eligible_items": row["generic_eligible_items"],
                "generic_rate": row["generic_rate"],
            }
        )
    savings = prescribing.prescribing_savings(workspace, month=per_list["month"], limit=None)
    return {
        "month": per_list["month"],
        "rate_base": per_list["rate_base"],
        "practices": practices,
        "unplaced_practices": per_list["unplaced_practices"],
        "savings": savings,
    }


def _for_user(document: dict[str, Any], user: User) -> dict[str, Any]:
    """Everything for those who see every organisation; a practice user's own practice only. ``savings`` is
    ``outturn prescribing savings --format json``'s document (its largest 50 rows), a practice user's restricted to
    its own rows, organisation and total."""
    savings = document["savings"]
    practices, unplaced = document["practices"], document["unplaced_practices"]
    if not user.sees_everything:
        mine = (user.org_code or "").upper()
        practices, unplaced = [row for row in practices if row["practice"] == mine], []
        own = [row for row in savings["organisations"] if row["org"] == mine]
        savings = {
            **savings,
            "total_savings_pence": sum(row["savings_pence"] for row in own),
            "organisations": own,
            "savings": [row for row in savings["savings"] if row["org"] == mine],
        }
    return {
        "month": document["month"],
        "rate_base": document["rate_base"],
        "practices": practices,
        "unplaced_practices": unplaced,
        "savings": {**savings, "savings": savings["savings"][:SAVINGS_SHOWN]},
    }


async def prescribing_document(request: Request, workspace: Workspace, user: User, month: str | None) -> dict[str, Any]:
    document: dict[str, Any] = await request.app.state.cache.get_async(
        ("prescribing", month), lambda: _practice_rows(workspace, month), NOT_SAVINGS
    )
    return _for_user(document, user)


# the practice table's columns the page sorts by, server-side (a national month is thousands of practices)
PRACTICE_SORTS: dict[str, Callable[[Row], Any]] = {
    "practice": lambda row: row["practice"],
    "name": lambda row: (row["practice_name"] or "").casefold() or None,
    "items": lambda row: row["items"],
    "cost": lambda row: row["actual_cost_pence"],
    "items_patients": lambda row: row["items_per_1000_patients"],
    "cost_patients": lambda row: row["actual_cost_pence_per_1000_patients"],
    "items_astro": lambda row: row["items_per_1000_astro_pu"],
    "cost_astro": lambda row: row["actual_cost_pence_per_1000_astro_pu"],
    "generic": lambda row: row["generic_rate"],
}


# look-alike of commentary_page's route: FastAPI declarations, one per page.
@router.get("/prescribing", include_in_schema=False)
async def prescribing_page(
    request: Request,
    user: CurrentUser,
    workspace: WorkspaceDep,
    month: str | None = None,
    q: str = "",
    sort: str = "",
    dir: str = "",  # the query's name, as the savings register's
    page: int = 1,
) -> Response:
    """The month's practices a page at a time, filtered by code or name and sorted by any column."""
    document = await prescribing_document(request, workspace, user, month)
    query = TableQuery(q, sort if sort in PRACTICE_SORTS else "", dir == "desc", page)
    paged = table_page(
        document["practices"],
        query,
        PRACTICE_SORTS,
        lambda row: f"{row['practice']} {row['practice_name'] or ''}",
        request.app.state.config.page_size,
    )
    context = {"active": "prescribing", **document, "practices": paged.rows, "paged": paged, "query": query}
    context["latest_held"] = not month  # no month asked: the latest published (it lags the ledger by months)
    return render(request, "prescribing.html", context)


@router.get("/api/prescribing", tags=["prescribing"])
async def prescribing_api(
    request: Request, user: CurrentUser, workspace: WorkspaceDep, month: str | None = None
) -> dict[str, Any]:
    """A month of prescribing (``month`` YYYY-MM, default the latest held): ``practices`` (items, ``nic_pence``,
    ``actual_cost_pence``, per 1,000 patients and per 1,000 ASTRO-PU, ``generic_rate``) and ``savings``
    (as ``outturn prescribing savings --format json``: ``savings``, the largest 50 price-per-unit savings by
    practice and group of equivalent presentations; ``organisations``; ``total_savings_pence``). A practice user
    gets its own practice's rows only. 400 when no prescribing is loaded."""
    return await prescribing_document(request, workspace, user, month)
