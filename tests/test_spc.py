"""SPC ("Making Data Count"): XmR limits, screening, rebasing, the special-cause rules, assurance, against
NHSRplotthedots' published test figures and hand workings; the ``outturn spc`` command and its input checks."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.problems import ProblemsError
from outturn.services.statistics import read_series
from outturn.stats.spc import Assurance, SpcSegment, assurance, spc
from outturn.stats.spc_rules import (
    ImprovementDirection,
    PointType,
    SpecialCause,
    part_of_run,
    point_type,
    run_ends,
    trend_ends,
    two_of_three,
)

# R: set.seed(123); rnorm(20) — the series of nhs-r-community/NHSRplotthedots tests/testthat/test-ptd_spc_standard.R
RNORM_123 = [
    -0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774, 1.71506499, 0.46091621, -1.26506123,
    -0.68685285, -0.44566197, 1.22408180, 0.35981383, 0.40077145, 0.11068272, -0.55584113, 1.78691314,
    0.49785048, -1.96661716, 0.70135590, -0.47279141,
]  # fmt: skip
DAYS = [f"2020-01-{day:02d}" for day in range(2, 22)]
INCREASE, DECREASE, NEUTRAL = ImprovementDirection


def limits(segment: SpcSegment) -> tuple[float, float, float]:
    return segment.mean, segment.lower_process_limit, segment.upper_process_limit


# --- NHSRplotthedots' published figures --------------------------------------------------------------------------


def test_limits_match_nhsrplotthedots() -> None:
    # NHSRplotthedots tests/testthat/_snaps/ptd_spc_standard.md (r1): mean_col 0.1416238, lpl -3.01138, upl 3.294627
    result = spc(DAYS, RNORM_123)
    assert limits(result.segments[0]) == pytest.approx((0.1416238, -3.01138, 3.294627), abs=5e-7)
    # _snaps/ptd_spc.md summary: 20 points, all common cause
    assert all(point.point_type is PointType.COMMON_CAUSE for point in result.points)
    assert result.variation is PointType.COMMON_CAUSE and result.assurance is None


def test_moving_range_screening_matches_nhsrplotthedots() -> None:
    # _snaps/ptd_spc_standard.md r2 (y[15] <- 10, screened) and r3 (screen_outliers = FALSE)
    values = list(RNORM_123)
    values[14] = 10
    screened = spc(DAYS, values).segments[0]
    assert limits(screened) == pytest.approx((0.6694159, -2.383666, 3.722497), abs=5e-7)
    assert screened.moving_ranges_screened_out == 2  # the jump up to 10 and back down
    unscreened = spc(DAYS, values, screen_outliers=False).segments[0]
    assert limits(unscreened) == pytest.approx((0.6694159, -4.596625, 5.935457), abs=5e-7)


def test_rebasing_recalculates_each_segment() -> None:
    # _snaps/ptd_spc.md, the series split 10 and 10 (as facets): 0.0746 -2.60 2.75 and 0.209 -3.28 3.70
    result = spc(DAYS, RNORM_123, rebase_at=[10])
    first, second = result.segments
    assert (round(first.mean, 4), round(first.lower_process_limit, 2), round(first.upper_process_limit, 2)) == (
        0.0746,
        -2.60,
        2.75,
    )
    assert (round(second.mean, 3), round(second.lower_process_limit, 2), round(second.upper_process_limit, 2)) == (
        0.209,
        -3.28,
        3.70,
    )
    assert [point.segment for point in result.points] == [0] * 10 + [1] * 10
    assert (first.first_period, second.first_period) == (DAYS[0], DAYS[10])


def test_two_close_points_on_opposite_sides_are_common_cause() -> None:
    # NHSRplotthedots test-ptd_spc_standard.R: rep(c(1, -1), 8) with points 15 and 16 set to 5.5 and -5.5
    values = [1.0, -1.0] * 8
    values[14], values[15] = 5.5, -5.5
    result = spc([str(i) for i in range(16)], values)
    assert [point.point_type for point in result.points[-2:]] == [PointType.COMMON_CAUSE] * 2


def test_seven_on_one_side_ends_where_nhsrplotthedots_says() -> None:
    # NHSRplotthedots test-ptd_calculate_point_type.R: ptd_seven_point_one_side_mean
    assert run_ends(np.array([1] * 6)).tolist() == [False] * 6
    assert run_ends(np.array([1] * 6 + [-1])).tolist() == [False] * 7
    assert run_ends(np.array([1] * 8 + [-1])).astype(int).tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 0]
    assert run_ends(np.array([-1] * 8 + [1])).astype(int).tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 0]


def test_part_of_seven_matches_nhsrplotthedots() -> None:
    # ptd_part_of_seven_trend
    assert part_of_run(np.array([0] * 6)).tolist() == [False] * 6
    assert part_of_run(np.array([0] * 6 + [1, 0])).astype(int).tolist() == [1] * 7 + [0]
    assert part_of_run(np.array([0] * 7 + [1, 0])).astype(int).tolist() == [0] + [1] * 7 + [0]
    assert part_of_run(np.array([0] * 7 + [-1, 0])).astype(int).tolist() == [0] + [1] * 7 + [0]


def test_seven_point_trend_matches_nhsrplotthedots() -> None:
    # ptd_seven_point_trend
    def trend(values: list[int]) -> list[int]:
        return trend_ends(np.array(values, dtype=float)).tolist()

    assert trend(list(range(1, 7))) == [0] * 6
    assert trend([1, 2, 3, 3, 4, 5, 6]) == [0] * 7
    assert trend(list(range(1, 8))) == [0] * 6 + [1]
    assert trend([2, *range(1, 8), 3]) == [0] * 7 + [1, 0]
    assert trend(list(range(7, 0, -1))) == [0] * 6 + [-1]
    assert trend([2, *range(7, 0, -1), 3]) == [0] * 7 + [-1, 0]


def test_two_in_three_matches_nhsrplotthedots() -> None:
    # ptd_two_in_three and ptd_part_of_two_in_three
    def rule(close: list[int], side: list[int]) -> list[int]:
        return two_of_three(np.array(close, dtype=bool), np.array(side)).astype(int).tolist()

    same = [1] * 7
    assert rule([1, 0, 1], [1, 1, 1]) == rule([0, 1, 1], [1, 1, 1]) == rule([1, 1, 0], [1, 1, 1]) == [1, 1, 1]
    assert rule([0, 0, 1, 0, 1, 0, 0], same) == [0, 0, 1, 1, 1, 0, 0]
    assert rule([0, 0, 1, 1, 0, 0, 0], same) == [0, 1, 1, 1, 1, 0, 0]
    assert rule([1, 0, 1], [1, -1, 1]) == [0, 0, 0]
    assert rule([0, 0, 1, 0, 1, 0, 0], [1, -1, 1, -1, 1, -1, 1]) == [0] * 7
    flagged = two_of_three(np.array([1, 0, 0, 1, 1], dtype=bool), np.array([1] * 5)) & np.array([1, 0, 0, 1, 1], bool)
    assert flagged.astype(int).tolist() == [0, 0, 0, 1, 1]


@pytest.mark.parametrize(
    ("limits_", "direction", "expected"),
    [
        ([(1, 2, 3), (5, 6, 7), (1, 4, 5)], INCREASE, [Assurance.FAIL, Assurance.PASS, Assurance.HIT_AND_MISS]),
        ([(1, 2, 3), (5, 6, 7), (1, 4, 5)], DECREASE, [Assurance.PASS, Assurance.FAIL, Assurance.HIT_AND_MISS]),
        ([(1, 2, 3), (5, 6, 7), (1, 4, 5)], NEUTRAL, [None, None, None]),
    ],
)
def test_assurance_matches_nhsrplotthedots(
    limits_: list[tuple[float, float, float]], direction: ImprovementDirection, expected: list[Assurance | None]
) -> None:
    # NHSRplotthedots tests/testthat/test-ptd_calculate_assurance_type.R: lpl/mean/upl per facet, target 4
    segments = [SpcSegment("a", "b", 20, mean, 1.0, 0, lower, upper) for lower, mean, upper in limits_]
    assert [assurance(segment, 4.0, direction) for segment in segments] == expected
    assert assurance(segments[0], None, direction) is None


# --- hand workings -----------------------------------------------------------------------------------------------


def test_limits_by_hand_with_screening() -> None:
    values = [10.0, 12.0, 11.0, 13.0, 12.0, 40.0, 12.0, 11.0, 13.0, 12.0, 11.0, 12.0]
    mean = sum(values) / 12
    moving_ranges = [abs(b - a) for a, b in itertools.pairwise(values)]
    average = sum(moving_ranges) / 11
    kept = [r for r in moving_ranges if r < 3.267 * average]  # the 28 up to 40 and back down are left out
    assert len(kept) == 9
    segment = spc([str(i) for i in range(12)], values).segments[0]
    assert segment.mean == pytest.approx(mean)
    assert segment.mean_moving_range == pytest.approx(sum(kept) / 9)
    assert segment.upper_process_limit == pytest.approx(mean + 2.66 * sum(kept) / 9)


def test_fixing_limits_uses_the_first_points_of_each_segment() -> None:
    values = [5.0, 7.0, 6.0, 8.0, 20.0, 30.0, 40.0, 50.0]
    segment = spc([str(i) for i in range(8)], values, fix_after=4).segments[0]
    assert segment.mean == pytest.approx(6.5)
    assert segment.mean_moving_range == pytest.approx((2 + 1 + 2) / 3)


def test_a_rising_series_is_outside_the_limits_then_a_trend() -> None:
    # 1..12: mean 6.5, every moving range 1, limits 3.84 and 9.16; 4..9 are a trend of 7 or more
    result = spc([str(i) for i in range(12)], [float(v) for v in range(1, 13)])
    causes = [point.special_cause for point in result.points]
    assert (
        causes
        == [SpecialCause.BELOW_LOWER_LIMIT] * 3
        + [SpecialCause.TREND_INCREASING] * 6
        + [SpecialCause.ABOVE_UPPER_LIMIT] * 3
    )
    types = [point.point_type for point in result.points]
    assert types == [PointType.CONCERN] * 3 + [PointType.IMPROVEMENT] * 9
    decreasing = spc([str(i) for i in range(12)], [float(v) for v in range(1, 13)], improvement_direction=DECREASE)
    assert decreasing.variation is PointType.CONCERN


def test_a_run_of_seven_below_the_mean() -> None:
    values = [10.0, 11.0, 9.0, 10.5, 9.5, 10.0, 8.0, 8.5, 8.2, 8.8, 8.1, 8.6, 8.3, 10.2, 11.5, 12.0, 10.9, 11.4]
    result = spc([str(i) for i in range(len(values))], values, improvement_direction=DECREASE)
    mean = sum(values) / len(values)
    below = [v < mean for v in values]
    assert below[6:13] == [True] * 7
    assert [p.run_of_seven for p in result.points][6:13] == [True] * 7
    assert {p.special_cause for p in result.points[6:13]} == {SpecialCause.RUN_BELOW}
    assert {p.point_type for p in result.points[6:13]} == {PointType.IMPROVEMENT}


def test_neutral_measures_are_high_or_low() -> None:
    assert point_type(SpecialCause.RUN_ABOVE, NEUTRAL) is PointType.NEUTRAL_HIGH
    assert point_type(SpecialCause.TREND_DECREASING, NEUTRAL) is PointType.NEUTRAL_LOW
    assert point_type(SpecialCause.TWO_OF_THREE_ABOVE, DECREASE) is PointType.CONCERN
    assert point_type(None, INCREASE) is PointType.COMMON_CAUSE


def test_a_constant_series_keeps_its_limits_at_the_mean() -> None:
    result = spc([str(i) for i in range(5)], [3.0] * 5)
    assert limits(result.segments[0]) == (3.0, 3.0, 3.0)
    assert result.variation is PointType.COMMON_CAUSE


# --- the file and the command ------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "series.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def monthly(values: list[float], start_year: int = 2023) -> str:
    rows = [f"{start_year + (3 + i) // 12}-{(3 + i) % 12 + 1:02d},{v}" for i, v in enumerate(values)]
    return "Period,Value\n" + "\n".join(reversed(rows)) + "\n"  # newest first: the reader sorts


def test_spc_command_json(tmp_path: Path) -> None:
    path = write(tmp_path, monthly(RNORM_123))
    args = ["spc", "--input", str(path), "--format", "json", "--target", "-3.5", "--rebase", "2024-02"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [p["period"] for p in document["points"]][:2] == ["2023-04", "2023-05"]
    first, second = document["segments"]
    assert first["points"] == 10 and second["first_period"] == "2024-02"
    assert document["mean"] == pytest.approx(0.2086, abs=1e-4)  # the latest segment's
    assert document["assurance"] == "pass"  # increase is better; the target sits below the lower limit
    assert set(document["points"][0]) >= {"period", "value", "mean", "lower_process_limit", "special_cause"}
    assert any("fewer than 12" in warning for warning in document["warnings"])


def test_dates_and_months_are_periods_and_gaps_are_warned(tmp_path: Path) -> None:
    series = read_series(write(tmp_path, "period,value\n2024-01-15,1\n2024-01-01,2\n2023-12-31,3\n"))
    assert series.periods == ("2023-12-31", "2024-01-01", "2024-01-15")
    path = write(tmp_path, "period,value\n2024-01,1\n2024-02,2\n2024-05,3\n", "gappy.csv")
    result = CliRunner().invoke(app, ["spc", "--input", str(path), "--format", "json"])
    assert "skips 2 month(s): 2024-03, 2024-04" in " ".join(json.loads(result.stdout)["warnings"])


@pytest.mark.parametrize(
    ("text", "row", "column", "reason"),
    [
        ("month,value\n2024-01,1\n", 1, None, "missing column(s): period"),
        ("period,value\n2024-01,1\n2024-02,lots\n", 3, "value", "not a number"),
        ("period,value\n2024-01,1\n2024-13,2\n", 3, "period", "not a period"),
        ("period,value\n2024-01,1\n2024-01-01,2\n", 3, "period", "appears more than once"),
        ("period,value\n2024-01,1\n", None, None, "at least 2 points"),
    ],
)
def test_bad_input_names_file_row_column_and_reason(
    tmp_path: Path, text: str, row: int | None, column: str | None, reason: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ProblemsError) as raised:
        read_series(path)
    problem = raised.value.problems[0]
    assert (problem.source, problem.row, problem.column) == ("series.csv", row, column)
    assert reason in problem.reason
    result = CliRunner().invoke(app, ["spc", "--input", str(path), "--format", "json"])
    assert result.exit_code == 2


def test_a_rebase_outside_the_series_or_too_late_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, monthly([1.0, 2.0, 3.0, 4.0]))
    for rebase, message in (("2030-01", "no such period"), ("2023-07", "has 1 point(s)")):
        result = CliRunner().invoke(app, ["spc", "--input", str(path), "--rebase", rebase, "--format", "json"])
        assert result.exit_code == 2
        assert message in json.loads(result.stdout)["error"]


def test_a_workbook_with_date_cells_is_read(tmp_path: Path) -> None:
    from datetime import datetime

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Period", "Value"])
    for month, value in ((3, 12.5), (1, 10), (2, 11)):
        sheet.append([datetime(2024, month, 1), value])
    path = tmp_path / "series.xlsx"
    workbook.save(path)
    series = read_series(path)
    assert series.periods == ("2024-01-01", "2024-02-01", "2024-03-01")
    assert series.values == (10.0, 11.0, 12.5)
