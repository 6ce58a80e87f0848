"""Benchmark: PbR pricing at national scale on DuckDB, against pandas and a DuckDB scan floor, and on Spark.

Issue 4's targets, measured in one run on SYNTHETIC activity (outturn activity generate):
1. Price one national year (about 170m records: 20m spells, 125m outpatient, 25m A&E) with DuckDB on 2 cores,
   totalling by point of delivery; again writing every priced record with all its columns to parquet; and again
   writing the priced extract (record id, provider, commissioner, prices): rows per second and peak memory;
   target 60 s or less and 6 GiB or less. A plain copy of the unpriced records to parquet is timed as
   the write's floor.
2. On a 10m-row slice of spells: outturn's DuckDB pricing against a straightforward pandas implementation
   (target at least 10x faster) and against a plain DuckDB scan-and-sum of the same columns (the floor; aim
   within 3x of it). Each computes the total price of the slice. outturn prices the slice as an import stores
   it, with the integer keys of its HRG and provider and its admission method's index (keyed untimed, as the
   import does), totalled by point of delivery and reason as ``outturn price`` totals (``totalled=True``: grouped
   on the few columns that decide the labels), and again without the keys (keyed on read, as a file priced
   directly); the floor over the key columns is printed beside the floor. Two hand-written DuckDB queries on the
   same keys bound what is possible: the least per-row pricing (prices and total only, no point of delivery or
   reason), and identical spells grouped first (HRG, method, short stay, provider, length of stay: a count per
   group) and each group priced once.
3. Spark local on a 1m-row slice: the same totals as DuckDB, time printed.

Run: .venv/bin/python bench/bench_pricing.py --data /tmp/national [--scale-factor 1.0] [--reference-dir DIR]
Generation of the national year is not timed; it is reused when --data already holds it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from outturn.domain.activity import ActivityKind
from outturn.engine import pricing, pricing_totals
from outturn.engine.backends import Backend
from outturn.engine.codes import KEYED_COLUMNS
from outturn.ingest import activity_keys
from outturn.ingest.tariff import load_tariff
from outturn.settings import default_reference_dir

TARIFF_YEAR = 2018


def generate(data: Path, reference_dir: Path, scale_factor: float) -> None:
    from outturn.demo.activity import generate_activity

    if (data / "done.json").exists():
        print(f"reusing the synthetic national year in {data}")
        return
    started = time.perf_counter()
    counts = generate_activity(
        data, reference_dir=reference_dir, scale="national", seed=2018, year=TARIFF_YEAR, scale_factor=scale_factor
    )
    (data / "done.json").write_text(json.dumps(counts))
    print(f"generated {sum(counts.values()):,} rows in {time.perf_counter() - started:.0f} s (not timed): {counts}")


def _glob(data: Path, kind: ActivityKind) -> str:
    folder = data / kind.value
    return str(folder / "*.parquet") if folder.is_dir() else str(data / f"{kind.value}.parquet")


def _priced_year(
    backend: Backend, data: Path, reference_dir: Path, *, totalled: bool = False
) -> dict[ActivityKind, ir.Table]:
    tariff = load_tariff(reference_dir, TARIFF_YEAR)
    mff = backend.table(tariff.mff)
    how = {"year": TARIFF_YEAR, "totalled": totalled}
    return {
        ActivityKind.APC: pricing.price_apc(
            backend.read_parquet(_glob(data, ActivityKind.APC)), backend.table(tariff.apc), mff, **how
        ),
        ActivityKind.OP: pricing.price_op(
            backend.read_parquet(_glob(data, ActivityKind.OP)),
            backend.table(tariff.op),
            backend.table(tariff.apc),
            mff,
            **how,
        ),
        ActivityKind.AE: pricing.price_ae(
            backend.read_parquet(_glob(data, ActivityKind.AE)), backend.table(tariff.ae), mff, **how
        ),
    }


class Clock:
    """Wall-clock and CPU seconds (user and system, every thread of this process) of what runs inside it, added up
    under a name: on a machine shared with other work the CPU seconds move far less than the wall clock."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextmanager
    def timing(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), _cpu_seconds()
        yield
        self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - wall
        self.cpu[name] = self.cpu.get(name, 0.0) + _cpu_seconds() - cpu


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def price_year(data: Path, out: Path, reference_dir: Path) -> None:
    """Runs in a child process so that its peak memory is measured alone. Passes over the year: pricing every
    record and totalling by point of delivery (what contract monitoring needs); pricing every record and writing
    all of them, with their prices, to parquet, each kind followed at once by its floor, a plain copy of the same
    records (so that the two sides of the ratio run under the same load); and the priced extract."""
    backend = Backend("duckdb", threads=2)
    backend.connection.raw_sql("SET memory_limit = '5GB'")
    backend.connection.raw_sql("SET preserve_insertion_order = false")
    clock = Clock()
    rows = 0
    with clock.timing("totalled"):
        for totals in _priced_year(backend, data, reference_dir, totalled=True).values():
            summary = backend.to_rows(totals)
            rows += sum(row["units"] for row in summary)
    for kind, priced in _priced_year(backend, data, reference_dir).items():
        with clock.timing("written"):
            backend.to_parquet(priced, out / f"{kind.value}-priced.parquet")
        with clock.timing("copied"):  # the floor for writing: the unpriced records copied, no pricing at all
            backend.to_parquet(backend.read_parquet(_glob(data, kind)), out / f"{kind.value}-copy.parquet")
    with clock.timing("extract"):
        for kind, priced in _priced_year(backend, data, reference_dir).items():
            backend.to_parquet(pricing_totals.prices_only(priced), out / f"{kind.value}-prices.parquet")
    print(json.dumps({"rows": rows, "wall": clock.wall, "cpu": clock.cpu}))


def national(data: Path, reference_dir: Path) -> None:
    out = data / "priced"
    out.mkdir(exist_ok=True)
    started_load = load_average()
    child = subprocess.run(
        [sys.executable, __file__, "--child", "--data", str(data), "--reference-dir", str(reference_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    loads = f"{started_load}; {load_average()}"
    peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    rows, wall, cpu = result["rows"], result["wall"], result["cpu"]

    def figure(name: str) -> str:
        seconds = wall[name]
        verdict = "PASS" if seconds <= 60 else "OVER"
        return f"{seconds:.1f} s = {rows / seconds:,.0f} rows/s ({verdict} the 60 s target; CPU {cpu[name]:.1f} s)"

    print(
        f"1. national year, {rows:,} records (peak memory {peak_gib:.2f} GiB of the 6 GiB target; {loads}):\n"
        f"   priced and totalled by point of delivery: {figure('totalled')}\n"
        f"   priced and every priced record written to parquet: {figure('written')}\n"
        f"   priced and a priced extract written (record id, provider, commissioner, prices: outturn price "
        f"--prices-only): {figure('extract')}\n"
        f"   floor for the write: copying the same records to parquet unpriced, each kind right after its priced "
        f"write: {wall['copied']:.1f} s (CPU {cpu['copied']:.1f} s); the priced write of every column is "
        f"{wall['written'] / wall['copied']:.2f}x the copy by the clock, {cpu['written'] / cpu['copied']:.2f}x in "
        f"CPU seconds (target <= 1.5x)"
    )


def _slice(data: Path, kind: ActivityKind, rows: int, target: Path) -> Path:
    duckdb.sql(f"COPY (SELECT * FROM read_parquet('{_glob(data, kind)}') LIMIT {rows}) TO '{target}' (FORMAT parquet)")
    return target


def _keyed_slice(path: Path, target: Path) -> tuple[Path, pa.Table]:
    """The slice as an import stores it (not timed): with the integer keys of its coded columns, and the code
    dictionary they come from."""
    spells = pq.read_table(path)
    codes = activity_keys.extended_codes(activity_keys.no_codes(), spells, KEYED_COLUMNS[ActivityKind.APC])
    keyed = activity_keys.with_stored_keys(spells, codes, KEYED_COLUMNS[ActivityKind.APC])
    pq.write_table(activity_keys.with_stored_indexes(keyed, ActivityKind.APC), target)
    return target, codes


def outturn_total(
    backend: Backend, path: Path, reference_dir: Path, codes: pa.Table | None = None
) -> tuple[int, float]:
    """outturn's pricing of the slice, totalled: on the keys stored with it where ``codes`` (their dictionary) is
    given, else keyed on read against the tariff's codes; the tariff held as the backend holds dimensions."""
    tariff = load_tariff(reference_dir, TARIFF_YEAR)
    started = time.perf_counter()
    priced = pricing.price_apc(
        backend.read_parquet(path),
        backend.table(tariff.apc),
        backend.table(tariff.mff),
        year=TARIFF_YEAR,
        codes=None if codes is None else backend.table(codes),
        dimension=backend.dimension,
        totalled=True,
    )
    rows = backend.to_rows(priced)
    total = sum(row["price_pence"] + row["excess_price_pence"] for row in rows)
    return total, time.perf_counter() - started


def pandas_total(path: Path, reference_dir: Path) -> tuple[int, float]:
    """The straightforward pandas way: read, merge the tariff and MFF, vectorised rules, sum."""
    tariff = load_tariff(reference_dir, TARIFF_YEAR)
    started = time.perf_counter()
    spells = pd.read_parquet(path)
    prices = tariff.apc.to_pandas()
    mff = tariff.mff.to_pandas()[["provider", "mff_millionths"]]
    frame = spells.merge(prices, on="hrg", how="left").merge(mff, on="provider", how="left")
    method, los, age = frame["admission_method"], frame["length_of_stay"], frame["age"]
    short = (method == "non_elective") & frame["short_stay_pence"].notna() & (los <= 1) & (age >= 19)
    base = np.select(
        [method == "elective", method == "day_case", short, method == "non_elective"],
        [frame["elective_pence"], frame["day_case_pence"], frame["short_stay_pence"], frame["non_elective_pence"]],
        default=np.nan,
    )
    trim = np.select(
        [method == "elective", (method == "non_elective") & ~short],
        [frame["elective_trim_days"], frame["non_elective_trim_days"]],
        default=np.nan,
    )
    excess_days = np.where(~np.isnan(trim) & (los > trim), los - trim, 0)
    excess = excess_days * frame["excess_bed_day_pence"].fillna(0)
    factor = frame["mff_millionths"]
    priced = ~np.isnan(base) & factor.notna()
    price = np.floor((base * factor * 2 + 1_000_000) / 2_000_000)
    excess_price = np.floor((excess * factor * 2 + 1_000_000) / 2_000_000)
    total = int(np.nansum(np.where(priced, price + excess_price, 0)))
    return total, time.perf_counter() - started


def floor_scan(path: Path, columns: str = "count(hrg), count(admission_method), count(provider)") -> float:
    started = time.perf_counter()
    duckdb.sql(f"SELECT {columns}, sum(length_of_stay), sum(age) FROM read_parquet('{path}')").fetchall()
    return time.perf_counter() - started


KEYS_FLOOR = "sum(hrg_key), count(admission_method), sum(provider_key)"  # the columns the keyed pricing reads


# A second, independent implementation of the APC rules in hand-written DuckDB SQL (no outturn code): the tariff as
# a small dimension keyed by HRG, admission method and the short-stay test, then the MFF, each unit rounded half up.
HAND_DIMENSION = """
SELECT hrg, 'elective' AS method, short, elective_pence AS price, elective_trim_days AS trim,
       coalesce(excess_bed_day_pence, 0) AS bed FROM apc, (VALUES (false), (true)) flags(short)
UNION ALL SELECT hrg, 'day_case', short, day_case_pence, NULL, 0 FROM apc, (VALUES (false), (true)) flags(short)
UNION ALL SELECT hrg, 'non_elective', false, non_elective_pence, non_elective_trim_days,
       coalesce(excess_bed_day_pence, 0) FROM apc
UNION ALL SELECT hrg, 'non_elective', true, coalesce(short_stay_pence, non_elective_pence),
       CASE WHEN short_stay_pence IS NULL THEN non_elective_trim_days END, coalesce(excess_bed_day_pence, 0) FROM apc
"""
HAND_JOINS = """
FROM read_parquet('{path}') s
LEFT JOIN hand_tariff t ON s.hrg = t.hrg AND s.admission_method = t.method
    AND coalesce(s.length_of_stay <= 1 AND s.age >= 19, false) = t.short
LEFT JOIN mff m ON s.provider = m.provider
"""
HAND_TOTAL = f"""
SELECT sum((price * mff_millionths * 2 + 1000000) // 2000000)
     + sum(((CASE WHEN length_of_stay > trim THEN length_of_stay - trim ELSE 0 END) * bed * mff_millionths * 2
            + 1000000) // 2000000) FILTER (WHERE price IS NOT NULL)
{HAND_JOINS}"""
JOINS_ONLY = "SELECT sum(price), sum(trim), sum(bed), sum(mff_millionths)" + HAND_JOINS


# The same rules on the keys stored with the slice: the tariff and the MFF keyed by hand from the slice's code
# dictionary (``codes``), the spell's cell as (HRG key x 4 + method index) x 2 + the short-stay test.
HAND_KEYED_DIMENSIONS = """
CREATE TABLE hand_cells AS SELECT (c.code_key * 4 + m.i) * 2 + t.short::INTEGER AS cell, t.price, t.trim, t.bed
FROM codes c JOIN hand_tariff t ON t.hrg = c.code
JOIN (VALUES (0, 'elective'), (1, 'day_case'), (2, 'non_elective')) m(i, method) ON t.method = m.method;
CREATE TABLE hand_mff AS SELECT c.code_key, m.mff_millionths FROM codes c JOIN mff m ON m.provider = c.code;
"""
SPELL_CELL = "(hrg_key * 4 + admission_method_key) * 2 + coalesce(length_of_stay <= 1 AND age >= 19, false)::INTEGER"
KEYED_PRICES = """
SELECT sum({count}((price * mff_millionths * 2 + 1000000) // 2000000))
     + sum({count}(((CASE WHEN {los} > trim THEN {los} - trim ELSE 0 END) * bed * mff_millionths * 2 + 1000000)
            // 2000000)) FILTER (WHERE price IS NOT NULL)
FROM {spells} s LEFT JOIN hand_cells ON hand_cells.cell = s.cell LEFT JOIN hand_mff ON code_key = s.provider_key
"""
PER_ROW_KEYED = KEYED_PRICES.format(
    count="",
    los="length_of_stay",
    spells=f"(SELECT {SPELL_CELL} AS cell, provider_key, length_of_stay FROM read_parquet('{{path}}'))",
)
GROUPED_KEYED = KEYED_PRICES.format(
    count="n * ",
    los="los",
    spells=f"(SELECT {SPELL_CELL} AS cell, provider_key, length_of_stay AS los, count(*) AS n "
    "FROM read_parquet('{path}') GROUP BY ALL)",
)


def hand_sql(reference_dir: Path, codes: pa.Table) -> duckdb.DuckDBPyConnection:
    tariff = load_tariff(reference_dir, TARIFF_YEAR)
    connection = duckdb.connect()
    connection.execute("SET threads = 2")
    connection.execute("SET enable_progress_bar = false")
    connection.register("apc_all", tariff.apc)
    connection.register("mff", tariff.mff)
    connection.register("codes", codes)
    connection.execute(f"CREATE TABLE apc AS SELECT * FROM apc_all WHERE year = {TARIFF_YEAR}")
    connection.execute(f"CREATE TABLE hand_tariff AS {HAND_DIMENSION}")
    connection.execute(HAND_KEYED_DIMENSIONS)
    return connection


def hand_total(connection: duckdb.DuckDBPyConnection, path: Path, query: str = HAND_TOTAL) -> tuple[int, float]:
    started = time.perf_counter()
    row = connection.execute(query.format(path=path)).fetchone()
    return int((row or [0])[0] or 0), time.perf_counter() - started


def load_average() -> str:
    return "load " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def slices(data: Path, reference_dir: Path, slice_rows: int, spark_rows: int) -> None:
    """Every contender runs once per round, beside the floor; each figure is the median over the rounds of the
    ratio measured within a round, so a busy machine slows both sides of each ratio alike."""
    duckdb.sql("SET enable_progress_bar = false")
    ten = _slice(data, ActivityKind.APC, slice_rows, data / "slice-10m.parquet")
    keyed, codes = _keyed_slice(ten, data / "slice-10m-keyed.parquet")
    backend = Backend("duckdb", threads=2)
    hand = hand_sql(reference_dir, codes)
    contenders: dict[str, Callable[[], tuple[int, float]]] = {
        "outturn": lambda: outturn_total(backend, keyed, reference_dir, codes),
        "outturn keyed on read": lambda: outturn_total(backend, ten, reference_dir),
        "pandas": lambda: pandas_total(ten, reference_dir),
        "hand SQL": lambda: hand_total(hand, ten),
        "joins only": lambda: hand_total(hand, ten, JOINS_ONLY),
        "per-row least": lambda: hand_total(hand, keyed, PER_ROW_KEYED),
        "grouped": lambda: hand_total(hand, keyed, GROUPED_KEYED),
        "floor": lambda: (0, floor_scan(ten)),
        "floor of the keys": lambda: (0, floor_scan(keyed, KEYS_FLOOR)),
    }
    for contender in contenders.values():  # one warm-up run each (file cache)
        contender()
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    totals: dict[str, int] = {}
    loads = [load_average()]
    for _ in range(3):
        for name, contender in contenders.items():
            totals[name], elapsed = contender()
            seconds[name].append(elapsed)
        loads.append(load_average())

    def ratio(slow: str, fast: str) -> float:
        return sorted(a / b for a, b in zip(seconds[slow], seconds[fast], strict=True))[1]

    median = {name: sorted(times)[1] for name, times in seconds.items()}
    rows = pq.ParquetFile(ten).metadata.num_rows
    agree = (
        len(
            {
                totals[name]
                for name in ("outturn", "outturn keyed on read", "pandas", "hand SQL", "per-row least", "grouped")
            }
        )
        == 1
    )
    print(
        f"2. {rows:,}-row slice of spells (medians of 3 rounds; {'; '.join(loads)}):\n"
        f"   outturn/DuckDB on the keys stored at import {median['outturn']:.2f} s; pandas {median['pandas']:.2f} s "
        f"({ratio('pandas', 'outturn'):.1f}x slower, target >= 10x)\n"
        f"   DuckDB scan-and-sum floor {median['floor']:.2f} s: outturn {ratio('outturn', 'floor'):.1f}x the floor "
        f"(aim <= 3x); the floor over the key columns instead {median['floor of the keys']:.2f} s "
        f"(outturn {ratio('outturn', 'floor of the keys'):.1f}x it)\n"
        f"   outturn keyed on read (no stored keys: a file priced directly) {median['outturn keyed on read']:.2f} s = "
        f"{ratio('outturn keyed on read', 'floor'):.1f}x; hand-written DuckDB SQL of the same rules (string joins) "
        f"{median['hand SQL']:.2f} s = {ratio('hand SQL', 'floor'):.1f}x; its scan and two joins alone, no rules, "
        f"{median['joins only']:.2f} s = {ratio('joins only', 'floor'):.1f}x\n"
        f"   on the stored keys, by hand: the least per-row pricing (prices and total only) "
        f"{median['per-row least']:.2f} s = {ratio('per-row least', 'floor'):.1f}x the floor; identical spells "
        f"grouped first and each group priced once {median['grouped']:.2f} s = {ratio('grouped', 'floor'):.1f}x\n"
        f"   totals {'agree (outturn both ways, pandas, the three hand SQL queries)' if agree else f'DIFFER: {totals}'}"
    )
    one = _slice(data, ActivityKind.APC, spark_rows, data / "slice-1m.parquet")
    duck_total, _ = outturn_total(backend, one, reference_dir)
    spark = Backend("pyspark", threads=2)
    spark_total, _ = outturn_total(spark, one, reference_dir)  # warm-up: the first query starts the JVM
    spark_total, spark_seconds = outturn_total(spark, one, reference_dir)
    spark.close()
    print(
        f"3. Spark local[2] on a {pq.ParquetFile(one).metadata.num_rows:,}-row slice: {spark_seconds:.1f} s "
        f"({load_average()}); totals {'identical to DuckDB' if spark_total == duck_total else 'DIFFER'} "
        f"({spark_total:,} pence)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "outturn-national")
    parser.add_argument("--reference-dir", type=Path, default=default_reference_dir())
    parser.add_argument("--scale-factor", type=float, default=1.0)
    parser.add_argument("--slice-rows", type=int, default=10_000_000)
    parser.add_argument("--spark-rows", type=int, default=1_000_000)
    parser.add_argument("--slices-only", action="store_true", help="skip the national year (steps 2 and 3 only)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference_dir is None:
        raise SystemExit("set OUTTURN_REFERENCE_DIR or pass --reference-dir: the tariff and cost files are needed")
    if args.child:
        price_year(args.data, args.data / "priced", args.reference_dir)
        return
    args.data.mkdir(parents=True, exist_ok=True)
    generate(args.data, args.reference_dir, args.scale_factor)
    if not args.slices_only:
        national(args.data, args.reference_dir)
    slices(args.data, args.reference_dir, args.slice_rows, args.spark_rows)


if __name__ == "__main__":
    main()
