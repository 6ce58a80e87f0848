"""The monthly position through a real workspace: imports, the engine's reduction, forecasts, plans, risks.

Expected figures come from the ledger as this module generates it (before it is written to CSV) and a plain
Python oracle written here: run rate, seasonal profile and a mean-centred least-squares trend, each rounded
once per line, half away from zero; plus hand-worked figures for one-offs and missing months.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from outturn.cli import app
from outturn.cli._common import failure_message
from outturn.domain.ledger import CostCategory
from outturn.domain.periods import FinancialYear
from outturn.domain.plans import ForecastOverride
from outturn.domain.position import Position
from outturn.reports.position import position_document
from outturn.services.forecasts import clear_override, set_override
from outturn.services.imports import import_ledger, import_organisations, import_plans, import_risks
from outturn.services.position import PositionError, compute_position
from outturn.services.workspace import Workspace, init_workspace

YEAR = 2025
AS_AT = "2025-11"  # M08 of 2025/26
MONTHS_TO_DATE = 8
POUND = 100
MILLION = 1_000_000 * POUND
METHODS = ("run-rate", "seasonal", "trend", "budget-phased", "exit-rate")

ORGANISATIONS = """code,name,kind,parent_code
QXX,Test ICB,icb,
01A,North sub-ICB,sub_icb,QXX
02B,South sub-ICB,sub_icb,QXX
QYY,Second ICB,icb,
05E,One-off sub-ICB,sub_icb,QYY
06F,Override sub-ICB,sub_icb,QYY
QZZ,Unplanned ICB,icb,
09N,Unplanned sub-ICB,sub_icb,QZZ
"""

PLANS = """org_code,year,item,amount,description
01A,2025/26,recurrent_allocation,£600m,
01A,2025/26,non_recurrent_allocation,"£12,500,000.50",
01A,2025/26,brought_forward_deficit,£4m,
01A,2025/26,deduction,1.5m,Acute trusts' deficits
01A,2025/26,required_surplus,1%,
01A,2025/26,control_total,(17m),
01A,2024/25,recurrent_allocation,£580m,
02B,2025/26,recurrent_allocation,"£450,000,000.33",
02B,2025/26,required_surplus,1%,
05E,2025/26,recurrent_allocation,£10m,
06F,2025/26,recurrent_allocation,£10m,
"""

PLAN_FIGURES: dict[str, dict[str, Any]] = {
    "01A": {
        "recurrent": 600 * MILLION,
        "non_recurrent": 1_250_000_050,
        "deductions": 4 * MILLION + 150_000_000,
        "control_total": -17 * MILLION,
    },
    "02B": {
        "recurrent": 45_000_000_033,
        "non_recurrent": 0,
        "deductions": 0,
        "control_total": None,  # the 1% required surplus, worked out below
    },
}

RISKS = """org_code,year,kind,description,value,likelihood,category
01A,2025/26,risk,CHC price pressures,"2,000,000.01",50%,continuing_healthcare
01A,2025/26,mitigation,Medicines optimisation,£1m,75%,prescribing
02B,2025/26,risk,Acute over-performance,£3m,0.4,acute
02B,2025/26,mitigation,Estates disposal,£333.33,50%,
"""

# (value pence, likelihood, risk?) for the oracle
RISK_FIGURES: dict[str, list[tuple[int, Fraction, bool]]] = {
    "01A": [(200_000_001, Fraction(1, 2), True), (MILLION, Fraction(3, 4), False)],
    "02B": [(3 * MILLION, Fraction(2, 5), True), (33_333, Fraction(1, 2), False)],
}

# (org, category, subcategory, has last year)
MAIN_LINES = (
    ("01A", "acute", "Trust A", True),
    ("01A", "acute", "Trust B", True),
    ("01A", "prescribing", "", True),
    ("01A", "continuing_healthcare", "", True),
    ("01A", "mental_health", "MH Trust", True),
    ("02B", "acute", "Trust A", True),
    ("02B", "prescribing", "", True),
    ("02B", "community", "Community Trust", True),
    ("02B", "community", "New Service", False),  # started this year: seasonal falls back to run rate
)
SEASON = (0.0, 0.01, -0.02, 0.03, 0.015, -0.01, 0.0, 0.02, 0.05, 0.04, -0.03, 0.06)


# --- the ledger as this module generates it -------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    org_code: str
    category: str
    subcategory: str
    budgets: tuple[int, ...]  # months 1..12 of this year
    actuals: tuple[int | None, ...]
    one_offs: tuple[int, ...]
    last_year_actuals: tuple[int | None, ...] | None = None
    last_year_one_offs: tuple[int, ...] | None = None


Months = tuple[tuple[int | None, ...], tuple[int, ...]]  # actuals (None: not reported) and one-offs, M01..M12


def _months(rng: random.Random, base: int, growth: float, reported: int) -> Months:
    actuals: list[int | None] = []
    one_offs: list[int] = []
    for month in range(1, 13):
        if month > reported:
            actuals.append(None)
            one_offs.append(0)
            continue
        one_off = rng.choice([0, 0, 0, 0, rng.randint(-5_000_000, 25_000_000)])
        recurring = int(base * (1 + growth * month + SEASON[month - 1])) + rng.randint(-99_999, 99_999)
        actuals.append(recurring + one_off)
        one_offs.append(one_off)
    return tuple(actuals), tuple(one_offs)


def main_ledger() -> list[Line]:
    rng = random.Random(20251)
    lines = []
    for org_code, category, subcategory, has_last_year in MAIN_LINES:
        base = rng.randint(50 * MILLION // 100, 20 * MILLION)
        budgets = tuple(base + rng.randint(-500_000, 500_000) for _ in range(12))
        actuals, one_offs = _months(rng, base, rng.uniform(-0.01, 0.02), MONTHS_TO_DATE)
        last_year: Months | tuple[None, None] = (None, None)
        if has_last_year:
            last_year = _months(rng, int(base * 0.95), rng.uniform(-0.01, 0.01), 12)
        lines.append(Line(org_code, category, subcategory, budgets, actuals, one_offs, *last_year))
    return lines


def hand_worked_lines() -> list[Line]:
    """05E: £100k a month to M08 on acute, M03 holding a £50k one-off; prescribing £40k, M05 and M06 missing.
    06F: two lines for overrides."""
    acute_actuals = [100_000 * POUND] * 8
    acute_actuals[2] += 50_000 * POUND
    acute_one_offs = [0] * 12
    acute_one_offs[2] = 50_000 * POUND
    prescribing = [40_000 * POUND] * 4 + [None, None] + [40_000 * POUND] * 2
    flat = (120_000 * POUND,) * 12
    return [
        Line("05E", "acute", "Trust X", flat, (*acute_actuals, *[None] * 4), tuple(acute_one_offs)),
        Line("05E", "prescribing", "", flat, (*prescribing, *[None] * 4), (0,) * 12),
        Line("06F", "acute", "Trust Y", flat, (*[90_000 * POUND] * 8, *[None] * 4), (0,) * 12),
        Line("06F", "acute", "Trust Z", flat, (*[60_000 * POUND] * 8, *[None] * 4), (0,) * 12),
    ]


def pence_text(pence: int) -> str:
    sign = "-" if pence < 0 else ""
    return f"{sign}{abs(pence) // 100}.{abs(pence) % 100:02d}"


def write_ledger(path: Path, lines: Sequence[Line]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["org_code", "year", "month", "category", "subcategory", "budget", "actual", "one_off"])
        for line in lines:
            years = [(YEAR, line.budgets, line.actuals, line.one_offs)]
            if line.last_year_actuals is not None and line.last_year_one_offs is not None:
                years.append((YEAR - 1, line.budgets, line.last_year_actuals, line.last_year_one_offs))
            for year, budgets, actuals, one_offs in years:
                for month in range(1, 13):
                    actual = actuals[month - 1]
                    writer.writerow(
                        [
                            line.org_code,
                            year,
                            f"M{month:02d}",
                            line.category,
                            line.subcategory,
                            pence_text(budgets[month - 1]),
                            "" if actual is None else pence_text(actual),
                            pence_text(one_offs[month - 1]) if one_offs[month - 1] else "",
                        ]
                    )


def build_workspace(root: Path, lines: Sequence[Line]) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    workspace = init_workspace(root / "ws", reference_dir=root)
    for name, text in (("orgs.csv", ORGANISATIONS), ("plans.csv", PLANS), ("risks.csv", RISKS)):
        (root / name).write_text(text, encoding="utf-8")
    write_ledger(root / "ledger.csv", lines)
    import_organisations(workspace, root / "orgs.csv")
    import_plans(workspace, root / "plans.csv")
    import_ledger(workspace, root / "ledger.csv")
    import_risks(workspace, root / "risks.csv")
    return workspace


@pytest.fixture(scope="module")
def lines() -> list[Line]:
    return main_ledger() + hand_worked_lines()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, lines: list[Line]) -> Iterator[Workspace]:
    opened = build_workspace(tmp_path_factory.mktemp("position"), lines)
    yield opened
    opened.close()


# --- the oracle -----------------------------------------------------------------------------------------------


def round_half_away(value: Fraction) -> int:
    magnitude = int(abs(value) + Fraction(1, 2))  # floor of |x| + ½
    return magnitude if value >= 0 else -magnitude


def least_squares_rest(monthly: Sequence[int]) -> Fraction:
    """The mean-centred least-squares line through (month, value), summed over the months after the last."""
    n = len(monthly)
    months = range(1, n + 1)
    mean_x = Fraction(sum(months), n)
    mean_y = Fraction(sum(monthly), n)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(months, monthly, strict=True)) / sum(
        (x - mean_x) ** 2 for x in months
    )
    return Fraction(sum((mean_y + slope * (x - mean_x) for x in range(n + 1, 13)), Fraction(0)))


def expected_forecast(line: Line, method: str, n: int = MONTHS_TO_DATE) -> int:
    recurring = [(line.actuals[m] or 0) - line.one_offs[m] for m in range(n)]
    one_offs = sum(line.one_offs[:n])
    ytd = sum(recurring)
    if method == "seasonal" and line.last_year_actuals is not None and line.last_year_one_offs is not None:
        last_year = [(a or 0) - o for a, o in zip(line.last_year_actuals, line.last_year_one_offs, strict=True)]
        return round_half_away(Fraction(ytd * sum(last_year), sum(last_year[:n]))) + one_offs
    if method == "trend" and n > 1:
        return round_half_away(ytd + least_squares_rest(recurring)) + one_offs
    if method == "budget-phased" and sum(line.budgets[:n]):
        # the rest of the year's budget at this year's recurring actual ÷ budget to date
        rest = Fraction(sum(line.budgets[n:]) * ytd, sum(line.budgets[:n]))
        return round_half_away(ytd + rest) + one_offs
    if method == "exit-rate":
        window = range(max(0, n - 3), n)
        exit_average = Fraction(sum(recurring[m] for m in window), len(window))
        if line.last_year_actuals is not None and line.last_year_one_offs is not None:
            last_year = [(a or 0) - o for a, o in zip(line.last_year_actuals, line.last_year_one_offs, strict=True)]
            last_year_average = Fraction(sum(last_year[m] for m in window), len(window))
            rest = sum((exit_average * last_year[m] / last_year_average for m in range(n, 12)), Fraction(0))
        else:
            rest = exit_average * (12 - n)
        return round_half_away(ytd + rest) + one_offs
    return round_half_away(Fraction(ytd * 12, n)) + one_offs


def expected_position(lines: Sequence[Line], members: Sequence[str], method: str) -> dict[str, Any]:
    chosen = [line for line in lines if line.org_code in members]
    by_category: dict[str, dict[str, int]] = {}
    for line in chosen:
        row = by_category.setdefault(
            line.category,
            dict.fromkeys(("annual_budget", "ytd_budget", "ytd_actual", "ytd_one_off", "forecast"), 0),
        )
        row["annual_budget"] += sum(line.budgets)
        row["ytd_budget"] += sum(line.budgets[:MONTHS_TO_DATE])
        row["ytd_actual"] += sum(actual or 0 for actual in line.actuals[:MONTHS_TO_DATE])
        row["ytd_one_off"] += sum(line.one_offs[:MONTHS_TO_DATE])
        row["forecast"] += expected_forecast(line, method)
    allocation = sum(PLAN_FIGURES[code]["recurrent"] + PLAN_FIGURES[code]["non_recurrent"] for code in members)
    resource = allocation - sum(PLAN_FIGURES[code]["deductions"] for code in members)
    control_total = 0
    for code in members:
        plan = PLAN_FIGURES[code]
        agreed = plan["control_total"]
        control_total += (
            agreed if agreed is not None else round_half_away(Fraction(plan["recurrent"] + plan["non_recurrent"], 100))
        )
    forecast = sum(row["forecast"] for row in by_category.values())
    forecast_surplus = resource - forecast
    expected_risk = sum(
        round_half_away(value * likelihood) * (-1 if is_risk else 1)
        for code in members
        for value, likelihood, is_risk in RISK_FIGURES[code]
    )
    return {
        "allocation": allocation,
        "resource": resource,
        "annual_budget": sum(row["annual_budget"] for row in by_category.values()),
        "ytd_budget": sum(row["ytd_budget"] for row in by_category.values()),
        "ytd_actual": sum(row["ytd_actual"] for row in by_category.values()),
        "forecast": forecast,
        "control_total": control_total,
        "forecast_surplus": forecast_surplus,
        "gap": control_total - forecast_surplus,
        "likely_surplus": forecast_surplus + expected_risk,
        "by_category": by_category,
    }


def headline(position: Position) -> dict[str, Any]:
    return {
        "allocation": position.allocation_pence,
        "resource": position.resource_pence,
        "annual_budget": position.annual_budget_pence,
        "ytd_budget": position.ytd_budget_pence,
        "ytd_actual": position.ytd_actual_pence,
        "forecast": position.forecast_outturn_pence,
        "control_total": position.control_total_pence,
        "forecast_surplus": position.forecast_surplus_pence,
        "gap": position.gap_to_control_total_pence,
        "likely_surplus": position.risk.likely_surplus_pence,
        "by_category": {
            row.category.value: {
                "annual_budget": row.annual_budget_pence,
                "ytd_budget": row.ytd_budget_pence,
                "ytd_actual": row.ytd_actual_pence,
                "ytd_one_off": row.ytd_one_off_pence,
                "forecast": row.forecast_outturn_pence,
            }
            for row in position.by_category
        },
    }


def summed(*figures: dict[str, Any]) -> dict[str, Any]:
    total: dict[str, Any] = {key: sum(item[key] for item in figures) for key in figures[0] if key != "by_category"}
    categories: dict[str, dict[str, int]] = {}
    for item in figures:
        for category, row in item["by_category"].items():
            into = categories.setdefault(category, dict.fromkeys(row, 0))
            for key, value in row.items():
                into[key] += value
    total["by_category"] = categories
    return total


# --- an ICB is the sum of its sub-ICBs, and each matches the oracle -------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_icb_position_is_the_sum_of_its_members_and_matches_the_oracle(
    workspace: Workspace, lines: list[Line], method: str
) -> None:
    icb = compute_position(workspace, "QXX", AS_AT, method)
    north = compute_position(workspace, "01A", AS_AT, method)
    south = compute_position(workspace, "02B", AS_AT, method)
    assert icb.member_codes == ("01A", "02B")
    assert headline(icb) == summed(headline(north), headline(south))
    assert icb.recurrent_allocation_pence == north.recurrent_allocation_pence + south.recurrent_allocation_pence
    assert icb.required_surplus_pence == north.required_surplus_pence + south.required_surplus_pence
    assert headline(north) == expected_position(lines, ["01A"], method)
    assert headline(south) == expected_position(lines, ["02B"], method)
    assert headline(icb) == expected_position(lines, ["01A", "02B"], method)


def test_plan_figures_hand_worked(workspace: Workspace) -> None:
    north = compute_position(workspace, "01A", AS_AT, "run-rate")
    south = compute_position(workspace, "02B", AS_AT, "run-rate")
    assert north.allocation_pence == 61_250_000_050  # £600m + £12.5m and 50p (not last year's £580m)
    assert north.resource_pence == 61_250_000_050 - 400_000_000 - 150_000_000
    assert north.control_total_pence == -1_700_000_000  # "(17m)": an agreed deficit
    assert north.required_surplus_pence == 612_500_001  # 1% of £612,500,000.50, half a penny rounded away
    assert south.control_total_pence == 450_000_000  # 1% of £450,000,000.33: no agreed figure, so 1%
    assert [item.pence for item in north.deductions] == [400_000_000, 150_000_000]
    # risk £2,000,000.01 at 50% is £1,000,000.005: rounded away from zero to the penny
    assert north.risk.risks_expected_pence == 100_000_001
    assert north.risk.mitigations_expected_pence == 75_000_000
    assert south.risk.mitigations_expected_pence == 16_667  # £333.33 at 50%


def test_seasonal_uses_last_years_shape_and_falls_back_for_a_new_line(workspace: Workspace) -> None:
    south = compute_position(workspace, "02B", AS_AT, "seasonal")
    methods = {row.category.value: row.methods for row in south.by_category}
    assert methods == {
        "acute": ("seasonal",),
        "community": ("run-rate", "seasonal"),
        "prescribing": ("seasonal",),
    }
    assert [str(warning) for warning in south.warnings if warning.source == "ledger"] == [
        "ledger: 02B community / New Service: no actuals last year to profile; run rate used instead"
    ]


# --- one-offs, missing months, seasonal without last year -------------------------------------------------------


def test_known_one_off_counts_once_and_is_not_extrapolated(workspace: Workspace) -> None:
    for method in ("run-rate", "trend"):
        position = compute_position(workspace, "05E", AS_AT, method)
        acute = next(row for row in position.by_category if row.category is CostCategory.ACUTE)
        assert acute.ytd_actual_pence == 850_000 * POUND
        assert acute.ytd_one_off_pence == 50_000 * POUND
        # £800k recurring over 8 months runs at £1.2m a year; the £50k one-off is added once: £1.25m
        # (extrapolating it too would give £850k x 12 / 8 = £1.275m)
        assert acute.forecast_outturn_pence == 1_250_000 * POUND


def test_missing_months_are_counted_as_zero_with_a_warning(workspace: Workspace) -> None:
    position = compute_position(workspace, "05E", AS_AT, "run-rate")
    prescribing = next(row for row in position.by_category if row.category is CostCategory.PRESCRIBING)
    assert prescribing.ytd_actual_pence == 240_000 * POUND
    assert prescribing.forecast_outturn_pence == 360_000 * POUND  # £240k x 12 / 8
    assert "ledger: 05E prescribing: 2 month(s) to M08 have no actual; counted as zero" in [
        str(warning) for warning in position.warnings
    ]
    assert not any("05E acute" in str(warning) for warning in position.warnings)


def test_seasonal_without_last_year_falls_back_to_run_rate_with_a_warning(workspace: Workspace) -> None:
    seasonal = compute_position(workspace, "05E", AS_AT, "seasonal")
    run_rate = compute_position(workspace, "05E", AS_AT, "run-rate")
    assert seasonal.forecast_outturn_pence == run_rate.forecast_outturn_pence == (1_250_000 + 360_000) * POUND
    assert {row.methods for row in seasonal.by_category} == {("run-rate",)}
    warnings = [str(warning) for warning in seasonal.warnings]
    assert "ledger: 05E acute / Trust X: no actuals last year to profile; run rate used instead" in warnings
    assert "ledger: 05E prescribing: no actuals last year to profile; run rate used instead" in warnings


def test_a_member_with_a_plan_but_the_group_has_none_reports_the_member(workspace: Workspace) -> None:
    group = compute_position(workspace, "QYY", AS_AT, "run-rate")
    assert group.member_codes == ("05E", "06F")
    assert group.forecast_outturn_pence == (1_250_000 + 360_000 + 1_080_000 + 720_000) * POUND


# --- manual overrides -------------------------------------------------------------------------------------------


def test_override_replaces_the_methods_forecast_for_that_line(workspace: Workspace) -> None:
    year = FinancialYear(YEAR)
    override = ForecastOverride("06F", year, CostCategory.ACUTE, "Trust Y", 1_111_111_11, "contract settled")
    orphan = ForecastOverride("06F", year, CostCategory.PRESCRIBING, "Nowhere", 5 * MILLION, "expected new line")
    set_override(workspace, override)
    set_override(workspace, orphan)
    try:
        position = compute_position(workspace, "06F", AS_AT, "trend")
        document = position_document(position)
    finally:
        clear_override(workspace, "06F", year, CostCategory.ACUTE, "Trust Y")
        clear_override(workspace, "06F", year, CostCategory.PRESCRIBING, "Nowhere")
    (acute,) = document["by_category"]
    assert acute["category"] == "acute"
    assert acute["methods"] == ["override", "trend"]
    # Trust Y overridden; Trust Z by trend: a flat £60k a month is £720k for the year
    assert acute["forecast_outturn_pence"] == 1_111_111_11 + 720_000 * POUND
    assert document["forecast_outturn_pence"] == 1_111_111_11 + 720_000 * POUND
    assert document["warnings"] == [
        "overrides: 06F prescribing / 'Nowhere': override for a line with no ledger this year; ignored"
    ]
    after = compute_position(workspace, "06F", AS_AT, "trend")
    assert after.forecast_outturn_pence == (1_080_000 + 720_000) * POUND


# --- errors ---------------------------------------------------------------------------------------------------


def test_unknown_organisation_is_an_error(workspace: Workspace) -> None:
    with pytest.raises(PositionError, match=r"unknown organisation 'NOPE'"):
        compute_position(workspace, "NOPE", AS_AT, "run-rate")


@pytest.mark.parametrize("org_code", ["QZZ", "09N"])
def test_organisation_without_a_plan_says_how_to_import_one(workspace: Workspace, org_code: str) -> None:
    with pytest.raises(PositionError, match=r"no financial plan for .* in 2025/26$") as raised:
        compute_position(workspace, org_code, AS_AT, "run-rate")
    assert failure_message(raised.value) == f"{raised.value}: import one with `outturn plan import FILE`"


def test_no_plan_for_the_year_asked_is_an_error(workspace: Workspace) -> None:
    with pytest.raises(PositionError, match=r"no financial plan for 02B .* in 2024/25"):
        compute_position(workspace, "02B", "2024-11", "run-rate")


def test_unknown_method_is_an_error(workspace: Workspace) -> None:
    with pytest.raises(PositionError, match=r"unknown forecast method 'crystal-ball' \(one of: auto, run-rate"):
        compute_position(workspace, "01A", AS_AT, "crystal-ball")


# --- the JSON document: the bridge reconciles to the penny ----------------------------------------------------


@pytest.mark.parametrize(("org_code", "method"), [("QXX", "trend"), ("01A", "seasonal"), ("02B", "run-rate")])
def test_bridge_reconciles_to_the_penny(workspace: Workspace, lines: list[Line], org_code: str, method: str) -> None:
    members = ["01A", "02B"] if org_code == "QXX" else [org_code]
    expected = expected_position(lines, members, method)
    document = position_document(compute_position(workspace, org_code, AS_AT, method))
    bridge = document["bridge"]
    kinds = [step["kind"] for step in bridge]
    subtotal_at = kinds.index("subtotal")
    assert kinds[0] == "start"
    assert kinds[-1] == "end"
    assert set(kinds[1:subtotal_at]) | set(kinds[subtotal_at + 1 : -1]) <= {"step"}
    start, subtotal, end = bridge[0], bridge[subtotal_at], bridge[-1]
    assert start["pence"] == document["control_total_pence"] == expected["control_total"]
    assert start["pence"] + sum(step["pence"] for step in bridge[1:subtotal_at]) == subtotal["pence"]
    assert subtotal["pence"] == document["forecast_surplus_pence"] == expected["forecast_surplus"]
    assert subtotal["pence"] + sum(step["pence"] for step in bridge[subtotal_at + 1 : -1]) == end["pence"]
    assert end["pence"] == document["risk"]["likely_surplus_pence"] == expected["likely_surplus"]
    running = 0
    for step in bridge:
        running += step["pence"] if step["kind"] in ("start", "step") else 0
        assert step["running_pence"] == running
    assert document["gap_to_control_total_pence"] == (
        document["control_total_pence"] - document["forecast_surplus_pence"]
    )
    # each category's step is its forecast variance (budget less forecast), as the oracle has it
    steps = {step["label"]: step["pence"] for step in bridge[1:subtotal_at]}
    variances = sorted(row["annual_budget"] - row["forecast"] for row in expected["by_category"].values())
    assert sorted(pence for label, pence in steps.items() if " forecast " in label) == [
        variance for variance in variances if variance
    ]
    planned_surplus = expected["resource"] - expected["annual_budget"]
    assert steps["Budget set above/(below) the control total"] == planned_surplus - expected["control_total"]


# --- the command line -----------------------------------------------------------------------------------------


def test_cli_position_json_matches_the_oracle(workspace: Workspace, lines: list[Line]) -> None:
    expected = expected_position(lines, ["01A", "02B"], "trend")
    result = CliRunner().invoke(
        app,
        ["--workspace", str(workspace.path), "position", "--org", "qxx", "--as-at", AS_AT,
         "--method", "trend", "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["org_code"] == "QXX"
    assert document["month"] == "M08"
    assert document["financial_year"] == "2025/26"
    assert document["members"] == ["01A", "02B"]
    assert document["allocation_pence"] == expected["allocation"]
    assert document["ytd_budget_pence"] == expected["ytd_budget"]
    assert document["ytd_actual_pence"] == expected["ytd_actual"]
    assert document["forecast_outturn_pence"] == expected["forecast"]
    assert document["control_total_pence"] == expected["control_total"]
    assert document["gap_to_control_total_pence"] == expected["gap"]
    assert isinstance(document["by_category"], list)
    assert {
        row["category"]: {
            "annual_budget": row["annual_budget_pence"],
            "ytd_budget": row["ytd_budget_pence"],
            "ytd_actual": row["ytd_actual_pence"],
            "ytd_one_off": row["ytd_one_off_pence"],
            "forecast": row["forecast_outturn_pence"],
        }
        for row in document["by_category"]
    } == expected["by_category"]
    assert isinstance(document["bridge"], list)
    assert document["bridge"]
    assert all(isinstance(step["pence"], int) and step["label"] for step in document["bridge"])
    assert document["bridge"][-1]["pence"] == expected["likely_surplus"]


def test_cli_unknown_organisation_exits_2_with_a_json_error(workspace: Workspace) -> None:
    result = CliRunner().invoke(
        app,
        ["--workspace", str(workspace.path), "position", "--org", "NOPE", "--as-at", AS_AT, "--format", "json"],
    )
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {"error": "unknown organisation 'NOPE'"}
