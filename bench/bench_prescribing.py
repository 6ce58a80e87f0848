"""Benchmark: prescribing measures and price-per-unit savings over a national month, against pandas.

Issue 5's target, measured in one run on a SYNTHETIC national month (``outturn prescribing generate``: 18m
practice x presentation rows, 6,500 practices):
1. Every measure and the savings with DuckDB on 2 cores: measures by practice x BNF chapter, section and chemical
   per 1,000 patients; by PCN and sub-ICB location x chapter per 1,000 patients and per 1,000 ASTRO-PU (each with
   the generic prescribing rate); price-per-unit savings by practice, PCN and sub-ICB location. Time, rows per
   second and peak memory (a child process, measured alone); target 30 s or less.
2. On a 2m-row slice: the same practice-level work (measures by chapter, generic rate, price-per-unit savings)
   in outturn (DuckDB) and in a straightforward vectorised pandas implementation, medians of 3 after a warm-up;
   the ratio, and whether their totals agree to the penny.

Run: .venv/bin/python bench/bench_prescribing.py [--data /tmp/outturn-prescribing] [--rows 18000000]
Generation is not timed; it is reused when --data already holds it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from outturn.demo.prescribing import generate_prescribing
from outturn.domain.prescribing import (
    EXCLUSIONS_REGEX,
    BnfGrouping,
    Denominator,
    OrgLevel,
    SavingsRules,
    substitution_groups,
)
from outturn.engine import prescribing as engine
from outturn.engine.backends import Backend
from outturn.ingest.prescribing import read_formulation_swaps
from outturn.settings import default_reference_dir

MEASURES = [
    (OrgLevel.PRACTICE, BnfGrouping.CHAPTER, Denominator.LIST),
    (OrgLevel.PRACTICE, BnfGrouping.SECTION, Denominator.LIST),
    (OrgLevel.PRACTICE, BnfGrouping.CHEMICAL, Denominator.LIST),
    (OrgLevel.PCN, BnfGrouping.CHAPTER, Denominator.LIST),
    (OrgLevel.PCN, BnfGrouping.CHAPTER, Denominator.ASTRO_PU),
    (OrgLevel.SUB_ICB, BnfGrouping.CHAPTER, Denominator.LIST),
    (OrgLevel.SUB_ICB, BnfGrouping.CHAPTER, Denominator.ASTRO_PU),
]
SAVINGS_LEVELS = (OrgLevel.PRACTICE, OrgLevel.PCN, OrgLevel.SUB_ICB)
SWAPS = Path("openprescribing") / "formulation_swaps.csv"


def generate(data: Path, reference_dir: Path, rows: int, practices: int) -> None:
    if (data / "prescribing.json").exists() and json.loads((data / "prescribing.json").read_text())["rows"] > 0:
        print(f"reusing the SYNTHETIC national month in {data}")
        return
    started = time.perf_counter()
    counts = generate_prescribing(data, reference_dir=reference_dir, rows=rows, practices=practices)
    print(f"generated {counts['rows']:,} rows in {time.perf_counter() - started:.0f} s (not timed): {counts}")


def _groups(reference_dir: Path) -> Any:
    path = reference_dir / SWAPS
    return substitution_groups(read_formulation_swaps(path)) if path.is_file() else ()


def run_all(backend: Backend, prescribing: Path, practices: Path, reference_dir: Path) -> dict[str, Any]:
    """Every measure and every level of savings. The two passes over every row (totals by practice and chemical;
    quantity and cost by practice and group of equivalent presentations) are kept in DuckDB (Ibis ``cache``) and
    every measure and level is derived from them, as a service producing them all would."""
    rx = backend.read_parquet(prescribing)
    populations = backend.read_parquet(practices)
    attributes = backend.table(
        backend.to_arrow(engine.presentation_attributes(rx, engine.group_members(_groups(reference_dir))))
    )
    names = engine.practice_names(rx).cache()
    chemical = engine.practice_totals(rx, attributes, BnfGrouping.CHEMICAL).cache()
    result: dict[str, Any] = {}
    for level, grouping, per in MEASURES:
        totals = chemical if grouping is BnfGrouping.CHEMICAL else engine.regroup(chemical, grouping)
        rows = backend.to_arrow(engine.measures_from_totals(totals, names, populations, level=level, denominator=per))
        result[f"measures {level.value} {grouping.value} {per.value}"] = rows.num_rows
    per_practice = engine.practice_price_per_unit(rx, attributes, SavingsRules()).cache()
    for level in SAVINGS_LEVELS:
        savings = backend.to_arrow(
            engine.organisation_savings(per_practice, populations, SavingsRules.for_level(level))
        )
        result[f"savings {level.value}"] = int(savings["savings_pence"].to_numpy().sum())
    return result


def child(data: Path, reference_dir: Path) -> None:
    backend = Backend("duckdb", threads=2)
    backend.connection.raw_sql("SET preserve_insertion_order = false")
    started = time.perf_counter()
    result = run_all(backend, data / "prescribing.parquet", data / "practices.parquet", reference_dir)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "result": result}))


def national(data: Path, reference_dir: Path, runs: int) -> None:
    rows = pq.ParquetFile(data / "prescribing.parquet").metadata.num_rows
    times = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, __file__, "--child", "--data", str(data), "--reference-dir", str(reference_dir)],
            capture_output=True,
            text=True,
            check=True,
        )
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
        times.append(outcome["seconds"])
    peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    median = sorted(times)[len(times) // 2]
    print(
        f"1. national month, {rows:,} rows: {len(MEASURES)} measures + savings at {len(SAVINGS_LEVELS)} levels in "
        f"{median:.1f} s, median of {runs} (runs: {', '.join(f'{t:.1f}' for t in times)} s) = {rows / median:,.0f} "
        f"rows/s; peak memory {peak_gib:.2f} GiB; {'PASS' if median <= 30 else 'OVER'} the 30 s target"
    )
    savings = {key: value for key, value in outcome["result"].items() if key.startswith("savings")}
    print(f"   savings (pence): {savings}")


# The 2m-row slice: outturn against pandas ---------------------------------------------------------------------


def outturn_slice(backend: Backend, path: Path, practices: Path, reference_dir: Path) -> tuple[dict[str, int], float]:
    started = time.perf_counter()
    rx = backend.read_parquet(path)
    populations = backend.read_parquet(practices)
    attributes = engine.presentation_attributes(rx, engine.group_members(_groups(reference_dir)))
    measures = backend.to_arrow(engine.prescribing_measures(rx, attributes, populations))
    rules = SavingsRules()
    savings = backend.to_arrow(
        engine.organisation_savings(engine.practice_price_per_unit(rx, attributes, rules), None, rules)
    )
    totals = {
        "items": int(measures["items"].to_numpy().sum()),
        "generic_items": int(measures["generic_items"].to_numpy().sum()),
        "nic_pence": int(measures["nic_pence"].to_numpy().sum()),
        "savings_pence": int(savings["savings_pence"].to_numpy().sum()),
        "savings_rows": savings.num_rows,
    }
    return totals, time.perf_counter() - started


def _pandas_sets(codes: pd.Series, reference_dir: Path) -> pd.DataFrame:
    """Per distinct code: OpenPrescribing's generic code and group, and the generic-rate flags (pandas str ops)."""
    unique = pd.Series(codes.unique())
    chemical, equivalent = unique.str[:9], unique.str[13:15]
    usable = (unique.str.len() == 15) & ~unique.str.match(EXCLUSIONS_REGEX)
    has_generic = usable & ((equivalent != "A0") | chemical.isin(["0601060U0", "0601060D0"]))
    generic = (chemical + "AA" + equivalent + equivalent).where(has_generic)
    primary = {member: group.code for group in _groups(reference_dir) for member in group.members}
    return pd.DataFrame(
        {
            "bnf_code": unique,
            "set_code": generic.map(lambda code: primary.get(code, code) if isinstance(code, str) else None),
            "is_generic": (unique.str.len() == 15) & (unique.str[9:11] == "AA"),
            "eligible": usable & (equivalent != "A0") & (unique.str[:2] <= "19"),
        }
    )


def pandas_slice(path: Path, practices: Path, reference_dir: Path) -> tuple[dict[str, int], float]:
    started = time.perf_counter()
    frame = pd.read_parquet(path)
    people = pd.read_parquet(practices, columns=["practice", "list_size"])
    frame = frame.merge(_pandas_sets(frame["bnf_code"], reference_dir), on="bnf_code", how="left")
    frame["chapter"] = frame["bnf_code"].str[:2]
    frame["generic_items"] = np.where(frame["eligible"] & frame["is_generic"], frame["items"], 0)
    frame["eligible_items"] = np.where(frame["eligible"], frame["items"], 0)
    columns = ["items", "quantity", "nic_pence", "actual_cost_pence", "generic_items", "eligible_items"]
    measures = frame.groupby(["year_month", "practice", "chapter"], as_index=False)[columns].sum()
    measures = measures.merge(people, on="practice", how="left")
    measures["nic_pence_per_1000"] = measures["nic_pence"] * 1000 / measures["list_size"]
    measures["generic_rate"] = measures["generic_items"] / measures["eligible_items"].where(
        measures["eligible_items"] > 0
    )
    rows = frame[frame["set_code"].notna()]
    per = rows.groupby(["year_month", "practice", "set_code"], as_index=False)[["quantity", "nic_pence"]].sum()
    per = per[per["quantity"] > 0]
    per["ppu"] = per["nic_pence"] / per["quantity"]
    per["target"] = per.groupby(["year_month", "set_code"])["ppu"].transform("quantile", 0.1)
    raw = np.round(per["nic_pence"] - per["quantity"] * per["target"], 6)
    saving = np.where(raw >= 1_000, np.floor(raw + 0.5), 0).astype(np.int64)
    kept = saving[saving >= 1_000]
    totals = {
        "items": int(measures["items"].sum()),
        "generic_items": int(measures["generic_items"].sum()),
        "nic_pence": int(measures["nic_pence"].sum()),
        "savings_pence": int(kept.sum()),
        "savings_rows": len(kept),
    }
    return totals, time.perf_counter() - started


def slices(data: Path, reference_dir: Path, slice_rows: int) -> None:
    path = data / f"slice-{slice_rows}.parquet"
    if not path.exists():
        source = data / "prescribing.parquet"
        duckdb.sql(f"COPY (SELECT * FROM read_parquet('{source}') LIMIT {slice_rows}) TO '{path}' (FORMAT parquet)")
    practices = data / "practices.parquet"
    backend = Backend("duckdb", threads=2)
    outturn_slice(backend, path, practices, reference_dir)  # warm-up (file cache, first connection)
    pandas_slice(path, practices, reference_dir)
    ours, theirs = [], []
    for _ in range(3):
        found, seconds = outturn_slice(backend, path, practices, reference_dir)
        ours.append(seconds)
        expected, seconds = pandas_slice(path, practices, reference_dir)
        theirs.append(seconds)
    median, panda = sorted(ours)[1], sorted(theirs)[1]
    rows = pq.ParquetFile(path).metadata.num_rows
    agree = "agree" if found == expected else f"DIFFER: {found} vs {expected}"
    print(
        f"2. {rows:,}-row slice, measures by practice x chapter + generic rate + practice savings (medians of 3): "
        f"outturn/DuckDB {median:.2f} s; pandas {panda:.2f} s ({panda / median:.1f}x slower); totals {agree} "
        f"(savings {found['savings_pence']:,} pence over {found['savings_rows']:,} practice x group rows)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "outturn-prescribing")
    parser.add_argument("--reference-dir", type=Path, default=default_reference_dir())
    parser.add_argument("--rows", type=int, default=18_000_000)
    parser.add_argument("--practices", type=int, default=6_500)
    parser.add_argument("--slice-rows", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of the national month (median shown)")
    parser.add_argument("--slices-only", action="store_true", help="skip the national month (step 2 only)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference_dir is None:
        raise SystemExit("set OUTTURN_REFERENCE_DIR or pass --reference-dir: the e2e and allocation files are needed")
    if args.child:
        child(args.data, args.reference_dir)
        return
    generate(args.data, args.reference_dir, args.rows, args.practices)
    if not args.slices_only:
        national(args.data, args.reference_dir, args.runs)
    slices(args.data, args.reference_dir, args.slice_rows)


if __name__ == "__main__":
    main()
