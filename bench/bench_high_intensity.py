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

from outturn.domain.high_intensity import (
    AGE_BANDS,
    COMPARISON,
    FLAGGED,
    PRIOR_ACTIVITY_CAP,
    UNKNOWN_AGE,
    Thresholds,
    month_index,
)
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


Answer = dict[str, pd.DataFrame]


def summary(answer: Answer) -> str:
    return f"{len(answer['flagged']):,} flagged, {len(answer['first']):,} first flags, " + (
        f"{int(answer['strata'].patients.sum()):,} patients in {len(answer['strata'])} strata"
    )


def with_duckdb(ae: pa.Table, apc: pa.Table, as_at: int, cohorts: tuple[int, int]) -> Answer:
    """What ``services.patients.high_intensity_users`` works out: the flagged list, the first flags (held once),
    and the cohort strata."""
    backend = Backend("duckdb", threads=2)
    try:
        events = engine.patient_events(backend.table(ae), backend.table(apc))
        limits = Thresholds()
        flagged = backend.to_arrow(engine.flagged_patients(events, as_at, limits))
        first = backend.to_arrow(engine.first_flags(events, limits))
        strata = backend.to_arrow(engine.cohort_strata(events, backend.table(first), cohorts, limits))
        return {"flagged": flagged.to_pandas(), "first": first.to_pandas(), "strata": strata.to_pandas()}
    finally:
        backend.close()


def pandas_events(ae: pa.Table, apc: pa.Table) -> pd.DataFrame:
    # the columns the rules read: the integer key, not the text id (ids are looked up for the patients listed)
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
            "priced": a.price_pence.notna(),
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
            "priced": s.price_pence.notna(),
        }
    )
    events = pd.concat([a, s], ignore_index=True)
    events["month"] = events.event_date.dt.year * 12 + events.event_date.dt.month - 1
    events["ae"] = (events.activity == "ae").astype(np.int64)
    events["non_elective"] = (events.activity == "non_elective").astype(np.int64)
    return events


def patient_ids(ae: pa.Table, apc: pa.Table, keys: pd.Series) -> pd.Series:
    """The pseudonymised id of each key in ``keys`` (the few patients listed), from the activity itself."""
    wanted = pa.array(keys.unique())
    found = [
        t.filter(pa.compute.is_in(t["patient_key"], wanted)).select(["patient_key", "patient_id"]) for t in (ae, apc)
    ]
    pairs = pa.concat_tables(found).group_by("patient_key").aggregate([("patient_id", "max")]).to_pandas()
    return keys.map(pairs.set_index("patient_key")["patient_id_max"])


def _reaching(events: pd.DataFrame, limits: Thresholds) -> pd.DataFrame:
    counts = events.groupby("patient")[["ae", "non_elective"]].sum()
    enough = counts[(counts.ae >= limits.ae_attendances) | (counts.non_elective >= limits.non_elective_admissions)]
    return events[events.patient.isin(enough.index)]


def pandas_flagged(events: pd.DataFrame, as_at: int, limits: Thresholds) -> pd.DataFrame:
    window = _reaching(events[(events.month >= as_at - 11) & (events.month <= as_at)], limits)
    window = window.sort_values(["patient", "activity", "event_date", "event_id"])
    nth = window.groupby(["patient", "activity"]).cumcount()
    reaches = ((window.activity == "ae") & (nth == limits.ae_attendances - 1)) | (
        (window.activity == "non_elective") & (nth == limits.non_elective_admissions - 1)
    )
    qualifying = window[reaches].sort_values(["patient", "event_date", "activity"]).drop_duplicates("patient")
    qualifying = qualifying.set_index("patient")
    latest = window.sort_values(["patient", "event_date", "activity", "event_id"]).drop_duplicates(
        "patient", keep="last"
    )
    window = window.assign(
        planned=(window.activity == "planned").astype(np.int64), unpriced=(~window.priced).astype(np.int64)
    )
    sums = window.groupby("patient")[["ae", "non_elective", "planned", "value_pence", "unpriced"]].sum()
    flagged = sums.join(latest.set_index("patient")[["practice", "age"]]).loc[qualifying.index]
    return pd.DataFrame(
        {
            "patient": flagged.index,
            "practice": flagged.practice.to_numpy(),
            "age": flagged.age.to_numpy(),
            "ae_attendances": flagged.ae.to_numpy(),
            "non_elective_admissions": flagged.non_elective.to_numpy(),
            "planned_admissions": flagged.planned.to_numpy(),
            "value_pence": flagged.value_pence.to_numpy(),
            "unpriced_events": flagged.unpriced.to_numpy(),
            "qualifying_date": qualifying.event_date.dt.date.to_numpy(),
            "qualifying_activity": qualifying.activity.to_numpy(),
        }
    )


def pandas_first_flags(events: pd.DataFrame, limits: Thresholds) -> pd.DataFrame:
    unplanned = _reaching(events[events.activity != "planned"], limits)
    unplanned = unplanned.sort_values(["patient", "activity", "event_date", "event_id"])
    grouped = unplanned.groupby(["patient", "activity"]).month
    need = {"ae": limits.ae_attendances, "non_elective": limits.non_elective_admissions}
    back = np.where(unplanned.activity == "ae", grouped.shift(need["ae"] - 1), grouped.shift(need["non_elective"] - 1))
    qualifying = unplanned[back >= unplanned.month - 11]
    first = qualifying.sort_values(["patient", "event_date", "activity"]).drop_duplicates("patient")
    return pd.DataFrame(
        {
            "patient_key": first.patient.to_numpy(),
            "flag_month": first.month.to_numpy(),
            "qualifying_date": first.event_date.dt.date.to_numpy(),
            "qualifying_activity": first.activity.to_numpy(),
        }
    )


def _age_bands(age: pd.Series) -> np.ndarray:
    bands = [((age >= low) & (age <= high)).to_numpy() for _, low, high in AGE_BANDS]
    return np.select(bands, [label for label, _, _ in AGE_BANDS], default=UNKNOWN_AGE)


def pandas_strata(
    events: pd.DataFrame, first: pd.DataFrame, cohorts: tuple[int, int], limits: Thresholds
) -> pd.DataFrame:
    low, high = cohorts
    unplanned = events.ae + events.non_elective
    totals = unplanned.groupby(events.patient).sum()
    pool = events[events.patient.isin(totals[totals >= limits.lowest].index)]
    pool = pool[(pool.month >= low - 11) & (pool.month <= high + 12)]
    carried = pool.groupby(["patient", "month"]).agg(
        ae=("ae", "sum"), non_elective=("non_elective", "sum"), value=("value_pence", "sum"), age=("age", "max")
    )
    carried = carried.reset_index()
    carried["age_key"] = carried.month * 1000 + carried.age
    flag_month = first.set_index("patient_key").flag_month
    parts = []
    for cohort in sorted(set(events.month[(events.month >= low) & (events.month <= high)])):
        part = carried[(carried.month >= cohort - 11) & (carried.month <= cohort + 12)]
        before = part.month <= cohort
        sides = {}
        for side, mask in (("before", before), ("after", ~before)):
            for column, name in (
                ("ae", "ae_attendances"),
                ("non_elective", "non_elective_admissions"),
                ("value", "value_pence"),
            ):
                sides[f"{side}_{name}"] = part[column].where(mask, 0)
        sides["age_key"] = part.age_key.where(before)
        per = (
            pd.DataFrame(sides)
            .groupby(part.patient)
            .agg({**{name: "sum" for name in sides if name != "age_key"}, "age_key": "max"})
        )
        per["prior"] = per.before_ae_attendances + per.before_non_elective_admissions
        per = per[per.prior >= limits.lowest]
        flagged_in = per.index.map(flag_month)
        group = np.where(
            flagged_in == cohort, FLAGGED, np.where(np.isnan(flagged_in) | (flagged_in > cohort), COMPARISON, "")
        )
        per = per.assign(
            cohort_month=cohort,
            group=group,
            age_band=_age_bands(per.age_key % 1000),
            prior_events=np.minimum(per.prior, PRIOR_ACTIVITY_CAP),
        )
        parts.append(per[per.group != ""])
    keys = ["cohort_month", "group", "age_band", "prior_events"]
    sums = [
        f"{side}_{name}"
        for side in ("before", "after")
        for name in ("ae_attendances", "non_elective_admissions", "value_pence")
    ]
    joined = pd.concat(parts)
    strata = joined.groupby(keys)[sums].sum()
    strata.insert(0, "patients", joined.groupby(keys).size())
    return strata.reset_index()


def with_pandas(ae: pa.Table, apc: pa.Table, as_at: int, cohorts: tuple[int, int]) -> Answer:
    limits = Thresholds()
    events = pandas_events(ae, apc)
    flagged = pandas_flagged(events, as_at, limits)
    flagged.insert(0, "patient_id", patient_ids(ae, apc, flagged.patient))
    first = pandas_first_flags(events, limits)
    first.insert(1, "patient_id", patient_ids(ae, apc, first.patient_key))
    strata = pandas_strata(events, first, cohorts, limits)
    return {"flagged": flagged.drop(columns="patient"), "first": first, "strata": strata}


def same(engine_answer: Answer, pandas_answer: Answer) -> list[str]:
    """The names of the outputs that differ (rows compared in a common order, values as plain Python)."""
    order = {
        "flagged": ["patient_id"],
        "first": ["patient_key"],
        "strata": ["cohort_month", "group", "age_band", "prior_events"],
    }
    differing = []
    for name, columns in order.items():
        ours, theirs = engine_answer[name], pandas_answer[name][list(engine_answer[name].columns)]
        rows = [
            frame.sort_values(columns).astype(object).where(frame.notna(), None).values.tolist()
            for frame in (ours, theirs)
        ]
        if [[int(v) if isinstance(v, (np.integer, float)) and v == int(v) else v for v in row] for row in rows[0]] != [
            [int(v) if isinstance(v, (np.integer, float)) and v == int(v) else v for v in row] for row in rows[1]
        ]:
            differing.append(name)
    return differing


def timed(run: Callable[[], Answer], rounds: int) -> tuple[float, float, Answer]:
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
        f"CPU ({summary(duck_answer)}); {load()}"
    )
    if not options.skip_pandas:
        pandas_seconds, pandas_cpu, pandas_answer = timed(lambda: with_pandas(ae, apc, as_at, cohorts), options.rounds)
        print(
            f"pandas: median {pandas_seconds:.2f} s wall, {pandas_cpu:.2f} s CPU ({summary(pandas_answer)}); {load()}"
        )
        differing = same(duck_answer, pandas_answer)
        print(
            "same answers from both (flagged list, first flags, strata)" if not differing else f"DIFFERENT: {differing}"
        )
        print(
            f"outturn is {pandas_seconds / duck_seconds:.1f}x faster than pandas by the clock, "
            f"{pandas_cpu / duck_cpu:.1f}x by CPU (target >= 10x; <= 20 s at scale 1 on 2 cores)"
        )


if __name__ == "__main__":
    main()
