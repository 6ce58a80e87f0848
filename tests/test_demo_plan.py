"""The demo's plan for next year and the medium term: its requirement recomputed in plain Python from the demo's
position and the published weighted populations, the targets set from it, and the summary line."""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from outturn.cli.demo import render_plan
from outturn.domain.ledger import CostCategory
from outturn.domain.periods import FinancialYear
from outturn.reports.planning import bridge_document
from outturn.services import planning
from outturn.services.demo import DemoResult
from outturn.services.workspace import open_workspace


def _pence(value: Decimal) -> int:
    """To the penny, half away from zero."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)) if value >= 0 else -_pence(-value)


def _final_weighted_population(path: Path, icb_column: str, icb: str) -> Decimal:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return sum(
            (Decimal(row["Final WP"].replace(",", "")) for row in csv.DictReader(handle) if row[icb_column] == icb),
            Decimal(0),
        )


def test_the_demo_plans_three_years_from_this_years_position(small_demo: DemoResult, reference_dir: Path) -> None:
    assert small_demo.plan is not None
    (plan,) = small_demo.plan.organisations
    assert plan.org_code == "QU9" and [year.year for year in plan.years] == [
        FinancialYear(y) for y in (2026, 2027, 2028)
    ]
    position = small_demo.position
    # demographic growth: QU9's final weighted population, 2022/23 to 2025/26, a year, to 0.01%
    allocations = reference_dir / "allocations"
    held = _final_weighted_population(allocations / "aif_tool_gp_practice_wp_2022_2023.csv", "ICS22", "QU9")
    later = _final_weighted_population(allocations / "icb_tool_gp_practice_wp_2025_2026.csv", "ICB", "QU9")
    growth = ((later / held) ** (Decimal(1) / 3) - 1).quantize(Decimal("0.0001"))
    assert Decimal("0.005") < growth < Decimal("0.015")
    # 2026/27 by hand from the position
    recurrent = Decimal(position.recurrent_allocation_pence)
    one_off = sum(row.ytd_one_off_pence for row in position.by_category)
    acute = sum(row.forecast_outturn_pence for row in position.by_category if row.category is CostCategory.ACUTE)
    rest = position.forecast_outturn_pence - acute
    allocation = int(recurrent) + _pence(recurrent * Decimal("0.03"))
    underlying = (
        position.resource_pence - position.forecast_outturn_pence - (position.non_recurrent_allocation_pence - one_off)
    )
    before_savings = (
        underlying
        + _pence(recurrent * Decimal("0.03"))  # allocation growth
        - _pence(Decimal(acute) * Decimal("0.035"))  # tariff cost uplift
        + _pence(Decimal(acute) * Decimal("0.02"))  # tariff efficiency
        - _pence(Decimal(allocation) * growth)  # demography
        - _pence(Decimal(acute) * Decimal("0.015"))  # acute activity above demography
        - _pence(Decimal(rest) * Decimal("0.035"))  # non-tariff inflation and growth
    )
    first = plan.years[0]
    (demography,) = (step for step in first.steps if step.kind == "demographic_growth")
    assert demography.share == growth
    assert (first.allocation_pence, first.savings_requirement_pence) == (allocation, -before_savings)
    assert first.savings_requirement_pence > 0  # a deficit this year, and pressures above growth next
    # the targets of the programme are the bridge's requirements, year by year
    with open_workspace(small_demo.workspace, read_only=True) as workspace:
        rows = planning.programme_rollup(workspace, "QU9")
    (row,) = (row for row in rows if row.programme == "Recovery plan 2026/27 to 2028/29")
    assert row.org_codes == ("QU9",)
    assert [year.target_pence for year in row.years] == [max(year.savings_requirement_pence, 0) for year in plan.years]


def test_the_demo_summary_gives_the_requirement_in_pounds_and_share(
    small_demo: DemoResult, capsys: pytest.CaptureFixture[str]
) -> None:
    assert small_demo.plan is not None
    document = bridge_document(small_demo.plan)
    first = document["organisations"][0]["years"][0]
    render_plan(document)
    printed = " ".join(capsys.readouterr().out.split())
    share = f"{Decimal(first['savings_requirement_share']) * 100:.2f}%"
    assert "Plan 2026/27 (SYNTHETIC assumptions from this year's position): savings requirement £" in printed
    assert f"{share} of the £" in printed and "3-year programme £" in printed
