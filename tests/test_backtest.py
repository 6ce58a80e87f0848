"""The back-test of every forecast method, and the ``auto`` method chosen from it, on a hand-built ledger.

One sub-ICB (01A) with two categories, each one line, and two complete past years (2023/24, 2024/25) before the
current year (2025/26, actuals to M06). The same budget every year, in £:

    acute        M01-M06 100 a month, M07-M12 150 a month: annual 1,500, to M06 600
    prescribing  M01-M06  50 a month, M07-M12  70 a month: annual   720, to M06 300

Actuals, in £ (no one-offs):

    acute        2023/24  90 a month M01-M06, 120 M07-M12: outturn 1,260
                 2024/25 100 a month M01-M06, 130 M07-M12: outturn 1,380
                 2025/26 110 a month M01-M06
    prescribing  2023/24  50 M01-M06, 70 M07-M12: outturn 720
                 2024/25  55 M01-M06, 77 M07-M12: outturn 792
                 2025/26  55 M01-M06

2023/24 has no year before it held, so there seasonal falls back to the run rate and the exit rate is not
seasonally adjusted. A second sub-ICB (02B) holds only the current year, so ``auto`` has nothing to test on.
Every expected figure below is worked by hand from these tables, in comments beside it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.backtest import AUTO_FALLBACK, TOTAL, Backtest, BacktestRow, score_month, summarise
from outturn.domain.forecast import EXTRAPOLATIONS, ForecastMethod, LineFigures, LineForecast
from outturn.domain.ledger import CategoryLineKey, CostCategory
from outturn.domain.periods import FinancialYear
from outturn.engine.backends import Backend, memtable
from outturn.engine.ledger import LEDGER_SCHEMA, line_figures_by_month, line_figures_with_last_year
from outturn.reports.backtest import backtest_document
from outturn.reports.pack import PackInputs, build_board_pack
from outturn.reports.pack_html import render_html
from outturn.reports.position import position_document
from outturn.services import users
from outturn.services.backtest import complete_past_years
from outturn.services.imports import import_ledger, import_organisations, import_plans
from outturn.services.position import PositionError, compute_backtest, compute_position
from outturn.services.users import Role
from outturn.services.workspace import Workspace, init_workspace
from outturn.web import WebConfig, create_app
from web_helpers import sign_in

POUND = 100
AS_AT = "2025-09"  # M06 of 2025/26

ORGANISATIONS = """code,name,kind,parent_code
QXX,Test ICB,icb,
01A,North sub-ICB,sub_icb,QXX
02B,New sub-ICB,sub_icb,QXX
"""
PLANS = """org_code,year,item,amount,description
01A,2025/26,recurrent_allocation,£3000,
02B,2025/26,recurrent_allocation,£3000,
"""
BUDGETS = {"acute": [100] * 6 + [150] * 6, "prescribing": [50] * 6 + [70] * 6}
ACTUALS = {
    ("01A", 2023, "acute"): [90] * 6 + [120] * 6,
    ("01A", 2024, "acute"): [100] * 6 + [130] * 6,
    ("01A", 2025, "acute"): [110] * 6,
    ("01A", 2023, "prescribing"): [50] * 6 + [70] * 6,
    ("01A", 2024, "prescribing"): [55] * 6 + [77] * 6,
    ("01A", 2025, "prescribing"): [55] * 6,
    ("02B", 2025, "acute"): [110] * 6,
    ("02B", 2025, "prescribing"): [55] * 6,
}


def ledger_csv() -> str:
    lines = ["org_code,year,month,category,subcategory,budget,actual,one_off"]
    for (org, year, category), actuals in ACTUALS.items():
        for month in range(1, 13):
            actual = str(actuals[month - 1]) if month <= len(actuals) else ""
            lines.append(f"{org},{year},M{month:02d},{category},,{BUDGETS[category][month - 1]},{actual},")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("backtest")
    opened = init_workspace(root / "ws", reference_dir=root, default_org="01A", default_as_at=AS_AT)
    for name, text in (("orgs.csv", ORGANISATIONS), ("plans.csv", PLANS), ("ledger.csv", ledger_csv())):
        (root / name).write_text(text, encoding="utf-8")
    import_organisations(opened, root / "orgs.csv")
    import_plans(opened, root / "plans.csv")
    import_ledger(opened, root / "ledger.csv")
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def backtest(workspace: Workspace) -> Backtest:
    return compute_backtest(workspace, "01A", AS_AT)


def row(backtest: Backtest, category: str, method: str, year: int, month: int) -> BacktestRow:
    (found,) = [
        item
        for item in backtest.rows
        if (item.category, item.method, item.year.start_year, item.month) == (category, method, year, month)
    ]
    return found


# --- the rows, worked by hand ---------------------------------------------------------------------------------

# Acute at M06, in £. 2024/25: YTD 600 (6 x 100); outturn 1,380.
#   run-rate       600 x 12 / 6                                  = 1,200   error -180
#   seasonal       600 x last year's 1,260 / last year's YTD 540 = 1,400   error  +20
#   trend          a flat 100 a month has no slope: 600 + 6 x 100 = 1,200  error -180
#   budget-phased  600 + (1,500 - 600) x 600 / 600               = 1,500   error +120
#   exit-rate      M04-M06 = 300; last year's M04-M06 = 270 and M07-M12 = 1,260 - 540 = 720:
#                  600 + 300 x 720 / 270                         = 1,400   error  +20
# 2023/24: YTD 540 (6 x 90); outturn 1,260; no 2022/23 held.
#   run-rate, seasonal (falls back), trend (flat): 540 x 2 = 1,080 error -180
#   budget-phased  540 + 900 x 540 / 600 = 540 + 810             = 1,350   error  +90
#   exit-rate      unadjusted: 540 + (270 / 3) x 6               = 1,080   error -180
ACUTE_M06 = {
    (2024, "run-rate"): (1_200, 1_380),
    (2024, "seasonal"): (1_400, 1_380),
    (2024, "trend"): (1_200, 1_380),
    (2024, "budget-phased"): (1_500, 1_380),
    (2024, "exit-rate"): (1_400, 1_380),
    (2023, "run-rate"): (1_080, 1_260),
    (2023, "seasonal"): (1_080, 1_260),
    (2023, "trend"): (1_080, 1_260),
    (2023, "budget-phased"): (1_350, 1_260),
    (2023, "exit-rate"): (1_080, 1_260),
}
# Prescribing at M06, in £. 2024/25: YTD 330 (6 x 55), YTD budget 300; outturn 792.
#   run-rate, trend  330 x 2                               = 660   error -132
#   seasonal         330 x 720 / 300                       = 792   error    0
#   budget-phased    330 + (720 - 300) x 330 / 300 = 330 + 462 = 792 error 0
#   exit-rate        M04-M06 165; last year's 150 and 420: 330 + 165 x 420 / 150 = 792  error 0
# 2023/24: YTD 300 = YTD budget; outturn 720.
#   run-rate, seasonal, trend, exit-rate: 600               error -120
#   budget-phased    300 + 420                              = 720   error    0
PRESCRIBING_M06 = {
    (2024, "run-rate"): (660, 792),
    (2024, "seasonal"): (792, 792),
    (2024, "trend"): (660, 792),
    (2024, "budget-phased"): (792, 792),
    (2024, "exit-rate"): (792, 792),
    (2023, "run-rate"): (600, 720),
    (2023, "seasonal"): (600, 720),
    (2023, "trend"): (600, 720),
    (2023, "budget-phased"): (720, 720),
    (2023, "exit-rate"): (600, 720),
}


@pytest.mark.parametrize(("category", "expected"), [("acute", ACUTE_M06), ("prescribing", PRESCRIBING_M06)])
def test_each_method_at_m06_against_the_outturn(
    backtest: Backtest, category: str, expected: dict[tuple[int, str], tuple[int, int]]
) -> None:
    for (year, method), (forecast, actual) in expected.items():
        found = row(backtest, category, method, year, 6)
        assert (found.forecast_pence, found.actual_pence) == (forecast * POUND, actual * POUND), (year, method)
        assert found.error_pence == (forecast - actual) * POUND
        assert found.error_percent == Fraction(100 * (forecast - actual), actual)


def test_the_total_row_sums_the_categories(backtest: Backtest) -> None:
    # 2024/25 at M06, budget-phased: 1,500 + 792 = 2,292 against 1,380 + 792 = 2,172; error +120, 120/2,172
    total = row(backtest, TOTAL, "budget-phased", 2024, 6)
    assert (total.forecast_pence, total.actual_pence, total.error_pence) == (229_200, 217_200, 12_000)
    assert total.error_percent == Fraction(12_000, 2_172)


def test_trend_with_a_slope(backtest: Backtest) -> None:
    # Acute 2024/25 at M08: 100 x 6, 130, 130; YTD 860. Least squares through months 1..8: mean x 4.5, mean y
    # 107.5; Sxy = -7.5 x (-6) + 22.5 x (2.5 + 3.5) = 180, Sxx = 42, slope 30/7. Months 9..12 sum to
    # 4 x 107.5 + 30/7 x (4.5 + 5.5 + 6.5 + 7.5) = 430 + 720/7. Forecast 1,290 + 720/7 = £1,392.857..., so
    # 139,286p; error 139,286 - 138,000 = +1,286p.
    found = row(backtest, "acute", "trend", 2024, 8)
    assert (found.forecast_pence, found.error_pence) == (139_286, 1_286)


def test_every_year_month_method_and_category_is_scored(backtest: Backtest) -> None:
    assert [year.label for year in backtest.years] == ["2023/24", "2024/25"]
    # 2 years x 11 months x 5 methods x (2 categories + the total)
    assert len(backtest.rows) == 2 * 11 * len(EXTRAPOLATIONS) * 3
    assert {item.month for item in backtest.rows} == set(range(1, 12))


def test_only_data_known_at_the_month_is_used(backtest: Backtest) -> None:
    """Acute at M01 of 2024/25 by run rate: 100 x 12 = 1,200 whatever the later months hold; the outturn is
    1,380, so the error is -180."""
    found = row(backtest, "acute", "run-rate", 2024, 1)
    assert (found.forecast_pence, found.error_pence) == (120_000, -18_000)


LEDGER_ROWS: list[dict[str, Any]] = [
    {
        "org_code": org,
        "year": year,
        "month": month,
        "category": category,
        "subcategory": "",
        "budget_pence": BUDGETS[category][month - 1] * POUND,
        "actual_pence": actuals[month - 1] * POUND + (7 if month % 4 == 0 else 0) if month <= len(actuals) else None,
        "one_off_pence": 500 if (month, category) == (3, "acute") else 0,
    }
    for (org, year, category), actuals in ACTUALS.items()
    for month in range(1, 13)
]


def test_the_one_query_matches_the_position_reduction_month_by_month() -> None:
    """``line_figures_by_month`` gives, for each year and month, exactly what ``line_figures_with_last_year``
    (the position's reduction, tested against plain SQL in test_engine_ledger) gives at that month."""
    backend = Backend()
    try:
        ledger = memtable(LEDGER_ROWS, LEDGER_SCHEMA)
        stacked = backend.to_rows(line_figures_by_month(ledger, years=[2024, 2025], months=range(1, 13)))
        for year in (2024, 2025):
            for month in range(1, 13):
                expected = backend.to_rows(line_figures_with_last_year(ledger, year=year, as_at_month=month))
                found = [
                    {key: value for key, value in item.items() if key not in ("year", "as_at_month")}
                    for item in stacked
                    if (item["year"], item["as_at_month"]) == (year, month)
                ]
                assert found == expected, (year, month)
    finally:
        backend.close()


def test_later_months_do_not_reach_an_earlier_forecast() -> None:
    """Changing 2024/25's actuals from M07 on changes no line figure at M01-M06 of that year."""
    changed = [
        {**item, "actual_pence": 1} if (item["year"], item["month"] > 6) == (2024, True) else item
        for item in LEDGER_ROWS
    ]
    backend = Backend()
    try:
        before, after = (
            backend.to_rows(line_figures_by_month(memtable(rows, LEDGER_SCHEMA), years=[2024], months=range(1, 7)))
            for rows in (LEDGER_ROWS, changed)
        )
        assert before == after
    finally:
        backend.close()


# --- MAPE and bias --------------------------------------------------------------------------------------------


def summary(backtest: Backtest, category: str, method: str, month: int | None) -> tuple[Fraction, Fraction]:
    source = backtest.by_month if month is not None else backtest.summary
    (found,) = [item for item in source if (item.category, item.method, item.month) == (category, method, month)]
    assert found.mape_percent is not None and found.bias_percent is not None
    return found.mape_percent, found.bias_percent


def test_mape_and_bias_by_month(backtest: Backtest) -> None:
    # Acute at M06 over the two years, percent of the outturn:
    #   run-rate       -180/1,380 = -300/23, -180/1,260 = -100/7: MAPE (300/23 + 100/7) / 2 = 2,200/161; bias -2,200/161
    #   seasonal       +20/1,380 = 100/69, -100/7: MAPE (100/69 + 100/7) / 2 = 3,800/483; bias (100/69 - 100/7) / 2
    #   budget-phased  +120/1,380 = 200/23, +90/1,260 = 50/7: MAPE = bias = 1,275/161
    assert summary(backtest, "acute", "run-rate", 6) == (Fraction(2200, 161), Fraction(-2200, 161))
    assert summary(backtest, "acute", "seasonal", 6) == (
        Fraction(3800, 483),
        (Fraction(100, 69) - Fraction(100, 7)) / 2,
    )
    assert summary(backtest, "acute", "exit-rate", 6) == summary(backtest, "acute", "seasonal", 6)
    assert summary(backtest, "acute", "budget-phased", 6) == (Fraction(1275, 161), Fraction(1275, 161))
    # Prescribing budget-phased is exact both years; seasonal -120/720 = -50/3 in 2023/24 only: MAPE 25/3
    assert summary(backtest, "prescribing", "budget-phased", 6) == (Fraction(0), Fraction(0))
    assert summary(backtest, "prescribing", "seasonal", 6) == (Fraction(25, 3), Fraction(-25, 3))


def test_summary_over_every_month_is_the_mean_of_the_rows(backtest: Backtest) -> None:
    for method in EXTRAPOLATIONS:
        errors = [
            Fraction(100 * (item.forecast_pence - item.actual_pence), item.actual_pence)
            for item in backtest.rows
            if item.category == TOTAL and item.method == method.value
        ]
        assert len(errors) == 22
        mape, bias = summary(backtest, TOTAL, method.value, None)
        assert mape == sum(abs(error) for error in errors) / 22
        assert bias == sum(errors) / 22


# --- auto -----------------------------------------------------------------------------------------------------


def test_auto_takes_the_smallest_error_at_the_as_at_month(workspace: Workspace) -> None:
    """At M06: acute's smallest MAPE is 3,800/483 (7.87%), shared by seasonal and exit-rate; the tie goes to
    seasonal, earlier in AUTO_ORDER (budget-phased's 7.92% is larger). Prescribing: budget-phased, 0%.

    The forecasts: acute seasonal, 2025/26 YTD 660 x 2024/25's 1,380 / 600 = £1,518; prescribing
    budget-phased, 330 + 420 x 330 / 300 = £792."""
    position = compute_position(workspace, "01A", AS_AT)  # the workspace's default method: auto
    assert position.method == "auto"
    by_category = {row.category: row for row in position.by_category}
    assert by_category[CostCategory.ACUTE].methods == ("seasonal",)
    assert by_category[CostCategory.ACUTE].forecast_outturn_pence == 1_518 * POUND
    assert by_category[CostCategory.PRESCRIBING].methods == ("budget-phased",)
    assert by_category[CostCategory.PRESCRIBING].forecast_outturn_pence == 792 * POUND
    choices = {item.category: item for item in position.auto_choices}
    assert choices[CostCategory.ACUTE].mape_percent == Fraction(3800, 483)
    assert choices[CostCategory.PRESCRIBING].mape_percent == 0
    document = position_document(position)
    assert [(item["category"], item["method"], item["mape_percent"]) for item in document["auto_choices"]] == [
        ("acute", "seasonal", 7.87),
        ("prescribing", "budget-phased", 0.0),
    ]


def test_auto_falls_back_to_budget_phased_with_no_past_year(workspace: Workspace) -> None:
    """02B holds only this year: every category by budget-phased (acute 660 + 900 x 660 / 600 = £1,650)."""
    assert AUTO_FALLBACK is ForecastMethod.BUDGET_PHASED
    position = compute_position(workspace, "02B", AS_AT, "auto")
    assert {row.methods for row in position.by_category} == {("budget-phased",)}
    acute = next(row for row in position.by_category if row.category is CostCategory.ACUTE)
    assert acute.forecast_outturn_pence == 1_650 * POUND
    assert all(item.mape_percent is None for item in position.auto_choices)
    assert compute_backtest(workspace, "02B", AS_AT).rows == ()


def test_auto_chooses_for_each_member_so_a_group_is_the_sum_of_its_members(workspace: Workspace) -> None:
    """QXX sums 01A and 02B. auto chooses from each member's own back-test: 01A's acute by seasonal (£1,518, above),
    02B's by budget-phased (no past year: £1,650); prescribing budget-phased in both (£792 for 01A; 02B: 330 + 420 x
    330 / 300 = £792). So QXX's acute is £3,168 and its total the sum of its members' (a back-test pooled over the
    group would have forecast 02B's acute by seasonal too)."""
    group = compute_position(workspace, "QXX", AS_AT, "auto")
    members = [compute_position(workspace, code, AS_AT, "auto") for code in ("01A", "02B")]
    assert group.forecast_outturn_pence == sum(member.forecast_outturn_pence for member in members)
    assert group.forecast_outturn_pence == (1_518 + 792 + 1_650 + 792) * POUND
    acute = next(row for row in group.by_category if row.category is CostCategory.ACUTE)
    assert (acute.method, acute.forecast_outturn_pence) == ("mixed", (1_518 + 1_650) * POUND)
    chosen = {(item.org_code, item.category.value): item.method.value for item in group.auto_choices}
    assert chosen == {
        ("01A", "acute"): "seasonal",
        ("01A", "prescribing"): "budget-phased",
        ("02B", "acute"): "budget-phased",
        ("02B", "prescribing"): "budget-phased",
    }
    document = backtest_document(compute_backtest(workspace, "QXX", AS_AT))
    assert {(item["org_code"], item["category"], item["method"]) for item in document["auto"]} == {
        (org, category, method) for (org, category), method in chosen.items()
    }


def test_a_named_method_is_not_auto(workspace: Workspace) -> None:
    position = compute_position(workspace, "01A", AS_AT, "run-rate")
    assert position.method == "run-rate"
    assert position.auto_choices == ()
    assert position_document(position)["auto_choices"] == []


def test_complete_past_years_need_all_twelve_months() -> None:
    held = {(2022, month) for month in range(1, 12)} | {(2023, month) for month in range(1, 13)} | {(2025, 1)}
    assert complete_past_years(held, FinancialYear(2025)) == (FinancialYear(2023),)
    assert complete_past_years(held, FinancialYear(2023)) == ()


def test_an_unknown_organisation_is_refused(workspace: Workspace) -> None:
    with pytest.raises(PositionError, match="unknown organisation 'NOPE'"):
        compute_backtest(workspace, "NOPE", AS_AT)


# --- the JSON and the command ---------------------------------------------------------------------------------


def test_json_shape(backtest: Backtest) -> None:
    document = backtest_document(backtest)
    assert document["years"] == ["2023/24", "2024/25"]
    assert document["month"] == document["auto_month"] == "M06"
    assert "forecast less actual" in document["error_sign"]
    first: dict[str, Any] = next(
        item
        for item in document["rows"]
        if (item["category"], item["method"], item["year"], item["month"]) == ("acute", "seasonal", "2024/25", "M06")
    )
    # +20 of 1,380 = 1.449...%
    assert first == {
        "category": "acute",
        "method": "seasonal",
        "year": "2024/25",
        "month": "M06",
        "forecast_pence": 140_000,
        "actual_pence": 138_000,
        "error_pence": 2_000,
        "error_percent": 1.45,
    }
    assert {item["method"] for item in document["summary"]} == {method.value for method in EXTRAPOLATIONS}
    assert {item["category"] for item in document["summary"]} == {TOTAL}
    assert {(item["category"], item["method"]) for item in document["summary_by_category"]} == {
        (category, method.value) for category in ("acute", "prescribing") for method in EXTRAPOLATIONS
    }
    assert set(document["summary"][0]) == {
        "category",
        "label",
        "method",
        "observations",
        "mape_percent",
        "bias_percent",
    }
    assert len(document["by_month"]) == 3 * len(EXTRAPOLATIONS) * 11
    assert [(item["category"], item["method"]) for item in document["auto"]] == [
        ("acute", "seasonal"),
        ("prescribing", "budget-phased"),
    ]
    json.dumps(document)  # plain JSON types throughout


def test_backtest_command(workspace: Workspace) -> None:
    runner = CliRunner()
    base = ["-w", str(workspace.settings.workspace), "forecast", "backtest"]
    result = runner.invoke(app, [*base, "--org", "01A", "--as-at", AS_AT, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == backtest_document(compute_backtest(workspace, "01A", AS_AT))
    table = runner.invoke(app, base)  # the workspace's default organisation and month
    assert table.exit_code == 0, table.output
    assert "M06 (as at)" in table.output
    assert "[" not in table.output  # no console markup in the text
    empty = runner.invoke(app, [*base, "--org", "02B"])
    assert empty.exit_code == 0 and "nothing to back-test" in empty.output
    unknown = runner.invoke(app, [*base, "--org", "NOPE", "--format", "json"])
    assert unknown.exit_code == 2
    assert "unknown organisation" in json.loads(unknown.stdout)["error"]


# --- the chart in the pack and on the web page ----------------------------------------------------------------


def _between(html: str, marker: str, end: str) -> str:
    start = html.index(marker)
    return html[start : html.index(end, start)]


def test_the_pack_shows_auto_choices_and_the_chart(workspace: Workspace, backtest: Backtest) -> None:
    inputs = PackInputs(
        position=compute_position(workspace, "01A", AS_AT),
        backtest=backtest,
        notes=["SYNTHETIC data throughout"],
    )
    html = render_html(build_board_pack(inputs))
    assert "forecast by each line&#39;s best back-tested method" in html and "forecast by auto" not in html  # the cover
    choices = _between(html, "Each category's best back-tested forecast method", "</table>")
    assert '<td>Acute</td><td>seasonal</td><td class="num">7.9%</td>' in choices  # 3,800/483 = 7.87%
    assert '<td>Prescribing</td><td>budget-phased</td><td class="num">0.0%</td>' in choices
    chart = _between(html, 'id="backtest-chart"', "</svg>")
    assert all(method.value in chart for method in EXTRAPOLATIONS)
    assert "as at M06" in chart and "SYNTHETIC data" in chart and "2023/24, 2024/25" in chart


def test_the_pack_says_when_nothing_could_be_back_tested(workspace: Workspace) -> None:
    inputs = PackInputs(
        position=compute_position(workspace, "02B", AS_AT, "auto"),
        backtest=compute_backtest(workspace, "02B", AS_AT),
    )
    html = render_html(build_board_pack(inputs))
    assert 'id="backtest-chart"' not in html
    assert "no method could be back-tested" in html and "budget-phased" in html


def test_the_web_position_page_and_api(workspace: Workspace) -> None:
    users.add_user(workspace, "bob", "board-password-1", Role.BOARD)
    app = create_app(workspace.settings, WebConfig(stamp_seconds=0.0))
    with TestClient(app) as client:
        sign_in(client, "bob", "board-password-1")
        api = client.get("/api/forecast/backtest", params={"org": "01A", "as_at": AS_AT})
        assert api.status_code == 200
        assert api.json() == backtest_document(compute_backtest(workspace, "01A", AS_AT))
        assert client.get("/api/forecast/backtest", params={"org": "NOPE"}).status_code == 400
        position = client.get("/api/position").json()
        assert [(item["category"], item["method"]) for item in position["auto_choices"]] == [
            ("acute", "seasonal"),
            ("prescribing", "budget-phased"),
        ]
        html = client.get("/position").text
        choices = _between(html, 'id="method-choices"', "</table>")
        assert "<td>Acute</td><td>seasonal</td>" in choices and "<td>Prescribing</td><td>budget-phased</td>" in choices
        chart = _between(html, 'id="backtest-chart"', "</figure>")
        assert "<svg" in chart and 'href="http' not in chart
        assert all(method.value in chart for method in EXTRAPOLATIONS) and "as at M06" in chart
        assert "SYNTHETIC" not in chart  # this workspace's data are not labelled synthetic


# --- properties -----------------------------------------------------------------------------------------------

PROPERTY = settings(max_examples=60, deadline=None)
LINES = st.lists(
    st.tuples(
        st.sampled_from(list(CostCategory)),
        st.integers(-(10**9), 10**9),  # forecast
        st.integers(-(10**9), 10**9),  # actual outturn
    ),
    min_size=1,
    max_size=12,
)


def _line_forecasts(
    lines: list[tuple[CostCategory, int, int]],
) -> tuple[list[LineForecast], dict[CategoryLineKey, int]]:
    forecasts, outturn = [], {}
    for index, (category, forecast, actual) in enumerate(lines):
        figures = LineFigures("01A", category, f"line {index}", 0, 0, 0, 0, 0, 0, 0)
        forecasts.append(LineForecast(figures, "run-rate", forecast))
        outturn[("01A", category, f"line {index}")] = actual
    return forecasts, outturn


@PROPERTY
@given(LINES)
def test_categories_and_the_total_sum_the_lines_to_the_penny(lines: list[tuple[CostCategory, int, int]]) -> None:
    forecasts, outturn = _line_forecasts(lines)
    rows = score_month(FinancialYear(2024), 3, "run-rate", forecasts, outturn)
    *categories, total = rows
    assert total.category == TOTAL
    assert total.forecast_pence == sum(forecast for _category, forecast, _actual in lines)
    assert total.actual_pence == sum(actual for _category, _forecast, actual in lines)
    for row in categories:
        chosen = [(forecast, actual) for category, forecast, actual in lines if category.value == row.category]
        assert (row.forecast_pence, row.actual_pence) == tuple(map(sum, zip(*chosen, strict=True)))
    assert sum(row.error_pence for row in categories) == total.error_pence


@PROPERTY
@given(st.lists(st.tuples(st.integers(-(10**6), 10**6), st.integers(-(10**6), 10**6)), min_size=1, max_size=11))
def test_mape_and_bias_are_the_means_of_the_percentage_errors(pairs: list[tuple[int, int]]) -> None:
    rows = [
        BacktestRow(TOTAL, "trend", FinancialYear(2020 + index), 5, forecast, actual)
        for index, (forecast, actual) in enumerate(pairs)
    ]
    (found,) = summarise(rows, by_month=True)
    scored = [Fraction(100 * (forecast - actual), abs(actual)) for forecast, actual in pairs if actual != 0]
    assert found.observations == len(scored)
    if scored:
        assert found.mape_percent == sum(abs(value) for value in scored) / len(scored)
        assert found.bias_percent == sum(scored) / len(scored)
    else:
        assert found.mape_percent is None and found.bias_percent is None
