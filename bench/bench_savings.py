"""Benchmark: roll up 10,000 savings schemes x 12 months on SQLite and on PostgreSQL.

Target (issue 3): under 1 s per roll-up on each database. The roll-up loads every scheme with its phasing from
the store and computes plan, delivered, forecast, shortfall and risk-adjusted forecast at every organisation
level. Baseline, measured in the same run on the same database: one plain SQL GROUP BY summing planned and
delivered pence by organisation (the least work any roll-up must do). Prints medians and the ratio.

Run: .venv/bin/python bench/bench_savings.py [--schemes 10000] [--repeat 5] [--postgres URL]
(`make bench` starts a throwaway PostgreSQL with scripts/test-postgres.sh and passes its URL.)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

from outturn.domain.organisations import Organisation, OrgKind
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.savings import Scheme, SchemeStatus, Workstream
from outturn.domain.savings_rollup import RollupLevel
from outturn.services.savings import savings_rollup
from outturn.services.workspace import Workspace, init_workspace
from outturn.store import repository
from outturn.store import savings_repository as store

YEAR = FinancialYear(2025)
AS_AT = FinancialMonth(YEAR, 8)
BASELINE_SQL = text(
    "SELECT s.org_code, SUM(p.planned_pence), SUM(COALESCE(p.delivered_pence, 0)) "
    "FROM savings_schemes s JOIN savings_phasing p ON p.scheme_id = s.id WHERE s.year = :year GROUP BY s.org_code"
)


def organisations() -> list[Organisation]:
    orgs = [Organisation("R1", "Region", OrgKind.REGION)]
    for icb in range(10):
        orgs.append(Organisation(f"I{icb}", f"ICB {icb}", OrgKind.ICB, "R1"))
        orgs.extend(Organisation(f"S{icb}{n}", f"Sub-ICB {icb}.{n}", OrgKind.SUB_ICB, f"I{icb}") for n in range(5))
    return orgs


def schemes(count: int, seed: int = 1) -> list[Scheme]:
    rng = random.Random(seed)
    commissioners = [f"S{icb}{n}" for icb in range(10) for n in range(5)]
    made = []
    for number in range(count):
        planned = tuple(rng.randrange(0, 5_000_000) for _ in range(12))
        delivered = tuple(value * rng.randrange(50, 110) // 100 if month < AS_AT.number else None
                          for month, value in enumerate(planned))
        made.append(Scheme(
            reference=f"QIPP-{number:05d}", title=f"Scheme {number}", org_code=rng.choice(commissioners), year=YEAR,
            workstream=rng.choice(list(Workstream)), planned=planned, delivered=delivered,
            status=rng.choice([SchemeStatus.APPROVED, SchemeStatus.IN_DELIVERY, SchemeStatus.PLANNED]),
            confidence=Decimal(rng.randrange(40, 101)) / 100,
        ))
    return made


def load(workspace: Workspace, count: int) -> None:
    with workspace.store.transaction() as session:
        repository.upsert_organisations(session, organisations(), "bench")
    with workspace.store.transaction() as session:
        store.insert_schemes(session, schemes(count), "bench")


def measure(workspace: Workspace, repeat: int) -> tuple[float, float, dict[str, float]]:
    baseline, levels = [], {level.value: [] for level in RollupLevel}
    for _ in range(repeat):
        started = time.perf_counter()
        with workspace.store.reading() as session:
            session.execute(BASELINE_SQL, {"year": YEAR.start_year}).all()
        baseline.append(time.perf_counter() - started)
        for level in RollupLevel:
            started = time.perf_counter()
            savings_rollup(workspace, AS_AT, level)
            levels[level.value].append(time.perf_counter() - started)
    medians = {level: statistics.median(times) for level, times in levels.items()}
    return statistics.median(baseline), max(medians.values()), medians


def report(name: str, workspace: Workspace, count: int, repeat: int) -> None:
    started = time.perf_counter()
    load(workspace, count)
    loaded = time.perf_counter() - started
    baseline, slowest, medians = measure(workspace, repeat)
    print(f"{name}: {count:,} schemes x 12 months loaded in {loaded:.2f} s; roll-up medians of {repeat} runs:")
    for level, seconds in medians.items():
        print(f"  {level:<13} {seconds:6.3f} s")
    print(f"  slowest level {slowest:6.3f} s   (target < 1 s)  {'PASS' if slowest < 1 else 'OVER TARGET'}")
    print(f"  baseline SQL GROUP BY {baseline:6.3f} s; ratio slowest roll-up / baseline {slowest / baseline:5.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schemes", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default=os.environ.get("OUTTURN_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        with init_workspace(root / "sqlite", reference_dir=root) as workspace:
            report("SQLite", workspace, args.schemes, args.repeat)
        if args.postgres:
            with init_workspace(root / "pg", reference_dir=root, store_url=args.postgres) as workspace:
                with workspace.store.transaction() as session:
                    session.execute(text("DELETE FROM savings_phasing"))
                    session.execute(text("DELETE FROM savings_schemes"))
                report("PostgreSQL", workspace, args.schemes, args.repeat)
        else:
            print("PostgreSQL: skipped (no --postgres URL and no OUTTURN_TEST_POSTGRES_URL)")


if __name__ == "__main__":
    main()
