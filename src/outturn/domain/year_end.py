"""The named year-end figures, and the one label each carries on every page, command and document.

Every year-end figure that outturn shows is one of these, labelled the same way in the CLI, the web, the board
pack and the JSON (``year_end`` in ``outturn position --format json``; the bridges' and the reconciliation's
labels). Their relation, stated once:

- **Forecast surplus/(deficit)**: resource less the forecast outturn (the ledger forecast by its method).
- **Risk-adjusted forecast (likely)**: the forecast less the savings shortfall (risk-adjusted), less each risk at
  its likelihood, plus each mitigation at its likelihood. Best and worst case range over the register only:
  no risk lands and every mitigation does, or every risk lands and no mitigation does, savings at their
  risk-adjusted forecast in both.
- **Simulated expected (mean)**: the mean year-end of the Monte Carlo trials; it reconciles to the likely through
  the reconciliation's named steps. **P10**, **P50**, **P90**: percentiles of the simulated year-ends.
"""

from __future__ import annotations

CONTROL_TOTAL = "Control total"
FORECAST_SURPLUS = "Forecast surplus/(deficit)"
SAVINGS_SHORTFALL = "Savings shortfall (risk-adjusted)"
RISKS_LIKELY = "Risks (likely)"
MITIGATIONS_LIKELY = "Mitigations (likely)"
LIKELY = "Risk-adjusted forecast (likely)"
BEST = "Risk-adjusted best case"
WORST = "Risk-adjusted worst case"
EXPECTED_CLOSED_FORM = "Expected (closed form)"
SIMULATED_MEAN = "Simulated expected (mean)"
P10 = "P10"
P50 = "P50"
P90 = "P90"

# the JSON field of each figure, as the position's and the simulation's documents name it
LABELS_BY_FIELD: dict[str, str] = {
    "control_total_pence": CONTROL_TOTAL,
    "forecast_surplus_pence": FORECAST_SURPLUS,
    "best_surplus_pence": BEST,
    "likely_surplus_pence": LIKELY,
    "worst_surplus_pence": WORST,
    "expected_surplus_pence": EXPECTED_CLOSED_FORM,
    "mean_surplus_pence": SIMULATED_MEAN,
    "p10_pence": P10,
    "p50_pence": P50,
    "p90_pence": P90,
}

# the reconciliation from the likely to the simulated mean: one named item per source of uncertainty
RECONCILE_SAVINGS = "Savings delivery: simulated less risk-adjusted"
RECONCILE_RISKS = "Risks: simulated less likely"
RECONCILE_MITIGATIONS = "Mitigations: simulated less likely"
RECONCILE_ACTIVITY = "Activity growth: simulated"
RECONCILE_PRICE = "Price: simulated"
RECONCILE_RESIDUAL = "Interaction and rounding (residual)"

# the simulation's year-end figures, in the order every table of them shows them
SIMULATION_FIELDS = (
    "control_total_pence",
    "forecast_surplus_pence",
    "likely_surplus_pence",
    "expected_surplus_pence",
    "mean_surplus_pence",
    "p10_pence",
    "p50_pence",
    "p90_pence",
)

# what templates read (``labels.LIKELY``): the same strings by name
TEMPLATE_LABELS: dict[str, str] = {
    name: value for name, value in globals().items() if name.isupper() and isinstance(value, str)
}
