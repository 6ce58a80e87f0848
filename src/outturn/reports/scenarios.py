"""A recovery scenario's result as a JSON-ready document: money in integer pence (``*_pence``), changes in the
forecast outturn (negative: a saving), activity in units to one decimal place."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

from outturn.domain.ledger import CostCategory
from outturn.domain.money import Pence
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialMonth
from outturn.domain.scenario_effects import EffectLine, LeverEffect, ScenarioResult, lever_timing
from outturn.domain.scenarios import Lever, NonRecurrent, Scenario


def _activity(units: Fraction) -> float:
    return round(float(units), 1)


def _summary(result: ScenarioResult, outturn_pence: Pence) -> dict[str, Pence]:
    return {
        "forecast_outturn_pence": outturn_pence,
        "forecast_surplus_pence": result.surplus_pence(outturn_pence),
        "gap_to_control_total_pence": result.gap_pence(outturn_pence),
    }


def _by_category(lines: Iterable[EffectLine]) -> list[dict[str, Any]]:
    totals: dict[CostCategory, list[Pence]] = {}
    for line in lines:
        pair = totals.setdefault(line.category, [0, 0])
        pair[0] += line.in_year_pence
        pair[1] += line.full_year_pence
    return [
        {"category": category.value, "in_year_pence": in_year, "full_year_pence": full_year}
        for category, (in_year, full_year) in totals.items()
    ]


def _by_contract(lines: Iterable[EffectLine]) -> list[dict[str, Any]]:
    return [
        {
            "provider": line.provider,
            "commissioner": line.commissioner or None,
            "point_of_delivery": line.point_of_delivery or None,
            "in_year_pence": line.in_year_pence,
            "full_year_pence": line.full_year_pence,
            "in_year_activity": _activity(line.in_year_activity),
            "full_year_activity": _activity(line.full_year_activity),
        }
        for line in sorted(lines, key=lambda line: (line.provider, line.commissioner, line.point_of_delivery))
        if line.provider
    ]


def _first_month(lever: Lever, as_at: FinancialMonth) -> str | None:
    """The month the lever first acts: its month for a one-off measure, M01 for a full-year lever."""
    if isinstance(lever, NonRecurrent):
        return f"M{lever.month:02d}"
    timing = lever_timing(lever, as_at)
    first = 1 if timing.full_year else timing.first_month
    return f"M{first:02d}" if first <= MONTHS_IN_YEAR else None


def _lever(effect: LeverEffect, first_month: str | None) -> dict[str, Any]:
    return {
        "index": effect.index,
        "type": effect.lever_type,
        "label": effect.label,
        "recurrent": effect.recurrent,
        "first_month": first_month,
        "in_year_pence": effect.in_year_pence,
        "full_year_pence": effect.full_year_pence,
        "by_category": _by_category(effect.lines),
        "by_contract": _by_contract(effect.lines),
        "warnings": list(effect.warnings),
    }


def scenario_document(
    scenario: Scenario, result: ScenarioResult, source: str, warnings: Sequence[str] = ()
) -> dict[str, Any]:
    baseline, final = result.baseline, result.final
    return {
        "name": scenario.name,
        "description": scenario.description,
        "source": source,
        "org_code": baseline.org_code,
        "org_name": baseline.org_name,
        "financial_year": baseline.as_at.year.label,
        "month": baseline.as_at.label,
        "as_at": baseline.as_at.calendar_label,
        "method": baseline.method,
        "resource_pence": baseline.resource_pence,
        "control_total_pence": baseline.control_total_pence,
        "baseline": _summary(result, baseline.forecast_outturn_pence),
        "scenario": _summary(result, result.forecast_outturn_pence),
        "change_pence": result.change_pence,
        "full_year_effect_pence": result.full_year_effect_pence,
        "levers": [
            _lever(effect, _first_month(lever, baseline.as_at))
            for effect, lever in zip(result.effects, scenario.levers, strict=True)
        ],
        "by_category": [
            {
                "category": category.value,
                "label": category.label,
                "baseline_forecast_outturn_pence": pence,
                "scenario_forecast_outturn_pence": final.categories[category],
                "change_pence": final.categories[category] - pence,
            }
            for category, pence in baseline.categories
        ]
        + [
            {
                "category": category.value,
                "label": category.label,
                "baseline_forecast_outturn_pence": 0,
                "scenario_forecast_outturn_pence": pence,
                "change_pence": pence,
            }
            for category, pence in final.categories.items()
            if category not in dict(baseline.categories)
        ],
        "contracts": [
            {
                "provider": contract.provider,
                "commissioner": contract.commissioner,
                "baseline_forecast_pence": contract.forecast_pence,
                "scenario_forecast_pence": final.contracts[contract.key].forecast_pence,
                "change_pence": final.contracts[contract.key].forecast_pence - contract.forecast_pence,
                "baseline_full_year_pence": contract.full_year_pence,
                "scenario_full_year_pence": final.contracts[contract.key].full_year_pence,
            }
            for contract in baseline.contracts
        ],
        "bridge": [
            {"label": step.label, "kind": step.kind, "pence": step.pence, "running_pence": step.running_pence}
            for step in result.bridge
        ],
        "warnings": list(warnings),
    }
