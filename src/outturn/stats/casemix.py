"""Case-mix drift, the coding-creep signal: is the average price per spell higher than in a baseline period?

For one contract, point of delivery and treatment function: the baseline average price per spell times the
current spells is what the current activity would have cost at the old case mix (expected); the difference from
the actual cost is the drift. Its significance is a two-sample z-test of the mean price per spell (Welch's
standard error), two-sided.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from outturn.domain.money import Pence, div_round

Z_95 = 1.959964  # two-sided 95%
Z_998 = 3.090232  # two-sided 99.8%


@dataclass(frozen=True)
class PriceSample:
    """Spells, their total price and the sum of their squared prices (pence²)."""

    spells: int
    pence: Pence
    sum_squares: float

    @property
    def mean(self) -> float:
        return self.pence / self.spells

    @property
    def variance(self) -> float:
        """The sample variance of the price per spell (n − 1 in the denominator)."""
        if self.spells < 2:
            return 0.0
        return max(self.sum_squares - self.spells * self.mean**2, 0.0) / (self.spells - 1)


@dataclass(frozen=True)
class Drift:
    baseline_spells: int
    baseline_mean_pence: float
    current_spells: int
    current_mean_pence: float
    expected_pence: Pence
    actual_pence: Pence
    z: float
    p_value: float

    @property
    def drift_pence(self) -> Pence:
        return self.actual_pence - self.expected_pence

    @property
    def significant_95(self) -> bool:
        return abs(self.z) > Z_95

    @property
    def significant_998(self) -> bool:
        return abs(self.z) > Z_998


def case_mix_drift(baseline: PriceSample, current: PriceSample) -> Drift | None:
    """None where either period has fewer than two spells (no variance to test against)."""
    if baseline.spells < 2 or current.spells < 2:
        return None
    error = math.sqrt(baseline.variance / baseline.spells + current.variance / current.spells)
    difference = current.mean - baseline.mean
    z = difference / error if error else (0.0 if difference == 0 else math.copysign(math.inf, difference))
    return Drift(
        baseline_spells=baseline.spells,
        baseline_mean_pence=baseline.mean,
        current_spells=current.spells,
        current_mean_pence=current.mean,
        expected_pence=div_round(baseline.pence * current.spells, baseline.spells),
        actual_pence=current.pence,
        z=z,
        p_value=math.erfc(abs(z) / math.sqrt(2)),
    )
