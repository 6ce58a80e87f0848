"""Benchmark: p95 latency of the overview and the savings register with 5,000 schemes, 50 concurrent clients.

Target (issue 7): p95 under 200 ms for each page on loopback. The load tool is `hey` (Debian package `hey`;
`apt-get install hey`), a real HTTP load generator run as a separate process. The server is `outturn serve`'s
application under uvicorn in its own process (one process: the DuckDB warehouse admits one writer process),
signed in as a finance user (the session cookie goes with every request, so each request also checks its
session). Baseline, measured in the same run on the same server: the
plain-text `/healthz` route (no session, no store) — what the server and the load tool cost by themselves.
Each page is measured `--repeat` times after one warm-up run; medians are printed with the ratio to the baseline.

Run: .venv/bin/python bench/bench_web.py [--schemes 5000] [--clients 50] [--requests 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx

from bench_savings import load  # 5,000 schemes x 12 months over 50 sub-ICBs, as the savings benchmark loads them
from outturn.services import users
from outturn.services.imports import import_ledger, import_plans, import_risks
from outturn.services.users import Role
from outturn.services.workspace import Workspace, init_workspace

TARGET_SECONDS = 0.200
ORG = "S00"
PASSWORD = "bench-password-1"
PAGES = {
    "baseline /healthz": "/healthz",
    "overview /": "/",
    "register /savings": "/savings",
    "register sorted, filtered": "/savings?sort=shortfall&dir=desc&status=approved&page=2",
}


def _figures(workspace: Workspace, root: Path) -> None:
    """A plan, ledger and risk register for S00, so the overview has a position and a simulation to show."""
    (root / "plan.csv").write_text(
        f"org_code,year,item,amount,description\n{ORG},2025/26,recurrent_allocation,£700m,\n"
        f"{ORG},2025/26,control_total,£0,\n"
    )
    ledger = ["org_code,year,month,category,subcategory,budget,actual"]
    for category, monthly in (("acute", 30_000_000), ("prescribing", 8_000_000), ("community", 9_000_000)):
        for month in range(1, 13):
            actual = str(monthly * 102 // 100) if month <= 8 else ""
            ledger.append(f"{ORG},2025/26,M{month:02d},{category},,{monthly},{actual}")
    (root / "ledger.csv").write_text("\n".join(ledger) + "\n")
    (root / "risks.csv").write_text(
        "org_code,year,kind,description,value,likelihood,category\n"
        f"{ORG},2025/26,risk,Winter,£4m,50%,acute\n{ORG},2025/26,mitigation,Reserves,£2m,80%,\n"
    )
    import_plans(workspace, root / "plan.csv")
    import_ledger(workspace, root / "ledger.csv")
    import_risks(workspace, root / "risks.csv")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_server(workspace: Path, port: int) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "OUTTURN_WORKSPACE": str(workspace)}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "outturn.web.app:app_from_environment",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, env=environment)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not start")


def _session_cookie(base: str) -> str:
    with httpx.Client(base_url=base) as client:
        token = client.get("/api/session").json()["csrf_token"]
        response = client.post(
            "/api/session", json={"username": "bench", "password": PASSWORD}, headers={"X-CSRF-Token": token}
        )
        response.raise_for_status()
        return str(client.cookies["outturn_session"])


def _hey(url: str, cookie: str, requests: int, clients: int) -> tuple[float, float, float]:
    """(p50 seconds, p95 seconds, requests per second) from one `hey` run; every response must be 200."""
    output = subprocess.run(
        ["hey", "-n", str(requests), "-c", str(clients), "-H", f"Cookie: outturn_session={cookie}", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    statuses = re.findall(r"\[(\d{3})\]\s+\d+ responses", output)
    if statuses != ["200"]:
        raise SystemExit(f"{url}: responses other than 200: {statuses}\n{output}")
    p50 = float(re.search(r"50%+ in ([\d.]+) secs", output).group(1))  # type: ignore[union-attr]
    p95 = float(re.search(r"95%+ in ([\d.]+) secs", output).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    return p50, p95, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schemes", type=int, default=5_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("hey") is None:
        raise SystemExit("bench_web needs the `hey` load generator: apt-get install hey")
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        started = time.perf_counter()
        with init_workspace(root / "ws", reference_dir=root, default_org=ORG, default_as_at="2025-11") as workspace:
            load(workspace, args.schemes)
            _figures(workspace, root)
            users.add_user(workspace, "bench", PASSWORD, Role.FINANCE)
            path = workspace.path
        print(f"workspace: {args.schemes:,} schemes x 12 months loaded in {time.perf_counter() - started:.1f} s")
        port = _free_port()
        server = _start_server(path, port)
        try:
            base = f"http://127.0.0.1:{port}"
            cookie = _session_cookie(base)
            print(
                f"hey: {args.requests:,} requests per run, {args.clients} concurrent clients, one server "
                f"process; medians of {args.repeat} runs after a warm-up"
            )
            print(f"  {'page':<28}{'p50 ms':>9}{'p95 ms':>9}{'req/s':>9}{'p95/baseline':>14}")
            baseline_p95 = None
            for name, page in PAGES.items():
                _hey(base + page, cookie, min(args.requests, 200), args.clients)  # warm-up: caches filled
                runs = [_hey(base + page, cookie, args.requests, args.clients) for _ in range(args.repeat)]
                p50, p95, rate = (statistics.median(values) for values in zip(*runs, strict=True))
                baseline_p95 = baseline_p95 or p95
                verdict = "" if name.startswith("baseline") else ("PASS" if p95 < TARGET_SECONDS else "OVER TARGET")
                print(
                    f"  {name:<28}{p50 * 1000:9.1f}{p95 * 1000:9.1f}{rate:9.0f}{p95 / baseline_p95:13.1f}x  {verdict}"
                )
            print(f"  target: p95 < {TARGET_SECONDS * 1000:.0f} ms for the overview and the register")
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
