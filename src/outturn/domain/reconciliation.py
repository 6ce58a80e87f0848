"""The reconciliation of the simulated year-end to the deterministic one: a bridge from the risk-adjusted forecast
(likely) to the simulated expected (mean), one named step per source of uncertainty, that sums to the penny.

Each item's step is its simulated mean effect on the surplus (the mean over the trials of that driver's draw, to
the penny) less the same item in the likely (a risk's likelihood × value, the savings' risk-adjusted shortfall;
nothing for activity and prices, whose multipliers have mean 1). What the named steps leave, the interaction and
rounding of the parts, is a last step named as such, so the bridge ends exactly on the simulated mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from outturn.domain.money import Pence
from outturn.domain.position import BridgeStep
from outturn.domain.year_end import LIKELY, RECONCILE_RESIDUAL, SIMULATED_MEAN


@dataclass(frozen=True)
class ReconcilingItem:
    """One source of uncertainty: its simulated mean effect, its effect in the likely, the standard error of the
    simulated mean."""

    label: str
    simulated_pence: Pence
    deterministic_pence: Pence
    standard_error_pence: Pence = 0

    @property
    def difference_pence(self) -> Pence:
        return self.simulated_pence - self.deterministic_pence


@dataclass(frozen=True)
class Reconciliation:
    steps: tuple[BridgeStep, ...]
    standard_errors_pence: tuple[Pence | None, ...]  # per step: the item's, the mean's for the ends, None otherwise
    likely_pence: Pence
    simulated_mean_pence: Pence
    standard_error_pence: Pence  # of the simulated mean

    @property
    def difference_pence(self) -> Pence:
        return self.simulated_mean_pence - self.likely_pence

    @property
    def residual_pence(self) -> Pence:
        return self.steps[-2].pence


def reconcile(
    likely_pence: Pence,
    simulated_mean_pence: Pence,
    items: Sequence[ReconcilingItem],
    standard_error_pence: Pence,
) -> Reconciliation:
    """Likely, each item's difference, the residual, the simulated mean: the running total ends on the mean."""
    steps = [BridgeStep(LIKELY, likely_pence, "start", likely_pence)]
    errors: list[Pence | None] = [None]
    running = likely_pence
    for item in items:
        running += item.difference_pence
        steps.append(BridgeStep(item.label, item.difference_pence, "step", running))
        errors.append(item.standard_error_pence)
    residual = simulated_mean_pence - running
    steps.append(BridgeStep(RECONCILE_RESIDUAL, residual, "step", simulated_mean_pence))
    errors.append(None)
    steps.append(BridgeStep(SIMULATED_MEAN, simulated_mean_pence, "end", simulated_mean_pence))
    errors.append(standard_error_pence)
    return Reconciliation(tuple(steps), tuple(errors), likely_pence, simulated_mean_pence, standard_error_pence)
