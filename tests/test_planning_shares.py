"""Planning assumptions given as a share of a base (the allocation, or a stated amount): the pence by hand, the
share and base kept on the step, and the file's ``2.5%`` and ``base`` columns."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from outturn.cli import app as cli
from outturn.domain.errors import BadInput
from outturn.domain.periods import FinancialYear
from outturn.domain.planning import Assumption, AssumptionKind, combined, plan_bridge
from outturn.domain.problems import ProblemsError
from outturn.services.imports import import_organisations
from outturn.services.planning import import_plan_assumptions
from outturn.services.workspace import init_workspace
from outturn.store import planning_repository
from outturn.store.database import Store

K = AssumptionKind
Y26, Y27 = FinancialYear(2026), FinancialYear(2027)
MILLION = 100_000_000  # pence


def _plan(org: str = "A") -> list[Assumption]:
    return [
        Assumption(org, Y26, K.EXIT_POSITION, -2 * MILLION),
        Assumption(org, Y26, K.ALLOCATION, 1_000 * MILLION),
        Assumption(org, Y26, K.ALLOCATION_GROWTH, 30 * MILLION),
        Assumption(org, Y26, K.TARIFF_INFLATION, share=Decimal("0.025")),
        Assumption(org, Y26, K.TARIFF_EFFICIENCY, share=Decimal("0.02"), base_pence=400 * MILLION),
        Assumption(org, Y26, K.DEMOGRAPHIC_GROWTH, share=Decimal("0.0115")),
        Assumption(org, Y27, K.ALLOCATION_GROWTH, share=Decimal("0.03")),
        Assumption(org, Y27, K.TARIFF_INFLATION, share=Decimal("0.025")),
    ]


def test_a_share_is_of_the_years_allocation_or_its_stated_base() -> None:
    first, second = plan_bridge("A", _plan(), Y26, 2).years
    by_kind = {step.kind: step for step in first.steps}
    # 2.5% of £1,000m = £25m; 2% of the stated £400m = £8m; 1.15% of £1,000m = £11.5m
    assert by_kind[K.TARIFF_INFLATION].pence == -25 * MILLION
    assert (by_kind[K.TARIFF_INFLATION].share, by_kind[K.TARIFF_INFLATION].base) == (Decimal("0.025"), "allocation")
    assert by_kind[K.TARIFF_EFFICIENCY].pence == 8 * MILLION
    assert (by_kind[K.TARIFF_EFFICIENCY].base_pence, by_kind[K.TARIFF_EFFICIENCY].base) == (400 * MILLION, "stated")
    assert by_kind[K.DEMOGRAPHIC_GROWTH].pence == -1_150_000_000
    assert by_kind[K.ALLOCATION_GROWTH].share is None
    # -2 + 30 - 25 + 8 - 11.5 = -£0.5m: a requirement of £0.5m, 0.05% of £1,000m
    assert first.savings_requirement_pence == 50_000_000
    assert first.requirement_share == Decimal("0.0005")
    # 2027/28: growth 3% of the £1,000m brought forward = £30m, so £1,030m; inflation 2.5% of it = £25.75m
    growth, inflation = (step for step in second.steps if step.kind in (K.ALLOCATION_GROWTH, K.TARIFF_INFLATION))
    assert (growth.pence, growth.base_pence) == (30 * MILLION, 1_000 * MILLION)
    assert second.allocation_pence == 1_030 * MILLION
    assert (inflation.pence, inflation.base_pence) == (-25_750_000_00, 1_030 * MILLION)


def test_a_share_is_rounded_to_the_penny() -> None:
    items = [
        Assumption("A", Y26, K.EXIT_POSITION, 0),
        Assumption("A", Y26, K.ALLOCATION, 123_456_789),  # £1,234,567.89
        Assumption("A", Y26, K.TARIFF_INFLATION, share=Decimal("0.025")),
    ]
    (year,) = plan_bridge("A", items, Y26).years
    # 123,456,789p x 0.025 = 3,086,419.725p -> 3,086,420p
    assert year.steps[-2].pence == -3_086_420
    assert year.savings_requirement_pence == 3_086_420


def test_the_total_keeps_a_share_every_organisation_shares() -> None:
    bridges = [plan_bridge(org, _plan(org), Y26) for org in ("A", "B")]
    (year,) = combined("TOTAL", bridges).years
    inflation = next(step for step in year.steps if step.kind == K.TARIFF_INFLATION)
    assert (inflation.pence, inflation.share, inflation.base_pence) == (
        -50 * MILLION,
        Decimal("0.025"),
        2_000 * MILLION,
    )
    efficiency = next(step for step in year.steps if step.kind == K.TARIFF_EFFICIENCY)
    assert efficiency.share is None and efficiency.pence == 16 * MILLION  # stated bases: no one share of the total


def test_shares_where_they_cannot_be_are_refused() -> None:
    with pytest.raises(BadInput, match="entered in pounds"):
        Assumption("A", Y26, K.EXIT_POSITION, share=Decimal("0.01"))
    with pytest.raises(BadInput, match="between 0% and 100%"):
        Assumption("A", Y26, K.TARIFF_INFLATION, share=Decimal("1.5"))
    first_year_growth = [
        Assumption("A", Y26, K.EXIT_POSITION, 0),
        Assumption("A", Y26, K.ALLOCATION, MILLION),
        Assumption("A", Y26, K.ALLOCATION_GROWTH, share=Decimal("0.03")),
    ]
    with pytest.raises(BadInput, match="needs a stated base"):
        plan_bridge("A", first_year_growth, Y26)


ORGS = "code,name,kind,parent_code\nQXX,ICB,icb,\nA,Place A,sub_icb,QXX\n"
SHARES_FILE = """org_code,year,assumption,amount,base,description
A,2026/27,exit_position,-£2m,,
A,2026/27,allocation,"£1,000m",,
A,2026/27,allocation_growth,2.9%,£1000m,2.9% growth on this year's allocation
A,2026/27,tariff_inflation,2.5%,,
A,2026/27,tariff_efficiency,2%,£400m,Efficiency on the acute contracts
A,2026/27,demographic_growth,1.15%,allocation,
"""


def _cli(workspace: Path, *arguments: str) -> Any:
    result = CliRunner().invoke(cli, ["--workspace", str(workspace), *arguments, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_file_gives_shares_and_the_bridge_shows_the_share_and_pounds(tmp_path: Path) -> None:
    workspace = init_workspace(tmp_path / "ws", default_as_at="2025-09")
    (tmp_path / "orgs.csv").write_text(ORGS, encoding="utf-8")
    import_organisations(workspace, tmp_path / "orgs.csv")
    workspace.close()
    (tmp_path / "plan.csv").write_text(SHARES_FILE, encoding="utf-8")
    _cli(tmp_path / "ws", "plan", "import-assumptions", str(tmp_path / "plan.csv"))
    (plan,) = _cli(tmp_path / "ws", "plan", "bridge", "--year", "2026/27")["organisations"]
    steps = {step["kind"]: step for step in plan["years"][0]["steps"]}
    # growth 2.9% of the stated £1,000m = £29m; inflation 2.5% of £1,000m = £25m; efficiency 2% of £400m = £8m;
    # demography 1.15% of £1,000m = £11.5m: -2 + 29 - 25 + 8 - 11.5 = -£1.5m
    assert [(steps[kind]["pence"], steps[kind]["share"], steps[kind]["base"], steps[kind]["base_pence"]) for kind in (
        "allocation_growth", "tariff_inflation", "tariff_efficiency", "demographic_growth")] == [
        (29 * MILLION, "0.029", "stated", 1_000 * MILLION), (-25 * MILLION, "0.025", "allocation", 1_000 * MILLION),
        (8 * MILLION, "0.02", "stated", 400 * MILLION), (-1_150_000_000, "0.0115", "allocation", 1_000 * MILLION),
    ]  # fmt: skip
    assert steps["exit_position"]["share"] is None
    assert plan["years"][0]["savings_requirement_pence"] == 150_000_000
    table = CliRunner().invoke(cli, ["--workspace", str(tmp_path / "ws"), "plan", "bridge", "--year", "2026/27"])
    assert "2.5% of the allocation (£1,000.0m)" in table.stdout
    assert "2% of a stated base (£400.0m)" in table.stdout


def test_a_base_without_a_percentage_is_refused_naming_the_row(tmp_path: Path) -> None:
    workspace = init_workspace(tmp_path / "ws")
    (tmp_path / "orgs.csv").write_text(ORGS, encoding="utf-8")
    import_organisations(workspace, tmp_path / "orgs.csv")
    (tmp_path / "bad.csv").write_text(
        "org_code,year,assumption,amount,base\nA,2026/27,tariff_inflation,£5m,£400m\n"
        "A,2026/27,tariff_efficiency,2%,lots\nA,2026/27,control_total,1%,\n",
        encoding="utf-8",
    )
    with pytest.raises(ProblemsError) as raised:
        import_plan_assumptions(workspace, tmp_path / "bad.csv")
    reasons = {(problem.row, problem.column): problem.reason for problem in raised.value.problems}
    assert "only for an amount written as a percentage" in reasons[(2, "amount")]
    assert (3, "base") in reasons
    assert "entered in pounds" in reasons[(4, "amount")]
    workspace.close()


def test_a_base_of_nothing_or_on_a_required_surplus_is_refused_in_the_base_column(tmp_path: Path) -> None:
    """A negative or nil base is the base column's problem (not the amount's); a required surplus is a share of
    the allocation, so a base on it (which would otherwise be dropped unread) is refused; a share finer than the
    store keeps (six places) is refused rather than rounded unseen. Nothing is stored."""
    workspace = init_workspace(tmp_path / "ws")
    (tmp_path / "orgs.csv").write_text(ORGS, encoding="utf-8")
    import_organisations(workspace, tmp_path / "orgs.csv")
    (tmp_path / "bad.csv").write_text(
        "org_code,year,assumption,amount,base\nA,2026/27,tariff_efficiency,2%,-£400m\n"
        "A,2026/27,tariff_efficiency,2%,£0\nA,2026/27,required_surplus,1%,£400m\n"
        "A,2026/27,required_surplus,1%,allocation\nA,2026/27,tariff_inflation,2.555555%,\n",
        encoding="utf-8",
    )
    with pytest.raises(ProblemsError) as raised:
        import_plan_assumptions(workspace, tmp_path / "bad.csv")
    reasons = {(problem.row, problem.column): problem.reason for problem in raised.value.problems}
    assert set(reasons) == {(2, "base"), (3, "base"), (4, "base"), (6, "amount")}
    assert "at most 4 decimal places in a percentage" in reasons[(6, "amount")]  # the store keeps 2.5556%
    with workspace.store.reading() as session:
        assert planning_repository.assumptions_for(session) == []
    workspace.close()


def test_shares_and_bases_round_trip_through_the_store(store: Store) -> None:
    items = _plan()
    with store.transaction() as session:
        planning_repository.replace_assumptions(session, items)
    with store.reading() as session:
        assert planning_repository.assumptions_for(session, ["A"]) == items
