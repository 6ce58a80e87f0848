"""Indicative practice budgets, spend against them, distance from target and the incentive scheme.

Every figure here is worked by hand in the comments (or, for the properties, against exact fractions): shares
to the penny by largest remainder, targets as shares of a parent's actual, the set-aside, aspiration and
achievement payments of a practice-based commissioning scheme.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.budgets import (
    IncentiveTerms,
    PracticeIncentive,
    apportion,
    budget_lines,
    distance_from_target,
    indicative_budgets,
    percent,
    practice_incentive,
    sum_to_level,
)
from outturn.domain.populations import WP_COMPONENTS, Level, PracticeRecord, Weighting
from outturn.services.imports import import_ledger, import_organisations, import_plans
from outturn.services.populations import import_populations
from outturn.services.workspace import Workspace, init_workspace

# --- sharing to the penny ---------------------------------------------------------------------------------------


def test_apportion_by_hand() -> None:
    assert apportion(100, [1, 1, 1]) == [34, 33, 33]  # 33⅓ each: the spare penny to the first
    assert apportion(10, [1, 2]) == [3, 7]  # 3.33 and 6.67: the penny to the larger remainder
    assert apportion(2, [1, 1, 1, 1]) == [1, 1, 0, 0]
    assert apportion(0, [5, 7]) == [0, 0]
    assert apportion(100_000, [1000.0, 2000.0, 3000.0]) == [16_667, 33_333, 50_000]
    with pytest.raises(ValueError, match="add up to zero"):
        apportion(100, [0, 0])
    with pytest.raises(ValueError, match="zero or more"):
        apportion(100, [1, -1])


@given(
    st.integers(-(10**13), 10**13),
    st.lists(st.floats(0, 1e7, allow_nan=False), min_size=1, max_size=40),
)
def test_apportion_adds_up_and_each_share_is_within_a_penny(total: int, weights: list[float]) -> None:
    assume(sum(weights) > 0)
    shares = apportion(total, weights)
    assert sum(shares) == total
    whole = sum(Fraction(weight) for weight in weights)
    for share, weight in zip(shares, weights, strict=True):
        assert abs(share - total * Fraction(weight) / whole) < 1


def test_percent_to_one_decimal() -> None:
    assert (percent(-3333, 16_667), percent(3333, 33_333), percent(1, 0)) == (-20.0, 10.0, None)
    assert percent(-5_000_000, 75_000_000) == -6.7 and percent(1, 8) == 12.5


# --- indicative budgets ---------------------------------------------------------------------------------------


def record(code: str, pcn: str | None, sub_icb: str, final: float, icb: str = "QAA") -> PracticeRecord:
    weighted = {component.value: final / 2 for component in WP_COMPONENTS} | {"final": final}
    return PracticeRecord(code, f"Practice {code}", pcn, sub_icb, icb, int(final), None, weighted)


THREE = [record("P1", "N1", "S1", 1000.0), record("P2", "N1", "S1", 2000.0), record("P3", "N2", "S2", 3000.0)]


def test_indicative_budgets_and_variance_by_hand() -> None:
    # £1,000 by final WP 1,000 : 2,000 : 3,000 = £166.666.., £333.333.., £500: the spare penny to P1
    budgets, left_out = indicative_budgets(THREE, 100_000, Weighting.FINAL)
    assert [(b.record.practice, b.budget_pence) for b in budgets] == [("P1", 16_667), ("P2", 33_333), ("P3", 50_000)]
    assert left_out == []
    spend = {"P1": 20_000, "P2": 30_000}
    practices = budget_lines(budgets, spend, Level.PRACTICE)
    assert [(line.variance_pence, line.variance_pct) for line in practices] == [
        (-3333, -20.0),
        (3333, 10.0),
        (None, None),
    ]
    pcns = budget_lines(budgets, spend, Level.PCN)
    assert [(line.code, line.budget_pence, line.spend_pence, line.variance_pence) for line in pcns] == [
        ("N1", 50_000, 50_000, 0),
        ("N2", 50_000, None, None),
    ]
    assert (pcns[1].practices, pcns[1].practices_with_spend) == (1, 0)
    # by prescribing WP (half of final here) the shares are the same; by ASTRO-PU no practice has one
    assert [b.budget_pence for b in indicative_budgets(THREE, 100_000, Weighting.PRESCRIBING)[0]] == [
        16_667,
        33_333,
        50_000,
    ]
    with pytest.raises(ValueError, match="no practice has a astro_pu"):
        indicative_budgets(THREE, 100_000, Weighting.ASTRO_PU)


@given(
    st.integers(0, 10**12),
    st.lists(st.tuples(st.floats(0.5, 1e5), st.sampled_from(["N1", "N2", None]), st.sampled_from(["S1", "S2"])),
             min_size=1, max_size=30),
)  # fmt: skip
def test_children_add_up_to_the_budget(budget: int, practices: list[tuple[float, str | None, str]]) -> None:
    records = [record(f"P{n:03d}", pcn, sub, weight) for n, (weight, pcn, sub) in enumerate(practices)]
    budgets, _ = indicative_budgets(records, budget, Weighting.FINAL)
    for level in Level:
        assert sum(line.budget_pence for line in budget_lines(budgets, {}, level)) == budget
    for item in budgets:
        exact = budget * Fraction(item.weight) / sum(Fraction(b.weight) for b in budgets)
        assert abs(item.budget_pence - exact) < 1


def test_sum_to_level_needs_every_practice() -> None:
    assert sum_to_level(THREE, Level.PCN, {"P1": 5, "P2": 7, "P3": 1}) == {"N1": 12, "N2": 1}
    assert sum_to_level(THREE, Level.PCN, {"P1": 5, "P3": 1}) == {"N2": 1}
    assert sum_to_level(THREE, Level.ICB, {"P1": 5, "P2": 7, "P3": 1}) == {"QAA": 13}


# --- distance from target ------------------------------------------------------------------------------------

FOUR = [
    record("A", "N1", "S1", 1000.0),
    record("B", "N2", "S1", 3000.0),
    record("C", "N2", "S2", 500.0),  # N2 spans S1 and S2: it belongs to S1, which holds most of its weight
    record("D", "N3", "S2", 500.0),
]


def test_distance_from_target_by_hand() -> None:
    # S1: A and B share their £1m actual 1,000 : 3,000 -> targets £250k and £750k
    actual = {"A": 30_000_000, "B": 70_000_000, "C": 1_000_000}
    lines, warnings = distance_from_target(FOUR, Level.PRACTICE, Weighting.FINAL, actual)
    found = {line.code: (line.parent, line.target_pence, line.distance_pence, line.distance_pct) for line in lines}
    assert found == {
        "A": ("S1", 25_000_000, 5_000_000, 20.0),  # £50k over a £250k target: +20.0%
        "B": ("S1", 75_000_000, -5_000_000, -6.7),  # £50k under £750k: -6.7%
        "C": ("S2", 1_000_000, 0, 0.0),  # alone in its pool: its target is its actual
    }
    assert warnings == ["1 left out (no actual): D"]


def test_pcn_distance_pools_a_spanning_pcn_in_its_main_sub_icb() -> None:
    # PCN actuals: N1 = A = £300k; N2 = B + C = £700k + £100k; N3 = D £100k
    actual = sum_to_level(FOUR, Level.PCN, {"A": 30_000_000, "B": 70_000_000, "C": 10_000_000, "D": 10_000_000})
    lines, _ = distance_from_target(FOUR, Level.PCN, Weighting.FINAL, actual)
    # S1 pool: N1 (1,000) and N2 (3,500) share £1.1m: £244,444.44 and £855,555.56 (the spare penny to N2)
    found = {line.code: (line.parent, line.target_pence) for line in lines}
    assert found == {"N1": ("S1", 24_444_444), "N2": ("S1", 85_555_556), "N3": ("S2", 10_000_000)}


def test_absolute_targets_by_hand() -> None:
    targets = {"A": 20_000_000, "B": 80_000_000, "C": 5_000_000, "D": 5_000_000}
    actual = {"S1": 110_000_000, "S2": 8_000_000}
    lines, warnings = distance_from_target(FOUR, Level.SUB_ICB, Weighting.FINAL, actual, targets)
    found = {line.code: (line.target_pence, line.distance_pence, line.distance_pct) for line in lines}
    assert found == {"S1": (100_000_000, 10_000_000, 10.0), "S2": (10_000_000, -2_000_000, -20.0)}
    assert warnings == []
    _, missing = distance_from_target(FOUR, Level.SUB_ICB, Weighting.FINAL, actual, {"A": 1})
    assert missing == ["2 left out (a practice without a target allocation): S1, S2"]


@given(st.lists(st.tuples(st.floats(1, 1e5), st.integers(0, 10**10), st.sampled_from(["S1", "S2", "S3"])),
                min_size=1, max_size=25))  # fmt: skip
def test_share_distances_add_up_to_zero_in_each_parent(practices: list[tuple[float, int, str]]) -> None:
    records = [record(f"P{n:03d}", None, sub, weight) for n, (weight, _, sub) in enumerate(practices)]
    actual = {f"P{n:03d}": amount for n, (_, amount, _) in enumerate(practices)}
    lines, _ = distance_from_target(records, Level.PRACTICE, Weighting.FINAL, actual)
    for parent in {line.parent for line in lines}:
        assert sum(line.distance_pence for line in lines if line.parent == parent) == 0


# --- the incentive scheme --------------------------------------------------------------------------------------

TERMS = IncentiveTerms(Decimal("0.25"), Decimal("0.4"), Decimal("0.02"))


def incentive(
    spend: int, *, signed_up: bool = True, payments: int = 4_000_000, budget: int = 100_000_000
) -> PracticeIncentive:
    return practice_incentive(
        "P1",
        enhanced_services_pence=payments,
        signed_up=signed_up,
        indicative_budget_pence=budget,
        spend_pence=spend,
        terms=TERMS,
    )


def test_incentive_by_hand() -> None:
    # £40,000 of enhanced services: £10,000 set aside, £30,000 paid as usual; £4,000 (40%) paid on signing up;
    # a £6,000 achievement pot. Budget £1m, target 2% = £20,000; spend £990,000 saves £10,000 = half the target
    paid = incentive(99_000_000)
    assert (paid.set_aside_pence, paid.paid_as_usual_pence, paid.aspiration_pence) == (1_000_000, 3_000_000, 400_000)
    assert (paid.achievement_pot_pence, paid.savings_target_pence, paid.savings_pence) == (
        600_000,
        2_000_000,
        1_000_000,
    )
    assert (paid.achievement_pence, paid.retained_pence, paid.total_paid_pence) == (300_000, 300_000, 3_700_000)
    overspent = incentive(101_000_000)  # no savings: the whole pot is retained
    assert (overspent.savings_pence, overspent.achievement_pence, overspent.retained_pence) == (0, 0, 600_000)
    beyond = incentive(90_000_000)  # £100,000 saved, five times the target: capped at the pot
    assert (beyond.achievement_pence, beyond.retained_pence) == (600_000, 0)
    absent = incentive(90_000_000, signed_up=False)  # not signed up: nothing of the set-aside comes back
    assert (absent.aspiration_pence, absent.achievement_pence, absent.retained_pence) == (0, 0, 1_000_000)


def test_incentive_rounds_each_step_to_the_penny() -> None:
    # 333p x 25% = 83.25 -> 83; 50% of 83 = 41.5 -> 42 (half away from zero); pot 41; target 2% of 1,001p =
    # 20.02 -> 20; 7p saved: 41 x 7 / 20 = 14.35 -> 14; retained 83 - 42 - 14 = 27
    terms = IncentiveTerms(Decimal("0.25"), Decimal("0.5"), Decimal("0.02"))
    paid = practice_incentive(
        "P", enhanced_services_pence=333, signed_up=True, indicative_budget_pence=1001, spend_pence=994, terms=terms
    )
    assert (paid.set_aside_pence, paid.aspiration_pence, paid.achievement_pot_pence) == (83, 42, 41)
    assert (paid.savings_target_pence, paid.achievement_pence, paid.retained_pence) == (20, 14, 27)
    with pytest.raises(ValueError, match="between 0% and 100%"):
        IncentiveTerms(Decimal("1.5"))


@given(
    st.integers(0, 10**9),
    st.integers(0, 10**10),
    st.integers(0, 2 * 10**10),
    st.booleans(),
    st.decimals(0, 1, places=3),
    st.decimals(0, 1, places=3),
    st.decimals(0, 1, places=3),
)
def test_incentive_reconciles(
    payments: int, budget: int, spend: int, signed: bool, set_aside: Decimal, aspiration: Decimal, target: Decimal
) -> None:
    terms = IncentiveTerms(set_aside, aspiration, target)
    paid = practice_incentive(
        "P", enhanced_services_pence=payments, signed_up=signed, indicative_budget_pence=budget,
        spend_pence=spend, terms=terms,
    )  # fmt: skip
    parts = (paid.paid_as_usual_pence, paid.aspiration_pence, paid.achievement_pence, paid.retained_pence)
    assert sum(parts) == payments and min(parts) >= 0
    assert paid.achievement_pence <= paid.achievement_pot_pence


# --- through the workspace and the commands -----------------------------------------------------------------------

ALLOCATION_HEADER = ["Practice_Code", "GP_Practice_Name", "PCN_Code", "PCN_Name", "LOC22", "LOC22name", "ICS22",
                     "ICS22name", "R22", "Region22", "Patients", "pop 2022/23", "G&A WP", "CS WP", "MH WP", "Mat WP",
                     "Health Ineq WP", "Prescr WP", "Final WP", "Primary Medical Care WP"]  # fmt: skip


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    """The four practices of ``FOUR`` (final WP 1,000, 3,000, 500, 500) in two sub-ICBs of one ICB."""
    opened = init_workspace(tmp_path / "ws", reference_dir=tmp_path / "none")
    rows = [
        [r.practice, r.practice_name, r.pcn or "U", f"PCN {r.pcn}", r.sub_icb or "", f"Sub-ICB {r.sub_icb}", "QAA",
         "An ICB", "Y59", "South East", "100", "100", *["1"] * 6, str(r.weighted["final"]), "1"]
        for r in FOUR
    ]  # fmt: skip
    import_populations(opened, write_csv(tmp_path / "alloc.csv", [ALLOCATION_HEADER, *rows]), [])
    yield opened
    opened.close()


def run(workspace: Workspace, *arguments: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["--workspace", str(workspace.path), *arguments, "--format", "json"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_indicative_command(workspace: Workspace, tmp_path: Path) -> None:
    spend = write_csv(tmp_path / "spend.csv", [["practice", "spend"], ["A", "£2,000"], ["ZZ", "£5"]])
    document = run(workspace, "budgets", "indicative", "--budget", "£10k", "--spend", str(spend))
    # £10,000 by 1,000 : 3,000 : 500 : 500 = £2,000, £6,000, £1,000, £1,000
    lines = {line["code"]: line for line in document["lines"]}
    assert [lines[code]["budget_pence"] for code in "ABCD"] == [200_000, 600_000, 100_000, 100_000]
    assert (lines["A"]["spend_pence"], lines["A"]["variance_pence"], lines["A"]["variance_pct"]) == (200_000, 0, 0.0)
    assert lines["A"]["name"] == "Practice A" and lines["A"]["share"] == 0.2
    assert document["warnings"] == ["1 left out (spend for a practice not among those budgeted): ZZ"]
    by_sub = run(workspace, "budgets", "indicative", "--budget", "£10k", "--level", "sub-icb")
    assert [(line["code"], line["name"], line["budget_pence"]) for line in by_sub["lines"]] == [
        ("S1", "Sub-ICB S1", 800_000),
        ("S2", "Sub-ICB S2", 200_000),
    ]
    under = run(workspace, "budgets", "indicative", "--budget", "£1", "--under", "N2", "--component", "prescribing")
    assert [line["budget_pence"] for line in under["lines"]] == [50, 50]  # B and C: prescribing WP 1 each


def test_distance_command_against_plans(workspace: Workspace, tmp_path: Path) -> None:
    organisations = [["code", "name", "kind", "parent_code"], ["QAA", "An ICB", "icb", ""]]
    organisations += [["S1", "Sub-ICB one", "sub_icb", "QAA"], ["S2", "Sub-ICB two", "sub_icb", "QAA"]]
    import_organisations(workspace, write_csv(tmp_path / "orgs.csv", organisations))
    plans = [["org_code", "year", "item", "amount", "description"]]
    plans += [["S1", "2025/26", "recurrent_allocation", "£300m", ""]]
    plans += [["S2", "2025/26", "recurrent_allocation", "£100m", ""]]
    import_plans(workspace, write_csv(tmp_path / "plans.csv", plans))
    document = run(workspace, "budgets", "distance", "--level", "sub-icb", "--plans-year", "2025/26")
    # £400m shared 4,000 : 1,000 -> targets £320m and £80m: S1 is £20m (6.25%) under, S2 £20m (25%) over
    keys = ("target_pence", "distance_pence", "distance_pct")
    found = {line["code"]: tuple(line[key] for key in keys) for line in document["lines"]}
    assert found == {"S1": (32_000_000_000, -2_000_000_000, -6.3), "S2": (8_000_000_000, 2_000_000_000, 25.0)}
    assert document["lines"][0]["name"] == "Sub-ICB one" and document["basis"] == "share"


def test_distance_command_errors(workspace: Workspace) -> None:
    result = CliRunner().invoke(
        app, ["--workspace", str(workspace.path), "budgets", "distance", "--basis", "absolute", "--format", "json"]
    )
    assert result.exit_code == 2 and "needs an actual" in json.loads(result.stdout)["error"]


def test_incentive_command(workspace: Workspace, tmp_path: Path) -> None:
    practices = [["practice", "spend", "enhanced_services", "signed_up"], ["A", "£1,990", "£400", "yes"]]
    practices += [["B", "£6,100", "", "no"]]
    path = write_csv(tmp_path / "practices.csv", practices)
    document = run(
        workspace, "budgets", "incentive", "--budget", "£10k", "--practices", str(path), "--pot", "£1,000",
        "--aspiration", "40%", "--savings-target", "2%",
    )  # fmt: skip
    rows = {row["practice"]: row for row in document["practices"]}
    # A: budget £2,000, target £40, saves £10: £400 -> £100 set aside, £40 up front, pot £60 x 10/40 = £15
    assert (rows["A"]["set_aside_pence"], rows["A"]["aspiration_pence"], rows["A"]["achievement_pence"]) == (
        10_000,
        4_000,
        1_500,
    )
    # B: payments from the £1,000 pot shared 1,000 : 3,000 : 500 : 500 -> £600; not signed up, all retained
    assert (rows["B"]["enhanced_services_pence"], rows["B"]["retained_pence"]) == (60_000, 15_000)
    assert document["total"]["practices"] == 2
    assert document["warnings"] == ["2 left out (no spend, or no enhanced-service payments and no pot to share): C, D"]
    assert [total["code"] for total in document["totals"]] == ["N1", "N2"]


def test_spend_from_the_ledger(workspace: Workspace, tmp_path: Path) -> None:
    organisations = [["code", "name", "kind", "parent_code"], ["QAA", "An ICB", "icb", ""]]
    organisations += [["S1", "Sub-ICB one", "sub_icb", "QAA"], ["A", "Practice A", "practice", "S1"]]
    import_organisations(workspace, write_csv(tmp_path / "orgs.csv", organisations))
    ledger = [["org_code", "year", "month", "category", "budget", "actual"]]
    ledger += [["A", "2025/26", "M01", "prescribing", "£900", "£1,000.50"]]
    ledger += [["A", "2025/26", "M02", "prescribing", "£900", "£999.50"]]
    ledger += [["A", "2025/26", "M03", "prescribing", "£900", ""], ["A", "2025/26", "M01", "acute", "£5", "£7"]]
    import_ledger(workspace, write_csv(tmp_path / "ledger.csv", ledger))
    arguments = ["budgets", "indicative", "--budget", "£10k", "--ledger-year", "2025/26"]
    prescribing = run(workspace, *arguments, "--category", "prescribing")
    assert prescribing["lines"][0]["spend_pence"] == 200_000  # £1,000.50 + £999.50; M03 not yet reported
    assert run(workspace, *arguments)["lines"][0]["spend_pence"] == 200_700  # and £7 of acute
    both = CliRunner().invoke(
        app, ["--workspace", str(workspace.path), *arguments, "--spend", str(tmp_path / "ledger.csv"), "-f", "json"]
    )
    assert both.exit_code == 2 and "not both" in json.loads(both.stdout)["error"]
