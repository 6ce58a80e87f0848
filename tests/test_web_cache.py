"""The web's result cache (web/cache.py): a change drops only what read it, and an identical re-import nothing;
stale figures are served, saying when they were computed, while one background computation refreshes them; and
whoever made a change reads it at once.

Nothing here is timed: computations are held and released with events, and background refreshes are awaited with
``wait_for_refreshes``. The workspace is tests/web_helpers.py's: S2 plans £20k a month and delivered £10k a month
to M06 (as at 2025-09), so its forecast is £60k + 6 × £20k = £180k; setting M10 to £5k makes it £165k.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from outturn.domain.periods import FinancialYear
from outturn.services import savings
from outturn.services.imports import import_ledger
from outturn.services.savings import SchemeChanges
from outturn.services.web import SAVINGS, data_stamps
from outturn.services.workspace import Workspace
from outturn.web import WebConfig, create_app
from outturn.web.cache import EVERYTHING, NOT_SAVINGS, ResultCache, reads_only
from web_helpers import build_workspace, ledger_csv, sign_in, web_workspace

__all__ = ["web_workspace"]
K = 100_000  # pence in £1,000
YEAR = FinancialYear(2025)


def _counting(calls: list[str], name: str, value: Any = None) -> Callable[[], Any]:
    def compute() -> Any:
        calls.append(name)
        return name if value is None else value

    return compute


def _in_thread(work: Callable[[], object]) -> tuple[threading.Thread, threading.Event]:
    finished = threading.Event()

    def run() -> None:
        work()
        finished.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, finished


# --- what a change drops ------------------------------------------------------------------------------------------


def test_the_result_cache_recomputes_only_after_a_change() -> None:
    stamps = {"ledger": 1}
    calls: list[str] = []
    cache = ResultCache(lambda: dict(stamps), ttl_seconds=60, stamp_seconds=0)

    def inner() -> int:
        calls.append("inner")
        return 2

    def outer() -> int:
        calls.append("outer")
        return cache.get("inner", inner) + 1  # one result computed from another (re-entrant)

    assert cache.get("outer", outer) == 3 and cache.get("outer", outer) == 3
    assert calls == ["outer", "inner"]
    stamps["ledger"] = 2  # the store changed
    assert cache.get("outer", outer) == 3
    assert calls == ["outer", "inner", "outer", "inner"]


def test_a_change_drops_only_the_results_that_read_it() -> None:
    stamps = {"ledger": 1, SAVINGS: 1}
    calls: list[str] = []
    cache = ResultCache(lambda: dict(stamps), ttl_seconds=60, stamp_seconds=0)

    def read_all() -> None:
        cache.get("overview", _counting(calls, "overview"), EVERYTHING)
        cache.get("register", _counting(calls, "register"), reads_only(SAVINGS))
        cache.get("contracts", _counting(calls, "contracts"), NOT_SAVINGS)

    read_all()
    assert calls == ["overview", "register", "contracts"]
    calls.clear()
    stamps[SAVINGS] = 2  # a savings edit
    read_all()
    assert calls == ["overview", "register"]
    calls.clear()
    stamps["ledger"] = 2  # a ledger import that changed something
    read_all()
    assert calls == ["overview", "contracts"]
    calls.clear()
    read_all()  # nothing changed
    assert calls == []


def _edit_s2_m10(workspace: Workspace, pence: int, who: str = "fiona") -> None:
    current, _history = savings.show_scheme(workspace, YEAR, "S2")
    changes = SchemeChanges(forecast={10: pence})
    savings.update_scheme(workspace, YEAR, "S2", current.version, changes, who)


def test_an_identical_reimport_moves_no_stamp_and_a_savings_edit_only_the_savings_one(
    store_url: str, tmp_path: Path
) -> None:
    """On SQLite and PostgreSQL (the import stamps use a window function)."""
    with build_workspace(tmp_path / "built", store_url) as workspace:
        _stamps_move_with_what_changed(workspace, tmp_path)


def _stamps_move_with_what_changed(web_workspace: Workspace, tmp_path: Path) -> None:
    before = data_stamps(web_workspace)
    same = tmp_path / "ledger again.csv"
    same.write_text(ledger_csv(), encoding="utf-8")
    import_ledger(web_workspace, same)  # the very file imported when the workspace was built: recorded, no change
    assert data_stamps(web_workspace) == before

    _edit_s2_m10(web_workspace, 5_000 * 100)
    after_edit = data_stamps(web_workspace)
    assert {kind for kind in before | after_edit if before.get(kind) != after_edit.get(kind)} == {SAVINGS}

    changed = tmp_path / "m07.csv"
    changed.write_text(
        "org_code,year,month,category,subcategory,budget,actual\n01A,2025/26,M07,acute,Trust A,1000000,1200000\n"
    )
    import_ledger(web_workspace, changed)
    after_import = data_stamps(web_workspace)
    assert {kind for kind in after_edit | after_import if after_edit.get(kind) != after_import.get(kind)} == {"ledger"}
    import_ledger(web_workspace, changed)  # the same file again
    assert data_stamps(web_workspace) == after_import


def test_over_the_store_an_identical_reimport_keeps_every_entry_and_an_edit_only_what_reads_savings(
    web_workspace: Workspace, tmp_path: Path
) -> None:
    calls: list[str] = []
    cache = ResultCache(lambda: data_stamps(web_workspace), ttl_seconds=60, stamp_seconds=0)

    def read_all() -> None:
        cache.get("overview", _counting(calls, "overview"), EVERYTHING)
        cache.get("contracts", _counting(calls, "contracts"), NOT_SAVINGS)

    read_all()
    same = tmp_path / "ledger.csv"
    same.write_text(ledger_csv(), encoding="utf-8")
    import_ledger(web_workspace, same)
    read_all()
    assert calls == ["overview", "contracts"]  # both kept
    _edit_s2_m10(web_workspace, 5_000 * 100)
    read_all()
    assert calls == ["overview", "contracts", "overview"]  # the overview reads the savings register; contracts not


# --- single flight ------------------------------------------------------------------------------------------------


def test_different_keys_compute_at_once_and_a_result_from_before_a_change_is_not_served_as_current() -> None:
    """One page's long computation never holds up another page's, and a result computed while the data changed
    is not served afterwards by ``get`` (it wants current figures)."""
    cache = ResultCache(dict, ttl_seconds=60, stamp_seconds=60)
    entered, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow() -> str:
        calls.append("slow")
        entered.set()
        release.wait(60)
        return "slow"

    slow_thread, _ = _in_thread(lambda: cache.get("slow", slow))
    assert entered.wait(30)
    quick_thread, quick_done = _in_thread(lambda: cache.get("quick", lambda: "quick"))
    quick_first = quick_done.wait(30)  # only a safety net: it answers at once unless it waits for "slow"
    cache.invalidate()  # the data changed while "slow" was being computed
    release.set()
    slow_thread.join()
    quick_thread.join()
    assert quick_first, "the quick key waited for the slow one"
    assert cache.get("slow", slow) == "slow" and calls == ["slow", "slow"]  # computed again after the change
    assert cache.get("slow", slow) == "slow" and calls == ["slow", "slow"]  # and then kept


def _waiting(cache: ResultCache, key: str, count: int) -> bool:
    """Whether ``count`` requests come to wait for ``key``'s computation (polled: a safety net, not a timing)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        work = cache._computing.get(key)
        if work is not None and work.waiting == count:
            return True
        time.sleep(0.01)
    return False


def test_requests_waiting_on_one_computation_share_it_unless_the_data_changed_after_they_arrived() -> None:
    """Those that arrived before any later change share the computation under way; one that arrived after a
    change gets a computation that starts after that change."""
    cache = ResultCache(dict, ttl_seconds=60, stamp_seconds=60)
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def compute() -> int:
        calls.append(len(calls) + 1)
        if len(calls) == 1:
            entered.set()
            release.wait(60)
        return len(calls)

    results: dict[str, int] = {}

    def ask(name: str) -> Callable[[], None]:
        return lambda: results.__setitem__(name, cache.get("page", compute))

    first, _ = _in_thread(ask("first"))
    assert entered.wait(30)
    early = [_in_thread(ask(name))[0] for name in ("b", "c")]
    assert _waiting(cache, "page", 2)
    cache.invalidate()  # the data changes while "first" computes
    late, _ = _in_thread(ask("late"))
    assert _waiting(cache, "page", 3)
    release.set()
    for thread in (first, *early, late):
        thread.join(30)
    assert results == {"first": 1, "b": 1, "c": 1, "late": 2}
    assert calls == [1, 2]  # b and c shared the first computation; late computed after the change
    assert cache.get("page", compute) == 2 and calls == [1, 2]  # the second result was kept


# --- stale while revalidate ---------------------------------------------------------------------------------------


def test_stale_figures_are_served_with_their_time_while_one_computation_refreshes_them() -> None:
    stamps = {SAVINGS: 1}
    cache = ResultCache(lambda: dict(stamps), ttl_seconds=60, stamp_seconds=0, stale_seconds=3600)
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def compute() -> int:
        calls.append(len(calls) + 1)
        if len(calls) == 2:  # the refresh: held until released
            entered.set()
            release.wait(60)
        return len(calls)

    first = cache.figures("register", compute, reads_only(SAVINGS))
    assert (first.value, first.refreshing) == (1, False)
    stamps[SAVINGS] = 2  # someone else's edit
    served = [cache.figures("register", compute, reads_only(SAVINGS)) for _ in range(3)]
    assert entered.wait(30)
    assert [(found.value, found.refreshing, found.as_at) for found in served] == [(1, True, first.as_at)] * 3
    assert calls == [1, 2]  # one refresh, however many requests found the figures stale
    release.set()
    cache.wait_for_refreshes()
    fresh = cache.figures("register", compute, reads_only(SAVINGS))
    assert (fresh.value, fresh.refreshing) == (2, False) and fresh.as_at > first.as_at
    assert calls == [1, 2]


def test_under_a_stream_of_changes_a_page_is_refreshed_at_most_once_an_interval() -> None:
    """With an interval of an hour, changes after a computation start no refresh within the hour: the previous
    figures are served (said to be refreshing), computed once."""
    stamps = {SAVINGS: 1}
    cache = ResultCache(
        lambda: dict(stamps), ttl_seconds=7200, stamp_seconds=0, stale_seconds=3600, refresh_seconds=3600
    )
    calls: list[str] = []
    compute = _counting(calls, "register")
    assert cache.figures("register", compute, reads_only(SAVINGS)).refreshing is False
    for edit in range(2, 6):
        stamps[SAVINGS] = edit
        assert cache.figures("register", compute, reads_only(SAVINGS)).refreshing is True
    cache.wait_for_refreshes()
    assert calls == ["register"]


def test_figures_stale_for_longer_than_the_bound_are_never_served() -> None:
    """With a bound of 0 seconds every read after a change waits for the new figures (the bound is what it
    says: here no stale read at all)."""
    stamps = {SAVINGS: 1}
    cache = ResultCache(lambda: dict(stamps), ttl_seconds=60, stamp_seconds=0, stale_seconds=0)
    calls: list[str] = []
    assert cache.figures("register", _counting(calls, "first"), reads_only(SAVINGS)).value == "first"
    stamps[SAVINGS] = 2
    found = cache.figures("register", _counting(calls, "second"), reads_only(SAVINGS))
    assert (found.value, found.refreshing) == ("second", False)


def test_whoever_made_the_change_reads_it_while_others_may_see_the_previous_figures() -> None:
    stamps = {SAVINGS: 1}
    cache = ResultCache(lambda: dict(stamps), ttl_seconds=60, stamp_seconds=3600, stale_seconds=3600)
    version = [1]

    def compute() -> int:
        return version[0]

    assert cache.figures("register", compute, reads_only(SAVINGS), reader="alice").value == 1
    since = cache.sequence
    version[0], stamps[SAVINGS] = 2, 2  # alice saves: the store's data and its stamp move
    cache.wrote("alice", since)  # the route tells the cache at once (the stamps are not due for an hour)
    other = cache.figures("register", compute, reads_only(SAVINGS), reader="bob")
    assert (other.value, other.refreshing) == (1, True)  # bob: the previous figures, marked as refreshing
    mine = cache.figures("register", compute, reads_only(SAVINGS), reader="alice")
    assert (mine.value, mine.refreshing) == (2, False)  # alice: her own change, at once
    cache.wait_for_refreshes()


# --- the pages ----------------------------------------------------------------------------------------------------


def _register_forecast(client: TestClient, query: str = "q=S2") -> tuple[int, str]:
    response = client.get(f"/api/savings/schemes?{query}")
    [row] = response.json()["schemes"]
    return row["forecast_total_pence"], response.headers["X-Figures-Refreshing"]


def test_an_editor_reads_their_edit_at_once_and_other_pages_say_their_figures_are_refreshing(
    web_workspace: Workspace,
) -> None:
    config = WebConfig(stamp_seconds=3600, stale_seconds=3600, refresh_seconds=0)
    app = create_app(web_workspace.settings, config)
    with TestClient(app) as editor:
        board = TestClient(app)  # a second browser (the first runs the application's start and end)
        csrf = sign_in(editor, "fiona")
        sign_in(board, "bob")
        assert _register_forecast(board) == (180 * K, "false")
        assert _register_forecast(editor, "q=S2&sort=plan") == (180 * K, "false")  # the editor's own view
        page = board.get("/savings?q=S1").text
        assert re.search(r'id="figures-as-at">Figures as at \d\d:\d\d:\d\d</p>', page)

        version = editor.get("/api/savings/schemes/2025/S2").json()["version"]
        body = {"version": version, "forecast_pence": {"10": 5 * K}}
        assert editor.post("/api/savings/schemes/2025/S2", json=body, headers={"X-CSRF-Token": csrf}).is_success
        assert _register_forecast(board) == (180 * K, "true")  # someone else: the previous figures, said so
        page = board.get("/savings?q=S1").text
        assert re.search(r'id="figures-as-at">Figures as at \d\d:\d\d:\d\d; refreshing', page)
        # the editor, in a view nobody has refreshed since: £60k + 5 × £20k + £5k, at once
        assert _register_forecast(editor, "q=S2&sort=plan") == (165 * K, "false")
        app.state.cache.wait_for_refreshes()
        assert _register_forecast(board) == (165 * K, "false")


def _position_page(client: TestClient) -> tuple[str, str, str]:
    """The position page's bridge table, its bridge chart and its figures note."""
    html = client.get("/position").text
    table = html[html.index('id="bridge"') :]
    chart = html[html.index('id="bridge-chart"') :]
    note = re.search(r'id="figures-as-at">([^<]+)</p>', html)
    assert note
    return table[: table.index("</table>")], chart[: chart.index("</figure>")], note.group(1)


def _savings_step(table: str) -> str:
    found = re.search(r"<td>Savings[^<]*</td><td class=\"app-numeric\">([^<]+)</td>", table)
    assert found, table
    return found.group(1)


def test_the_position_page_serves_the_previous_figures_with_their_own_charts_while_the_new_ones_are_drawn(
    web_workspace: Workspace, monkeypatch: Any
) -> None:
    """The bridge's savings shortfall: the M07-M12 plan, 6 × (£10k + £20k) = £180k, less its forecast at 90%:
    £162k before the edit (£18k short); S2's M10 forecast set to £5k makes the forecast 6 × £10k + 5 × £20k + £5k
    = £165k, at 90% £148.5k (£31.5k short). The charts are drawn off the request path: while the new figures'
    charts are drawn (held here; the editor, who made the change, waits for them) another reader gets the previous
    figures with the previous charts, said to be refreshing, at once."""
    from outturn.web import drawing

    config = WebConfig(stamp_seconds=3600, stale_seconds=3600, refresh_seconds=0)
    app = create_app(web_workspace.settings, config)
    with TestClient(app) as editor:
        board = TestClient(app)
        csrf = sign_in(editor, "fiona")
        sign_in(board, "bob")
        table, chart, note = _position_page(board)
        assert _savings_step(table) == "(£18k)" and "<svg" in chart and "refreshing" not in note

        drawing_started, release = threading.Event(), threading.Event()
        draw_all = drawing.draw_all

        def held(draws: Any) -> list[Any]:
            drawing_started.set()
            assert release.wait(60)
            return draw_all(draws)

        monkeypatch.setattr(drawing, "draw_all", held)
        version = editor.get("/api/savings/schemes/2025/S2").json()["version"]
        body = {"version": version, "forecast_pence": {"10": 5 * K}}
        assert editor.post("/api/savings/schemes/2025/S2", json=body, headers={"X-CSRF-Token": csrf}).is_success
        mine: list[tuple[str, str, str]] = []
        thread, _ = _in_thread(lambda: mine.append(_position_page(editor)))  # the new figures, their charts held
        assert drawing_started.wait(30)
        # board: the new figures are computed, their charts not yet drawn: the previous figures with their charts
        stale_table, stale_chart, stale_note = _position_page(board)
        assert not release.is_set() and not mine
        assert (stale_table, stale_chart) == (table, chart) and "refreshing" in stale_note
        release.set()
        thread.join(60)
        # the editor: their own change, figures and chart together
        [(mine_table, mine_chart, mine_note)] = mine
        assert _savings_step(mine_table) == "(£32k)" and "refreshing" not in mine_note  # £31.5k to the £1,000
        assert "<svg" in mine_chart and mine_chart != chart
        assert _position_page(board)[:2] == (mine_table, mine_chart)


def test_a_result_from_before_a_readers_change_is_known_not_to_be_theirs_to_see() -> None:
    """``wrote_since`` and a ``Cached``'s sequence, by which the position page shows the previous figures and their
    charts only to readers who changed nothing since: a result computed before a reader's change is not theirs to
    see; one computed after it is."""
    stamps = {SAVINGS: 1}
    cache = ResultCache(lambda: dict(stamps), ttl_seconds=60, stamp_seconds=3600, stale_seconds=3600)
    before = cache.figures("overview", lambda: "before", EVERYTHING, reader="alice")
    since = cache.sequence
    stamps[SAVINGS] = 2
    cache.wrote("alice", since)
    assert cache.wrote_since("alice", before.sequence) and not cache.wrote_since("bob", before.sequence)
    after = cache.figures("overview", lambda: "after", EVERYTHING, reader="alice")
    assert after.value == "after" and not cache.wrote_since("alice", after.sequence)
    assert not cache.wrote_since("alice", before.sequence, reads_only("ledger"))  # a change to what it never read
