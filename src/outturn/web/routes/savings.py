"""The savings register: filter and sort the schemes; one scheme's page with its months, RAG and history; the
edit form (htmx) saved with optimistic concurrency — a save based on an older version shows both versions."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from outturn.domain.errors import BadInput
from outturn.domain.money import format_thousands
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.savings import Rag, Scheme, SchemeStatus, Workstream, assess_rag
from outturn.domain.savings_codec import scheme_from_data
from outturn.reports.savings import evidence_document, register_row
from outturn.services import savings, scheme_evidence
from outturn.services.populations import organisation_names
from outturn.services.savings import SchemeRefused
from outturn.services.web import CLOSES, ORGANISATIONS, SAVINGS, VersionConflict
from outturn.services.workspace import Workspace
from outturn.web.cache import Cached, reads_only
from outturn.web.paging import page_of
from outturn.web.scheme_forms import EditErrors, SchemeEdit, differences, form_field, month_field, parse_scheme_edit
from outturn.web.security import Editor, Reader, WorkspaceDep, after_write, reader_of
from outturn.web.templating import figures_note, render

router = APIRouter()

SORTS = {
    "reference": lambda row: row["reference"],
    "title": lambda row: row["title"].lower(),
    "org": lambda row: (row["org_name"].lower(), row["reference"]),
    "workstream": lambda row: (row["workstream"], row["reference"]),
    "status": lambda row: (row["status"], row["reference"]),
    "rag": lambda row: (("red", "amber", "green").index(row["rag"]), row["reference"]),
    "plan": lambda row: row["plan_pence"],
    "forecast": lambda row: row["forecast_total_pence"],
    "shortfall": lambda row: row["shortfall_pence"],
    "risk_adjusted": lambda row: row["risk_adjusted_pence"],
}
DISPLAY_ONLY = frozenset(
    {"org_name", "href", "tag", "status_label", "plan_text", "forecast_text", "shortfall_text", "evidence_text", "html"}
)
RAG_TAGS = {"red": "red", "amber": "orange", "green": "green"}  # the NHS.UK tag colours
FILTERS = ("org", "workstream", "status", "rag", "q", "sort", "dir", "as_at")
ROWS_KEPT = 20_000  # register rows kept for reuse (a scheme's row is kept by its fields: edits leave old ones)
# the schemes (and their measures), the month closes, the organisations, and the activity and prescribing the
# measured schemes' evidence is counted from
REGISTER_READS = reads_only(SAVINGS, CLOSES, ORGANISATIONS, "activity apc", "activity op", "activity ae", "prescribing")


def as_at_month(workspace: Workspace, text: str | None) -> FinancialMonth:
    return workspace.month(text)


def _row(view: savings.SchemeView, month: int, org_name: str) -> dict[str, Any]:
    scheme = view.scheme
    forecast = scheme.forecast_total(month)
    return {
        **register_row(scheme, view.rag, month, view.evidence),
        "org_name": org_name,
        # shown as they are on the page, worked out once with the row rather than at every page view
        "href": f"/savings/{scheme.year.start_year}/{quote(scheme.reference, safe='')}",
        "tag": RAG_TAGS[view.rag.rag.value],
        "status_label": scheme.status.value.replace("_", " "),
        "plan_text": format_thousands(scheme.plan_pence),
        "forecast_text": format_thousands(forecast),
        "shortfall_text": format_thousands(scheme.plan_pence - forecast),
        "evidence_text": _evidence_text(view),
    }


def _evidence_text(view: savings.SchemeView) -> str:
    """Evidenced against reported delivery to date (£000), flagged where they differ by more than the threshold;
    blank for a scheme without a measure."""
    found = view.evidence
    if found is None:
        return ""
    if found.evidenced_pence is None:
        return "baseline not held"
    flag = " (flagged)" if found.flagged else ""
    return f"{format_thousands(found.evidenced_pence)} / {format_thousands(found.reported_pence)}{flag}"


def _kept_rows(request: Request) -> dict[Hashable, dict[str, Any]]:
    """The register's rows by scheme (every field), month and link, as computed last; emptied past ``ROWS_KEPT``."""
    kept: dict[Hashable, dict[str, Any]] | None = getattr(request.app.state, "register_rows", None)
    if kept is None or len(kept) > ROWS_KEPT:
        kept = request.app.state.register_rows = {}
    return kept


def register_rows(
    request: Request, workspace: Workspace, month: FinancialMonth, org: str | None
) -> list[dict[str, Any]]:
    """Every scheme of the year as a row, computed once while the store is unchanged."""
    code = org.upper() if org else None
    default_month = workspace.month_or_default(None)

    def compute() -> list[dict[str, Any]]:
        # each row's table row is rendered once here: the page then only joins the 50 it shows; and a scheme
        # unchanged since the register was last computed (all its fields equal) keeps its row
        template = request.app.state.templates.env.get_template("savings/register_row.html")
        as_at_query = "" if month == default_month else f"?as_at={month.calendar_label}"
        kept = _kept_rows(request)
        names = organisation_names(workspace)
        rows = []
        for view in savings.list_schemes(workspace, month, code):
            org_name = names.get(view.scheme.org_code) or view.scheme.org_code
            key = (view.scheme, view.evidence, month.number, as_at_query, org_name)
            row = kept.get(key)
            if row is None:
                row = _row(view, month.number, org_name)
                row["html"] = Markup(template.render(row=row, as_at_query=as_at_query))
                kept[key] = row
            rows.append(row)
        return rows

    rows: list[dict[str, Any]] = request.app.state.cache.get(("register", str(month), code), compute, REGISTER_READS)
    return rows


def select_rows(rows: list[dict[str, Any]], chosen: Mapping[str, str]) -> list[dict[str, Any]]:
    """Filter by workstream, status, RAG and a text search; sort by a column, ascending or descending."""
    text = chosen.get("q", "").strip().lower()
    picked = [
        row
        for row in rows
        if all(not chosen.get(key) or row[key] == chosen[key] for key in ("workstream", "status", "rag"))
        and (not text or text in row["reference"].lower() or text in row["title"].lower())
    ]
    key = SORTS.get(chosen.get("sort", ""), SORTS["reference"])
    return sorted(picked, key=key, reverse=chosen.get("dir") == "desc")


TOTALS = ("plan_pence", "forecast_total_pence", "shortfall_pence", "risk_adjusted_pence")


async def selection(
    request: Request, workspace: Workspace, month: FinancialMonth, chosen: Mapping[str, str]
) -> Cached[tuple[list[dict[str, Any]], dict[str, int]]]:
    """The rows a filter and sort pick, with their totals: kept while the register is unchanged, like the rows;
    while a change is added to them (in the background) the previous rows are served, saying so, except to whoever
    made the change."""

    def compute() -> tuple[list[dict[str, Any]], dict[str, int]]:
        rows = select_rows(register_rows(request, workspace, month, chosen.get("org") or None), chosen)
        return rows, {name: sum(row[name] for row in rows) for name in TOTALS}

    key = ("selection", str(month), *(chosen.get(name, "") for name in FILTERS))
    found: Cached[tuple[list[dict[str, Any]], dict[str, int]]] = await request.app.state.cache.figures_async(
        key, compute, REGISTER_READS, reader_of(request)
    )
    return found


@router.get("/savings", include_in_schema=False)
async def register(request: Request, _user: Reader, workspace: WorkspaceDep, page: int = 1) -> Response:
    chosen = {key: request.query_params.get(key, "") for key in FILTERS}
    month = as_at_month(workspace, chosen["as_at"] or None)
    cached = await selection(request, workspace, month, chosen)
    rows, totals = cached.value
    shown, page, pages = page_of(rows, page, request.app.state.config.page_size)
    query = "&".join(f"{key}={quote(value)}" for key, value in chosen.items() if value)
    context = {
        "active": "savings",
        "month": month,
        "rows": shown,
        "total": len(rows),
        "page": page,
        "pages": pages,
        "chosen": chosen,
        "query": query,
        "workstreams": list(Workstream),
        "statuses": list(SchemeStatus),
        "rags": list(Rag),
        "totals": totals,
        **figures_note(cached),
    }
    return render(request, "savings/register.html", context)


def scheme_context(workspace: Workspace, year: int, reference: str, as_at: str | None) -> dict[str, Any]:
    month = as_at_month(workspace, as_at)
    if month.year.start_year != year:
        month = FinancialMonth(FinancialYear(year), month.number)
    scheme, history = savings.show_scheme(workspace, FinancialYear(year), reference)
    rag = assess_rag(scheme, month.number)
    evidenced = evidence_document(scheme_evidence.scheme_evidence(workspace, scheme, month))
    return {
        "active": "savings",
        "scheme": scheme,
        "rag": rag,
        "history": history,
        "month": month,
        "evidenced": evidenced,
    }


def _form_values(scheme: Scheme, month: FinancialMonth) -> dict[str, str]:
    values = {month_field(m): "" if v is None else f"{v / 100:.2f}" for m, v in enumerate(scheme.forecast, start=1)}
    return {**values, "status": scheme.status.value, "version": str(scheme.version)}


@router.get("/savings/{year}/{reference}", include_in_schema=False)
def scheme_page(
    request: Request, _user: Reader, workspace: WorkspaceDep, year: int, reference: str, as_at: str | None = None
) -> Response:
    context = scheme_context(workspace, year, reference, as_at)
    context["form"] = _form_values(context["scheme"], context["month"])
    context["saved"] = request.query_params.get("saved") == "1"
    return render(request, "savings/scheme.html", context)


def _edit_response(request: Request, context: dict[str, Any], status: int) -> Response:
    template = "savings/edit_form.html" if request.headers.get("HX-Request") == "true" else "savings/scheme.html"
    return render(request, template, context, status_code=status)


def _version(history: list[Any], version: int) -> Scheme | None:
    """The scheme as it was at ``version``, from the audit trail (each entry records the scheme after it)."""
    for entry in reversed(history):
        if entry.after and entry.after.get("version") == version:
            return scheme_from_data(entry.after)
    return None


def save_scheme(workspace: Workspace, year: int, reference: str, edit: SchemeEdit, who: str) -> Scheme:
    return savings.update_scheme(workspace, FinancialYear(year), reference, edit.version, edit.changes, who)


@router.post("/savings/{year}/{reference}", include_in_schema=False)
async def edit_scheme(request: Request, user: Editor, workspace: WorkspaceDep, year: int, reference: str) -> Response:
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    context = scheme_context(workspace, year, reference, form.get("as_at") or None)
    month: FinancialMonth = context["month"]
    wrote = after_write(request)
    try:
        edit = parse_scheme_edit(form, month.number)
        await run_in_threadpool(save_scheme, workspace, year, reference, edit, user.username)
    except EditErrors as error:
        return _edit_response(request, {**context, "form": error.entered, "errors": error.errors}, 422)
    except VersionConflict as conflict:
        mine = edit.changes.apply(_version(context["history"], edit.version) or context["scheme"])
        theirs = conflict.current
        context = {**context, "scheme": theirs, "form": {**edit.entered, "version": str(theirs.version)}}
        context["conflict"] = {"mine": mine, "theirs": theirs, "rows": differences(mine, theirs)}
        return _edit_response(request, context, 409)
    except SchemeRefused as refused:
        errors: dict[str, str] = {}
        for fault in refused.faults:
            name = form_field(fault)
            errors[name] = f"{errors[name]}; {fault.reason}" if name in errors else fault.reason
        return _edit_response(request, {**context, "form": edit.entered, "errors": errors}, 422)
    except BadInput as error:  # a change the scheme's own rules refuse
        return _edit_response(request, {**context, "form": form, "errors": {"form": str(error)}}, 422)
    await run_in_threadpool(wrote)
    target = f"/savings/{year}/{quote(reference, safe='')}?saved=1"
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
