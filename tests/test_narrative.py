"""The board pack's narrative: sentences written by rule from the figures, checked against hand-written text.

Expected sentences are written out by hand from the figures given (display rounding worked by hand: £1.25m shows
as £1.3m, half away from zero; 4,101 of 5,000 is 82.0%); the property test parses the amounts back out of the
position sentence and checks each is its figure to the display rounding.
"""

from __future__ import annotations

import re
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from outturn.reports.narrative import (
    BenchmarkLine,
    CategoryMovement,
    ContractsSummary,
    Headline,
    NarrativeFigures,
    RegisterLine,
    RiskHeadline,
    SavingsHeadline,
    SavingsMovement,
    ScenarioLine,
    amount,
    percent,
    write_narrative,
)

M = 100_000_000  # pence in £1m


def headline(surplus: int, control: int, previous_gap: int | None = None, **extra: object) -> Headline:
    return Headline(
        org_code="PCTN",
        org_name="County PCT North",
        financial_year="2006/07",
        month="M08",
        as_at="2006-11",
        period="November 2006",
        control_total_pence=control,
        forecast_outturn_pence=100 * M,
        forecast_surplus_pence=surplus,
        gap_pence=control - surplus,
        likely_surplus_pence=surplus,
        best_surplus_pence=surplus,
        worst_surplus_pence=surplus,
        previous_month="M07" if previous_gap is not None else None,
        previous_gap_pence=previous_gap,
        **extra,  # type: ignore[arg-type]
    )


CATEGORIES = (
    CategoryMovement("Acute", -6 * M, 90_000_000),
    CategoryMovement("Continuing healthcare", -150_000_000, 40_000_000),
    CategoryMovement("Reserves and contingency", 50_000_000, -10_000_000),
)


def first(figures: NarrativeFigures) -> str:
    return write_narrative(figures)[0]


def test_the_issues_example_gap_up_since_last_month_mainly_from_the_largest_mover() -> None:
    figures = NarrativeFigures(headline(-24 * M, -17 * M, previous_gap=580_000_000), CATEGORIES)
    assert first(figures) == (
        "The forecast outturn is a £24.0m deficit against a control total of £17.0m deficit: a gap of £7.0m, "
        "up £1.2m since last month (M07), mainly from acute (forecast spend up £0.9m)."
    )


def test_a_gap_that_narrows_names_the_category_whose_spend_fell_most() -> None:
    figures = NarrativeFigures(headline(-24 * M, -17 * M, previous_gap=8 * M), CATEGORIES)
    assert first(figures) == (
        "The forecast outturn is a £24.0m deficit against a control total of £17.0m deficit: a gap of £7.0m, "
        "down £1.0m since last month (M07), mainly from reserves and contingency (forecast spend down £0.1m)."
    )


def test_ahead_of_the_control_total_and_better_than_last_month() -> None:
    figures = NarrativeFigures(headline(2 * M, 0, previous_gap=-150_000_000))
    assert first(figures) == (
        "The forecast outturn is a £2.0m surplus against a control total of break-even: £2.0m better than the "
        "control total, £0.5m better than last month (M07)."
    )


def test_break_even_on_a_break_even_control_total_without_a_previous_month() -> None:
    assert first(NarrativeFigures(headline(0, 0))) == (
        "The forecast outturn is break-even against a control total of break-even: exactly on the control total."
    )


def test_a_movement_that_rounds_to_nothing_is_unchanged_and_names_no_driver() -> None:
    figures = NarrativeFigures(headline(-24 * M, -17 * M, previous_gap=7 * M - 30_000), CATEGORIES)
    assert first(figures).endswith("a gap of £7.0m, unchanged since last month (M07).")


def test_the_largest_overspends_and_the_offsetting_underspend() -> None:
    sentences = write_narrative(NarrativeFigures(headline(-24 * M, -17 * M), CATEGORIES))
    assert sentences[1] == (
        "The largest forecast overspends are £6.0m in acute and £1.5m in continuing healthcare, offset in part "
        "by an underspend of £0.5m in reserves and contingency."
    )
    within = (CategoryMovement("Acute", 0), CategoryMovement("Community", 5_000_000))
    assert write_narrative(NarrativeFigures(headline(0, 0), within))[1] == (
        "Every category is forecast to spend within its budget."
    )


SAVINGS = SavingsHeadline(
    plan_pence=60 * M,
    plan_to_date_pence=30 * M,
    delivered_pence=2_460_000_000,
    forecast_pence=5_250_000_000,
    risk_adjusted_pence=4_525_000_000,
    target_pence=70 * M,
    unidentified_pence=10 * M,
    red=5,
    amber=3,
    green=1,
)


def test_savings_delivery_rag_counts_unidentified_and_movement() -> None:
    figures = NarrativeFigures(
        headline(-24 * M, -17 * M, savings=SAVINGS),
        savings_movement=SavingsMovement(-125_000_000, 250_000_000, "Outpatients", -80_000_000),
    )
    sentences = write_narrative(figures)
    assert sentences[1:4] == (
        "Savings of £24.6m have been delivered against £30.0m planned to date (82.0%); the year's forecast is "
        "£52.5m against a plan of £60.0m (12.5% short), and £45.3m risk-adjusted.",
        "Of the schemes, 5 are rated red, 3 amber and 1 green; £10.0m of the £70.0m target is not yet identified.",
        "Since last month's close the savings forecast is down £1.3m, most in outpatients (£0.8m), and £2.5m more "
        "has been delivered.",
    )


def test_risk_range_simulation_and_largest_risks() -> None:
    risk = RiskHeadline(
        10_000, 0.0058, -4_930_000_000, -3_306_146_891, -1_629_317_802, "Activity growth", 2_860_000_000
    )
    head = Headline(
        **{
            **vars(headline(-2_130_347_060, 0)),
            "likely_surplus_pence": -2_490_178_041,
            "best_surplus_pence": -1_090_000_000,
            "worst_surplus_pence": -4_240_000_000,
            "risk": risk,
        }
    )
    figures = NarrativeFigures(
        head,
        top_risks=(
            RegisterLine("Winter pressures", 1_300_000_000, 780_000_000),
            RegisterLine("CHC fee uplifts", 490_000_000, 245_000_000),
            RegisterLine("A third, not named", 4_500_000, 2_250_000),
        ),
    )
    assert write_narrative(figures)[1:] == (
        "Allowing for the savings still to come at their risk-adjusted forecast and the risks and mitigations at "
        "their likelihood, the risk-adjusted forecast (likely) is a £24.9m deficit (risk-adjusted best case £10.9m "
        "deficit, risk-adjusted worst case £42.4m deficit).",
        "The chance of meeting the control total is 0.6% in 10,000 simulated years (P10 £49.3m deficit, P50 £33.1m "
        "deficit, P90 £16.3m deficit); the widest swing is from activity growth (£28.6m between its P10 and P90).",
        "The largest risks are Winter pressures (£13.0m, expected £7.8m) and CHC fee uplifts (£4.9m, expected £2.5m).",
    )


def test_contracts_scenarios_and_benchmarks() -> None:
    figures = NarrativeFigures(
        headline(-21 * M, 0),
        contracts=ContractsSummary(
            18,
            2_640_000_000,
            "RTH",
            "Oxford University Hospitals NHS Foundation Trust",
            "10Q",
            924_000_000,
            "non-elective spells",
            500_000_000,
        ),
        scenarios=(
            ScenarioLine("Recovery plan", -1_823_389_858, -5_154_429_918, 306_957_202),
            ScenarioLine("Growth", 4_000_000, 9_000_000, -1 * M),
        ),
        benchmark=BenchmarkLine("non-elective spells", "median", 159, 79, 8730.4, 2_100_000_000, 1),
    )
    assert write_narrative(figures)[1:] == (
        "The 18 provider contracts are forecast to over-perform by £26.4m against plan; the most, £9.2m, is at "
        "Oxford University Hospitals NHS Foundation Trust (RTH) for 10Q, mainly £5.0m of non-elective spells.",
        "The scenario \u201cRecovery plan\u201d would cut this year's forecast spend by £18.2m (£51.5m in a full "
        "year), leaving a gap of £3.1m.",
        "The scenario \u201cGrowth\u201d would add £40k to this year's forecast spend (£90k in a full year), leaving "
        "£1.0m better than the control total.",
        "79 of 159 practices are above the median rate of non-elective spells per 1,000 weighted population; "
        "bringing them to it would mean 8,730 fewer so far this year, worth £21.0m, and 1 lies above the funnel "
        "plot's 99.8% limit.",
    )


def test_display_rounding_of_amounts_and_shares() -> None:
    assert [amount(p) for p in (9_999_999, 10_000_000, 5_000_000, -125_000_000, 4_999)] == [
        "£100k",
        "£0.1m",
        "£50k",
        "£1.3m",
        "£0k",
    ]
    assert [percent(Decimal("0.12345")), percent(Decimal("0.1235")), percent(0.0058), percent(1.0)] == [
        "12.3%",
        "12.4%",
        "0.6%",
        "100.0%",
    ]


AMOUNT = re.compile(r"£([\d,]+(?:\.\d)?)(m|k)")
pence = st.integers(min_value=-(10**12), max_value=10**12)


def pounds_shown(text: str) -> Decimal:
    number, unit = AMOUNT.fullmatch(text).groups()  # type: ignore[union-attr]
    return Decimal(number.replace(",", "")) * (1_000_000 if unit == "m" else 1_000)


def close_to(shown: str, figure: int) -> bool:
    """The figure (pence) rounds to what is shown: within half the last place shown."""
    half = Decimal("50000") if shown.endswith("m") else Decimal("500")
    return abs(pounds_shown(shown) - Decimal(abs(figure)) / 100) <= half


@given(surplus=pence, control=pence, previous=pence)
def test_every_amount_in_the_position_sentence_is_its_figure_to_display_rounding(
    surplus: int, control: int, previous: int
) -> None:
    sentence = first(NarrativeFigures(headline(surplus, control, previous_gap=previous)))
    gap, change = control - surplus, control - surplus - previous
    shown = [match.group(0) for match in AMOUNT.finditer(sentence)]
    expected = [figure for figure in (surplus, control, gap) if figure != 0]
    movement = not re.search(r"unchanged since", sentence)
    if movement:
        expected.append(change)
    assert len(shown) == len(expected), sentence
    assert all(close_to(text, figure) for text, figure in zip(shown, expected, strict=True)), sentence
    assert ("deficit against" in sentence) == (surplus < 0)
    if movement and gap >= 0:
        assert (" up £" in sentence) == (change > 0)
