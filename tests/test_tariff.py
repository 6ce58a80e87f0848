"""The national tariff loader: the published prices read exactly (AA22C non-elective 2017/18 = £9,766, trim point 98
days, £240 per excess bed day), the CSV extracts equal the official workbook row for row, every price list has
the domain layout and every priced row of its file, and each bad cell is reported with its file, row and column."""

from __future__ import annotations

import csv
import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from outturn.domain.periods import FinancialYear
from outturn.domain.problems import ProblemsError
from outturn.domain.tariff import MFF_SCHEMA, TARIFF_AE_SCHEMA, TARIFF_APC_SCHEMA, TARIFF_OP_SCHEMA
from outturn.ingest.tariff import (
    TARIFF_FILES,
    TARIFF_SUBDIRECTORY,
    TARIFF_WORKBOOK,
    Tariff,
    TariffYearError,
    load_tariff,
    read_workbook_apc,
)

YEARS = (2017, 2018)


@pytest.fixture(scope="module")
def tariffs(reference_dir: Path) -> dict[int, Tariff]:
    return {year: load_tariff(reference_dir, FinancialYear(year)) for year in YEARS}


@pytest.fixture(scope="module")
def workbook_apc(reference_dir: Path) -> dict[int, pa.Table]:
    """Each APC sheet of the official workbook, read once for the module (the slow part)."""
    workbook = reference_dir / TARIFF_SUBDIRECTORY / TARIFF_WORKBOOK
    return {year: read_workbook_apc(workbook, TARIFF_FILES[year].workbook_apc_sheet) for year in YEARS}


def _row(table: pa.Table, column: str, value: str) -> dict[str, Any]:
    rows: list[dict[str, Any]] = [row for row in table.to_pylist() if row[column] == value]
    assert len(rows) == 1, f"{column}={value!r}: {len(rows)} rows"
    return rows[0]


def _csv_records(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


# --- the published prices ---------------------------------------------------------------------------------------


def test_aa22c_non_elective_2017_18_is_the_published_price(tariffs: dict[int, Tariff]) -> None:
    row = _row(tariffs[2017].apc, "hrg", "AA22C")
    assert row["non_elective_pence"] == 976_600  # £9,766
    assert row["non_elective_trim_days"] == 98
    assert row["excess_bed_day_pence"] == 24_000  # £240 a day beyond the trim point
    assert row == {
        "year": 2017,
        "hrg": "AA22C",
        "hrg_name": "Cerebrovascular Accident, Nervous System Infections or Encephalopathy, with CC Score 14+",
        "elective_pence": 820_700,  # the combined day case / ordinary elective price: all there is
        "day_case_pence": 820_700,
        "elective_trim_days": 117,
        "non_elective_pence": 976_600,
        "non_elective_trim_days": 98,
        "excess_bed_day_pence": 24_000,
        "short_stay_pence": 293_000,  # reduced short-stay emergency tariff applies: £2,930
        "op_procedure_pence": None,
    }


def test_the_2018_19_price_of_the_same_hrg(tariffs: dict[int, Tariff]) -> None:
    row = _row(tariffs[2018].apc, "hrg", "AA22C")
    assert (row["year"], row["non_elective_pence"], row["elective_pence"], row["short_stay_pence"]) == (
        2018,
        985_900,
        828_500,
        295_800,
    )


def test_separate_day_case_and_elective_prices_with_an_outpatient_procedure_price(tariffs: dict[int, Tariff]) -> None:
    # CA14Z,Nasal Polypectomy,108,-,1259,1138,5,1947,14,241,No,-,-
    row = _row(tariffs[2017].apc, "hrg", "CA14Z")
    assert row == {
        "year": 2017,
        "hrg": "CA14Z",
        "hrg_name": "Nasal Polypectomy",
        "elective_pence": 113_800,
        "day_case_pence": 125_900,
        "elective_trim_days": 5,
        "non_elective_pence": 194_700,
        "non_elective_trim_days": 14,
        "excess_bed_day_pence": 24_100,
        "short_stay_pence": None,
        "op_procedure_pence": 10_800,
    }


def test_combined_price_and_an_outpatient_procedure_price(tariffs: dict[int, Tariff]) -> None:
    # AA32Z,Neuropsychology Tests,378,378,-,-,5,378,5,240,No,-,-
    row = _row(tariffs[2017].apc, "hrg", "AA32Z")
    assert (row["op_procedure_pence"], row["elective_pence"], row["day_case_pence"]) == (37_800, 37_800, 37_800)


def test_no_short_stay_tariff_where_it_does_not_apply(tariffs: dict[int, Tariff]) -> None:
    # BZ30A,"Complex, Cataract or Lens Procedures, with CC Score 2+",-,1363,-,-,5,3002,14,257,No,-,-
    row = _row(tariffs[2017].apc, "hrg", "BZ30A")
    assert row["short_stay_pence"] is None
    assert (row["elective_pence"], row["non_elective_pence"], row["non_elective_trim_days"]) == (136_300, 300_200, 14)
    assert row["excess_bed_day_pence"] == 25_700


def test_outpatient_attendance_prices_by_treatment_function(tariffs: dict[int, Tariff]) -> None:
    # 100,General Surgery,163,206,70,104 (WF01B, WF02B, WF01A, WF02A)
    assert _row(tariffs[2017].op, "treatment_function", "100") == {
        "year": 2017,
        "treatment_function": "100",
        "treatment_function_name": "General Surgery",
        "first_pence": 16_300,
        "follow_up_pence": 7_000,
        "first_multi_pence": 20_600,
        "follow_up_multi_pence": 10_400,
    }
    # 329,Transient Ischaemic Attack,293,293,-,-: no follow-up price
    tia = _row(tariffs[2018].op, "treatment_function", "329")
    assert (tia["first_pence"], tia["follow_up_pence"], tia["follow_up_multi_pence"]) == (29_300, None, None)


def test_a_and_e_prices(tariffs: dict[int, Tariff]) -> None:
    # VB03Z: 2017/18 212 / 63, 2018/19 216 / 63
    row = _row(tariffs[2017].ae, "hrg", "VB03Z")
    assert (row["year"], row["type_1_2_pence"], row["type_3_pence"]) == (2017, 21_200, 6_300)
    assert _row(tariffs[2018].ae, "hrg", "VB03Z")["type_1_2_pence"] == 21_600


def test_market_forces_factor_in_millionths(tariffs: dict[int, Tariff]) -> None:
    assert _row(tariffs[2017].mff, "provider", "R1A") == {
        "provider": "R1A",
        "provider_name": "WORCESTERSHIRE HEALTH AND CARE NHS TRUST",
        "mff_millionths": 1_036_391,
    }
    # written out as 1.0448659999999999 (a binary artefact of Excel's 1.044866): read at Excel's 15 digits
    assert _row(tariffs[2018].mff, "provider", "RRK")["mff_millionths"] == 1_044_866
    assert tariffs[2017].mff.equals(tariffs[2018].mff)  # one MFF for both years


def test_every_mff_is_the_published_index_to_six_places(reference_dir: Path, tariffs: dict[int, Tariff]) -> None:
    path = reference_dir / TARIFF_SUBDIRECTORY / TARIFF_FILES[2017].mff
    published = {record[0]: Decimal(record[2]) for record in _csv_records(path)[1:]}
    loaded = {row["provider"]: row["mff_millionths"] for row in tariffs[2017].mff.to_pylist()}
    assert loaded.keys() == published.keys()
    for provider, index in published.items():
        assert abs(Decimal(loaded[provider]) / 1_000_000 - index) < Decimal("1e-12"), provider


# --- the extracts against the official workbook -----------------------------------------------------------------


@pytest.mark.parametrize("year", YEARS)
def test_csv_extract_equals_the_workbook(
    year: int, tariffs: dict[int, Tariff], workbook_apc: dict[int, pa.Table]
) -> None:
    from_csv, from_workbook = tariffs[year].apc, workbook_apc[year]
    assert from_workbook.schema == from_csv.schema
    assert from_workbook.num_rows == from_csv.num_rows
    for csv_row, workbook_row in zip(from_csv.to_pylist(), from_workbook.to_pylist(), strict=True):
        assert csv_row == workbook_row
    assert from_workbook.equals(from_csv)


# --- row counts and layouts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("year", YEARS)
def test_every_priced_row_is_loaded(year: int, reference_dir: Path, tariffs: dict[int, Tariff]) -> None:
    """Each table holds every data record of its CSV except the footnotes (first cell starting ``*``)."""
    directory = reference_dir / TARIFF_SUBDIRECTORY
    files = TARIFF_FILES[year]
    tariff = tariffs[year]
    expected_records = {2017: (2305, 57, 12, 237), 2018: (2304, 57, 12, 237)}[year]  # csv records below the header
    for name, table, records in zip(
        (files.apc, files.op, files.ae, files.mff),
        (tariff.apc, tariff.op, tariff.ae, tariff.mff),
        expected_records,
        strict=True,
    ):
        data = _csv_records(directory / name)[1:]
        assert len(data) == records, name
        footnotes = [record for record in data if record[0].startswith("*")]
        assert all(not any(cell.strip() for cell in record[1:]) for record in footnotes), name
        assert table.num_rows == len(data) - len(footnotes), name
    assert (tariff.apc.num_rows, tariff.op.num_rows, tariff.ae.num_rows, tariff.mff.num_rows) == (2303, 56, 12, 237)


@pytest.mark.parametrize("year", YEARS)
def test_tables_have_the_domain_layouts(year: int, tariffs: dict[int, Tariff]) -> None:
    tariff = tariffs[year]
    assert tariff.year == FinancialYear(year)
    for table, layout in (
        (tariff.apc, TARIFF_APC_SCHEMA),
        (tariff.op, TARIFF_OP_SCHEMA),
        (tariff.ae, TARIFF_AE_SCHEMA),
        (tariff.mff, MFF_SCHEMA),
    ):
        assert table.column_names == list(layout)
        assert [str(field.type) for field in table.schema] == list(layout.values())
    assert set(tariff.apc.column("year").to_pylist()) == {year}
    assert tariff.apc.column("hrg").null_count == 0
    assert tariff.apc.column("non_elective_pence").null_count == 0


# --- the one table reader reads the tariff as the tariff's own reader did ---------------------------------------

# Each table's rows and SHA-256 of ``json.dumps(table.to_pylist(), sort_keys=True)``, taken with the tariff's own
# grid reader (``_Grid``/``_locate``/``_Row``) before issue 15 moved it onto ``ingest.tables``: the same rows,
# in the same order, with the same prices, codes, names and trim points.
TABLES_BEFORE_ONE_READER = {
    (2017, "apc"): (2303, "deef1d8faa46e0c778360554f5305d830fd64eb978260f121a8be6f3c2407395"),
    (2017, "op"): (56, "0b8c45264d91d5201d465740696d9ca43c98906b5d585857820b3d0990500d4c"),
    (2017, "ae"): (12, "9d5126a0e493681aeb29e1f806735a6db16d11f5a8dd7b10c390a7675fec6510"),
    (2017, "mff"): (237, "817ab713f3a4502f31078aae699155a276c4a9cd2c9897c3ecd519986377729a"),
    (2018, "apc"): (2303, "f9726e67fe870841ef6cb48b766d1a0d0ad4b2ff3ae2ffa288b60a0a934b7236"),
    (2018, "op"): (56, "a75db5541b5bb59448eb9cf3232540bdc50c9ca01e8222eaa910483311901e3c"),
    (2018, "ae"): (12, "10d8445cabc6287a7a75add7f5a966b45f7ff923d433817495a1cbc51bb55c4b"),
    (2018, "mff"): (237, "817ab713f3a4502f31078aae699155a276c4a9cd2c9897c3ecd519986377729a"),
}


@pytest.mark.parametrize("year", YEARS)
def test_the_one_table_reader_loads_the_same_tables(year: int, tariffs: dict[int, Tariff]) -> None:
    for name in ("apc", "op", "ae", "mff"):
        table: pa.Table = getattr(tariffs[year], name)
        digest = hashlib.sha256(json.dumps(table.to_pylist(), sort_keys=True).encode()).hexdigest()
        assert (table.num_rows, digest) == TABLES_BEFORE_ONE_READER[(year, name)], name


@pytest.mark.parametrize("year", ["2018/19", "2018-19", 2018, FinancialYear(2018)])
def test_year_forms(year: object, reference_dir: Path) -> None:
    assert load_tariff(reference_dir, year).year == FinancialYear(2018)  # type: ignore[arg-type]


def test_a_year_not_held_names_the_years_that_are(reference_dir: Path) -> None:
    with pytest.raises(TariffYearError, match=r"2019/20.*2017/18, 2018/19"):
        load_tariff(reference_dir, "2019/20")


# --- bad input --------------------------------------------------------------------------------------------------

APC_HEADER = (
    "HRG code,HRG name,Outpatient procedure tariff (£),Combined day case / ordinary elective spell tariff (£),"
    "Day case spell tariff (£),Ordinary elective spell tariff (£),Ordinary elective long stay trim point (days),"
    "Non-elective spell tariff (£),Non-elective long stay trim point (days),"
    "Per day long stay payment (for days exceeding trim point) (£),Reduced short stay emergency tariff  applicable?,"
    "% applied in calculation of reduced short stay emergency tariff,Reduced short stay emergency tariff (£)"
)
GOOD_APC = (
    'AA22C,"Cerebrovascular Accident, with CC Score 14+",-,8207,-,-,117,9766,98,240,Yes,0.3,2930',
    "CA14Z,Nasal Polypectomy,108.50,-,1259,1138,5,1947,14,241,No,-,-",
)
OP_TEXT = (
    "Treatment function code,Treatment function description,WF01B First Attendance - Single Professional,"
    "WF02B First Attendance - Multi Professional,WF01A Follow Up Attendance - Single Professional,"
    "WF02A Follow Up Attendance - Multi Professional\n100,General Surgery,163,206,70,104\n"
)
AE_TEXT = "HRG code,HRG name,Type 1 and 2 Departments,Type 3 Departments\nVB03Z,Emergency Medicine,212,63\n"
MFF_HEADER = "Provider Code,Provider Name,Payment index value for 2016-17"


def _write_tariff(
    root: Path,
    apc: tuple[str, ...] = GOOD_APC,
    mff: tuple[str, ...] = ("R1A,WORCESTERSHIRE,1.036391",),
    apc_header: str = APC_HEADER,
) -> Path:
    directory = root / TARIFF_SUBDIRECTORY
    directory.mkdir(parents=True)
    files = TARIFF_FILES[2017]
    (directory / files.apc).write_text("\n".join((apc_header, *apc, "* a footnote,,,")) + "\n", encoding="utf-8")
    (directory / files.op).write_text(OP_TEXT, encoding="utf-8")
    (directory / files.ae).write_text(AE_TEXT, encoding="utf-8")
    (directory / files.mff).write_text("\n".join((MFF_HEADER, *mff)) + "\n", encoding="utf-8")
    return root


def _problems(root: Path) -> list[tuple[str, int | None, str | None, str]]:
    with pytest.raises(ProblemsError) as caught:
        load_tariff(root, 2017)
    return [(problem.source, problem.row, problem.column, problem.reason) for problem in caught.value.problems]


def test_a_hand_made_tariff_loads_with_pence_exact(tmp_path: Path) -> None:
    tariff = load_tariff(_write_tariff(tmp_path), "2017/18")
    assert tariff.apc.num_rows == 2
    nasal = _row(tariff.apc, "hrg", "CA14Z")
    assert (nasal["op_procedure_pence"], nasal["day_case_pence"], nasal["elective_pence"]) == (10_850, 125_900, 113_800)
    assert _row(tariff.mff, "provider", "R1A")["mff_millionths"] == 1_036_391


def test_a_price_that_is_not_money(tmp_path: Path) -> None:
    bad = "CA14Z,Nasal Polypectomy,108,-,1259,1138,5,abc,14,241,No,-,-"
    problems = _problems(_write_tariff(tmp_path, apc=(GOOD_APC[0], bad)))
    assert problems == [("nt1718_apc_oproc.csv", 3, "Non-elective spell tariff (£)", "not a money amount: 'abc'")]


def test_a_negative_market_forces_factor(tmp_path: Path) -> None:
    problems = _problems(_write_tariff(tmp_path, mff=("R1A,WORCESTERSHIRE,1.036391", "R1C,SOLENT,-1.092165")))
    assert len(problems) == 1
    source, row, column, reason = problems[0]
    assert (source, row, column) == ("nt1719_mff_values.csv", 3, "Payment index value for 2016-17")
    assert "above zero" in reason


def test_a_market_forces_factor_with_more_than_six_decimals(tmp_path: Path) -> None:
    problems = _problems(_write_tariff(tmp_path, mff=("R1A,WORCESTERSHIRE,1.0363915",)))
    assert problems == [
        (
            "nt1719_mff_values.csv",
            2,
            "Payment index value for 2016-17",
            "more than 6 decimal places in the payment index: '1.0363915'",
        )
    ]


def test_a_missing_column(tmp_path: Path) -> None:
    header = APC_HEADER.replace("Non-elective long stay trim point (days)", "Trim")
    problems = _problems(_write_tariff(tmp_path, apc_header=header))
    assert problems == [
        ("nt1718_apc_oproc.csv", 1, "Non-elective long stay trim point (days)", "missing column"),
    ]


def test_every_fault_in_every_file_is_reported_together(tmp_path: Path) -> None:
    rows = (
        "AA22C,Stroke,-,8207,-,-,x,9766,98,-240,Maybe,0.3,2930",
        "AA22C,Stroke again,-,8207,-,-,117,9766,98,240,Yes,0.3,-",
        "CA14Z,Nasal Polypectomy,108,-,1259,1138,5,,14,241,No,-,-",
    )
    problems = _problems(_write_tariff(tmp_path, apc=rows, mff=("R1A,WORCESTERSHIRE,0",)))
    assert [(row, column) for _source, row, column, _reason in problems] == [
        (2, "Reduced short stay emergency tariff applicable?"),
        (2, "Ordinary elective long stay trim point (days)"),
        (2, "Per day long stay payment (for days exceeding trim point) (£)"),
        (3, "Reduced short stay emergency tariff (£)"),
        (4, "Non-elective spell tariff (£)"),
        (2, "Payment index value for 2016-17"),
    ]
    assert {source for source, *_rest in problems} == {"nt1718_apc_oproc.csv", "nt1719_mff_values.csv"}


def test_a_repeated_hrg(tmp_path: Path) -> None:
    problems = _problems(_write_tariff(tmp_path, apc=(GOOD_APC[0], GOOD_APC[0])))
    assert problems == [("nt1718_apc_oproc.csv", 3, "HRG code", "AA22C appears more than once (first on row 2)")]


def test_a_missing_file(tmp_path: Path) -> None:
    root = _write_tariff(tmp_path)
    (root / TARIFF_SUBDIRECTORY / TARIFF_FILES[2017].ae).unlink()
    problems = _problems(root)
    assert [(source, row) for source, row, *_rest in problems] == [("nt1718_ae.csv", None)]


def test_a_workbook_sheet_with_title_rows_and_a_bad_price(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "1a APC & OPROC 17.18"
    sheet.append([None, "Admitted patient care & outpatient procedure prices 2017/18"])
    sheet.append([])
    header = [label.replace("  applicable?", " \napplicable?") for label in next(csv.reader([APC_HEADER]))]
    sheet.append([None, *header])  # the workbook breaks this header over two lines
    sheet.append([None, "AA22C", "Stroke", "-", 8207, "-", "-", 117, 9766, 98, 240, "Yes", 0.3, 2930])
    sheet.append([None, "CA14Z", "Nasal Polypectomy", 108, "-", 1259, 1138, 5, "£1,9x7", 14, 241, "No", "-", "-"])
    path = tmp_path / "annex.xlsx"
    book.save(path)
    with pytest.raises(ProblemsError) as caught:
        read_workbook_apc(path, "1a APC & OPROC 17.18")
    [problem] = caught.value.problems
    assert (problem.source, problem.sheet, problem.row, problem.column) == (
        "annex.xlsx",
        "1a APC & OPROC 17.18",
        5,
        "Non-elective spell tariff (£)",
    )
    with pytest.raises(ProblemsError, match="no sheet named 'APC'"):
        read_workbook_apc(path, "APC", year="2017/18")
    with pytest.raises(ProblemsError, match="cannot tell the financial year from the sheet name"):
        read_workbook_apc(path, "APC")
