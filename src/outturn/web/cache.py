"""A per-process cache of computed results that empties itself when the store's data changes.

The store is asked for its data stamp (``services.web.data_stamp``) at most once every ``stamp_seconds``; a
different stamp drops every entry. Entries also expire after ``ttl_seconds``.

Single flight per key: a key is computed by one thread while others asking for it wait for that result; different
keys compute at the same time (the warehouse serialises its own statements, one at a time, in ``Backend``). A
result computed while the data changed (``invalidate`` or a new stamp) is not kept for later requests, but it is
handed to every request that was already waiting for it when no change came between that request's arrival and
the computation's start (so it reflects every change made before the request): under a stream of changes, the
requests waiting on one key share one computation instead of each computing again in turn.
Long work (a scenario run) does not belong here: it runs as a job (``web.jobs``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


class _Failure:
    """An expected failure (bad request, missing data) remembered like a result, so it is not recomputed."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _unwrap(value: Any) -> Any:
    if isinstance(value, _Failure):
        raise value.error
    return value


class _Flight:
    """One key's computation: its lock, how many threads hold or wait for it, and its latest result while any
    do: (the generation its computation started in, when it ended, the value)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.users = 0
        self.latest: tuple[int, float, Any] | None = None


class ResultCache:
    def __init__(
        self,
        stamp: Callable[[], Hashable],
        *,
        ttl_seconds: float,
        stamp_seconds: float,
        remembered_errors: tuple[type[Exception], ...] = (ValueError, KeyError),
    ) -> None:
        self._stamp = stamp
        self._remembered = remembered_errors
        self._ttl = ttl_seconds
        self._stamp_every = stamp_seconds
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()  # guards the entries, the flights and the generation
        self._flights: dict[Hashable, _Flight] = {}
        self._generation = 0  # moves on whenever the entries are dropped
        self._current: Hashable = None
        self._stamped_at = float("-inf")

    def _refresh_stamp(self) -> None:
        now = time.monotonic()
        if now - self._stamped_at < self._stamp_every:
            return
        stamp = self._stamp()
        with self._lock:
            self._stamped_at = now
            if stamp != self._current:
                self._current = stamp
                self._entries.clear()
                self._generation += 1

    def invalidate(self) -> None:
        """Forget everything now (after a change made by this process)."""
        with self._lock:
            self._entries.clear()
            self._generation += 1
            self._stamped_at = float("-inf")

    def _fresh(self, key: Hashable) -> tuple[float, Any] | None:
        found = self._entries.get(key)
        return found if found is not None and time.monotonic() - found[0] < self._ttl else None

    def has(self, key: Hashable) -> bool:
        """Whether ``get(key)`` would answer without computing (pages then render on the event loop)."""
        self._refresh_stamp()
        return self._fresh(key) is not None

    @contextmanager
    def _single_flight(self, key: Hashable) -> Iterator[_Flight]:
        with self._lock:
            flight = self._flights.setdefault(key, _Flight())
            flight.users += 1
        try:
            with flight.lock:  # re-entrant: a result may use another, or itself through another
                yield flight
        finally:
            with self._lock:
                flight.users -= 1
                if not flight.users:
                    del self._flights[key]

    def _shared(self, flight: _Flight, arrived: int) -> tuple[int, float, Any] | None:
        """The flight's latest result when its computation started no earlier than the data a request that
        arrived in generation ``arrived`` must see (and within the time to live)."""
        latest = flight.latest
        if latest is None or latest[0] < arrived or time.monotonic() - latest[1] >= self._ttl:
            return None
        return latest

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        self._refresh_stamp()
        arrived = self._generation
        found = self._fresh(key)
        if found is not None:
            return _unwrap(found[1])  # type: ignore[no-any-return]
        with self._single_flight(key) as flight:
            found = self._fresh(key)  # another thread may have computed it while this one waited
            if found is not None:
                return _unwrap(found[1])  # type: ignore[no-any-return]
            shared = self._shared(flight, arrived)  # computed, though not kept, since this request arrived
            if shared is not None:
                return _unwrap(shared[2])  # type: ignore[no-any-return]
            generation = self._generation
            try:
                value: Any = compute()
            except self._remembered as error:
                value = _Failure(error)
            with self._lock:
                ended = time.monotonic()
                flight.latest = (generation, ended, value)
                if generation == self._generation:  # the data did not change while it was computed
                    self._entries[key] = (ended, value)
        return _unwrap(value)  # type: ignore[no-any-return]

    async def get_async(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``get`` for ``async`` pages: a cached result is returned on the event loop; a computation (store and
        warehouse I/O) runs in the thread pool."""
        if self.has(key):
            return self.get(key, compute)
        return await run_in_threadpool(self.get, key, compute)
