"""The Monte Carlo simulation of the year-end position and the multi-year plan.

References, all independent of the code under test: closed forms for the mean, the variance of independent
schemes and single-risk probabilities; scipy's Beta distribution (KS tests) and an independent copula sample
for the correlation; a plain-Python per-trial loop that re-implements the documented draws with scipy's exact
Beta quantile; hand-worked multi-year plans.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from outturn.domain.plans import RiskKind
from outturn.domain.risk_model import (
    NO_UNCERTAINTY,
    FirstYear,
    PlanYear,
    RiskInput,
    RiskModel,
    SchemeInput,
    SpendUncertainty,
    project_plan,
)
from outturn.stats import montecarlo as mc
from outturn.stats.multiyear import simulate_plan

MONTHS = (9, 10, 11, 12)
POUND = 100
MILLION = 1_000_000 * POUND


def scheme(reference: str, workstream: str, monthly: int, confidence: str, **extra: object) -> SchemeInput:
    return SchemeInput(reference, workstream, (monthly,) * len(MONTHS), Decimal(confidence), **extra)  # type: ignore[arg-type]


def risk(kind: RiskKind, likelihood: str, low: int, mode: int | None = None, high: int | None = None) -> RiskInput:
    mode = low if mode is None else mode
    return RiskInput(f"{kind.value} {low}", kind, Decimal(likelihood), low, mode, high if high is not None else mode)


def model(**fields: object) -> RiskModel:
    values: dict[str, object] = {
        "org_code": "X",
        "year_label": "2025/26",
        "months": MONTHS,
        "forecast_surplus_pence": -2 * MILLION,
        "control_total_pence": -3 * MILLION,
    }
    values.update(fields)
    return RiskModel(**values)  # type: ignore[arg-type]


SCHEMES = (
    scheme("A", "prescribing", 100_000 * POUND, "0.7"),
    scheme("B", "elective", 250_000 * POUND, "0.5"),
    scheme("C", "prescribing", 50_000 * POUND, "0.9"),
    scheme("D", "outpatients", 80_000 * POUND, "0.25"),
)


# --- closed forms ----------------------------------------------------------------------------------------------


def test_mean_is_forecast_less_expected_shortfall_and_expected_risks() -> None:
    risks = (risk(RiskKind.RISK, "0.4", 300_000 * POUND), risk(RiskKind.MITIGATION, "0.75", 200_000 * POUND))
    spend = (SpendUncertainty("activity growth", 20 * MILLION, Decimal("0.02")),)
    tested = model(schemes=SCHEMES, risks=risks, spend=spend, correlation=Decimal(0))
    result = mc.simulate(tested, 40_000, seed=11)
    # by hand: forecast − Σ (1 − c) × remaining − 0.4 × £300k + 0.75 × £200k (the multiplier has mean 1)
    shortfall = sum((1 - float(s.confidence)) * 4 * s.remaining_pence[0] for s in SCHEMES)
    expected = -2 * MILLION - shortfall - 0.4 * 300_000 * POUND + 0.75 * 200_000 * POUND
    standard_error = result.year_end.std() / math.sqrt(result.trials)
    assert abs(result.year_end.mean() - expected) < 4 * standard_error
    assert float(tested.expected_surplus()) == pytest.approx(expected, abs=1)


def test_variance_of_independent_schemes_risks_and_spend_by_formula() -> None:
    kappa = 4
    risks = (risk(RiskKind.RISK, "0.3", 400_000 * POUND),)
    spend = (SpendUncertainty("price", 30 * MILLION, Decimal("0.03")),)
    tested = model(schemes=SCHEMES, risks=risks, spend=spend, correlation=Decimal(0), concentration=Decimal(kappa))
    result = mc.simulate(tested, 40_000, seed=12)
    # Var(Beta with mean c, concentration κ) = c(1 − c)/(κ + 1); a Bernoulli risk p(1 − p)v²; the multiplier (sd·x)²
    variance = sum(
        float(s.confidence) * (1 - float(s.confidence)) / (kappa + 1) * (4 * s.remaining_pence[0]) ** 2 for s in SCHEMES
    )
    variance += 0.3 * 0.7 * (400_000 * POUND) ** 2 + (0.03 * 30 * MILLION) ** 2
    assert result.year_end.var() == pytest.approx(variance, rel=0.04)  # the estimate's own error is about 1%


def test_a_single_mitigation_meets_the_control_total_with_its_likelihood() -> None:
    # £1m short of the control total: only the £2m mitigation landing meets it
    tested = model(forecast_surplus_pence=-4 * MILLION, risks=(risk(RiskKind.MITIGATION, "0.35", 2 * MILLION),))
    result = mc.simulate(tested, 20_000, seed=13)
    p = mc.p_meet(result)
    assert abs(p - 0.35) < 4 * math.sqrt(0.35 * 0.65 / result.trials)


def test_a_single_risk_misses_the_control_total_with_its_likelihood() -> None:
    tested = model(risks=(risk(RiskKind.RISK, "0.2", 3 * MILLION),))
    result = mc.simulate(tested, 20_000, seed=14)
    assert abs(mc.p_meet(result) - 0.8) < 4 * math.sqrt(0.2 * 0.8 / result.trials)
    assert set(np.unique(result.year_end)) == {-2 * MILLION, -5 * MILLION}


def test_triangular_risk_values_follow_the_triangular_distribution() -> None:
    low, mode, high = 100_000 * POUND, 150_000 * POUND, 400_000 * POUND
    result = mc.simulate(model(risks=(risk(RiskKind.RISK, "1", low, mode, high),)), 20_000, seed=15)
    values = -result.drivers[:, result.model.driver_names.index(mc.RISKS)]
    reference = stats.triang((mode - low) / (high - low), loc=low, scale=high - low)
    assert stats.kstest(values, reference.cdf).pvalue > 1e-3


def test_no_uncertainty_gives_the_deterministic_figure_in_every_trial() -> None:
    tested = model(schemes=SCHEMES, concentration=NO_UNCERTAINTY, risks=(risk(RiskKind.RISK, "1", 123_456),))
    result = mc.simulate(tested, 3000, seed=16)
    shortfall = 4 * (30_000 * POUND + 125_000 * POUND + 5_000 * POUND + 60_000 * POUND)  # (1 − c) × monthly × 4
    assert np.all(np.abs(result.year_end - (-2 * MILLION - shortfall - 123_456)) < 0.01)


def test_savings_not_in_the_forecast_are_added_as_delivered() -> None:
    tested = model(schemes=SCHEMES, concentration=NO_UNCERTAINTY, savings_in_forecast=False)
    result = mc.simulate(tested, 1024, seed=17)
    delivered = 4 * (70_000 * POUND + 125_000 * POUND + 45_000 * POUND + 20_000 * POUND)  # c × monthly × 4
    assert np.allclose(result.year_end, -2 * MILLION + delivered, atol=0.01)


# --- the delivered fraction and the copula against scipy -------------------------------------------------------


@pytest.mark.parametrize(("confidence", "kappa"), [("0.8", 4), ("0.1", 2), ("0.5", 1), ("0.97", 10)])
def test_delivered_fraction_is_beta_with_mean_the_confidence(confidence: str, kappa: int) -> None:
    remaining = 1_000_000
    tested = model(
        schemes=(scheme("A", "x", remaining, confidence),), concentration=Decimal(kappa), correlation=Decimal(0)
    )
    result = mc.simulate(tested, 20_000, seed=21)
    fraction = 1 + result.drivers[:, 0] / (4 * remaining)
    c = float(confidence)
    # 20 bins of equal probability under scipy's Beta: a chi-square test (float32 rounding moves fractions by
    # less than 1e-8, which a KS test near 0 would see for a Beta with a < 1; money does not)
    edges = stats.beta(kappa * c, kappa * (1 - c)).ppf(np.linspace(0, 1, 21))
    counts, _ = np.histogram(np.clip(fraction, 0, 1), bins=edges)
    assert stats.chisquare(counts).pvalue > 1e-3
    # the tables are bin means: their mean is the confidence exactly
    table = result.model.tables[:4096].astype(np.float64) + c
    mass = np.diff(special.ndtr((np.arange(4097) - 0.5 - 2048) / mc.Z_SCALE))
    assert float((table * mass).sum()) == pytest.approx(c, abs=1e-6)


def test_all_or_nothing_delivers_in_full_with_probability_the_confidence() -> None:
    tested = model(schemes=(scheme("A", "x", 1000, "0.3"),), concentration=Decimal(0))
    fraction = 1 + mc.simulate(tested, 20_000, seed=22).drivers[:, 0] / 4000
    assert set(np.round(np.unique(fraction), 6)) == {0.0, 1.0}
    assert abs(fraction.mean() - 0.3) < 4 * math.sqrt(0.21 / 20_000) + 0.001  # 0 or 1 by the bin's centre


def test_schemes_in_a_workstream_are_correlated_as_the_copula_says() -> None:
    rho, kappa, c = 0.5, 4.0, 0.7
    tested = model(
        schemes=(scheme("A", "w", 1000, "0.7"), scheme("B", "w", 1000, "0.7"), scheme("C", "v", 1000, "0.7")),
        correlation=Decimal("0.5"),
        concentration=Decimal(4),
    )
    result = mc.simulate(tested, 30_000, seed=23)
    same = result.drivers[:, tested.workstreams.index("w")]  # A + B
    other = result.drivers[:, tested.workstreams.index("v")]
    # reference: an independent sample of the same copula with scipy's exact Beta quantile
    rng = np.random.default_rng(99)
    shared = rng.standard_normal(200_000)
    z = math.sqrt(rho) * shared[:, None] + math.sqrt(1 - rho) * rng.standard_normal((200_000, 2))
    fractions = stats.beta(kappa * c, kappa * (1 - c)).ppf(special.ndtr(z))
    reference_variance = fractions.sum(axis=1).var() * 4000**2
    assert same.var() == pytest.approx(reference_variance, rel=0.05)
    assert abs(np.corrcoef(same, other)[0, 1]) < 0.03


# --- a plain-Python loop with the documented draws -------------------------------------------------------------


def test_matches_a_plain_python_loop_over_the_documented_draws() -> None:
    schemes = (
        scheme("A", "b", 100_000, "0.7"),
        SchemeInput("B", "a", (10_000, 20_000, 30_000, 40_000), Decimal("0.5")),
        scheme("C", "b", 50_000, "0.9"),
    )
    risks = (risk(RiskKind.RISK, "0.4", 10_000, 20_000, 40_000), risk(RiskKind.MITIGATION, "0.5", 15_000))
    spend = (SpendUncertainty("activity growth", 1_000_000, Decimal("0.02")),)
    rho, kappa, trials, seed = 0.4, 3.0, 1500, 31
    tested = model(schemes=schemes, risks=risks, spend=spend, correlation=Decimal("0.4"), concentration=Decimal(3))
    result = mc.simulate(tested, trials, seed)

    ordered = sorted(schemes, key=lambda s: s.workstream)  # the documented column order: by workstream, stable
    groups = sorted({s.workstream for s in schemes})
    expected_monthly, expected_savings = [], []
    for block, child in enumerate(np.random.SeedSequence(seed).spawn(2)):
        n = min(1024, trials - block * 1024)
        rng = np.random.Generator(np.random.PCG64(child))
        factors = rng.standard_normal((n, len(groups)))
        raw = [int(value) for value in rng.bit_generator.random_raw(-(-n * 3 // 4))]
        bits = [(value >> (16 * quarter)) & 0xFFFF for value in raw for quarter in range(4)]
        landing, value_u, spend_z = rng.random((n, 2)), rng.random((n, 2)), rng.standard_normal((n, 1))
        for t in range(n):
            months = [0.0] * 4
            savings = 0.0
            for j, s in enumerate(ordered):
                e = special.ndtri((bits[t * 3 + j] + 0.5) / 65536)
                z = math.sqrt(rho) * factors[t, groups.index(s.workstream)] + math.sqrt(1 - rho) * e
                c = float(s.confidence)
                f = stats.beta.ppf(special.ndtr(z), kappa * c, kappa * (1 - c))
                for m in range(4):
                    months[m] -= (1 - f) * s.remaining_pence[m]
                savings -= (1 - f) * s.remaining_total_pence
            u = value_u[t, 0]
            risk_value = (
                10_000 + math.sqrt(u * 30_000 * 10_000) if u < 1 / 3 else 40_000 - math.sqrt((1 - u) * 30_000 * 20_000)
            )
            others = -risk_value * (landing[t, 0] < 0.4) + 15_000 * (landing[t, 1] < 0.5) - 0.02 * spend_z[t, 0] * 1e6
            expected_monthly.append([value + others / 4 for value in months])
            expected_savings.append(savings)
    monthly = np.array(expected_monthly)
    remaining = sum(s.remaining_total_pence for s in schemes)
    difference = np.abs(result.monthly.sum(axis=1) - monthly.sum(axis=1))
    assert difference.max() < 0.02 * remaining  # table look-up against scipy's exact quantile, per trial
    assert difference.mean() < 0.002 * remaining
    assert np.abs(result.monthly - monthly).max() < 0.02 * remaining
    savings_columns = result.drivers[:, : len(groups)].sum(axis=1)
    assert np.abs(savings_columns - np.array(expected_savings)).max() < 0.02 * remaining


# --- reproducibility -----------------------------------------------------------------------------------------


def test_same_seed_same_result_whatever_the_chunk_size_or_threads() -> None:
    tested = model(schemes=SCHEMES, risks=(risk(RiskKind.RISK, "0.5", 1000),))
    reference = mc.simulate(tested, 5000, seed=41, chunk_trials=5000, workers=1)
    for chunk, workers in ((1024, 1), (2048, 2), (3072, 2), (100_000, 2)):
        again = mc.simulate(tested, 5000, seed=41, chunk_trials=chunk, workers=workers)
        assert np.array_equal(again.monthly, reference.monthly)
        assert np.array_equal(again.drivers, reference.drivers)
    assert not np.array_equal(mc.simulate(tested, 5000, seed=42).monthly, reference.monthly)


def test_fan_chart_opens_out_and_ends_at_the_year_end_distribution() -> None:
    result = mc.simulate(model(schemes=SCHEMES), 5000, seed=43)
    fan = mc.fan_chart(result)
    assert [point.month for point in fan] == list(MONTHS)
    widths = [point.percentiles[-1] - point.percentiles[0] for point in fan]
    assert widths == sorted(widths)
    assert fan[-1].percentiles[2] == pytest.approx(float(np.median(result.year_end)))
    assert all(list(point.percentiles) == sorted(point.percentiles) for point in fan)


def test_tornado_puts_the_widest_driver_first_with_the_normal_swing() -> None:
    spend = (SpendUncertainty("activity growth", 100 * MILLION, Decimal("0.05")),)
    result = mc.simulate(model(schemes=SCHEMES, spend=spend), 40_000, seed=44)
    bars = mc.tornado(result)
    assert bars[0].driver == "activity growth"
    # P90 − P10 of a normal with sd 5% × £100m is 2 × 1.2816 × £5m
    assert bars[0].swing == pytest.approx(2 * 1.28155 * 0.05 * 100 * MILLION, rel=0.03)
    assert sum(bar.variance_share for bar in bars) == pytest.approx(1, abs=0.03)  # independent drivers


@settings(max_examples=20, deadline=None)
@given(
    confidences=st.lists(st.integers(0, 100), min_size=0, max_size=5),
    likelihoods=st.lists(st.integers(0, 100), max_size=3),
    workstreams=st.integers(1, 3),
    seed=st.integers(0, 2**32),
)
def test_months_and_drivers_both_add_up_to_the_year_end(
    confidences: list[int], likelihoods: list[int], workstreams: int, seed: int
) -> None:
    schemes = tuple(
        scheme(f"S{i}", f"w{i % workstreams}", 1000 * (i + 1), str(Decimal(c) / 100)) for i, c in enumerate(confidences)
    )
    risks = tuple(
        risk(RiskKind.RISK if i % 2 else RiskKind.MITIGATION, str(Decimal(p) / 100), 500 * (i + 1))
        for i, p in enumerate(likelihoods)
    )
    result = mc.simulate(model(schemes=schemes, risks=risks), 64, seed)
    surplus = result.model.forecast_surplus
    assert np.allclose(result.cumulative[:, -1], result.year_end)
    assert np.allclose(surplus + result.drivers.sum(axis=1), result.year_end, atol=1e-3)


def test_bad_requests_are_refused() -> None:
    with pytest.raises(ValueError, match="backend"):
        mc.simulate(model(), 10, 1, backend="cupy")
    with pytest.raises(ValueError, match="trial"):
        mc.simulate(model(), 0, 1)
    with pytest.raises(ValueError, match="correlation"):
        model(correlation=Decimal(1))
    with pytest.raises(ValueError, match="one remaining figure per simulated month"):
        model(schemes=(SchemeInput("A", "w", (1, 2), Decimal("0.5")),))
    with pytest.raises(ValueError, match="low"):
        RiskInput("r", RiskKind.RISK, Decimal("0.5"), 10, 5, 20)


# --- the JAX path --------------------------------------------------------------------------------------------


def test_jax_gives_the_same_distribution_within_sampling_error() -> None:
    pytest.importorskip("jax", reason="the optional JAX backend is not installed")
    risks = (risk(RiskKind.RISK, "0.4", 300_000 * POUND),)
    tested = model(schemes=SCHEMES, risks=risks, spend=(SpendUncertainty("price", 10 * MILLION, Decimal("0.03")),))
    numpy_result = mc.simulate(tested, 12_288, seed=51)
    jax_result = mc.simulate(tested, 12_288, seed=51, backend="jax")
    a, b = numpy_result.year_end, jax_result.year_end
    median_error = 1.2533 * a.std() / math.sqrt(a.size)  # standard error of a median, normal approximation
    assert abs(np.median(a) - np.median(b)) < 4 * math.sqrt(2) * median_error
    assert abs(a.mean() - b.mean()) < 4 * math.sqrt(2) * a.std() / math.sqrt(a.size)
    assert stats.ks_2samp(a, b).pvalue > 1e-3
    again = mc.simulate(tested, 12_288, seed=51, backend="jax", chunk_trials=3072)
    assert np.array_equal(again.monthly, jax_result.monthly)


# --- multi-year plans --------------------------------------------------------------------------------------------

YEAR_2 = PlanYear(
    "2026/27", 100 * MILLION, -1 * MILLION, 105 * MILLION, 2 * MILLION, 4 * MILLION, MILLION, Decimal("0.5")
)
YEAR_3 = PlanYear("2027/28", 102 * MILLION, 0, 107 * MILLION)
FIRST = FirstYear("2025/26", -2 * MILLION, -1 * MILLION, 3 * MILLION)


def test_multi_year_plan_by_hand() -> None:
    two, three = project_plan(FIRST, [YEAR_2, YEAR_3])
    # year 2: £1m missed last year comes off the resource; half of £2m + £1m new savings; £3m carried forward
    assert (two.penalty_pence, two.resource_pence) == (MILLION, 99 * MILLION)
    assert (two.carried_forward_pence, two.new_savings_pence) == (3 * MILLION, 1_500_000 * POUND)
    assert two.spend_pence == 100_500_000 * POUND
    assert two.surplus_pence == -1_500_000 * POUND
    assert (two.met, two.shortfall_pence) == (False, 500_000 * POUND)
    # year 3: £0.5m penalty; carried forward £3m + half of the £4m full-year effect
    assert (three.resource_pence, three.carried_forward_pence) == (101_500_000 * POUND, 5 * MILLION)
    assert three.surplus_pence == -500_000 * POUND


def test_multi_year_plan_delivered_in_full_meets_and_carries_the_full_year_effect() -> None:
    two, three = project_plan(FIRST, [YEAR_2, YEAR_3], [Decimal(1), Decimal(1)])
    assert (two.surplus_pence, two.met, two.shortfall_pence) == (0, True, 0)
    assert (three.penalty_pence, three.carried_forward_pence, three.surplus_pence) == (0, 7 * MILLION, 2 * MILLION)
    with pytest.raises(ValueError, match="at most 5"):
        project_plan(FIRST, [YEAR_3] * 5)


def test_simulated_plan_without_uncertainty_is_the_hand_worked_plan() -> None:
    first_surplus = np.full(100, float(FIRST.surplus_pence))
    carried = np.full(100, float(FIRST.carried_forward_pence))
    plan = simulate_plan(first_surplus, carried, float(FIRST.control_total_pence), [YEAR_2, YEAR_3], NO_UNCERTAINTY, 1)
    assert np.all(plan.surplus == [[-1_500_000 * POUND, -500_000 * POUND]])
    assert np.all(plan.penalty == [[MILLION, 500_000 * POUND]])


def test_simulated_plan_mean_and_chance_of_meeting() -> None:
    # all or nothing at 50%: year 2 surplus is 0 (met) or −£3m (missed) with equal chance
    first = np.full(20_000, float(FIRST.surplus_pence))
    carried = np.full(20_000, float(FIRST.carried_forward_pence))
    plan = simulate_plan(first, carried, float(FIRST.control_total_pence), [YEAR_2], Decimal(0), 7)
    assert set(np.unique(plan.surplus[:, 0])) == {0.0, -3 * MILLION}
    assert abs(plan.p_meet()[0] - 0.5) < 4 * math.sqrt(0.25 / 20_000)
    # a Beta share has mean the confidence: the mean surplus is the hand-worked one
    plan = simulate_plan(first, carried, float(FIRST.control_total_pence), [YEAR_2], Decimal(4), 7)
    assert plan.surplus[:, 0].mean() == pytest.approx(-1_500_000 * POUND, abs=4 * plan.surplus[:, 0].std() / 141)


def test_expected_surplus_is_exact_in_fractions() -> None:
    tested = model(schemes=(scheme("A", "w", 1, "0.333"),))
    assert tested.expected_surplus() == -2 * MILLION - Fraction(4 * 667, 1000)
