"""The position by category, and the bridge from the planned to the forecast surplus, for a page and the API."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
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
from outturn.reports.spend_charts import spend_svg
from outturn.services.forecast_history import position_history
from outturn.services.monthly_spend import position_monthly_spend
from outturn.services.pack import report_notes
from outturn.services.position import compute_backtest
from outturn.services.web import Overview
from outturn.services.workspace import Workspace
from outturn.web import drawing
from outturn.web.cache import NOT_SAVINGS, PRUNE_ABOVE, Cached, ResultCache, reads_only
from outturn.web.routes.overview import cached_overview
from outturn.web.security import Reader, WorkspaceDep, reader_of
from outturn.web.templating import figures_headers, figures_note, render

router = APIRouter()


@dataclass(frozen=True)
class PositionCharts:
    """The position page's charts, drawn once for each version of the overview's figures, with the back-test's and
    the history's (which a scheme edit leaves alone, so they are kept apart and not redrawn)."""

    document: dict[str, Any]
    bridge_chart: Markup
    fan_chart: Markup | None
    backtest_chart: Markup | None
    history: dict[str, Any]
    drift_chart: Markup | None
    spend_charts: tuple[tuple[str, str, Markup], ...] = ()  # (key, label, chart): all categories, then each


@dataclass(frozen=True)
class Charted:
    """A version of the overview's figures with its charts."""

    figures: Cached[Overview]
    charts: PositionCharts


class NewestCharts:
    """The newest version of the figures whose charts are drawn, per page (organisation, month)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._newest: dict[Hashable, Charted] = {}

    def get(self, page: Hashable) -> Charted | None:
        with self._lock:
            return self._newest.get(page)

    def drawn(self, page: Hashable, charted: Charted) -> None:
        with self._lock:
            newest = self._newest.get(page)
            if newest is None or newest.figures.as_at < charted.figures.as_at:
                if len(self._newest) > PRUNE_ABOVE:
                    self._newest.clear()
                self._newest[page] = charted


_state_lock = threading.Lock()


def _newest_charts(request: Request) -> NewestCharts:
    with _state_lock:
        found: NewestCharts | None = getattr(request.app.state, "position_charts", None)
        if found is None:
            found = request.app.state.position_charts = NewestCharts()
        return found


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


def _position_charts(cache: ResultCache, workspace: Workspace, found: Overview) -> PositionCharts:
    """The charts of one version of the figures, drawn in the drawing process."""
    position = found.position
    document = position_document(position)
    title = f"From control total to forecast, {position.as_at.label} {position.as_at.year.label} (£m)"
    draws: list[drawing.Draw] = [(waterfall_svg, (position.bridge, title))]
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
    spend = cache.get(("spend-charts", *key), lambda: _spend_charts(workspace, position), NOT_SAVINGS)
    return PositionCharts(document, bridge_chart, fan_chart[0] if fan_chart else None, backtest, history, drift, spend)


# look-alike of web/routes/ledger.py:_cost_centre_charts (shape only): declarative, keyword fields or columns, one per
# attribute.
def _spend_charts(workspace: Workspace, position: Position) -> tuple[tuple[str, str, Markup], ...]:
    """Budget against actual by month and cumulative, with the forecast to M12: all categories, then each (the
    ledger's, never the savings register's: a scheme edit does not redraw them)."""
    series = position_monthly_spend(workspace, position)
    when = f"{position.as_at.year.label} to {position.as_at.label}, forecast to M12 (£m)"
    draws: list[drawing.Draw] = [
        (spend_svg, (found, f"{found.label}: budget against spend, {when}")) for found in series
    ]
    # drawn by matplotlib from our own figures and category labels: nothing a user typed
    return tuple(
        (found.key, found.label, Markup(drawn)) for found, drawn in zip(series, drawing.draw_all(draws), strict=True)
    )


def _servable(cache: ResultCache, figures: Cached[Overview], reader: str | None) -> bool:
    """Whether figures may still be shown: out of date (at most since they began) for less than the cache's
    ``stale_seconds``, and not to someone who changed anything since."""
    age = (datetime.now(UTC) - figures.as_at).total_seconds()
    return age < cache.stale_seconds and not cache.wrote_since(reader, figures.sequence)


async def _charted(request: Request, workspace: Workspace, page: Hashable, figures: Cached[Overview]) -> Charted:
    """``figures`` with their charts where these are drawn. Otherwise they are drawn in the background and, while
    that lasts, the newest figures whose charts are drawn are shown with them (said to be refreshing) if they may
    still be; failing that the request waits for the drawing."""
    cache: ResultCache = request.app.state.cache
    newest = _newest_charts(request)
    key = ("position-charts", page, figures.as_at)

    def draw() -> PositionCharts:
        charts = _position_charts(cache, workspace, figures.value)
        newest.drawn(page, Charted(figures, charts))
        return charts

    if cache.peek(key) is None:
        previous = newest.get(page)
        if previous is not None and previous.figures.as_at == figures.as_at:  # drawn, then dropped by the cache
            return Charted(figures, previous.charts)
        cache.prefetch(key, draw, reads_only())  # drawn from that version of the figures alone: never out of date
        if previous is not None and _servable(cache, previous.figures, reader_of(request)):
            return Charted(replace(previous.figures, refreshing=True), previous.charts)
    charts: PositionCharts = await cache.get_async(key, draw, reads_only())
    return Charted(figures, charts)


@router.get("/position", include_in_schema=False)
async def position_page(
    request: Request, _user: Reader, workspace: WorkspaceDep, org: str | None = None, as_at: str | None = None
) -> Response:
    """The overview's figures as the overview page has them (the previous ones while a change is added, except to
    whoever made it), with their charts, which are drawn off the request path (see ``_charted``)."""
    figures = await cached_overview(request, workspace, org, as_at)
    shown = await _charted(request, workspace, ((org or "").upper() or None, as_at), figures)
    charts = shown.charts
    context = {
        "active": "position",
        "p": shown.figures.value.position,
        "o": shown.figures.value,
        "doc": charts.document,
        "bridge_chart": charts.bridge_chart,
        "fan_chart": charts.fan_chart,
        "backtest_chart": charts.backtest_chart,
        "history": charts.history,
        "drift_chart": charts.drift_chart,
        "spend_charts": charts.spend_charts,
        **figures_note(shown.figures),
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
