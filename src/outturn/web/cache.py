"""A per-process cache of computed results, dropped by what changed, that can serve the previous figures (saying
so) while one background computation brings them up to date.

What changed: the store is asked for its data stamps (``services.web.data_stamps``: one stamp per kind of data —
the ledger, the plans, the savings register, the organisations…) at most once every ``stamp_seconds``, and at once
after this process's own writes (``wrote``). Only the kinds whose stamp moved change, and only the results that read
them (``Reads``) go out of date: a savings edit leaves the contracts pages alone, and an identical re-import moves no
stamp at all. ``invalidate`` (everything changed) remains for writes no stamp sees. Entries also expire after
``ttl_seconds``.

Stale while revalidate (``figures``/``figures_async``, for the expensive pages): a result out of date for less than
``stale_seconds`` is still served, marked ``refreshing`` with the time its figures were computed, while one
background computation per key brings it up to date (at most one every ``refresh_seconds`` per key, however many
changes come); a request that finds it staler than that waits for the new figures. Read your writes: a request from
someone who changed what a result reads since it was computed (``reader``, their session) always waits for figures
that include the change. ``get``/``get_async`` never serve stale figures.

Single flight per key: a key is computed by one thread at a time, and requests that need it join that computation
when no change it reads came after it began; otherwise they wait for it and compute again. A computation inside a
computation (one result built from another) always uses up-to-date figures, so a result is never fresher than it
claims. Long work (a scenario run) does not belong here: it runs as a job (``web.jobs``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from starlette.concurrency import run_in_threadpool

from outturn.domain.errors import BadInput, NotFound
from outturn.services.web import SAVINGS

T = TypeVar("T")
ANY = "*"  # the kind ``invalidate`` changes: every result reads it
REFRESH_WORKERS = 2
PRUNE_ABOVE = 1_000  # entries (a chart is kept by the figures it draws, so old ones pile up until pruned)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reads:
    """The kinds of data a result is computed from: ``only`` those named, or (``only`` None) every kind but
    ``but``."""

    only: frozenset[str] | None = None
    but: frozenset[str] = frozenset()

    def __contains__(self, kind: object) -> bool:
        if kind == ANY:
            return True
        return kind not in self.but if self.only is None else kind in self.only


EVERYTHING = Reads()


def reads_only(*kinds: str) -> Reads:
    """A result computed from ``kinds`` alone."""
    return Reads(only=frozenset(kinds))


def reads_all_but(*kinds: str) -> Reads:
    """A result computed from anything but ``kinds``."""
    return Reads(but=frozenset(kinds))


NOT_SAVINGS = reads_all_but(SAVINGS)  # the pages that never read the savings register (contracts, practices…)


@dataclass(frozen=True)
class Cached(Generic[T]):
    """A result with when its figures were computed, and whether newer data is being computed now (the page says
    both)."""

    value: T
    as_at: datetime  # when the computation began (UTC): the figures include every change made before it
    refreshing: bool = False
    sequence: int = 0  # the change sequence when it began (``wrote_since``)


class _Failure:
    """An expected failure (bad request, missing data) remembered like a result, so it is not recomputed."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _unwrap(value: Any) -> Any:
    if isinstance(value, _Failure):
        raise value.error
    return value


@dataclass
class _Work:
    """A result, or one being computed: the change sequence and time it began at, what it reads, and since when
    (monotonic) a change it reads has made it out of date."""

    started: int
    as_at: datetime
    reads: Reads
    stale_since: float | None = None
    value: Any = None
    ended: float = 0.0  # monotonic, once computed
    error: BaseException | None = None  # an unexpected failure, raised to everyone who joined
    waiting: int = 0  # requests waiting for it to end
    done: threading.Event = field(default_factory=threading.Event)


class ResultCache:
    def __init__(
        self,
        stamps: Callable[[], Mapping[str, Hashable]],
        *,
        ttl_seconds: float,
        stamp_seconds: float,
        stale_seconds: float = 5.0,
        refresh_seconds: float = 0.0,
        remembered_errors: tuple[type[Exception], ...] = (BadInput, NotFound),  # a bug is never cached
    ) -> None:
        self._stamps = stamps
        self._remembered = remembered_errors
        self._ttl = ttl_seconds
        self._stamp_every = stamp_seconds
        self.stale_seconds = stale_seconds
        self._refresh_every = refresh_seconds
        self._lock = threading.RLock()  # guards everything below (re-entered by a refresh that ends at once)
        self._entries: dict[Hashable, _Work] = {}
        self._computing: dict[Hashable, _Work] = {}
        self._sequence = 0  # moves on with every change
        self._changed: dict[str, int] = {}  # kind -> the sequence of its latest change
        self._written: dict[str, dict[str, int]] = {}  # reader -> kind -> the sequence of their latest change to it
        self._known: dict[str, Hashable] | None = None  # the stamps as last read
        self._stamped_at = float("-inf")
        self._stamping = threading.Lock()  # one stamp read at a time
        self._inside = threading.local()  # computations under way on this thread
        self._refresher: ThreadPoolExecutor | None = None
        self._refreshes: set[Future[None]] = set()

    # --- what changed ------------------------------------------------------------------------------------------

    @property
    def sequence(self) -> int:
        """The change sequence now: give it to ``wrote`` after a write."""
        return self._sequence

    def _change(self, kinds: set[str]) -> None:
        """Record that ``kinds`` changed (the lock held): results reading them are out of date from now."""
        self._sequence += 1
        now = time.monotonic()
        for kind in kinds:
            self._changed[kind] = self._sequence
        for work in (*self._entries.values(), *self._computing.values()):
            if work.stale_since is None and any(kind in work.reads for kind in kinds):
                work.stale_since = now

    def _read_stamps(self, *, wait: bool) -> None:
        """Read the stamps now (``wait``: after any read under way) and change the kinds whose stamp moved."""
        if not self._stamping.acquire(blocking=wait):
            return  # another thread is reading them
        try:
            stamps = dict(self._stamps())
            with self._lock:
                self._stamped_at = time.monotonic()
                if self._known is not None:
                    moved = {
                        kind for kind in stamps.keys() | self._known.keys() if stamps.get(kind) != self._known.get(kind)
                    }
                    if moved:
                        self._change(moved)
                self._known = stamps
        finally:
            self._stamping.release()

    def _stamps_due(self) -> bool:
        return time.monotonic() - self._stamped_at >= self._stamp_every

    def wrote(self, reader: str | None, since: int) -> None:
        """After a write made by ``reader`` (their session) that began at sequence ``since``: read the stamps now,
        and make every kind changed since then read-your-writes for them."""
        self._read_stamps(wait=True)
        if reader is None:
            return
        with self._lock:
            mine = self._written.setdefault(reader, {})
            if len(self._written) > 10_000:
                self._written = {reader: mine}
            mine.update({kind: at for kind, at in self._changed.items() if at > since})

    def invalidate(self) -> None:
        """Forget everything now (after a change no stamp shows)."""
        with self._lock:
            self._change({ANY})
            self._entries.clear()
            self._stamped_at = float("-inf")

    # --- looking up ----------------------------------------------------------------------------------------------

    def _usable(self, entry: _Work | None) -> _Work | None:
        if entry is None or time.monotonic() - entry.ended >= self._ttl:
            return None
        return entry

    def _wrote_since(self, reader: str | None, work: _Work) -> bool:
        return self.wrote_since(reader, work.started, work.reads)

    def wrote_since(self, reader: str | None, sequence: int, reads: Reads = EVERYTHING) -> bool:
        """Whether ``reader`` changed what ``reads`` names after ``sequence`` (a ``Cached``'s): then they must not
        be shown that result."""
        mine = self._written.get(reader, {}) if reader else {}
        return any(at > sequence and kind in reads for kind, at in mine.items())

    def _answer(self, key: Hashable, stale_ok: bool, reader: str | None) -> _Work | None:
        """The entry to serve now (the lock held), starting its background refresh when it is served stale."""
        entry = self._usable(self._entries.get(key))
        if entry is None:
            return None
        if entry.stale_since is None:
            return entry
        if (
            stale_ok
            and not self._computing_here()  # a result built from this one must be up to date
            and time.monotonic() - entry.stale_since < self.stale_seconds
            and not self._wrote_since(reader, entry)
        ):
            return entry
        return None

    def _cached(self, entry: _Work) -> Cached[Any]:
        return Cached(_unwrap(entry.value), entry.as_at, entry.stale_since is not None, entry.started)

    def _computing_here(self) -> list[Hashable]:
        """The keys this thread is computing, outermost first."""
        keys: list[Hashable] | None = getattr(self._inside, "keys", None)
        if keys is None:
            keys = self._inside.keys = []
        return keys

    def _look_up(
        self, key: Hashable, compute: Callable[[], Any], reads: Reads, stale_ok: bool, reader: str | None
    ) -> Cached[Any]:
        if key in self._computing_here():  # a result built from itself: computed again, not kept
            return Cached(compute(), datetime.now(UTC), sequence=self._sequence)
        if self._stamps_due():
            self._read_stamps(wait=False)
        while True:
            with self._lock:
                entry = self._answer(key, stale_ok, reader)
                if entry is not None:
                    if entry.stale_since is not None:
                        self._refresh(key, entry, compute)
                    return self._cached(entry)
                work = self._computing.get(key)
                mine = work is None
                joins = work is not None and work.stale_since is None  # it includes every change made so far
                if work is None:
                    work = self._begin(key, reads)
                else:
                    work.waiting += 1
            if mine:
                self._compute(key, work, compute)
                return self._result(work)
            work.done.wait()  # joined, or waiting to compute again after it (a change came since it began)
            if joins:
                return self._result(work)

    def _result(self, work: _Work) -> Cached[Any]:
        if work.error is not None:
            raise work.error
        return Cached(_unwrap(work.value), work.as_at, sequence=work.started)

    def _begin(self, key: Hashable, reads: Reads) -> _Work:
        """A computation of ``key`` from the data as it is now (the lock held)."""
        work = _Work(self._sequence, datetime.now(UTC), reads)
        self._computing[key] = work
        return work

    def _compute(self, key: Hashable, work: _Work, compute: Callable[[], Any]) -> None:
        here = self._computing_here()
        here.append(key)
        try:
            work.value = compute()
        except self._remembered as error:
            work.value = _Failure(error)
        except BaseException as error:  # a bug or an unreachable store: nothing kept, everyone waiting told
            work.error = error
        finally:
            here.pop()
            with self._lock:
                work.ended = time.monotonic()
                if work.error is None:
                    self._entries[key] = work
                    if len(self._entries) > PRUNE_ABOVE:
                        self._prune()
                del self._computing[key]
            work.done.set()

    def _prune(self) -> None:
        """Forget the entries past their time to live, then the oldest beyond ``PRUNE_ABOVE`` (the lock held)."""
        now = time.monotonic()
        self._entries = {key: entry for key, entry in self._entries.items() if now - entry.ended < self._ttl}
        if len(self._entries) > PRUNE_ABOVE:
            newest = sorted(self._entries.items(), key=lambda item: item[1].ended)[-PRUNE_ABOVE // 2 :]
            self._entries = dict(newest)

    def _refresh(self, key: Hashable, entry: _Work, compute: Callable[[], Any]) -> None:
        """Start one background computation of ``key`` (served stale as ``entry``) unless one is under way or the
        last ended less than ``refresh_seconds`` ago (the lock held): under a stream of changes a page is computed
        at most once every ``refresh_seconds``, not once per change."""
        if key in self._computing or time.monotonic() - entry.ended < self._refresh_every:
            return
        self._start(key, self._begin(key, entry.reads), compute)

    def _start(self, key: Hashable, work: _Work, compute: Callable[[], Any]) -> None:
        """Compute ``work`` on a background thread (the lock held)."""
        if self._refresher is None:
            self._refresher = ThreadPoolExecutor(REFRESH_WORKERS, thread_name_prefix="outturn-refresh")
        future = self._refresher.submit(self._background, key, work, compute)
        self._refreshes.add(future)
        future.add_done_callback(self._refreshed)

    def _refreshed(self, future: Future[None]) -> None:
        with self._lock:
            self._refreshes.discard(future)

    def _background(self, key: Hashable, work: _Work, compute: Callable[[], Any]) -> None:
        self._compute(key, work, compute)
        if work.error is not None:
            log.error("refreshing %r failed", key, exc_info=work.error)

    # --- the interface -------------------------------------------------------------------------------------------

    def get(self, key: Hashable, compute: Callable[[], T], reads: Reads = EVERYTHING) -> T:
        """The up-to-date result of ``compute`` (computed now, or by the computation under way)."""
        return self._look_up(key, compute, reads, False, None).value  # type: ignore[no-any-return]

    def figures(
        self, key: Hashable, compute: Callable[[], T], reads: Reads = EVERYTHING, reader: str | None = None
    ) -> Cached[T]:
        """The result with when it was computed: possibly out of date for up to ``stale_seconds`` (``refreshing``),
        never out of date to the ``reader`` who made the change."""
        return self._look_up(key, compute, reads, True, reader)

    def _now(self, key: Hashable, stale_ok: bool, reader: str | None, compute: Callable[[], Any]) -> Cached[Any] | None:
        """The answer without waiting or reading the store (on the event loop), or None."""
        if self._stamps_due():
            return None
        with self._lock:
            entry = self._answer(key, stale_ok, reader)
            if entry is None:
                return None
            if entry.stale_since is not None:
                self._refresh(key, entry, compute)
            return self._cached(entry)

    async def get_async(self, key: Hashable, compute: Callable[[], T], reads: Reads = EVERYTHING) -> T:
        """``get`` for ``async`` pages: an answer at hand is returned on the event loop; anything that reads the
        store or waits runs in the thread pool."""
        found = self._now(key, False, None, compute)
        if found is None:
            found = await run_in_threadpool(self._look_up, key, compute, reads, False, None)
        return found.value  # type: ignore[no-any-return]

    async def figures_async(
        self, key: Hashable, compute: Callable[[], T], reads: Reads = EVERYTHING, reader: str | None = None
    ) -> Cached[T]:
        """``figures`` for ``async`` pages, as ``get_async``."""
        found = self._now(key, True, reader, compute)
        if found is None:
            found = await run_in_threadpool(self._look_up, key, compute, reads, True, reader)
        return found

    def peek(self, key: Hashable) -> Cached[Any] | None:
        """The result if it is computed and up to date, else None: nothing is computed or waited for."""
        with self._lock:
            entry = self._usable(self._entries.get(key))
            return None if entry is None or entry.stale_since is not None else self._cached(entry)

    def prefetch(self, key: Hashable, compute: Callable[[], Any], reads: Reads = EVERYTHING) -> None:
        """Compute ``key`` in the background unless it is up to date or being computed: a later ``get`` joins it."""
        with self._lock:
            entry = self._usable(self._entries.get(key))
            if key in self._computing or (entry is not None and entry.stale_since is None):
                return
            self._start(key, self._begin(key, reads), compute)

    def wait_for_refreshes(self) -> None:
        """Until every background computation started so far has ended."""
        with self._lock:
            started = list(self._refreshes)
        wait(started)

    def shutdown(self) -> None:
        """Let the background computations under way end (before the workspace closes); start no more."""
        with self._lock:
            refresher, self._refresher = self._refresher, None
        if refresher is not None:
            refresher.shutdown(wait=True)
