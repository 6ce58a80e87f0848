"""Charts drawn for the web in a worker process (web/drawing.py): the same SVG as the pack's builder draws in
process, and a worker that dies costs one chart drawn in the caller, not an error."""

from __future__ import annotations

import os
import signal

from outturn.reports.pack_charts import waterfall_svg
from outturn.web import drawing

# a bridge of three steps: a £1m surplus planned, £0.25m of savings short, a £0.75m surplus likely
BRIDGE = [
    {"label": "Control total", "kind": "start", "pence": 100_000_000, "running_pence": 100_000_000},
    {"label": "Savings shortfall", "kind": "step", "pence": -25_000_000, "running_pence": 75_000_000},
    {"label": "Likely", "kind": "total", "pence": 75_000_000, "running_pence": 75_000_000},
]


def test_the_worker_draws_what_the_pack_draws() -> None:
    drawn = drawing.draw(waterfall_svg, BRIDGE, "A bridge")
    assert drawn == waterfall_svg(BRIDGE, "A bridge")
    assert drawn.startswith("<svg") and "Savings shortfall" in drawn and os.getpid() not in _worker_pids()


def _worker_pids() -> list[int]:
    pool = drawing._worker.pool()
    return list(pool._processes)  # the standard library's own record of its workers


def test_a_worker_that_dies_costs_one_chart_drawn_here_and_the_next_gets_a_new_worker() -> None:
    drawing.draw(int)  # the worker is up
    [first] = _worker_pids()
    os.kill(first, signal.SIGKILL)
    assert drawing.draw_all([(waterfall_svg, (BRIDGE, "Drawn here")), (len, ("four",))])[1] == 4
    assert drawing.draw(len, "again") == 5
    assert _worker_pids() and first not in _worker_pids()
