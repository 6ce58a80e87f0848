"""Practice benchmarking: for a measure (GP referrals, first outpatient attendances, emergency admissions...),
each practice's activity per 1,000 registered and per 1,000 weighted population, the benchmark (the median of the
weighted rates) and the opportunity above it, as ``outturn benchmark``; with a funnel plot of the weighted rates
(a Poisson rate: square-root scale, overdispersion allowed for), drawn by ``reports.charts``, inline.

The table and funnel show every practice under the organisation: finance, board and admin only. A practice's own
page shows its row of each measure against the benchmark (``practice_measures``), which practice users see.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from outturn.domain.benchmark import MEASURE_REGISTRY, MEASURES, find_measure
from outturn.domain.errors import BadInput
from outturn.domain.periods import FinancialMonth
from outturn.reports.benchmark import benchmark_document
from outturn.reports.pack import BenchmarkSection
from outturn.reports.pack_charts import funnel_svg
from outturn.services.benchmark import benchmark as run_benchmark
from outturn.services.pack import benchmark_sections
from outturn.services.statistics import FunnelReport
from outturn.services.workspace import Workspace
from outturn.web import drawing
from outturn.web.cache import NOT_SAVINGS
from outturn.web.routes.savings import as_at_month
from outturn.web.security import Reader, WorkspaceDep
from outturn.web.templating import render

router = APIRouter()
DEFAULT_MEASURE = "gp_referrals"


def section(
    request: Request, workspace: Workspace, org: str, month: FinancialMonth, measure: str
) -> tuple[BenchmarkSection | None, str | None]:
    """The measure benchmarked across the practices under ``org`` in the month's year, or why it cannot be."""
    if measure not in MEASURE_REGISTRY:
        raise BadInput(f"unknown measure {measure!r}: one of {', '.join(MEASURE_REGISTRY)}")

    def compute() -> tuple[BenchmarkSection | None, str | None]:
        notes: list[str] = []
        found = benchmark_sections(workspace, org, month, [measure], notes)
        return (found[0] if found else None), ("; ".join(notes) or None)

    result: tuple[BenchmarkSection | None, str | None] = request.app.state.cache.get(
        ("benchmark", org, str(month.year), measure), compute, NOT_SAVINGS
    )
    return result


def _chart(request: Request, found: BenchmarkSection, org: str, month: FinancialMonth) -> Markup | None:
    if found.funnel is None:
        return None
    plot = found.funnel
    title = f"{found.measure.description.split(':')[0]} per 1,000 weighted population, {org}, {month.year.label}"
    key = ("funnel-svg", org, str(month.year), found.measure.name)
    svg: str = request.app.state.cache.get(key, lambda: drawing.draw(funnel_svg, plot, title), NOT_SAVINGS)
    return Markup(svg)  # drawn by matplotlib from our own figures: the practice codes are the only text


def api_document(
    workspace: Workspace,
    found: BenchmarkSection | None,
    note: str | None,
    org: str,
    month: FinancialMonth,
    measure: str,
) -> dict[str, Any]:
    """``outturn benchmark --format json``'s document for the same measure, organisation and year, with the
    ``funnel`` the page draws (as ``outturn funnel --format json``). When the measure cannot be benchmarked, the
    service is asked again so that its own error (the command's message) is what the API answers."""
    if found is None or found.result is None:
        run_benchmark(workspace, find_measure(measure), org=org, year=month.year)
        raise BadInput(note or f"{measure} cannot be benchmarked")
    funnel = FunnelReport("benchmark", found.funnel, None).document() if found.funnel else None
    return {**benchmark_document(found.result), "funnel": funnel}


def _org(workspace: Workspace, org: str | None) -> str:
    return workspace.org_code(org)


# look-alike of services/pricing.py:import_activity (shape only): FastAPI declarations, one per route.
@router.get("/benchmark", include_in_schema=False)
def benchmark_page(
    request: Request,
    _user: Reader,
    workspace: WorkspaceDep,
    measure: str = DEFAULT_MEASURE,
    org: str | None = None,
    as_at: str | None = None,
) -> Response:
    month, code = as_at_month(workspace, as_at), _org(workspace, org)
    found, note = section(request, workspace, code, month, measure)
    context = {
        "active": "practices",
        "measures": MEASURES,
        "chosen": measure,
        "org": code,
        "month": month,
        "found": found,
        "note": note,
        "chart": _chart(request, found, code, month) if found else None,
    }
    return render(request, "practices/benchmark.html", context)


@router.get("/api/benchmark", tags=["practices"])
def benchmark_api(
    request: Request,
    _user: Reader,
    workspace: WorkspaceDep,
    measure: str = Query(DEFAULT_MEASURE, description=", ".join(MEASURE_REGISTRY)),
    org: str | None = None,
    as_at: str | None = None,
) -> dict[str, Any]:
    """A measure benchmarked across the practices under ``org`` (default: the workspace's) in the year of
    ``as_at``, as ``outturn benchmark --measure M --org O --year Y --format json`` gives it (``measure``, ``level``,
    ``org_code``, ``financial_year``, ``benchmark``: the median of the weighted rates, ``rows``, ``summary``,
    ``warnings``), with ``funnel`` (the weighted rates per 1,000 as a Poisson funnel, as ``outturn funnel --format
    json``). 400 with the reason when the measure cannot be benchmarked. Finance, board and admin only."""
    month, code = as_at_month(workspace, as_at), _org(workspace, org)
    found, note = section(request, workspace, code, month, measure)
    return api_document(workspace, found, note, code, month, measure)


def practice_measures(request: Request, workspace: Workspace, practice: str, org: str) -> list[dict[str, Any]]:
    """The practice's row of every measure with activity, against the benchmark across the practices of ``org``
    (its sub-ICB location): never another practice's figures."""
    month = as_at_month(workspace, None)
    found = []
    for measure in MEASURES:
        benchmarked, _note = section(request, workspace, org, month, measure.name)
        if benchmarked is None or not any(row["activity"] for row in benchmarked.rows):
            continue
        mine = next((row for row in benchmarked.rows if row["org_code"] == practice), None)
        if mine is None:
            continue
        found.append(
            {
                "measure": measure.name,
                "description": measure.description,
                "unit": measure.unit,
                **{key: mine[key] for key in ("activity", "rate_actual", "rate_weighted", "rank_weighted")},
                "practices": len(benchmarked.rows),
                "benchmark_rate": benchmarked.benchmark_rate,
                "above_benchmark": mine["above_benchmark"],
                "opportunity_activity": mine["opportunity_activity"],
                "opportunity_pence": mine["opportunity_pence"],
            }
        )
    return found
