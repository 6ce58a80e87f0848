"""The financial position: plans, control totals, gap, risk range and the bridge, as pure domain records.

Hand-worked cases follow published NHS figures (a CCG with a £660m allocation, a £8.6m forecast gap and a
1% required surplus; two PCTs with a combined £34m deficit control total, £17m each). Properties check the
reconciliations against plain arithmetic written here.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outturn.domain.forecast import LineFigures, LineForecast
from outturn.domain.ledger import CostCategory
from outturn.domain.periods import FinancialYear
from outturn.domain.plans import Deduction, FinancialPlan, RiskItem, RiskKind
from outturn.domain.position import Position, build_position, momentum_warning, risk_range, summarise_categories

PROPERTY = settings(max_examples=200, deadline=None)
YEAR = FinancialYear(2025)
AS_AT = YEAR.month(8)
M = 100_000_000  # £1m in pence


def line(
    category: CostCategory,
    annual_budget_pence: int,
    forecast_pence: int,
    *,
    org_code: str = "08X",
    ytd_budget_pence: int = 0,
    ytd_actual_pence: int = 0,
    subcategory: str = "",
    ytd_one_off_pence: int = 0,
    exit_recurring_pence: int = 0,
    method: str = "run-rate",
) -> LineForecast:
    figures = LineFigures(
        org_code=org_code,
        category=category,
        subcategory=subcategory,
        annual_budget_pence=annual_budget_pence,
        ytd_budget_pence=ytd_budget_pence,
        ytd_actual_pence=ytd_actual_pence,
        ytd_one_off_pence=ytd_one_off_pence,
        months_reported=AS_AT.elapsed,
        sum_month_times_recurring=0,
        exit_recurring_pence=exit_recurring_pence,
    )
    return LineForecast(figures, method, forecast_pence)


def position_of(
    plans: Sequence[FinancialPlan], lines: Sequence[LineForecast], risks: Sequence[RiskItem] = ()
) -> Position:
    return build_position(
        org_code="GROUP" if len(plans) > 1 else plans[0].org_code,
        org_name="Test",
        as_at=AS_AT,
        method="run-rate",
        plans=plans,
        line_forecasts=lines,
        risk_items=risks,
    )


def risk(kind: RiskKind, value_pence: int, likelihood: str, org_code: str = "08X") -> RiskItem:
    return RiskItem(org_code, YEAR, kind, f"{kind.value} of {value_pence}p", value_pence, Decimal(likelihood))


def expected_pence(value_pence: int, likelihood: Decimal) -> int:
    """value × likelihood rounded half away from zero (values are never negative)."""
    return int((Decimal(value_pence) * likelihood).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- the £660m CCG -------------------------------------------------------------------------------------------


def ccg_plan() -> FinancialPlan:
    return FinancialPlan(
        org_code="08X",
        year=YEAR,
        recurrent_allocation_pence=660 * M,
        required_surplus_share=Decimal("0.01"),
    )


def ccg_lines() -> list[LineForecast]:
    # Budgets set to deliver the 1% surplus: £660m − £6.6m = £653.4m. Forecasts total £668.6m.
    return [
        line(CostCategory.ACUTE, 350 * M, 356 * M),
        line(CostCategory.PRESCRIBING, 100 * M, 103 * M),
        line(CostCategory.COMMUNITY, 2034 * M // 10, 2096 * M // 10),
    ]


def test_ccg_with_a_660m_allocation_and_a_1_percent_surplus() -> None:
    position = position_of([ccg_plan()], ccg_lines())
    assert position.allocation_pence == 66_000_000_000
    assert position.required_surplus_pence == 660_000_000  # 1% of £660m = £6.6m
    assert position.control_total_pence == 660_000_000
    assert position.annual_budget_pence == 65_340_000_000
    assert position.planned_surplus_pence == 660_000_000
    assert position.forecast_outturn_pence == 66_860_000_000  # £668.6m
    assert position.forecast_surplus_pence == -860_000_000  # £8.6m deficit
    assert position.gap_to_control_total_pence == 1_520_000_000  # £6.6m + £8.6m = £15.2m
    assert position.savings_needed_pence == 1_520_000_000
    assert position.forecast_variance_pence == -1_520_000_000


def test_ccg_bridge_walks_from_control_total_to_forecast() -> None:
    bridge = position_of([ccg_plan()], ccg_lines()).bridge
    walked = [(step.label, step.pence, step.kind, step.running_pence) for step in bridge]
    # Categories in the ledger's order: acute, community, prescribing.
    assert walked == [
        ("Control total (planned surplus/(deficit))", 660_000_000, "start", 660_000_000),
        ("Acute forecast overspend", -600_000_000, "step", 60_000_000),
        ("Community forecast overspend", -620_000_000, "step", -560_000_000),
        ("Prescribing forecast overspend", -300_000_000, "step", -860_000_000),
        ("Forecast surplus/(deficit)", -860_000_000, "subtotal", -860_000_000),
        ("Risk-adjusted forecast surplus/(deficit) (likely)", -860_000_000, "end", -860_000_000),
    ]


def test_budget_set_away_from_the_control_total_is_its_own_bridge_step() -> None:
    # Budgets total £655m: £1.6m more than the control total allows.
    lines = [*ccg_lines(), line(CostCategory.RUNNING_COSTS, 16 * M // 10, 16 * M // 10)]
    bridge = position_of([ccg_plan()], lines).bridge
    assert (bridge[1].label, bridge[1].pence) == ("Budget set above/(below) the control total", -160_000_000)
    assert bridge[-1].running_pence == -1_020_000_000  # £8.6m deficit plus the £1.6m running-cost line


def test_underspend_is_named_in_the_bridge() -> None:
    lines = [line(CostCategory.MENTAL_HEALTH, 50 * M, 48 * M)]
    plan = FinancialPlan("08X", YEAR, recurrent_allocation_pence=50 * M)
    bridge = position_of([plan], lines).bridge
    assert (bridge[1].label, bridge[1].pence) == ("Mental health forecast underspend", 200_000_000)


def test_risk_range_hand_example() -> None:
    risks = [
        risk(RiskKind.RISK, 2 * M, "0.5"),
        risk(RiskKind.RISK, 1 * M, "0.1"),
        risk(RiskKind.MITIGATION, 3 * M, "0.6"),
    ]
    position = position_of([ccg_plan()], ccg_lines(), risks)
    forecast = -860_000_000
    assert position.risk.risks_total_pence == 300_000_000
    assert position.risk.risks_expected_pence == 110_000_000  # £1m + £0.1m
    assert position.risk.mitigations_total_pence == 300_000_000
    assert position.risk.mitigations_expected_pence == 180_000_000  # £3m × 60%
    assert position.risk.best_surplus_pence == forecast + 300_000_000  # −£5.6m
    assert position.risk.likely_surplus_pence == forecast - 110_000_000 + 180_000_000  # −£7.9m
    assert position.risk.worst_surplus_pence == forecast - 300_000_000  # −£11.6m
    assert position.risk_adjusted_gap_pence == 660_000_000 + 790_000_000  # £14.5m
    tail = [(step.label, step.pence, step.running_pence) for step in position.bridge[-3:]]
    assert tail == [
        ("Risks (likely)", -110_000_000, -970_000_000),
        ("Mitigations (likely)", 180_000_000, -790_000_000),
        ("Risk-adjusted forecast surplus/(deficit) (likely)", -790_000_000, -790_000_000),
    ]


def test_risk_range_reads_a_one_shot_iterator_of_items() -> None:
    items = [risk(RiskKind.RISK, 100, "0.5"), risk(RiskKind.MITIGATION, 300, "1")]
    from_list = risk_range(0, items)
    from_iterator = risk_range(0, iter(items))
    assert from_iterator == from_list
    assert from_iterator.mitigations_total_pence == 300


# --- plans, deductions and the county's two PCTs ------------------------------------------------------------


def test_deductions_come_off_the_allocation() -> None:
    # An inherited £47m deficit repaid from the next allocation, plus £37m top-sliced for acute trusts.
    plan = FinancialPlan(
        org_code="5QA",
        year=YEAR,
        recurrent_allocation_pence=900 * M,
        non_recurrent_allocation_pence=10 * M,
        brought_forward_deficit_pence=47 * M,
        other_deductions=(Deduction("Acute trusts' deficits", 37 * M),),
    )
    assert plan.allocation_pence == 910 * M
    assert [(deduction.description, deduction.pence) for deduction in plan.deductions] == [
        ("Brought-forward deficit repaid", 47 * M),
        ("Acute trusts' deficits", 37 * M),
    ]
    assert plan.deductions_pence == 84 * M
    assert plan.resource_pence == 826 * M
    position = position_of([plan], [line(CostCategory.ACUTE, 826 * M, 830 * M, org_code="5QA")])
    assert position.resource_pence == 826 * M
    assert position.forecast_surplus_pence == -4 * M


def test_two_pcts_with_a_combined_34m_deficit_control_total() -> None:
    # Each PCT agreed a £17m deficit (together £34m) and each forecasts a £24m deficit: a £7m gap each.
    plans = [
        FinancialPlan("5QA", YEAR, recurrent_allocation_pence=700 * M, control_total_pence=-17 * M),
        FinancialPlan("5QB", YEAR, recurrent_allocation_pence=500 * M, control_total_pence=-17 * M),
    ]
    lines = [
        line(CostCategory.ACUTE, 717 * M, 724 * M, org_code="5QA"),
        line(CostCategory.ACUTE, 517 * M, 524 * M, org_code="5QB"),
    ]
    group = position_of(plans, lines)
    assert group.member_codes == ("5QA", "5QB")
    assert group.control_total_pence == -34 * M
    assert group.forecast_surplus_pence == -48 * M
    assert group.gap_to_control_total_pence == 14 * M
    for plan, own_line in zip(plans, lines, strict=True):
        single = position_of([plan], [own_line])
        assert single.control_total_pence == -17 * M
        assert single.forecast_surplus_pence == -24 * M
        assert single.gap_to_control_total_pence == 7 * M


def test_agreed_control_total_overrides_the_required_share() -> None:
    plan = FinancialPlan(
        "08X",
        YEAR,
        recurrent_allocation_pence=660 * M,
        required_surplus_share=Decimal("0.01"),
        control_total_pence=-5 * M,
    )
    assert plan.required_surplus_pence == 660_000_000
    assert plan.effective_control_total_pence == -500_000_000


def test_ahead_of_control_total_needs_no_savings() -> None:
    plan = FinancialPlan("08X", YEAR, recurrent_allocation_pence=100 * M)
    position = position_of([plan], [line(CostCategory.ACUTE, 100 * M, 99 * M)])
    assert position.gap_to_control_total_pence == -1 * M
    assert position.savings_needed_pence == 0


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"required_surplus_share": Decimal(1)}, "between 0 and 1"),
        ({"required_surplus_share": Decimal("-0.01")}, "between 0 and 1"),
        ({"brought_forward_deficit_pence": -1}, "positive amount"),
    ],
)
def test_plan_refuses_impossible_terms(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        FinancialPlan("08X", YEAR, recurrent_allocation_pence=100 * M, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "likelihood", "fragment"),
    [(-1, "0.5", "positive amount"), (100, "1.01", "between 0 and 1"), (100, "-0.1", "between 0 and 1")],
)
def test_risk_item_refuses_impossible_terms(value: int, likelihood: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        RiskItem("08X", YEAR, RiskKind.RISK, "x", value, Decimal(likelihood))


# --- properties ---------------------------------------------------------------------------------------------

AMOUNT = st.integers(min_value=0, max_value=10**12)
LIKELIHOOD = st.decimals(min_value=0, max_value=1, places=2, allow_nan=False, allow_infinity=False)
SHARE = st.decimals(min_value=0, max_value=Decimal("0.05"), places=3, allow_nan=False, allow_infinity=False)


@st.composite
def organisation(draw: st.DrawFn, org_code: str) -> tuple[FinancialPlan, list[LineForecast], list[RiskItem]]:
    plan = FinancialPlan(
        org_code=org_code,
        year=YEAR,
        recurrent_allocation_pence=draw(AMOUNT),
        non_recurrent_allocation_pence=draw(st.integers(min_value=0, max_value=10**10)),
        brought_forward_deficit_pence=draw(st.integers(min_value=0, max_value=10**10)),
        other_deductions=tuple(
            Deduction(f"top-slice {i}", pence)
            for i, pence in enumerate(draw(st.lists(st.integers(0, 10**10), max_size=2)))
        ),
        required_surplus_share=draw(SHARE),
        control_total_pence=draw(st.none() | st.integers(min_value=-(10**10), max_value=10**10)),
    )
    lines = [
        line(
            draw(st.sampled_from(list(CostCategory))),
            draw(AMOUNT),
            draw(AMOUNT),
            org_code=org_code,
            ytd_budget_pence=draw(AMOUNT),
            ytd_actual_pence=draw(AMOUNT),
            subcategory=f"line {i}",
        )
        for i in range(draw(st.integers(min_value=0, max_value=6)))
    ]
    risks = [
        RiskItem(org_code, YEAR, draw(st.sampled_from(list(RiskKind))), f"item {i}", draw(AMOUNT), draw(LIKELIHOOD))
        for i in range(draw(st.integers(min_value=0, max_value=4)))
    ]
    return plan, lines, risks


@PROPERTY
@given(organisation("08X"))
def test_bridge_reconciles_to_the_penny(org: tuple[FinancialPlan, list[LineForecast], list[RiskItem]]) -> None:
    plan, lines, risks = org
    position = position_of([plan], lines, risks)
    bridge = position.bridge

    # Independent figures in plain arithmetic.
    resource = plan.recurrent_allocation_pence + plan.non_recurrent_allocation_pence
    resource -= plan.brought_forward_deficit_pence + sum(d.pence for d in plan.other_deductions)
    forecast_surplus = resource - sum(item.forecast_outturn_pence for item in lines)
    risks_expected = sum(expected_pence(r.value_pence, r.likelihood) for r in risks if r.kind is RiskKind.RISK)
    mitigations_expected = sum(
        expected_pence(r.value_pence, r.likelihood) for r in risks if r.kind is RiskKind.MITIGATION
    )
    likely = forecast_surplus - risks_expected + mitigations_expected
    control_total = (
        plan.control_total_pence
        if plan.control_total_pence is not None
        else expected_pence(plan.allocation_pence, plan.required_surplus_share)
    )

    kinds = [step.kind for step in bridge]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert kinds.count("subtotal") == 1 and kinds.count("start") == 1 and kinds.count("end") == 1
    assert set(kinds[1:-1]) <= {"step", "subtotal"}

    start = bridge[0]
    assert start.pence == start.running_pence == control_total == position.control_total_pence
    subtotal_at = kinds.index("subtotal")
    subtotal, end = bridge[subtotal_at], bridge[-1]
    assert start.pence + sum(step.pence for step in bridge[1:subtotal_at]) == subtotal.pence
    assert start.pence + sum(step.pence for step in bridge if step.kind == "step") == end.running_pence
    assert subtotal.pence == subtotal.running_pence == forecast_surplus == position.forecast_surplus_pence
    assert end.pence == end.running_pence == likely == position.risk.likely_surplus_pence

    running = 0
    for step in bridge:
        if step.kind in ("start", "step"):
            running += step.pence
            assert step.pence != 0 or step.kind == "start"  # no empty steps
        assert step.running_pence == running


@PROPERTY
@given(organisation("5QA"), organisation("5QB"))
def test_group_position_is_the_sum_of_its_members(
    first: tuple[FinancialPlan, list[LineForecast], list[RiskItem]],
    second: tuple[FinancialPlan, list[LineForecast], list[RiskItem]],
) -> None:
    members = [position_of([plan], lines, risks) for plan, lines, risks in (first, second)]
    group = position_of([first[0], second[0]], first[1] + second[1], first[2] + second[2])
    for figure in (
        "allocation_pence",
        "resource_pence",
        "required_surplus_pence",
        "control_total_pence",
        "annual_budget_pence",
        "ytd_budget_pence",
        "ytd_actual_pence",
        "forecast_outturn_pence",
        "forecast_surplus_pence",
        "gap_to_control_total_pence",
        "risk_adjusted_gap_pence",
    ):
        assert getattr(group, figure) == sum(getattr(member, figure) for member in members), figure
    assert group.risk.likely_surplus_pence == sum(member.risk.likely_surplus_pence for member in members)
    assert group.savings_needed_pence == max(sum(m.gap_to_control_total_pence for m in members), 0)
    for row in group.by_category:
        member_rows = [r for member in members for r in member.by_category if r.category is row.category]
        assert row.forecast_outturn_pence == sum(r.forecast_outturn_pence for r in member_rows)
        assert row.annual_budget_pence == sum(r.annual_budget_pence for r in member_rows)


@PROPERTY
@given(AMOUNT, LIKELIHOOD)
def test_risk_expected_value_matches_decimal_half_up(value: int, likelihood: Decimal) -> None:
    item = RiskItem("08X", YEAR, RiskKind.RISK, "x", value, likelihood)
    assert item.expected_pence == expected_pence(value, likelihood)
    assert Fraction(item.expected_pence) <= Fraction(value)


# --- the forecast-against-recent-months warning ----------------------------------------------------------------


def warning_for(*lines: LineForecast) -> str | None:
    (row,) = summarise_categories(lines)
    found = momentum_warning(row, AS_AT)
    return None if found is None else str(found)


def test_a_forecast_less_adverse_than_to_date_while_recent_months_run_above_average_is_warned() -> None:
    # £8m over to date (£88m against £80m), forecast £6m over (£126m against £120m): the overspend "unwinds",
    # yet M06–M08 ran at £36m ÷ 3 = £12m a month against £88m ÷ 8 = £11m a month to date.
    acute = line(
        CostCategory.ACUTE,
        120 * M,
        126 * M,
        ytd_budget_pence=80 * M,
        ytd_actual_pence=88 * M,
        exit_recurring_pence=36 * M,
    )
    assert warning_for(acute) == (
        "forecast: Acute: the forecast variance (overspend £6.00m) is less adverse than the variance to date "
        "(overspend £8.00m) although the last 3 month(s) to M08 ran at £12.00m a month, above the year-to-date "
        "average of £11.00m a month; forecast by run-rate"
    )


def test_a_forecast_more_adverse_than_to_date_while_recent_months_run_below_average_is_warned() -> None:
    # On budget to date (£40m), forecast £4m over (£64m against £60m), yet M06–M08 ran at £13.5m ÷ 3 = £4.5m a
    # month against £40m ÷ 8 = £5m a month to date.
    prescribing = line(
        CostCategory.PRESCRIBING,
        60 * M,
        64 * M,
        ytd_budget_pence=40 * M,
        ytd_actual_pence=40 * M,
        exit_recurring_pence=135 * M // 10,
        method="exit-rate",
    )
    assert warning_for(prescribing) == (
        "forecast: Prescribing: the forecast variance (overspend £4.00m) is more adverse than the variance to date "
        "(on budget) although the last 3 month(s) to M08 ran at £4.50m a month, below the year-to-date average of "
        "£5.00m a month; forecast by exit-rate"
    )


@pytest.mark.parametrize(
    ("forecast_pence", "exit_pence"),
    [
        (126 * M, 30 * M),  # less adverse while running below (£10m a month against £11m): consistent
        (130 * M, 36 * M),  # more adverse (£10m over) while running above: consistent
        (128 * M, 36 * M),  # exactly as adverse (£8m over) as to date
        (126 * M, 33 * M),  # less adverse, but running at the average (£11m a month)
        (126 * M, 3333 * M // 100),  # £33.33m ÷ 3 = £11.11m a month: 1% above £11m, not more than 1%
    ],
)
def test_a_forecast_that_moves_with_recent_months_is_not_warned(forecast_pence: int, exit_pence: int) -> None:
    acute = line(
        CostCategory.ACUTE,
        120 * M,
        forecast_pence,
        ytd_budget_pence=80 * M,
        ytd_actual_pence=88 * M,
        exit_recurring_pence=exit_pence,
    )
    assert warning_for(acute) is None


def test_recent_months_more_than_one_percent_above_the_average_count_as_above() -> None:
    # £33,330,003 ÷ 3 = £11,110,001 a month: a penny more than 1% above £11m.
    acute = line(
        CostCategory.ACUTE,
        120 * M,
        126 * M,
        ytd_budget_pence=80 * M,
        ytd_actual_pence=88 * M,
        exit_recurring_pence=3333 * M // 100 + 3,
    )
    found = warning_for(acute)
    assert found is not None and "ran at £11.11m a month, above the year-to-date average of £11.00m" in found


def test_one_offs_stay_out_of_the_averages_the_warning_compares() -> None:
    # £96m to date holds a £16m one-off: recurring £80m, £10m a month. M06–M08 ran at £33m ÷ 3 = £11m: above.
    # (Counting the one-off, £12m a month to date, the recent months would look below it and nothing be said.)
    acute = line(
        CostCategory.ACUTE,
        120 * M,
        126 * M,
        ytd_budget_pence=80 * M,
        ytd_actual_pence=96 * M,
        ytd_one_off_pence=16 * M,
        exit_recurring_pence=33 * M,
    )
    found = warning_for(acute)
    assert found is not None
    assert "ran at £11.00m a month, above the year-to-date average of £10.00m a month" in found


def test_the_category_warning_sums_its_lines_and_names_a_mixed_method() -> None:
    # Two lines: £88m to date over £80m budgeted, £36m in the last three months; forecast £126m against £120m.
    lines = (
        line(
            CostCategory.ACUTE,
            60 * M,
            66 * M,
            ytd_budget_pence=40 * M,
            ytd_actual_pence=48 * M,
            exit_recurring_pence=20 * M,
            subcategory="Trust A",
            method="exit-rate",
        ),
        line(
            CostCategory.ACUTE,
            60 * M,
            60 * M,
            ytd_budget_pence=40 * M,
            ytd_actual_pence=40 * M,
            exit_recurring_pence=16 * M,
            subcategory="Trust B",
            method="override",
        ),
    )
    found = warning_for(*lines)
    assert found is not None and found.endswith("forecast by mixed")
    position = position_of([FinancialPlan("08X", YEAR, recurrent_allocation_pence=120 * M)], lines)
    assert [str(warning) for warning in position.warnings] == [found]
    (row,) = position.by_category
    assert (row.method, row.methods) == ("mixed", ("exit-rate", "override"))
