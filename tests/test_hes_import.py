"""Activity in the national HES / SUS+ layout: NHS Digital's Artificial HES files (real layout, synthetic rows) and
a small hand-made extract, mapped into the activity layout by the published code tables."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.activity import ActivityKind
from outturn.domain.problems import ProblemsError
from outturn.services.hes import import_hes_activity, read_hes_file
from outturn.services.workspace import Workspace, init_workspace, open_workspace

APC_FILE, OP_FILE, AE_FILE = (
    "artificial_hes_apc_0102.csv",
    "artificial_hes_op_0304_truncated.csv",
    "artificial_hes_ae_0708_truncated.csv",
)


@pytest.fixture(scope="module")
def hes_dir(reference_dir: Path) -> Path:
    path = reference_dir / "hes_artificial"
    if not path.is_dir():
        pytest.skip(f"no Artificial HES files in {reference_dir}")
    return path


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- the Artificial HES files ----------------------------------------------------------------------------------


def test_artificial_admitted_care_keeps_one_record_per_finished_spell(hes_dir: Path) -> None:
    result = read_hes_file(hes_dir / APC_FILE)
    rows = rows_of(hes_dir / APC_FILE)
    assert result.kind is ActivityKind.APC
    assert result.rows_read == len(rows) == 2075
    # Counted from the file with the csv module, in the order the rules apply: 182 episodes that do not end their
    # spell, 16 unfinished, 2 with ADMIMETH 99 ("not known"), 1 admitted on HES's null date, 76 with no discharge
    # date and 13 admitted before 2000-04-01: 2075 - 290 = 1785 spells.
    assert result.left_out == {
        "episode that does not end its spell (SPELEND not Y)": 182,
        "unfinished episode (EPISTAT not 3)": 16,
        "admission method not known, not applicable or not a published code": 2,
        "admission date not known": 1,
        "discharge date not known": 76,
        "admitted before 2000-04-01 (the earliest activity outturn holds)": 13,
    }
    assert result.rows_imported == 2075 - 290 == 1785
    spells = [row for row in rows if row["SPELEND"] == "Y" and row["EPISTAT"] == "3"]
    assert len(spells) == 2075 - 182 - 16
    assert Counter(row["ADMIMETH"] for row in spells)["99"] == 2
    assert result.unknown_codes["ADMIMETH"] == {"99": 2}


def test_every_admission_method_code_in_the_artificial_file_maps_as_the_data_dictionary_says(hes_dir: Path) -> None:
    result = read_hes_file(hes_dir / APC_FILE)
    spells = [row for row in rows_of(hes_dir / APC_FILE) if row["SPELEND"] == "Y" and row["EPISTAT"] == "3"]
    # NHS Data Dictionary "Admission Method": 11-13 elective (waiting list, booked, planned); 21-28 emergency,
    # 31-32 maternity and 81-82 other are non-elective under the tariff's points of delivery; an elective admission
    # with patient classification 2 is a day case. 99 ("not known") is never guessed.
    published = {"11": "elective", "12": "elective", "13": "elective", "21": "non_elective", "22": "non_elective",
                 "23": "non_elective", "24": "non_elective", "28": "non_elective", "31": "non_elective",
                 "32": "non_elective", "81": "non_elective", "82": "non_elective", "99": None}  # fmt: skip
    expected: Counter[tuple[str, str | None]] = Counter()
    for row in spells:
        method = published[row["ADMIMETH"]]
        if method == "elective" and row["CLASSPAT"] == "2":
            method = "day_case"
        expected[(row["ADMIMETH"], method)] += 1
    found = {(row["code"], row["admission_method"]): row["rows"] for row in result.admission_methods}
    assert found == dict(expected)
    assert {row["code"] for row in result.admission_methods} == set(published)
    meanings = {row["code"]: row["meaning"] for row in result.admission_methods}
    assert (meanings["21"], meanings["99"]) == ("emergency: via A&E (including the casualty department)", "not known")


def test_artificial_admitted_care_has_no_hrg_so_every_spell_is_unpriced_with_that_reason(hes_dir: Path) -> None:
    result = read_hes_file(hes_dir / APC_FILE)
    assert result.unpriced == {"no HRG in the extract": 1785}
    assert result.commissioner_from == {"PCTCODE_HIS": 1785}  # CCG_RESPONSIBILITY is blank in 2001/02


def test_artificial_outpatients_keep_attended_appointments_with_a_known_attendance_type(hes_dir: Path) -> None:
    result = read_hes_file(hes_dir / OP_FILE)
    rows = rows_of(hes_dir / OP_FILE)
    attended = [row for row in rows if row["ATTENDED"] in {"5", "6"}]
    assert (result.rows_read, len(attended)) == (1000, 818)
    assert result.left_out == {
        "not attended: did not attend or cancelled (ATTENDED not 5 or 6)": 182,
        "first attendance code not in the published table": 22,
    }
    assert result.unknown_codes == {"FIRSTATT": {"9": 22}, "REFSOURC": {"99": 74}}
    assert result.rows_imported == 1000 - 182 - 22 == 796


def test_artificial_ae_keeps_every_attendance_with_its_unknown_department_type_listed(hes_dir: Path) -> None:
    result = read_hes_file(hes_dir / AE_FILE)
    assert (result.kind, result.rows_read, result.rows_imported) == (ActivityKind.AE, 1000, 1000)
    assert result.unknown_codes == {"AEDEPTTYPE": {"99": 1000}}  # every row: "not known"
    assert result.kept_blank["department_type"] == 1000
    assert result.unpriced == {"no HRG in the extract": 1000}


# --- a small hand-made extract ---------------------------------------------------------------------------------

APC_HEADER = [
    "EPIKEY",
    "PSEUDO_HESID",
    "PROCODE3",
    "CCG_RESPONSIBILITY",
    "PCTCODE_HIS",
    "GPPRAC",
    "ADMIDATE",
    "DISDATE",
    "ADMIMETH",
    "CLASSPAT",
    "SPELEND",
    "EPISTAT",
    "TRETSPEF",
    "STARTAGE",
    "DIAG_4_01",
    "SUSHRG",
]


def apc_row(key: str, method: str, classpat: str = "1", **fields: str) -> list[str]:
    row = {"EPIKEY": key, "PSEUDO_HESID": f"P{key}", "PROCODE3": "RTH", "CCG_RESPONSIBILITY": "10Q",
           "PCTCODE_HIS": "5QC", "GPPRAC": "K84001", "ADMIDATE": "2018-05-01", "DISDATE": "2018-05-04",
           "ADMIMETH": method, "CLASSPAT": classpat, "SPELEND": "Y", "EPISTAT": "3", "TRETSPEF": "300",
           "STARTAGE": "70", "DIAG_4_01": "J441", "SUSHRG": ""} | fields  # fmt: skip
    return [row[name] for name in APC_HEADER]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


HAND_MADE = [
    apc_row("1", "11"),  # elective
    apc_row("2", "12", "2"),  # booked, classed as a day case
    apc_row("3", "21", SUSHRG="DZ65K"),  # emergency via A&E, with an HRG: not unpriced
    apc_row("4", "2A", GPPRAC="V81999", CCG_RESPONSIBILITY=""),  # practice not known; the PCT is the commissioner
    apc_row("5", "98"),  # not applicable: left out, listed
    apc_row("6", "22", SPELEND="N"),  # an episode before the spell's last: left out
    apc_row("7", "31", STARTAGE="7002", TRETSPEF="&"),  # under one year old: age 0; treatment function not known
]


def test_a_hand_made_admitted_extract_maps_each_row_as_published(tmp_path: Path) -> None:
    result = read_hes_file(write_csv(tmp_path / "apc.csv", APC_HEADER, HAND_MADE))
    assert (result.rows_read, result.rows_imported) == (7, 5)
    assert result.left_out == {
        "episode that does not end its spell (SPELEND not Y)": 1,
        "admission method not known, not applicable or not a published code": 1,
    }
    assert result.unknown_codes == {"ADMIMETH": {"98": 1}}
    assert result.unpriced == {"no HRG in the extract": 4}  # all but spell 3
    assert result.commissioner_from == {"CCG_RESPONSIBILITY": 4, "PCTCODE_HIS": 1}
    assert result.kept_blank == {"hrg": 4, "practice": 1, "treatment_function": 1}


@pytest.fixture
def empty_ws(tmp_path: Path) -> Iterator[Workspace]:
    with init_workspace(tmp_path / "ws", reference_dir=tmp_path):
        pass
    with open_workspace(tmp_path / "ws") as workspace:
        yield workspace


def test_an_imported_hes_extract_is_the_workspaces_admitted_activity_with_its_diagnosis(
    empty_ws: Workspace, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "apc.csv", APC_HEADER, HAND_MADE)
    result = import_hes_activity(empty_ws, path)
    assert result.rows_imported == 5
    stored = empty_ws.backend.to_rows(empty_ws.backend.stored_table("activity_apc").order_by("spell_id"))
    by_spell = {row["spell_id"]: row for row in stored}
    assert {spell: row["admission_method"] for spell, row in by_spell.items()} == {
        "1": "elective", "2": "day_case", "3": "non_elective", "4": "non_elective", "7": "non_elective"
    }  # fmt: skip
    assert (by_spell["4"]["practice"], by_spell["4"]["commissioner"]) == (None, "5QC")
    assert (by_spell["7"]["age"], by_spell["7"]["treatment_function"]) == (0, None)
    assert by_spell["3"]["hrg"] == "DZ65K"
    assert by_spell["1"]["length_of_stay"] == 3  # 1 May to 4 May
    assert {row["primary_diagnosis"] for row in stored} == {"J441"}


def test_an_extract_that_is_not_hes_is_refused_naming_the_columns_looked_for(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "other.csv", ["spell_id", "provider"], [["1", "RTH"]])
    with pytest.raises(ProblemsError) as refused:
        read_hes_file(path)
    assert "no ADMIDATE and ADMIMETH, APPTDATE or ARRIVALDATE column" in refused.value.problems[0].reason


def test_the_cli_imports_a_hes_extract_and_reports_the_mapping_as_json(tmp_path: Path) -> None:
    with init_workspace(tmp_path / "ws", reference_dir=tmp_path):
        pass
    path = write_csv(tmp_path / "apc.csv", APC_HEADER, HAND_MADE)
    arguments = ["--workspace", str(tmp_path / "ws"), "activity", "import", str(path), "--layout", "hes"]
    result = CliRunner().invoke(app, [*arguments, "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert (document["kind"], document["rows_read"], document["rows_imported"], document["rows_left_out"]) == (
        "apc", 7, 5, 2
    )  # fmt: skip
    assert document["unknown_codes"] == {"ADMIMETH": {"98": 1}}


def test_an_extract_whose_every_row_is_left_out_is_refused_saying_why(tmp_path: Path) -> None:
    rows = [apc_row("1", "11", SPELEND="N"), apc_row("2", "99")]
    with pytest.raises(ProblemsError) as refused:
        read_hes_file(write_csv(tmp_path / "apc.csv", APC_HEADER, rows))
    assert refused.value.problems[0].reason == (
        "no rows to import: every row is left out (1 episode that does not end its spell (SPELEND not Y); "
        "1 admission method not known, not applicable or not a published code)"
    )


def test_an_outturn_layout_extract_needs_its_kind(tmp_path: Path) -> None:
    with init_workspace(tmp_path / "ws", reference_dir=tmp_path):
        pass
    path = write_csv(tmp_path / "apc.csv", APC_HEADER, HAND_MADE)
    arguments = ["--workspace", str(tmp_path / "ws"), "activity", "import", str(path), "--format", "json"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"] == "say which kind of activity the file holds: apc, op or ae"
