"""Prescribing measures and price-per-unit savings: rates hand-checked for a real practice, the generic rate on a
small fixture, practices sum to PCNs and sub-ICB locations, savings against an independent pandas implementation
of OpenPrescribing's method on the real e2e practices, the commands' JSON, and the SYNTHETIC month generator."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from typer.testing import CliRunner

from outturn.cli import app
from outturn.demo.prescribing import generate_prescribing
from outturn.domain.populations import PRACTICE_POPULATIONS_SCHEMA, PRACTICE_POPULATIONS_TABLE
from outturn.domain.prescribing import (
    EXCLUSIONS_REGEX,
    PRESCRIBING_SCHEMA,
    BnfGrouping,
    Denominator,
    OrgLevel,
    SavingsRules,
    substitution_groups,
)
from outturn.engine import prescribing as engine
from outturn.engine.backends import Backend, memtable
from outturn.ingest.prescribing import read_formulation_swaps, read_prescribing

E2E = Path("openprescribing") / "e2e"
EPD = ("data-1__prescribing_v2__2017_09__epd_201709.csv", "data-2__prescribing_v2__2017_10__epd_201710.csv")
LIST_FILE = "data-2__patient_list_size__2017_10__gp-reg-pat-prac-quin-age.csv"
SWAPS = Path("openprescribing") / "formulation_swaps.csv"
PLACES = {"B85010": ("P1", "03A"), "B85054": ("P1", "03A"), "L84018": ("P2", "11M"), "L84073": ("P3", "11M")}
POPULATION_COLUMNS = {"practice": "string", "pcn": "string", "sub_icb": "string"}
POPULATION_COLUMNS |= {"list_size": "int64", "astro_pu": "float64"}

# HSCIC Prescribing Units 2013, cost-based ASTRO-PU weights (the e2e prescribing_units.xlsx, sheet ASTRO-PUs).
ASTRO_PU_2013 = {
    "MALE": [
        1,
        0.8716553882610182,
        1.225864281864976,
        1.2543278927311312,
        1.816747668939694,
        3.0897445715897454,
        5.282804196641469,
        8.741869111151415,
        11.343075270650905,
    ],
    "FEMALE": [
        0.8747646022250953,
        0.736837170135133,
        1.449034665336335,
        1.8419385269979645,
        2.57229387381937,
        3.724883537216834,
        5.442445173265628,
        7.640830131962122,
        9.889353022322366,
    ],
}


def _astro_band(age_group: str) -> int:
    """0-4, 5-14, 15-24, ... 65-74, 75+ from the five-year bands 0_4, 5_9, ..., 95+."""
    lower = int(age_group.split("_", maxsplit=1)[0].rstrip("+"))
    return 0 if lower < 5 else min((lower + 5) // 10, 8)


def _lists(reference_dir: Path) -> dict[str, tuple[int, float]]:
    """practice -> (list size, ASTRO-PU) from NHS Digital's October 2017 list by age and sex (csv module)."""
    sizes: dict[str, int] = {}
    astro: dict[str, float] = defaultdict(float)
    with (reference_dir / E2E / LIST_FILE).open(newline="") as handle:
        for row in csv.DictReader(handle):
            practice, sex, band = row["ORG_CODE"], row["SEX"], row["AGE_GROUP_5"]
            if sex == "ALL" and band == "ALL":
                sizes[practice] = int(row["NUMBER_OF_PATIENTS"])
            elif sex in ASTRO_PU_2013 and band != "ALL":
                astro[practice] += int(row["NUMBER_OF_PATIENTS"]) * ASTRO_PU_2013[sex][_astro_band(band)]
    return {practice: (sizes[practice], astro[practice]) for practice in sizes}


@pytest.fixture(scope="module")
def backend() -> Backend:
    return Backend()


@pytest.fixture(scope="module")
def e2e(reference_dir: Path) -> pa.Table:
    return pa.concat_tables([read_prescribing(reference_dir / E2E / name).table for name in EPD])


@pytest.fixture(scope="module")
def populations(reference_dir: Path) -> Any:
    rows = [
        {
            "practice": practice,
            "pcn": PLACES[practice][0],
            "sub_icb": PLACES[practice][1],
            "list_size": size,
            "astro_pu": astro,
        }
        for practice, (size, astro) in _lists(reference_dir).items()
        if practice in PLACES
    ]
    return memtable(rows, POPULATION_COLUMNS)


def _measures(backend: Backend, rx: pa.Table, populations: Any, **options: Any) -> list[dict[str, Any]]:
    table = backend.table(rx)
    attributes = engine.presentation_attributes(table, engine.group_members(()))
    return backend.to_rows(engine.prescribing_measures(table, attributes, populations, **options))


def test_rates_per_1000_patients_and_astro_pu_hand_checked_for_one_practice(
    reference_dir: Path, backend: Backend, e2e: pa.Table, populations: Any
) -> None:
    # Dalton Surgery (B85010), October 2017, BNF chapter 4 (central nervous system): items from the CSV itself
    with (reference_dir / E2E / EPD[1]).open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["PRACTICE_CODE"] == "B85010" and r["BNF_CODE"][:2] == "04"]
    items = sum(int(r["ITEMS"]) for r in rows)
    nic_pence = sum(round(float(r["NIC"]) * 100) for r in rows)
    list_size, astro_pu = _lists(reference_dir)["B85010"]
    assert list_size == 6_951  # the file's ALL/ALL row for 1 October 2017
    for per, denominator in ((Denominator.LIST, list_size), (Denominator.ASTRO_PU, astro_pu)):
        found = _measures(backend, e2e, populations, grouping=BnfGrouping.CHAPTER, denominator=per)
        (row,) = [r for r in found if r["org"] == "B85010" and r["bnf_group"] == "04" and r["year_month"] == "2017-10"]
        assert (row["items"], row["nic_pence"], row["denominator"]) == (items, nic_pence, pytest.approx(denominator))
        assert row["items_per_1000"] == pytest.approx(items * 1000 / denominator)
        assert row["nic_pence_per_1000"] == pytest.approx(nic_pence * 1000 / denominator)
    assert 1.5 < astro_pu / list_size < 4  # cost-based ASTRO-PU weigh older patients several times a child


def test_generic_prescribing_rate_on_a_small_fixture(backend: Backend) -> None:
    items = {
        "0212000B0AAABAB": 8,  # atorvastatin 10mg written generically
        "0212000B0BBAAAB": 2,  # Lipitor 10mg: a brand with a generic
        "0501013K0BBAAA0": 4,  # a brand with no generic equivalent: not counted
        "0904010H0AAAAAA": 1,  # excluded by OpenPrescribing: not counted
        "21010900725": 3,  # an appliance: not counted
        "0601060D0BBCEA0": 5,  # blood glucose strips (a price group, no generic): not counted
    }
    rows = [
        {
            "year_month": "2017-10",
            "practice": "A00001",
            "practice_name": "A",
            "bnf_code": code,
            "bnf_name": code,
            "items": count,
            "quantity": 10.0 * count,
            "nic_pence": 100 * count,
            "actual_cost_pence": 90 * count,
        }
        for code, count in items.items()
    ]
    populations = memtable(
        [{"practice": "A00001", "pcn": None, "sub_icb": None, "list_size": 2_000, "astro_pu": None}], POPULATION_COLUMNS
    )
    table = pa.Table.from_pylist(rows, schema=_schema())
    overall = _measures(backend, table, populations, grouping=BnfGrouping.ALL)
    assert [(r["generic_items"], r["generic_eligible_items"], r["generic_rate"]) for r in overall] == [(8, 10, 0.8)]
    assert overall[0]["items_per_1000"] == 23 * 1000 / 2_000
    by_chapter = {r["bnf_group"]: r["generic_rate"] for r in _measures(backend, table, populations)}
    assert by_chapter == {"02": 0.8, "05": None, "06": None, "09": None, "21": None}
    per_astro = _measures(backend, table, populations, grouping=BnfGrouping.ALL, denominator=Denominator.ASTRO_PU)
    assert per_astro[0]["denominator"] is None and per_astro[0]["items_per_1000"] is None


def _schema() -> pa.Schema:
    types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}
    return pa.schema([(name, types[kind]) for name, kind in PRESCRIBING_SCHEMA.items()])


CODES = ("0212000B0AAABAB", "0212000B0BBAAAB", "0403030Q0AAAAAA", "0501013K0BBAAA0", "21010900725", "1001010J0AAADAD")
PRACTICES = {"A00001": ("P1", "S1"), "A00002": ("P1", "S1"), "A00003": ("P2", "S1"), "A00004": ("P3", "S2")}


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(PRACTICES)),
            st.sampled_from(CODES),
            st.sampled_from(["2017-09", "2017-10"]),
            st.integers(1, 60),
            st.integers(0, 50_000),
        ),
        min_size=1,
        max_size=25,
        unique_by=lambda row: (row[0], row[1], row[2]),
    ),
    st.sampled_from(list(BnfGrouping)),
)
def test_practices_sum_to_pcns_and_sub_icb_locations(
    backend: Backend, rows: list[tuple], grouping: BnfGrouping
) -> None:
    table = pa.Table.from_pylist(
        [
            {
                "year_month": month,
                "practice": practice,
                "practice_name": practice,
                "bnf_code": code,
                "bnf_name": code,
                "items": items,
                "quantity": 7.0 * items,
                "nic_pence": nic,
                "actual_cost_pence": nic * 9 // 10,
            }
            for practice, code, month, items, nic in rows
        ],
        schema=_schema(),
    )
    populations = memtable(
        [
            {"practice": p, "pcn": pcn, "sub_icb": sub, "list_size": 1_000 * (i + 1), "astro_pu": 2_500.0 * (i + 1)}
            for i, (p, (pcn, sub)) in enumerate(sorted(PRACTICES.items()))
        ],
        POPULATION_COLUMNS,
    )
    summed = ("items", "quantity", "nic_pence", "actual_cost_pence", "generic_items", "generic_eligible_items")
    practice_rows = _measures(backend, table, populations, grouping=grouping)
    for level, place in ((OrgLevel.PCN, 0), (OrgLevel.SUB_ICB, 1)):
        expected: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0] * len(summed))
        for row in practice_rows:
            key = (row["year_month"], PRACTICES[row["org"]][place], row["bnf_group"])
            expected[key] = [a + row[name] for a, name in zip(expected[key], summed, strict=True)]
        found = _measures(backend, table, populations, level=level, grouping=grouping)
        assert {(r["year_month"], r["org"], r["bnf_group"]): [r[name] for name in summed] for r in found} == expected
        for row in found:  # the rate is the sum of numerators over the sum of its prescribing practices' lists
            members = {r["org"] for r in practice_rows if r["year_month"] == row["year_month"]}
            size = sum(
                1_000 * (i + 1)
                for i, p in enumerate(sorted(PRACTICES))
                if p in members and PRACTICES[p][place] == row["org"]
            )
            assert row["denominator"] == size
            assert row["items_per_1000"] == pytest.approx(row["items"] * 1000 / size)


# Price-per-unit savings -------------------------------------------------------------------------------------------


def _pandas_practice_savings(reference_dir: Path, practice_floor: int = 1_000) -> pd.DataFrame:
    """OpenPrescribing's price-per-unit savings written again in plain pandas, straight from the CSVs."""
    frame = pd.concat([pd.read_csv(reference_dir / E2E / name, dtype=str) for name in EPD])
    code = frame["BNF_CODE"]
    chemical, equivalent = code.str[:9], code.str[13:15]
    usable = (code.str.len() == 15) & ~code.str.match(EXCLUSIONS_REGEX)
    has_generic = usable & ((equivalent != "A0") | chemical.isin(["0601060U0", "0601060D0"]))
    frame["generic"] = np.where(has_generic, chemical + "AA" + equivalent + equivalent, None)
    swaps = pd.read_csv(reference_dir / SWAPS, dtype=str)
    swaps = swaps[swaps["Really equivalent?"].str.strip() == "Y"]
    names = sorted(set(swaps["Code"].str.strip()) | set(swaps["Alternative code"].str.strip()))
    index = {name: i for i, name in enumerate(names)}
    edges = coo_matrix(
        (
            np.ones(len(swaps)),
            ([index[c.strip()] for c in swaps["Code"]], [index[c.strip()] for c in swaps["Alternative code"]]),
        ),
        shape=(len(names), len(names)),
    )
    _count, labels = connected_components(edges, directed=False)
    smallest = pd.Series(names).groupby(labels).transform("min")
    primary = dict(zip(names, smallest, strict=True))
    frame["set_code"] = frame["generic"].map(lambda g: primary.get(g, g) if g is not None else None)
    frame = frame[frame["set_code"].notna()].copy()
    frame["quantity"] = frame["TOTAL_QUANTITY"].astype(float)
    frame["nic_pence"] = frame["NIC"].map(lambda text: round(float(text) * 100)).astype("int64")  # two decimals
    frame["month"] = frame["YEAR_MONTH"].str.replace("_", "-")
    per = frame.groupby(["month", "PRACTICE_CODE", "set_code"], as_index=False)[["quantity", "nic_pence"]].sum()
    per = per[per["quantity"] > 0].copy()
    per["ppu"] = per["nic_pence"] / per["quantity"]
    per["target"] = per.groupby(["month", "set_code"])["ppu"].transform(lambda ppu: np.percentile(ppu, 10))
    raw = np.round(per["nic_pence"] - per["quantity"] * per["target"], 6)
    per["saving"] = np.where(raw >= practice_floor, np.floor(raw + 0.5), 0).astype("int64")
    return per


def _ours(backend: Backend, e2e: pa.Table, reference_dir: Path, populations: Any, rules: SavingsRules) -> list:
    table = backend.table(e2e)
    groups = substitution_groups(read_formulation_swaps(reference_dir / SWAPS))
    attributes = engine.presentation_attributes(table, engine.group_members(groups))
    per_practice = engine.practice_price_per_unit(table, attributes, rules)
    return backend.to_rows(engine.organisation_savings(per_practice, populations, rules))


def test_practice_savings_match_an_independent_pandas_implementation(
    reference_dir: Path, backend: Backend, e2e: pa.Table, populations: Any
) -> None:
    reference = _pandas_practice_savings(reference_dir)
    kept = reference[reference["saving"] >= 1_000]
    expected = {(r.month, r.PRACTICE_CODE, r.set_code): r.saving for r in kept.itertuples()}
    found = _ours(backend, e2e, reference_dir, populations, SavingsRules())
    assert {(r["year_month"], r["org"], r["set_code"]): r["savings_pence"] for r in found} == expected
    assert len(expected) > 50 and sum(expected.values()) > 1_000_000  # over £10,000 across the two months
    targets = reference.groupby(["month", "set_code"])["target"].first().to_dict()
    for row in found:
        assert row["target_price_per_unit_pence"] == pytest.approx(targets[(row["year_month"], row["set_code"])])


def test_sub_icb_savings_sum_practices_and_apply_the_floor(
    reference_dir: Path, backend: Backend, e2e: pa.Table, populations: Any
) -> None:
    reference = _pandas_practice_savings(reference_dir)
    reference["org"] = reference["PRACTICE_CODE"].map(lambda practice: PLACES[practice][1])
    summed = reference.groupby(["month", "org", "set_code"])["saving"].sum()
    expected = {key: value for key, value in summed.items() if value >= 20_000}
    rules = SavingsRules.for_level(OrgLevel.SUB_ICB)
    found = _ours(backend, e2e, reference_dir, populations, rules)
    assert {(r["year_month"], r["org"], r["set_code"]): r["savings_pence"] for r in found} == expected
    assert expected  # some groups pass the £200 floor
    raised = _ours(
        backend, e2e, reference_dir, populations, SavingsRules.for_level(OrgLevel.SUB_ICB, org_floor_pence=50_000)
    )
    assert {(r["year_month"], r["org"], r["set_code"]) for r in raised} == {
        k for k, v in expected.items() if v >= 50_000
    }


# The commands -----------------------------------------------------------------------------------------------------


def _store_populations(workspace_dir: Path, lists: dict[str, tuple[int, float]]) -> None:
    from outturn.services.workspace import open_workspace

    columns = {name: [] for name in PRACTICE_POPULATIONS_SCHEMA}  # type: dict[str, list[Any]]
    for practice in ("B85010", "B85054", "L84018"):  # L84073 left out: reported as unplaced
        size, astro = lists[practice]
        row = {
            "practice": practice,
            "practice_name": practice,
            "pcn": PLACES[practice][0],
            "sub_icb": PLACES[practice][1],
            "icb": "ICB",
            "list_size": size,
            "astro_pu": astro,
        }
        for name, values in columns.items():
            values.append(row.get(name))
    types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}
    schema = pa.schema([(name, types[kind]) for name, kind in PRACTICE_POPULATIONS_SCHEMA.items()])
    with open_workspace(workspace_dir) as workspace:
        workspace.backend.store_table(PRACTICE_POPULATIONS_TABLE, pa.table(columns, schema=schema))


def test_the_commands_import_measure_and_find_savings(reference_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    workspace = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(workspace), "--reference-dir", str(reference_dir)]).exit_code == 0
    base = ["--workspace", str(workspace), "prescribing"]
    for name in EPD:
        result = runner.invoke(app, [*base, "import", str(reference_dir / E2E / name), "--format", "json"])
        assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    assert (imported["months"], imported["layout"], imported["practices"]) == (["2017-10"], "epd", 4)
    bad = tmp_path / "bad.csv"
    bad.write_text("YEAR_MONTH,PRACTICE_CODE\n201710,B85010\n")
    failed = runner.invoke(app, [*base, "import", str(bad), "--format", "json"])
    assert failed.exit_code == 2 and json.loads(failed.stdout)["problems"][0]["row"] == 1
    _store_populations(workspace, _lists(reference_dir))
    result = runner.invoke(
        app, [*base, "measures", "--level", "pcn", "--by", "chapter", "--per", "astro-pu", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    measures = json.loads(result.stdout)
    assert (measures["month"], measures["level"], measures["by"], measures["per"]) == (
        "2017-10",
        "pcn",
        "chapter",
        "astro_pu",
    )
    assert measures["unplaced_practices"] == ["L84073"]
    assert {row["org"] for row in measures["rows"]} == {"P1", "P2"}
    result = runner.invoke(
        app, [*base, "savings", "--floor-pence", "500", "--month", "2017-09", "--limit", "0", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    savings = json.loads(result.stdout)
    assert savings["month"] == "2017-09" and savings["org_floor_pence"] == 500 and savings["centile"] == 10
    assert savings["total_savings_pence"] == sum(row["savings_pence"] for row in savings["savings"]) > 0
    assert all(row["savings_pence"] >= 1_000 for row in savings["savings"])  # the practice floor is above 500
    assert sum(entry["savings_pence"] for entry in savings["organisations"]) == savings["total_savings_pence"]


def test_the_synthetic_month_is_deterministic_and_in_the_warehouse_layout(reference_dir: Path, tmp_path: Path) -> None:
    first = generate_prescribing(tmp_path / "a", reference_dir=reference_dir, rows=30_000, practices=20, seed=5)
    generate_prescribing(tmp_path / "b", reference_dir=reference_dir, rows=30_000, practices=20, seed=5)
    one, two = (pq.read_table(tmp_path / name / "prescribing.parquet") for name in ("a", "b"))
    assert one.equals(two)
    assert abs(first["rows"] - 30_000) <= 20 and one.num_rows == first["rows"]
    assert one.schema.names == list(PRESCRIBING_SCHEMA)
    assert b"synthetic" in one.schema.metadata[b"outturn"]
    keys = list(zip(one["practice"].to_pylist(), one["bnf_code"].to_pylist(), strict=True))
    assert len(keys) == len(set(keys))  # one row per practice x presentation
    practices = pq.read_table(tmp_path / "a" / "practices.parquet")
    assert sorted(practices["practice"].to_pylist()) == sorted(set(one["practice"].to_pylist()))
    assert min(one["items"].to_pylist()) >= 1 and min(one["nic_pence"].to_pylist()) >= 1
