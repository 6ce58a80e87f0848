"""The SYNTHETIC activity generator: layouts, counts, determinism and realism drawn from the reference files."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from outturn.cli import app
from outturn.demo.activity import (
    SYNTHETIC_METADATA_KEY,
    SYNTHETIC_METADATA_VALUE,
    UNKNOWN_HRG,
    generate_activity,
    target_rows,
)
from outturn.domain.activity import AE_SCHEMA, APC_SCHEMA, OP_SCHEMA
from outturn.services.activity import generate

FACTOR = 0.002  # of ICB scale: 700 spells, 4,000 outpatient and 1,200 A&E attendances
LAYOUTS = {"apc": APC_SCHEMA, "op": OP_SCHEMA, "ae": AE_SCHEMA}
YEAR_START, YEAR_END = date(2018, 4, 1), date(2019, 3, 31)


def read(directory: Path, kind: str) -> pa.Table:
    return pq.read_table(directory / f"{kind}.parquet")


def rows(directory: Path, kind: str) -> list[dict[str, Any]]:
    table: list[dict[str, Any]] = read(directory, kind).to_pylist()
    return table


@pytest.fixture(scope="module")
def generated(reference_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("activity")
    generate_activity(out, reference_dir=reference_dir, scale_factor=FACTOR, seed=7, chunk_rows=1_500)
    return out


@pytest.fixture(scope="module")
def larger(reference_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough spells (3,500) for the HRG mix to show."""
    out = tmp_path_factory.mktemp("activity-larger")
    generate_activity(out, reference_dir=reference_dir, scale_factor=0.01, seed=11)
    return out


@pytest.fixture(scope="module")
def tariff(reference_dir: Path) -> dict[str, dict[str, str]]:
    path = reference_dir / "prices" / "national_tariff" / "nt1819_apc_oproc.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["HRG code"]: row for row in csv.DictReader(handle)}


def test_files_have_exactly_the_domain_layouts_and_the_synthetic_label(generated: Path) -> None:
    for kind, layout in LAYOUTS.items():
        schema = pq.read_schema(generated / f"{kind}.parquet")
        expected = ibis.schema(dict(layout)).to_pyarrow()
        assert schema.names == list(layout)
        assert [field.type for field in schema] == [field.type for field in expected]
        assert schema.metadata[SYNTHETIC_METADATA_KEY] == SYNTHETIC_METADATA_VALUE


def test_counts_match_the_target_times_the_factor(reference_dir: Path, generated: Path) -> None:
    targets = {"apc": 350_000 * FACTOR, "op": 2_000_000 * FACTOR, "ae": 600_000 * FACTOR}
    for kind, target in targets.items():
        assert read(generated, kind).num_rows == pytest.approx(target, rel=0.03)
    assert target_rows("national", 0.001) == {"apc": 20_000, "op": 125_000, "ae": 25_000}


def test_chunks_are_reported_and_ids_are_unique(reference_dir: Path, tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    counts = generate_activity(
        tmp_path, reference_dir=reference_dir, scale_factor=0.001, chunk_rows=400, progress=lambda *a: calls.append(a)
    )
    assert counts == {"apc": 350, "op": 2_000, "ae": 600}
    assert [call for call in calls if call[0] == "apc"] == [("apc", 350, 350)]
    assert [call[1] for call in calls if call[0] == "op"] == [400, 800, 1_200, 1_600, 2_000]
    assert pq.ParquetFile(tmp_path / "op.parquet").num_row_groups == 5
    for kind, key in (("apc", "spell_id"), ("op", "attendance_id"), ("ae", "attendance_id")):
        ids = read(tmp_path, kind).column(key).to_pylist()
        assert len(set(ids)) == len(ids)
    assert not list(tmp_path.glob(".*partial"))


def test_same_seed_same_tables_another_seed_differs(reference_dir: Path, generated: Path, tmp_path: Path) -> None:
    again, other = tmp_path / "again", tmp_path / "other"
    generate_activity(again, reference_dir=reference_dir, scale_factor=FACTOR, seed=7, chunk_rows=1_500)
    generate_activity(other, reference_dir=reference_dir, scale_factor=FACTOR, seed=8, chunk_rows=1_500)
    for kind in LAYOUTS:
        assert read(again, kind).equals(read(generated, kind))
        assert not read(other, kind).equals(read(generated, kind))


def test_spell_dates_lie_in_the_year_and_agree_with_the_length_of_stay(generated: Path) -> None:
    spells = rows(generated, "apc")
    for spell in spells:
        assert YEAR_START <= spell["admission_date"] <= spell["discharge_date"] <= YEAR_END
        assert (spell["discharge_date"] - spell["admission_date"]).days == spell["length_of_stay"]
        if spell["admission_method"] == "day_case":
            assert spell["length_of_stay"] == 0
        if spell["admission_method"] == "elective":
            assert spell["length_of_stay"] >= 1
    for kind, column in (("op", "attendance_date"), ("ae", "arrival_date")):
        dates = read(generated, kind).column(column).to_pylist()
        assert min(dates) >= YEAR_START
        assert max(dates) <= YEAR_END
    months = Counter(spell["admission_date"].month for spell in spells)
    assert len(months) == 12


def test_stays_sit_around_the_trim_point(larger: Path, tariff: dict[str, dict[str, str]]) -> None:
    spells = [spell for spell in rows(larger, "apc") if spell["hrg"] in tariff]
    trim_column = {
        "elective": "Ordinary elective long stay trim point (days)",
        "non_elective": "Non-elective long stay trim point (days)",
    }
    beyond = Counter(
        spell["admission_method"]
        for spell in spells
        if spell["admission_method"] in trim_column
        and spell["length_of_stay"] > int(tariff[spell["hrg"]][trim_column[spell["admission_method"]]])
    )
    by_method = Counter(spell["admission_method"] for spell in spells)
    assert 0 < beyond["non_elective"] < 0.06 * by_method["non_elective"]
    assert 0 < beyond["elective"] < 0.06 * by_method["elective"]
    short_adults = [
        spell
        for spell in spells
        if spell["admission_method"] == "non_elective" and spell["length_of_stay"] <= 1 and spell["age"] >= 19
    ]
    assert 0.3 * by_method["non_elective"] < len(short_adults) < 0.75 * by_method["non_elective"]
    assert all(spell["age"] <= 18 for spell in spells if spell["hrg"].startswith("P"))


def test_hrg_mix_follows_the_cost_collection(
    reference_dir: Path, larger: Path, tariff: dict[str, dict[str, str]]
) -> None:
    activity: dict[str, float] = {}
    with (reference_dir / "prices" / "ncc.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code = row["currency_code"]
            priced = code in tariff and tariff[code]["Non-elective spell tariff (£)"] not in ("-", "")
            if row["department_code"].startswith("Non-Elective Inpatient") and priced and row["activity"]:
                activity[code] = activity.get(code, 0.0) + float(row["activity"])
    commonest = max(activity, key=activity.__getitem__)
    generated = Counter(spell["hrg"] for spell in rows(larger, "apc") if spell["admission_method"] == "non_elective")
    assert commonest in [code for code, _ in generated.most_common(5)]
    spells = read(larger, "apc").num_rows
    methods = Counter(read(larger, "apc").column("admission_method").to_pylist())
    assert 0.45 < methods["non_elective"] / spells < 0.65  # the Cost Collection: 56% non-elective
    assert 0.30 < methods["day_case"] / spells < 0.45


def test_outpatient_mix(larger: Path, reference_dir: Path, tariff: dict[str, dict[str, str]]) -> None:
    attendances = rows(larger, "op")
    total = len(attendances)
    types = Counter(row["attendance_type"] for row in attendances)
    assert 1.5 < types["follow_up"] / types["first"] < 3.0
    sources = Counter(row["referral_source"] for row in attendances)
    assert set(sources) == {"gp", "consultant", "other"}
    assert 0.10 < sources["consultant"] / total < 0.30
    assert sources["gp"] / total > 0.5
    procedures = [row["procedure_hrg"] for row in attendances if row["procedure_hrg"] is not None]
    assert 0.07 < len(procedures) / total < 0.13
    assert all(tariff[code]["Outpatient procedure tariff (£)"] not in ("-", "") for code in procedures)
    path = reference_dir / "prices" / "national_tariff" / "nt1819_op_attendances.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        priced = {row["Treatment function code"] for row in csv.DictReader(handle)}
    functions = Counter(row["treatment_function"] for row in attendances)
    assert len(functions) > 20
    assert sum(count for code, count in functions.items() if code in priced) / total > 0.98


def test_ae_mix(larger: Path, reference_dir: Path) -> None:
    attendances = rows(larger, "ae")
    path = reference_dir / "prices" / "national_tariff" / "nt1819_ae.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        priced = {row["HRG code"] for row in csv.DictReader(handle)}
    departments = Counter(row["department_type"] for row in attendances)
    assert departments["1"] / len(attendances) > 0.5
    assert departments["3"] > 0
    assert set(departments) <= {"1", "2", "3"}
    assert sum(1 for row in attendances if row["hrg"] in priced) / len(attendances) > 0.98
    winter = sum(1 for row in attendances if row["arrival_date"].month in (12, 1, 2))
    summer = sum(1 for row in attendances if row["arrival_date"].month in (6, 7, 8))
    assert winter > summer


def test_unpriced_share_is_small_but_not_zero(larger: Path, tariff: dict[str, dict[str, str]]) -> None:
    spells = rows(larger, "apc")
    unpriced = [spell for spell in spells if spell["hrg"] is None or spell["hrg"] not in tariff]
    assert 0 < len(unpriced) < 0.02 * len(spells)
    assert {spell["hrg"] for spell in unpriced} == {None, UNKNOWN_HRG}
    functions = read(larger, "op").column("treatment_function")
    assert 0 < functions.null_count < 0.02 * len(functions)


def test_emergency_readmissions_run_near_the_national_rate(larger: Path) -> None:
    """The national indicator (NHS Outcomes Framework 3b) was 13.8% in 2017/18: emergency admissions 0-29 days after
    the patient's last discharge, per ordinary (not day-case) spell. Counted here from the rows alone: a non-elective
    spell whose patient left the same provider after another ordinary spell 0-29 days before it was admitted. The
    generator draws 12% to the same provider; chance repeats of a patient add about one point. Band: 11%-16%."""
    spells = rows(larger, "apc")
    ordinary = [spell for spell in spells if spell["admission_method"] != "day_case"]
    discharges: dict[tuple[str, str], list[tuple[str, date]]] = {}
    for spell in ordinary:
        key = (spell["patient_id"], spell["provider"])
        discharges.setdefault(key, []).append((spell["spell_id"], spell["discharge_date"]))
    readmitted = [
        spell
        for spell in ordinary
        if spell["admission_method"] == "non_elective"
        and any(
            other != spell["spell_id"] and 0 <= (spell["admission_date"] - discharged).days <= 29
            for other, discharged in discharges[(spell["patient_id"], spell["provider"])]
        )
    ]
    assert 0.11 <= len(readmitted) / len(ordinary) <= 0.16, len(readmitted) / len(ordinary)
    # A readmission is the same patient's: practice and commissioner follow the patient.
    practice_of = {(spell["patient_id"], spell["practice"], spell["commissioner"]) for spell in spells}
    assert len({key[0] for key in practice_of}) == len(practice_of)


def test_organisations_default_and_given(reference_dir: Path, generated: Path, tmp_path: Path) -> None:
    spells = read(generated, "apc")
    with (reference_dir / "prices" / "national_tariff" / "nt1719_mff_values.csv").open(encoding="utf-8") as handle:
        real_providers = {row["Provider Code"] for row in csv.DictReader(handle)}
    providers = set(spells.column("provider").to_pylist())
    assert 1 < len(providers) <= 8
    assert providers <= real_providers
    assert all(code.startswith("SYN") for code in spells.column("commissioner").to_pylist())
    generate_activity(
        tmp_path,
        reference_dir=reference_dir,
        scale_factor=0.0005,
        providers=["RTH"],
        commissioners=["10Q", "14Y"],
        practices=["K84001", "K84002", "K82001"],
    )
    given = read(tmp_path, "ae")
    assert set(given.column("provider").to_pylist()) == {"RTH"}
    assert set(given.column("commissioner").to_pylist()) == {"10Q", "14Y"}
    assert set(given.column("practice").to_pylist()) <= {"K84001", "K84002", "K82001"}


def test_bad_parameters_are_refused(reference_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_activity(tmp_path, reference_dir=reference_dir, scale="county")
    with pytest.raises(ValueError, match="scale factor"):
        generate_activity(tmp_path, reference_dir=reference_dir, scale_factor=0)
    with pytest.raises(ValueError, match="reference"):
        generate(tmp_path, reference_dir=tmp_path / "missing", scale_factor=0.001)


def test_cli_generates_and_reports_counts(reference_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "activity"
    arguments = ["activity", "generate", "--out", str(out), "--scale-factor", "0.0005", "--seed", "3"]
    arguments += ["--reference-dir", str(reference_dir)]
    result = CliRunner().invoke(app, [*arguments, "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["counts"] == {"apc": 175, "op": 1_000, "ae": 300}
    assert document["synthetic"] is True
    assert all(Path(path).is_file() for path in document["files"].values())
    table = CliRunner().invoke(app, arguments)
    assert table.exit_code == 0, table.output
    assert "SYNTHETIC" in table.output
    assert "1,000" in table.output
    missing = CliRunner().invoke(app, [*arguments[:-1], str(tmp_path / "nowhere")])
    assert missing.exit_code == 2
