"""Validated ingest of hospital activity extracts (CSV and parquet): exact tables, every fault counted with
example rows, corrupt files, scale, and atomic writes."""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from outturn.domain.activity import SCHEMAS, ActivityKind
from outturn.domain.problems import Problem, ProblemsError
from outturn.ingest import activity as activity_module
from outturn.ingest.activity import read_activity, write_activity

APC, OP, AE = ActivityKind.APC, ActivityKind.OP, ActivityKind.AE

# Clean files as a user writes them: headers in any case and spacing, an extra column, codes in the canonical
# spelling or a common synonym, lower-case organisation codes, ISO and UK dates, blank optional codes.
CLEAN_CSV = {
    APC: [
        [
            "Spell ID",
            "Provider",
            "Commissioner",
            "Practice",
            "Patient ID",
            "Admission Method",
            "HRG",
            "Admission Date",
            "Discharge Date",
            "Length of Stay",
            "Treatment Function",
            "Age",
            "Notes",
        ],
        ["S1", "rxx", "06L", "A81001", "P1", "elective", "AA22C", "2018-05-03", "2018-05-05", "2", "100", "45", "x"],
        ["S2", "RXX", "06L", "", "P2", "Daycase", "fz12h", "03/05/2018", "03/05/2018", "0", "101", "0", ""],
        ["S3", " RXX ", "06L", "A81002", "", "DC", "", "2018-06-01", "2018-06-11", "", "", "120", ""],
        ["S4", "RXX", "06l", "A81001", "P4", "Non-Elective", "WA14Z", "2018-07-31", "2018-08-02", "2", "300", "7", ""],
        ["S5", "RXX", "06L", "A81001", "P5", "emergency", "AA22C", "2018-07-31", "2018-08-01", "1", "300", "88", ""],
    ],
    OP: [
        [
            "attendance_id",
            "provider",
            "commissioner",
            "practice",
            "patient_id",
            "attendance_date",
            "attendance_type",
            "treatment_function",
            "procedure_hrg",
            "referral_source",
            "age",
        ],
        ["O1", "RXX", "06L", "A81001", "P1", "2018-04-01", "first", "100", "", "GP", "30"],
        ["O2", "RXX", "06L", "A81001", "P1", "2018-04-15", "FU", "100", "wf01a", "gp", "30"],
        ["O3", "RXX", "06L", "A81002", "P2", "2018-04-16", "follow-up", "", "", "C2C", "60"],
        ["O4", "RXX", "06L", "A81002", "P3", "2018-04-17", "Follow Up", "320", "", "consultant", "61"],
        ["O5", "RXX", "06L", "A81002", "P4", "2018-04-18", "First", "320", "", "Other", "62"],
    ],
    AE: [
        [
            "attendance_id",
            "provider",
            "commissioner",
            "practice",
            "patient_id",
            "arrival_date",
            "department_type",
            "hrg",
            "age",
        ],
        ["E1", "RXX", "06L", "A81001", "P1", "2018-12-25", "1", "VB09Z", "5"],
        ["E2", "RXX", "06L", "", "", "2018-12-26", "Type 2", "", "99"],
        ["E3", "RXX", "06L", "A81001", "P3", "2018-12-27", "type3", "vb11z", "18"],
    ],
}


def _d(text: str) -> date:
    return date.fromisoformat(text)


EXPECTED_ROWS = {
    APC: [
        ("S1", "RXX", "06L", "A81001", "P1", "elective", "AA22C", _d("2018-05-03"), _d("2018-05-05"), 2, "100", 45),
        ("S2", "RXX", "06L", None, "P2", "day_case", "FZ12H", _d("2018-05-03"), _d("2018-05-03"), 0, "101", 0),
        ("S3", "RXX", "06L", "A81002", None, "day_case", None, _d("2018-06-01"), _d("2018-06-11"), 10, None, 120),
        ("S4", "RXX", "06L", "A81001", "P4", "non_elective", "WA14Z", _d("2018-07-31"), _d("2018-08-02"), 2, "300", 7),
        ("S5", "RXX", "06L", "A81001", "P5", "non_elective", "AA22C", _d("2018-07-31"), _d("2018-08-01"), 1, "300", 88),
    ],
    OP: [
        ("O1", "RXX", "06L", "A81001", "P1", _d("2018-04-01"), "first", "100", None, "gp", 30),
        ("O2", "RXX", "06L", "A81001", "P1", _d("2018-04-15"), "follow_up", "100", "WF01A", "gp", 30),
        ("O3", "RXX", "06L", "A81002", "P2", _d("2018-04-16"), "follow_up", None, None, "consultant", 60),
        ("O4", "RXX", "06L", "A81002", "P3", _d("2018-04-17"), "follow_up", "320", None, "consultant", 61),
        ("O5", "RXX", "06L", "A81002", "P4", _d("2018-04-18"), "first", "320", None, "other", 62),
    ],
    AE: [
        ("E1", "RXX", "06L", "A81001", "P1", _d("2018-12-25"), "1", "VB09Z", 5),
        ("E2", "RXX", "06L", None, None, _d("2018-12-26"), "2", None, 99),
        ("E3", "RXX", "06L", "A81001", "P3", _d("2018-12-27"), "3", "VB11Z", 18),
    ],
}

ARROW = {"string": pa.string(), "date": pa.date32(), "int64": pa.int64()}


def expected_table(kind: ActivityKind) -> pa.Table:
    """Built from the literal rows above, independently of the reader's code."""
    schema = pa.schema([(name, ARROW[type_name]) for name, type_name in SCHEMAS[kind].items()])
    columns = list(zip(*EXPECTED_ROWS[kind], strict=True))
    return pa.Table.from_arrays(
        [pa.array(values, field.type) for values, field in zip(columns, schema, strict=True)], schema=schema
    )


def write_csv(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def apc_rows(*changes: dict[str, str], count: int = 6) -> list[list[str]]:
    """A valid APC CSV (header + ``count`` spells) with ``changes[i]`` applied to data row i."""
    header = list(SCHEMAS[APC])
    rows = []
    for index in range(count):
        row = {
            "spell_id": f"S{index + 1}",
            "provider": "RXX",
            "commissioner": "06L",
            "practice": "A81001",
            "patient_id": f"P{index}",
            "admission_method": "elective",
            "hrg": "AA22C",
            "admission_date": "2018-05-01",
            "discharge_date": "2018-05-04",
            "length_of_stay": "3",
            "treatment_function": "100",
            "age": "50",
        }
        if index < len(changes):
            row |= changes[index]
        rows.append([row[name] for name in header])
    return [header, *rows]


def problems_of(path: Path, kind: ActivityKind) -> tuple[Problem, ...]:
    with pytest.raises(ProblemsError) as caught:
        read_activity(path, kind)
    assert all(problem.source == path.name for problem in caught.value.problems)
    return caught.value.problems


def only(problems: Sequence[Problem], text: str) -> Problem:
    matching = [problem for problem in problems if text in problem.reason]
    assert len(matching) == 1, f"{text!r} in {[str(problem) for problem in problems]}"
    return matching[0]


# Clean files ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [APC, OP, AE])
def test_clean_csv_reads_to_the_exact_domain_table(tmp_path: Path, kind: ActivityKind) -> None:
    table = read_activity(write_csv(tmp_path / f"{kind}.csv", CLEAN_CSV[kind]), kind)
    assert table.schema == expected_table(kind).schema
    assert table.equals(expected_table(kind))


@pytest.mark.parametrize("kind", [APC, OP, AE])
def test_clean_parquet_reads_to_the_exact_domain_table(tmp_path: Path, kind: ActivityKind) -> None:
    # Typed columns (date32, int32 ages) under user-style names, plus an extra column to ignore.
    expected = expected_table(kind)
    columns = {name.replace("_", " ").title(): expected[name] for name in expected.column_names}
    columns["Age"] = pc.cast(expected["age"], pa.int32())
    columns["ignored"] = pa.array(["x"] * expected.num_rows)
    pq.write_table(pa.table(columns), tmp_path / "typed.parquet")
    assert read_activity(tmp_path / "typed.parquet", kind).equals(expected)
    # Every column as text, as a CSV converted without types would give.
    as_text = pa.table({name: pc.cast(expected[name], pa.string()) for name in expected.column_names})
    pq.write_table(as_text, tmp_path / "text.parquet")
    assert read_activity(tmp_path / "text.parquet", kind).equals(expected)


def test_blank_lines_are_skipped_and_row_numbers_stay_as_the_user_sees_them(tmp_path: Path) -> None:
    header, *rows = apc_rows({}, {}, {"age": "200"})
    path = tmp_path / "apc.csv"
    lines = [",".join(header), ",".join(rows[0]), "", "   ", ",".join(rows[1]), ",".join(rows[2]), "", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    problem = only(problems_of(path, APC), "age outside")
    assert problem.reason == "1 row: age outside 0..120 (row 6: 200)"
    rows[2][-1] = "20"
    path.write_text("\n".join([",".join(header), ",".join(rows[0]), "", ",".join(rows[1]), ",".join(rows[2]), ""]))
    assert read_activity(path, APC).num_rows == 3


# Schema faults -------------------------------------------------------------------------------------------------


def test_missing_columns_are_listed(tmp_path: Path) -> None:
    header, *rows = apc_rows()
    keep = [index for index, name in enumerate(header) if name not in ("hrg", "age")]
    path = write_csv(tmp_path / "apc.csv", [[row[index] for index in keep] for row in [header, *rows]])
    (problem,) = problems_of(path, APC)
    assert problem.reason.startswith("missing column(s): hrg, age (found: spell_id, provider")
    assert problem.row == 1

    table = pa.table({"attendance_id": ["E1"], "provider": ["RXX"]})
    pq.write_table(table, tmp_path / "ae.parquet")
    (problem,) = problems_of(tmp_path / "ae.parquet", AE)
    assert "missing column(s): commissioner, practice, patient_id, arrival_date, department_type, hrg, age" in (
        problem.reason
    )


def test_unreadable_numbers_and_dates_are_counted_with_examples(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "apc.csv",
        apc_rows(
            {"age": "forty"},
            {},
            {"age": "12.5"},
            {"admission_date": "2018-13-01"},
            {"discharge_date": "31/02/2018"},
            {"age": "51.0"},
        ),
    )
    problems = problems_of(path, APC)
    age = only(problems, "not a whole number")
    assert age.column == "age"
    assert age.reason == "2 rows: not a whole number (row 2: 'forty'; row 4: '12.5')"
    by_column = {problem.column: problem.reason for problem in problems}
    assert by_column["admission_date"] == "1 row: not a date (expected YYYY-MM-DD or DD/MM/YYYY) (row 5: '2018-13-01')"
    assert by_column["discharge_date"] == "1 row: not a date (expected YYYY-MM-DD or DD/MM/YYYY) (row 6: '31/02/2018')"
    assert len(problems) == 3  # the bad values are not counted again as blank, out of order or a wrong stay


# Codes ---------------------------------------------------------------------------------------------------------


def test_unknown_codes_and_blank_organisations(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "apc.csv",
        apc_rows(
            {"admission_method": "maternity"},
            {"provider": " "},
            {"commissioner": ""},
            {"admission_method": "Xx"},
        ),
    )
    problems = problems_of(path, APC)
    method = only(problems, "unknown admission method")
    assert method.column == "admission_method"
    assert method.reason == (
        "2 rows: unknown admission method (expected one of elective, day_case, non_elective) "
        "(row 2: 'maternity'; row 5: 'Xx')"
    )
    assert only(problems, "blank provider").reason == "1 row: blank provider (a value is required) (row 3)"
    assert only(problems, "blank commissioner").reason == "1 row: blank commissioner (a value is required) (row 4)"

    op = [list(row) for row in CLEAN_CSV[OP]]
    op[1][6], op[2][9], op[3][9] = "third", "dentist", "walk-in"
    problems = problems_of(write_csv(tmp_path / "op.csv", op), OP)
    assert only(problems, "unknown attendance type").reason.endswith("(row 2: 'third')")
    assert only(problems, "unknown referral source").reason.startswith("2 rows:")

    ae = [list(row) for row in CLEAN_CSV[AE]]
    ae[3][6] = "4"
    assert only(problems_of(write_csv(tmp_path / "ae.csv", ae), AE), "unknown department type").reason == (
        "1 row: unknown department type (expected one of 1, 2, 3) (row 4: '4')"
    )


def test_blank_required_values_in_every_column_type(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "apc.csv",
        apc_rows({"spell_id": ""}, {"admission_method": " "}, {"admission_date": ""}, {"age": ""}, {"age": ""}),
    )
    by_column = {problem.column: problem.reason for problem in problems_of(path, APC)}
    assert by_column == {
        "spell_id": "1 row: blank spell_id (a value is required) (row 2)",
        "admission_method": "1 row: blank admission_method (a value is required) (row 3)",
        "admission_date": "1 row: blank admission_date (a value is required) (row 4)",
        "age": "2 rows: blank age (a value is required) (row 5; row 6)",
    }
    typed = expected_table(AE)  # typed parquet columns: nulls are blank, a fraction is not a whole number
    typed = typed.set_column(5, "arrival_date", pa.array([None, date(2018, 1, 1), None], pa.date32()))
    typed = typed.set_column(8, "age", pa.array([5.0, None, 7.5], pa.float64()))
    pq.write_table(typed, tmp_path / "ae.parquet")
    assert [str(problem) for problem in problems_of(tmp_path / "ae.parquet", AE)] == [
        "ae.parquet, column 'arrival_date': 2 rows: blank arrival_date (a value is required) (row 1; row 3)",
        "ae.parquet, column 'age': 1 row: not a whole number (row 3: '7.5')",
        "ae.parquet, column 'age': 1 row: blank age (a value is required) (row 2)",
    ]


def test_hrg_and_treatment_function_may_be_blank_but_must_look_like_codes(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "apc.csv",
        apc_rows(
            {"hrg": ""},
            {"hrg": "AA2C"},
            {"treatment_function": ""},
            {"treatment_function": "10"},
            {"treatment_function": "1000", "hrg": "AA22CC"},
        ),
    )
    problems = problems_of(path, APC)
    assert only(problems, "not an HRG code").reason == (
        "2 rows: not an HRG code (two letters, two digits and a letter, like AA22C) (row 3: 'AA2C'; row 6: 'AA22CC')"
    )
    assert only(problems, "not a treatment function code").reason.startswith("2 rows:")
    assert len(problems) == 2


# Record faults -------------------------------------------------------------------------------------------------


def test_stay_faults(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "apc.csv",
        apc_rows(
            {},
            {"discharge_date": "2018-04-29", "length_of_stay": "0"},
            {"length_of_stay": "-3"},
            {"length_of_stay": "5"},
            {"length_of_stay": ""},
        ),
    )
    problems = problems_of(path, APC)
    order = only(problems, "dates out of order")
    assert order.column == "discharge_date"
    assert order.reason == (
        "1 row: discharge date before admission date (dates out of order) "
        "(row 3: admitted 2018-05-01, discharged 2018-04-29)"
    )
    assert only(problems, "negative length of stay").reason == "1 row: negative length of stay (row 4: -3)"
    assert only(problems, "length of stay disagrees").reason == (
        "1 row: length of stay disagrees with discharge date less admission date "
        "(row 5: length_of_stay 5, the dates give 3)"
    )
    assert len(problems) == 3  # a blank length of stay is taken from the dates


def test_ages_and_duplicate_ids(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "apc.csv",
        apc_rows(
            {"age": "-1"},
            {"age": "121"},
            {"spell_id": "S1"},
            {"age": "120"},
            {"spell_id": "S1"},
            {"spell_id": "S2"},
        ),
    )
    problems = problems_of(path, APC)
    assert only(problems, "age outside").reason == "2 rows: age outside 0..120 (row 2: -1; row 3: 121)"
    duplicate = only(problems, "duplicate spell_id")
    assert duplicate.column == "spell_id"
    assert duplicate.reason == (
        "3 rows: duplicate spell_id (row 4: 'S1' (first on row 2); row 6: 'S1' (first on row 2); "
        "row 7: 'S2' (first on row 3))"
    )


def test_many_faults_at_once_are_all_reported_with_counts(tmp_path: Path) -> None:
    changes = [{"age": "130"}] * 7 + [{"admission_method": "??"}, {"discharge_date": "2018-01-01"}, {"provider": ""}]
    problems = problems_of(write_csv(tmp_path / "apc.csv", apc_rows(*changes, count=12)), APC)
    age = only(problems, "age outside")
    assert (
        age.reason == "7 rows: age outside 0..120 (e.g. row 2: 130; row 3: 130; row 4: 130; row 5: 130; row 6: 130; …)"
    )
    assert only(problems, "unknown admission method").reason.endswith("(row 9: '??')")
    assert "row 10" in only(problems, "dates out of order").reason
    assert "row 11" in only(problems, "blank provider").reason
    assert len(problems) == 4


def test_ragged_rows_are_reported_and_later_rows_keep_their_numbers(tmp_path: Path) -> None:
    header, *rows = apc_rows({}, {}, {"age": "999"})
    rows[1] = rows[1][:4]
    path = tmp_path / "apc.csv"
    path.write_text("\n".join(",".join(row) for row in [header, *rows]) + "\n", encoding="utf-8")
    problems = problems_of(path, APC)
    assert only(problems, "wrong number of fields").reason == (
        "1 row: wrong number of fields (the header has 12) (row 3: 4 fields)"
    )
    assert only(problems, "age outside").reason == "1 row: age outside 0..120 (row 4: 999)"


# Empty and corrupt files ---------------------------------------------------------------------------------------


def test_empty_files(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    assert problems_of(tmp_path / "empty.csv", APC)[0].reason == "the file is empty"
    (tmp_path / "blank.csv").write_text("\n \n")
    assert problems_of(tmp_path / "blank.csv", APC)[0].reason == "the file is empty"
    write_csv(tmp_path / "header.csv", apc_rows(count=0))
    assert problems_of(tmp_path / "header.csv", APC)[0].reason == "the file has a header but no data rows"
    (tmp_path / "empty.parquet").write_bytes(b"")
    assert problems_of(tmp_path / "empty.parquet", APC)[0].reason == "the file is empty"
    pq.write_table(expected_table(APC).slice(0, 0), tmp_path / "none.parquet")
    assert problems_of(tmp_path / "none.parquet", APC)[0].reason == "the file has no records"


def test_truncated_parquet_is_one_clear_problem(tmp_path: Path) -> None:
    path = tmp_path / "apc.parquet"
    write_activity(expected_table(APC), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    (problem,) = problems_of(path, APC)
    assert problem.source == "apc.parquet"
    assert problem.reason.startswith(
        "not a complete parquet file (it may be truncated, corrupt or still being written)"
    )


def test_unsupported_and_missing_files(tmp_path: Path) -> None:
    assert "unsupported file type" in problems_of(tmp_path / "apc.xlsx", APC)[0].reason
    assert problems_of(tmp_path / "absent.csv", APC)[0].reason == "no such file"


# Scale ---------------------------------------------------------------------------------------------------------


def _big_apc(rows: int) -> pa.Table:
    index = pa.array(range(rows), pa.int64())
    admitted = pc.cast(pc.cast(pc.add(pc.divide(index, 100), 17_000), pa.int32()), pa.date32())
    stay = pc.remainder(index, 7)
    discharged = pc.cast(pc.add(pc.cast(admitted, pa.int32()), pc.cast(stay, pa.int32())), pa.date32())
    methods = pa.array(["elective", "day_case", "non_elective"]).take(pc.remainder(index, 3))
    age = pc.if_else(pc.less(index, 1_500), 130, pc.remainder(index, 100))  # 1,500 rows out of range
    text = pc.cast(index, pa.string())
    return pa.table(
        {
            "spell_id": pc.binary_join_element_wise("S", text, ""),
            "provider": pa.array(["RXX"] * rows),
            "commissioner": pa.array(["06L"] * rows),
            "practice": pa.array(["A81001"] * rows),
            "patient_id": pc.binary_join_element_wise("P", text, ""),
            "admission_method": methods,
            "hrg": pa.array(["AA22C"] * rows),
            "admission_date": admitted,
            "discharge_date": discharged,
            "length_of_stay": stay,
            "treatment_function": pa.array(["100"] * rows),
            "age": pc.cast(age, pa.int64()),
        }
    )


def test_a_large_extract_is_validated_vectorised(tmp_path: Path) -> None:
    table = _big_apc(200_000)
    pa_csv.write_csv(table, tmp_path / "big.csv")
    pq.write_table(table, tmp_path / "big.parquet")
    for name, row_offset in (("big.csv", 2), ("big.parquet", 1)):
        started = time.perf_counter()
        (problem,) = problems_of(tmp_path / name, APC)
        assert time.perf_counter() - started < 5.0
        assert problem.reason.startswith(f"1,500 rows: age outside 0..120 (e.g. row {row_offset}: 130; ")
    fixed = table.set_column(11, "age", pc.remainder(pa.array(range(200_000), pa.int64()), 100))
    write_activity(fixed, tmp_path / "fixed.parquet")
    started = time.perf_counter()
    assert read_activity(tmp_path / "fixed.parquet", APC).equals(fixed)
    assert time.perf_counter() - started < 5.0


# Writing -------------------------------------------------------------------------------------------------------


def test_write_activity_round_trips_exactly(tmp_path: Path) -> None:
    for kind in (APC, OP, AE):
        path = tmp_path / f"{kind}.parquet"
        write_activity(expected_table(kind), path)
        assert read_activity(path, kind).equals(expected_table(kind))
        assert pq.read_table(path).equals(expected_table(kind))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ae.parquet", "apc.parquet", "op.parquet"]


def test_a_failed_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "apc.parquet"
    write_activity(expected_table(APC), path)
    before = path.read_bytes()

    def half_write(table: pa.Table, where: object) -> None:
        where.write(b"PAR1 half")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(activity_module.pq, "write_table", half_write)
    with pytest.raises(OSError, match="disk full"):
        write_activity(expected_table(APC).slice(0, 1), path)
    with pytest.raises(OSError, match="disk full"):
        write_activity(expected_table(APC), tmp_path / "new.parquet")
    assert [entry.name for entry in tmp_path.iterdir()] == ["apc.parquet"]
    assert path.read_bytes() == before
