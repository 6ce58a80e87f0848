"""The planning bridge as a document: the one JSON builder for the CLI and the API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from outturn.domain.money import format_millions
from outturn.domain.periods import FinancialYear
from outturn.domain.planning import ALLOCATION_BASE, PlanBridge, YearBridge
from outturn.domain.savings import SavingsTarget
from outturn.domain.savings_programmes import ProgrammeRow


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


# look-alike of domain/ledger_replacement.py:CategoryChange (shape only): declarative, keyword fields or columns, one
# per attribute.
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
                "share": None if step.share is None else str(step.share.normalize()),
                "base": step.base,
                "base_pence": step.base_pence,
            }
            for step in year.steps
        ],
        "savings_requirement_pence": year.savings_requirement_pence,
        "savings_requirement_share": _share(year),
        "recurrent_savings_pence": year.recurrent_savings_pence,
        "non_recurrent_savings_pence": year.non_recurrent_savings_pence,
        "carried_forward_pence": year.carried_forward_pence,
    }


def basis_text(step: dict[str, Any]) -> str:
    """How a step given as a share was worked out, for people: ``2.5% of the allocation (£1,234.6m)``; empty for
    a step given in pounds."""
    if step["share"] is None:
        return ""
    if step["base"] != ALLOCATION_BASE:
        base = "a stated base"
    elif step["kind"] == "allocation_growth":
        base = "the allocation brought forward"
    else:
        base = "the allocation"
    percent = (Decimal(step["share"]) * 100).normalize()
    return f"{percent:f}% of {base} ({format_millions(step['base_pence'], places=1)})"


def requirement_percent(year: dict[str, Any]) -> str:
    """The savings requirement as a percentage of the allocation, to two places (``8.00%``), or ``–``."""
    share = year["savings_requirement_share"]
    return "–" if share is None else f"{Decimal(share) * 100:.2f}%"


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
        "share_convention": "a step given as a share has its share (0.025 for 2.5%) and the base it is of: "
        "base 'allocation' (the year's allocation; allocation growth: the allocation brought forward) or 'stated' "
        "(an amount given with the assumption), in base_pence; its pence are the share of the base to the penny",
        "organisations": [plan_document(bridge, result.names[bridge.org_code]) for bridge in result.organisations],
        "total": plan_document(result.total, "Total") if result.total is not None else None,
    }


def programme_rollup_document(rows: Sequence[ProgrammeRow]) -> list[dict[str, Any]]:
    """One row per programme: its organisations, each year's target, identified and unidentified savings, and
    the totals across the years."""
    return [
        {
            "programme": row.programme,
            "org_codes": list(row.org_codes),
            "years": [
                {
                    "year": year.year.label,
                    "target_pence": year.target_pence,
                    "identified_pence": year.identified_pence,
                    "unidentified_pence": year.unidentified_pence,
                }
                for year in row.years
            ],
            "target_pence": row.target_pence,
            "identified_pence": row.identified_pence,
            "unidentified_pence": row.unidentified_pence,
        }
        for row in rows
    ]


def targets_document(targets: Sequence[SavingsTarget]) -> list[dict[str, Any]]:
    return [
        {
            "org_code": target.org_code,
            "year": target.year.label,
            "target_pence": target.target_pence,
            "programme": target.programme,
        }
        for target in targets
    ]
