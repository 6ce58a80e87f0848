"""Funnel plots: limits, overdispersion and outliers against FunnelPlotR's published test figures and formulas
computed independently here; the ``outturn funnel`` command and its input checks."""

from __future__ import annotations

import itertools
import json
import math
import statistics as pystats
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta, gamma, norm
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.problems import ProblemsError
from outturn.services.statistics import read_funnel_groups
from outturn.stats.funnel import (
    FunnelGroup,
    FunnelKind,
    FunnelLimits,
    OutlierLimit,
    RatioMethod,
    Side,
    funnel,
    outlier_side,
    poisson_limits,
)
from outturn.stats.funnel_dispersion import kept_after_truncation

# nhs-r-community/FunnelPlotR tests/testthat/test-funnel_plot.R and test-classes_methods.R: six trusts.
OBSERVED = (100, 150, 180, 80, 120, 225)
EXPECTED = (108, 112, 165, 95, 100, 220)
Z_95, Z_998 = norm.ppf(0.975), norm.ppf(0.999)


def six_trusts() -> list[FunnelGroup]:
    return [FunnelGroup(name, o, e) for name, o, e in zip("abcdef", OBSERVED, EXPECTED, strict=True)]


def dersimonian_laird(z_scores: list[float], errors: list[float]) -> tuple[float, float]:
    """φ and τ² written out from Spiegelhalter (2012), for comparison."""
    n = len(z_scores)
    phi = sum(z * z for z in z_scores) / n
    weights = [1 / (s * s) for s in errors]
    if n * phi < n - 1:
        return phi, 0.0
    return phi, max(0.0, (n * phi - (n - 1)) / (sum(weights) - sum(w * w for w in weights) / sum(weights)))


# --- FunnelPlotR's published figures ---------------------------------------------------------------------------


def test_poisson_limits_match_funnelplotr() -> None:
    # nhs-r-community/FunnelPlotR tests/testthat/test-poisson_limits.R: calculate_limits at 15, 20 and 30 expected
    limits = poisson_limits(np.array([15.0, 20.0, 30.0]))
    assert np.round(limits[0], 7).tolist() == [0.5596924, 0.6108260, 0.6746958]
    assert np.round(limits[1], 6).tolist() == [1.649348, 1.544419, 1.427562]
    assert np.round(limits[2], 7).tolist() == [0.3862650, 0.4479107, 0.5289724]
    assert np.round(limits[3], 6).tolist() == [2.082907, 1.902094, 1.702771]


def test_poisson_limits_are_the_exact_gamma_quantiles() -> None:
    # O ~ Poisson(E): the exact limits for O/E are Gamma(E) and Gamma(E + 1) quantiles over E.
    for expected in (0.5, 3.0, 42.0, 1234.5):
        limits = poisson_limits(np.array([expected]))[:, 0]
        assert limits[0] == pytest.approx(gamma.ppf(0.025, expected) / expected, rel=1e-9)
        assert limits[1] == pytest.approx(gamma.ppf(0.975, expected + 1) / expected, rel=1e-9)
        assert limits[2] == pytest.approx(gamma.ppf(0.001, expected) / expected, rel=1e-9)
        assert limits[3] == pytest.approx(gamma.ppf(0.999, expected + 1) / expected, rel=1e-9)


def test_dispersion_ratio_matches_funnelplotr_default() -> None:
    # nhs-r-community/FunnelPlotR tests/testthat/test-classes_methods.R: round(phi(a), 6) == 2.948033 for the
    # default funnel_plot (standardised ratios, SHMI method).
    result = funnel(six_trusts(), FunnelKind.RATIO)
    assert round(result.phi, 6) == 2.948033
    assert result.groups_in_phi == 6  # six groups: none falls in the truncated first or last band


def test_shmi_adjusted_limits_follow_dersimonian_laird() -> None:
    result = funnel(six_trusts(), FunnelKind.RATIO)
    z_scores = [math.sqrt(e) * math.log(o / e) for o, e in zip(OBSERVED, EXPECTED, strict=True)]
    _, tau2 = dersimonian_laird(z_scores, [1 / math.sqrt(e) for e in EXPECTED])
    assert result.tau2 == pytest.approx(tau2, rel=1e-12) and tau2 > 0
    assert result.overdispersion_applied
    for point, o, e, z in zip(result.points, OBSERVED, EXPECTED, z_scores, strict=True):
        spread = math.sqrt(1 / e + tau2)
        assert point.value == pytest.approx(o / e)
        assert point.z == pytest.approx(z)
        assert point.z_adjusted == pytest.approx(math.log(o / e) / spread)
        assert point.limits.lower_95 == pytest.approx(math.exp(-Z_95 * spread), rel=1e-6)
        assert point.limits.upper_998 == pytest.approx(math.exp(Z_998 * spread), rel=1e-6)
    # FunnelPlotR test-funnel_plot.R: the unadjusted lower 95% limit of group e lies above the adjusted one
    unadjusted = funnel(six_trusts(), FunnelKind.RATIO, overdispersion=False)
    assert unadjusted.points[4].limits.lower_95 > result.points[4].limits.lower_95


def test_cqc_method_winsorises_on_the_square_root_scale() -> None:
    result = funnel(six_trusts(), FunnelKind.RATIO, ratio_method=RatioMethod.CQC)
    z_scores = [(math.sqrt(o / e) - 1) * 2 * math.sqrt(e) for o, e in zip(OBSERVED, EXPECTED, strict=True)]
    low, *_, high = pystats.quantiles(z_scores, n=10, method="inclusive")  # R's type-7 10% and 90%
    clipped = [min(max(z, low), high) for z in z_scores]
    phi, tau2 = dersimonian_laird(clipped, [1 / (2 * math.sqrt(e)) for e in EXPECTED])
    assert result.phi == pytest.approx(phi, rel=1e-12)
    assert result.tau2 == pytest.approx(tau2, rel=1e-12)
    for point, e in zip(result.points, EXPECTED, strict=True):
        spread = math.sqrt(1 / (4 * e) + tau2)
        assert point.limits.lower_95 == pytest.approx((1 - Z_95 * spread) ** 2, rel=1e-6)
        assert point.limits.upper_998 == pytest.approx((1 + Z_998 * spread) ** 2, rel=1e-6)


@pytest.mark.parametrize(
    ("adjusted", "limit", "expected"),
    [
        (False, OutlierLimit.LIMIT_95, [0, 0, 0, 1, 1, 1, 1, 1, 1, 1]),
        (True, OutlierLimit.LIMIT_95, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]),
        (False, OutlierLimit.LIMIT_998, [0, 0, 0, 0, 0, 0, 0, 1, 1, 1]),
        (True, OutlierLimit.LIMIT_998, [0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
    ],
)
def test_outlier_flags_match_funnelplotr(adjusted: bool, limit: OutlierLimit, expected: list[int]) -> None:
    # nhs-r-community/FunnelPlotR tests/testthat/test-outliers_func.R
    ratios = [1, 0.95, 1.05, 0.8, 1.2, 0.6, 1.4, 0.4, 1.6, 0]
    limits = FunnelLimits(0.79, 1.21, 0.38, 1.62) if adjusted else FunnelLimits(0.9, 1.1, 0.59, 1.41)
    assert [int(outlier_side(r, limits, limit) is not None) for r in ratios] == expected


# --- proportions and rates, by hand ------------------------------------------------------------------------------


def test_proportion_limits_are_arcsine_and_close_to_exact_binomial() -> None:
    groups = [FunnelGroup("a", 200, 1000), FunnelGroup("b", 205, 1000), FunnelGroup("c", 195, 1000)]
    result = funnel(groups, FunnelKind.PROPORTION)
    assert result.target == pytest.approx(0.2)
    assert not result.overdispersion_applied  # the three are closer than chance: τ² = 0
    limits = result.points[0].limits
    centre, s = math.asin(math.sqrt(0.2)), 1 / (2 * math.sqrt(1000))
    assert limits.upper_95 == pytest.approx(math.sin(centre + Z_95 * s) ** 2, rel=1e-6)
    # exact binomial limits (Clopper–Pearson-style beta quantiles at the target) agree within 0.3 points
    assert limits.lower_95 == pytest.approx(beta.ppf(0.025, 200, 801), abs=0.003)
    assert limits.upper_998 == pytest.approx(beta.ppf(0.999, 201, 800), abs=0.003)
    assert result.points[1].z == pytest.approx((math.asin(math.sqrt(0.205)) - centre) / s)


def test_proportion_limits_stay_between_0_and_1() -> None:
    groups = [FunnelGroup("tiny", 1, 2), FunnelGroup("big", 500, 1000), FunnelGroup("c", 3, 5)]
    result = funnel(groups, FunnelKind.PROPORTION, overdispersion=False)
    tiny = result.points[0].limits
    assert tiny.lower_998 == 0.0 and tiny.upper_998 == 1.0


def test_rate_limits_are_exact_poisson_at_the_expected_count() -> None:
    groups = [FunnelGroup("a", 30, 1000), FunnelGroup("b", 52, 2000), FunnelGroup("c", 83, 3000)]
    result = funnel(groups, FunnelKind.RATE, multiplier=1000)
    rate = 165 / 6000
    assert result.target == pytest.approx(rate * 1000)
    assert not result.overdispersion_applied
    for point, n in zip(result.points, (1000, 2000, 3000), strict=True):
        expected = rate * n
        assert point.value == pytest.approx(point.numerator / n * 1000)
        assert point.limits.lower_95 == pytest.approx(1000 * rate * gamma.ppf(0.025, expected) / expected)
        assert point.limits.upper_998 == pytest.approx(1000 * rate * gamma.ppf(0.999, expected + 1) / expected)
        assert point.z == pytest.approx((math.sqrt(point.numerator / n) - math.sqrt(rate)) * 2 * math.sqrt(n))


def test_a_rate_is_a_square_root_ratio_against_its_expected_count() -> None:
    rates = [FunnelGroup("a", 30, 1000), FunnelGroup("b", 90, 2000), FunnelGroup("c", 45, 3000)]
    target = 165 / 6000
    ratios = [FunnelGroup(g.group, g.numerator, target * g.denominator) for g in rates]
    by_rate = funnel(rates, FunnelKind.RATE)
    by_ratio = funnel(ratios, FunnelKind.RATIO, ratio_method=RatioMethod.CQC)
    assert [p.z for p in by_rate.points] == pytest.approx([p.z for p in by_ratio.points])
    assert by_rate.phi == pytest.approx(by_ratio.phi)
    assert by_rate.tau2 == pytest.approx(target * by_ratio.tau2)


def test_without_adjustment_the_unadjusted_limits_are_used_and_phi_still_reported() -> None:
    result = funnel(six_trusts(), FunnelKind.RATIO, overdispersion=False)
    assert not result.overdispersion_applied and result.phi == pytest.approx(2.948033, abs=1e-6)
    limits = poisson_limits(np.array([108.0]))[:, 0]
    assert result.points[0].limits.lower_95 == pytest.approx(limits[0])
    assert result.points[0].z_adjusted == result.points[0].z
    assert [p.outlier for p in result.points] == [None, Side.HIGH, None, None, None, None]


def test_truncation_drops_the_first_and_last_tenth_by_rank() -> None:
    z_scores = np.array([float(v) for v in (5, -3, 0, 1, 2, 3, 4, -4, 6, 7, 8, 9, -1, -2, 10, 11, 12, 13, 14, -5)])
    kept = kept_after_truncation(z_scores)
    # ranks 1-2 fall in band floor(r × 10 / 21) = 0, ranks 19-20 in band 9: dropped
    assert sorted(z_scores[~kept].tolist()) == [-5.0, -4.0, 13.0, 14.0]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 500), st.integers(1, 5000)), min_size=2, max_size=25),
    st.sampled_from(list(FunnelKind)),
    st.booleans(),
)
def test_limits_nest_and_narrow_as_the_denominator_grows(
    counts: list[tuple[int, int]], kind: FunnelKind, overdispersion: bool
) -> None:
    groups = [FunnelGroup(f"g{i}", min(o, n), n) for i, (o, n) in enumerate(counts)]
    result = funnel(groups, kind, overdispersion=overdispersion, ratio_method=RatioMethod.CQC)
    grid = [1.0, 10.0, 100.0, 1000.0, 10000.0]
    curve = result.limits_at(grid)
    for limits in curve:
        assert limits.lower_998 <= limits.lower_95 <= result.target * (1 + 1e-9)
        assert result.target <= limits.upper_95 * (1 + 1e-9) <= limits.upper_998 * (1 + 1e-9)
    for wider, narrower in itertools.pairwise(curve):
        assert wider.lower_95 <= narrower.lower_95 + 1e-12 and wider.upper_95 >= narrower.upper_95 - 1e-12


# --- the file and the command ------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "groups.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_funnel_command_json(tmp_path: Path) -> None:
    rows = "".join(f"{g},{o},{e}\n" for g, o, e in zip("abcdef", OBSERVED, EXPECTED, strict=True))
    path = write(tmp_path, "Group,Numerator,Denominator\n" + rows)
    result = CliRunner().invoke(app, ["funnel", "--input", str(path), "--type", "ratio", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["type"] == "ratio" and document["ratio_method"] == "shmi" and document["target"] == 1.0
    assert round(document["overdispersion"]["phi"], 6) == 2.948033
    assert document["overdispersion"]["applied"] is True
    first = document["points"][0]
    assert set(first) >= {"group", "value", "z", "lower_95", "upper_95", "lower_998", "upper_998", "outlier"}
    assert first["group"] == "a" and first["value"] == pytest.approx(100 / 108)


@pytest.mark.parametrize(
    ("text", "kind", "row", "column", "reason"),
    [
        ("group,numerator\na,1\n", "rate", 1, None, "missing column(s): denominator"),
        ("group,numerator,denominator\na,x,10\nb,1,10\n", "rate", 2, "numerator", "not a number"),
        ("group,numerator,denominator\na,1,-10\nb,1,10\n", "rate", 2, "denominator", "greater than 0"),
        ("group,numerator,denominator\na,1,10\nb,11,10\n", "proportion", 3, "numerator", "exceeds its denominator"),
        ("group,numerator,denominator\na,1,10\na,2,10\n", "rate", 3, "group", "appears more than once"),
        ("group,numerator,denominator\na,1,10\n", "rate", None, None, "at least 2 groups"),
        ("group,numerator,denominator\na,0,10\nb,1,10\n", "ratio", 2, "numerator", "SHMI"),
    ],
)
def test_bad_input_names_file_row_column_and_reason(
    tmp_path: Path, text: str, kind: str, row: int | None, column: str | None, reason: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ProblemsError) as raised:
        read_funnel_groups(path, FunnelKind(kind))
    problem = raised.value.problems[0]
    assert (problem.source, problem.row, problem.column) == ("groups.csv", row, column)
    assert reason in problem.reason
    result = CliRunner().invoke(app, ["funnel", "--input", str(path), "--type", kind, "--format", "json"])
    assert result.exit_code == 2
    assert reason in json.loads(result.stdout)["problems"][0]["reason"]


def test_every_bad_row_is_reported_together(tmp_path: Path) -> None:
    path = write(tmp_path, "group,numerator,denominator\na,5,4\nb,-1,10\nc,1,0\n")
    with pytest.raises(ProblemsError) as raised:
        read_funnel_groups(path, FunnelKind.PROPORTION)
    assert [(p.row, p.column) for p in raised.value.problems] == [
        (2, "numerator"),
        (3, "numerator"),
        (4, "denominator"),
    ]


def test_an_unknown_chart_type_is_refused_before_any_work(tmp_path: Path) -> None:
    path = write(tmp_path, "group,numerator,denominator\na,1,10\nb,2,10\n")
    result = CliRunner().invoke(app, ["funnel", "--input", str(path), "--type", "rate", "--chart", "x.jpg"])
    assert result.exit_code == 2 and ".svg, .png or .html" in result.output
