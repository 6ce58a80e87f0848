"""High-intensity-user flags and the regression-to-the-mean comparison for a national year, on DuckDB through the
engine's Ibis expressions, against a pandas implementation of the same rules timed in the same run.

Data (SYNTHETIC, generated here with numpy, already priced): ``--scale 1`` is a national year: 25m A&E attendances
and 20m admitted spells (about 40% non-elective) over 15 months (the year and the quarter before, so cohorts have
a "before"), patients drawn with a heavy tail so ~1-2% of A&E attenders make 5 or more visits. Targets (issue 17):
flags + comparison <= 20 s on 2 cores; >= 10x faster than pandas. The tables are keyed as an import stores them
(an integer ``patient_key`` from the patient dictionary; its time is printed as the import's, not the query's) and
both contenders group on that key. Each contender runs ``--rounds`` times; medians, the ratio and the load average
are printed. Run the full size once at most on a shared machine:

    PYTHONPATH=src python bench/bench_high_intensity.py --scale 0.02     # a quick check
    PYTHONPATH=src python bench/bench_high_intensity.py --scale 1 --rounds 1
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from outturn.domain.high_intensity import Thresholds, month_index
from outturn.engine import high_intensity as engine
from outturn.engine.backends import Backend
from outturn.ingest import activity_keys

AE_ROWS, APC_ROWS = 25_000_000, 20_000_000
FIRST_DAY = np.datetime64("2017-01-01")
DAYS = 455  # January 2017 to March 2018 (the financial year 2017/18 and the quarter before)


def load() -> str:
    return "load " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def generate(scale: float, seed: int = 17) -> tuple[pa.Table, pa.Table]:
    """Priced A&E and admitted activity: patients' use drawn from a gamma-Poisson mix (most attend once, a few
    many times)."""
    draw = np.random.default_rng(seed)
    ae_rows, apc_rows = int(AE_ROWS * scale), int(APC_ROWS * scale)
    patients = max(1000, int(40_000_000 * scale))
    weight = draw.gamma(1.2, 1.0, patients)
    weight /= weight.sum()

    def common(rows: int, prefix: str) -> dict[str, Any]:
        patient = draw.choice(patients, rows, p=weight)
        return {
            "id": np.char.add(prefix, np.arange(rows).astype(str)),
            "patient_id": np.char.add("P", patient.astype(str)),
            "practice": np.char.add("K", (patient % 6500).astype(str)),
            "age": (patient % 97).astype(np.int64),
            "day": FIRST_DAY + draw.integers(0, DAYS, rows).astype("timedelta64[D]"),
        }

    ae = common(ae_rows, "A")
    apc = common(apc_rows, "S")
    methods = np.array(["non_elective", "elective", "day_case"])[draw.choice(3, apc_rows, p=[0.4, 0.2, 0.4])]
    ae_table = pa.table(
        {
            "attendance_id": ae["id"],
            "patient_id": ae["patient_id"],
            "practice": ae["practice"],
            "age": ae["age"],
            "arrival_date": ae["day"],
            "price_pence": draw.integers(6_000, 25_000, ae_rows),
        }
    )
    apc_table = pa.table(
        {
            "spell_id": apc["id"],
            "patient_id": apc["patient_id"],
            "practice": apc["practice"],
            "age": apc["age"],
            "admission_method": methods,
            "admission_date": apc["day"],
            "price_pence": draw.integers(50_000, 900_000, apc_rows),
            "excess_price_pence": pa.nulls(apc_rows, pa.int64()),
        }
    )
    return ae_table, apc_table


def keyed(ae: pa.Table, apc: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Both tables with the ``patient_key`` an import stores: A&E imported first, then admitted care."""
    patients = activity_keys.extended_patients(activity_keys.no_patients(), ae)
    ae = activity_keys.with_patient_keys(ae, patients)
    patients = activity_keys.extended_patients(patients, apc)
    return ae, activity_keys.with_patient_keys(apc, patients)


def with_duckdb(ae: pa.Table, apc: pa.Table, as_at: int, cohorts: tuple[int, int]) -> dict[str, int]:
    backend = Backend("duckdb", threads=2)
    try:
        events = engine.patient_events(backend.table(ae), backend.table(apc))
        limits = Thresholds()
        flagged = backend.to_arrow(engine.flagged_patients(events, as_at, limits))
        first = engine.first_flags(events, limits)
        strata = backend.to_arrow(engine.cohort_strata(events, first, cohorts, limits))
        return {"flagged": flagged.num_rows, "strata_patients": int(pa.compute.sum(strata["patients"]).as_py() or 0)}
    finally:
        backend.close()


def pandas_events(ae: pa.Table, apc: pa.Table) -> pd.DataFrame:
    # the columns the rules read: the integer key, not the text id
    a = ae.drop_columns(["patient_id"]).to_pandas()
    s = apc.drop_columns(["patient_id"]).to_pandas()
    a = pd.DataFrame(
        {
            "patient": a.patient_key,
            "event_id": a.attendance_id,
            "practice": a.practice,
            "age": a.age,
            "activity": "ae",
            "event_date": pd.to_datetime(a.arrival_date),
            "value_pence": a.price_pence.fillna(0),
        }
    )
    s = pd.DataFrame(
        {
            "patient": s.patient_key,
            "event_id": s.spell_id,
            "practice": s.practice,
            "age": s.age,
            "activity": np.where(s.admission_method == "non_elective", "non_elective", "planned"),
            "event_date": pd.to_datetime(s.admission_date),
            "value_pence": s.price_pence.fillna(0) + s.excess_price_pence.fillna(0),
        }
    )
    events = pd.concat([a, s], ignore_index=True)
    events["month"] = events.event_date.dt.year * 12 + events.event_date.dt.month - 1
    return events


def with_pandas(ae: pa.Table, apc: pa.Table, as_at: int, cohorts: tuple[int, int]) -> dict[str, int]:
    limits = Thresholds()
    events = pandas_events(ae, apc)
    need = {"ae": limits.ae_attendances, "non_elective": limits.non_elective_admissions}
    window = events[(events.month >= as_at - 11) & (events.month <= as_at)]
    counts = window.groupby(["patient", "activity"]).size().unstack(fill_value=0)
    flagged = counts[(counts.get("ae", 0) >= need["ae"]) | (counts.get("non_elective", 0) >= need["non_elective"])]
    unplanned = events[events.activity != "planned"].sort_values(["patient", "activity", "event_date", "event_id"])
    grouped = unplanned.groupby(["patient", "activity"]).month
    back = np.where(unplanned.activity == "ae", grouped.shift(need["ae"] - 1), grouped.shift(need["non_elective"] - 1))
    qualifying = unplanned[(back >= unplanned.month - 11)]
    first = qualifying.groupby("patient").month.min().rename("flag_month")
    events["unplanned"] = (events.activity != "planned").astype(int)
    events["is_ae"] = (events.activity == "ae").astype(int)
    per_month = events.groupby(["patient", "month"]).agg(
        unplanned=("unplanned", "sum"), ae=("is_ae", "sum"), value=("value_pence", "sum"), age=("age", "max")
    )
    per_month = per_month.reset_index()
    total = per_month.groupby("patient").unplanned.transform("sum")
    pool = per_month[total >= limits.lowest].merge(first, on="patient", how="left")
    strata = 0
    for cohort in range(cohorts[0], cohorts[1] + 1):
        part = pool[(pool.month >= cohort - 11) & (pool.month <= cohort + 12)]
        before = part.month <= cohort
        part = part.assign(
            prior=np.where(before, part.unplanned, 0),
            after_value=np.where(before, 0, part.value),
            before_value=np.where(before, part.value, 0),
        )
        per = part.groupby("patient").agg(
            prior=("prior", "sum"), flag=("flag_month", "first"), before=("before_value", "sum")
        )
        per = per[(per.prior >= limits.lowest) & ~(per.flag < cohort)]
        strata += len(per)
    return {"flagged": len(flagged), "strata_patients": strata}


def timed(run: Callable[[], dict[str, int]], rounds: int) -> tuple[float, float, dict[str, int]]:
    """Median wall-clock and CPU seconds (all of this process's threads) over the rounds, and the answer."""
    wall, cpu, answer = [], [], {}
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        answer = run()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return sorted(wall)[len(wall) // 2], sorted(cpu)[len(cpu) // 2], answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.02, help="1 = a national year (25m A&E, 20m spells)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-pandas", action="store_true")
    options = parser.parse_args()
    ae, apc = generate(options.scale)
    start = time.perf_counter()
    ae, apc = keyed(ae, apc)
    print(f"patient keys as an import stores them (import time, not timed below): {time.perf_counter() - start:.2f} s")
    as_at = month_index(2018, 3)
    cohorts = (month_index(2017, 4), month_index(2018, 2))
    attenders = ae.group_by("patient_id").aggregate([("attendance_id", "count")])
    frequent = pa.compute.sum(pa.compute.greater_equal(attenders["attendance_id_count"], 5)).as_py()
    print(
        f"{ae.num_rows:,} A&E attendances, {apc.num_rows:,} spells; {frequent / attenders.num_rows:.1%} of A&E "
        f"attenders made 5+ visits in the 15 months; {load()}"
    )
    duck_seconds, duck_cpu, duck_answer = timed(lambda: with_duckdb(ae, apc, as_at, cohorts), options.rounds)
    print(
        f"outturn/DuckDB (flags + first flags + cohort strata): median {duck_seconds:.2f} s wall, {duck_cpu:.2f} s "
        f"CPU {duck_answer}; {load()}"
    )
    if not options.skip_pandas:
        pandas_seconds, pandas_cpu, pandas_answer = timed(lambda: with_pandas(ae, apc, as_at, cohorts), options.rounds)
        print(f"pandas: median {pandas_seconds:.2f} s wall, {pandas_cpu:.2f} s CPU {pandas_answer}; {load()}")
        print(
            f"outturn is {pandas_seconds / duck_seconds:.1f}x faster than pandas by the clock, "
            f"{pandas_cpu / duck_cpu:.1f}x by CPU (target >= 10x; <= 20 s at scale 1 on 2 cores)"
        )


if __name__ == "__main__":
    main()
