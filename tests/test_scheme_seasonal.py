"""Evidenced savings against a seasonal baseline: each counted month against the same month a year earlier.

A hand-made, seasonal activity file: Oxfordshire's (10Q) non-elective admissions at Oxford University Hospitals
(RTH), 200 a month in summer and 300 in winter in 2017/18, 200 a summer month again in 2018, and 285 a month in
October and November 2018, the scheme's months (5% fewer than last winter). Against the summer's monthly average
the scheme reads as a cost; against the same months a year earlier it reads as the saving it is. Runs on SQLite and
PostgreSQL (``store_url``).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.activity import PointOfDelivery
from outturn.domain.errors import BadInput
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.problems import ProblemsError
from outturn.domain.savings import Scheme, SchemeStatus, Workstream
from outturn.domain.scheme_measures import (
    BaselineRule,
    MeasureSource,
    MonthTotals,
    SchemeMeasure,
    evidence,
    scheme_months,
)
from outturn.services import savings, scheme_evidence
from outturn.services.workspace import Workspace
from test_scheme_evidence import _months, _spells, scheme_workspace, write_rows

YEAR = FinancialYear(2018)
M08 = FinancialMonth(YEAR, 8)  # November 2018
SUMMER, WINTER, THIS_WINTER = 200, 300, 285
HEADER = ["scheme", "year", "source", "point_of_delivery", "provider", "commissioner", "baseline", "baseline_from",
          "baseline_to", "target_change", "unit_price"]  # fmt: skip
SAME_MONTHS = ["OX-WIN-01", "2018/19", "activity", "non_elective", "RTH", "10Q", "same-months-last-year", "", "",
               "-10%", "£1,000"]  # fmt: skip
SUMMER_AVERAGE = ["OX-WIN-01", "2018/19", "activity", "non_elective", "RTH", "10Q", "", "2018-04", "2018-09",
                  "-10%", "£1,000"]  # fmt: skip


def seasonal_rows() -> list[dict[str, str]]:
    """April 2017 - November 2018: 200 non-elective spells a summer month (April-September), 300 a winter month
    (October 2017 - March 2018), 285 in October and November 2018; decoys that must not count: elective spells and
    Buckinghamshire's (10Y) admissions, every month."""
    rows: list[dict[str, str]] = []
    every = _months(date(2017, 4, 1), 20)
    for month in every:
        winter = month.month >= 10 or month.month <= 3
        count = (THIS_WINTER if month.year == 2018 else WINTER) if winter else SUMMER
        rows += _spells(month, count, 0)
        rows += _spells(month, 13, 0, method="elective")
        rows += _spells(month, 17, 0, commissioner="10Y")
    return rows


def winter_scheme() -> Scheme:
    """A winter scheme from October (M07): £40k a month planned, £30k a month reported delivered."""
    return Scheme(
        "OX-WIN-01",
        "Non-elective admissions: winter frailty (Oxfordshire)",
        "10Q",
        YEAR,
        Workstream.NON_ELECTIVE,
        planned=(0,) * 6 + (40_000_00,) * 6,
        delivered=(None,) * 6 + (30_000_00,) * 2 + (None,) * 4,
        status=SchemeStatus.IN_DELIVERY,
        start_month=7,
    )


@pytest.fixture
def workspace(tmp_path: Path, store_url: str, reference_dir: Path) -> Workspace:
    return scheme_workspace(tmp_path, store_url, reference_dir, "2018-11", winter_scheme(), seasonal_rows())


def _evidenced(workspace: Workspace, tmp_path: Path, row: list[str]) -> tuple[int | None, int, int, str]:
    scheme_evidence.import_measures(workspace, write_rows(tmp_path / "m.csv", HEADER, [row]), "bob")
    scheme, _history = savings.show_scheme(workspace, YEAR, "OX-WIN-01")
    found = scheme_evidence.scheme_evidence(workspace, scheme, M08)
    assert found is not None and found.months == (201810, 201811)
    (part,) = found.components
    return found.evidenced_pence, part.baseline_units, part.target_pence, ",".join(map(str, found.baseline_months))


def test_the_summer_average_gives_the_wrong_sign_and_the_same_months_the_right_one(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Hand calculation, October-November 2018 counted (285 + 285 = 570 admissions), at £1,000 an admission:

    summer monthly average (April-September 2018): 1,200 / 6 = 200 a month; expected 200 x 2 = 400;
        evidenced (400 - 570) x £1,000 = -£170,000: a saving reads as a cost.
    same months last year (October, November 2017): expected 300 + 300 = 600;
        evidenced (600 - 570) x £1,000 = £30,000; target 10% x 600 = 60 x £1,000 = £60,000."""
    average = _evidenced(workspace, tmp_path, SUMMER_AVERAGE)
    assert average == (-170_000_00, 1_200, 40_000_00, "201804,201805,201806,201807,201808,201809")
    same = _evidenced(workspace, tmp_path, SAME_MONTHS)
    assert same == (30_000_00, 600, 60_000_00, "201710,201711")


def test_the_same_months_against_a_plain_python_count(workspace: Workspace, tmp_path: Path) -> None:
    """The service's counts equal a plain count of the file's rows in scope, by discharge month."""
    by_month = Counter(
        int(row["discharge_date"][:4] + row["discharge_date"][5:7])
        for row in seasonal_rows()
        if (row["provider"], row["commissioner"], row["admission_method"]) == ("RTH", "10Q", "non_elective")
    )
    scheme_evidence.import_measures(workspace, write_rows(tmp_path / "m.csv", HEADER, [SAME_MONTHS]), "bob")
    scheme, _history = savings.show_scheme(workspace, YEAR, "OX-WIN-01")
    found = scheme_evidence.scheme_evidence(workspace, scheme, M08)
    assert found is not None
    (part,) = found.components
    assert part.baseline_units == by_month[201710] + by_month[201711]
    assert part.current_units == by_month[201810] + by_month[201811]


def test_savings_show_names_the_rule(workspace: Workspace, tmp_path: Path) -> None:
    measures = write_rows(tmp_path / "m.csv", HEADER, [SAME_MONTHS])
    runner = CliRunner()
    imported = runner.invoke(app, ["-w", str(workspace.path), "savings", "import-measures", str(measures)])
    assert imported.exit_code == 0, imported.output
    shown = runner.invoke(app, ["-w", str(workspace.path), "savings", "show", "OX-WIN-01", "--format", "json"])
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.output)
    assert document["measure"]["baseline"] == "same-months-last-year"
    assert (
        document["measure"]["described"]
        == "non-elective spells, provider RTH, commissioner 10Q, against the same months last year"
    )
    assert (document["measure"]["baseline_from"], document["measure"]["baseline_to"]) == (None, None)
    assert document["evidence"]["method"] == "each month counted against the same month a year earlier"
    assert document["evidence"]["baseline_months"] == ["2017-10", "2017-11"]
    assert document["evidenced_pence"] == 30_000_00


def test_a_blank_baseline_without_months_is_the_same_months_and_months_with_it_are_a_problem(
    workspace: Workspace, tmp_path: Path
) -> None:
    blank = [*SAME_MONTHS[:6], "", "", "", *SAME_MONTHS[9:]]
    scheme_evidence.import_measures(workspace, write_rows(tmp_path / "m.csv", HEADER, [blank]), "bob")
    measure = scheme_evidence.scheme_measure(workspace, YEAR, "OX-WIN-01")
    assert measure is not None and measure.baseline_rule is BaselineRule.SAME_MONTHS
    both = [*SAME_MONTHS[:7], "2017-10", "2017-11", *SAME_MONTHS[9:]]
    unknown = [*SAME_MONTHS[:6], "last-winter", *SAME_MONTHS[7:]]
    with pytest.raises(ProblemsError) as raised:
        scheme_evidence.import_measures(workspace, write_rows(tmp_path / "bad.csv", HEADER, [both, unknown]), "bob")
    assert {(problem.row, problem.column) for problem in raised.value.problems} == {
        (2, "baseline_from"),
        (3, "baseline"),
    }
    kept = scheme_evidence.scheme_measure(workspace, YEAR, "OX-WIN-01")
    assert kept == measure  # nothing stored


def test_a_missing_month_last_year_evidences_nothing() -> None:
    """Pure rule: November 2017 not held, so nothing is evidenced (and it is named)."""
    measure = SchemeMeasure(
        "S", YEAR, MeasureSource.ACTIVITY, None, None, point_of_delivery=PointOfDelivery.NON_ELECTIVE,
        target_share=None, target_units=-120, unit_price_pence=1_000_00, baseline_rule=BaselineRule.SAME_MONTHS,
    )  # fmt: skip
    totals = {201710: MonthTotals(300), 201810: MonthTotals(285), 201811: MonthTotals(285)}
    counted = scheme_months(YEAR, 7, 8)
    partial = evidence(measure, totals, [201710, 201810, 201811], counted, 60_000_00, 80_000_00)
    assert partial.missing_baseline == (201711,) and partial.evidenced_pence is None
    whole = evidence(measure, totals | {201711: MonthTotals(300)}, [201710, 201711, 201810, 201811], counted, 0, 0)
    (part,) = whole.components
    # (600 - 570) x £1,000 = £30,000; a count target: 120 a year x 2 / 12 = 20 x £1,000 = £20,000
    assert (whole.evidenced_pence, part.target_pence) == (30_000_00, 20_000_00)
    with pytest.raises(BadInput):
        SchemeMeasure(
            "S", YEAR, MeasureSource.ACTIVITY, 201710, 201711, point_of_delivery=PointOfDelivery.NON_ELECTIVE,
            target_units=-120, baseline_rule=BaselineRule.SAME_MONTHS,
        )  # fmt: skip
