"""Charts drawn for the web in a worker process (web/drawing.py): the same SVG as the pack's builder draws in
process; a worker that dies costs one chart drawn in the caller, not an error; and a server that ends, however it
ends, leaves no worker behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from outturn.domain.position import BridgeStep
from outturn.reports.pack_charts import waterfall_svg
from outturn.web import drawing

# a bridge of three steps: a £1m surplus planned, £0.25m of savings short, a £0.75m surplus likely
BRIDGE = [
    BridgeStep("Control total", 100_000_000, "start", 100_000_000),
    BridgeStep("Savings shortfall", -25_000_000, "step", 75_000_000),
    BridgeStep("Likely", 75_000_000, "total", 75_000_000),
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


def _ended(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            return any(line.startswith("State:") and "Z" in line for line in status)  # a zombie has ended
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to see the worker end")
def test_a_server_killed_outright_leaves_no_drawing_worker_behind() -> None:
    """A server that draws a chart, then is killed with SIGKILL (no shutdown runs): its worker ends on its own."""
    script = (
        "import sys\nfrom outturn.web import drawing\ndrawing.draw(int)\n"
        "print(*drawing._worker.pool()._processes, flush=True)\nsys.stdin.read()\n"
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    server = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment, text=True
    )
    assert server.stdout is not None
    [worker] = [int(pid) for pid in server.stdout.readline().split()]
    assert not _ended(worker)
    server.kill()
    server.wait()
    for _ in range(600):  # the worker looks for its parent every second; waits at most a minute here
        if _ended(worker):
            break
        time.sleep(0.1)
    assert _ended(worker)
