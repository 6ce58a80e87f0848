"""Runs the real ``outturn`` command line in forked children, and kills them with SIGKILL at chosen points.

Started once by the reliability tests (tests/reliability_helpers.py), this process imports ``outturn.cli`` (seconds)
and then, for each JSON request read from stdin, forks a child that runs ``outturn.cli.main()`` with the requested
arguments — the same entry point as the ``outturn`` script — so each run starts in milliseconds. A child can be
killed with ``kill -9``:

- ``kill_before_statement``: just before the n-th SQL statement the store executes (a SQLAlchemy engine event);
- ``kill_after_commit``: just after the n-th store transaction commits (a SQLAlchemy session event);
- ``kill_after_seconds``: by this process, that long after the fork (a timed kill, anywhere in the run).

A run that is not killed reports how many statements and commits it made and the index of its first write, so the
tests can place kill points across the writes. One JSON line answers each request:
``{"returncode": int (negative: the signal), "statements": int, "commits": int, "first_write": int | null,
"seconds": float}``. Nothing here is imported by outturn; the hooks live only in the children of this test helper.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from typing import Any

WRITES = ("INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER")


def _install_hooks(request: dict[str, Any], counts: dict[str, Any]) -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    kill_statement = request.get("kill_before_statement")
    kill_commit = request.get("kill_after_commit")

    def before_statement(*args: Any) -> None:
        statement = str(args[2])
        counts["statements"] += 1
        is_write = statement.lstrip().upper().startswith(WRITES) and "alembic_version" not in statement
        if is_write and counts["first_write"] is None:
            counts["first_write"] = counts["statements"]
        if counts["statements"] == kill_statement:
            os.kill(os.getpid(), signal.SIGKILL)

    def after_commit(_session: Any) -> None:
        counts["commits"] += 1
        if counts["commits"] == kill_commit:
            os.kill(os.getpid(), signal.SIGKILL)

    event.listen(Engine, "before_cursor_execute", before_statement)
    event.listen(Session, "after_commit", after_commit)


def _child(request: dict[str, Any]) -> None:
    """In the forked child: run the CLI with the request's arguments, then leave without Python's clean-up."""
    code = 1
    counts: dict[str, Any] = {"statements": 0, "commits": 0, "first_write": None}
    try:
        for stream, path in ((1, request["stdout"]), (2, request["stderr"])):
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(handle, stream)
            os.close(handle)
        os.environ.update(request.get("env", {}))
        _install_hooks(request, counts)
        from outturn.cli import main

        sys.argv = ["outturn", *request["argv"]]
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # the child reports anything else as a traceback and exit 1
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        with open(request["counts"], "w", encoding="utf-8") as handle:
            json.dump(counts, handle)
        os._exit(code)


def _wait(pid: int, kill_after_seconds: float | None) -> int:
    deadline = None if kill_after_seconds is None else time.monotonic() + kill_after_seconds
    while True:
        done, status = os.waitpid(pid, 0 if deadline is None else os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if deadline is not None and time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)  # the child is not yet reaped, so the pid is still ours
            deadline = None
        time.sleep(0.002)


def serve() -> None:
    import outturn.cli  # noqa: F401  (the expensive import, done once before any fork)

    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(request)
        returncode = _wait(pid, request.get("kill_after_seconds"))
        answer: dict[str, Any] = {"returncode": returncode, "seconds": time.monotonic() - started}
        try:
            with open(request["counts"], encoding="utf-8") as handle:
                answer.update(json.load(handle))
        except (OSError, ValueError):
            answer.update({"statements": None, "commits": None, "first_write": None})
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
