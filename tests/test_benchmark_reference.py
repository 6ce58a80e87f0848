"""Practice benchmarking engine against an independent plain-Python/numpy implementation over random practices,
and the roll-up reconciliation: PCNs and sub-ICB locations are the sums of their practices."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outturn.domain.benchmark import Basis, BenchmarkKind, BenchmarkSpec, Level
from outturn.engine.backends import Backend, memtable
from test_benchmark import OP_SCHEMA, populations, run


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    opened = Backend()
    yield opened
    opened.close()


def ntile(count: int, groups: int) -> list[int]:
    """SQL's NTILE: the first count % groups groups hold one row more."""
    size, extra = divmod(count, groups)
    found: list[int] = []
    for group in range(groups):
        found += [group + 1] * (size + (1 if group < extra else 0))
    return found


def reference(practices: list[dict[str, Any]], spec: BenchmarkSpec, price: Decimal) -> dict[str, dict[str, Any]]:
    """Plain Python + numpy: rates, competition ranks, benchmark, opportunity and pence for each practice."""
    for p in practices:
        p["rate_actual"] = float(p["activity"] * 1000) / float(p["list_size"])
        p["rate_weighted"] = float(p["activity"] * 1000) / p["weighted"]
        p["need"] = p["weighted"] / float(p["list_size"])
    for basis in ("actual", "weighted"):
        for p in practices:
            p[f"rank_{basis}"] = 1 + sum(q[f"rate_{basis}"] > p[f"rate_{basis}"] for q in practices)
    rate, population = f"rate_{spec.basis.value}", "weighted" if spec.basis is Basis.WEIGHTED else "list_size"
    rates = [p[rate] for p in practices]
    if spec.kind is BenchmarkKind.PEER_GROUP:
        ordered = sorted(practices, key=lambda p: (p["need"], p["code"]))
        for group, p in zip(ntile(len(ordered), 5), ordered, strict=True):
            p["peer_group"] = group
        for p in practices:
            p["benchmark"] = float(
                np.percentile([q[rate] for q in practices if q["peer_group"] == p["peer_group"]], 50)
            )
    else:
        average = sum(p["activity"] for p in practices) * 1000 / sum(float(p[population]) for p in practices)
        centile = {BenchmarkKind.MEDIAN: 50, BenchmarkKind.UPPER_QUARTILE: 75}.get(spec.kind)
        value = float(np.percentile(rates, centile)) if centile else average
        for p in practices:
            p["benchmark"] = value
    for p in practices:
        gap = p["activity"] - p["benchmark"] * float(p[population]) / 1000
        p["opportunity"] = max(gap, 0.0) if p[rate] > p["benchmark"] else 0.0
        p["pence"] = int((Decimal(p["opportunity"]) * price).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return {p["code"]: p for p in practices}


SUB_ICBS = {"N1": "S1", "N2": "S1", "N3": "S2", "N4": "S2"}
practice_strategy = st.tuples(
    st.integers(100, 20_000), st.floats(0.5, 1.6), st.integers(0, 300), st.sampled_from(["N1", "N2", "N3", "N4"])
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    drawn=st.lists(practice_strategy, min_size=1, max_size=14),
    kind=st.sampled_from(
        [BenchmarkKind.MEDIAN, BenchmarkKind.UPPER_QUARTILE, BenchmarkKind.AVERAGE, BenchmarkKind.PEER_GROUP]
    ),
    basis=st.sampled_from(list(Basis)),
    prices=st.lists(st.integers(5_000, 40_000), min_size=1, max_size=3),
)
def test_matches_an_independent_implementation_and_rolls_up_exactly(
    backend: Backend, drawn: list[tuple[int, float, int, str]], kind: BenchmarkKind, basis: Basis, prices: list[int]
) -> None:
    practices = [
        {"code": f"X{i:02d}", "list_size": size, "weighted": round(size * need, 1), "activity": count, "pcn": pcn}
        for i, (size, need, count, pcn) in enumerate(drawn)
    ]
    records = memtable(
        [
            {
                "practice": p["code"],
                "attendance_type": "first",
                "referral_source": "gp",
                "price_pence": prices[n % len(prices)],
            }
            for p in practices
            for n in range(p["activity"])
        ],
        OP_SCHEMA,
    )
    people = populations([(p["code"], p["pcn"], SUB_ICBS[p["pcn"]], p["list_size"], p["weighted"]) for p in practices])
    spec = BenchmarkSpec(kind, basis)
    activity = sum(p["activity"] for p in practices)
    pence = sum(prices[n % len(prices)] for p in practices for n in range(p["activity"]))
    expected = reference(practices, spec, Decimal(pence) / Decimal(activity) if activity else Decimal(0))
    found = run(backend, records, people, spec)
    assert set(found) == set(expected)
    for code, row in found.items():
        want = expected[code]
        assert row["rate_actual"] == want["rate_actual"] and row["rate_weighted"] == want["rate_weighted"]
        assert (row["rank_actual"], row["rank_weighted"]) == (want["rank_actual"], want["rank_weighted"])
        assert row["rank_change"] == want["rank_actual"] - want["rank_weighted"]
        assert row["benchmark_rate"] == pytest.approx(want["benchmark"], rel=1e-12)
        assert row["opportunity_activity"] == pytest.approx(want["opportunity"], rel=1e-9, abs=1e-9)
        if activity:
            assert abs(row["opportunity_pence"] - want["pence"]) <= (1 if want["opportunity"] else 0)
        else:
            assert row["opportunity_pence"] is None  # nothing priced: no price per unit
    # children sum to parents at every level, and the total opportunity is the same at every level
    parent_of = {
        Level.PCN: {p["code"]: p["pcn"] for p in practices},
        Level.SUB_ICB: {p["code"]: SUB_ICBS[p["pcn"]] for p in practices},
    }
    for level, parent_codes in parent_of.items():
        parents = run(backend, records, people, spec, level=level)
        assert set(parents) == set(parent_codes.values())
        for code, parent in parents.items():
            children = [row for row in found.values() if parent_codes[row["org_code"]] == code]
            for column in ("activity", "population", "practices", "practices_above_benchmark"):
                assert parent[column] == sum(child[column] for child in children)
            if activity:
                assert parent["opportunity_pence"] == sum(child["opportunity_pence"] for child in children)
            assert parent["opportunity_activity"] == pytest.approx(sum(c["opportunity_activity"] for c in children))
            assert parent["rate_actual"] == pytest.approx(parent["activity"] * 1000 / parent["population"])
