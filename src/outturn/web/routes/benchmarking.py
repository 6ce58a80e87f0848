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

from outturn.domain.benchmark import MEASURE_REGISTRY, MEASURES
from outturn.domain.errors import BadInput
from outturn.domain.periods import FinancialMonth
from outturn.reports.pack import BenchmarkSection
from outturn.reports.pack_charts import funnel_svg
from outturn.services.pack import benchmark_sections
from outturn.services.statistics import FunnelReport
from outturn.services.workspace import Workspace
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
    title = f"{found.measure['description'].split(':')[0]} per 1,000 weighted population, {org}, {month.year.label}"
    svg: str = request.app.state.cache.get(
        ("funnel-svg", org, str(month.year), found.measure["name"]), lambda: funnel_svg(plot, title), NOT_SAVINGS
    )
    return Markup(svg)  # drawn by matplotlib from our own figures: the practice codes are the only text


def benchmark_document(
    found: BenchmarkSection | None, note: str | None, org: str, month: FinancialMonth
) -> dict[str, Any]:
    return {
        "org_code": org,
        "financial_year": month.year.label,
        "measure": found.measure if found else None,
        "benchmark": found.benchmark if found else None,
        "benchmark_rate": found.benchmark_rate if found else None,
        "rows": list(found.rows) if found else [],
        "funnel": FunnelReport("benchmark", found.funnel, None).document() if found and found.funnel else None,
        "note": note,
    }


def _org(workspace: Workspace, org: str | None) -> str:
    return workspace.org_code(org)


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
    """A measure benchmarked across the practices under ``org`` (default: the workspace's): ``rows`` as
    ``outturn benchmark --format json`` gives them (median of the weighted rates), and ``funnel`` (the weighted
    rates per 1,000 as a Poisson funnel, as ``outturn funnel --format json``). Finance, board and admin only."""
    month, code = as_at_month(workspace, as_at), _org(workspace, org)
    found, note = section(request, workspace, code, month, measure)
    return benchmark_document(found, note, code, month)


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
