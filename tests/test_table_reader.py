"""The one table reader (``outturn.ingest.tables``): one header policy for every reader, note rows, columns named
as the file publishes them, and the checks every reader makes (field counts, unsaved formulas, hidden rows)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from outturn.domain.problems import ProblemsError
from outturn.ingest.grid import read_grid, read_sheets
from outturn.ingest.organisations import read_ods_trusts
from outturn.ingest.tables import Column, earlier_row, read_layout, read_table
from outturn.ingest.tariff import read_workbook_apc

PRICES = (Column("code", "HRG code"), Column("price", "Price (£)"), Column("mff", "Payment index", prefix=True))


def _xlsx(path: Path, rows: list[list[object]], *, title: str = "Prices", hidden: tuple[int, ...] = ()) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for number in hidden:
        sheet.row_dimensions[number].hidden = True
    book.save(path)
    return path


def _problems(read: object) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(ProblemsError) as caught:
        read()  # type: ignore[operator]
    return [(problem.row, problem.column, problem.reason) for problem in caught.value.problems]


# --- the header -------------------------------------------------------------------------------------------------


def test_a_layout_header_is_found_below_title_rows_by_its_key_column(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path / "prices.xlsx",
        [
            ["Prices for 2017/18"],  # row 1: a title
            [],  # row 2: blank
            [None, "HRG\ncode", "Price (£)", "Payment index 2016-17"],  # row 3: the header, one label broken
            [None, "AA22C", 9766, 1.036391],  # row 4
        ],
    )
    table = read_layout(path, PRICES, header_search=5)
    assert table.header_row == 3
    assert table.rows == ((4, {"code": "AA22C", "price": 9766, "mff": 1.036391}),)
    # a problem names the column as the sheet publishes it (line break collapsed), on the row a person sees
    assert table.problem("bad", 4, "code").column == "HRG code"
    assert table.problem("bad", 4, "mff").column == "Payment index 2016-17"


def test_a_layout_header_beyond_the_search_is_a_fault(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "prices.xlsx", [["title"], ["more"], ["HRG code", "Price (£)", "Payment index"]])
    assert _problems(lambda: read_layout(path, PRICES, header_search=2)) == [
        (None, None, "no header row (a 'hrg_code' cell) in the first 2 rows")
    ]


def test_every_missing_or_repeated_layout_column_is_a_problem_on_the_header_row(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("HRG code,Payment index 2016,Payment index 2017\nAA22C,1,2\n", encoding="utf-8")
    assert _problems(lambda: read_layout(path, PRICES)) == [
        (1, "Price (£)", "missing column"),
        (1, "Payment index", "the column appears more than once"),
    ]


def test_a_table_header_below_a_title_row_names_the_row(tmp_path: Path) -> None:
    """``read_table`` keeps its header on row 1 (or the row given) and says where the header it found is."""
    path = tmp_path / "ledger.csv"
    path.write_text("Ledger for Q1\n\ncode,amount\nA,1\n", encoding="utf-8")
    [(row, column, reason)] = _problems(lambda: read_table(path, required=("code", "amount")))
    assert (row, column) == (1, None)
    assert reason.startswith("the header is on row 3, below a title row")
    table = read_table(path, required=("code", "amount"), header_row=3)
    assert table.rows == ((4, {"code": "A", "amount": "1"}),)


# --- rows -------------------------------------------------------------------------------------------------------


def test_note_rows_are_skipped_only_where_asked_and_only_when_the_rest_is_blank(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(
        "HRG code,Price (£),Payment index\nAA22C,9766,1\n,,\n* prices in pounds,,\n*AB,5,1\n", encoding="utf-8"
    )
    with_notes = read_layout(path, PRICES, notes=True)
    assert [number for number, _cells in with_notes.rows] == [2, 5]  # row 3 blank, row 4 a note
    without = read_layout(path, PRICES)
    assert [number for number, _cells in without.rows] == [2, 4, 5]


def test_an_unquoted_comma_in_a_layout_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("HRG code,Price (£),Payment index\nAA22C,9,766,1\n", encoding="utf-8")
    [(row, _column, reason)] = _problems(lambda: read_layout(path, PRICES))
    assert row == 2
    assert reason.startswith("4 fields but the header has 3")


def test_the_tariff_workbook_refuses_a_hidden_price_row_and_an_unsaved_formula(tmp_path: Path) -> None:
    """The hardening every reader has now covers the tariff's workbook sheet too (before, its own reader took a
    hidden row on trust and read a formula with no saved value as a blank cell)."""
    header: list[object] = [
        "HRG code", "HRG name", "Outpatient procedure tariff (£)",
        "Combined day case / ordinary elective spell tariff (£)", "Day case spell tariff (£)",
        "Ordinary elective spell tariff (£)", "Ordinary elective long stay trim point (days)",
        "Non-elective spell tariff (£)", "Non-elective long stay trim point (days)",
        "Per day long stay payment (for days exceeding trim point) (£)",
        "Reduced short stay emergency tariff applicable?", "Reduced short stay emergency tariff (£)",
    ]  # fmt: skip
    rows: list[list[object]] = [
        ["APC prices"],
        header,
        ["AA22C", "Stroke", "-", 8207, "-", "-", 117, 9766, 98, 240, "Yes", 2930],
        ["CA14Z", "Nasal Polypectomy", 108, "-", 1259, 1138, 5, "=H3*2", 14, 241, "No", "-"],
    ]
    path = _xlsx(tmp_path / "annex.xlsx", rows, title="1a APC & OPROC 17.18", hidden=(3,))
    assert _problems(lambda: read_workbook_apc(path, "1a APC & OPROC 17.18")) == [
        (3, None, "this row is hidden in Excel: unhide it, or delete it if it should not be read"),
        (4, "Non-elective spell tariff (£)", "formula with no saved value: open and save the file in Excel"),
    ]


# --- files ------------------------------------------------------------------------------------------------------


def test_the_grid_is_the_cells_as_a_person_sees_them(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("code,name\r\nR1A,Worcester £\r\n".encode("cp1252"))
    grid = read_grid(path)
    assert (grid.source, grid.sheet, grid.encoding) == ("a.csv", None, "Windows-1252")
    assert grid.rows == (["code", "name"], ["R1A", "Worcester £"])
    book = _xlsx(tmp_path / "b.xlsx", [["code"], [None], [7]])
    assert read_grid(book).rows == (("code",), (), (7,))  # an empty row is empty, row 3 stays row 3


def test_sheets_read_together_and_a_missing_one_named(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "weights.xlsx", [["Age Band"]], title="ASTRO-PUs")
    assert read_sheets(path, ("ASTRO-PUs",))["ASTRO-PUs"].rows == (("Age Band",),)
    assert _problems(lambda: read_sheets(path, ("ASTRO-PUs", "STAR-PUs"))) == [
        (None, None, "no sheet(s) STAR-PUs (sheets: ASTRO-PUs)")
    ]


def test_the_ods_trust_list_reads_from_the_one_reader(tmp_path: Path) -> None:
    path = tmp_path / "etr.csv"
    path.write_text('"R0A","MANCHESTER UNIVERSITY"\n\n"RTH"," OXFORD "\n', encoding="utf-8")
    assert [(trust.code, trust.name) for trust in read_ods_trusts(path)] == [
        ("R0A", "MANCHESTER UNIVERSITY"),
        ("RTH", "OXFORD"),
    ]


def test_earlier_row_names_the_first_row_of_a_repeated_key_and_nothing_for_a_new_one() -> None:
    first_row_of: dict[tuple[str, int], int] = {}
    # rows 2..6 give keys A1, B1, A1, A2, A1: rows 4 and 6 repeat row 2's; every other row is a first
    keys = [("A", 1), ("B", 1), ("A", 1), ("A", 2), ("A", 1)]
    found = [earlier_row(first_row_of, key, number) for number, key in enumerate(keys, start=2)]
    assert found == [None, None, 2, None, 2]
    assert first_row_of == {("A", 1): 2, ("B", 1): 3, ("A", 2): 5}
