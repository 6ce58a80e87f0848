"""A SYNTHETIC national month of practice prescribing, for the benchmarks and the demo.

No public source gives a whole month of national prescribing in a form the tests can hold, so this generates one
(every row synthetic) from real files in the reference-data directory:

- practices: NHS England's 2022/23 allocation file (``allocations/aif_tool_gp_practice_wp_2022_2023.csv``): real
  practice codes and names, PCN, sub-ICB location (``LOC22``), ICB, registered patients, and the prescribing
  weighted population, which stands in for ASTRO-PU (labelled so in ``practices.parquet``);
- presentations and prices: the four real practices' complete prescribing in September and October 2017
  (OpenPrescribing's e2e EPD files): each presentation's popularity (items), quantity per item, net ingredient cost
  per unit and actual cost over net ingredient cost. Each generic presentation with a generic equivalent also gets
  up to two SYNTHETIC branded versions (product codes ``Z?``, 15-60% dearer per unit, rarer), so that practices in
  a group of equivalent presentations pay different prices per unit, as practices do.

Each practice prescribes a number of distinct presentations growing with the square root of its list (about 2,800
on average at 18m rows over 6,500 practices), drawn by popularity without replacement; its items follow its list
size times a practice propensity; net ingredient cost is quantity x price per unit with 2% noise; actual cost is
net ingredient cost x the presentation's ratio. Output: ``prescribing.parquet`` in the warehouse layout
(``outturn.domain.prescribing.PRESCRIBING_SCHEMA``), one row group per chunk of practices, and
``practices.parquet`` in the ``practice_populations`` layout; both labelled synthetic in their metadata (key
``outturn``) and written under temporary names, renamed when complete. The same parameters give identical files.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from outturn.domain.prescribing import PRESCRIBING_SCHEMA, generic_equivalent, year_month

ALLOCATIONS_FILE = Path("allocations") / "aif_tool_gp_practice_wp_2022_2023.csv"
EPD_FILES = (
    Path("openprescribing") / "e2e" / "data-1__prescribing_v2__2017_09__epd_201709.csv",
    Path("openprescribing") / "e2e" / "data-2__prescribing_v2__2017_10__epd_201710.csv",
)
ITEMS_PER_PATIENT_MONTH = 1.5  # about 1.1bn items a year for 61m registered patients
BRAND_LETTERS = "ABCDEFGH"
_METADATA = {b"outturn": b'{"synthetic": true, "generator": "outturn.demo.prescribing"}'}

Progress = Callable[[int, int], None]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Presentations:
    codes: list[str]
    names: list[str]
    popularity: FloatArray  # relative chance of being prescribed
    items_share: FloatArray  # relative items when prescribed
    quantity_per_item: FloatArray
    price_per_unit_pence: FloatArray
    actual_ratio: FloatArray


@dataclass(frozen=True)
class Practices:
    codes: list[str]
    names: list[str]
    pcns: list[str | None]
    sub_icbs: list[str | None]
    icbs: list[str | None]
    list_sizes: IntArray
    weighted: FloatArray


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"the SYNTHETIC prescribing month needs {path} (the reference-data directory)")
    return path


def load_presentations(reference_dir: Path, rng: np.random.Generator) -> Presentations:
    """The real presentations of the e2e EPD files, with their prices, plus synthetic brands of generics."""
    totals: dict[str, list[float]] = {}
    names: dict[str, str] = {}
    for relative in EPD_FILES:
        with _require(reference_dir / relative).open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                code = row["BNF_CODE"].strip()
                figures = totals.setdefault(code, [0.0, 0.0, 0.0, 0.0, 0.0])
                figures[0] += 1
                figures[1] += float(row["ITEMS"])
                figures[2] += float(row["TOTAL_QUANTITY"])
                figures[3] += float(row["NIC"]) * 100
                figures[4] += float(row["ACTUAL_COST"]) * 100
                names.setdefault(code, row["BNF_DESCRIPTION"].strip())
    codes = sorted(code for code, figures in totals.items() if figures[2] > 0 and figures[3] > 0)
    rows = np.array([totals[code] for code in codes])
    popularity, items = rows[:, 0], rows[:, 1]
    quantity_per_item = rows[:, 2] / rows[:, 1]
    price = rows[:, 3] / rows[:, 2]
    ratio = np.clip(rows[:, 4] / rows[:, 3], 0.5, 1.2)
    all_names = [names[code] for code in codes]
    brands: list[tuple[str, str, float, float, float, float, float]] = []
    taken = set(codes)
    for index, code in enumerate(codes):
        if code[9:11] != "AA" or generic_equivalent(code) is None:
            continue
        for letter in BRAND_LETTERS[: int(rng.integers(0, 3))]:
            brand = f"{code[:9]}Z{letter}{code[13:15]}{code[13:15]}"
            if brand in taken:
                continue
            taken.add(brand)
            dearer = float(rng.uniform(1.15, 1.6))
            brands.append(
                (
                    brand,
                    f"{all_names[index]} (SYNTHETIC brand Z{letter})",
                    popularity[index] * 0.3,
                    items[index] * 0.5,
                    quantity_per_item[index],
                    price[index] * dearer,
                    ratio[index],
                )
            )
    return Presentations(
        codes + [b[0] for b in brands],
        all_names + [b[1] for b in brands],
        np.concatenate([popularity, [b[2] for b in brands]]),
        np.concatenate([items, [b[3] for b in brands]]),
        np.concatenate([quantity_per_item, [b[4] for b in brands]]),
        np.concatenate([price, [b[5] for b in brands]]),
        np.concatenate([ratio, [b[6] for b in brands]]),
    )


def load_practices(
    reference_dir: Path, count: int, rng: np.random.Generator, codes: Collection[str] | None = None
) -> Practices:
    """``count`` real practices (with a list size) from the allocation file, in code order; with ``codes``, those
    of them the file lists with a list size (``count`` is then ignored)."""
    with _require(reference_dir / ALLOCATIONS_FILE).open(newline="", encoding="utf-8-sig") as handle:
        rows = [row for row in csv.DictReader(handle) if row["Patients"].strip() and float(row["Patients"]) > 0]
    if codes is not None:
        wanted = frozenset(codes)
        picked = sorted(
            (row for row in rows if row["Practice_Code"].strip() in wanted), key=lambda r: r["Practice_Code"]
        )
        if not picked:
            raise ValueError("none of the practices asked for has a list size in the allocation file")
    else:
        if count > len(rows):
            raise ValueError(f"the allocation file has {len(rows):,} practices with a list size; asked for {count:,}")
        chosen = sorted(rng.choice(len(rows), size=count, replace=False))
        picked = [rows[index] for index in chosen]

    def text(row: dict[str, str], column: str) -> str | None:
        return row[column].strip() or None

    return Practices(
        [row["Practice_Code"].strip() for row in picked],
        [row["GP_Practice_Name"].strip() for row in picked],
        [text(row, "PCN_Code") for row in picked],
        [text(row, "LOC22") for row in picked],
        [text(row, "ICS22") for row in picked],
        np.array([round(float(row["Patients"])) for row in picked], dtype=np.int64),
        np.array([float(row["Prescr WP"] or 0) for row in picked]),
    )


def rows_per_practice(list_sizes: IntArray, total: int, pool: int) -> IntArray:
    """Distinct presentations per practice: proportional to the square root of the list, summing to ``total``."""
    shape = np.sqrt(list_sizes.astype(np.float64))
    scale = total / max(float(shape.sum()), 1e-9)
    counts = np.zeros(len(shape), dtype=np.int64)
    for _ in range(20):  # rescale until the clipping at [50, pool] stops moving the total
        counts = np.clip(np.round(shape * scale), 50, pool).astype(np.int64)
        if abs(int(counts.sum()) - total) <= len(counts):
            break
        scale *= total / max(int(counts.sum()), 1)
    return counts


def _chunk(
    practices: Practices,
    presentations: Presentations,
    counts: IntArray,
    start: int,
    stop: int,
    rng: np.random.Generator,
    month: str,
) -> pa.Table:
    pool = len(presentations.codes)
    wanted = counts[start:stop]
    keys = np.log(presentations.popularity)[None, :] - np.log(-np.log(rng.random((stop - start, pool))))
    order = np.argsort(-keys, axis=1)[:, : int(wanted.max())]
    keep = np.arange(order.shape[1])[None, :] < wanted[:, None]
    practice_index = np.broadcast_to(np.arange(start, stop)[:, None], order.shape)[keep]
    presentation_index = order[keep]
    share = presentations.items_share[presentation_index]
    totals = np.bincount(practice_index - start, weights=share, minlength=stop - start)
    propensity = rng.lognormal(0.0, 0.25, stop - start)
    expected = (
        (practices.list_sizes[start:stop] * ITEMS_PER_PATIENT_MONTH * propensity)[practice_index - start]
        * share
        / totals[practice_index - start]
    )
    items = 1 + rng.poisson(np.maximum(expected - 1, 0))
    quantity = np.round(items * presentations.quantity_per_item[presentation_index], 1)
    noise = rng.lognormal(0.0, 0.02, len(items))
    nic = np.maximum(np.round(quantity * presentations.price_per_unit_pence[presentation_index] * noise), 1)
    actual = np.round(nic * presentations.actual_ratio[presentation_index])

    def strings(values: list[str], index: npt.NDArray[np.int64]) -> pa.Array:
        return pc.cast(pa.DictionaryArray.from_arrays(pa.array(index.astype(np.int32)), pa.array(values)), pa.string())

    columns = {
        "year_month": pa.repeat(pa.scalar(month, pa.string()), len(items)),
        "practice": strings(practices.codes, practice_index),
        "practice_name": strings(practices.names, practice_index),
        "bnf_code": strings(presentations.codes, presentation_index),
        "bnf_name": strings(presentations.names, presentation_index),
        "items": pa.array(items, pa.int64()),
        "quantity": pa.array(quantity, pa.float64()),
        "nic_pence": pa.array(nic.astype(np.int64)),
        "actual_cost_pence": pa.array(actual.astype(np.int64)),
    }
    return pa.table(columns, schema=prescribing_arrow_schema())


def prescribing_arrow_schema() -> pa.Schema:
    types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}
    return pa.schema([(name, types[kind]) for name, kind in PRESCRIBING_SCHEMA.items()], metadata=_METADATA)


def _practices_table(practices: Practices) -> pa.Table:
    return pa.table(
        {
            "practice": practices.codes,
            "practice_name": practices.names,
            "pcn": practices.pcns,
            "sub_icb": practices.sub_icbs,
            "icb": practices.icbs,
            "list_size": pa.array(practices.list_sizes, pa.int64()),
            "astro_pu": pa.array(practices.weighted, pa.float64()),  # SYNTHETIC: the prescribing weighted population
        }
    ).replace_schema_metadata(_METADATA)


def generate_prescribing(
    out_dir: Path,
    *,
    reference_dir: Path,
    rows: int = 18_000_000,
    practices: int = 6_500,
    seed: int = 2017,
    month: str = "2017-10",
    chunk_practices: int = 200,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write ``prescribing.parquet`` and ``practices.parquet`` to ``out_dir``; returns the counts written."""
    month = year_month(month)
    rng = np.random.default_rng(seed)
    presentations = load_presentations(reference_dir, rng)
    chosen = load_practices(reference_dir, practices, rng)
    counts = rows_per_practice(chosen.list_sizes, rows, len(presentations.codes))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "prescribing.parquet"
    partial = out_dir / ".prescribing.parquet.partial"
    written = 0
    total = int(counts.sum())
    with pq.ParquetWriter(partial, prescribing_arrow_schema()) as writer:
        for start in range(0, practices, chunk_practices):
            stop = min(start + chunk_practices, practices)
            table = _chunk(chosen, presentations, counts, start, stop, rng, month)
            writer.write_table(table)
            written += table.num_rows
            if progress:
                progress(written, total)
    os.replace(partial, target)
    pq.write_table(_practices_table(chosen), out_dir / ".practices.parquet.partial")
    os.replace(out_dir / ".practices.parquet.partial", out_dir / "practices.parquet")
    summary = {"rows": written, "practices": practices, "presentations": len(presentations.codes)}
    (out_dir / "prescribing.json").write_text(json.dumps({**summary, "seed": seed, "month": month, "synthetic": True}))
    return summary


PRESENTATIONS_PER_PRACTICE = 1_500  # distinct presentations a practice prescribes in a month, on average


def practice_month(reference_dir: Path, practice_codes: Collection[str], month: str, seed: int) -> tuple[pa.Table, int]:
    """A SYNTHETIC month of prescribing (warehouse layout) for the given real practices, in memory, as
    ``generate_prescribing`` draws it; returns the table and how many of the practices it covers."""
    month = year_month(month)
    rng = np.random.default_rng(seed)
    presentations = load_presentations(reference_dir, rng)
    practices = load_practices(reference_dir, 0, rng, practice_codes)
    count = len(practices.codes)
    counts = rows_per_practice(practices.list_sizes, PRESENTATIONS_PER_PRACTICE * count, len(presentations.codes))
    return _chunk(practices, presentations, counts, 0, count, rng, month), count


EPD_HEADER = (
    "YEAR_MONTH",
    "PRACTICE_CODE",
    "PRACTICE_NAME",
    "BNF_CODE",
    "BNF_DESCRIPTION",
    "ITEMS",
    "TOTAL_QUANTITY",
    "NIC",
    "ACTUAL_COST",
)


def _pounds(pence: int) -> str:
    return f"{'-' if pence < 0 else ''}{abs(pence) // 100}.{abs(pence) % 100:02d}"


def write_epd_csv(table: pa.Table, path: Path) -> Path:
    """Prescribing in the warehouse layout written as NHSBSA's English Prescribing Dataset (EPD) CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [table[name].to_pylist() for name in PRESCRIBING_SCHEMA]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(EPD_HEADER)
        for month, practice, name, code, description, items, quantity, nic, actual in zip(*columns, strict=True):
            writer.writerow(
                (
                    month.replace("-", ""),
                    practice,
                    name,
                    code,
                    description,
                    items,
                    quantity,
                    _pounds(nic),
                    _pounds(actual),
                )
            )
    return path
