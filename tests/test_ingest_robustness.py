"""Reading files safely: a cell is a value only when it is unambiguously one; every other file ends in a problem
naming file, sheet, row and column, the store untouched, never a traceback or a run on memory.

Part 1 holds one regression test per fault found by trying bad files on every importer (each failed before the
readers were hardened); part 2 generates bad files with hypothesis for every importer.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import MetaData, select
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.activity import ActivityKind
from outturn.domain.organisations import Organisation, OrgKind
from outturn.domain.problems import Problem, ProblemsError
from outturn.ingest import workbooks
from outturn.ingest.activity import read_activity, read_csv_columns
from outturn.ingest.contracts import read_contracts
from outturn.ingest.ledger import read_ledger
from outturn.ingest.plans import read_plans
from outturn.ingest.populations import read_list_sizes
from outturn.ingest.prescribing import read_prescribing
from outturn.ingest.tables import read_table
from outturn.ingest.tariff import read_workbook_apc
from outturn.services.contract_ledger import import_contract_map
from outturn.services.contracts import import_contracts
from outturn.services.imports import ImportRefused, import_ledger, import_organisations, import_plans, import_risks
from outturn.services.savings import import_workbook
from outturn.services.workspace import Workspace, init_workspace, open_workspace
from test_activity_ingest import CLEAN_CSV
from test_prescribing_ingest import EPD_HEADER
from test_prescribing_ingest import GOOD as PRESCRIBING_ROW

ORGANISATIONS_CSV = (
    "code,name,kind,parent_code\nY59,South East,region,\nQ1,Test ICB,icb,Y59\n"
    "01A,Alpha CCG,ccg,Q1\n02B,Beta CCG,ccg,Q1\n"
)
ORGS = frozenset({"Y59", "Q1", "01A", "02B"})
LEDGER_HEADER = "org_code,year,month,category,budget,actual,note\n"
LEDGER_ROWS = "01A,2025/26,M01,acute,100.00,90.00,\n01A,2025/26,M01,prescribing,50.00,45.00,\n"


_REFLECTED: dict[str, MetaData] = {}


def store_digest(workspace: Workspace) -> str:
    """Every row of every table in the store, hashed: equal digests mean nothing was stored or changed."""
    metadata = _REFLECTED.get(str(workspace.store.engine.url))
    if metadata is None:
        metadata = _REFLECTED[str(workspace.store.engine.url)] = MetaData()
        metadata.reflect(workspace.store.engine)
    digest = hashlib.sha256()
    with workspace.store.engine.connect() as connection:
        for name in sorted(metadata.tables):
            rows = sorted(repr(tuple(row)) for row in connection.execute(select(metadata.tables[name])))
            digest.update(f"{name}:{rows}".encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def workspace_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("robust")
    (base / "organisations.csv").write_text(ORGANISATIONS_CSV, encoding="utf-8")
    with init_workspace(base / "ws", reference_dir=base) as workspace:
        import_organisations(workspace, base / "organisations.csv")
        (base / "ledger.csv").write_text(LEDGER_HEADER + LEDGER_ROWS, encoding="utf-8")
        import_ledger(workspace, base / "ledger.csv")
    return base / "ws"


@pytest.fixture
def ws(workspace_dir: Path) -> Iterator[Workspace]:
    with open_workspace(workspace_dir) as workspace:
        yield workspace


def refused(workspace: Workspace, importer: Callable[[], object]) -> ProblemsError:
    """The error ``importer`` raised; the store must be exactly as it was."""
    before = store_digest(workspace)
    with pytest.raises(ProblemsError) as caught:
        importer()
    assert store_digest(workspace) == before
    return caught.value


def write_xlsx(path: Path, rows: list[list[object]], **options: Any) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "Ledger"
    for row in rows:
        sheet.append(row)
    for number in options.get("hidden_rows", ()):
        sheet.row_dimensions[number].hidden = True
    if options.get("hidden_first"):
        sheet.sheet_state = "hidden"
        book.create_sheet("Visible").append(["nothing", "here"])
    book.save(path)
    return path


def rewrite_sheet_xml(path: Path, change: Callable[[str], str], part: str = "xl/worksheets/sheet1.xml") -> None:
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    contents[part] = change(contents[part].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


LEDGER_COLUMNS = ["org_code", "year", "month", "category", "budget", "actual"]


# --- 1. a row with more fields than its header ------------------------------------------------------------------


def test_an_unquoted_comma_in_a_plan_amount_is_refused_not_stored_as_one_pound(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text("org_code,year,item,amount,description\n01A,2025/26,recurrent_allocation,£1,288,339,714.94,\n")
    error = refused(ws, lambda: import_plans(ws, path))
    assert [(problem.row, "unquoted comma" in problem.reason) for problem in error.problems] == [(2, True)]


def test_an_unquoted_comma_in_a_ledger_amount_is_refused(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER_HEADER + "01A,2025/26,M01,acute,1,234.00,£2,000.00,note\n")
    error = refused(ws, lambda: import_ledger(ws, path))
    assert [problem.row for problem in error.problems] == [2]
    assert "7 fields" not in error.problems[0].reason and "9 fields but the header has 7" in error.problems[0].reason


def test_a_quoted_amount_with_commas_is_read(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text('org_code,year,item,amount\n01A,2025/26,recurrent_allocation,"£1,288,339,714.94"\n')
    plans, problems = read_plans(path, known_org_codes=ORGS)
    assert problems == [] and plans[0].recurrent_allocation_pence == 128_833_971_494


# --- 2. an unclosed quote -----------------------------------------------------------------------------------------


def test_an_unclosed_quote_names_the_row_where_it_opened(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER_HEADER + '01A,2025/26,M02,acute,100,90,"a note\n' + LEDGER_ROWS.replace("M01", "M02"))
    error = refused(ws, lambda: import_ledger(ws, path))
    assert [problem.row for problem in error.problems] == [2]
    assert "quote" in error.problems[0].reason


def test_a_quote_left_open_until_a_later_stray_quote_is_refused(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    rows = '01A,2025/26,M02,acute,100,90,"a note\n01A,2025/26,M02,community,10,9,\n01A,2025/26,M02,other,1,1,x"\n'
    path.write_text(LEDGER_HEADER + rows)
    error = refused(ws, lambda: import_ledger(ws, path))
    assert [(problem.row, problem.column) for problem in error.problems] == [(2, "note")]


def test_a_note_over_two_lines_is_read(tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER_HEADER + '01A,2025/26,M02,acute,100,90,"first line\nsecond, line"\n')
    lines, problems = read_ledger(path, known_org_codes=ORGS)
    assert problems == [] and lines[0].note == "first line\nsecond, line"


# --- 3. a date in the month column ------------------------------------------------------------------------------


def test_an_excel_date_in_the_month_column_must_fall_in_the_rows_year(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "ledger.xlsx",
        [LEDGER_COLUMNS, ["01A", "2024/25", datetime(2025, 12, 1), "acute", 100, 90]],
    )
    lines, problems = read_ledger(path, known_org_codes=ORGS)
    assert lines == []
    assert [(problem.row, problem.column) for problem in problems] == [(2, "month")]
    assert "2025/26" in problems[0].reason and "2024/25" in problems[0].reason


def test_an_excel_date_in_the_rows_year_is_its_month(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "ledger.xlsx",
        [LEDGER_COLUMNS, ["01A", "2025/26", datetime(2025, 12, 1), "acute", 100, 90]],
    )
    lines, problems = read_ledger(path, known_org_codes=ORGS)
    assert problems == [] and [(line.year.start_year, line.month) for line in lines] == [(2025, 9)]  # Dec = M09


# --- 4. a formula with no saved value ------------------------------------------------------------------------------


def test_a_formula_with_no_saved_value_is_a_problem_not_a_blank(ws: Workspace, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "ledger.xlsx", [LEDGER_COLUMNS, ["01A", "2025/26", "M03", "acute", 100, "=90+1"]])
    error = refused(ws, lambda: import_ledger(ws, path))
    assert [(p.sheet, p.row, p.column, p.reason) for p in error.problems] == [
        ("Ledger", 2, "actual", "formula with no saved value: open and save the file in Excel")
    ]


def test_a_formula_with_a_saved_value_is_read_as_that_value(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "ledger.xlsx", [[*LEDGER_COLUMNS, "note"], ["01A", "2025/26", "M03", "acute", 100, "=90+1", "=A1"]]
    )
    # As Excel saves them: the number result in <v>, and an empty text result as t="str" with an empty <v>.
    rewrite_sheet_xml(path, lambda xml: xml.replace("<f>90+1</f><v />", "<f>90+1</f><v>91</v>"))
    rewrite_sheet_xml(path, lambda xml: xml.replace('<c r="G2"><f>A1</f><v />', '<c r="G2" t="str"><f>A1</f><v />'))
    lines, problems = read_ledger(path, known_org_codes=ORGS)
    assert problems == [] and (lines[0].actual_pence, lines[0].note) == (9_100, "")


def test_a_savings_delivery_formula_with_no_saved_value_is_a_problem(ws: Workspace, tmp_path: Path) -> None:
    book = Workbook()
    schemes = book.active
    schemes.title = "Schemes"
    schemes.append(["reference", "title", "organisation", "year", "workstream", "status", "start_month",
                    "annual_plan", "confidence"])  # fmt: skip
    schemes.append(["S1", "Scheme", "01A", "2025/26", "other", "planned", "M01", 1200, "50%"])
    phasing = book.create_sheet("Phasing")
    phasing.append(["reference", "measure", *(f"M{month:02d}" for month in range(1, 13))])
    phasing.append(["S1", "plan", *([100] * 12)])
    phasing.append(["S1", "delivered", "=100", *([None] * 11)])
    book.save(tmp_path / "plan.xlsx")
    error = refused(ws, lambda: import_workbook(ws, tmp_path / "plan.xlsx", "tester"))
    assert [(p.sheet, p.row, p.column) for p in error.problems] == [("Phasing", 3, "m01")]
    assert "no saved value" in error.problems[0].reason


# --- 5. spaces in numbers and amounts beyond any budget ---------------------------------------------------------------


def test_a_no_break_space_inside_an_amount_is_refused_like_a_space(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER_HEADER + "01A,2025/26,M01,acute,1\u00a0234,1 234,\n", encoding="utf-8")
    error = refused(ws, lambda: import_ledger(ws, path))
    assert [(p.column, "spaces inside a number" in p.reason) for p in error.problems] == [
        ("budget", True),
        ("actual", True),
    ]


def test_an_amount_of_ten_to_the_twenty_pounds_is_a_problem(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER_HEADER + f"01A,2025/26,M01,acute,{10**20},1,\n")
    error = refused(ws, lambda: import_ledger(ws, path))
    assert [(p.row, p.column) for p in error.problems] == [(2, "budget")]
    assert "beyond £1,000,000,000,000" in error.problems[0].reason


# --- 6. what Excel hides, and sheets of a CSV -----------------------------------------------------------------------


def test_a_hidden_row_with_data_is_a_problem(ws: Workspace, tmp_path: Path) -> None:
    rows = [LEDGER_COLUMNS, ["01A", "2025/26", "M04", "acute", 100, 90], ["01A", "2025/26", "M04", "other", 5, 5]]
    path = write_xlsx(tmp_path / "ledger.xlsx", rows, hidden_rows=(3,))
    error = refused(ws, lambda: import_ledger(ws, path))
    assert [(p.sheet, p.row, "hidden" in p.reason) for p in error.problems] == [("Ledger", 3, True)]


def test_a_hidden_first_sheet_is_never_chosen_silently(ws: Workspace, tmp_path: Path) -> None:
    rows = [LEDGER_COLUMNS, ["01A", "2025/26", "M04", "acute", 100, 90]]
    path = write_xlsx(tmp_path / "ledger.xlsx", rows, hidden_first=True)
    error = refused(ws, lambda: import_ledger(ws, path))
    assert "the first sheet 'Ledger' is hidden" in error.problems[0].reason
    assert read_ledger(path, known_org_codes=ORGS, sheet="Ledger")[1] == []  # named, it is read


def test_a_sheet_named_for_a_csv_is_an_error(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER_HEADER + LEDGER_ROWS)
    error = refused(ws, lambda: import_ledger(ws, path, sheet="Ledger"))
    assert "CSV file has no sheets" in error.problems[0].reason


# --- 7. encodings -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codec", "label"),
    [
        ("utf-8", "UTF-8"),
        ("utf-8-sig", "UTF-8 (with byte-order mark)"),
        ("cp1252", "Windows-1252"),
        ("latin-1", "Windows-1252"),
        ("utf-16", "UTF-16"),
    ],
)
def test_csv_saved_in_each_common_encoding_is_read_and_says_which(tmp_path: Path, codec: str, label: str) -> None:
    path = tmp_path / "ledger.csv"
    path.write_bytes((LEDGER_HEADER + '01A,2025/26,M01,acute,"£1,234.56",£1000,café £5\n').encode(codec))
    table = read_table(path, required=LEDGER_COLUMNS, optional=("note",))
    assert table.encoding == label
    lines, problems = read_ledger(path, known_org_codes=ORGS)
    assert problems == [] and (lines[0].budget_pence, lines[0].actual_pence, lines[0].note) == (
        123_456,
        100_000,
        "café £5",
    )


@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_the_large_csv_reader_reads_each_common_encoding(tmp_path: Path, codec: str) -> None:
    path = tmp_path / "extract.csv"
    path.write_bytes(("code,cost\n" + "A,1\n" * 5000 + "B,£5 café\n").encode(codec))  # the £ beyond 64 KB in UTF-8
    columns, rows, problems = read_csv_columns(path, {"code": "string", "cost": "string"})
    assert problems == [] and columns["cost"].to_pylist()[-1] == "£5 café" and rows.to_pylist()[-1] == 5002


def test_bytes_in_no_known_encoding_name_the_row_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_bytes(LEDGER_HEADER.encode() + LEDGER_ROWS.encode() + b"01A,2025/26,M01,\x81,1,1,\n")
    with pytest.raises(ProblemsError) as caught:
        read_ledger(path, known_org_codes=ORGS)
    assert caught.value.problems[0].row == 4 and "CSV UTF-8" in caught.value.problems[0].reason


# --- 8. a cell longer than the csv module's limit -------------------------------------------------------------------


def test_a_cell_over_131072_characters_is_a_problem_naming_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER_HEADER + LEDGER_ROWS + "01A,2025/26,M01,acute,1,1," + "x" * 140_000 + "\n")
    with pytest.raises(ProblemsError) as caught:
        read_ledger(path, known_org_codes=ORGS)
    assert [(p.row, p.column) for p in caught.value.problems] == [(4, "note")]
    assert "longer than 131,072 characters" in caught.value.problems[0].reason


@pytest.mark.parametrize("length", [140_000, 1_100_000])
def test_the_large_csv_reader_names_an_overlong_cell(tmp_path: Path, length: int) -> None:
    path = tmp_path / "extract.csv"
    path.write_text("code,cost\nA,1\nB," + "9" * length + "\nC,2\n")
    with pytest.raises(ProblemsError) as caught:
        read_csv_columns(path, {"code": "string", "cost": "string"})
    problem = caught.value.problems[0]
    assert problem.row == 3 and "longer than" in problem.reason


# --- 9. files that are not workbooks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [LEDGER_HEADER.encode(), bytes(range(256)) * 4, b"PK\x03\x04broken"])
def test_a_file_named_xlsx_that_is_not_a_workbook_is_a_problem(ws: Workspace, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(content)
    error = refused(ws, lambda: import_ledger(ws, path))
    assert "not an Excel workbook" in error.problems[0].reason
    result = CliRunner().invoke(app, ["ledger", "import", str(path), "--workspace", str(ws.settings.workspace)])
    assert result.exit_code == 2 and "not an Excel workbook" in result.output and "Traceback" not in result.output


# --- 10. a declared dimension, and the cap on cells ----------------------------------------------------------------


def test_a_sheet_declaring_a_huge_dimension_reads_only_its_cells(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "ledger.xlsx", [LEDGER_COLUMNS, ["01A", "2025/26", "M01", "acute", 100, 90]])
    far_row = '<row r="20000"><c r="A20000" t="inlineStr"><is><t></t></is></c></row></sheetData>'
    rewrite_sheet_xml(path, lambda xml: re.sub(r'<dimension ref="[^"]+"', '<dimension ref="A1:ZZ20000"', xml))
    rewrite_sheet_xml(path, lambda xml: xml.replace("</sheetData>", far_row))  # an empty text cell in row 20000
    tracemalloc.start()
    try:
        lines, problems = read_ledger(path, known_org_codes=ORGS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert problems == [] and len(lines) == 1
    assert peak < 20 * 2**20  # rows padded to A1:ZZ20000 would be 14 million cells: over 100 MB


def test_a_sheet_with_more_cells_than_the_cap_is_a_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workbooks, "MAX_SHEET_CELLS", 40)
    rows: list[list[object]] = [LEDGER_COLUMNS, *(["01A", "2025/26", "M01", "acute", 100, 90] for _ in range(9))]
    path = write_xlsx(tmp_path / "ledger.xlsx", rows)
    with pytest.raises(ProblemsError) as caught:
        read_ledger(path, known_org_codes=ORGS)
    assert "more than 40 cells" in caught.value.problems[0].reason and caught.value.problems[0].sheet == "Ledger"


# --- 11. many problems ----------------------------------------------------------------------------------------------


def test_problems_are_listed_a_hundred_per_kind_and_the_rest_counted() -> None:
    many = [Problem("f.csv", f"unknown organisation 'X{n}'", row=n + 2, column="org_code") for n in range(1000)]
    other = [Problem("f.csv", "a value is required", row=n + 2, column="month") for n in range(3)]
    error = ProblemsError([*many, *other], "cannot import f.csv")
    assert error.problems == (*many[:100], *other)
    assert error.total == 1003
    assert [(more.count, more.example) for more in error.omitted] == [(900, many[100])]
    assert str(error).count("\n") == 104  # the summary, 103 problems and one count


def test_the_cli_lists_the_first_hundred_problems_and_counts_the_rest(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER_HEADER + "".join(f"ZZ{n},2025/26,M01,acute,1,1,\n" for n in range(250)))
    result = CliRunner().invoke(
        app, ["ledger", "import", str(path), "--workspace", str(ws.settings.workspace), "--format", "json"]
    )
    document = json.loads(result.stdout)
    assert result.exit_code == 2
    assert (len(document["problems"]), document["problems_total"]) == (100, 250)
    assert [more["count"] for more in document["problems_omitted"]] == [150]
    table = CliRunner().invoke(app, ["ledger", "import", str(path), "--workspace", str(ws.settings.workspace)])
    assert table.output.count("unknown organisation") == 101 and "and 150 more like" in table.output


# === part 2: generated bad files for every importer ==================================================================
#
# Each valid base file is damaged in the ways people and scripts damage files (a nasty value in a cell, an unquoted
# comma, a stray quote, a duplicated or truncated row, a cell past the length limit, another encoding, random bytes;
# in a workbook: dates, formulas with no saved value, huge and tiny numbers, hidden rows, a lying dimension). Every
# outcome must be an import or a ProblemsError; after a ProblemsError the store is exactly as it was.

NASTY_TEXT = st.sampled_from([
    "", " ", "£", "-", "1\u00a0234", "1 234", "1,2", "1.234", "(1)", "-£1", "(-1)", "1e5", "9" * 25, "£" + "9" * 16,
    "NaN", "inf", "-0", "0.001", "M13", "M00", "Dec", "2099/00", "2025/27", "1900-04", "café", "\u202e", "x" * 300,
    "=SUM(A1)", "#N/A", "01A", "ZZZ", "ccg", "icb", "0", "100", "50%", "150%", "2025/26", "M01",
]) | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)  # fmt: skip
CSV_DAMAGE = st.sampled_from(["cell", "cell", "extra_field", "stray_quote", "open_quote", "duplicate", "drop_field",
                              "long_cell", "blank_row", "truncate"])  # fmt: skip
ENCODINGS = st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "cp1252", "utf-16"])
EXAMPLES = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@st.composite
def damaged_csv(draw: st.DrawFn, records: list[list[str]]) -> bytes:
    """``records`` (header first) damaged one to three times, joined without quoting, in some encoding."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.binary(max_size=400))
    records = [list(record) for record in records]
    truncate = False
    for _ in range(draw(st.integers(1, 3))):
        damage = draw(CSV_DAMAGE)
        row = draw(st.integers(1, len(records) - 1))
        column = draw(st.integers(0, len(records[row]) - 1)) if records[row] else 0
        if damage == "cell" and records[row]:
            records[row][column] = draw(NASTY_TEXT)
        elif damage == "extra_field":
            records[row].insert(column, draw(NASTY_TEXT))
        elif damage == "stray_quote" and records[row]:
            records[row][column] += '"'
        elif damage == "open_quote" and records[row]:
            records[row][column] = '"' + records[row][column]
        elif damage == "duplicate":
            records.insert(row, list(records[row]))
        elif damage == "drop_field" and records[row]:
            del records[row][column]
        elif damage == "long_cell" and records[row]:
            records[row][column] = "7" * 131_100
        elif damage == "blank_row":
            records.insert(row, [])
        truncate = truncate or damage == "truncate"
    text = "".join(",".join(record) + "\n" for record in records)
    data = text.encode(draw(ENCODINGS), errors="replace")
    return data[: draw(st.integers(0, len(data)))] if truncate else data


XLSX_VALUES = (
    NASTY_TEXT.filter(lambda text: text.isprintable())
    | st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1))
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["=1+1", "=SUM(A1:A2)", True, False, None])
)


@st.composite
def damaged_xlsx(draw: st.DrawFn, sheets: dict[str, list[list[object]]]) -> bytes:
    """Each sheet's rows (header first) with one to three cells replaced; maybe hidden rows, a hidden first sheet,
    a lying dimension; or not a workbook at all."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.binary(max_size=400) | st.just(b"PK\x03\x04" + bytes(100)))
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        grid = [list(row) for row in rows]
        for _ in range(draw(st.integers(1, 3))):
            row = draw(st.integers(1, len(grid) - 1))
            grid[row][draw(st.integers(0, len(grid[row]) - 1))] = draw(XLSX_VALUES)
        for row in grid:
            sheet.append(row)
        if draw(st.integers(0, 4)) == 0:
            sheet.row_dimensions[draw(st.integers(1, len(grid)))].hidden = True
    if draw(st.integers(0, 9)) == 0:
        book.worksheets[0].sheet_state = "hidden"
        book.create_sheet("Notes")
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    if draw(st.integers(0, 4)) == 0:
        data = _with_dimension(data, draw(st.sampled_from(["A1:XFD1048576", "A1:EXV40000", "B2:A1", "nonsense"])))
    return data


def _with_dimension(data: bytes, ref: str) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in source.namelist():
            content = source.read(name)
            if name.startswith("xl/worksheets/sheet"):
                content = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), content)
            archive.writestr(name, content)
    return target.getvalue()


def ends_cleanly(workspace: Workspace | None, path: Path, data: bytes, importer: Callable[[Path], object]) -> None:
    """``importer`` either imports ``data`` or refuses it leaving the store as it was: ProblemsError for a faulty
    file, or ImportRefused when a sound file would replace stored data without being asked to (an earlier
    example's import into the shared workspace makes that possible)."""
    path.write_bytes(data)
    before = store_digest(workspace) if workspace is not None else None
    try:
        importer(path)
    except ProblemsError as error:
        assert error.problems and all(problem.source == path.name for problem in error.problems)
        if workspace is not None:
            assert store_digest(workspace) == before
    except ImportRefused as error:
        assert error.source == path.name and "nothing stored" in str(error)
        if workspace is not None:
            assert store_digest(workspace) == before


LEDGER_RECORDS = [
    ["org_code", "year", "month", "category", "budget", "actual", "one_off", "note"],
    ["01A", "2025/26", "M05", "acute", "£1,000.00", "900", "", "a note"],
    ["02B", "2025/26", "M05", "prescribing", "500", "(20.50)", "10", ""],
]
PLAN_RECORDS = [
    ["org_code", "year", "item", "amount", "description"],
    ["01A", "2025/26", "recurrent_allocation", "£1,288,339,714.94", ""],
    ["01A", "2025/26", "deduction", "1000000", "deficit"],
    ["01A", "2025/26", "control_total", "-500000", ""],
]
RISK_RECORDS = [
    ["org_code", "year", "kind", "description", "value", "likelihood", "category"],
    ["01A", "2025/26", "risk", "Acute over-performance", "1,000,000", "50%", "acute"],
    ["01A", "2025/26", "mitigation", "Reserve release", "250000", "0.9", ""],
]
ORGANISATION_RECORDS = [
    ["code", "name", "kind", "parent_code"],
    ["03C", "Gamma CCG", "ccg", "Q1"],
    ["04D", "Delta CCG", "ccg", "Q1"],
]
CONTRACT_RECORDS = [
    ["provider", "commissioner", "year", "point_of_delivery", "month", "activity", "value", "description"],
    ["01A", "02B", "2025/26", "block", "", "", "1000000", "block"],
]
CONTRACT_MAP_RECORDS = [
    ["provider", "commissioner", "category", "line", "element"],
    ["01A", "02B", "acute", "01A main contract", "contract"],
    ["01A", "02B", "acute", "01A drugs", "drugs outside tariff"],
]
CONTRACT_RULE_RECORDS = [
    ["provider", "commissioner", "year", "rule", "point_of_delivery", "month", "value", "activity", "rate"],
    ["RXX", "01A", "2025/26", "cquin", "", "", "", "", "2.5"],
    ["RXX", "01A", "2025/26", "cap", "op_first", "", "", "1,000", "0"],
    ["RXX", "01A", "2025/26", "marginal_rate", "", "", "£12,000", "", "30%"],
]


def read_contract_rules(path: Path) -> object:
    """A clean contract plan read with the damaged rules file (``outturn contracts import --rules``)."""
    plan = path.with_name("rules-plan.csv")
    plan.write_text("provider,commissioner,year,point_of_delivery,value\nRXX,01A,2025/26,block,1\n", encoding="utf-8")
    known = {
        "RXX": Organisation("RXX", "Test Hospitals", OrgKind.PROVIDER),
        "01A": Organisation("01A", "Alpha", OrgKind.SUB_ICB),
    }
    contracts, problems = read_contracts(plan, known=known, rules_path=path)
    if problems:
        raise ProblemsError(problems, "not imported")
    return contracts


@EXAMPLES
@given(data=st.data(), workbook=st.booleans())
def test_a_damaged_contract_rules_file_is_read_or_refused(tmp_path: Path, data: Any, workbook: bool) -> None:
    if workbook:
        damaged = data.draw(damaged_xlsx({"Rules": [list(record) for record in CONTRACT_RULE_RECORDS]}))
    else:
        damaged = data.draw(damaged_csv(CONTRACT_RULE_RECORDS))
    ends_cleanly(None, tmp_path / ("rules.xlsx" if workbook else "rules.csv"), damaged, read_contract_rules)


@pytest.mark.parametrize(
    ("records", "run"),
    [
        (LEDGER_RECORDS, import_ledger),
        (PLAN_RECORDS, import_plans),
        (RISK_RECORDS, import_risks),
        (ORGANISATION_RECORDS, import_organisations),
        (CONTRACT_RECORDS, import_contracts),
        (CONTRACT_MAP_RECORDS, import_contract_map),
    ],
    ids=["ledger", "plans", "risks", "organisations", "contracts", "contract map"],
)
@EXAMPLES
@given(data=st.data())
def test_a_damaged_csv_imports_or_is_refused_with_the_store_unchanged(
    ws: Workspace, tmp_path: Path, records: list[list[str]], run: Callable[[Workspace, Path], object], data: Any
) -> None:
    damaged = data.draw(damaged_csv(records))
    ends_cleanly(ws, tmp_path / "input.csv", damaged, lambda path: run(ws, path))


@pytest.mark.parametrize(
    ("records", "run"),
    [
        (LEDGER_RECORDS, import_ledger),
        (PLAN_RECORDS, import_plans),
        (RISK_RECORDS, import_risks),
    ],
    ids=["ledger", "plans", "risks"],
)
@EXAMPLES
@given(data=st.data())
def test_a_damaged_workbook_imports_or_is_refused_with_the_store_unchanged(
    ws: Workspace, tmp_path: Path, records: list[list[str]], run: Callable[[Workspace, Path], object], data: Any
) -> None:
    damaged = data.draw(damaged_xlsx({"Data": [list(record) for record in records]}))
    ends_cleanly(ws, tmp_path / "input.xlsx", damaged, lambda path: run(ws, path))


SAVINGS_SHEETS: dict[str, list[list[object]]] = {
    "Schemes": [
        ["reference", "title", "organisation", "year", "workstream", "status", "start_month", "annual_plan",
         "confidence"],
        ["S1", "Scheme", "01A", "2025/26", "other", "planned", "M01", 1200, "50%"],
    ],
    "Phasing": [
        ["reference", "measure", *(f"M{month:02d}" for month in range(1, 13))],
        ["S1", "plan", *([100] * 12)],
        ["S1", "delivered", 90, 100, *([None] * 10)],
    ],
    "Targets": [["organisation", "year", "target"], ["01A", "2025/26", 5000]],
}  # fmt: skip


@EXAMPLES
@given(data=st.data())
def test_a_damaged_savings_workbook_imports_or_is_refused_with_the_store_unchanged(
    ws: Workspace, tmp_path: Path, data: Any
) -> None:
    damaged = data.draw(damaged_xlsx(SAVINGS_SHEETS))
    ends_cleanly(ws, tmp_path / "plan.xlsx", damaged, lambda path: import_workbook(ws, path, "tester"))


APC_RECORDS = CLEAN_CSV[ActivityKind.APC]
EPD_RECORDS = [
    EPD_HEADER.split(","),
    PRESCRIBING_ROW.split(","),
    PRESCRIBING_ROW.replace("B85010", "B85011").split(","),
]
LIST_SIZE_RECORDS = [
    ["org_code", "sex", "age_group_5", "number_of_patients"],
    ["A81001", "MALE", "0_4", "120"],
    ["A81001", "FEMALE", "0_4", "110"],
]


@pytest.mark.parametrize(
    ("records", "read"),
    [
        (APC_RECORDS, lambda path: read_activity(path, ActivityKind.APC)),
        (EPD_RECORDS, read_prescribing),
        (LIST_SIZE_RECORDS, read_list_sizes),
    ],
    ids=["activity", "prescribing", "list_sizes"],
)
@EXAMPLES
@given(data=st.data())
def test_a_damaged_warehouse_file_is_read_or_refused(
    tmp_path: Path, records: list[list[str]], read: Callable[[Path], object], data: Any
) -> None:
    """Activity, prescribing and list sizes go to the warehouse only after the whole file has been read."""
    damaged = data.draw(damaged_csv(records))
    ends_cleanly(None, tmp_path / "epd_201710.csv", damaged, read)


TARIFF_SHEET = [
    ["National tariff 2018/19"],
    ["HRG code", "HRG name", "Outpatient procedure tariff (£)",
     "Combined day case / ordinary elective spell tariff (£)", "Day case spell tariff (£)",
     "Ordinary elective spell tariff (£)", "Ordinary elective long stay trim point (days)",
     "Non-elective spell tariff (£)", "Non-elective long stay trim point (days)",
     "Per day long stay payment (for days exceeding trim point) (£)",
     "Reduced short stay emergency tariff applicable?"],
    ["AA22C", "Cerebral degeneration", None, 1000, None, None, 5, 2000, 10, 250, "No"],
]  # fmt: skip


@EXAMPLES
@given(data=st.data())
def test_a_damaged_tariff_workbook_is_read_or_refused(tmp_path: Path, data: Any) -> None:
    damaged = data.draw(damaged_xlsx({"1a APC & OPROC 18.19": TARIFF_SHEET}))
    ends_cleanly(None, tmp_path / "tariff.xlsx", damaged, lambda path: read_workbook_apc(path, "1a APC & OPROC 18.19"))


def test_a_date_in_a_year_outturn_cannot_hold_is_a_problem(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "ledger.xlsx", [LEDGER_COLUMNS, ["01A", "2025/26", datetime(1989, 5, 1), "acute", 1, 1]]
    )
    problems = read_ledger(path, known_org_codes=ORGS)[1]
    assert [(problem.row, problem.column) for problem in problems] == [(2, "month")]
