"""A per-process cache of computed results that empties itself when the store's data changes.

The store is asked for its data stamp (``services.web.data_stamp``) at most once every ``stamp_seconds``; a
different stamp drops every entry. Entries also expire after ``ttl_seconds``. Each key is computed by one thread
at a time, and computations that use the warehouse are serialised (one DuckDB connection per process).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
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
        self._lock = threading.Lock()
        # one computation at a time (the warehouse is one connection); re-entrant: a result may use another
        self.compute_lock = threading.RLock()
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

    def invalidate(self) -> None:
        """Forget everything now (after a change made by this process)."""
        with self._lock:
            self._entries.clear()
            self._stamped_at = float("-inf")

    def has(self, key: Hashable) -> bool:
        """Whether ``get(key)`` would answer without computing (pages then render on the event loop)."""
        self._refresh_stamp()
        found = self._entries.get(key)
        return found is not None and time.monotonic() - found[0] < self._ttl

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        self._refresh_stamp()
        found = self._entries.get(key)
        if found is not None and time.monotonic() - found[0] < self._ttl:
            return _unwrap(found[1])  # type: ignore[no-any-return]
        with self.compute_lock:
            found = self._entries.get(key)  # another thread may have computed it while this one waited
            if found is not None and time.monotonic() - found[0] < self._ttl:
                return _unwrap(found[1])  # type: ignore[no-any-return]
            try:
                value: Any = compute()
            except self._remembered as error:
                value = _Failure(error)
            with self._lock:
                self._entries[key] = (time.monotonic(), value)
        return _unwrap(value)  # type: ignore[no-any-return]

    async def get_async(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``get`` for ``async`` pages: a cached result is returned on the event loop; a computation (store and
        warehouse I/O) runs in the thread pool."""
        if self.has(key):
            return self.get(key, compute)
        return await run_in_threadpool(self.get, key, compute)
