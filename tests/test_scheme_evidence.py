"""Evidenced savings: a scheme's activity measure, its delivery worked out from the activity held, beside the
delivery the finance lead reports.

The worked example is the seed's Oxfordshire scheme, "£576k behind plan on admissions and £25k on excess bed
days", from a hand-made activity file (``oxfordshire_rows``). Runs on SQLite and PostgreSQL (``store_url``).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.activity import ActivityKind, PointOfDelivery
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.problems import ProblemsError
from outturn.domain.savings import Scheme, SchemeStatus, Workstream
from outturn.domain.scheme_measures import (
    MeasureSource,
    MonthTotals,
    SchemeMeasure,
    as_evidenced,
    evidence,
    evidence_ratio,
    scheme_months,
)
from outturn.engine import scheme_evidence as engine
from outturn.engine.backends import Backend
from outturn.reports.savings_workbook import write_savings_workbook
from outturn.services import savings, scheme_evidence
from outturn.services.demo import DemoResult
from outturn.services.imports import import_organisations
from outturn.services.pricing import import_activity
from outturn.services.workspace import Workspace, init_workspace

YEAR = FinancialYear(2018)
M06 = FinancialMonth(YEAR, 6)
ORGANISATIONS = """code,name,kind,parent_code
Y59,South East,region,
QU9,Buckinghamshire Oxfordshire and Berkshire West,icb,Y59
10Q,Oxfordshire,sub_icb,QU9
10Y,Buckinghamshire,sub_icb,QU9
RTH,Oxford University Hospitals,provider,
RXQ,Buckinghamshire Healthcare,provider,
"""
APC_HEADER = ["spell_id", "provider", "commissioner", "practice", "patient_id", "admission_method", "hrg",
              "admission_date", "discharge_date", "length_of_stay", "treatment_function", "age"]  # fmt: skip
HRG = "DZ11V"  # pneumonia, CC 0-3: non-elective trim point 11 days in 2018/19, so a 13-day stay has 2 excess days
LONG_STAY, SHORT_STAY, TRIM = 13, 3, 11
MEASURES_HEADER = ["scheme", "year", "source", "point_of_delivery", "provider", "commissioner", "hrg",
                   "excess_bed_days", "baseline_from", "baseline_to", "target_change", "unit_price",
                   "bed_day_price"]  # fmt: skip
OXFORDSHIRE = ["OX-NEL-01", "2018/19", "activity", "non_elective", "RTH", "10Q", "DZ11", "yes", "2017-04", "2017-09",
               "-20%", "£3,200", "£250"]  # fmt: skip


def _spells(month: date, count: int, long_stays: int, **row: str) -> list[dict[str, str]]:
    """``count`` spells discharged on the 15th of ``month``, ``long_stays`` of them 13 days long, the rest 3."""
    discharged = month.replace(day=15)
    spells = []
    for index in range(count):
        stay = LONG_STAY if index < long_stays else SHORT_STAY
        fields = {"provider": "RTH", "commissioner": "10Q", "method": "non_elective", **row}
        spells.append(
            {
                "spell_id": f"{fields['provider']}-{fields['commissioner']}-{fields['method']}-{month:%Y%m}-{index}",
                "provider": fields["provider"],
                "commissioner": fields["commissioner"],
                "practice": "",
                "patient_id": f"p{index}",
                "admission_method": fields["method"],
                "hrg": HRG,
                "admission_date": (discharged - timedelta(days=stay)).isoformat(),
                "discharge_date": discharged.isoformat(),
                "length_of_stay": str(stay),
                "treatment_function": "300",
                "age": "70",
            }
        )
    return spells


def _months(first: date, count: int) -> list[date]:
    return [
        date(first.year + (first.month - 1 + index) // 12, (first.month - 1 + index) % 12 + 1, 1)
        for index in range(count)
    ]


def oxfordshire_rows() -> list[dict[str, str]]:
    """The hand-made file: Oxfordshire's (10Q) non-elective spells at Oxford University Hospitals (RTH).

    Baseline April-September 2017: 250 spells a month, 50 of them 13 days (2 excess bed days each): 1,500
    spells and 600 excess bed days. The scheme year April-September 2018: 230 spells a month (1,380), 48 long
    stays a month in April-August and 50 in September (96 x 5 + 100 = 580 excess bed days). Rows that must not
    count: elective spells at RTH, non-elective at RXQ, non-elective for Buckinghamshire (10Y), and October 2018
    (after the as-at month)."""
    rows: list[dict[str, str]] = []
    for month in _months(date(2017, 4, 1), 6):
        rows += _spells(month, 250, 50)
    for number, month in enumerate(_months(date(2018, 4, 1), 6), start=1):
        rows += _spells(month, 230, 50 if number == 6 else 48)
    for month in _months(date(2017, 4, 1), 6) + _months(date(2018, 4, 1), 7):
        rows += _spells(month, 7, 2, method="elective")
        rows += _spells(month, 9, 3, provider="RXQ")
        rows += _spells(month, 11, 4, commissioner="10Y")
    rows += _spells(date(2018, 10, 1), 40, 10)
    return rows


def write_rows(path: Path, header: list[str], rows: list[dict[str, str]] | list[list[str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row[name] for name in header] if isinstance(row, dict) else row)
    return path


def oxfordshire_scheme() -> Scheme:
    """Planned £165k a month (£990k to September); the finance lead reports £150k a month delivered."""
    return Scheme(
        "OX-NEL-01",
        "Non-elective admissions: ambulatory care (Oxfordshire)",
        "10Q",
        YEAR,
        Workstream.NON_ELECTIVE,
        planned=(165_000_00,) * 12,
        delivered=(150_000_00,) * 6 + (None,) * 6,
        status=SchemeStatus.IN_DELIVERY,
        evidence_measure="Non-elective admissions and excess bed days at OUH",
    )


def scheme_workspace(
    tmp_path: Path, store_url: str, reference_dir: Path, as_at: str, scheme: Scheme, apc_rows: list[dict[str, str]]
) -> Workspace:
    """A workspace holding the organisations, one scheme and the admitted care ``apc_rows``."""
    opened = init_workspace(tmp_path / "ws", reference_dir=reference_dir, store_url=store_url, default_as_at=as_at)
    (tmp_path / "orgs.csv").write_text(ORGANISATIONS)
    import_organisations(opened, tmp_path / "orgs.csv")
    savings.import_workbook(opened, write_savings_workbook(tmp_path / "plan.xlsx", [scheme], []), "alice")
    import_activity(opened, write_rows(tmp_path / "apc.csv", APC_HEADER, apc_rows), ActivityKind.APC)
    return opened


@pytest.fixture
def workspace(tmp_path: Path, store_url: str, reference_dir: Path) -> Workspace:
    return scheme_workspace(tmp_path, store_url, reference_dir, "2018-09", oxfordshire_scheme(), oxfordshire_rows())


def test_oxfordshire_is_576k_behind_on_admissions_and_25k_on_excess_bed_days(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Hand calculation (baseline monthly average x the 6 months counted, April-September 2018):

    admissions: baseline 1,500 over 6 months = 250 a month; expected 250 x 6 = 1,500; counted 1,380.
        evidenced (1,500 - 1,380) x £3,200 = £384,000; target 20% x 1,500 = 300 x £3,200 = £960,000;
        behind £960,000 - £384,000 = £576,000.
    excess bed days: baseline 600 = 100 a month; expected 600; counted 580.
        evidenced (600 - 580) x £250 = £5,000; target 20% x 600 = 120 x £250 = £30,000; behind £25,000.
    evidenced £384,000 + £5,000 = £389,000; reported £150,000 x 6 = £900,000; difference £511,000, above 10% of
    the £990,000 plan to date (£99,000): flagged."""
    scheme_evidence.import_measures(workspace, write_rows(tmp_path / "m.csv", MEASURES_HEADER, [OXFORDSHIRE]), "bob")
    scheme, _history = savings.show_scheme(workspace, YEAR, "OX-NEL-01")
    found = scheme_evidence.scheme_evidence(workspace, scheme, M06)
    assert found is not None
    admissions, bed_days = found.components
    assert (admissions.baseline_units, admissions.current_units) == (1_500, 1_380)
    assert (admissions.evidenced_pence, admissions.target_pence, admissions.behind_pence) == (
        384_000_00,
        960_000_00,
        576_000_00,
    )
    assert (bed_days.baseline_units, bed_days.current_units) == (600, 580)
    assert (bed_days.evidenced_pence, bed_days.target_pence, bed_days.behind_pence) == (5_000_00, 30_000_00, 25_000_00)
    assert (found.evidenced_pence, found.reported_pence, found.difference_pence) == (389_000_00, 900_000_00, 511_000_00)
    assert found.flagged


def test_savings_show_json_carries_evidenced_reported_and_the_counts(workspace: Workspace, tmp_path: Path) -> None:
    measures = write_rows(tmp_path / "m.csv", MEASURES_HEADER, [OXFORDSHIRE])
    runner = CliRunner()
    imported = runner.invoke(app, ["-w", str(workspace.path), "savings", "import-measures", str(measures)])
    assert imported.exit_code == 0, imported.output
    shown = runner.invoke(app, ["-w", str(workspace.path), "savings", "show", "OX-NEL-01", "--format", "json"])
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.output)
    assert (document["evidenced_pence"], document["reported_pence"], document["difference_pence"]) == (
        389_000_00,
        900_000_00,
        511_000_00,
    )
    assert document["difference_flagged"] is True
    assert document["measure"]["point_of_delivery"] == "non_elective"
    assert document["measure"]["target_change"] == "-20%"
    counts = {
        part["name"]: (part["baseline_count"], part["current_count"]) for part in document["evidence"]["components"]
    }
    assert counts == {"admissions": (1_500, 1_380), "excess_bed_days": (600, 580)}
    assert [entry["action"] for entry in document["history"]] == ["import", "measure"]
    assert document["evidence_measure"] == "Non-elective admissions and excess bed days at OUH"  # the description stays


def test_a_scheme_without_a_measure_shows_no_evidence(workspace: Workspace) -> None:
    scheme, _history = savings.show_scheme(workspace, YEAR, "OX-NEL-01")
    assert scheme_evidence.scheme_evidence(workspace, scheme, M06) is None


def test_at_the_tariff_the_saving_is_the_expected_value_less_the_value_counted(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Without stated prices: 2018/19 tariff for DZ11V non-elective £1,486 and £208 a bed day, RTH's MFF 1.100325,
    each rounded half up to the penny per spell: £1,635.08 a spell (148,600 x 1.100325 = 163,508.295p) and, for
    a long stay's 2 days, £457.74 (41,600 x 1.100325 = 45,773.52p). Baseline value 1,500 x £1,635.08 + 300 x
    £457.74 = £2,589,942; counted 1,380 x £1,635.08 + 290 long stays x £457.74 = £2,389,155.
    Admissions evidenced 120 x £1,635.08 = £196,209.60; bed days 10 long stays x £457.74 = £4,577.40."""
    tariff_row = [*OXFORDSHIRE[:11], "", ""]
    scheme_evidence.import_measures(workspace, write_rows(tmp_path / "m.csv", MEASURES_HEADER, [tariff_row]), "bob")
    scheme, _history = savings.show_scheme(workspace, YEAR, "OX-NEL-01")
    found = scheme_evidence.scheme_evidence(workspace, scheme, M06)
    assert found is not None
    admissions, bed_days = found.components
    assert admissions.evidenced_pence == 120 * 163_508
    assert bed_days.evidenced_pence == 10 * 45_774
    assert admissions.target_pence == 300 * 163_508  # 20% of the expected value
    assert bed_days.target_pence == 60 * 45_774


def _as_priced(row: dict[str, str]) -> dict[str, object]:
    """A row of the file as ``engine.pricing`` leaves it (the columns the measure reads), its excess bed days
    those beyond the trim point: the pricing itself is tested in test_pricing."""
    excess = max(int(row["length_of_stay"]) - TRIM, 0)
    return {
        **row,
        "point_of_delivery": row["admission_method"],
        "discharge_date": date.fromisoformat(row["discharge_date"]),
        "price_pence": 1,
        "excess_bed_days": excess,
        "excess_price_pence": 0,
    }


def test_the_engine_counts_what_a_plain_python_count_of_the_file_counts() -> None:
    rows = oxfordshire_rows()
    measure = SchemeMeasure(
        "X", YEAR, MeasureSource.ACTIVITY, 201704, 201709, PointOfDelivery.NON_ELECTIVE, provider="RTH",
        commissioner="10Q", hrg_prefix="DZ11", excess_bed_days=True, target_share=Decimal("-0.2"),
    )  # fmt: skip
    units: Counter[int] = Counter()
    bed_days: Counter[int] = Counter()
    for row in rows:
        if (row["provider"], row["commissioner"], row["admission_method"]) == ("RTH", "10Q", "non_elective"):
            month = int(row["discharge_date"][:4]) * 100 + int(row["discharge_date"][5:7])
            units[month] += 1
            bed_days[month] += max(int(row["length_of_stay"]) - TRIM, 0)
    priced = [_as_priced(row) for row in rows]
    backend = Backend("duckdb")
    try:
        counted = backend.to_rows(
            engine.activity_months(backend.table(pa.Table.from_pylist(priced)), ActivityKind.APC, measure)
        )
    finally:
        backend.close()
    assert {row["month"]: row["units"] for row in counted} == dict(units)
    assert {row["month"]: row["bed_days"] for row in counted} == dict(bed_days)


def test_prescribing_items_at_practices_counted_against_a_plain_python_sum() -> None:
    rx = [
        {"year_month": f"2018-{month:02d}", "practice": practice, "practice_name": "", "bnf_code": code, "bnf_name": "",
         "items": items, "quantity": 1.0, "nic_pence": 0, "actual_cost_pence": items * 250}
        for month in (4, 5) for practice in ("K84001", "K84002", "K84003")
        for code, items in (("0403030E0AAAAAA", 10 * month), ("0212000B0AAABAB", 7), ("0403010B0AAAAAA", month))
    ]  # fmt: skip
    measure = SchemeMeasure(
        "RX", YEAR, MeasureSource.PRESCRIBING, 201804, 201804, bnf_prefix="0403", practices=("K84001", "K84002"),
        target_share=Decimal("-0.1"),
    )  # fmt: skip
    expected: Counter[int] = Counter()
    for row in rx:
        if row["bnf_code"].startswith("0403") and row["practice"] in ("K84001", "K84002"):
            expected[int(row["year_month"].replace("-", ""))] += int(row["items"])
    backend = Backend("duckdb")
    try:
        counted = backend.to_rows(engine.prescribing_months(backend.table(pa.Table.from_pylist(rx)), measure))
    finally:
        backend.close()
    assert {row["month"]: row["units"] for row in counted} == dict(expected)
    assert {row["month"]: row["pence"] for row in counted} == {month: items * 250 for month, items in expected.items()}


def test_a_count_target_is_pro_rated_and_a_missing_baseline_evidences_nothing() -> None:
    """Target -1,200 items a year at £2 an item: 3 months counted -> -300 items -> £600 to date. Baseline 400 a
    month; counted 350 a month: evidenced (1,200 - 1,050) x £2 = £300."""
    measure = SchemeMeasure(
        "RX", YEAR, MeasureSource.PRESCRIBING, 201801, 201803, bnf_prefix="0403", target_units=-1_200,
        unit_price_pence=200,
    )  # fmt: skip
    totals = {month: MonthTotals(400, 0) for month in (201801, 201802, 201803)}
    totals |= {month: MonthTotals(350, 0) for month in (201804, 201805, 201806)}
    held = sorted(totals)
    found = evidence(measure, totals, held, scheme_months(YEAR, 1, 3), 1_000_00, 1_000_00)
    (items,) = found.components
    assert items.expected_units == Fraction(1_200)
    assert (items.evidenced_pence, items.target_pence) == (300_00, 600_00)
    assert found.difference_pence == 700_00
    partial = evidence(measure, totals, held[1:], scheme_months(YEAR, 1, 3), 0, 0)
    assert partial.missing_baseline == (201801,)
    assert partial.evidenced_pence is None and not partial.flagged


def test_a_measures_file_with_problems_stores_nothing(workspace: Workspace, tmp_path: Path) -> None:
    bad = [
        ["NOPE-1", *OXFORDSHIRE[1:]],
        [*OXFORDSHIRE[:8], "2017-13", *OXFORDSHIRE[9:]],
        [*OXFORDSHIRE[:3], "", *OXFORDSHIRE[4:]],
    ]
    with pytest.raises(ProblemsError) as refused:
        scheme_evidence.import_measures(workspace, write_rows(tmp_path / "m.csv", MEASURES_HEADER, bad), "bob")
    where = {(problem.row, problem.column) for problem in refused.value.problems}
    assert where == {(2, "scheme"), (3, "baseline_from"), (4, "point_of_delivery")}
    assert scheme_evidence.scheme_measure(workspace, YEAR, "OX-NEL-01") is None


def test_a_measure_breaking_its_own_rule_names_the_column_and_a_price_below_a_penny_is_refused(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Row 2's baseline ends before it starts (baseline_to); row 3 asks excess bed days of outpatients
    (excess_bed_days); row 4's unit price is negative and row 5's bed-day price is nothing (a saving would turn
    into a cost, or be worth nothing); row 6's target is beyond -100% and row 7's finer than the store keeps.
    Each problem names its own column and reason; nothing is stored."""
    named = dict(zip(MEASURES_HEADER, OXFORDSHIRE, strict=True))
    bad = [
        {**named, "baseline_from": "2017-09", "baseline_to": "2017-04"},
        {**named, "point_of_delivery": "op_first"},
        {**named, "unit_price": "-£3,200"},
        {**named, "bed_day_price": "£0"},
        {**named, "target_change": "-150%"},
        {**named, "target_change": "-20.1234567%"},
    ]
    with pytest.raises(ProblemsError) as refused:
        scheme_evidence.import_measures(workspace, write_rows(tmp_path / "m.csv", MEASURES_HEADER, bad), "bob")
    reasons = {(problem.row, problem.column): problem.reason for problem in refused.value.problems}
    assert set(reasons) == {
        (2, "baseline_to"), (3, "excess_bed_days"), (4, "unit_price"), (5, "bed_day_price"), (6, "target_change"),
        (7, "target_change"),
    }  # fmt: skip
    assert "between -100% and 100%" in reasons[(6, "target_change")]  # its own reason, not "not a target change"
    assert "at most 4 decimal places" in reasons[(7, "target_change")]  # the store keeps six places of a share
    assert scheme_evidence.scheme_measure(workspace, YEAR, "OX-NEL-01") is None


def test_import_measures_on_the_command_line_names_file_row_column_and_reason(
    workspace: Workspace, tmp_path: Path
) -> None:
    """A bad row, a missing column and a file that is not a table: each a clear refusal (no traceback), naming the
    file and, for the row, its number, column and reason; nothing is stored."""
    runner = CliRunner()
    named = dict(zip(MEASURES_HEADER, OXFORDSHIRE, strict=True))
    bad_row = write_rows(tmp_path / "bad-row.csv", MEASURES_HEADER, [OXFORDSHIRE, {**named, "unit_price": "-£5"}])
    no_column = write_rows(tmp_path / "no-column.csv", MEASURES_HEADER[1:], [OXFORDSHIRE[1:]])
    not_a_table = tmp_path / "not-a-table.xlsx"
    not_a_table.write_bytes(b"\x00\x01 not a workbook")
    for path, said in (
        (bad_row, ("row 3", "unit_price", "a price is more than £0")),
        (no_column, ("scheme",)),
        (not_a_table, ("not an Excel workbook",)),
    ):
        refused = runner.invoke(app, ["-w", str(workspace.path), "savings", "import-measures", str(path)])
        assert isinstance(refused.exception, SystemExit), refused.exception  # refused, not raised
        assert refused.exit_code != 0 and "Traceback" not in refused.output, refused.output
        printed = " ".join(refused.output.split())
        assert path.name in printed and all(text in printed for text in said), printed
    assert scheme_evidence.scheme_measure(workspace, YEAR, "OX-NEL-01") is None


def test_the_monte_carlo_sees_a_scheme_at_its_evidence_ratio(workspace: Workspace, tmp_path: Path) -> None:
    """Evidenced £389,000 of a reported £900,000: ratio 389/900. Each reported month £150,000 x 389/900 =
    £64,833.33; each forecast month (as planned, £165,000) x 389/900 = £71,316.67 (to the penny, half up)."""
    scheme_evidence.import_measures(workspace, write_rows(tmp_path / "m.csv", MEASURES_HEADER, [OXFORDSHIRE]), "bob")
    scheme, _history = savings.show_scheme(workspace, YEAR, "OX-NEL-01")
    found = scheme_evidence.scheme_evidence(workspace, scheme, M06)
    assert found is not None
    assert evidence_ratio(found) == Fraction(389, 900)
    seen = as_evidenced(scheme, found, 6)
    assert seen.delivered == (64_833_33,) * 6 + (None,) * 6
    assert [seen.forecast_month(month) for month in range(7, 13)] == [71_316_67] * 6
    assert seen.planned == scheme.planned  # the plan (what the budgets assume) is not the evidence's to change


def test_evidence_above_the_reported_delivery_is_not_credited() -> None:
    measure = SchemeMeasure(
        "RX", YEAR, MeasureSource.PRESCRIBING, 201801, 201803, bnf_prefix="0403", target_units=-1_200,
        unit_price_pence=200,
    )  # fmt: skip
    totals = {month: MonthTotals(400 if month < 201804 else 100, 0) for month in (201801, 201802, 201803, 201804)}
    found = evidence(measure, totals, sorted(totals), scheme_months(YEAR, 1, 1), 100, 100)
    assert found.evidenced_pence == 300 * 200 and evidence_ratio(found) == 1  # 400 expected, 100 counted, £2 each
    none_reported = evidence(measure, totals, sorted(totals), scheme_months(YEAR, 1, 1), 0, 100)
    assert evidence_ratio(none_reported) is None


# --- the demo's two evidenced schemes, counted again from its input files ------------------------------------


def _demo_counts(workspace_dir: Path) -> dict[str, tuple[SchemeMeasure, tuple[int, int], tuple[int, int]]]:
    """Each measured scheme of the demo: its measure, its (baseline, counted) units as the service counts them,
    and as a plain-Python count of the demo's input files (EPD CSVs; this year's admitted-care extract to date)."""
    from outturn.services.workspace import open_workspace

    with open_workspace(workspace_dir, read_only=True) as opened:
        month = opened.month(None)
        views = [view for view in savings.list_schemes(opened, month) if view.evidence is not None]
    found = {}
    for view in views:
        assert view.evidence is not None
        measure, parts = view.evidence.measure, view.evidence.components
        baseline, counted = set(view.evidence.baseline_months), set(view.evidence.months)
        by_month: Counter[int] = Counter()
        if measure.source is MeasureSource.PRESCRIBING:
            for path in sorted((workspace_dir / "inputs").glob("epd-*.csv")):
                with path.open(newline="") as handle:
                    for row in csv.DictReader(handle):
                        if row["BNF_CODE"].startswith(measure.bnf_prefix) and row["PRACTICE_CODE"] in measure.practices:
                            by_month[int(row["YEAR_MONTH"])] += int(row["ITEMS"])
        else:
            (extract,) = (workspace_dir / "inputs" / "activity-2025").glob("apc-to-*.parquet")
            for row in pq.read_table(extract).to_pylist():
                if (row["commissioner"], row["admission_method"]) == (measure.commissioner, "non_elective"):
                    by_month[row["discharge_date"].year * 100 + row["discharge_date"].month] += 1
        plain = (sum(by_month[m] for m in baseline), sum(by_month[m] for m in counted))
        found[view.scheme.reference] = (measure, (parts[0].baseline_units, parts[0].current_units), plain)
    return found


def test_the_demo_has_two_evidenced_schemes_counted_as_its_files_count(small_demo: DemoResult) -> None:
    counts = _demo_counts(small_demo.workspace)
    sources = sorted(measure.source.value for measure, _service, _plain in counts.values())
    assert sources == ["activity", "prescribing"]
    for measure, service, plain in counts.values():
        assert service == plain, measure.described
        assert all(service), measure.described  # a baseline and months counted, both with activity
    assert small_demo.pack is not None
    shown = {item.scheme.reference for item in small_demo.pack.savings_evidence}
    assert shown == set(counts)


def test_the_register_and_the_scheme_page_show_evidenced_against_reported(workspace: Workspace, tmp_path: Path) -> None:
    """£389,000 evidenced (£389k) against £900,000 reported (£900k), flagged; the scheme page shows the counts."""
    from outturn.services import users
    from outturn.services.users import Role
    from outturn.web import create_app
    from web_helpers import AT_ONCE, sign_in

    scheme_evidence.import_measures(workspace, write_rows(tmp_path / "m.csv", MEASURES_HEADER, [OXFORDSHIRE]), "bob")
    users.add_user(workspace, "fiona", "evidence-test-password-1", Role.FINANCE)
    with TestClient(create_app(workspace.settings, AT_ONCE)) as client:
        sign_in(client, "fiona", "evidence-test-password-1")
        register = client.get("/savings").text
        assert "Evidenced / reported" in register and "£389k / £900k (flagged)" in register
        page = client.get("/savings/2018/OX-NEL-01").text
        assert "Evidenced delivery" in page and "1,380" in page and "£576,000" in page
        (row,) = client.get("/api/savings/schemes").json()["schemes"]
        assert (row["evidenced_pence"], row["reported_pence"], row["difference_flagged"]) == (
            389_000_00,
            900_000_00,
            True,
        )


def test_an_xlsx_baseline_typed_as_dates_reads_as_months(workspace: Workspace, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(MEASURES_HEADER)
    sheet.append([*OXFORDSHIRE[:8], date(2017, 4, 1), date(2017, 9, 1), *OXFORDSHIRE[10:]])
    book.save(tmp_path / "m.xlsx")
    assert scheme_evidence.import_measures(workspace, tmp_path / "m.xlsx", "bob") == 1
    measure = scheme_evidence.scheme_measure(workspace, YEAR, "OX-NEL-01")
    assert measure is not None and (measure.baseline_first, measure.baseline_last) == (201704, 201709)
