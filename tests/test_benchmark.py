"""Practice benchmarking engine: activity rates per 1,000 actual and weighted, ranks, benchmarks, opportunity.

Checked against hand-worked figures and against an independent plain-Python/numpy implementation."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pytest

from outturn.domain.benchmark import (
    MEASURES,
    Basis,
    BenchmarkKind,
    BenchmarkSpec,
    Direction,
    Level,
    Measure,
    PeerGrouping,
    find_measure,
)
from outturn.engine import benchmark as engine
from outturn.engine.backends import Backend, memtable

POPULATION_SCHEMA = {
    "practice": "string",
    "practice_name": "string",
    "pcn": "string",
    "sub_icb": "string",
    "icb": "string",
    "list_size": "int64",
    "wp_general_acute": "float64",
}
OP_SCHEMA = {"practice": "string", "attendance_type": "string", "referral_source": "string", "price_pence": "int64"}
GP_REFERRALS = find_measure("gp_referrals")
PRICE = 16_300  # pence per first attendance in the hand-worked example (General Surgery's 2018/19 first price)


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    opened = Backend()
    yield opened
    opened.close()


def populations(rows: Sequence[tuple[str, str | None, str | None, int | None, float | None]]) -> ir.Table:
    """(practice, pcn, sub_icb, list size, general & acute weighted population) rows."""
    return memtable(
        [
            {
                "practice": code,
                "practice_name": f"Practice {code}",
                "pcn": pcn,
                "sub_icb": sub_icb,
                "icb": "QU9",
                "list_size": size,
                "wp_general_acute": weighted,
            }
            for code, pcn, sub_icb, size, weighted in rows
        ],
        POPULATION_SCHEMA,
    )


def gp_referrals(counts: dict[str, int], price: int | None = PRICE) -> ir.Table:
    rows = [
        {"practice": code, "attendance_type": "first", "referral_source": "gp", "price_pence": price}
        for code, count in counts.items()
        for _ in range(count)
    ]
    return memtable(rows, OP_SCHEMA)


def run(
    backend: Backend,
    records: ir.Table,
    people: ir.Table,
    spec: BenchmarkSpec,
    measure: Measure = GP_REFERRALS,
    level: Level = Level.PRACTICE,
) -> dict[str, dict[str, Any]]:
    practices = engine.benchmark_practices(engine.measure_activity(records, measure), people, measure, spec)
    if level is not Level.PRACTICE:  # as the service does: practices once, then roll up their results
        practices = backend.table(backend.to_arrow(practices))
    rows = backend.to_rows(engine.roll_up(practices, level, spec, measure))
    return {row["org_code"]: row for row in rows}


# --- the measure registry --------------------------------------------------------------------------------------


def test_the_issue_s_measures_are_registered_against_the_general_and_acute_component() -> None:
    names = {measure.name for measure in MEASURES}
    assert {"gp_referrals", "outpatient_first", "outpatient_follow_up", "emergency_admissions", "ae_attendances"} <= (
        names
    )
    hospital = [measure for measure in MEASURES if measure.source != "prescribing"]
    assert all(measure.weighted_population == "wp_general_acute" for measure in hospital)
    prescribing = {measure.name: measure.weighted_population for measure in MEASURES if measure.source == "prescribing"}
    assert prescribing == {"prescribing_items": "wp_prescribing", "prescribing_items_astro_pu": "astro_pu"}
    assert find_measure("GP-referrals") is GP_REFERRALS
    with pytest.raises(ValueError, match=r"unknown measure 'bed_days'.*gp_referrals"):
        find_measure("bed_days")


def test_a_measure_must_name_a_practice_population_column() -> None:
    with pytest.raises(ValueError, match="not a practice-population column"):
        Measure("x", "x", "x", "op", "wp_everything")
    with pytest.raises(ValueError, match="given benchmark needs its rate"):
        BenchmarkSpec(BenchmarkKind.GIVEN)
    with pytest.raises(ValueError, match="given benchmark needs its rate"):
        BenchmarkSpec(BenchmarkKind.MEDIAN, given_rate=3.0)


def test_measures_count_only_the_records_their_filters_keep(backend: Backend) -> None:
    op = memtable(
        [
            {"practice": "A", "attendance_type": "first", "referral_source": "gp", "price_pence": 100},
            {"practice": "A", "attendance_type": "first", "referral_source": "gp", "price_pence": None},
            {"practice": "A", "attendance_type": "first", "referral_source": "consultant", "price_pence": 300},
            {"practice": "A", "attendance_type": "follow_up", "referral_source": "gp", "price_pence": 50},
            {"practice": "B", "attendance_type": "follow_up", "referral_source": "other", "price_pence": 60},
        ],
        OP_SCHEMA,
    )
    found = {
        name: {row["practice"]: row for row in backend.to_rows(engine.measure_activity(op, find_measure(name)))}
        for name in ("gp_referrals", "outpatient_first", "outpatient_follow_up")
    }
    assert {k: (v["activity"], v["priced_activity"], v["pence"]) for k, v in found["gp_referrals"].items()} == {
        "A": (2, 1, 100)
    }
    assert found["outpatient_first"]["A"]["activity"] == 3
    assert found["outpatient_first"]["A"]["pence"] == 400
    assert {k: v["activity"] for k, v in found["outpatient_follow_up"].items()} == {"A": 1, "B": 1}

    spells = memtable(
        [
            {"practice": "A", "admission_method": "non_elective", "price_pence": 1000, "excess_price_pence": 240},
            {"practice": "A", "admission_method": "elective", "price_pence": 500, "excess_price_pence": 0},
            {"practice": "A", "admission_method": "day_case", "price_pence": 400, "excess_price_pence": 0},
        ],
        {"practice": "string", "admission_method": "string", "price_pence": "int64", "excess_price_pence": "int64"},
    )
    emergency = backend.to_rows(engine.measure_activity(spells, find_measure("emergency_admissions")))
    assert [(row["activity"], row["pence"]) for row in emergency] == [(1, 1240)]  # a spell's price + excess bed days
    elective = backend.to_rows(engine.measure_activity(spells, find_measure("elective_admissions")))
    assert [(row["activity"], row["pence"]) for row in elective] == [(2, 900)]


def test_a_measure_can_count_a_column_of_records_from_elsewhere(backend: Backend) -> None:
    """The hook the prescribing measures use: items summed over a prescribing table, valued at actual cost."""
    items = Measure(
        "items_per_astro_pu",
        "Prescription items per 1,000 ASTRO-PU",
        "items",
        "prescribing",
        "astro_pu",
        count_column="items",
        value_columns=("actual_cost_pence",),
        price_source="actual cost",
    )
    prescribing = memtable(
        [
            {"practice": "A", "bnf_code": "x", "items": 3, "actual_cost_pence": 900},
            {"practice": "A", "bnf_code": "y", "items": 2, "actual_cost_pence": 100},
        ],
        {"practice": "string", "bnf_code": "string", "items": "int64", "actual_cost_pence": "int64"},
    )
    people = memtable(
        [{"practice": "A", "practice_name": "A", "list_size": 2000, "astro_pu": 2500.0}],
        {"practice": "string", "practice_name": "string", "list_size": "int64", "astro_pu": "float64"},
    )
    spec = BenchmarkSpec(BenchmarkKind.GIVEN, given_rate=1.0)
    row = run(backend, prescribing, people, spec, items)["A"]
    assert (row["activity"], row["pence"], row["rate_actual"], row["rate_weighted"]) == (5, 1000, 2.5, 2.0)
    assert row["opportunity_activity"] == pytest.approx(5 - 2.5)  # to 1 item per 1,000 ASTRO-PU
    assert row["opportunity_pence"] == 500  # 2.5 items at £2.00 an item
    assert row["parent_code"] is None  # a populations table without PCNs still benchmarks


# --- the hand-worked example: a low referrer on its list, average once weighted ---------------------------------

# practice, list, weighted (general & acute), GP referrals -> per 1,000 actual, per 1,000 weighted
#   A  10,000  7,000  280 -> 28.0 (lowest of five)  40.0 (the median)
#   B   8,000  8,000  400 -> 50.0                   50.0
#   C   6,000  6,000  240 -> 40.0                   40.0
#   D   5,000  6,250  225 -> 45.0                   36.0
#   E   4,000  4,000  140 -> 35.0                   35.0
HAND = (("A", 10_000, 7_000.0, 280), ("B", 8_000, 8_000.0, 400), ("C", 6_000, 6_000.0, 240))
HAND += (("D", 5_000, 6_250.0, 225), ("E", 4_000, 4_000.0, 140))


def hand_populations() -> ir.Table:
    pcns = {"A": "P1", "B": "P1", "C": "P2", "D": "P2", "E": "P3"}
    return populations([(code, pcns[code], "S1" if code < "E" else "S2", size, wp) for code, size, wp, _ in HAND])


def hand_records() -> ir.Table:
    return gp_referrals({code: count for code, _size, _wp, count in HAND})


def test_a_low_referrer_on_its_list_is_average_once_need_is_weighted(backend: Backend) -> None:
    rows = run(backend, hand_records(), hand_populations(), BenchmarkSpec())
    assert {code: (row["rate_actual"], row["rate_weighted"]) for code, row in rows.items()} == {
        "A": (28.0, 40.0),
        "B": (50.0, 50.0),
        "C": (40.0, 40.0),
        "D": (45.0, 36.0),
        "E": (35.0, 35.0),
    }
    # ranks: 1 = highest rate; A and C tie on 40.0 weighted and share rank 2
    assert {code: (row["rank_actual"], row["rank_weighted"], row["rank_change"]) for code, row in rows.items()} == {
        "A": (5, 2, 3),
        "B": (1, 1, 0),
        "C": (3, 2, 1),
        "D": (2, 4, -2),
        "E": (4, 5, -1),
    }
    # the weighted median of 35, 36, 40, 40, 50 is 40: A sits on it; only B is above, by 400 - 40 x 8 = 80
    assert {row["benchmark_rate"] for row in rows.values()} == {40.0}
    assert [code for code, row in rows.items() if row["above_benchmark"]] == ["B"]
    assert rows["B"]["opportunity_activity"] == 80.0
    assert rows["B"]["opportunity_pence"] == 80 * PRICE
    assert rows["A"]["need_index"] == 0.7


def test_on_actual_lists_the_same_median_points_at_different_practices(backend: Backend) -> None:
    rows = run(backend, hand_records(), hand_populations(), BenchmarkSpec(basis=Basis.ACTUAL))
    # median of 28, 35, 40, 45, 50 is 40: B is 80 over (400 - 320) and D 25 (225 - 200)
    assert {code: row["opportunity_activity"] for code, row in rows.items() if row["above_benchmark"]} == {
        "B": 80.0,
        "D": 25.0,
    }
    assert sum(row["opportunity_pence"] for row in rows.values()) == 105 * PRICE


def test_upper_quartile_and_average_benchmarks_by_hand(backend: Backend) -> None:
    quartile = run(
        backend, hand_records(), hand_populations(), BenchmarkSpec(BenchmarkKind.UPPER_QUARTILE, Basis.ACTUAL)
    )
    # 75th centile of 28, 35, 40, 45, 50 (linear): position 0.75 x 4 = 3 -> 45; only B moves, 400 - 45 x 8 = 40
    assert quartile["B"]["benchmark_rate"] == 45.0
    assert {code for code, row in quartile.items() if row["above_benchmark"]} == {"B"}
    assert quartile["B"]["opportunity_activity"] == 40.0

    average = run(backend, hand_records(), hand_populations(), BenchmarkSpec(BenchmarkKind.AVERAGE))
    # 1,285 referrals over 31,250 weighted = 41.12 per 1,000; B: 400 - 41.12 x 8 = 71.04, x £163 = £11,579.52
    assert average["B"]["benchmark_rate"] == pytest.approx(41.12)
    assert {code for code, row in average.items() if row["above_benchmark"]} == {"B"}
    assert average["B"]["opportunity_activity"] == pytest.approx(71.04)
    assert average["B"]["opportunity_pence"] == 1_157_952


def test_rolled_up_to_pcns_the_opportunity_is_the_sum_of_the_practices(backend: Backend) -> None:
    rows = run(backend, hand_records(), hand_populations(), BenchmarkSpec(basis=Basis.ACTUAL), level=Level.PCN)
    # P1 = A + B: 680 referrals over 18,000 = 37.78; P2 = C + D: 465 / 11,000 = 42.27; P3 = E: 35.0
    assert rows["P1"]["activity"] == 680 and rows["P1"]["population"] == 18_000
    assert rows["P2"]["rate_actual"] == pytest.approx(465_000 / 11_000)
    assert [rows[code]["rank_actual"] for code in ("P2", "P1", "P3")] == [1, 2, 3]
    assert rows["P1"]["benchmark_rate"] == pytest.approx(680_000 / 18_000)  # the median PCN's own rate
    assert {code: row["opportunity_activity"] for code, row in rows.items()} == {"P1": 80.0, "P2": 25.0, "P3": 0.0}
    assert {code: row["practices_above_benchmark"] for code, row in rows.items()} == {"P1": 1, "P2": 1, "P3": 0}
    assert rows["P1"]["parent_code"] == "S1"


def test_centiles_are_linear_interpolation_as_numpy_s_default(backend: Backend) -> None:
    """Four practices with rates 10, 20, 30, 40: the 75th centile is 32.5 (position 2.25), not Excel's
    QUARTILE.EXC 37.5; DuckDB's quantile_cont and numpy's default percentile agree."""
    people = populations([(code, "P", "S", 1_000, 1_000.0) for code in "ABCD"])
    records = gp_referrals({"A": 10, "B": 20, "C": 30, "D": 40})
    quartile = run(backend, records, people, BenchmarkSpec(BenchmarkKind.UPPER_QUARTILE))
    median = run(backend, records, people, BenchmarkSpec(BenchmarkKind.MEDIAN))
    assert quartile["A"]["benchmark_rate"] == 32.5 == np.percentile([10, 20, 30, 40], 75)
    assert median["A"]["benchmark_rate"] == 25.0 == np.percentile([10, 20, 30, 40], 50)
    assert quartile["D"]["opportunity_activity"] == 7.5


def test_where_low_is_bad_practices_below_the_lower_quartile_move_up(backend: Backend) -> None:
    low_is_bad = Measure(
        "screening", "Screening attendances", "attendances", "op", "wp_general_acute", direction=Direction.LOW_IS_BAD
    )
    people = populations([(code, "P", "S", 1_000, 1_000.0) for code in "ABCD"])
    rows = run(
        backend,
        gp_referrals({"A": 10, "B": 20, "C": 30, "D": 40}),
        people,
        BenchmarkSpec(BenchmarkKind.UPPER_QUARTILE),
        low_is_bad,
    )
    assert rows["A"]["benchmark_rate"] == 17.5  # 25th centile: position 0.75 -> 10 + 0.75 x 10
    assert {code: row["opportunity_activity"] for code, row in rows.items()} == {"A": 7.5, "B": 0.0, "C": 0.0, "D": 0.0}


def test_peer_groups_are_fifths_of_need_index(backend: Backend) -> None:
    # ten practices, need index 0.55 .. 1.45: two practices per fifth; each fifth's benchmark is its median
    people = populations([(f"P{i}", "N", "S", 1_000, 550.0 + 100 * i) for i in range(10)])
    counts = {f"P{i}": 10 + 7 * ((i * 3) % 10) for i in range(10)}
    rows = run(backend, gp_referrals(counts), people, BenchmarkSpec(BenchmarkKind.PEER_GROUP))
    for i in range(10):
        pair = [counts[f"P{j}"] * 1000 / (550.0 + 100 * j) for j in (i - i % 2, i - i % 2 + 1)]
        row = rows[f"P{i}"]
        assert row["peer_group"] == i // 2 + 1
        assert row["benchmark_rate"] == pytest.approx(sum(pair) / 2)
        assert row["above_benchmark"] == (row["rate_weighted"] == max(pair))

    by_size = run(
        backend,
        gp_referrals(counts),
        populations([(f"P{i}", "N", "S", 900 - 10 * i, 900.0) for i in range(7)]),
        BenchmarkSpec(BenchmarkKind.PEER_GROUP, peers=PeerGrouping.LIST_SIZE),
    )
    # seven practices into five groups: sizes 2, 2, 1, 1, 1 (SQL's ntile), smallest lists first
    assert [by_size[f"P{i}"]["peer_group"] for i in range(6, -1, -1)] == [1, 1, 2, 2, 3, 4, 5]


def test_practices_without_populations_are_left_out_and_unknown_practices_counted(backend: Backend) -> None:
    people = populations([("A", "P", "S", 1_000, 1_000.0), ("B", "P", "S", 0, 900.0), ("C", "P", "S", 800, None)])
    activity = engine.measure_activity(gp_referrals({"A": 5, "B": 3, "C": 2, "Z": 9}), GP_REFERRALS)
    units = engine.practice_units(activity, people, GP_REFERRALS)
    assert sorted(row["org_code"] for row in backend.to_rows(engine.comparable(units))) == ["A"]
    assert sorted(row["org_code"] for row in backend.to_rows(engine.excluded(units))) == ["B", "C"]
    assert backend.to_rows(engine.unmatched_activity(activity, people)) == [
        {"practice": "Z", "activity": 9, "priced_activity": 9, "pence": 9 * PRICE}
    ]


def test_opportunity_pence_round_half_away_from_zero(backend: Backend) -> None:
    # B is 0.5 of a referral over a given benchmark of 1.5 per 1,000 on 1,000 people; a referral costs 3p
    people = populations([("B", "P", "S", 1_000, 1_000.0)])
    rows = run(backend, gp_referrals({"B": 2}, price=3), people, BenchmarkSpec(BenchmarkKind.GIVEN, given_rate=1.5))
    assert rows["B"]["opportunity_activity"] == 0.5
    assert rows["B"]["opportunity_pence"] == 2  # 1.5p rounds up
    assert math.isclose(rows["B"]["rate_weighted"], 2.0)
