"""``risk simulate``'s document, built once from the simulation's typed results (``domain/simulated_year_end.py``):
the CLI's JSON, the board pack's risk page and sheet, and the multi-year plan's first year all come from here.
The reconciliation of the simulated mean to the likely is the same builder on the web position page.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from outturn.domain.reconciliation import Reconciliation
from outturn.domain.risk_model import RiskModel
from outturn.domain.simulated_year_end import DriverSwing, FanMonth, SimulatedYearEnd
from outturn.reports.position import position_heading


# look-alike of the other document builders (reports/pack.py, reports/contract_reconciliation.py): declarative, one
# JSON field per figure.
def simulation_document(simulated: SimulatedYearEnd) -> dict[str, Any]:
    """``outturn risk simulate --format json``."""
    model, figures = simulated.model, simulated.inputs
    return {
        **position_heading(simulated.position),
        "backend": simulated.backend,
        "trials": simulated.trials,
        "seed": simulated.seed,
        "assumptions": {
            **assumptions_document(model, simulated.pbr_share),
            "evidenced_schemes": list(simulated.evidenced_schemes),
        },
        "control_total_pence": model.control_total_pence,
        "forecast_surplus_pence": model.forecast_surplus_pence,
        "likely_surplus_pence": simulated.position.risk.likely_surplus_pence,
        "expected_surplus_pence": simulated.expected_surplus_pence,
        "mean_surplus_pence": simulated.mean_surplus_pence,
        "sd_surplus_pence": simulated.sd_surplus_pence,
        "p_meet_control_total": simulated.p_meet_control_total,
        "p_meet_standard_error": simulated.p_meet_standard_error,
        "p10_pence": simulated.p10_pence,
        "p50_pence": simulated.p50_pence,
        "p90_pence": simulated.p90_pence,
        "inputs": {
            "schemes": figures.schemes,
            "savings_remaining_pence": figures.savings_remaining_pence,
            "savings_expected_shortfall_pence": figures.savings_expected_shortfall_pence,
            "risks": figures.risks,
            "risks_expected_pence": figures.risks_expected_pence,
            "mitigations": figures.mitigations,
            "mitigations_expected_pence": figures.mitigations_expected_pence,
            "spend": [
                {"driver": item.name, "remaining_pence": item.remaining_pence, "sd": float(item.sd)}
                for item in model.spend
            ],
        },
        "distribution": [
            {"from_pence": item.from_pence, "to_pence": item.to_pence, "trials": item.trials}
            for item in simulated.distribution
        ],
        "reconciliation": reconciliation_document(simulated.reconciliation),
        "fan": fan_document(simulated.fan),
        "tornado": [_bar(bar) for bar in simulated.tornado],
        "notes": list(simulated.notes),
    }


def fan_document(fan: Sequence[FanMonth]) -> list[dict[str, Any]]:
    """The fan chart: each remaining month's percentiles of the year-end surplus, ``p10_pence`` ... ``p90_pence``."""
    return [
        {"month": f"M{point.month:02d}", **{f"p{q}_pence": pence for q, pence in point.percentiles}} for point in fan
    ]


def _bar(bar: DriverSwing) -> dict[str, Any]:
    driver: dict[str, Any] = {"driver": bar.driver, "kind": bar.kind}
    if bar.workstream is not None:
        driver["workstream"] = bar.workstream
    return {
        **driver,
        "p50_low_pence": bar.p50_low_pence,
        "p50_high_pence": bar.p50_high_pence,
        "swing_pence": bar.swing_pence,
        "variance_share": bar.variance_share,
    }


def assumptions_document(model: RiskModel, pbr_share: Decimal | None) -> dict[str, Any]:
    return {
        "workstream_correlation": float(model.correlation),
        "beta_concentration": None if model.concentration.is_infinite() else float(model.concentration),
        "activity_sd": float(model.spend[0].sd) if model.spend else 0.0,
        "price_sd": float(model.spend[1].sd) if len(model.spend) > 1 else 0.0,
        "savings_in_forecast": model.savings_in_forecast,
        "pbr_share": float(pbr_share) if pbr_share is not None else None,
    }


def reconciliation_document(found: Reconciliation) -> dict[str, Any]:
    """From the likely to the simulated mean, step by step (``risk simulate``'s ``reconciliation``)."""
    return {
        "likely_surplus_pence": found.likely_pence,
        "mean_surplus_pence": found.simulated_mean_pence,
        "difference_pence": found.difference_pence,
        "standard_error_pence": found.standard_error_pence,
        "steps": [
            {
                "label": step.label,
                "kind": step.kind,
                "pence": step.pence,
                "running_pence": step.running_pence,
                "standard_error_pence": error,
            }
            for step, error in zip(found.steps, found.standard_errors_pence, strict=True)
        ],
    }
