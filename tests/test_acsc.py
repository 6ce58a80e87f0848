"""Avoidable admissions: non-elective spells with a chronic ambulatory care sensitive primary diagnosis, per 1,000
(weighted) population by practice, in the benchmark like every other measure. Worked by hand on a small file."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from outturn.domain.benchmark import MEASURE_REGISTRY, find_measure
from outturn.domain.periods import FinancialYear
from outturn.engine.acsc import acsc_spells
from outturn.engine.backends import Backend
from outturn.ingest.acsc import read_acsc_codes
from outturn.services.benchmark import NO_DIAGNOSIS, benchmark
from outturn.services.hes import import_hes_activity
from outturn.services.populations import import_populations
from outturn.services.workspace import Workspace, init_workspace


def test_the_shipped_list_holds_the_eleven_chronic_conditions() -> None:
    codes = read_acsc_codes()
    conditions = {code.condition for code in codes}
    assert len(conditions) == 11  # NHS Outcomes Framework 2.3.i
    by_code = {code.code: code.condition for code in codes}
    assert by_code["I50"] == by_code["I110"] == by_code["J81"] == "Congestive heart failure"
    assert by_code["E105"] == "Diabetes complications" and "E109" not in by_code  # E10.0-E10.8 only
    assert by_code["J44"] == "Chronic obstructive pulmonary disease"


@pytest.fixture(scope="module", params=["duckdb", pytest.param("pyspark", marks=pytest.mark.slow)])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "pyspark" and shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (java not on PATH)")
    opened = Backend(request.param)
    yield opened
    opened.close()


def test_four_character_codes_match_exactly_and_three_character_codes_everything_beneath(backend: Backend) -> None:
    diagnoses = ["J441", "I50.0", "I10X", "E105", "E119", "K359", None, "i500"]
    spells = backend.table(
        pa.table({"spell_id": [str(n) for n in range(len(diagnoses))], "primary_diagnosis": diagnoses})
    )
    codes = read_acsc_codes()
    table = backend.table(
        pa.table({"code": [code.code for code in codes], "condition": [code.condition for code in codes]})
    )
    found = {row["spell_id"]: row["acsc_condition"] for row in backend.to_rows(acsc_spells(spells, table))}
    assert found == {
        "0": "Chronic obstructive pulmonary disease",  # J44 covers J44.1
        "1": "Congestive heart failure",  # I50 covers I50.0, written with a dot
        "2": "Hypertension",  # I10, HES's filler X
        "3": "Diabetes complications",  # E10.5 listed
        "7": "Congestive heart failure",  # lower case
    }  # E11.9 (not E11.0-E11.8), appendicitis and a blank diagnosis are not ACSCs: the same on DuckDB and Spark


# --- the benchmark, by hand ------------------------------------------------------------------------------------

ALLOCATION_HEADER = ["Practice_Code", "GP_Practice_Name", "PCN_Code", "PCN_Name", "LOC22", "LOC22name", "ICS22",
                     "ICS22name", "R22", "Region22", "Patients", "pop 2022/23", "G&A WP", "CS WP", "MH WP", "Mat WP",
                     "Health Ineq WP", "Prescr WP", "Final WP", "Primary Medical Care WP"]  # fmt: skip
# practice, Patients, G&A weighted population
PRACTICES = (("A00001", 1000, 1250.0), ("B00002", 2000, 1600.0))

HES_HEADER = ["EPIKEY", "PROCODE3", "PCTCODE_HIS", "GPPRAC", "ADMIDATE", "DISDATE", "ADMIMETH", "CLASSPAT",
              "STARTAGE", "DIAG_4_01"]  # fmt: skip
SPELLS = [
    ("1", "A00001", "21", "J441"),  # COPD, emergency: counted
    ("2", "A00001", "22", "I500"),  # heart failure, emergency: counted
    ("3", "A00001", "21", "K359"),  # appendicitis: not an ACSC
    ("4", "A00001", "11", "J459"),  # asthma, but elective: not counted
    ("5", "B00002", "21", "E105"),  # diabetes with complications: counted
    ("6", "B00002", "21", "E119"),  # diabetes without complications: not listed
    ("7", "B00002", "28", "I10X"),  # hypertension: counted
    ("8", "B00002", "21", "G409"),  # epilepsy: counted
]


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    allocation = tmp_path / "alloc.csv"
    rows = [[code, f"Practice {code}", "U1", "PCN U1", "03A", "Sub-ICB 03A", "QWO", "ICB QWO", "Y59", "South East",
             str(patients), str(patients), str(general_acute), *["1"] * 7]
            for code, patients, general_acute in PRACTICES]  # fmt: skip
    with allocation.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([ALLOCATION_HEADER, *rows])
    opened = init_workspace(tmp_path / "ws", reference_dir=tmp_path / "no-reference-data")
    import_populations(opened, allocation, [])
    yield opened
    opened.close()


def load_spells(workspace: Workspace, path: Path) -> None:
    rows = [[key, "RTH", "5QC", practice, "2018-06-01", "2018-06-03", method, "1", "70", diagnosis]
            for key, practice, method, diagnosis in SPELLS]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([HES_HEADER, *rows])
    import_hes_activity(workspace, path)


def test_avoidable_admissions_per_1000_by_practice_worked_by_hand(workspace: Workspace, tmp_path: Path) -> None:
    load_spells(workspace, tmp_path / "apc.csv")
    result = benchmark(workspace, find_measure("acsc_admissions"), year=FinancialYear(2018))
    rows = {row["org_code"]: row for row in result.rows}
    # A00001: spells 1 and 2 = 2 on 1,000 patients (2.0 per 1,000) and 1,250 weighted (1.6 per 1,000);
    # B00002: spells 5, 7 and 8 = 3 on 2,000 patients (1.5 per 1,000) and 1,600 weighted (1.875 per 1,000).
    assert (rows["A00001"]["activity"], rows["B00002"]["activity"]) == (2, 3)
    assert rows["A00001"]["rate_actual"] == pytest.approx(2.0)
    assert rows["A00001"]["rate_weighted"] == pytest.approx(1.6)
    assert rows["B00002"]["rate_actual"] == pytest.approx(1.5)
    assert rows["B00002"]["rate_weighted"] == pytest.approx(1.875)
    # Need weighting moves B00002 to the top: 1.875 > 1.6 per 1,000 weighted.
    assert (rows["B00002"]["rank_weighted"], rows["A00001"]["rank_weighted"]) == (1, 2)
    # Opportunity (the funnel and opportunity are the benchmark's, as for every measure): B00002 is above the
    # benchmark rate on the weighted basis, A00001 is not, and no more than its 3 spells could be saved.
    assert rows["A00001"]["opportunity_activity"] == 0
    assert 0 < rows["B00002"]["opportunity_activity"] <= 3
    assert NO_DIAGNOSIS not in result.warnings


def test_without_diagnoses_held_the_measure_says_what_to_load(workspace: Workspace) -> None:
    result = benchmark(workspace, find_measure("acsc_admissions"), year=FinancialYear(2018))
    assert all(row["activity"] == 0 for row in result.rows)
    assert NO_DIAGNOSIS in result.warnings


def test_the_measure_is_listed_with_the_others() -> None:
    assert "acsc_admissions" in MEASURE_REGISTRY
    assert MEASURE_REGISTRY["acsc_admissions"].weighted_population == "wp_general_acute"
