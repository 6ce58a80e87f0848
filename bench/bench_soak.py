"""Soak: 50 readers, 5 scheme editors, an import and a scenario at once against `outturn serve`, bounded in time.

Targets (issue 12): under that load, read p95 stays under 200 ms, no response is a 500, and every accepted edit (a
200) is in the scheme's audit trail and, where no later edit replaced it, in the final state. The server is `outturn
serve`'s application under uvicorn in its own process on loopback (as bench/bench_web.py starts it) over a workspace
like the demo's register: 1,000 schemes over 50 sub-ICBs, with a plan, ledger and risk register for S00. The clients
are asyncio tasks signed in as a finance user, the readers in one session and the writers in another (a session
reads its own writes at once, so readers who were the editors would wait for every edit to be recomputed; the
50 readers are other people), each session with its own httpx2 connection pool:

- 50 readers, each a person at a browser: a page, then a pause of `--think` seconds on average (uniform between
  half and one and a half times it; default 1 s, so about 50 requests a second in all; `--think 0` hammers the
  server back to back, which measures its throughput rather than what a user waits), over the overview (page and
  API), the position (page and API), the savings register (page and
  API) and scheme pages (page and API) of random schemes;
- 5 editors each read a scheme's version from the API, then save (back to back, or with `--edit-think` seconds'
  pause on average between saves) a new forecast for a future month with that
  version and the CSRF token (20 schemes shared between them, so some saves meet a later one: 409, counted);
- one importer re-imports the ledger through `POST /api/imports/ledger` in a loop;
- one analyst runs a scenario (`POST /api/scenarios/run`) in a loop;
- one probe fetches `/healthz` every 50 ms.

The first `--baseline-share` of the time (default a quarter) runs the readers and the probe alone: the baseline,
measured in the same run on the same server. The rest adds the writers. The ratio printed is the soak phase's read
p95 against the baseline phase's. The exit status is 1 when a check fails.

Run: .venv/bin/python bench/bench_soak.py [--seconds 60] [--readers 50] [--editors 5] [--schemes 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx

from bench_savings import load
from bench_web import ORG, PASSWORD, TARGET_SECONDS, _figures, _free_port, _session_cookie, _start_server
from outturn.services import users
from outturn.services.users import Role
from outturn.services.workspace import init_workspace

YEAR = 2025
FUTURE_MONTHS = (9, 10, 11, 12)  # after the workspace's as-at month, November 2025 (M08)
EDITED_SCHEMES = 20
REQUEST_TIMEOUT = 120.0
KEEPALIVE_SECONDS = 2.0
SCENARIO = """name = "Soak scenario"
org = "S00"
as_at = "2025-11"

[[levers]]
type = "vacancy_control"
monthly_saving = "£60k"

[[levers]]
type = "bed_closure"
beds = 12
cost_per_bed_day = "£350"
occupancy_percent = 92
reprovision_percent = 30

[[levers]]
type = "non_recurrent"
amount = "£250k"
month = "M11"
category = "acute"
"""


@dataclass
class Record:
    """What every task saw: (phase, kind, status, seconds) per request, and each accepted edit."""

    requests: list[tuple[str, str, str, float]] = field(default_factory=list)
    pages: list[tuple[str, str, float]] = field(default_factory=list)  # each read's (phase, page, seconds)
    accepted: list[tuple[str, int, int, int]] = field(default_factory=list)  # (reference, version, month, pence)
    phase: str = "baseline"
    loads: list[tuple[str, float]] = field(default_factory=list)  # (phase, one-minute load average)

    async def fetch(self, kind: str, call: Any) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response: httpx.Response = await call
        except httpx.TimeoutException:
            self.requests.append((self.phase, kind, "timeout", time.perf_counter() - started))
            return None
        except httpx.TransportError as error:
            self.requests.append((self.phase, kind, type(error).__name__, time.perf_counter() - started))
            return None
        self.requests.append((self.phase, kind, str(response.status_code), time.perf_counter() - started))
        return response


def _reads(schemes: int) -> list[str]:
    return ["/", "/position", "/api/position", "/savings", "/api/savings/schemes", "/api/overview"] + [
        f"{prefix}/{YEAR}/QIPP-{random.randrange(schemes):05d}" for prefix in ("/savings", "/api/savings/schemes")
    ]


def _page(path: str) -> str:
    """A read's page, schemes taken together: ``/api/savings/schemes/2025/QIPP-00042`` is ``/api/savings/schemes/…``."""
    return path.rsplit("/", 2)[0] + "/…" if "QIPP-" in path else path


async def reader(client: httpx.AsyncClient, record: Record, schemes: int, think: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        path, phase, started = random.choice(_reads(schemes)), record.phase, time.perf_counter()
        await record.fetch("read", client.get(path))
        record.pages.append((phase, _page(path), time.perf_counter() - started))
        if think:
            await asyncio.sleep(random.uniform(0.5 * think, 1.5 * think))


async def probe(client: httpx.AsyncClient, record: Record, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await record.fetch("healthz", client.get("/healthz"))
        await asyncio.sleep(0.05)


async def editor(
    client: httpx.AsyncClient, record: Record, csrf: str, number: int, think: float, stop: asyncio.Event
) -> None:
    edits = 0
    while not stop.is_set():
        reference = f"QIPP-{random.randrange(EDITED_SCHEMES):05d}"
        current = await record.fetch("edit-read", client.get(f"/api/savings/schemes/{YEAR}/{reference}"))
        if current is None or current.status_code != 200:
            continue
        edits += 1
        # each value unique, and within the scheme rules (no month above three times the year's plan)
        month, pence = random.choice(FUTURE_MONTHS), 100 * (number * 10_000 + edits)
        body = {"version": current.json()["version"], "forecast_pence": {str(month): pence}}
        saved = await record.fetch(
            "edit", client.post(f"/api/savings/schemes/{YEAR}/{reference}", json=body, headers={"X-CSRF-Token": csrf})
        )
        if saved is not None and saved.status_code == 200:
            record.accepted.append((reference, saved.json()["version"], month, pence))
        if think:
            await asyncio.sleep(random.uniform(0.5 * think, 1.5 * think))


async def load_sampler(record: Record, stop: asyncio.Event) -> None:
    """The machine's one-minute load average every 5 s, by phase (other work on the machine shows here)."""
    while not stop.is_set():
        record.loads.append((record.phase, os.getloadavg()[0]))
        await asyncio.sleep(5)


async def importer(client: httpx.AsyncClient, record: Record, csrf: str, ledger: bytes, stop: asyncio.Event) -> None:
    while not stop.is_set():
        files = {"file": ("ledger.csv", ledger, "text/csv")}
        await record.fetch("import", client.post("/api/imports/ledger", files=files, headers={"X-CSRF-Token": csrf}))


async def analyst(client: httpx.AsyncClient, record: Record, csrf: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        data = {"name": "scenarios/soak.toml"}
        await record.fetch("scenario", client.post("/api/scenarios/run", data=data, headers={"X-CSRF-Token": csrf}))


def _client(base: str, cookie: str, connections: int) -> httpx.AsyncClient:
    # idle connections closed before the server's keep-alive timeout (uvicorn's 5 s), so that a request is never
    # sent on one the server is closing at that moment (a ReadError that is the client's race, not the server's)
    limits = httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=KEEPALIVE_SECONDS
    )
    cookies = {"outturn_session": cookie}
    return httpx.AsyncClient(base_url=base, cookies=cookies, limits=limits, timeout=REQUEST_TIMEOUT)


async def soak(
    base: str, cookies: tuple[str, str], args: argparse.Namespace, ledger: bytes
) -> tuple[Record, list[str]]:
    record = Record()
    async with (
        _client(base, cookies[0], args.readers + 4) as client,
        _client(base, cookies[1], args.editors + 4) as desk,
    ):
        csrf = (await desk.get("/api/session")).json()["csrf_token"]
        for page in _reads(args.schemes):  # warm-up: each page once, so the baseline is not the first renders
            (await client.get(page)).raise_for_status()
        reading, writing = asyncio.Event(), asyncio.Event()
        background = [
            asyncio.create_task(reader(client, record, args.schemes, args.think, reading)) for _ in range(args.readers)
        ]
        background.append(asyncio.create_task(probe(client, record, reading)))
        background.append(asyncio.create_task(load_sampler(record, reading)))
        await asyncio.sleep(args.seconds * args.baseline_share)
        record.phase = "soak"
        writers = [
            asyncio.create_task(editor(desk, record, csrf, n, args.edit_think, writing)) for n in range(args.editors)
        ]
        writers += [
            asyncio.create_task(importer(desk, record, csrf, ledger, writing)),
            asyncio.create_task(analyst(desk, record, csrf, writing)),
        ]
        await asyncio.sleep(args.seconds * (1 - args.baseline_share))
        reading.set()
        writing.set()
        record.phase = "drain"
        _, pending = await asyncio.wait(background + writers, timeout=REQUEST_TIMEOUT)
        for task in pending:
            task.cancel()
        problems = await _check_edits(desk, record)
    return record, problems


async def _check_edits(client: httpx.AsyncClient, record: Record) -> list[str]:
    """Every accepted edit in its scheme's audit trail; the last accepted edit of each month in the final state."""
    problems: list[str] = []
    by_scheme: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for reference, version, month, pence in record.accepted:
        by_scheme[reference].append((version, month, pence))
    for reference, edits in sorted(by_scheme.items()):
        scheme = (await client.get(f"/api/savings/schemes/{YEAR}/{reference}")).json()
        trail = [entry for entry in scheme["history"] if entry["action"] == "update"]
        for version, month, pence in edits:
            if not any(entry["after"]["forecast_pence"][month - 1] == pence for entry in trail):
                problems.append(f"{reference} v{version}: forecast M{month:02d} {pence} not in the audit trail")
        last: dict[int, tuple[int, int]] = {}
        for version, month, pence in sorted(edits):
            last[month] = (version, pence)
        for month, (version, pence) in last.items():
            found = scheme["forecast_pence"][month - 1]
            if found != pence:
                problems.append(
                    f"{reference}: M{month:02d} is {found}, not the last accepted edit's {pence} (v{version})"
                )
    return problems


def _percentile(values: list[float], share: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def _latencies(record: Record, phase: str, kind: str) -> list[float]:
    return [seconds for at, what, status, seconds in record.requests if at == phase and what == kind]


def report(record: Record, problems: list[str], seconds: float) -> bool:
    print(f"\n  {'phase':<9}{'kind':<11}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>10}{'max ms':>10}  statuses")
    statuses: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for at, what, status, _ in record.requests:
        statuses[(at, what)][status] += 1
    for (at, what), counts in sorted(statuses.items()):
        times = _latencies(record, at, what)
        print(
            f"  {at:<9}{what:<11}{len(times):7d}{_percentile(times, 0.5) * 1000:9.1f}"
            f"{_percentile(times, 0.95) * 1000:9.1f}{_percentile(times, 0.99) * 1000:10.1f}"
            f"{max(times) * 1000:10.1f}  {dict(sorted(counts.items()))}"
        )
    print("\n  read p95 by page, baseline and soak (ms):")
    for page in sorted({page for _, page, _ in record.pages}):
        p95 = [
            _percentile([seconds for at, what, seconds in record.pages if at == phase and what == page], 0.95) * 1000
            for phase in ("baseline", "soak")
        ]
        print(f"    {page:<32}{p95[0]:9.1f}{p95[1]:9.1f}")
    baseline_p95 = _percentile(_latencies(record, "baseline", "read"), 0.95)
    soak_reads = _latencies(record, "soak", "read")
    soak_p95 = _percentile(soak_reads, 0.95)
    server_errors = sum(1 for _, _, status, _ in record.requests if status.startswith("5"))
    failures = sum(1 for _, _, status, _ in record.requests if not status.isdigit())
    print(f"\n  soak read p95 / baseline read p95 (readers alone, same run): {soak_p95 / baseline_p95:.1f}x")
    print(f"  healthz p95 under the soak: {_percentile(_latencies(record, 'soak', 'healthz'), 0.95) * 1000:.1f} ms")
    print(f"  reads in the soak phase: {len(soak_reads) / (seconds or 1):.0f} a second")
    for phase in ("baseline", "soak"):
        loads = [load for at, load in record.loads if at == phase]
        if loads:
            print(
                f"  load average (1 min) in the {phase} phase: {min(loads):.2f}-{max(loads):.2f}, "
                f"median {statistics.median(loads):.2f} ({os.cpu_count()} CPUs)"
            )
    checks = {
        f"read p95 < {TARGET_SECONDS * 1000:.0f} ms under the soak": soak_p95 < TARGET_SECONDS,
        f"no 5xx responses (found {server_errors})": server_errors == 0,
        f"no timeouts or dropped connections (found {failures})": failures == 0,
        f"every accepted edit ({len(record.accepted)}) in the audit trail and the final state": not problems,
    }
    for name, passed in checks.items():
        print(f"  {'PASS' if passed else 'FAIL'}  {name}")
    for problem in problems[:20]:
        print(f"        {problem}")
    return all(checks.values())


def _workspace(root: Path, schemes: int) -> Path:
    with init_workspace(root / "ws", reference_dir=root, default_org=ORG, default_as_at="2025-11") as workspace:
        load(workspace, schemes)
        _figures(workspace, root)
        users.add_user(workspace, "bench", PASSWORD, Role.FINANCE)
        (workspace.path / "scenarios").mkdir()
        (workspace.path / "scenarios" / "soak.toml").write_text(SCENARIO, encoding="utf-8")
        return workspace.path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="How long the load runs (default 60)")
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--think", type=float, default=1.0, help="A reader's mean pause between pages, seconds")
    parser.add_argument(
        "--edit-think", type=float, default=0.0, help="An editor's mean pause between saves, seconds (0: back to back)"
    )
    parser.add_argument("--editors", type=int, default=5)
    parser.add_argument("--schemes", type=int, default=1_000)
    parser.add_argument("--baseline-share", type=float, default=0.25, help="Share of the time with readers alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        started = time.perf_counter()
        path = _workspace(root, args.schemes)
        print(f"workspace: {args.schemes:,} schemes x 12 months, S00's figures: {time.perf_counter() - started:.1f} s")
        port = _free_port()
        server = _start_server(path, port)
        try:
            base = f"http://127.0.0.1:{port}"
            print(
                f"soak: {args.seconds:.0f} s on {base}: {args.readers} readers throughout (think {args.think:g} s); "
                f"{args.editors} editors, "
                f"an import and a scenario after the first {args.baseline_share:.0%}; load before: {_load_average()}"
            )
            cookies = (_session_cookie(base), _session_cookie(base))  # the readers', the writers'
            record, problems = asyncio.run(soak(base, cookies, args, (root / "ledger.csv").read_bytes()))
            print(f"load average after: {_load_average()}")
            passed = report(record, problems, args.seconds * (1 - args.baseline_share))
        finally:
            server.terminate()
            server.wait(10)
    sys.exit(0 if passed else 1)


def _load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg()) + f" ({os.cpu_count()} CPUs)"


if __name__ == "__main__":
    main()
