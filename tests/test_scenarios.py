"""Recovery scenarios: levers as data, each lever's effect on the forecast outturn and on each contract, and a
bridge from baseline to scenario that reconciles to the penny.

References: hand-worked figures (written out in each test), the published "10% cut in GP referrals worth £975k a
year", and sums taken independently of the code's own totals for the reconciliation properties."""

from __future__ import annotations

import csv
import json
import tomllib
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import outturn
from outturn.cli import app
from outturn.domain.activity import PointOfDelivery
from outturn.domain.ledger import CostCategory
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.prescribing import PRESCRIBING_SCHEMA, PRESCRIBING_TABLE
from outturn.domain.scenario_effects import (
    ActivityCell,
    Baseline,
    CellKey,
    ContractForecast,
    LeverInputs,
    ScenarioResult,
)
from outturn.domain.scenario_levers import apply_scenario
from outturn.domain.scenarios import Scenario, scenario_json_schema
from outturn.ingest.scenarios import EXAMPLE_SCENARIO, example_scenario_files, read_scenario
from outturn.services import scenarios as scenario_service
from outturn.services.scenario_inputs import generic_figures
from outturn.services.scenarios import practice_groups
from outturn.services.workspace import open_workspace

EXAMPLE_FILE = Path(__file__).resolve().parents[1] / "examples" / "scenarios" / "recovery-2025-26.toml"
M06 = FinancialMonth(FinancialYear(2025), 6)
M08 = FinancialMonth(FinancialYear(2025), 8)


def cell(
    pod: str,
    units_a_year: int,
    price_pounds: int,
    *,
    tf: str = "110",
    subtype: str = "",
    source: str = "",
    hrg: str = "",
    group: str = "",
    contract: tuple[str, str] = ("RXX", "00X"),
    remaining: Fraction = Fraction(1, 2),
    national: Fraction = Fraction(1),
) -> ActivityCell:
    key = CellKey(*contract, PointOfDelivery(pod), tf, subtype, source, hrg, group)
    return ActivityCell(key, units_a_year * remaining, Fraction(units_a_year), Fraction(price_pounds * 100), national)


def baseline(cells: list[ActivityCell], as_at: FinancialMonth = M06, **extra: Any) -> Baseline:
    contracts = sorted({c.key.contract for c in cells})
    return Baseline(
        org_code="00X",
        org_name="A commissioner",
        as_at=as_at,
        method="run-rate",
        resource_pence=extra.get("resource", 100_000_000_00),
        control_total_pence=0,
        categories=extra.get("categories", ((CostCategory.ACUTE, 60_000_000_00), (CostCategory.PRESCRIBING, 0))),
        contracts=extra.get(
            "contracts", tuple(ContractForecast(p, c, 10_000_000_00, 5_000_000_00, 10_000_000_00) for p, c in contracts)
        ),
        cells=tuple(cells),
    )


def run(levers: list[dict[str, Any]], base: Baseline, inputs: list[LeverInputs] | None = None) -> ScenarioResult:
    scenario = Scenario.model_validate({"name": "test", "levers": levers})
    return apply_scenario(base, scenario.levers, inputs)


def referral_fixture() -> list[ActivityCell]:
    """Two specialties of one contract, a year's units, local prices in pounds."""
    return [
        cell("op_first", 8_000, 160, subtype="first", source="gp"),
        cell("op_first", 2_000, 160, subtype="first", source="consultant"),
        cell("op_follow_up", 12_000, 90, subtype="follow_up"),
        cell("op_follow_up", 3_000, 90, subtype="follow_up", group="other"),
        cell("elective", 800, 3_000),
        cell("day_case", 1_200, 1_000),
        cell("op_first", 6_000, 175, tf="130", subtype="first", source="gp"),
        cell("op_follow_up", 12_000, 75, tf="130", subtype="follow_up"),
        cell("day_case", 1_600, 1_600, tf="130"),
    ]


# --- the public example: a 10% cut in GP referrals worth £975k a year --------------------------------------------


def test_a_ten_percent_cut_in_gp_referrals_is_worth_975k_a_year() -> None:
    # Trauma and orthopaedics (110): 8,000 of 10,000 first attendances are GP-referred; 15,000 follow-ups (1.5 per
    # first attendance); 800 elective and 1,200 day-case spells (0.2 per first attendance). A 10% cut removes 800
    # first attendances, 800 x 1.5 = 1,200 follow-ups and 800 x 0.2 = 160 spells, shared as the spells are
    # (40% elective, 60% day case): 64 and 96.
    trauma = 800 * 160 + 1_200 * 90 + 64 * 3_000 + 96 * 1_000  # £128,000 + £108,000 + £192,000 + £96,000
    # Ophthalmology (130): 6,000 GP-referred first attendances, 12,000 follow-ups (2 per first), 1,600 day cases
    # (0.2667 per first): 600 first attendances, 1,200 follow-ups and 160 day cases go.
    eyes = 600 * 175 + 1_200 * 75 + 160 * 1_600  # £105,000 + £90,000 + £256,000
    assert trauma + eyes == 975_000

    result = run([{"type": "gp_referral_cut", "percent": 10}], baseline(referral_fixture()))
    (effect,) = result.effects
    assert effect.full_year_pence == -975_000_00
    assert effect.in_year_pence == -975_000_00 // 2  # as at M06: half of each cell's year is still to come
    by_pod = {line.point_of_delivery: line for line in effect.lines}
    assert by_pod["op_follow_up"].full_year_pence == -(1_200 * 90 + 1_200 * 75) * 100
    assert by_pod["op_follow_up"].full_year_activity == -2_400
    assert by_pod["elective"].full_year_activity == -64
    assert by_pod["day_case"].full_year_activity == -(96 + 160)


def test_given_rates_override_the_measured_ones() -> None:
    # 10% of 8,000 GP firsts = 800, x 1.0 follow-ups = 800 of 15,000 follow-ups; x 0.1 spells = 80 of 2,000 spells.
    lever = {"type": "gp_referral_cut", "percent": 10, "treatment_functions": ["110"], "follow_up_ratio": 1,
             "conversion_rate": 0.1, "full_year": True}  # fmt: skip
    (effect,) = run([lever], baseline(referral_fixture())).effects
    expected = 800 * 160 + 800 * 90 + 32 * 3_000 + 48 * 1_000
    assert effect.full_year_pence == effect.in_year_pence == -expected * 100


# --- each lever by hand ------------------------------------------------------------------------------------------


def test_follow_up_ratio_removes_follow_ups_above_the_benchmark() -> None:
    cells = [
        cell("op_first", 1_000, 150, subtype="first", source="gp"),
        cell("op_follow_up", 3_000, 80, subtype="follow_up"),
        cell("op_first", 1_000, 150, subtype="first", source="gp", contract=("RYY", "00X")),
        cell("op_follow_up", 1_000, 80, subtype="follow_up", contract=("RYY", "00X")),
    ]
    (given,) = run([{"type": "follow_up_ratio", "ratio": 2}], baseline(cells)).effects
    assert given.full_year_pence == -1_000 * 80 * 100  # RXX: 3,000 - 2 x 1,000; RYY is below 2
    assert {line.provider for line in given.lines} == {"RXX"}
    (peer,) = run([{"type": "follow_up_ratio"}], baseline(cells)).effects  # peers: 4,000 / 2,000 = 2 as well
    assert peer.full_year_pence == given.full_year_pence


def test_plcv_stops_a_share_of_the_named_hrgs_spells_and_their_excess_bed_days() -> None:
    cells = [
        cell("elective", 200, 1_100, hrg="HN45A"),
        cell("day_case", 300, 1_000, hrg="HN45A"),
        cell("elective", 500, 5_000),
        cell("excess_bed_days", 40, 300, hrg="HN45A", subtype="elective"),
        cell("excess_bed_days", 60, 300, hrg="HN45A", subtype="non_elective"),
    ]
    (effect,) = run([{"type": "plcv_threshold", "hrgs": ["hn45a"], "percent": 50}], baseline(cells)).effects
    assert effect.full_year_pence == -(100 * 1_100 + 150 * 1_000 + 20 * 300) * 100
    (day_cases,) = run(
        [{"type": "plcv_threshold", "hrgs": ["HN45A"], "percent": 50, "points_of_delivery": ["day_case"]}],
        baseline(cells),
    ).effects
    assert day_cases.full_year_pence == -150 * 1_000 * 100


def test_tariff_change_moves_national_prices_only() -> None:
    cells = [
        cell("elective", 100, 2_000),
        cell("op_first", 1_000, 100, subtype="first", source="gp", national=Fraction(0)),  # locally priced
        cell("day_case", 100, 1_000, national=Fraction(1, 4)),  # a quarter of its £ at national prices
    ]
    (effect,) = run([{"type": "tariff_change", "percent": -1.5}], baseline(cells)).effects
    assert effect.full_year_pence == -(100 * 2_000 + 100 * 250) * 100 * 15 // 1_000  # 1.5% of £200,000 and £25,000
    assert effect.in_year_pence == effect.full_year_pence // 2


def test_contract_value_cut_by_amount_and_by_percent() -> None:
    contracts = (
        ContractForecast("RTH", "10Q", 30_000_000_00, 10_000_000_00, 30_000_000_00),
        ContractForecast("RTH", "14Y", 10_000_000_00, 4_000_000_00, 10_000_000_00),
    )
    base = baseline([], as_at=M08, contracts=contracts)
    (amount,) = run([{"type": "contract_value_cut", "provider": "RTH", "amount": "£2m"}], base).effects
    assert amount.full_year_pence == -2_000_000_00
    assert amount.in_year_pence == -(2_000_000_00 * 4 // 12 + 1)  # four months left: £666,666.67
    shares = {line.commissioner: line.full_year_pence for line in amount.lines}
    assert shares == {"10Q": -1_500_000_00, "14Y": -500_000_00}  # shared 3:1 by forecast
    (percent,) = run(
        [{"type": "contract_value_cut", "provider": "RTH", "commissioner": "14Y", "percent": 5}], base
    ).effects
    assert (percent.in_year_pence, percent.full_year_pence) == (-200_000_00, -500_000_00)  # 5% of £4m left, of £10m


def test_vacancy_control_bed_closure_and_non_recurrent_by_hand() -> None:
    base = baseline([], as_at=M08)
    levers = [
        {"type": "vacancy_control", "monthly_saving": "£60k"},
        {"type": "bed_closure", "beds": 12, "cost_per_bed_day": "£350", "occupancy_percent": 92,
         "reprovision_percent": 30},
        {"type": "non_recurrent", "amount": "£1.5m", "month": "M11", "category": "other"},
    ]  # fmt: skip
    vacancy, beds, one_off = run(levers, base).effects
    assert (vacancy.in_year_pence, vacancy.full_year_pence) == (-240_000_00, -720_000_00)
    days_left = 31 + 31 + 28 + 31  # 1 December 2025 to 31 March 2026
    per_day = 12 * 350 * Fraction(92, 100) * Fraction(70, 100)  # £2,704.80
    assert beds.in_year_pence == -round(per_day * days_left * 100)
    assert beds.full_year_pence == -round(per_day * 365 * 100)
    assert beds.lines[0].category is CostCategory.COMMUNITY
    assert (one_off.in_year_pence, one_off.full_year_pence, one_off.recurrent) == (-1_500_000_00, 0, False)


def test_population_growth_costs_the_age_weighted_spend_per_head() -> None:
    categories = ((CostCategory.ACUTE, 600_000_000_00), (CostCategory.RUNNING_COSTS, 10_000_000_00))
    base = baseline([], as_at=M08, categories=categories)
    lever = {"type": "population_growth", "people": 6_000, "base_population": 400_000, "age_profile": [
        {"band": "0-17", "share_percent": 28, "cost_index": 0.6},
        {"band": "18-64", "share_percent": 60, "cost_index": 0.9},
        {"band": "65+", "share_percent": 12, "cost_index": 2.6},
    ]}  # fmt: skip
    (effect,) = run([lever], base).effects
    index = Fraction(28 * 6 + 60 * 9 + 12 * 26, 1000)  # 1.02
    per_head = Fraction(600_000_000, 400_000)  # £1,500 of acute spend a head; running costs are not demand-led
    assert effect.full_year_pence == round(6_000 * index * per_head * 100)  # £9,180,000
    assert effect.in_year_pence == round(6_000 * index * per_head * 100 * Fraction(4, 12))


def test_generic_prescribing_saves_the_price_gap_on_switched_items() -> None:
    lever = {"type": "generic_prescribing", "target_percent": 90, "current_percent": 84.5,
             "annual_items": 1_000_000, "generic_item_cost": "£6.10", "branded_item_cost": "£21.40"}  # fmt: skip
    (effect,) = run([lever], baseline([], as_at=M08)).effects
    assert effect.full_year_pence == -55_000 * 1_530  # 5.5% of a million items switched, £15.30 each
    assert effect.in_year_pence == -55_000 * 1_530 // 3
    assert effect.lines[0].category is CostCategory.PRESCRIBING


def test_generic_baseline_from_prescribing_rows() -> None:
    rows = [
        {"bnf_code": "0212000B0AAABAB", "items": 90, "cost_pence": 90 * 150},  # atorvastatin, generic
        {"bnf_code": "0212000B0BBAAAB", "items": 10, "cost_pence": 10 * 1_300},  # Lipitor, branded
        {"bnf_code": "0601060D0AAA0A0", "items": 500, "cost_pence": 500},  # no generic: not in the rate
    ]
    figures = generic_figures(rows, 1)
    assert figures["current_percent"] == 90
    assert figures["annual_items"] == 1_200
    assert (figures["generic_item_cost"], figures["branded_item_cost"]) == (150, 1_300)


def test_a_start_month_takes_the_share_of_the_remaining_months() -> None:
    lever = {"type": "gp_referral_cut", "percent": 10, "start_month": "M10", "treatment_functions": ["130"]}
    (effect,) = run([lever], baseline(referral_fixture())).effects  # as at M06: M10 to M12 is half of M07 to M12
    assert effect.full_year_pence == -451_000_00
    assert effect.in_year_pence == -451_000_00 // 4


def test_levers_apply_in_order_each_to_what_the_previous_left() -> None:
    cells = [
        cell("op_first", 1_000, 100, subtype="first", source="gp"),
        cell("op_follow_up", 4_000, 50, subtype="follow_up"),
    ]
    cut = {"type": "gp_referral_cut", "percent": 50, "full_year": True}
    benchmark = {"type": "follow_up_ratio", "ratio": 2, "full_year": True}
    first, second = run([cut, benchmark], baseline(cells)).effects
    # The cut removes 500 firsts and 2,000 follow-ups, leaving 500 and 2,000: 1,000 follow-ups above 2 per first.
    assert (first.full_year_pence, second.full_year_pence) == (-(500 * 100 + 2_000 * 50) * 100, -1_000 * 50 * 100)
    other_first, other_second = run([benchmark, cut], baseline(cells)).effects
    # The other way round: 2,000 follow-ups above 2 per first go, then half of what is left of each.
    assert other_first.full_year_pence == -2_000 * 50 * 100
    assert other_second.full_year_pence == -(500 * 100 + 1_000 * 50) * 100


def test_a_practice_group_lever_reaches_only_its_practices() -> None:
    cells = [
        cell("op_first", 1_000, 100, subtype="first", source="gp", group="g0"),
        cell("op_follow_up", 2_000, 50, subtype="follow_up", group="g0"),
        cell("op_first", 3_000, 100, subtype="first", source="gp"),
        cell("op_follow_up", 9_000, 50, subtype="follow_up"),
    ]
    lever = {"type": "gp_referral_cut", "percent": 10, "practices": ["U00001"]}
    (effect,) = run([lever], baseline(cells), [LeverInputs(frozenset({"g0"}))]).effects
    assert effect.full_year_pence == -(100 * 100 + 200 * 50) * 100


def test_practice_groups_split_practices_by_the_levers_that_name_them() -> None:
    group_of, groups = practice_groups({0: frozenset({"A", "B"}), 2: frozenset({"B", "C"})})
    assert group_of == {"A": "g0", "B": "g0-2", "C": "g2"}
    assert groups == {0: frozenset({"g0", "g0-2"}), 2: frozenset({"g0-2", "g2"})}


# --- reconciliation: the bridge sums to the penny ----------------------------------------------------------------

CONTRACTS = (("RTH", "10Q"), ("RTH", "14Y"), ("RXQ", "10Q"))
cell_strategy = st.builds(
    lambda contract, pod, tf, kind, source, hrg, units, price, share, national: cell(
        pod if kind != "follow_up" else "op_follow_up",
        units,
        price,
        tf=tf,
        subtype=kind if pod.startswith("op") or kind == "follow_up" else "",
        source=source if kind == "first" else "",
        hrg=hrg,
        contract=contract,
        remaining=share,
        national=national,
    ),
    st.sampled_from(CONTRACTS),
    st.sampled_from(["op_first", "op_procedure", "elective", "day_case", "excess_bed_days", "non_elective", "ae"]),
    st.sampled_from(["110", "130"]),
    st.sampled_from(["first", "follow_up", ""]),
    st.sampled_from(["gp", "consultant"]),
    st.sampled_from(["", "HN45A"]),
    st.integers(1, 5_000),
    st.integers(1, 5_000),
    st.fractions(0, 1, max_denominator=12),
    st.sampled_from([Fraction(1), Fraction(0), Fraction(1, 3)]),
)
lever_strategy = st.one_of(
    st.builds(lambda p: {"type": "gp_referral_cut", "percent": p}, st.integers(1, 100)),
    st.builds(lambda r: {"type": "follow_up_ratio", "ratio": r}, st.none() | st.decimals(0, 5, places=2)),
    st.builds(lambda p: {"type": "plcv_threshold", "hrgs": ["HN45A"], "percent": p}, st.integers(1, 100)),
    st.builds(lambda p: {"type": "tariff_change", "percent": p}, st.decimals(-50, 50, places=1)),
    st.builds(lambda a: {"type": "contract_value_cut", "provider": "RTH", "amount": a}, st.integers(1, 10**7)),
    st.builds(lambda p: {"type": "contract_value_cut", "provider": "RTH", "percent": p}, st.integers(1, 100)),
    st.builds(lambda a: {"type": "vacancy_control", "monthly_saving": a}, st.integers(1, 10**6)),
    st.builds(lambda b: {"type": "bed_closure", "beds": b, "cost_per_bed_day": 333}, st.integers(1, 50)),
    st.builds(lambda n: {"type": "population_growth", "people": n, "base_population": 123_457}, st.integers(1, 10**5)),
    st.builds(
        lambda a: {"type": "non_recurrent", "amount": a, "month": 12, "category": "community"},
        st.integers(-(10**6), 10**6),
    ),
    st.builds(lambda start: {"type": "gp_referral_cut", "percent": 25, "start_month": start}, st.integers(10, 12)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cells=st.lists(cell_strategy, max_size=25),
    levers=st.lists(lever_strategy, min_size=1, max_size=6),
    full_year=st.lists(st.booleans(), min_size=6, max_size=6),
    as_at=st.integers(1, 9),
)
def test_the_bridge_and_every_breakdown_reconcile_to_the_penny(
    cells: list[ActivityCell], levers: list[dict[str, Any]], full_year: list[bool], as_at: int
) -> None:
    unique = list({c.key: c for c in cells}.values())
    categories = ((CostCategory.ACUTE, 500_000_000_00), (CostCategory.COMMUNITY, 80_000_000_01))
    contracts = tuple(ContractForecast(p, c, 7_000_000_03, 3_000_000_01, 7_000_000_03) for p, c in CONTRACTS)
    base = baseline(unique, FinancialMonth(FinancialYear(2025), as_at), categories=categories, contracts=contracts)
    levers = [{**lever, "full_year": flag} for lever, flag in zip(levers, full_year, strict=False)]
    result = run(levers, base)

    bridge = result.bridge
    assert bridge[0].pence == sum(pence for _, pence in categories)
    running = bridge[0].pence
    for step, effect in zip(bridge[1:-1], result.effects, strict=True):
        running += step.pence
        assert step.running_pence == running
        assert step.pence == sum(line.in_year_pence for line in effect.lines)
    assert bridge[-1].pence == running == sum(result.final.categories.values())
    lines = [line for effect in result.effects for line in effect.lines]
    for category, pence in categories:
        assert result.final.categories[category] == pence + sum(
            line.in_year_pence for line in lines if line.category is category
        )
    for contract in contracts:
        mine = [line for line in lines if (line.provider, line.commissioner) == contract.key]
        assert result.final.contracts[contract.key].forecast_pence == contract.forecast_pence + sum(
            line.in_year_pence for line in mine
        )
        assert result.final.contracts[contract.key].full_year_pence == contract.full_year_pence + sum(
            line.full_year_pence for line in mine
        )
    for effect in result.effects:
        if not effect.recurrent:
            assert effect.full_year_pence == 0
    assert result.full_year_effect_pence == sum(e.full_year_pence for e in result.effects)


# --- scenario files ----------------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    scenario, problems = read_scenario(path)
    assert scenario is None
    return [str(problem) for problem in problems]


def test_the_example_file_is_the_built_in_example_and_is_valid() -> None:
    assert EXAMPLE_FILE.read_text(encoding="utf-8") == EXAMPLE_SCENARIO
    scenario, problems = read_scenario(EXAMPLE_FILE)
    assert problems == [] and scenario is not None
    schema_types = {
        definition["properties"]["type"]["const"]
        for definition in scenario_json_schema()["$defs"].values()
        if "type" in definition.get("properties", {})
    }
    assert {lever.type for lever in scenario.levers} == schema_types  # one of every lever


def test_the_examples_ship_inside_the_package_and_the_repository_links_to_them() -> None:
    package = Path(outturn.__file__).resolve().parent
    files = example_scenario_files()

    # found from the package itself (an installed wheel has them), not from a source checkout's layout
    assert files == {"recovery-2025-26.toml": package / "examples" / "scenarios" / "recovery-2025-26.toml"}
    assert EXAMPLE_FILE.resolve() == files["recovery-2025-26.toml"].resolve()


def test_the_example_command_prints_or_writes_the_built_in_example(tmp_path: Path) -> None:
    runner = CliRunner()
    printed = runner.invoke(app, ["scenario", "example"])
    out = tmp_path / "mine.toml"
    written = runner.invoke(app, ["scenario", "example", "--out", str(out)])
    again = runner.invoke(app, ["scenario", "example", "--out", str(out), "-f", "json"])

    assert printed.exit_code == written.exit_code == 0, printed.output + written.output
    assert printed.stdout == EXAMPLE_SCENARIO == out.read_text(encoding="utf-8")
    assert again.exit_code == 2 and "exists" in json.loads(again.stdout)["error"]


def test_json_and_toml_files_read_alike(tmp_path: Path) -> None:
    data = tomllib.loads(EXAMPLE_SCENARIO)
    from_json, problems = read_scenario(write(tmp_path, "s.json", json.dumps(data)))
    assert problems == []
    assert from_json == read_scenario(EXAMPLE_FILE)[0]


@pytest.mark.parametrize(
    ("lever", "expected"),
    [
        ('type = "gp_referral_cut"\npercent = -10', "levers[0].percent: a negative percentage"),
        ('type = "gp_referral_cut"\npercent = 120', "levers[0].percent: more than 100% cannot be cut"),
        ('type = "cut_everything"', "levers[0]: unknown lever type 'cut_everything'"),
        ('percent = 10', "levers[0]: a lever needs a type"),
        ('type = "gp_referral_cut"\npercent = 10\npercnet = 5', "levers[0].percnet: not a setting"),
        ('type = "contract_value_cut"\nprovider = "RTH"', "levers[0]: give exactly one of amount or percent"),
        ('type = "vacancy_control"\nmonthly_saving = "£1,23"', "levers[0].monthly_saving: ambiguous amount"),
        ('type = "population_growth"\npeople = 10\nage_profile = [{band = "0-17", share_percent = 50}]',
         "levers[0].age_profile: the age profile's shares add up to 50%"),
        ('type = "gp_referral_cut"\npercent = 10\ntreatment_functions = ["T&O"]',
         "levers[0].treatment_functions[0]: not a treatment function code"),
    ],
)  # fmt: skip
def test_a_bad_lever_is_named_by_file_path_and_reason(tmp_path: Path, lever: str, expected: str) -> None:
    path = write(tmp_path, "bad.toml", f'name = "x"\n[[levers]]\ntype = "vacancy_control"\nmonthly_saving = 1\n'
                                       f"[[levers]]\n{lever}\n")  # fmt: skip
    (problem,) = problems_of(path)
    assert problem.startswith("bad.toml: " + expected.replace("levers[0]", "levers[1]"))


def test_bad_toml_names_the_file_and_line(tmp_path: Path) -> None:
    (problem,) = problems_of(write(tmp_path, "broken.toml", 'name = "x"\n[[levers]]\ntype = \n'))
    assert problem.startswith("broken.toml, row 3: not valid TOML")


def test_the_cli_refuses_a_bad_file_with_exit_code_2(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(tmp_path / "ws"), "--reference-dir", str(tmp_path)]).exit_code == 0
    path = write(tmp_path, "bad.toml", 'name = "x"\n[[levers]]\ntype = "gp_referral_cut"\npercent = 101\n')
    result = runner.invoke(app, ["-w", str(tmp_path / "ws"), "scenario", "run", str(path), "--format", "json"])
    assert result.exit_code == 2
    (problem,) = json.loads(result.stdout)["problems"]
    assert problem["source"] == "bad.toml" and problem["reason"].startswith("levers[0].percent:")


MANY_FAULTS = """name = "Many faults"
as_at = "2025-13"

[[levers]]
type = "contract_value_cut"
provider = "RTH"
label = 7

[[levers]]
type = "population_growth"
people = -1
age_profile = [{band = "0-17", share_percent = 50}]

[[levers]]
type = "gp_referral_cut"
percent = 120
"""


def test_every_fault_in_a_file_is_reported_in_one_pass(tmp_path: Path) -> None:
    """A lever's rules that relate two settings, and the as-at month, used to be checked only once everything
    else was right, so each fix revealed another fault."""
    path = write(tmp_path, "many.toml", MANY_FAULTS)
    assert problems_of(path) == [
        "many.toml: as_at: calendar month 13 does not exist",
        "many.toml: levers[0].label: Input should be a valid string",
        "many.toml: levers[0]: give exactly one of amount or percent",
        "many.toml: levers[1].people: Input should be greater than 0",
        "many.toml: levers[1].age_profile: the age profile's shares add up to 50%, not 100%",
        "many.toml: levers[2].percent: more than 100% cannot be cut",
    ]


def test_the_cli_refuses_more_than_twenty_levers_naming_the_cap(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(tmp_path / "ws"), "--reference-dir", str(tmp_path)]).exit_code == 0
    lever = '[[levers]]\ntype = "vacancy_control"\nmonthly_saving = "£1k"\n'
    path = write(tmp_path, "fifty.toml", 'name = "Fifty"\n' + lever * 50)
    result = runner.invoke(app, ["-w", str(tmp_path / "ws"), "scenario", "run", str(path), "--format", "json"])
    assert result.exit_code == 2
    (problem,) = json.loads(result.stdout)["problems"]
    assert problem["reason"] == "levers: a scenario holds at most 20 levers, not 50: split it into smaller scenarios"
    twenty, problems = read_scenario(write(tmp_path, "twenty.toml", 'name = "Twenty"\n' + lever * 20))
    assert problems == [] and twenty is not None and len(twenty.levers) == 20


def test_schema_command_prints_the_json_schema() -> None:
    result = CliRunner().invoke(app, ["scenario", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "outturn recovery scenario"
    assert schema["properties"]["levers"]["items"]["discriminator"]["propertyName"] == "type"


# --- end to end: a workspace with a contract, local prices and activity ------------------------------------------


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _activity(tmp_path: Path) -> tuple[Path, Path]:
    """Half the hand-worked year of ``referral_fixture``, April to September 2018, at Oxford (RTH)."""
    visits: list[list[object]] = []
    spells: list[list[object]] = []

    def day(n: int) -> date:
        return date(2018, 4, 1) + timedelta(days=n % 180)

    for tf, kind, source, count in (
        ("110", "first", "gp", 4_000), ("110", "first", "consultant", 1_000), ("110", "follow_up", "gp", 7_500),
        ("130", "first", "gp", 3_000), ("130", "follow_up", "gp", 6_000),
    ):  # fmt: skip
        visits += [[f"{tf}{kind}{source}{n}", "RTH", "10Q", f"K8400{n % 2}", f"p{n}", day(n), kind, tf, "", source,
                    50] for n in range(count)]  # fmt: skip
    for tf, method, hrg, count in (("110", "elective", "HN45A", 400), ("110", "day_case", "HN45A", 600),
                                   ("130", "day_case", "BZ34C", 800)):  # fmt: skip
        spells += [[f"{tf}{method}{n}", "RTH", "10Q", "K84001", f"s{n}", method, hrg, day(n), day(n), 0, tf, 60]
                   for n in range(count)]  # fmt: skip
    op = write_csv(tmp_path / "op.csv", ["attendance_id", "provider", "commissioner", "practice", "patient_id",
                                         "attendance_date", "attendance_type", "treatment_function", "procedure_hrg",
                                         "referral_source", "age"], visits)  # fmt: skip
    apc = write_csv(tmp_path / "apc.csv", ["spell_id", "provider", "commissioner", "practice", "patient_id",
                                           "admission_method", "hrg", "admission_date", "discharge_date",
                                           "length_of_stay", "treatment_function", "age"], spells)  # fmt: skip
    return op, apc


@pytest.fixture
def contract_workspace(tmp_path: Path, reference_dir: Path) -> Path:
    """A contract whose plan for the rest of the year equals its activity to date (so the forecast is twice the
    year to date), with local prices for every unit: the hand-worked year of ``referral_fixture``."""
    ws = tmp_path / "ws"
    organisations = write_csv(tmp_path / "orgs.csv", ["code", "name", "kind", "parent_code"], [
        ["Y59", "South East", "region", ""], ["10Q", "Oxfordshire", "ccg", "Y59"],
        ["U00001", "A PCN", "pcn", "10Q"], ["K84000", "Practice A", "practice", "U00001"],
        ["K84001", "Practice B", "practice", "U00001"], ["RTH", "Oxford University Hospitals", "provider", ""],
    ])  # fmt: skip
    to_date = {"op_first": (8_000, 1_325_000), "op_follow_up": (13_500, 1_125_000), "elective": (400, 1_200_000),
               "day_case": (1_400, 1_880_000)}  # fmt: skip
    plan_rows = [["RTH", "10Q", "2018/19", pod, month, units, pounds, ""]
                 for pod, (units, pounds) in to_date.items() for month in ("M01", "M07")]  # fmt: skip
    plan = write_csv(tmp_path / "plan.csv", ["provider", "commissioner", "year", "point_of_delivery", "month",
                                             "activity", "value", "description"], plan_rows)  # fmt: skip
    prices = write_csv(tmp_path / "prices.csv", ["provider", "commissioner", "year", "point_of_delivery", "code",
                                                 "price"], [
        ["RTH", "10Q", "2018/19", "op_first", "110", 160], ["RTH", "10Q", "2018/19", "op_first", "130", 175],
        ["RTH", "10Q", "2018/19", "op_follow_up", "110", 90], ["RTH", "10Q", "2018/19", "op_follow_up", "130", 75],
        ["RTH", "10Q", "2018/19", "elective", "HN45A", 3_000], ["RTH", "10Q", "2018/19", "day_case", "HN45A", 1_000],
        ["RTH", "10Q", "2018/19", "day_case", "BZ34C", 1_600],
    ])  # fmt: skip
    plans = write_csv(tmp_path / "fplan.csv", ["org_code", "year", "item", "amount", "description"],
                      [["10Q", "2018/19", "recurrent_allocation", "£50m", ""]])  # fmt: skip
    ledger = write_csv(
        tmp_path / "ledger.csv",
        ["org_code", "year", "month", "category", "budget", "actual"],
        [["10Q", "2018/19", f"M{m:02d}", "acute", "£4m", "£4m" if m <= 6 else ""] for m in range(1, 13)],
    )
    op, apc = _activity(tmp_path)
    runner = CliRunner()
    for command in (
        ["init", str(ws), "--org", "10Q", "--as-at", "2018-09", "--reference-dir", str(reference_dir)],
        ["-w", str(ws), "orgs", "import", str(organisations)],
        ["-w", str(ws), "plan", "import", str(plans)],
        ["-w", str(ws), "ledger", "import", str(ledger)],
        ["-w", str(ws), "contracts", "import", str(plan), "--prices", str(prices)],
        ["-w", str(ws), "contracts", "activity", str(op), "--kind", "op"],
        ["-w", str(ws), "contracts", "activity", str(apc), "--kind", "apc"],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, (command, result.output)
    return ws


def run_file(workspace: Path, tmp_path: Path, levers: str) -> tuple[int, dict[str, Any]]:
    path = write(tmp_path, "scenario.toml", f'name = "test"\n{levers}')
    result = CliRunner().invoke(app, ["-w", str(workspace), "scenario", "run", str(path), "--format", "json"])
    return result.exit_code, json.loads(result.stdout)


def test_the_975k_example_end_to_end_through_a_workspace(contract_workspace: Path, tmp_path: Path) -> None:
    code, document = run_file(contract_workspace, tmp_path, '[[levers]]\ntype = "gp_referral_cut"\npercent = 10\n')
    assert code == 0, document
    (lever,) = document["levers"]
    assert lever["full_year_pence"] == -975_000_00  # hand-worked in the first test of this module
    assert lever["in_year_pence"] == -975_000_00 // 2  # as at M06: the remaining six months are half the year
    (contract,) = document["contracts"]
    assert contract["baseline_forecast_pence"] == 2 * (1_325_000 + 1_125_000 + 1_200_000 + 1_880_000) * 100
    assert contract["change_pence"] == lever["in_year_pence"]
    assert document["scenario"]["forecast_outturn_pence"] == document["baseline"]["forecast_outturn_pence"] - 487_500_00
    by_pod = {line["point_of_delivery"]: line for line in lever["by_contract"]}
    assert by_pod["op_first"]["full_year_activity"] == -1_400.0
    assert [step["kind"] for step in document["bridge"]] == ["start", "step", "end"]


def test_a_practice_group_and_a_pcn_resolve_through_the_organisation_tree(
    contract_workspace: Path, tmp_path: Path
) -> None:
    # K84000 holds half the outpatient attendances of each kind and no spells. In a year: T&O 4,000 GP-referred of
    # 5,000 first attendances and 7,500 follow-ups; ophthalmology 3,000 and 6,000. 10% of the GP referrals go, and
    # the group's follow-ups fall by the firsts' share (400 of 5,000; 300 of 3,000); it has no spells to lose.
    by_hand = 400 * 160 + 7_500 * 400 // 5_000 * 90 + 300 * 175 + 6_000 * 300 // 3_000 * 75  # £215,500
    lever = '[[levers]]\ntype = "gp_referral_cut"\npercent = 10\npractices = ["{}"]\n'
    code, document = run_file(contract_workspace, tmp_path, lever.format("K84000"))
    assert code == 0, document
    assert document["levers"][0]["full_year_pence"] == -by_hand * 100
    code, document = run_file(contract_workspace, tmp_path, lever.format("U00001"))
    assert document["levers"][0]["full_year_pence"] == -975_000_00  # the PCN is every practice


def test_unknown_provider_and_practice_group_are_refused_with_the_lever_path(
    contract_workspace: Path, tmp_path: Path
) -> None:
    levers = (
        '[[levers]]\ntype = "gp_referral_cut"\npercent = 10\nproviders = ["RXX"]\n'
        '[[levers]]\ntype = "gp_referral_cut"\npercent = 10\npractices = ["Z99999"]\n'
        '[[levers]]\ntype = "contract_value_cut"\nprovider = "RTH"\ncommissioner = "14Y"\npercent = 1\n'
        '[[levers]]\ntype = "non_recurrent"\namount = 1\nmonth = "M03"\ncategory = "acute"\n'
    )
    code, document = run_file(contract_workspace, tmp_path, levers)
    assert code == 2
    reasons = [problem["reason"] for problem in document["problems"]]
    assert reasons[0].startswith("levers[0].providers[0]: no contract with provider 'RXX'")
    assert reasons[1].startswith("levers[1].practices[0]: unknown practice group 'Z99999'")
    assert reasons[2].startswith("levers[2].commissioner: no contract between RTH and 14Y")
    assert reasons[3].startswith("levers[3].month: M03 is not after the as-at month M06")


def test_a_run_too_large_is_refused_before_its_levers_run(
    contract_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The activity of ``_activity`` is 8 cells: outpatients in T&O (first GP-referred, first consultant-referred,
    # follow-up) and ophthalmology (first, follow-up); spells in T&O (elective, day case) and ophthalmology (day
    # case). Two activity levers step through 16; vacancy control does not act on cells.
    levers = (
        '[[levers]]\ntype = "gp_referral_cut"\npercent = 10\n'
        '[[levers]]\ntype = "vacancy_control"\nmonthly_saving = "£1k"\n'
        '[[levers]]\ntype = "follow_up_ratio"\nratio = 1\n'
    )
    monkeypatch.setattr(scenario_service, "MAX_CELL_STEPS", 15, raising=False)
    code, document = run_file(contract_workspace, tmp_path, levers)
    assert code == 2
    (problem,) = document["problems"]
    assert problem["reason"].startswith(
        "2 activity levers over 8 activity cells is 16 cell-steps; one run does at most 15: use fewer"
    )
    monkeypatch.setattr(scenario_service, "MAX_CELL_STEPS", 16)
    code, document = run_file(contract_workspace, tmp_path, levers)
    assert code == 0 and len(document["levers"]) == 3


# --- figures a lever leaves to the workspace ---------------------------------------------------------------------


@pytest.fixture
def ledger_workspace(tmp_path: Path) -> Path:
    """A commissioner with a plan and a ledger, no contracts, and no reference data."""
    ws = tmp_path / "bare"
    organisations = write_csv(tmp_path / "orgs.csv", ["code", "name", "kind", "parent_code"], [
        ["Y59", "South East", "region", ""], ["10Q", "Oxfordshire", "ccg", "Y59"],
        ["U00001", "A PCN", "pcn", "10Q"], ["K84000", "Practice A", "practice", "U00001"],
    ])  # fmt: skip
    plans = write_csv(tmp_path / "fplan.csv", ["org_code", "year", "item", "amount", "description"],
                      [["10Q", "2025/26", "recurrent_allocation", "£50m", ""]])  # fmt: skip
    ledger = write_csv(tmp_path / "ledger.csv", ["org_code", "year", "month", "category", "budget", "actual"],
                       [["10Q", "2025/26", f"M{m:02d}", "prescribing", "£1m", "£1m" if m <= 8 else ""]
                        for m in range(1, 13)])  # fmt: skip
    runner = CliRunner()
    for command in (
        ["init", str(ws), "--org", "10Q", "--as-at", "2025-11", "--reference-dir", str(tmp_path)],
        ["-w", str(ws), "orgs", "import", str(organisations)],
        ["-w", str(ws), "plan", "import", str(plans)],
        ["-w", str(ws), "ledger", "import", str(ledger)],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, (command, result.output)
    return ws


def store_prescribing(workspace: Path, rows: list[tuple[str, str, str, int, int]]) -> None:
    """(year_month, practice, bnf_code, items, actual_cost_pence) rows as the warehouse's prescribing table."""
    names = ("year_month", "practice", "bnf_code", "items", "actual_cost_pence")
    given = {name: [row[names.index(name)] for row in rows] if name in names else [None] * len(rows)
             for name in PRESCRIBING_SCHEMA}  # fmt: skip
    types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}
    schema = pa.schema([(name, types[kind]) for name, kind in PRESCRIBING_SCHEMA.items()])
    with open_workspace(workspace) as opened:
        opened.backend.store_table(PRESCRIBING_TABLE, pa.table(given, schema=schema))


def test_missing_figures_are_asked_for_then_taken_from_the_warehouse(ledger_workspace: Path, tmp_path: Path) -> None:
    generic = '[[levers]]\ntype = "generic_prescribing"\ntarget_percent = 95\n'
    growth = '[[levers]]\ntype = "population_growth"\npeople = 100\n'
    code, document = run_file(ledger_workspace, tmp_path, generic + growth)
    assert code == 2
    reasons = [problem["reason"] for problem in document["problems"]]
    assert reasons[0].startswith("levers[0]: current_percent, annual_items, generic_item_cost, branded_item_cost")
    assert reasons[1].startswith("levers[1].base_population: no registered population")

    store_prescribing(ledger_workspace, [
        ("2025-10", "K84000", "0212000B0AAABAB", 900, 900 * 150),  # atorvastatin, generic: £1.50 an item
        ("2025-10", "K84000", "0212000B0BBAAAB", 100, 100 * 1_300),  # Lipitor: £13.00 an item
        ("2025-09", "K84000", "0212000B0BBAAAB", 999, 1),  # an earlier month: not the latest
    ])  # fmt: skip
    code, document = run_file(ledger_workspace, tmp_path, generic + growth + "base_population = 1000\n")
    assert code == 0, document
    # The latest month (October): 1,000 items, 90% generic; a year of 12,000 items; 5% switched from branded at
    # £13.00 to generic at £1.50: 600 items x £11.50 = £6,900 a year.
    switch, population = document["levers"]
    assert switch["full_year_pence"] == -6_900_00
    assert switch["in_year_pence"] == -2_300_00  # December to March
    # 100 people on a base of 1,000 raise prescribing spend, as the lever before left it, by a tenth.
    (prescribing,) = document["by_category"]
    assert prescribing["category"] == "prescribing"
    assert population["full_year_pence"] == (prescribing["baseline_forecast_outturn_pence"] - 2_300_00) // 10


@pytest.mark.slow
def test_the_example_runs_on_the_demo_workspace(reference_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["demo", "--out", str(tmp_path / "demo")]).exit_code == 0
    result = runner.invoke(app, ["-w", str(tmp_path / "demo"), "scenario", "run", str(EXAMPLE_FILE), "-f", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert all(lever["in_year_pence"] and not lever["warnings"] for lever in document["levers"])
    steps = document["bridge"]
    assert steps[0]["pence"] + sum(step["pence"] for step in steps[1:-1]) == steps[-1]["pence"]
    assert steps[-1]["pence"] == document["scenario"]["forecast_outturn_pence"]
