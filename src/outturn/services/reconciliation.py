"""The simulated year-end reconciled to the position's likely: ``risk simulate``'s ``reconciliation``, shown on the
pack's risk page and the web position page (one builder, so the figures are the same everywhere).

Each source of uncertainty's step is its mean effect over the trials (``stats.driver_means``, from the same draws
as the simulation) less its value in the likely: the savings' risk-adjusted shortfall, each risk and mitigation at
its likelihood, nothing for activity and prices (multipliers of mean 1). ``domain/reconciliation.py`` closes the
bridge with a residual named as such.
"""

from __future__ import annotations

from fractions import Fraction

from outturn.domain.money import Pence, div_round
from outturn.domain.position import Position
from outturn.domain.reconciliation import Reconciliation, ReconcilingItem, reconcile
from outturn.domain.risk_model import ACTIVITY, PRICE
from outturn.domain.year_end import (
    RECONCILE_ACTIVITY,
    RECONCILE_MITIGATIONS,
    RECONCILE_PRICE,
    RECONCILE_RISKS,
    RECONCILE_SAVINGS,
)
from outturn.stats import montecarlo
from outturn.stats.driver_means import SAVINGS, driver_means, mean_standard_error
from outturn.stats.montecarlo import SimulationResult

RECONCILING_LABELS = {
    SAVINGS: RECONCILE_SAVINGS,
    montecarlo.RISKS: RECONCILE_RISKS,
    montecarlo.MITIGATIONS: RECONCILE_MITIGATIONS,
    ACTIVITY: RECONCILE_ACTIVITY,
    PRICE: RECONCILE_PRICE,
}


def simulated_pence(value: float | Fraction) -> Pence:
    """A simulated amount to whole pence, half away from zero (``money.div_round``), as every simulated figure."""
    return div_round(Fraction(value))


def reconciliation(position: Position, result: SimulationResult) -> Reconciliation:
    """From the position's likely to the simulated mean of ``result`` (simulated from that position)."""
    risk = position.risk
    in_likely = {
        SAVINGS: -risk.savings_shortfall_pence,
        montecarlo.RISKS: -risk.risks_expected_pence,
        montecarlo.MITIGATIONS: risk.mitigations_expected_pence,
    }
    items = [
        ReconcilingItem(
            RECONCILING_LABELS.get(driver.name, driver.name),
            simulated_pence(driver.mean),
            in_likely.get(driver.name, 0),
            simulated_pence(driver.standard_error),
        )
        for driver in driver_means(result)
    ]
    mean = simulated_pence(float(result.year_end.mean()))
    return reconcile(risk.likely_surplus_pence, mean, items, simulated_pence(mean_standard_error(result)))
