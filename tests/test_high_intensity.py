"""High-intensity users: flags as at a month (thresholds at the edge, a window crossing the year), first flags
(cohorts), the matched before/after comparison, DuckDB = Spark = a plain-Python implementation on a random file,
and the command, its API twin and what a practice user may see."""

from __future__ import annotations

import json
import random
import shutil
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from outturn.cli import app as cli
from outturn.domain.errors import BadInput
from outturn.domain.high_intensity import (
    AGE_BANDS,
    COMPARISON,
    FLAGGED,
    Activity,
    Stratum,
    Thresholds,
    compare_cohorts,
    month_index,
)
from outturn.engine import high_intensity as engine
from outturn.engine.backends import Backend
from outturn.reports.patients import high_intensity_document
from outturn.services.patients import high_intensity_users
from outturn.services.workspace import Workspace
from web_helpers import shared_client, shared_workspace, sign_in, web_workspace

__all__ = ["shared_client", "shared_workspace", "web_workspace"]

AE_SCHEMA = {
    "attendance_id": "string",
    "patient_id": "string",
    "practice": "string",
    "age": "int64",
    "arrival_date": "date",
    "price_pence": "int64",
}
APC_SCHEMA = {
    "spell_id": "string",
    "patient_id": "string",
    "practice": "string",
    "age": "int64",
    "admission_method": "string",
    "admission_date": "date",
    "price_pence": "int64",
    "excess_price_pence": "int64",
}
SEPTEMBER_2025 = month_index(2025, 9)


def arrow(rows: list[tuple[Any, ...]], schema: dict[str, str]) -> pa.Table:
    return pa.table(
        {name: [row[i] for row in rows] for i, name in enumerate(schema)}, schema=ibis.schema(schema).to_pyarrow()
    )


def attendances(patient: str, days: list[str], practice: str = "A81001", age: int = 40, price: int = 100) -> list:
    return [(f"{patient}-a{i}", patient, practice, age, date.fromisoformat(day), price) for i, day in enumerate(days)]


def admissions(patient: str, days: list[str], method: str = "non_elective", practice: str = "A81001", age: int = 70):
    return [
        (f"{patient}-s{i}", patient, practice, age, method, date.fromisoformat(day), 100_000, None)
        for i, day in enumerate(days)
    ]


def events_of(backend: Backend, ae: list, apc: list) -> ibis.Table:
    return engine.patient_events(backend.table(arrow(ae, AE_SCHEMA)), backend.table(arrow(apc, APC_SCHEMA)))


@pytest.fixture(scope="module")
def duck() -> Any:
    opened = Backend("duckdb")
    yield opened
    opened.close()


def flagged(duck: Backend, ae: list, apc: list, as_at: int = SEPTEMBER_2025, **limits: int) -> dict[str, dict]:
    found = duck.to_rows(engine.flagged_patients(events_of(duck, ae, apc), as_at, Thresholds(**limits)))
    return {row["patient_id"]: row for row in found}


# --- flags as at a month ---------------------------------------------------------------------------------------


def test_five_attendances_flag_and_four_do_not(duck: Backend) -> None:
    days = ["2025-04-02", "2025-05-02", "2025-06-02", "2025-07-02", "2025-08-02"]
    found = flagged(duck, attendances("five", days) + attendances("four", days[:4]), [])
    assert set(found) == {"five"}
    assert found["five"]["ae_attendances"] == 5
    assert found["five"]["qualifying_date"] == date(2025, 8, 2)  # the fifth
    assert found["five"]["qualifying_activity"] == "ae"


def test_three_non_elective_admissions_flag_and_two_or_planned_ones_do_not(duck: Backend) -> None:
    days = ["2025-04-10", "2025-06-10", "2025-09-10"]
    apc = admissions("three", days) + admissions("two", days[:2]) + admissions("planned", days, method="elective")
    found = flagged(duck, [], apc)
    assert set(found) == {"three"}
    assert found["three"]["non_elective_admissions"] == 3
    assert found["three"]["qualifying_date"] == date(2025, 9, 10)


def test_the_rolling_window_crosses_the_year(duck: Backend) -> None:
    # As at September 2025 the window is October 2024 to September 2025: both ends and the turn of the year count.
    inside = ["2024-10-01", "2024-12-31", "2025-01-01", "2025-03-31", "2025-09-30"]
    # One attendance a day too early (30 September 2024) leaves four in the window.
    early = ["2024-09-30", "2024-12-31", "2025-01-01", "2025-03-31", "2025-09-30"]
    found = flagged(duck, attendances("inside", inside) + attendances("early", early), [])
    assert set(found) == {"inside"}
    # As at August 2025 (September 2024 to August 2025) "early" has four in the window and "inside" four: neither.
    assert flagged(duck, attendances("inside", inside) + attendances("early", early), [], month_index(2025, 8)) == {}


def test_activity_value_practice_and_options(duck: Backend) -> None:
    # p: 5 attendances at 100p (one unpriced), a planned spell £1,000 + £250 excess, a non-elective spell £1,000;
    # latest event the non-elective admission on 2025-09-20 at practice B (age 71).
    ae = attendances("p", ["2025-04-01", "2025-05-01", "2025-06-01", "2025-07-01", "2025-08-01"], practice="A")
    ae[0] = (*ae[0][:5], None)
    apc = [
        ("p-s0", "p", "A", 70, "elective", date(2025, 5, 5), 100_000, 25_000),
        ("p-s1", "p", "B", 71, "non_elective", date(2025, 9, 20), 100_000, None),
    ]
    row = flagged(duck, ae, apc)["p"]
    assert (row["ae_attendances"], row["non_elective_admissions"], row["planned_admissions"]) == (5, 1, 1)
    assert row["value_pence"] == 4 * 100 + 125_000 + 100_000
    assert row["unpriced_events"] == 1
    assert (row["practice"], row["age"]) == ("B", 71)
    # a lower threshold of non-elective admissions flags them on the admission, after the attendances' fifth
    assert flagged(duck, ae, apc, ae_attendances=6, non_elective_admissions=1)["p"]["qualifying_activity"] == (
        "non_elective"
    )
    assert flagged(duck, ae, apc, ae_attendances=6) == {}
    with pytest.raises(BadInput, match="threshold"):
        Thresholds(ae_attendances=0)


def test_first_flags_are_the_month_of_the_first_qualifying_event(duck: Backend) -> None:
    # q: attendances in January, March, May, July 2024, then July 2025: the fifth is 18 months after the first,
    # and the last five span July 2024... no: only 2 in the 12 months to July 2025; never flagged. r: five within
    # 2025-01..2025-05, first flag May 2025 on the 20th.
    ae = attendances("q", ["2024-01-05", "2024-03-05", "2024-05-05", "2024-07-05", "2025-07-05"])
    ae += attendances("r", ["2025-01-20", "2025-02-20", "2025-03-20", "2025-04-20", "2025-05-20", "2025-06-20"])
    rows = duck.to_rows(engine.first_flags(events_of(duck, ae, []), Thresholds()))
    assert rows == [
        {
            "patient_key": "r",  # activity without stored keys is keyed on read by its id
            "patient_id": "r",
            "flag_month": month_index(2025, 5),
            "qualifying_date": date(2025, 5, 20),
            "qualifying_activity": "ae",
        }
    ]


# --- regression to the mean ---------------------------------------------------------------------------------------


def test_cohort_strata_and_the_standardised_comparison_by_hand(duck: Backend) -> None:
    """f (70): 3 non-elective admissions January-March 2025 (first flagged March), 1 in June. Comparison c1 and c2
    (72, 66): 2 non-elective admissions and 1 attendance before March, c1 none after, c2 two attendances after.
    c3 (30, another age band): same prior activity, not a match. All prices: admission £1,000, attendance £1."""
    apc = admissions("f", ["2025-01-10", "2025-02-10", "2025-03-10", "2025-06-10"])
    apc += admissions("c1", ["2025-01-11", "2025-02-11"], age=72) + admissions(
        "c2", ["2025-01-12", "2025-02-12"], age=66
    )
    apc += admissions("c3", ["2025-01-13", "2025-02-13"], age=30)
    ae = attendances("c1", ["2025-03-01"], age=72) + attendances(
        "c2", ["2025-03-02", "2025-05-02", "2025-07-02"], age=66
    )
    ae += attendances("c3", ["2025-03-03"], age=30)
    events = events_of(duck, ae, apc)
    march = month_index(2025, 3)
    rows = duck.to_rows(
        engine.cohort_strata(events, engine.first_flags(events, Thresholds()), (march, march), Thresholds())
    )
    cells = {(row["group"], row["age_band"]): row for row in rows}
    assert set(cells) == {(FLAGGED, "65-74"), (COMPARISON, "65-74"), (COMPARISON, "18-44")}
    assert cells[(FLAGGED, "65-74")]["patients"] == 1 and cells[(COMPARISON, "65-74")]["patients"] == 2
    assert cells[(COMPARISON, "65-74")]["prior_events"] == 3
    assert cells[(COMPARISON, "65-74")]["after_ae_attendances"] == 2  # c2's May and July
    (cohort,) = compare_cohorts([engine_stratum(row) for row in rows], month_index(2025, 1), month_index(2025, 7))
    assert (cohort.months_before, cohort.months_after) == (3, 4)  # January-March; April-July
    assert (cohort.flagged_patients, cohort.matched_patients, cohort.comparison_patients) == (1, 1, 3)
    # f: before 3 x £1,000, after 1 x £1,000. Comparison (c1, c2) per patient: before (2 x £1,000 + £1 each) = 200,100p,
    # after (0 + 2 x 100p) / 2 = 100p; times f's 1 patient.
    assert cohort.flagged_before == Activity(Fraction(0), Fraction(3), Fraction(300_000))
    assert cohort.flagged_after == Activity(Fraction(0), Fraction(1), Fraction(100_000))
    assert cohort.comparison_before == Activity(Fraction(1), Fraction(2), Fraction(200_100))
    assert cohort.comparison_after == Activity(Fraction(1), Fraction(0), Fraction(100))


def engine_stratum(row: dict[str, Any]) -> Stratum:
    from outturn.domain.high_intensity import stratum_from_row

    return stratum_from_row(row)


def test_an_unmatched_stratum_is_counted_and_left_out() -> None:
    one = Activity(Fraction(5), Fraction(0), Fraction(500))
    strata = [
        Stratum(10, FLAGGED, "18-44", 5, 2, one, one),
        Stratum(10, FLAGGED, "85+", 7, 1, one, one),  # no comparison patient aged 85+ with 7 events
        Stratum(10, COMPARISON, "18-44", 5, 4, one.times(Fraction(4)), Activity()),
    ]
    (cohort,) = compare_cohorts(strata, 0, 30)
    assert (cohort.flagged_patients, cohort.matched_patients, cohort.unmatched_patients) == (3, 2, 1)
    assert cohort.flagged_before == one  # the matched stratum's two patients' totals
    assert cohort.comparison_before == one.times(Fraction(4)).times(Fraction(2, 4))
    assert (cohort.months_before, cohort.months_after) == (11, 12)


# --- one engine, any scale: DuckDB = Spark = plain Python -----------------------------------------------------


def random_activity(seed: int) -> tuple[list, list]:
    draw = random.Random(seed)
    start = date(2024, 4, 1)
    ae, apc = [], []
    for n in range(60):
        patient, practice, age = f"p{n}", draw.choice(["A", "B", None]), draw.choice([None, 5, 30, 50, 70, 80, 90])
        busy = draw.choice([1, 3, 8])
        for i in range(draw.randint(0, 2 * busy)):
            day = start + timedelta(days=draw.randint(0, 729))
            ae.append((f"{patient}-a{i}", patient, practice, age, day, draw.choice([None, 100, 250])))
        for i in range(draw.randint(0, busy)):
            day = start + timedelta(days=draw.randint(0, 729))
            method = draw.choice(["non_elective", "non_elective", "elective", "day_case"])
            apc.append((f"{patient}-s{i}", patient, practice, age, method, day, draw.choice([None, 90_000]), 7))
    ae.append(("nobody", None, "A", 40, start, 100))  # no patient id: not an event
    return ae, apc


def plain_events(ae: list, apc: list) -> list[dict[str, Any]]:
    def event(row: tuple, activity: str, day: date, value: int) -> dict[str, Any]:
        names = ("id", "patient", "practice", "age")
        return {**dict(zip(names, row[:4], strict=True)), "activity": activity, "day": day, "value": value}

    events = [event(row, "ae", row[4], row[5] or 0) for row in ae if row[1] is not None]
    for row in apc:
        if row[1] is not None:
            activity = "non_elective" if row[4] == "non_elective" else "planned"
            events.append(event(row, activity, row[5], (row[6] or 0) + row[7]))
    for found in events:
        found["month"] = month_index(found["day"].year, found["day"].month)
    return events


def plain_flags(events: list[dict], as_at: int, limits: Thresholds) -> dict[str, tuple]:
    need = {"ae": limits.ae_attendances, "non_elective": limits.non_elective_admissions}
    found = {}
    for patient in {event["patient"] for event in events}:
        mine = [e for e in events if e["patient"] == patient and as_at - 11 <= e["month"] <= as_at]
        keys = []
        for activity, n in need.items():
            kind = sorted((e for e in mine if e["activity"] == activity), key=lambda e: (e["day"], e["id"]))
            if len(kind) >= n:
                keys.append((kind[n - 1]["day"], activity))
        if keys:
            last = max(mine, key=lambda e: (e["day"], e["activity"], e["id"]))
            count = {a: sum(e["activity"] == a for e in mine) for a in ("ae", "non_elective", "planned")}
            found[patient] = (
                last["practice"],
                last["age"],
                count["ae"],
                count["non_elective"],
                count["planned"],
                sum(e["value"] for e in mine),
                min(keys),
            )
    return found


def plain_first_flags(events: list[dict], limits: Thresholds) -> dict[str, tuple]:
    need = {"ae": limits.ae_attendances, "non_elective": limits.non_elective_admissions}
    found: dict[str, tuple] = {}
    for patient in {event["patient"] for event in events}:
        keys = []
        for activity, n in need.items():
            kind = sorted(
                (e for e in events if e["patient"] == patient and e["activity"] == activity),
                key=lambda e: (e["day"], e["id"]),
            )
            for i in range(n - 1, len(kind)):
                if kind[i - n + 1]["month"] >= kind[i]["month"] - 11:
                    keys.append((kind[i]["day"], activity, kind[i]["month"]))
        if keys:
            first = min(keys)
            found[patient] = (first[2], first[0], first[1])
    return found


def plain_strata(events: list[dict], limits: Thresholds, low: int, high: int) -> dict[tuple, list[int]]:
    first = plain_first_flags(events, limits)
    months = {e["month"] for e in events if low <= e["month"] <= high}
    cells: dict[tuple, list[int]] = {}
    for month in months:
        for patient in {event["patient"] for event in events}:
            flag = first.get(patient, (None,))[0]
            group = FLAGGED if flag == month else COMPARISON if flag is None or flag > month else None
            before = [e for e in events if e["patient"] == patient and month - 11 <= e["month"] <= month]
            after = [e for e in events if e["patient"] == patient and month < e["month"] <= month + 12]
            prior = sum(e["activity"] in ("ae", "non_elective") for e in before)
            if group is None or prior < limits.lowest:
                continue
            aged = [(e["month"], e["age"]) for e in before if e["age"] is not None]
            age = max(aged)[1] if aged else None
            band = next((label for label, lo, hi in AGE_BANDS if age is not None and lo <= age <= hi), "unknown")
            cell = cells.setdefault((month, group, band, min(prior, 10)), [0] * 7)
            figures = [1]
            for side in (before, after):
                figures += [
                    sum(e["activity"] == "ae" for e in side),
                    sum(e["activity"] == "non_elective" for e in side),
                    sum(e["value"] for e in side),
                ]
            cells[(month, group, band, min(prior, 10))] = [a + b for a, b in zip(cell, figures, strict=True)]
    return cells


STRATA_FIGURES = (
    "patients",
    "before_ae_attendances",
    "before_non_elective_admissions",
    "before_value_pence",
    "after_ae_attendances",
    "after_non_elective_admissions",
    "after_value_pence",
)


def strata_cells(strata: list[dict]) -> dict[tuple, list[int]]:
    """The engine's cohort strata in ``plain_strata``'s shape: (month, group, band, prior events) -> figures."""
    return {
        (row["cohort_month"], row["group"], row["age_band"], row["prior_events"]): [
            row[name] for name in STRATA_FIGURES
        ]
        for row in strata
    }


def engine_answers(backend: Backend, ae: list, apc: list, limits: Thresholds, low: int, high: int) -> tuple:
    events = events_of(backend, ae, apc)
    flags = backend.to_rows(engine.flagged_patients(events, month_index(2025, 12), limits).order_by("patient_id"))
    first = backend.to_rows(engine.first_flags(events, limits).order_by("patient_id"))
    strata = engine.cohort_strata(events, engine.first_flags(events, limits), (low, high), limits)
    ordered = backend.to_rows(strata.order_by(["cohort_month", "group", "age_band", "prior_events"]))
    return flags, first, ordered


LOW, HIGH = month_index(2024, 6), month_index(2025, 11)


def limits_of(seed: int) -> Thresholds:
    return Thresholds(ae_attendances=4, non_elective_admissions=2) if seed == 2 else Thresholds()


@pytest.mark.parametrize("seed", [1, 2])
def test_the_engine_agrees_with_a_plain_python_implementation_on_a_random_file(duck: Backend, seed: int) -> None:
    ae, apc = random_activity(seed)
    limits = limits_of(seed)
    flags, first, strata = engine_answers(duck, ae, apc, limits, LOW, HIGH)
    events = plain_events(ae, apc)
    assert {
        row["patient_id"]: (
            row["practice"],
            row["age"],
            row["ae_attendances"],
            row["non_elective_admissions"],
            row["planned_admissions"],
            row["value_pence"],
            (row["qualifying_date"], row["qualifying_activity"]),
        )
        for row in flags
    } == plain_flags(events, month_index(2025, 12), limits)
    assert {
        row["patient_id"]: (row["flag_month"], row["qualifying_date"], row["qualifying_activity"]) for row in first
    } == (plain_first_flags(events, limits))
    assert strata_cells(strata) == plain_strata(events, limits, LOW, HIGH)
    assert flags and first and strata  # the random file has something to compare


@pytest.mark.slow  # about 3 minutes of Spark stages on the shared 2-core machine: run with -m slow
def test_spark_gives_duckdbs_answers_exactly(duck: Backend) -> None:
    """Flags, first flags and cohort strata on Spark are DuckDB's, row for row (DuckDB's are checked against plain
    Python above)."""
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (java not on PATH)")
    ae, apc = random_activity(2)
    spark = Backend("pyspark")
    on_spark = engine_answers(spark, ae, apc, limits_of(2), LOW, HIGH)
    assert on_spark == engine_answers(duck, ae, apc, limits_of(2), LOW, HIGH)


# --- the command, its API twin, and who sees what -------------------------------------------------------------
# The shared workspace (tests/web_helpers.py): twelve patients p0-p11 of A81001 with a non-elective spell a month,
# April-September 2025 (AA22C £9,859, MFF 1, 5 days: no excess), and two, r0-r1 of A81003, with an A&E type 1
# attendance a month (VB03Z £216). As at September 2025 all fourteen are flagged.
NEL, AE_PRICE = 985_900, 21_600


def test_the_command_flags_by_practice_with_pounds_at_tariff(shared_workspace: Workspace) -> None:
    result = CliRunner().invoke(
        cli, ["--workspace", str(shared_workspace.path), "patients", "high-intensity", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["as_at"] == "2025-09"
    assert document["flagged"]["patients"] == 14
    assert document["flagged"]["value_pence"] == 12 * 6 * NEL + 2 * 6 * AE_PRICE
    by_practice = {row["practice"]: (row["patients"], row["value_pence"]) for row in document["by_practice"]}
    assert by_practice == {"A81001": (12, 12 * 6 * NEL), "A81003": (2, 2 * 6 * AE_PRICE)}
    assert {row["pcn"]: row["patients"] for row in document["by_pcn"]} == {"P1": 12, "P2": 2}
    assert "patients" not in document  # no list without a practice
    cohorts = {row["cohort_month"]: row["patients"] for row in document["timeliness"]["cohorts"]}
    assert cohorts == {"2025-06": 12, "2025-08": 2}  # the third admission (June), the fifth attendance (August)


def test_the_timeliness_says_what_each_cohorts_days_are_measured_against(shared_workspace: Workspace) -> None:
    """Every cohort is measured to the latest activity import (no import records its date range): the JSON and the
    table say so where the days are shown. A patient's pounds print once (``£712k``, never ``££712kk``)."""
    base = ["--workspace", str(shared_workspace.path), "patients", "high-intensity"]
    document = json.loads(CliRunner().invoke(cli, [*base, "--format", "json"]).stdout)
    said = document["timeliness"]["measured_against"]
    assert "latest import" in said and "overstate" in said
    table = CliRunner().invoke(cli, [*base, "--practice", "A81003"])
    assert table.exit_code == 0, table.output
    flat = " ".join(table.stdout.split())
    assert "measured to the latest import of its kind of activity" in flat
    # r0 and r1: six A&E attendances each at £216, £1,296 -> £1k
    assert "r0 A&E 6 non-elective 0 £1k" in flat and "££" not in flat and "kk" not in flat


def test_a_practice_user_sees_only_their_own_practices_patients(shared_client: TestClient) -> None:
    sign_in(shared_client, "pat")  # A81001's own user
    answer = shared_client.get("/api/patients/high-intensity")
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["practice"] == "A81001"
    assert sorted(patient["patient_id"] for patient in document["patients"]) == sorted(f"p{n}" for n in range(12))
    assert [row["practice"] for row in document["by_practice"]] == ["A81001"]
    assert shared_client.get("/api/patients/high-intensity?practice=A81003").status_code == 403


def test_the_pack_summary_holds_counts_and_pounds_only(shared_workspace: Workspace) -> None:
    from outturn.reports.patients import pack_summary

    summary = pack_summary(high_intensity_users(shared_workspace))
    assert (summary.patients, summary.value_pence, summary.practices) == (14, 12 * 6 * NEL + 2 * 6 * AE_PRICE, 2)
    assert not any("patient_id" in str(value) for value in vars(summary).values())
    assert "patients" not in high_intensity_document(high_intensity_users(shared_workspace))


def test_the_board_pack_shows_the_flagged_counts_and_pounds(shared_workspace: Workspace, tmp_path: Path) -> None:
    """The pack of the shared workspace as at September 2025: fourteen patients at two practices, 12 x 6 spells at
    £9,859 and 2 x 6 attendances at £216 (£712,440 in all) -- the figures ``patients high-intensity`` prints, in the
    pack's JSON, HTML and XLSX; no patient id anywhere."""
    from openpyxl import load_workbook

    from outturn.reports.pack import pack_document
    from outturn.reports.pack_documents import pack_documents
    from outturn.services.pack import PackRequest, gather_pack, write_pack

    result = CliRunner().invoke(
        cli, ["--workspace", str(shared_workspace.path), "patients", "high-intensity", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    flagged = json.loads(result.stdout)["flagged"]
    pack = gather_pack(shared_workspace, PackRequest(as_at="2025-09", trials=200))
    files = write_pack(pack, tmp_path, ("html", "xlsx"))
    expected = {"as_at": "2025-09", "patients": 14, "value_pence": 12 * 6 * NEL + 2 * 6 * AE_PRICE, "practices": 2}
    assert expected["value_pence"] == 71_244_000  # £712,440
    assert (flagged["patients"], flagged["value_pence"]) == (expected["patients"], expected["value_pence"])
    assert pack_documents(pack).high_intensity == expected
    assert pack_document(pack, files.as_dict())["sections"]["high_intensity_users"] == expected
    assert files.html is not None and files.xlsx is not None
    html = files.html.read_text(encoding="utf-8")
    table = html[html.index('id="high-intensity-table"') :]
    table = table[: table.index("</table>")]
    assert '<td class="num">14</td><td class="num">2</td><td class="num">£712k</td>' in table
    sheet = load_workbook(files.xlsx, read_only=True)["High-intensity users"]
    rows = [row for row in sheet.iter_rows(min_row=4, values_only=True) if any(value is not None for value in row)]
    assert rows[1][:4] == ("2025-09", 14, 2, 712_440) and rows[1][4] == 71_244_000
    assert not any(f"p{n}" in str(rows) for n in range(12)) and ">p0<" not in html


def test_a_pack_without_activity_says_why_it_has_no_high_intensity_users(web_workspace: Workspace) -> None:
    from outturn.services.pack import PackRequest, gather_pack

    pack = gather_pack(web_workspace, PackRequest(as_at="2025-09", trials=200))
    assert pack.high_intensity is None
    assert "high-intensity users not shown: no A&E or admitted patient care activity with patient ids is held" in (
        pack.notes
    )


# --- the demo's frequent attenders ----------------------------------------------------------------------------


def test_the_demos_frequent_attenders_keep_each_patients_age_and_practice() -> None:
    """A share of attendances is re-attributed in sixes to one patient of the same age and practice: the other
    columns are untouched, and no patient id ends up with two practices or two ages."""
    import numpy as np

    from outturn.demo.activity.ae import FREQUENT_SHARE, _with_frequent_attenders
    from outturn.demo.activity.population import People

    draw = np.random.default_rng(3)
    size = 200_000
    ages = draw.integers(0, 3, size)
    practice = draw.integers(0, 4, size)
    patient = np.arange(size) * 10 + ages * 3 + practice  # distinct ids, each tied to its age and practice
    before = People(patient, practice, practice * 0, practice * 0)
    after = _with_frequent_attenders(before, ages, first_row=1_000)
    changed = after.patient != before.patient
    assert abs(changed.mean() - FREQUENT_SHARE * 5 / 6) < 0.01  # each run's first row keeps its own patient
    assert ((after.patient % 10) == ages * 3 + practice).all()  # the same age and practice as the row's
    visits = np.unique(after.patient, return_counts=True)[1]
    assert (visits == 6).sum() > FREQUENT_SHARE * size / 6 * 0.9
