"""Contract monitoring: plan against priced actual activity, forecast, over-performance, follow-ups, case mix.

Expected figures are worked by hand from the published 2018/19 national tariff rows (AA22C non-elective £9,859,
trim point 98 days, £240 per excess bed day; general surgery (100) first attendance £163, follow-up £70; A&E
VB03Z type 1 £216) and Oxford University Hospitals' (RTH) market forces factor 1.100325.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.activity import PointOfDelivery
from outturn.domain.contract_measures import (
    case_mix_windows,
    follow_up_ratio,
    follow_ups_above_benchmark,
    months_of,
    peer_follow_up_ratios,
)
from outturn.domain.contracts import ActualLine, Contract, PlanLine, forecast_remaining, statement_lines
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.engine import pricing
from outturn.stats.casemix import PriceSample, adjust_family, case_mix_drift

MFF = Decimal("1.100325")


def uplift(pounds: int) -> int:
    return int((Decimal(pounds * 100) * MFF).quantize(Decimal(1), rounding=ROUND_HALF_UP))


NEL_SPELL = uplift(9_859)  # 1,084,810p
EXCESS_TWO_DAYS = uplift(2 * 240)  # 52,816p
OP_FIRST, OP_FOLLOW_UP, AE_TYPE_1 = uplift(163), uplift(70), uplift(216)


def test_forecast_remaining_by_hand() -> None:
    assert forecast_remaining(ytd_actual=130, ytd_plan=100, remaining_plan=200, months_elapsed=6) == 260
    assert forecast_remaining(ytd_actual=5, ytd_plan=0, remaining_plan=0, months_elapsed=6) == 5  # run rate


def test_statement_lines_by_hand() -> None:
    year = FinancialYear(2018)
    plan = tuple(PlanLine(PointOfDelivery.NON_ELECTIVE, month, 10, 100_000_00) for month in range(1, 13))
    contract = Contract("RTH", "10Q", year, plan)
    actuals = [ActualLine(PointOfDelivery.NON_ELECTIVE, month, 12, 120_000_00) for month in range(1, 7)]
    (line,) = statement_lines(contract, actuals, FinancialMonth(year, 6))
    # Variances are plan less actual (negative: over-performance, adverse): 60 planned - 72 done = -12.
    assert (line.ytd_plan_activity, line.ytd_actual_activity, line.ytd_variance_favourable_activity) == (60, 72, -12)
    assert line.ytd_variance_favourable_pence == 6 * 100_000_00 - 6 * 120_000_00
    assert line.forecast_activity == 72 + 72  # the remaining 60 planned, at 120% of plan
    assert line.forecast_pence == 1_440_000_00
    assert line.over_performance_pence == 1_440_000_00 - 1_200_000_00
    assert line.forecast_variance_favourable_pence == 1_200_000_00 - 1_440_000_00  # the same, as an adverse variance


def test_case_mix_windows_by_hand() -> None:
    # M05: the latest three months (M03-M05) would overlap the first quarter (M01-M03): no comparison yet
    assert case_mix_windows(5) is None
    # M06: M04-M06 against M01-M03; M12: M10-M12
    assert case_mix_windows(6) == ((1, 3), (4, 6))
    assert case_mix_windows(12) == ((1, 3), (10, 12))
    assert months_of((10, 12)) == (10, 11, 12)


def test_follow_up_rules_by_hand() -> None:
    # treatment function 110: 40 + 10 firsts, 80 + 30 follow-ups -> 110 / 50 = 2.2; 300: no firsts, no ratio
    counts = [("110", 40, 80), ("110", 10, 30), ("300", 0, 5)]
    assert peer_follow_up_ratios(counts) == {"110": 2.2}
    assert follow_up_ratio(40, 80) == 2.0 and follow_up_ratio(0, 5) is None
    # 40 firsts at a benchmark of 1.5 allow 60 follow-ups: 80 is 20 above; 50 is none above, never negative
    assert follow_ups_above_benchmark(40, 80, 1.5) == 20
    assert follow_ups_above_benchmark(40, 50, 1.5) == 0
    # 7 firsts at 1.3 allow 9.1, a whole 9 attendances: 12 is 3 above
    assert follow_ups_above_benchmark(7, 12, 1.3) == 3
    assert follow_ups_above_benchmark(40, 80, None) is None


def test_case_mix_drift_matches_an_independent_z_test() -> None:
    baseline = [100_000, 120_000, 95_000, 110_000, 105_000, 98_000]
    current = [130_000, 125_000, 140_000, 118_000, 135_000]
    [drift] = adjust_family(  # a family of one: Holm leaves its p-value as it is
        [
            case_mix_drift(
                PriceSample(len(baseline), sum(baseline), float(sum(p * p for p in baseline))),
                PriceSample(len(current), sum(current), float(sum(p * p for p in current))),
                min_spells=5,
            )
        ]
    )
    assert drift.z is not None and drift.p_value is not None
    error = math.sqrt(statistics.variance(baseline) / len(baseline) + statistics.variance(current) / len(current))
    z = (statistics.mean(current) - statistics.mean(baseline)) / error
    assert drift.z == pytest.approx(z, rel=1e-9)
    assert drift.p_value == pytest.approx(2 * (1 - statistics.NormalDist().cdf(abs(z))), rel=1e-6)
    assert drift.expected_pence == round(statistics.mean(baseline) * len(current))
    assert drift.drift_pence == sum(current) - drift.expected_pence
    assert drift.p_adjusted == drift.p_value
    assert drift.significant_95


# --- end to end through a workspace --------------------------------------------------------------------------


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def activity_files(tmp_path: Path) -> dict[str, Path]:
    spells, visits, arrivals = [], [], []
    for month in range(1, 7):  # April to September 2018
        discharged = date(2018, month + 3, 15)
        for n in range(2):
            spells.append([f"S{month}{n}", "RTH", "10Q", "K84001", f"p{month}{n}", "non_elective", "AA22C",
                           discharged - timedelta(days=5), discharged, 5, "300", 70])
        for n in range(4):
            visits.append([f"F{month}{n}", "RTH", "10Q", "K84001", f"q{month}{n}", discharged, "first", "100", "",
                           "consultant" if n == 0 else "gp", 50])
        for n in range(10):
            visits.append([f"U{month}{n}", "RTH", "10Q", "K84001", f"q{month}{n}", discharged, "follow_up", "100", "",
                           "gp", 50])
        arrivals.append([f"E{month}", "RTH", "10Q", "K84001", f"r{month}", discharged, "1", "VB03Z", 30])
    long_stay = date(2018, 6, 20)  # June: 100 days, two beyond the trim point
    spells.append(["LONG", "RTH", "10Q", "K84001", "long", "non_elective", "AA22C", long_stay - timedelta(days=100),
                   long_stay, 100, "300", 80])
    spells.append(["NOHRG", "RTH", "10Q", "K84001", "x", "non_elective", "", date(2018, 5, 1), date(2018, 5, 2), 1,
                   "300", 80])
    return {
        "apc": write_csv(tmp_path / "apc.csv", ["spell_id", "provider", "commissioner", "practice", "patient_id",
                                                "admission_method", "hrg", "admission_date", "discharge_date",
                                                "length_of_stay", "treatment_function", "age"], spells),
        "op": write_csv(tmp_path / "op.csv", ["attendance_id", "provider", "commissioner", "practice", "patient_id",
                                              "attendance_date", "attendance_type", "treatment_function",
                                              "procedure_hrg", "referral_source", "age"], visits),
        "ae": write_csv(tmp_path / "ae.csv", ["attendance_id", "provider", "commissioner", "practice", "patient_id",
                                              "arrival_date", "department_type", "hrg", "age"], arrivals),
    }


@pytest.fixture
def workspace(tmp_path: Path, reference_dir: Path) -> Path:
    runner = CliRunner()
    ws = tmp_path / "ws"
    organisations = write_csv(tmp_path / "orgs.csv", ["code", "name", "kind", "parent_code"], [
        ["Y59", "South East", "region", ""], ["10Q", "Oxfordshire", "ccg", "Y59"],
        ["RTH", "Oxford University Hospitals", "provider", ""],
    ])
    plan_rows: list[list[object]] = []
    for month in range(1, 13):
        plan_rows.append(["RTH", "10Q", "2018/19", "non_elective", f"M{month:02d}", 1, "£1,000,000.00", ""])
        plan_rows.append(["RTH", "10Q", "2018/19", "op_first", f"M{month:02d}", 5, "£80,000.00", ""])
    plan_rows.append(["RTH", "10Q", "2018/19", "block", "", "", "£1.2m", "Critical care"])
    plan = write_csv(tmp_path / "plan.csv", ["provider", "commissioner", "year", "point_of_delivery", "month",
                                             "activity", "value", "description"], plan_rows)
    prices = write_csv(tmp_path / "prices.csv", ["provider", "commissioner", "year", "point_of_delivery", "code",
                                                 "price"], [["RTH", "10Q", "2018/19", "ae", "", "£150.00"]])
    files = activity_files(tmp_path)
    for command in (
        ["init", str(ws), "--as-at", "2018-09", "--reference-dir", str(reference_dir)],
        ["-w", str(ws), "orgs", "import", str(organisations)],
        ["-w", str(ws), "contracts", "import", str(plan), "--prices", str(prices)],
        *(["-w", str(ws), "contracts", "activity", str(path), "--kind", kind] for kind, path in files.items()),
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
    return ws


def statement(workspace: Path) -> dict[str, object]:
    result = CliRunner().invoke(app, ["-w", str(workspace), "contracts", "statement", "--provider", "RTH",
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    (document,) = json.loads(result.stdout)
    return document  # type: ignore[no-any-return]


def test_statement_prices_actuals_and_sets_them_against_plan(workspace: Path) -> None:
    document = statement(workspace)
    lines = {line["point_of_delivery"]: line for line in document["lines"]}  # type: ignore[union-attr]
    nel = lines["non_elective"]
    assert nel["ytd_actual_activity"] == 13  # 12 spells + the long stay; the spell with no HRG is unpriced
    assert nel["ytd_actual_pence"] == 13 * NEL_SPELL
    assert nel["ytd_plan_pence"] == 6 * 1_000_000_00
    assert lines["excess_bed_days"]["ytd_actual_activity"] == 2
    assert lines["excess_bed_days"]["ytd_actual_pence"] == EXCESS_TWO_DAYS
    first = lines["op_first"]
    assert (first["ytd_actual_activity"], first["ytd_actual_pence"]) == (24, 24 * OP_FIRST)
    # At 24 of 30 planned first attendances, the remaining 30 planned are forecast at 80%: 24 more.
    assert first["forecast_activity"] == 48
    assert lines["op_follow_up"]["ytd_actual_pence"] == 60 * OP_FOLLOW_UP
    assert lines["ae"]["ytd_actual_pence"] == 6 * 150_00  # the local price, with no MFF
    block = lines["block: Critical care"]
    assert (block["ytd_actual_pence"], block["forecast_pence"]) == (600_000_00, 1_200_000_00)
    assert document["over_performance_pence"] == document["forecast_pence"] - document["annual_plan_pence"]
    assert document["forecast_variance_favourable_pence"] == document["annual_plan_pence"] - document["forecast_pence"]
    assert document["ytd_variance_favourable_pence"] == document["ytd_plan_pence"] - document["ytd_actual_pence"]


def test_follow_up_ratio_and_consultant_referrals(workspace: Path) -> None:
    document = statement(workspace)
    (surgery,) = document["follow_up_ratios"]  # type: ignore[misc]
    assert (surgery["treatment_function"], surgery["firsts"], surgery["follow_ups"]) == ("100", 24, 60)
    assert surgery["ratio"] == pytest.approx(2.5)
    assert document["first_attendances"] == 24
    assert document["consultant_referral_share"] == pytest.approx(6 / 24)


def test_a_bad_contract_plan_stores_nothing(workspace: Path, tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "bad.csv", ["provider", "commissioner", "year", "point_of_delivery", "month",
                                           "activity", "value"],
                    [["RTH", "10Q", "2018/19", "elective", "M13", 1, "£1"], ["RTH", "XXX", "2018/19", "wards", "M01",
                                                                            -1, "abc"]])
    result = CliRunner().invoke(app, ["-w", str(workspace), "contracts", "import", str(bad), "--format", "json"])
    assert result.exit_code == 2
    problems = json.loads(result.stdout)["problems"]
    assert {(problem["row"], problem["column"]) for problem in problems} >= {
        (2, "month"), (3, "commissioner"), (3, "point_of_delivery"), (3, "activity"), (3, "value")}
    assert statement(workspace)["annual_plan_pence"] == 12 * 1_080_000_00 + 1_200_000_00


def test_price_command_counts_priced_and_unpriced_and_totals_the_pence(tmp_path: Path, reference_dir: Path) -> None:
    files = activity_files(tmp_path)
    result = CliRunner().invoke(app, ["price", "--activity", str(files["apc"]), "--kind", "apc", "--tariff", "2018/19",
                                      "--out", str(tmp_path / "priced.parquet"), "--reference-dir",
                                      str(reference_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["priced_units"], document["unpriced_units"]) == (13, 1)
    assert document["unpriced_by_reason"] == {"missing HRG": 1}
    assert document["price_pence"] == 13 * NEL_SPELL
    assert (document["excess_bed_days"], document["excess_price_pence"]) == (2, EXCESS_TWO_DAYS)
    records = pq.read_table(tmp_path / "priced.parquet").to_pylist()  # the totals are those of the records written
    priced = [row for row in records if row["unpriced_reason"] is None]
    assert document["priced_units"] == len(priced)
    assert document["price_pence"] == sum(row["price_pence"] for row in priced)
    assert document["excess_price_pence"] == sum(row["excess_price_pence"] for row in priced)
    narrow = CliRunner().invoke(app, ["price", "--activity", str(files["apc"]), "--kind", "apc", "--prices-only",
                                      "--out", str(tmp_path / "prices.parquet"), "--reference-dir",
                                      str(reference_dir), "--format", "json"])
    assert json.loads(narrow.stdout)["price_pence"] == document["price_pence"]
    extract = pq.read_table(tmp_path / "prices.parquet")
    assert extract.column_names == ["spell_id", "provider", "commissioner", *pricing.PRICE_COLUMNS]
    full = pq.read_table(tmp_path / "priced.parquet").select(extract.column_names)
    assert extract.sort_by("spell_id").equals(full.sort_by("spell_id"))  # the same prices, fewer columns


def test_price_command_refuses_a_bad_extract_and_writes_nothing(tmp_path: Path, reference_dir: Path) -> None:
    bad = write_csv(tmp_path / "bad.csv", ["spell_id", "provider", "commissioner", "practice", "patient_id",
                                           "admission_method", "hrg", "admission_date", "discharge_date",
                                           "length_of_stay", "treatment_function", "age"],
                    [["S1", "RTH", "10Q", "K84001", "p", "non_elective", "AA22C", "2018-05-03", "2018-05-01", -2,
                      "300", 70]])
    out = tmp_path / "priced.parquet"
    result = CliRunner().invoke(app, ["price", "--activity", str(bad), "--kind", "apc", "--out", str(out),
                                      "--reference-dir", str(reference_dir), "--format", "json"])
    assert result.exit_code == 2
    reasons = " ".join(problem["reason"] for problem in json.loads(result.stdout)["problems"])
    assert "discharge" in reasons
    assert not out.exists()


def test_statement_before_any_activity_is_loaded_shows_the_plan(tmp_path: Path, reference_dir: Path) -> None:
    runner = CliRunner()
    ws = tmp_path / "empty"
    organisations = write_csv(tmp_path / "orgs.csv", ["code", "name", "kind", "parent_code"], [
        ["10Q", "Oxfordshire", "ccg", ""], ["RTH", "Oxford University Hospitals", "provider", ""]])
    plan = write_csv(tmp_path / "plan.csv", ["provider", "commissioner", "year", "point_of_delivery", "month",
                                             "activity", "value"],
                     [["RTH", "10Q", "2018/19", "elective", f"M{m:02d}", 10, "£30,000"] for m in range(1, 13)])
    for command in (["init", str(ws), "--as-at", "2018-06", "--reference-dir", str(reference_dir)],
                    ["-w", str(ws), "orgs", "import", str(organisations)],
                    ["-w", str(ws), "contracts", "import", str(plan)]):
        assert runner.invoke(app, command).exit_code == 0
    document = statement(ws)
    (line,) = document["lines"]  # type: ignore[misc]
    # June is M03: three months of £30,000 planned, nothing yet delivered, so nothing forecast.
    assert (line["ytd_plan_pence"], line["ytd_actual_pence"], line["forecast_pence"]) == (90_000_00, 0, 0)


def test_statement_names_the_tariff_it_priced_with(workspace: Path) -> None:
    assert statement(workspace)["tariff_year"] == "2018/19"


def test_case_mix_drift_lists_small_cells_as_too_small_to_test(workspace: Path) -> None:
    document = statement(workspace)
    # Two non-elective spells a month at one HRG, and the long stay in June: 7 spells in the first quarter and 6 in
    # the last three months, below the default minimum of 30.
    [cell] = document["case_mix_drift"]  # type: ignore[misc]
    assert (cell["baseline_spells"], cell["current_spells"]) == (7, 6)
    assert (cell["status"], cell["result"], cell["z"], cell["p_value"]) == (
        "too_small",
        "too small to test",
        None,
        None,
    )
    assert not cell["significant_95"] and not cell["significant_998"]
    assert (document["case_mix_min_spells"], document["case_mix_adjustment"]) == (30, "holm")

    def cell_at(minimum: int) -> dict[str, object]:
        result = CliRunner().invoke(
            app,
            [
                "-w",
                str(workspace),
                "contracts",
                "statement",
                "--provider",
                "RTH",
                "--format",
                "json",
                "--min-spells",
                str(minimum),
            ],
        )
        assert result.exit_code == 0, result.output
        [[found]] = [doc["case_mix_drift"] for doc in json.loads(result.stdout)]
        return found  # type: ignore[no-any-return]

    assert cell_at(7)["status"] == "too_small"  # 6 spells in the last three months: one short
    # At a minimum of 6 the cell is big enough, but every spell is priced at the one HRG (the long stay's excess
    # bed days are a line of their own): no variation in either period, so no z and no flag.
    untestable = cell_at(6)
    assert (untestable["status"], untestable["result"]) == ("no_variation", "no variation to test")
    assert (untestable["z"], untestable["significant_998"]) == (None, False)


def test_a_minimum_cell_size_below_two_is_refused(workspace: Path) -> None:
    result = CliRunner().invoke(
        app, ["-w", str(workspace), "contracts", "statement", "--provider", "RTH", "--min-spells", "1"]
    )
    assert result.exit_code != 0
    assert "minimum spells for a case-mix test must be at least 2, not 1" in result.output
