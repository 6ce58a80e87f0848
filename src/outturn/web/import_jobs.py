"""Imports run off the event loop: each upload becomes a job on a worker thread whose stage the page polls, so
the server keeps answering (``/healthz``, other users' pages) while a large file is read and stored.

A job's file is kept in a private temporary folder only while it waits for its replace to be confirmed (the
confirmation names the file's SHA-256, so the file stored is the file whose comparison was shown); otherwise the
folder goes as soon as the job ends. Only the user who started a job can see or confirm it."""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outturn.domain.errors import BadInput, NotFound, OutturnError
from outturn.domain.problems import Problem, ProblemsError
from outturn.services.imports import ImportRefused, ReplaceRequired

LOGGER = logging.getLogger(__name__)
KEPT_JOBS = 50
# the error family (bad input, not found, conflict, a busy store: its message says what was stored) is the file's
# or the moment's fault, said as it is; the rest (a plain ValueError among them) are bugs
BAD_INPUT = (OutturnError,)

# runs the import: (file, replace, expected SHA-256, report a stage) -> the summary shown
Runner = Callable[[Path, bool, str | None, Callable[[str], None]], dict[str, Any]]


@dataclass
class ImportJob:
    id: str
    username: str
    kind: str
    source: str
    folder: Path
    run: Runner
    stage: str = "queued"
    summary: dict[str, Any] | None = None
    problems: ProblemsError | None = None
    refused: ImportRefused | None = None
    error: str | None = None
    confirmed_as: str | None = None  # the job that replaced as this one compared
    done: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed_seconds(self) -> int:
        """Whole seconds since the job was started, for the page that polls it."""
        return int(time.monotonic() - self.started)

    @property
    def path(self) -> Path:
        return self.folder / self.source

    @property
    def awaits_replace(self) -> bool:
        return isinstance(self.refused, ReplaceRequired) and self.path.exists()

    @property
    def problem_list(self) -> tuple[Problem, ...]:
        return self.problems.problems if self.problems else ()

    def work(self, replace: bool, expected_sha256: str | None, on_success: Callable[[], None]) -> None:
        try:
            self.summary = self.run(self.path, replace, expected_sha256, self._set_stage)
            on_success()
        except ProblemsError as error:
            self.problems = error
        except ImportRefused as error:
            self.refused = error
        except BAD_INPUT as error:
            self.error = str(error)
        except Exception:  # a bug or an unreachable store: say so, log it, never leave the page polling forever
            LOGGER.exception("import %s of %s failed", self.id, self.source)
            self.error = "the import failed unexpectedly; nothing from the file was stored"
        finally:
            self.stage = "done"
            if not self.awaits_replace:
                shutil.rmtree(self.folder, ignore_errors=True)
            self.done.set()

    def _set_stage(self, stage: str) -> None:
        self.stage = stage


class ImportJobs:
    """The jobs of one application, newest last; old finished ones are forgotten (and their files removed)."""

    def __init__(self) -> None:
        self._jobs: OrderedDict[str, ImportJob] = OrderedDict()
        self._lock = threading.Lock()

    def start(
        self,
        username: str,
        kind: str,
        source: str,
        content: bytes,
        run: Runner,
        on_success: Callable[[], None],
    ) -> ImportJob:
        """Keep ``content`` as ``source`` in a private folder and import it on a worker thread."""
        folder = Path(tempfile.mkdtemp(prefix="outturn-upload-"))
        (folder / source).write_bytes(content)
        return self._launch(
            ImportJob(secrets.token_urlsafe(16), username, kind, source, folder, run), False, None, on_success
        )

    def confirm(self, job: ImportJob, sha256: str, on_success: Callable[[], None]) -> ImportJob:
        """Import a job's kept file again, replacing what it compared, provided it is still that file."""
        if not job.awaits_replace or job.refused is None or sha256 != job.refused.sha256:
            raise BadInput("this comparison is out of date: upload the file again")
        again = ImportJob(secrets.token_urlsafe(16), job.username, job.kind, job.source, job.folder, job.run)
        job.refused, job.confirmed_as = None, again.id  # the folder now belongs to the new job
        return self._launch(again, True, sha256, on_success)

    def cancel(self, job: ImportJob) -> None:
        if job.awaits_replace:
            shutil.rmtree(job.folder, ignore_errors=True)

    def get(self, job_id: str, username: str) -> ImportJob:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.username != username:
            raise NotFound("no such import: it may have finished long ago")
        return job

    def _launch(self, job: ImportJob, replace: bool, sha256: str | None, on_success: Callable[[], None]) -> ImportJob:
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > KEPT_JOBS:
                _id, old = self._jobs.popitem(last=False)
                self.cancel(old)
        worker = threading.Thread(
            target=job.work, args=(replace, sha256, on_success), name=f"import-{job.id}", daemon=True
        )
        worker.start()
        return job
