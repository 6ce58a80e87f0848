"""Heavy work (a scenario run) off the request path: a few worker threads, bounded in number, time and owner.

A job runs on one of ``workers`` threads; at most ``waiting`` more wait for one, and each user has at most one job
queued or running (a second is refused until the first ends). A job stops when it is cancelled, when it has run
past ``time_limit_seconds``, or when nobody has asked after it for ``abandon_seconds`` (the page polls while it
waits; a client that left stops asking): the work calls its ``checkpoint`` between steps (a scenario: before each
lever), which raises ``JobStopped`` then, and the worker is free for the next job. A job past its time limit is
reported as timed out at once, even while its worker finishes the step it is in. Finished jobs are kept
``keep_seconds`` for their owner to read; nobody else sees them.

Pages never wait on a job: they render from the cache (``web.cache``) or their own computation, and the warehouse
serialises only single statements.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from outturn.domain.errors import NotFound, OutturnError
from outturn.domain.problems import ProblemsError

log = logging.getLogger(__name__)
Checkpoint = Callable[[], None]


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


ENDED = frozenset({JobState.DONE, JobState.FAILED, JobState.TIMED_OUT, JobState.CANCELLED})


@dataclass(frozen=True)
class JobLimits:
    workers: int = 2  # jobs running at once, across all users
    waiting: int = 8  # jobs queued for a worker beyond those
    time_limit_seconds: float = 60.0  # from when a job starts
    abandon_seconds: float = 30.0  # with nobody asking after it, a job is cancelled
    keep_seconds: float = 600.0  # a finished job is kept this long for its owner


class JobRefused(Exception):
    """A job not taken: its owner already has one (``busy`` False), or every worker and place in the queue is
    taken (``busy`` True)."""

    def __init__(self, message: str, *, busy: bool) -> None:
        super().__init__(message)
        self.busy = busy


class JobStopped(Exception):
    """Raised by a checkpoint to stop the work: the job was cancelled or ran past its time limit."""

    def __init__(self, state: JobState, message: str) -> None:
        super().__init__(message)
        self.state = state


class Job:
    def __init__(self, owner: str, limits: JobLimits, clock: Callable[[], float], label: str = "") -> None:
        self.id = secrets.token_urlsafe(12)
        self.owner = owner
        self.label = label  # what the owner asked for, for the page
        self.limits = limits
        self._clock = clock
        self._cancelled = threading.Event()
        self._state = JobState.QUEUED
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.last_seen = clock()
        self.result: Any = None
        self.error: BaseException | None = None
        self.error_expected = False  # the work's answer to bad input (its message is for the user), not a bug
        self.future: Future[None] = Future()

    @property
    def state(self) -> JobState:
        """As reported: timed out as soon as the time limit passes, even before the worker reaches a checkpoint."""
        if self._state is JobState.RUNNING and self._past_time_limit():
            return JobState.TIMED_OUT
        return self._state

    @property
    def ended(self) -> bool:
        """Whether its worker has finished with it (a job reported timed out may still be finishing a step)."""
        return self._state in ENDED

    @property
    def message(self) -> str:
        """Why the job stopped, or what it is doing, in words for the page and the API."""
        state = self.state
        if state is JobState.TIMED_OUT:
            return f"stopped: it ran past the time limit of {self.limits.time_limit_seconds:g} seconds"
        if state is JobState.CANCELLED:
            return str(self.error) if self.error else "cancelled"
        if state is JobState.QUEUED:
            return "waiting for a free worker"
        return {JobState.RUNNING: "running", JobState.DONE: "done"}.get(state, "the run failed")

    def _past_time_limit(self) -> bool:
        return self.started_at is not None and self._clock() - self.started_at > self.limits.time_limit_seconds

    def touch(self) -> None:
        """Someone asked after the job: it is still wanted."""
        self.last_seen = self._clock()

    def cancel(self) -> None:
        self._cancelled.set()

    def checkpoint(self) -> None:
        """Raise ``JobStopped`` if the job should stop now; the work calls this between its steps."""
        if self._cancelled.is_set():
            raise JobStopped(JobState.CANCELLED, "cancelled")
        if self._clock() - self.last_seen > self.limits.abandon_seconds:
            raise JobStopped(JobState.CANCELLED, "cancelled: nobody was waiting for it")
        if self._past_time_limit():
            raise JobStopped(JobState.TIMED_OUT, "past its time limit")

    def run(self, work: Callable[[Checkpoint], Any], expected: tuple[type[Exception], ...]) -> None:
        self._state, self.started_at = JobState.RUNNING, self._clock()
        try:
            self.checkpoint()  # cancelled or abandoned while it waited for a worker
            self.result = work(self.checkpoint)
        except JobStopped as stopped:
            self._end(stopped.state, stopped)
        except Exception as error:  # the page or the API says what went wrong; a bug is logged here
            self.error_expected = isinstance(error, expected)
            if not self.error_expected:
                log.exception("job %s failed", self.id)
            self._end(JobState.FAILED, error)
        else:
            self._end(JobState.DONE, None)

    def _end(self, state: JobState, error: BaseException | None) -> None:
        self.error, self.ended_at = error, self._clock()
        self._state = state


class JobRunner:
    """The jobs of one application. ``expected`` errors are the work's answers (bad input, nothing found); any
    other is a bug, logged with its traceback and reported to the user without it."""

    def __init__(
        self,
        limits: JobLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        expected: tuple[type[Exception], ...] = (ProblemsError, OutturnError),
    ) -> None:
        self.limits = limits or JobLimits()
        self._clock = clock
        self._expected = expected
        self._pool = ThreadPoolExecutor(max_workers=self.limits.workers, thread_name_prefix="outturn-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, owner: str, work: Callable[[Checkpoint], Any], label: str = "") -> Job:
        """Queue ``work(checkpoint)`` for ``owner``; ``JobRefused`` when they have a job already or all is busy."""
        with self._lock:
            self._forget_old()
            active = [job for job in self._jobs.values() if not job.ended]
            if any(job.owner == owner for job in active):
                raise JobRefused("you already have a scenario running: wait for it to finish, or cancel it", busy=False)
            if len(active) >= self.limits.workers + self.limits.waiting:
                raise JobRefused("every worker is busy with other scenarios: try again in a minute", busy=True)
            job = Job(owner, self.limits, self._clock, label)
            self._jobs[job.id] = job
            job.future = self._pool.submit(job.run, work, self._expected)
        return job

    def get(self, job_id: str, owner: str) -> Job:
        """The owner's job (and it is still wanted); ``KeyError`` for an unknown job or someone else's."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.owner != owner:
            raise NotFound("no such scenario run: it finished long ago, or is not yours")
        job.touch()
        return job

    def _forget_old(self) -> None:
        now = self._clock()
        for job_id in [
            job.id
            for job in self._jobs.values()
            if job.ended_at is not None and now - job.ended_at > self.limits.keep_seconds
        ]:
            del self._jobs[job_id]

    def shutdown(self) -> None:
        """Cancel every job and let the workers go (each stops at its next checkpoint)."""
        with self._lock:
            for job in self._jobs.values():
                job.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
