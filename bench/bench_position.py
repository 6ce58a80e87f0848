"""Benchmark: import a ledger and compute the position for 200 organisations x 12 months x 20 lines.

Target (issue 2): import + position under 2 s on 2 cores. Baseline, measured in the same run: a plain-Python
reading of the same CSV (csv module, Decimal money, dict sums, run-rate forecast) with no store and no
validation, i.e. the least work any implementation must do. Prints medians of several runs and the ratio.

Run: .venv/bin/python bench/bench_position.py [--orgs 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from outturn.services.imports import import_ledger, import_organisations, import_plans
from outturn.services.position import compute_position
from outturn.services.workspace import init_workspace

CATEGORIES = (
    "acute", "mental_health", "community", "continuing_healthcare", "primary_care_delegated",
    "prescribing", "other_programme", "running_costs", "reserves_contingency",
)  # fmt: skip
LINES_PER_ORG = 20
AS_AT_MONTH = 8


def write_inputs(directory: Path, org_count: int) -> tuple[Path, Path, Path]:
    organisations = directory / "organisations.csv"
    with organisations.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "kind", "parent_code"])
        writer.writerow(["BENCH", "Benchmark ICB", "icb", ""])
        writer.writerows([f"B{n:04d}", f"Sub-ICB {n}", "sub_icb", "BENCH"] for n in range(org_count))
    plans = directory / "plan.csv"
    with plans.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["org_code", "year", "item", "amount"])
        writer.writerows([f"B{n:04d}", "2025/26", "recurrent_allocation", "£250m"] for n in range(org_count))
    ledger = directory / "ledger.csv"
    with ledger.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["org_code", "year", "month", "category", "subcategory", "budget", "actual"])
        for n in range(org_count):
            for line in range(LINES_PER_ORG):
                category = CATEGORIES[line % len(CATEGORIES)]
                for month in range(1, 13):
                    budget = 1_000_000 + 137 * line + 11 * n
                    actual = f"£{budget + (n * line * month) % 50_000:,}.{month:02d}" if month <= AS_AT_MONTH else ""
                    writer.writerow([f"B{n:04d}", "2025/26", f"M{month:02d}", category, f"line {line}",
                                     f"£{budget:,}.00", actual])
    return organisations, plans, ledger


def baseline(ledger: Path) -> int:
    """Plain Python: parse, sum YTD actual per line, run-rate it, total. Returns forecast pence."""
    ytd: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    with ledger.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["actual"] and int(row["month"][1:]) <= AS_AT_MONTH:
                amount = Decimal(row["actual"].replace("£", "").replace(",", ""))
                ytd[(row["org_code"], row["category"], row["subcategory"])] += amount
    total = sum((value * 12 / AS_AT_MONTH).quantize(Decimal("0.01")) for value in ytd.values())
    return int(total * 100)


def outturn_run(root: Path, organisations: Path, plans: Path, ledger: Path, run: int) -> tuple[float, float, int]:
    with init_workspace(root / f"ws{run}", reference_dir=root) as workspace:
        import_organisations(workspace, organisations)
        import_plans(workspace, plans)
        started = time.perf_counter()
        import_ledger(workspace, ledger)
        imported = time.perf_counter()
        position = compute_position(workspace, "BENCH", "2025-11", "run-rate")
        finished = time.perf_counter()
    return imported - started, finished - imported, position.forecast_outturn_pence


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orgs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        organisations, plans, ledger = write_inputs(root, args.orgs)
        rows = args.orgs * LINES_PER_ORG * 12
        baseline_times, import_times, position_times = [], [], []
        for run in range(args.repeat):
            started = time.perf_counter()
            expected = baseline(ledger)
            baseline_times.append(time.perf_counter() - started)
            import_seconds, position_seconds, forecast = outturn_run(root, organisations, plans, ledger, run)
            import_times.append(import_seconds)
            position_times.append(position_seconds)
            if abs(forecast - expected) > len(CATEGORIES) * args.orgs * LINES_PER_ORG:
                raise SystemExit(f"forecast {forecast} disagrees with the baseline's {expected}")
    total = [i + p for i, p in zip(import_times, position_times, strict=True)]
    base = statistics.median(baseline_times)
    print(f"ledger: {args.orgs} organisations x 12 months x {LINES_PER_ORG} lines = {rows:,} rows; "
          f"median of {args.repeat} runs")
    print(f"  import (validate + store):      {statistics.median(import_times):7.3f} s")
    print(f"  position (engine + forecasts):  {statistics.median(position_times):7.3f} s")
    print(f"  import + position:              {statistics.median(total):7.3f} s   (target < 2 s)")
    print(f"  baseline, plain-Python sums:    {base:7.3f} s")
    print(f"  ratio outturn / baseline:       {statistics.median(total) / base:7.1f}x")
    print("PASS" if statistics.median(total) < 2 else "OVER TARGET")


if __name__ == "__main__":
    main()
