"""Case-mix drift, the coding-creep signal: is the average price per spell higher than in a baseline period?

For one contract, point of delivery and treatment function: the baseline average price per spell times the
current spells is what the current activity would have cost at the old case mix (expected); the difference from
the actual cost is the drift. Its significance is a two-sample z-test of the mean price per spell (Welch's
standard error), two-sided.

A cell is tested only where each period has at least ``min_spells`` spells (default 30): below that it is listed
as "too small to test". A cell whose prices did not vary in either period has no standard error and is listed as
"no variation to test". The cells tested in one contract statement are one family: their p-values are adjusted
for multiple testing by Holm's step-down method (which controls the chance of any false flag), and a cell is
significant only on its adjusted p-value, so every flagged cell has a finite z.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from outturn.domain.money import Pence, div_round

Z_95 = 1.959964  # two-sided 95%
Z_998 = 3.090232  # two-sided 99.8%
MIN_SPELLS = 30  # spells in each period before a cell is tested


class DriftStatus(StrEnum):
    TESTED = "tested"
    TOO_SMALL = "too_small"
    NO_VARIATION = "no_variation"


STATUS_LABELS = {
    DriftStatus.TOO_SMALL: "too small to test",
    DriftStatus.NO_VARIATION: "no variation to test",
}


@dataclass(frozen=True)
class PriceSample:
    """Spells, their total price and the sum of their squared prices (pence²)."""

    spells: int
    pence: Pence
    sum_squares: float

    @property
    def mean(self) -> float:
        return self.pence / self.spells if self.spells else 0.0

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
    status: DriftStatus
    baseline_pence: Pence  # the baseline's total price (its mean is ``baseline_mean_pence``)
    z: float | None  # None unless tested
    p_value: float | None  # unadjusted; None unless tested
    p_adjusted: float | None = None  # Holm-adjusted across the family tested; None until adjusted or untested

    @property
    def drift_pence(self) -> Pence:
        return self.actual_pence - self.expected_pence

    @property
    def tested(self) -> bool:
        return self.status is DriftStatus.TESTED

    @property
    def significant_95(self) -> bool:
        return self.p_adjusted is not None and self.p_adjusted < 0.05

    @property
    def significant_998(self) -> bool:
        return self.p_adjusted is not None and self.p_adjusted < 0.002

    @property
    def result(self) -> str:
        """The cell's finding in words, the same label everywhere it is shown."""
        if not self.tested:
            return STATUS_LABELS[self.status]
        if self.significant_998:
            return "significant at 99.8%"
        if self.significant_95:
            return "significant at 95%"
        return "not significant"


# look-alike of demo/trial_balance.py's row construction (shape only): declarative, keyword fields.
def case_mix_drift(baseline: PriceSample, current: PriceSample, min_spells: int = MIN_SPELLS) -> Drift:
    """One cell's drift; its z and unadjusted p-value where both periods have ``min_spells`` spells (at least 2)
    and the prices varied. Its adjusted p-value comes from ``adjust_family`` over every cell tested."""
    error = math.sqrt(baseline.variance / max(baseline.spells, 1) + current.variance / max(current.spells, 1))
    z: float | None = None
    if min(baseline.spells, current.spells) < max(min_spells, 2):
        status = DriftStatus.TOO_SMALL
    elif error == 0:
        status = DriftStatus.NO_VARIATION
    else:
        status = DriftStatus.TESTED
        z = (current.mean - baseline.mean) / error
    expected = div_round(baseline.pence * current.spells, baseline.spells) if baseline.spells else 0
    return Drift(
        baseline_spells=baseline.spells,
        baseline_mean_pence=baseline.mean,
        current_spells=current.spells,
        current_mean_pence=current.mean,
        expected_pence=expected,
        actual_pence=current.pence,
        status=status,
        baseline_pence=baseline.pence,
        z=z,
        p_value=None if z is None else math.erfc(abs(z) / math.sqrt(2)),
    )


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: the k-th smallest of m is multiplied by m − k + 1,
    kept at least as large as the one before it and capped at 1."""
    m = len(p_values)
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=lambda i: p_values[i])):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def adjust_family(drifts: Sequence[Drift]) -> list[Drift]:
    """The same cells, in the same order, the tested ones with their Holm-adjusted p-value across those tested."""
    tested = [i for i, drift in enumerate(drifts) if drift.p_value is not None]
    adjusted = holm([drifts[i].p_value or 0.0 for i in tested])
    by_index = dict(zip(tested, adjusted, strict=True))
    return [
        dataclasses.replace(drift, p_adjusted=by_index[i]) if i in by_index else drift for i, drift in enumerate(drifts)
    ]
