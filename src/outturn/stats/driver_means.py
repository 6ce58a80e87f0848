"""Each source of uncertainty's mean effect on the simulated year-end, from the same draws as the simulation.

The year-end surplus of a trial is the forecast plus the sum of its drivers' effects (``SimulationResult.drivers``:
each workstream's savings, the risks, the mitigations, each spend driver), so the simulated mean is the forecast
plus the sum of these means (up to float rounding). The workstreams are taken together as one savings item.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from outturn.stats.montecarlo import Floats, SimulationResult

SAVINGS = "savings"


@dataclass(frozen=True)
class DriverMean:
    name: str  # SAVINGS, montecarlo.RISKS, montecarlo.MITIGATIONS, or a spend driver's name
    mean: float
    standard_error: float


def _summary(name: str, effect: Floats) -> DriverMean:
    trials = effect.size
    error = float(effect.std(ddof=1)) / math.sqrt(trials) if trials > 1 else 0.0
    return DriverMean(name, float(effect.mean()), error)


def driver_means(result: SimulationResult) -> tuple[DriverMean, ...]:
    """Savings (every workstream together), risks, mitigations and each spend driver, in that order."""
    groups = len(result.model.group_names)
    savings = result.drivers[:, :groups].sum(axis=1) if groups else np.zeros(result.trials)
    others = result.model.driver_names[groups:]
    return (
        _summary(SAVINGS, savings),
        *(_summary(name, result.drivers[:, groups + column]) for column, name in enumerate(others)),
    )


def mean_standard_error(result: SimulationResult) -> float:
    """The standard error of the simulated mean year-end: its standard deviation over √trials."""
    return _summary("year-end", result.year_end).standard_error
