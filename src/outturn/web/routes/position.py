"""The position by category, and the bridge from the planned to the forecast surplus, for a page and the API."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from outturn.domain.position import Position
from outturn.domain.year_end import P10, P50, P90
from outturn.reports.backtest import backtest_document
from outturn.reports.forecast_history import history_document
from outturn.reports.pack_charts import backtest_chart, drift_chart, fan_svg, waterfall_svg
from outturn.reports.pack_html import SYNTHETIC_NOTE
from outturn.reports.position import position_document
from outturn.services.forecast_history import position_history
from outturn.services.pack import report_notes
from outturn.services.position import compute_backtest
from outturn.services.web import Overview
from outturn.services.workspace import Workspace
from outturn.web import drawing
from outturn.web.cache import EVERYTHING, NOT_SAVINGS, Cached, ResultCache
from outturn.web.routes.overview import cached_overview, current_overview
from outturn.web.security import Reader, WorkspaceDep, reader_of
from outturn.web.templating import figures_headers, figures_note, render

router = APIRouter()


@dataclass(frozen=True)
class PositionPage:
    """The position page's figures (one version of the overview's) and its charts drawn from them, with the
    back-test's and the history's (which a scheme edit leaves alone, so they are kept apart and not redrawn)."""

    overview: Overview
    document: dict[str, Any]
    bridge_chart: Markup
    fan_chart: Markup | None
    backtest_chart: Markup | None
    history: dict[str, Any]
    drift_chart: Markup | None


def _backtest(workspace: Workspace, org: str | None, as_at: str | None) -> dict[str, Any]:
    return backtest_document(compute_backtest(workspace, org, as_at))


def _backtest_key(org: str | None, as_at: str | None) -> tuple[str, str | None, str | None]:
    """One cache entry for the back-test behind the page's chart and the API (it never reads the savings register:
    ``NOT_SAVINGS``)."""
    return ("backtest", (org or "").upper() or None, as_at)


def _cached_backtest(cache: ResultCache, workspace: Workspace, org: str | None, as_at: str | None) -> dict[str, Any]:
    found: dict[str, Any] = cache.get(_backtest_key(org, as_at), lambda: _backtest(workspace, org, as_at), NOT_SAVINGS)
    return found


def _backtest_chart(cache: ResultCache, workspace: Workspace, org_code: str, as_at: str) -> Markup | None:
    """The methods' back-test at the position's month, drawn (SYNTHETIC in its title where the data are)."""
    document = _cached_backtest(cache, workspace, org_code, as_at)
    synthetic = any(SYNTHETIC_NOTE in note for note in report_notes(workspace))
    # drawn by matplotlib from our own figures and method names: nothing a user typed
    drawn = drawing.draw(partial(backtest_chart, synthetic=synthetic), document)
    return Markup(drawn) if drawn else None


def _drift(workspace: Workspace, position: Position) -> tuple[dict[str, Any], Markup | None]:
    """The forecast history to the position's month and its drift chart (none before the first close)."""
    history = history_document(*position_history(workspace, position.org_code, up_to=position.as_at))
    drawn = drawing.draw(drift_chart, history)  # drawn from our own figures and month labels: nothing a user typed
    return history, Markup(drawn) if drawn else None


def _position_page(cache: ResultCache, workspace: Workspace, org: str | None, as_at: str | None) -> PositionPage:
    """The overview's figures as they are now, and the page's charts drawn from them (in the drawing process)."""
    found = current_overview(cache, workspace, org, as_at)
    position = found.position
    document = position_document(position)
    title = f"From control total to forecast, {position.as_at.label} {position.as_at.year.label} (£m)"
    draws: list[drawing.Draw] = [(waterfall_svg, (document["bridge"], title))]
    if found.fan:
        fan_title = (
            f"Simulated year-end as the months resolve: {P10}, {P50}, {P90} ({found.trials:,} simulated years, £m)"
        )
        fan = (found.fan, position.control_total_pence, position.forecast_surplus_pence, fan_title)
        draws.append((fan_svg, fan))
    # drawn by matplotlib from our own figures and category labels: nothing a user typed
    bridge_chart, *fan_chart = (Markup(drawn) for drawn in drawing.draw_all(draws))
    # the back-test and the history never read the savings register: a scheme edit does not redraw them
    key = (position.org_code, position.as_at.calendar_label)
    backtest = cache.get(("backtest-chart", *key), lambda: _backtest_chart(cache, workspace, *key), NOT_SAVINGS)
    history, drift = cache.get(("drift", *key), lambda: _drift(workspace, position), NOT_SAVINGS)
    return PositionPage(found, document, bridge_chart, fan_chart[0] if fan_chart else None, backtest, history, drift)


@router.get("/position", include_in_schema=False)
async def position_page(
    request: Request, _user: Reader, workspace: WorkspaceDep, org: str | None = None, as_at: str | None = None
) -> Response:
    """One version of the overview's figures with its charts, which are never drawn on the request path: while a
    change is added to them (in the background, figures and charts together) the previous version is served,
    saying so, for up to the cache's ``stale_seconds``, except to whoever made the change."""
    cache: ResultCache = request.app.state.cache
    cached: Cached[PositionPage] = await cache.figures_async(
        ("position", (org or "").upper() or None, as_at),
        lambda: _position_page(cache, workspace, org, as_at),
        EVERYTHING,
        reader_of(request),
    )
    page = cached.value
    context = {
        "active": "position",
        "p": page.overview.position,
        "o": page.overview,
        "doc": page.document,
        "bridge_chart": page.bridge_chart,
        "fan_chart": page.fan_chart,
        "backtest_chart": page.backtest_chart,
        "history": page.history,
        "drift_chart": page.drift_chart,
        **figures_note(cached),
    }
    return render(request, "position.html", context)


@router.get("/api/position/history", tags=["position"])
async def position_history_api(
    _user: Reader, workspace: WorkspaceDep, org: str | None = None, year: str | None = None
) -> dict[str, Any]:
    """The forecast recorded at each month-end close, as ``outturn position history --format json`` gives it."""
    return history_document(*await run_in_threadpool(position_history, workspace, org, year))


@router.get("/api/position", tags=["position"])
async def position_api(
    request: Request, _user: Reader, workspace: WorkspaceDep, org: str | None = None, as_at: str | None = None
) -> JSONResponse:
    """The position as ``outturn position --format json`` gives it (by category, bridge, risk range); the headers
    say when its figures were computed (``X-Figures-As-At``, ``X-Figures-Refreshing``), as the overview's."""
    cached = await cached_overview(request, workspace, org, as_at)
    return JSONResponse(position_document(cached.value.position), headers=figures_headers(cached))


@router.get("/api/forecast/backtest", tags=["position"])
async def backtest_api(
    request: Request, _user: Reader, workspace: WorkspaceDep, org: str | None = None, as_at: str | None = None
) -> dict[str, Any]:
    """Every forecast method back-tested on the past years held, as ``outturn forecast backtest --format json``
    gives it (rows, MAPE and bias per method and per category, by month, and ``auto``'s choices)."""
    cache: ResultCache = request.app.state.cache
    key = _backtest_key(org, as_at)
    found: dict[str, Any] = await cache.get_async(key, lambda: _backtest(workspace, org, as_at), NOT_SAVINGS)
    return found
