"""Case-mix drift: a minimum cell size, a z for every flagged cell, and Holm's adjustment across the cells tested.

Every expected figure is worked by hand in the test; p-values come from ``statistics.NormalDist``, not the code's
``erfc``.
"""

from __future__ import annotations

import math
import statistics

import pytest

from outturn.reports.contracts import drift_document
from outturn.stats.casemix import MIN_SPELLS, PriceSample, adjust_family, case_mix_drift, holm


def sample(prices: list[int]) -> PriceSample:
    return PriceSample(len(prices), sum(prices), float(sum(p * p for p in prices)))


def two_sided_p(z: float) -> float:
    return 2 * (1 - statistics.NormalDist().cdf(abs(z)))


# 40 spells: 20 at £1,000 and 20 at £1,200 (mean £1,100). Each price is £100 (10,000p) from the mean, so the
# sum of squared deviations is 40 × 10,000² = 4 × 10⁹ and the sample variance 4 × 10⁹ / 39.
BASELINE = [100_000] * 20 + [120_000] * 20


def shifted(pence: int) -> list[int]:
    return [price + pence for price in BASELINE]


def test_a_two_spell_cell_is_too_small_to_test_and_never_flagged() -> None:
    # The demo's RDU × 15A, treatment function 160, day case: two spells a period, each at one price, so no
    # variance, and the old code gave z = ∞ (shown as null), p = 0 and "significant at 99.8%".
    cell = case_mix_drift(sample([150_000, 150_000]), sample([300_000, 300_000]))
    [adjusted] = adjust_family([cell])
    assert MIN_SPELLS == 30
    assert adjusted.z is None and adjusted.p_value is None and adjusted.p_adjusted is None
    assert not adjusted.significant_95 and not adjusted.significant_998
    document = drift_document("day_case", "160", adjusted)
    assert document["status"] == "too_small"
    assert document["result"] == "too small to test"
    assert (document["z"], document["p_value"], document["p_value_adjusted"]) == (None, None, None)
    assert (document["significant_95"], document["significant_998"]) == (False, False)
    # its money is still shown: 2 spells at the old £1,500 would have cost £3,000; they cost £6,000
    assert (document["expected_pence"], document["actual_pence"], document["drift_pence"]) == (
        300_000,
        600_000,
        300_000,
    )


def test_a_cell_below_the_minimum_in_one_period_only_is_not_tested() -> None:
    # 40 spells now but 29 then: one period short of 30 is enough to leave the cell untested.
    cell = case_mix_drift(sample(BASELINE[:29]), sample(shifted(50_000)))
    assert cell.status == "too_small" and cell.z is None
    # the same cell is tested when the minimum is lowered to 29
    assert case_mix_drift(sample(BASELINE[:29]), sample(shifted(50_000)), min_spells=29).status == "tested"


def test_a_large_cell_with_a_known_shift_has_the_hand_computed_z() -> None:
    # Every current price £100 higher: the mean moves by 10,000p and the variance is unchanged.
    # Welch's standard error: √(2 × (4 × 10⁹ / 39) / 40) = √(2 × 10⁸ / 39); z = 10,000 / that = √(39 / 2) ≈ 4.4159.
    [cell] = adjust_family([case_mix_drift(sample(BASELINE), sample(shifted(10_000)))])
    z = math.sqrt(39 / 2)
    assert cell.z == pytest.approx(z, rel=1e-9)
    assert cell.p_value == pytest.approx(two_sided_p(z), rel=1e-6)  # ≈ 1.0 × 10⁻⁵
    assert cell.p_adjusted == cell.p_value  # one cell tested: Holm multiplies by 1
    document = drift_document("elective", "110", cell)
    assert document["status"] == "tested"
    assert document["z"] == round(z, 3) == 4.416
    assert document["result"] == "significant at 99.8%" and document["significant_998"]
    # expected: 40 spells at the old mean £1,100 = £44,000; actual 40 at £1,200 = £48,000; drift £4,000
    assert (document["expected_pence"], document["actual_pence"], document["drift_pence"]) == (
        4_400_000,
        4_800_000,
        400_000,
    )


def test_a_cell_with_no_variation_is_not_tested() -> None:
    # 30 spells at one price then, 30 at another now: no standard error, so no z and no flag.
    cell = case_mix_drift(sample([100_000] * 30), sample([120_000] * 30))
    assert cell.status == "no_variation" and cell.z is None
    assert drift_document("elective", "110", adjust_family([cell])[0])["result"] == "no variation to test"


def test_holm_by_hand() -> None:
    # p = 0.03, 0.01, 0.2, 0.04, 0.5 (m = 5). In ascending order each is multiplied by m − rank + 1:
    # 0.01 × 5 = 0.05; 0.03 × 4 = 0.12; 0.04 × 3 = 0.12; 0.2 × 2 = 0.4; 0.5 × 1 = 0.5 (already non-decreasing).
    assert holm([0.03, 0.01, 0.2, 0.04, 0.5]) == pytest.approx([0.12, 0.05, 0.4, 0.12, 0.5])
    # The running maximum: 0.01 × 3 = 0.03, 0.011 × 2 = 0.022 → raised to 0.03, 0.9 × 1 = 0.9; and the cap at 1.
    assert holm([0.011, 0.01, 0.9]) == pytest.approx([0.03, 0.03, 0.9])
    # 0.4 × 2 = 0.8; 0.6 × 1 = 0.6, raised to 0.8 to keep the order
    assert holm([0.4, 0.6]) == pytest.approx([0.8, 0.8])
    assert holm([0.5, 0.6, 0.7]) == pytest.approx([1.0, 1.0, 1.0])


def test_the_adjustment_turns_a_marginal_p_among_many_cells_into_not_significant() -> None:
    # A £50 shift: z = 5,000 / √(2 × 10⁸ / 39) = √(39 / 8) ≈ 2.208, p ≈ 0.0273, significant at 95% on its own.
    marginal = case_mix_drift(sample(BASELINE), sample(shifted(5_000)))
    z = math.sqrt(39 / 8)
    p = two_sided_p(z)
    assert marginal.z == pytest.approx(z, rel=1e-9) and p < 0.05
    [alone] = adjust_family([marginal])
    assert alone.significant_95 and alone.result == "significant at 95%"
    # Among nine unmoved cells (z = 0, p = 1) and one too small to test: ten cells tested, so Holm multiplies the
    # smallest p by 10: ≈ 0.273, not significant. The too-small cell is not counted in the family.
    unmoved = case_mix_drift(sample(BASELINE), sample(BASELINE))
    small = case_mix_drift(sample([100_000, 100_000]), sample([200_000, 200_000]))
    family = adjust_family([small, marginal, *[unmoved] * 9])
    assert family[1].p_adjusted == pytest.approx(10 * p, rel=1e-6)
    assert not family[1].significant_95 and family[1].result == "not significant"
    assert family[1].z == pytest.approx(z, rel=1e-9)  # the z is kept; only the verdict changes
    assert all(cell.p_adjusted == 1.0 for cell in family[2:])
    assert family[0].p_adjusted is None and family[0].result == "too small to test"
