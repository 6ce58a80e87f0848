"""Charts drawn in a worker process, so that matplotlib (pure Python for the most part) does not hold the
interpreter the event loop and the other requests need.

The web draws with the pack's chart builders (``reports.pack_charts``): a builder and its arguments (plain
figures: lists, dicts, numbers, labels) go to one worker process, started on first use (``spawn``: a fork of a
server with threads and an open warehouse would not be safe), which keeps matplotlib loaded between charts; the
SVG text comes back. Should the worker die, the chart is drawn in the calling thread and a new worker is started
for the next one. The worker ends within a second of the server, however the server ended (even killed
outright). ``draw_all`` sends every chart of a page before waiting for the first.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

DRAWING_PROCESSES = 1
PARENT_CHECK_SECONDS = 1.0
log = logging.getLogger(__name__)

Draw = tuple[Callable[..., Any], tuple[Any, ...]]  # a chart builder and its arguments


def _end_with(parent: int) -> None:
    """In the worker: end once the process that started it has (however it ended: even killed, it leaves no
    worker behind)."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _start_worker() -> None:
    """In the worker as it starts: watch the server, and import the chart builders and matplotlib's SVG backend
    once."""
    threading.Thread(target=_end_with, args=(os.getppid(),), daemon=True).start()
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends import backend_svg  # noqa: F401

    from outturn.reports import pack_charts  # noqa: F401


class _Worker:
    """The drawing process, started on first use and again after it dies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(DRAWING_PROCESSES, mp_context=context, initializer=_start_worker)
            return self._pool

    def replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)

    def stop(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


_worker = _Worker()


def start() -> None:
    """Start the worker now (it takes a second or two to load matplotlib), so the first chart does not wait."""
    _worker.pool().submit(int)


def draw_all(draws: Sequence[Draw]) -> list[Any]:
    """What each builder returns for its arguments, drawn in the worker process, in order."""
    pool = _worker.pool()
    try:
        futures: list[Future[Any]] = [pool.submit(function, *arguments) for function, arguments in draws]
        return [future.result() for future in futures]
    except BrokenProcessPool:
        log.warning("the chart drawing process ended; drawing in this one, and starting another")
        _worker.replace(pool)
        return [function(*arguments) for function, arguments in draws]


def draw(function: Callable[..., Any], *arguments: Any) -> Any:
    """What ``function(*arguments)`` returns, drawn in the worker process."""
    return draw_all([(function, arguments)])[0]


def stop() -> None:
    """End the worker after the charts under way (the next chart starts another)."""
    _worker.stop()
