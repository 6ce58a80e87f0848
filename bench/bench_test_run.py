"""Benchmark: what `make test` costs on this machine, step by step, as a fresh clone would run it.

Target (issue 15): `make test` under 3 minutes on 2 cores, with a fresh clone's cold caches. Each step of
`make test` runs once as the Makefile runs it (ruff, mypy with no cache, import-linter, pytest on two workers
with --durations); for each the wall time and the CPU time of its processes (user + system) are printed, with the
load average (os.getloadavg) before and after: on a shared machine compare CPU seconds and shares, not wall time.
Baseline, measured in the same run: pytest's collection alone (``--collect-only``, one process): the import and
collection cost every run pays before any test, so ``pytest / collection`` says how much the tests themselves add.
Then the per-module CPU of the tests (from ``--durations=0``, wall time of setup + call + teardown) and the
slowest 10.

Run: .venv/bin/python bench/bench_test_run.py [--workers 2] [--skip-pytest]
(export OUTTURN_TEST_POSTGRES_URL for the PostgreSQL cases, as `make test` does.)
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET_SECONDS = 180
DURATION = re.compile(r"^\s*([\d.]+)s (setup|call|teardown)\s+(\S+)")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(name: str, command: list[str], environment: dict[str, str]) -> tuple[float, str]:
    """Runs ``command`` in the checkout; prints and returns its wall time (and its output)."""
    load_before, cpu_before, start = os.getloadavg()[0], children_cpu(), time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - start, children_cpu() - cpu_before
    status = "ok" if result.returncode == 0 else f"exit {result.returncode}"
    print(f"{name:<24} {wall:7.1f} s wall  {cpu:7.1f} s CPU  ({status}; load {load_before:.1f} -> "
          f"{os.getloadavg()[0]:.1f})", flush=True)
    return wall, result.stdout + result.stderr


def by_module(output: str) -> tuple[dict[str, float], list[tuple[float, str]]]:
    """Seconds per test module and per test (setup + call + teardown) from pytest's ``--durations=0``."""
    modules: dict[str, float] = defaultdict(float)
    tests: dict[str, float] = defaultdict(float)
    for line in output.splitlines():
        found = DURATION.match(line)
        if found:
            seconds, nodeid = float(found.group(1)), found.group(3)
            modules[nodeid.split("::")[0]] += seconds
            tests[nodeid] += seconds
    return modules, sorted(((seconds, nodeid) for nodeid, seconds in tests.items()), reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-pytest", action="store_true", help="the static checks only")
    arguments = parser.parse_args()
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    print(f"cores {os.cpu_count()}, load {os.getloadavg()[0]:.1f}; PostgreSQL cases: "
          f"{'on' if environment.get('OUTTURN_TEST_POSTGRES_URL') else 'SKIPPED (OUTTURN_TEST_POSTGRES_URL unset)'}")
    total = 0.0
    with tempfile.TemporaryDirectory() as cache:
        total += timed("ruff", [str(BIN / "ruff"), "check", "--no-cache", "src", "tests", "bench"], environment)[0]
        mypy = [str(BIN / "mypy"), "--cache-dir", f"{cache}/serial", "--num-workers", "0"]
        timed("mypy (cold, 1 process)", mypy, environment)
        mypy = [str(BIN / "mypy"), "--cache-dir", f"{cache}/parallel", "--num-workers", "2"]
        total += timed("mypy (cold, 2 workers)", mypy, environment)[0]
    total += timed("lint-imports", [str(BIN / "lint-imports"), "--no-cache"], environment)[0]
    if arguments.skip_pytest:
        return
    pytest = [str(BIN / "python"), "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    collection, _ = timed("pytest --collect-only", [*pytest, "--collect-only"], environment)
    parallel = ["-n", str(arguments.workers), "--dist", "loadscope", "--no-loadscope-reorder", "--durations=0"]
    wall, output = timed(f"pytest -n {arguments.workers}", [*pytest, *parallel], environment)
    total += wall
    print(output.strip().splitlines()[-1])
    print(f"make test's steps together: {total:.0f} s (target {TARGET_SECONDS} s: ratio {total / TARGET_SECONDS:.2f}); "
          f"pytest / its collection alone: {wall / collection:.1f}")
    modules, tests = by_module(output)
    print("\nseconds per module (all workers together):")
    for module, seconds in sorted(modules.items(), key=lambda item: -item[1])[:25]:
        print(f"  {seconds:7.1f}  {module}")
    print("\nslowest 10 tests (setup + call + teardown):")
    for seconds, nodeid in tests[:10]:
        print(f"  {seconds:7.1f}  {nodeid}")


if __name__ == "__main__":
    main()
