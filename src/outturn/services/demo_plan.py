"""The demo's plan for next year and the medium term (``demo/plan.py`` says how each assumption is derived): write
the SYNTHETIC assumptions beside the other inputs, import them, set the programme's savings targets from the
bridge, and give the bridge for the demo's summary."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from outturn.demo.plan import PLAN_YEARS, annual_growth, demo_plan, write_plan_assumptions
from outturn.domain.organisations import OrgTree
from outturn.domain.periods import FinancialYear
from outturn.domain.populations import population_of
from outturn.domain.position import Position
from outturn.ingest.organisations import read_allocation_hierarchy
from outturn.reports.planning import PlanBridgeResult
from outturn.services import planning
from outturn.services.workspace import Workspace

LATER_ALLOCATION_FILE = Path("allocations") / "icb_tool_gp_practice_wp_2025_2026.csv"
FALLBACK_GROWTH = Decimal("0.01")  # where the later weighted populations are not in the reference data


def weighted_population_growth(reference: Path, held_final: Decimal, icb_code: str) -> Decimal:
    """The yearly growth of the ICB's weighted population from the one held (NHS England's 2022/23) to the 2025/26
    allocation's, else ``FALLBACK_GROWTH``."""
    path = reference / LATER_ALLOCATION_FILE
    if not path.is_file():
        return FALLBACK_GROWTH
    organisations, populations = read_allocation_hierarchy(path)
    tree = OrgTree.build(organisations)
    if icb_code not in tree:
        return FALLBACK_GROWTH
    return annual_growth(held_final, population_of(populations, tree, icb_code).final)


def programme_name(position: Position) -> str:
    first = position.as_at.year.start_year + 1
    return f"Recovery plan {FinancialYear(first).label} to {FinancialYear(first + PLAN_YEARS - 1).label}"


def build_demo_plan(
    workspace: Workspace, position: Position, weighted_growth: Decimal, inputs: Path, step: Callable[[str], None]
) -> PlanBridgeResult:
    """Import the plan, set the savings targets of its years from the bridge, and return the bridge."""
    step(f"planning the next {PLAN_YEARS} years: SYNTHETIC assumptions from this year's position")
    path = write_plan_assumptions(inputs / "plan-assumptions.csv", demo_plan(position, weighted_growth))
    planning.import_plan_assumptions(workspace, path, who="demo")
    start = str(position.as_at.year.start_year + 1)
    planning.targets_from_plan(workspace, start, PLAN_YEARS, programme_name(position), "demo", position.org_code)
    return planning.bridge(workspace, start, PLAN_YEARS, position.org_code)
