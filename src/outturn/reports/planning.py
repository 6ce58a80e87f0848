"""The planning bridge as a document: the one JSON builder for the CLI and the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from outturn.domain.periods import FinancialYear
from outturn.domain.planning import PlanBridge, YearBridge


@dataclass(frozen=True)
class PlanBridgeResult:
    """Each organisation's bridge and, for more than one, their total (added step by step)."""

    year: FinancialYear
    years: int
    organisations: tuple[PlanBridge, ...]
    names: dict[str, str]
    total: PlanBridge | None


def _share(year: YearBridge) -> str | None:
    share = year.requirement_share
    return None if share is None else str(share)


def year_document(year: YearBridge) -> dict[str, Any]:
    return {
        "year": year.year.label,
        "allocation_pence": year.allocation_pence,
        "start_pence": year.start_pence,
        "steps": [
            {
                "label": step.label,
                "kind": str(step.kind),
                "pence": step.pence,
                "running_pence": step.running_pence,
                "recurrent": step.recurrent,
            }
            for step in year.steps
        ],
        "savings_requirement_pence": year.savings_requirement_pence,
        "savings_requirement_share": _share(year),
        "recurrent_savings_pence": year.recurrent_savings_pence,
        "non_recurrent_savings_pence": year.non_recurrent_savings_pence,
        "carried_forward_pence": year.carried_forward_pence,
    }


def plan_document(bridge: PlanBridge, name: str) -> dict[str, Any]:
    return {
        "org_code": bridge.org_code,
        "name": name,
        "years": [year_document(year) for year in bridge.years],
        "total_requirement_pence": bridge.total_requirement_pence,
    }


def bridge_document(result: PlanBridgeResult) -> dict[str, Any]:
    """Each organisation's bridge, year by year, and their total: every step in pence, the running position after
    it, the savings requirement (pence and share of allocation) and what carries into the next year."""
    return {
        "year": result.year.label,
        "years": result.years,
        "sign_convention": "a position is a surplus (positive) or deficit (negative); each step's pence is its "
        "effect on the position; the savings requirement is the last running position with its sign turned",
        "organisations": [plan_document(bridge, result.names[bridge.org_code]) for bridge in result.organisations],
        "total": plan_document(result.total, "Total") if result.total is not None else None,
    }
