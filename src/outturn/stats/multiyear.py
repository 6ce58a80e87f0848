"""Multi-year plans simulated over trials: ``domain.risk_model.project_plan``'s rule, vectorised.

Each trial starts from one simulated first year (its surplus and the full-year effect of its recurrent savings).
In each later year the programme delivers a share of its new savings drawn from Beta(κc, κ(1 − c)) (c the
year's confidence; independent between years), recurrent savings carry forward at their full-year effect, and
a missed control total comes off the next year's resource.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from outturn.domain.errors import BadInput
from outturn.domain.risk_model import MAX_PLAN_YEARS, PlanYear

Floats = npt.NDArray[np.float64]
MULTI_YEAR_STREAM = 1  # the plan's draws come from SeedSequence([seed, 1]), apart from the first year's blocks


def delivered_shares(rng: np.random.Generator, confidence: float, concentration: float, trials: int) -> Floats:
    """Shares with mean ``confidence``: Beta(κc, κ(1 − c)); all or nothing for κ = 0; exactly c for κ = ∞."""
    if confidence in (0.0, 1.0) or math.isinf(concentration):
        return np.full(trials, confidence)
    if concentration == 0:
        return (rng.random(trials) < confidence).astype(np.float64)
    return rng.beta(confidence * concentration, (1 - confidence) * concentration, trials)


@dataclass(frozen=True)
class PlanSimulation:
    labels: tuple[str, ...]
    control_totals: tuple[float, ...]
    surplus: Floats  # trials × later years
    penalty: Floats  # trials × later years: last year's shortfall taken off this year's resource
    carried_forward: Floats  # trials × later years: recurrent savings of earlier years, full-year effect

    def p_meet(self) -> Floats:
        shares: Floats = np.mean(self.surplus >= np.array(self.control_totals), axis=0)
        return shares


def simulate_plan(
    first_surplus: Floats,
    first_carried_forward: Floats,
    first_control_total: float,
    later: Sequence[PlanYear],
    concentration: Decimal,
    seed: int,
) -> PlanSimulation:
    if len(later) + 1 > MAX_PLAN_YEARS:
        raise BadInput(f"a plan covers at most {MAX_PLAN_YEARS} years")
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, MULTI_YEAR_STREAM])))
    trials = first_surplus.size
    penalty = np.maximum(first_control_total - first_surplus, 0.0)
    carried = first_carried_forward.astype(np.float64)
    surpluses, penalties, carried_by_year = [], [], []
    for year in later:
        share = delivered_shares(rng, float(year.confidence), float(concentration), trials)
        new = (year.recurrent_savings_pence + year.non_recurrent_savings_pence) * share
        spend = year.underlying_spend_pence - carried - new
        surplus = year.resource_pence - penalty - spend
        surpluses.append(surplus)
        penalties.append(penalty)
        carried_by_year.append(carried)
        penalty = np.maximum(year.control_total_pence - surplus, 0.0)
        carried = carried + year.recurrent_full_year_pence * share

    def stacked(columns: list[Floats]) -> Floats:
        return np.column_stack(columns) if columns else np.zeros((trials, 0))

    return PlanSimulation(
        tuple(year.label for year in later),
        tuple(float(year.control_total_pence) for year in later),
        stacked(surpluses),
        stacked(penalties),
        stacked(carried_by_year),
    )
