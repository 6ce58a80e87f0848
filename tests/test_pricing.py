"""PbR pricing on DuckDB and on Spark: identical results, each equal to a plain-Python pricing of the same rules.

The tariff rows are hand-made except AA22C, copied from the 2017/18 national tariff (non-elective £9,766, trim
point 98 days, £240 per excess bed day, reduced short-stay emergency tariff £2,930, combined DC/EL £8,207).
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.activity import AE_SCHEMA, APC_SCHEMA, OP_SCHEMA, ActivityKind
from outturn.domain.tariff import MFF_SCHEMA, TARIFF_AE_SCHEMA, TARIFF_APC_SCHEMA, TARIFF_OP_SCHEMA
from outturn.engine import codes as codes_module
from outturn.engine import pricing, pricing_totals
from outturn.engine.backends import Backend
from outturn.ingest import activity_keys

YEAR = 2017
POUND = 100
TARIFF_APC = [
    # year, hrg, name, elective, day case, el trim, non-elective, nel trim, bed day, short stay, OPROC
    (YEAR, "AA22C", "Cerebrovascular accident, CC 14+", 820_700, 820_700, 117, 976_600, 98, 24_000, 293_000, None),
    (YEAR, "XX01A", "Hand-made HRG", 100_000, 80_000, 5, 150_055, 3, 12_345, None, 15_000),
    (YEAR, "XX02B", "Day case only", None, 45_050, None, None, None, None, None, None),
    (2018, "XX01A", "Next year's price", 999_999, 999_999, 5, 999_999, 3, 1, None, None),
]
TARIFF_OP = [
    (YEAR, "100", "General Surgery", 16_300, 7_000, 20_600, 10_400),
    (YEAR, "101", "Urology", 14_200, 5_400, 19_600, 7_300),
]
TARIFF_AE = [(YEAR, "VB01Z", "Any investigation with category 5 treatment", 32_200, 6_300)]
MFF = [("P1", "Trust one", 1_036_391), ("P2", "Trust two", 1_000_000)]
PROVIDERS = ["P1", "P2", "P3"]  # P3 has no market forces factor


def arrow(rows: list[tuple[Any, ...]], schema: dict[str, str] | Any) -> pa.Table:
    names = list(schema)
    return pa.table(
        {name: [row[i] for row in rows] for i, name in enumerate(names)}, schema=ibis.schema(dict(schema)).to_pyarrow()
    )


@pytest.fixture(scope="module", params=["duckdb", "pyspark"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "pyspark" and shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (java not on PATH)")
    opened = Backend(request.param)
    yield opened
    opened.close()


# --- an independent, plain-Python pricing of the same rules ---------------------------------------------------


def uplift(pence: int, mff_millionths: int) -> int:
    return int((Decimal(pence) * mff_millionths / 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def plain_apc(spell: dict[str, Any]) -> dict[str, Any]:
    tariff = {row[1]: row for row in TARIFF_APC if row[0] == YEAR}
    mff = {row[0]: row[2] for row in MFF}
    if spell["hrg"] is None:
        return {"unpriced_reason": pricing.MISSING_HRG}
    if spell["hrg"] not in tariff:
        return {"unpriced_reason": pricing.UNKNOWN_HRG}
    _y, _h, _n, elective, day_case, el_trim, nel, nel_trim, bed_day, short_stay, _op = tariff[spell["hrg"]]
    los, method = spell["length_of_stay"], spell["admission_method"]
    short = method == "non_elective" and short_stay is not None and los <= 1 and spell["age"] >= 19
    base = {"elective": elective, "day_case": day_case}.get(method, short_stay if short else nel)
    trim = el_trim if method == "elective" else (nel_trim if method == "non_elective" and not short else None)
    if base is None:
        return {"unpriced_reason": pricing.NO_POD_PRICE}
    if spell["provider"] not in mff:
        return {"unpriced_reason": pricing.NO_MFF}
    days = los - trim if trim is not None and los > trim else 0
    return {
        "unpriced_reason": None,
        "tariff_pence": base,
        "excess_bed_days": days,
        "price_pence": uplift(base, mff[spell["provider"]]),
        "excess_price_pence": uplift(days * (bed_day or 0), mff[spell["provider"]]),
    }


def spell(number: int, hrg: str | None, method: str, los: int, age: int = 50, provider: str = "P2") -> tuple[Any, ...]:
    admitted = date(2017, 6, 1)
    return (
        f"S{number}",
        provider,
        "00A",
        "A81001",
        f"patient{number}",
        method,
        hrg,
        admitted,
        admitted + timedelta(days=los),
        los,
        "100",
        age,
    )


def priced_spells(backend: Backend, spells: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    expression = pricing.price_apc(
        backend.table(arrow(spells, APC_SCHEMA)),
        backend.table(arrow(TARIFF_APC, TARIFF_APC_SCHEMA)),
        backend.table(arrow(MFF, MFF_SCHEMA)),
        year=YEAR,
    )
    return sorted(backend.to_rows(expression), key=lambda row: row["spell_id"])


HAND_WORKED = [
    # AA22C non-elective, 100 days: £9,766 + (100 - 98) x £240 at MFF 1.0
    (spell(1, "AA22C", "non_elective", 100), 976_600, 2, 48_000, None),
    (spell(2, "AA22C", "non_elective", 1), 293_000, 0, 0, None),  # short stay, adult: £2,930
    (spell(3, "AA22C", "non_elective", 1, age=10), 976_600, 0, 0, None),  # children: no short-stay tariff
    # XX01A elective, 7 days at MFF 1.036391: £1,000 x MFF = 103,639.1p -> 103,639p; 2 x £123.45 x MFF -> 25,588p
    (spell(4, "XX01A", "elective", 7, provider="P1"), 103_639, 2, 25_588, None),
    (spell(5, "XX01A", "day_case", 0), 80_000, 0, 0, None),
    (spell(6, "XX02B", "elective", 1), None, 0, None, pricing.NO_POD_PRICE),
    (spell(7, "ZZ99Z", "elective", 1), None, 0, None, pricing.UNKNOWN_HRG),
    (spell(8, None, "non_elective", 2), None, 0, None, pricing.MISSING_HRG),
    (spell(9, "XX01A", "elective", 2, provider="P3"), None, 0, None, pricing.NO_MFF),
]


def test_hand_worked_spells(backend: Backend) -> None:
    rows = priced_spells(backend, [case[0] for case in HAND_WORKED])
    got = [
        (row["price_pence"], row["excess_bed_days"], row["excess_price_pence"], row["unpriced_reason"]) for row in rows
    ]
    assert got == [case[1:] for case in HAND_WORKED]


def totalled_spells(backend: Backend, spells: list[tuple[Any, ...]]) -> dict[tuple[str, str | None], list[int]]:
    """The spells priced with ``totalled=True``: [units, price, excess days, excess price] by point of delivery
    and reason."""
    totals = pricing.price_apc(
        backend.table(arrow(spells, APC_SCHEMA)),
        backend.table(arrow(TARIFF_APC, TARIFF_APC_SCHEMA)),
        backend.table(arrow(MFF, MFF_SCHEMA)),
        year=YEAR,
        totalled=True,
    )
    return _by_label(backend.to_rows(totals))


def _by_label(rows: list[dict[str, Any]]) -> dict[tuple[str, str | None], list[int]]:
    fields = ("units", "price_pence", "excess_bed_days", "excess_price_pence")
    return {(row["point_of_delivery"], row["unpriced_reason"]): [row[field] for field in fields] for row in rows}


def test_totals_are_the_hand_worked_totals(backend: Backend) -> None:
    """Priced with ``totalled=True`` (grouped on the columns that decide the point of delivery and the reason,
    each group labelled once): the hand-worked spells' totals by point of delivery (the admission method) and
    reason, summed here in plain Python."""
    expected: dict[tuple[str, str | None], list[int]] = {}
    for row, price, days, excess, reason in HAND_WORKED:
        sums = expected.setdefault((row[5], reason), [0, 0, 0, 0])
        for index, value in enumerate((1, price or 0, days, excess or 0)):
            sums[index] += value
    got = totalled_spells(backend, [case[0] for case in HAND_WORKED])
    assert got == expected
    # e.g. the two priced non-elective spells: 976,600p + 293,000p + the child's 976,600p, 2 excess days, 48,000p
    assert got[("non_elective", None)] == [3, 976_600 + 293_000 + 976_600, 2, 48_000]


def test_totals_of_every_rule_are_the_plain_python_totals(backend: Backend) -> None:
    """Every HRG (known, unknown, missing), method (an unknown one too: its point of delivery is the method as it
    stands), length of stay around the trim points and short stay, age and provider (one without an MFF), each
    twice: the totals equal the plain-Python pricing's summed by point of delivery and reason, and the summary of
    the priced records."""
    cases = [
        spell(n, hrg, method, los, age, provider)
        for n, (hrg, method, los, age, provider) in enumerate(
            (h, m, los, a, p)
            for h in ("AA22C", "XX01A", "XX02B", "ZZ99Z", None)
            for m in ("elective", "day_case", "non_elective", "maternity")
            for los in (0, 1, 4, 6, 99, 120)
            for a in (5, 40)
            for p in PROVIDERS
            for _twice in range(2)
        )
    ]
    expected: dict[tuple[str, str | None], list[int]] = {}
    for case in cases:
        provider, method, hrg, los, age = case[1], case[5], case[6], case[9], case[11]
        if method == "maternity":  # no tariff row for the method: as an HRG the tariff does not know
            plain: dict[str, Any] = {"unpriced_reason": pricing.MISSING_HRG if hrg is None else pricing.UNKNOWN_HRG}
        else:
            fields = {"hrg": hrg, "admission_method": method, "length_of_stay": los, "age": age, "provider": provider}
            plain = plain_apc(fields)
        sums = expected.setdefault((method, plain["unpriced_reason"]), [0, 0, 0, 0])
        for index, field in enumerate(("price_pence", "excess_bed_days", "excess_price_pence"), start=1):
            sums[index] += plain.get(field, 0)
        sums[0] += 1
    records = pricing.price_apc(
        backend.table(arrow(cases, APC_SCHEMA)),
        backend.table(arrow(TARIFF_APC, TARIFF_APC_SCHEMA)),
        backend.table(arrow(MFF, MFF_SCHEMA)),
        year=YEAR,
    )
    got = totalled_spells(backend, cases)
    assert got == expected
    assert got == _by_label(backend.to_rows(pricing_totals.pricing_summary(records)))


def test_short_stay_test_is_part_of_the_tariff_lookup(backend: Backend) -> None:
    """Each spell finds its price by HRG, admission method and the short-stay test (0 or 1 day, aged 19 or over):
    an unknown age or length of stay fails the test (full price, not "HRG not in the tariff"); elective and day
    case spells ignore it; an HRG with a short-stay price and no full non-elective price is priced only when the
    short stay applies. All at MFF 1.0."""
    tariff = [
        TARIFF_APC[0],  # AA22C: non-elective £9,766, trim 98, £240 a day, short stay £2,930
        TARIFF_APC[1],  # XX01A: elective £1,000, day case £800, non-elective £1,500.55, trim 3, £123.45 a day
        (YEAR, "XX03C", "Short stay only", None, None, None, None, None, None, 50_000, None),
    ]
    admitted = date(2017, 6, 1)

    def row(number: int, hrg: str, method: str, los: int | None, age: int | None) -> tuple[Any, ...]:
        discharged = None if los is None else admitted + timedelta(days=los)
        return (f"S{number}", "P2", "00A", "A81001", f"p{number}", method, hrg, admitted, discharged, los, "100", age)

    cases = [
        (row(1, "AA22C", "non_elective", None, 50), 976_600, 0, 0, None),  # no length of stay: full price
        (row(2, "AA22C", "non_elective", 1, None), 976_600, 0, 0, None),  # no age: full price
        (row(3, "XX03C", "non_elective", 0, 30), 50_000, 0, 0, None),  # the short-stay price
        (row(4, "XX03C", "non_elective", 5, 30), None, 0, None, pricing.NO_POD_PRICE),  # no full price
        (row(5, "XX03C", "non_elective", 1, 18), None, 0, None, pricing.NO_POD_PRICE),  # a child: no short stay
        (row(6, "XX01A", "elective", 0, 50), 100_000, 0, 0, None),  # elective ignores the test
        (row(7, "XX01A", "day_case", 1, 50), 80_000, 0, 0, None),
        (row(8, "XX01A", "non_elective", 1, 50), 150_055, 0, 0, None),  # no short-stay price: full price
        # 5 days, trim 3: £1,500.55 + 2 x £123.45 = 150,055p + 24,690p
        (row(9, "XX01A", "non_elective", 5, 50), 150_055, 2, 24_690, None),
    ]
    expression = pricing.price_apc(
        backend.table(arrow([case[0] for case in cases], APC_SCHEMA)),
        backend.table(arrow(tariff, TARIFF_APC_SCHEMA)),
        backend.table(arrow(MFF, MFF_SCHEMA)),
        year=YEAR,
    )
    rows = sorted(backend.to_rows(expression), key=lambda priced: int(priced["spell_id"][1:]))
    got = [(r["price_pence"], r["excess_bed_days"], r["excess_price_pence"], r["unpriced_reason"]) for r in rows]
    assert got == [case[1:] for case in cases]


# --- integer keys stored at import ----------------------------------------------------------------------------


def test_codes_keep_their_keys_across_imports() -> None:
    """A later import adds keys after the highest held for the codes it brings, in code order; codes already held
    keep theirs, and importing the same file again changes nothing."""
    first = pa.table({"hrg": ["XX01A", None, "AA22C", "XX01A"], "provider": ["P2", "P2", "P1", "P2"]})
    codes = activity_keys.extended_codes(activity_keys.no_codes(), first, ("hrg", "provider"))
    # keys 1, 2, 3, 4 in code order: AA22C, P1, P2, XX01A; a null code is no code
    assert codes.to_pylist() == [
        {"code": "AA22C", "code_key": 1},
        {"code": "P1", "code_key": 2},
        {"code": "P2", "code_key": 3},
        {"code": "XX01A", "code_key": 4},
    ]
    keyed = activity_keys.with_stored_keys(first, codes, ("hrg", "provider"))
    assert keyed["hrg_key"].to_pylist() == [4, codes_module.NO_KEY, 1, 4]
    assert keyed["provider_key"].to_pylist() == [3, 3, 2, 3]

    later = pa.table({"hrg": ["ZZ99Z", "AA22C", "BB01A"], "provider": ["P3", "P1", "P1"]})
    grown = activity_keys.extended_codes(codes, later, ("hrg", "provider"))
    assert grown.to_pylist()[:4] == codes.to_pylist()  # held codes keep their keys
    assert grown.to_pylist()[4:] == [  # BB01A, P3, ZZ99Z: new, after key 4
        {"code": "BB01A", "code_key": 5},
        {"code": "P3", "code_key": 6},
        {"code": "ZZ99Z", "code_key": 7},
    ]
    again = activity_keys.extended_codes(grown, first, ("hrg", "provider"))
    assert again.equals(grown)
    assert activity_keys.with_stored_keys(first, again, ("hrg", "provider")).equals(keyed)


def stored_keys_priced(backend: Backend, spells: list[tuple[Any, ...]], codes: pa.Table) -> list[dict[str, Any]]:
    keyed = activity_keys.with_stored_keys(arrow(spells, APC_SCHEMA), codes, codes_module.KEYED_COLUMNS["apc"])
    keyed = activity_keys.with_stored_indexes(keyed, ActivityKind.APC)
    expression = pricing.price_apc(
        backend.table(keyed),
        backend.table(arrow(TARIFF_APC, TARIFF_APC_SCHEMA)),
        backend.table(arrow(MFF, MFF_SCHEMA)),
        year=YEAR,
        codes=backend.table(codes),
        dimension=backend.dimension,
    )
    return sorted(backend.to_rows(expression), key=lambda row: row["spell_id"])


def test_spells_priced_on_stored_keys_as_by_hand(backend: Backend) -> None:
    """The hand-worked spells, stored with keys from a dictionary that an earlier import began (so no key is
    the tariff's own order) and priced on those keys: the same prices, and the unknown HRG (ZZ99Z, which the
    dictionary holds) and the missing one unpriced with their reasons; the priced rows carry no key columns."""
    earlier = pa.table({"hrg": ["ZZ99Z", "XX02B"], "provider": ["P3", "P9"]})
    codes = activity_keys.extended_codes(activity_keys.no_codes(), earlier, ("hrg", "provider"))
    spells = [case[0] for case in HAND_WORKED]
    codes = activity_keys.extended_codes(codes, arrow(spells, APC_SCHEMA), ("hrg", "provider"))
    rows = stored_keys_priced(backend, spells, codes)
    got = [(r["price_pence"], r["excess_bed_days"], r["excess_price_pence"], r["unpriced_reason"]) for r in rows]
    assert got == [case[1:] for case in HAND_WORKED]
    assert not {"hrg_key", "provider_key", "admission_method_key"} & set(rows[0])


def test_admission_method_stored_as_its_index() -> None:
    """The admission method is stored as its position among elective, day case and non-elective; any other
    value, or none, as 3."""
    spells = pa.table({"admission_method": ["non_elective", "elective", None, "maternity", "day_case"]})
    stored = activity_keys.with_stored_indexes(spells, ActivityKind.APC)
    assert stored["admission_method_key"].to_pylist() == [2, 0, 3, 3, 1]


def test_spells_stored_before_a_later_import_price_the_same(backend: Backend) -> None:
    """Spells keyed by a first import are priced the same after a later import has grown the dictionary."""
    spells = [case[0] for case in HAND_WORKED]
    first = activity_keys.extended_codes(activity_keys.no_codes(), arrow(spells, APC_SCHEMA), ("hrg", "provider"))
    keyed = activity_keys.with_stored_keys(arrow(spells, APC_SCHEMA), first, ("hrg", "provider"))
    later = pa.table({"hrg": ["AA00A", "XX01A"], "provider": ["A1", "P1"]})
    grown = activity_keys.extended_codes(first, later, ("hrg", "provider"))
    expression = pricing.price_apc(
        backend.table(keyed),
        backend.table(arrow(TARIFF_APC, TARIFF_APC_SCHEMA)),
        backend.table(arrow(MFF, MFF_SCHEMA)),
        year=YEAR,
        codes=backend.table(grown),
        dimension=backend.dimension,
    )
    rows = sorted(backend.to_rows(expression), key=lambda row: row["spell_id"])
    got = [(r["price_pence"], r["excess_bed_days"], r["excess_price_pence"], r["unpriced_reason"]) for r in rows]
    assert got == [case[1:] for case in HAND_WORKED]


METHODS = st.sampled_from(["elective", "day_case", "non_elective"])
HRGS = st.sampled_from(["AA22C", "XX01A", "XX02B", "ZZ99Z", None])
SPELLS = st.lists(
    st.tuples(HRGS, METHODS, st.integers(0, 250), st.integers(0, 100), st.sampled_from(PROVIDERS)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=SPELLS)
def test_spell_pricing_matches_plain_python(backend: Backend, drawn: list[tuple[Any, ...]]) -> None:
    spells = [spell(n, hrg, method, los, age, provider) for n, (hrg, method, los, age, provider) in enumerate(drawn)]
    rows = priced_spells(backend, spells)
    for row in rows:
        expected = plain_apc(row)
        assert {key: row[key] for key in expected} == expected


def test_duckdb_and_spark_agree_exactly_on_every_column() -> None:
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (java not on PATH)")
    spells = [
        spell(n, hrg, method, los, age, provider)
        for n, (hrg, method, los, age, provider) in enumerate(
            [
                (h, m, los, a, p)
                for h in ("AA22C", "XX01A", None)
                for m in ("elective", "day_case", "non_elective")
                for los in (0, 1, 6, 99, 120)
                for a in (5, 40)
                for p in PROVIDERS
            ]
        )
    ]
    duck, spark = Backend("duckdb"), Backend("pyspark")
    try:
        assert priced_spells(duck, spells) == priced_spells(spark, spells)
    finally:
        duck.close()


def test_outpatients_procedure_first_follow_up_and_unpriced(backend: Backend) -> None:
    visits = [
        ("O1", "P1", "00A", "A81001", "p1", date(2017, 5, 1), "first", "100", None, "gp", 40),
        ("O2", "P2", "00A", "A81001", "p1", date(2017, 6, 1), "follow_up", "100", None, "consultant", 40),
        ("O3", "P2", "00A", "A81001", "p2", date(2017, 6, 1), "follow_up", "100", "XX01A", "gp", 40),  # OPROC
        ("O4", "P2", "00A", "A81001", "p3", date(2017, 6, 1), "first", None, None, "gp", 40),
        ("O5", "P2", "00A", "A81001", "p4", date(2017, 6, 1), "first", "999", None, "gp", 40),
        ("O6", "P2", "00A", "A81001", "p5", date(2017, 6, 1), "first", None, "AA22C", "gp", 40),  # no OPROC price
    ]
    expression = pricing.price_op(
        backend.table(arrow(visits, OP_SCHEMA)),
        backend.table(arrow(TARIFF_OP, TARIFF_OP_SCHEMA)),
        backend.table(arrow(TARIFF_APC, TARIFF_APC_SCHEMA)),
        backend.table(arrow(MFF, MFF_SCHEMA)),
        year=YEAR,
    )
    rows = sorted(backend.to_rows(expression), key=lambda row: row["attendance_id"])
    assert [(row["point_of_delivery"], row["price_pence"], row["unpriced_reason"]) for row in rows] == [
        ("op_first", 16_893, None),  # £163 x 1.036391 = 16,893.17p
        ("op_follow_up", 7_000, None),
        ("op_procedure", 15_000, None),
        ("op_first", None, pricing.MISSING_TREATMENT_FUNCTION),
        ("op_first", None, pricing.UNKNOWN_TREATMENT_FUNCTION),
        ("op_first", None, pricing.MISSING_TREATMENT_FUNCTION),
    ]
    totals = pricing.price_op(
        backend.table(arrow(visits, OP_SCHEMA)),
        backend.table(arrow(TARIFF_OP, TARIFF_OP_SCHEMA)),
        backend.table(arrow(TARIFF_APC, TARIFF_APC_SCHEMA)),
        backend.table(arrow(MFF, MFF_SCHEMA)),
        year=YEAR,
        totalled=True,
    )
    assert _by_label(backend.to_rows(totals)) == {  # the rows above, summed by hand
        ("op_first", None): [1, 16_893, 0, 0],
        ("op_follow_up", None): [1, 7_000, 0, 0],
        ("op_procedure", None): [1, 15_000, 0, 0],
        ("op_first", pricing.MISSING_TREATMENT_FUNCTION): [2, 0, 0, 0],
        ("op_first", pricing.UNKNOWN_TREATMENT_FUNCTION): [1, 0, 0, 0],
    }


def test_ae_by_department_type(backend: Backend) -> None:
    arrivals = [
        ("E1", "P1", "00A", "A81001", "p1", date(2017, 12, 1), "1", "VB01Z", 30),
        ("E2", "P2", "00A", "A81001", "p2", date(2017, 12, 1), "3", "VB01Z", 30),
        ("E3", "P2", "00A", "A81001", "p3", date(2017, 12, 1), "1", None, 30),
        ("E4", "P2", "00A", "A81001", "p4", date(2017, 12, 1), "9", "VB01Z", 30),
    ]
    expression = pricing.price_ae(
        backend.table(arrow(arrivals, AE_SCHEMA)),
        backend.table(arrow(TARIFF_AE, TARIFF_AE_SCHEMA)),
        backend.table(arrow(MFF, MFF_SCHEMA)),
        year=YEAR,
    )
    rows = sorted(backend.to_rows(expression), key=lambda row: row["attendance_id"])
    assert [(row["price_pence"], row["unpriced_reason"]) for row in rows] == [
        (33_372, None),  # £322 x 1.036391 = 33,371.79p
        (6_300, None),
        (None, pricing.MISSING_HRG),
        (None, pricing.UNKNOWN_DEPARTMENT_TYPE),
    ]
    totals = pricing.price_ae(
        backend.table(arrow(arrivals, AE_SCHEMA)),
        backend.table(arrow(TARIFF_AE, TARIFF_AE_SCHEMA)),
        backend.table(arrow(MFF, MFF_SCHEMA)),
        year=YEAR,
        totalled=True,
    )
    assert _by_label(backend.to_rows(totals)) == {  # the rows above, summed by hand
        ("ae", None): [2, 33_372 + 6_300, 0, 0],
        ("ae", pricing.MISSING_HRG): [1, 0, 0, 0],
        ("ae", pricing.UNKNOWN_DEPARTMENT_TYPE): [1, 0, 0, 0],
    }


def test_pricing_is_additive_over_any_split(backend: Backend) -> None:
    """Pricing part A and part B separately gives the same total as pricing A and B together."""
    spells = [
        spell(n, h, m, los)
        for n, (h, m, los) in enumerate(
            [
                ("AA22C", "non_elective", 120),
                ("XX01A", "elective", 9),
                ("XX01A", "day_case", 0),
                ("ZZ99Z", "elective", 2),
            ]
            * 5
        )
    ]

    def total(part: list[tuple[Any, ...]]) -> int:
        return sum((row["price_pence"] or 0) + (row["excess_price_pence"] or 0) for row in priced_spells(backend, part))

    assert total(spells) == total(spells[:7]) + total(spells[7:])


def test_contract_actuals_agree_on_duckdb_and_spark() -> None:
    """The contract path: priced units (spells, excess bed days) -> local prices -> activity and £ by month."""
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (java not on PATH)")
    from outturn.engine import contracts as contract_engine

    spells = [
        spell(n, hrg, method, los, 50, provider)
        for n, (hrg, method, los, provider) in enumerate(
            [
                ("AA22C", "non_elective", 120, "P1"),
                ("XX01A", "elective", 9, "P2"),
                ("XX01A", "day_case", 0, "P2"),
                ("ZZ99Z", "elective", 2, "P2"),
                ("AA22C", "non_elective", 1, "P2"),
            ]
            * 3
        )
    ]
    local = [("P2", "00A", "day_case", "", 55_500), ("P2", "00A", "elective", "XX01A", 90_000)]

    def actuals(backend: Backend) -> list[dict[str, Any]]:
        empty_op = backend.table(arrow([], OP_SCHEMA))
        empty_ae = backend.table(arrow([], AE_SCHEMA))
        apc = pricing.price_apc(
            backend.table(arrow(spells, APC_SCHEMA)),
            backend.table(arrow(TARIFF_APC, TARIFF_APC_SCHEMA)),
            backend.table(arrow(MFF, MFF_SCHEMA)),
            year=YEAR,
        )
        op = pricing.price_op(
            empty_op,
            backend.table(arrow(TARIFF_OP, TARIFF_OP_SCHEMA)),
            backend.table(arrow(TARIFF_APC, TARIFF_APC_SCHEMA)),
            backend.table(arrow(MFF, MFF_SCHEMA)),
            year=YEAR,
        )
        ae = pricing.price_ae(
            empty_ae,
            backend.table(arrow(TARIFF_AE, TARIFF_AE_SCHEMA)),
            backend.table(arrow(MFF, MFF_SCHEMA)),
            year=YEAR,
        )
        units = contract_engine.apply_local_prices(
            contract_engine.contract_units(apc, op, ae),
            backend.table(arrow(local, contract_engine.LOCAL_PRICE_SCHEMA)),
        )
        return backend.to_rows(contract_engine.contract_actuals(units, year=YEAR))

    duck, spark = Backend("duckdb"), Backend("pyspark")
    try:
        on_duckdb, on_spark = actuals(duck), actuals(spark)
    finally:
        duck.close()
    assert on_duckdb == on_spark

    def total(pod: str, field: str) -> int:
        return sum(row[field] for row in on_duckdb if row["point_of_delivery"] == pod)

    assert total("day_case", "pence") == 3 * 55_500  # the local price for the whole point of delivery
    assert total("elective", "pence") == 3 * 90_000  # the local price for XX01A; ZZ99Z is unpriced
    assert total("excess_bed_days", "activity") == 3 * (120 - 98) + 3 * (9 - 5)


# --- the price command's unpriced units by reason, summed over every point of delivery ----------------------
# Priced against the published 2018/19 tariff: AA22C, general surgery (100) and VB03Z are in it; ZZ99Z and
# treatment function 999 are not. Each reason below falls in two points of delivery (A&E has only one).


def apc_rows() -> list[list[object]]:
    spells = [("elective", "ZZ99Z")] * 2 + [("non_elective", "ZZ99Z")] * 3  # unknown HRG: 2 + 3 = 5
    spells += [("day_case", ""), ("elective", "")]  # missing HRG: 1 + 1 = 2
    spells += [("non_elective", "AA22C")]  # priced
    return [
        [f"S{n}", "RTH", "10Q", "K84001", f"p{n}", method, hrg, date(2018, 5, 1), date(2018, 5, 3), 2, "300", 70]
        for n, (method, hrg) in enumerate(spells)
    ]


def op_rows() -> list[list[object]]:
    visits = [("first", "999")] * 2 + [("follow_up", "999")] * 4  # unknown treatment function: 2 + 4 = 6
    visits += [("first", ""), ("follow_up", "")]  # missing treatment function: 1 + 1 = 2
    visits += [("first", "100")]  # priced
    return [
        [f"A{n}", "RTH", "10Q", "K84001", f"q{n}", date(2018, 5, 1), kind, function, "", "gp", 50]
        for n, (kind, function) in enumerate(visits)
    ]


def ae_rows() -> list[list[object]]:
    arrivals = [("1", "ZZ99Z")] * 2 + [("3", "ZZ99Z")]  # unknown HRG: 2 + 1 = 3
    arrivals += [("1", "")]  # missing HRG: 1
    arrivals += [("1", "VB03Z")]  # priced
    return [
        [f"E{n}", "RTH", "10Q", "K84001", f"r{n}", date(2018, 5, 1), department, hrg, 30]
        for n, (department, hrg) in enumerate(arrivals)
    ]


@pytest.mark.parametrize(
    ("kind", "schema", "rows", "by_reason"),
    [
        ("apc", APC_SCHEMA, apc_rows(), {pricing.UNKNOWN_HRG: 5, pricing.MISSING_HRG: 2}),
        ("op", OP_SCHEMA, op_rows(), {pricing.UNKNOWN_TREATMENT_FUNCTION: 6, pricing.MISSING_TREATMENT_FUNCTION: 2}),
        ("ae", AE_SCHEMA, ae_rows(), {pricing.UNKNOWN_HRG: 3, pricing.MISSING_HRG: 1}),
    ],
    ids=["apc", "op", "ae"],
)
def test_price_command_sums_each_unpriced_reason_over_every_point_of_delivery(
    tmp_path: Path,
    reference_dir: Path,
    kind: str,
    schema: Mapping[str, str],
    rows: list[list[object]],
    by_reason: dict[str, int],
) -> None:
    extract = tmp_path / f"{kind}.csv"
    with extract.open("w", newline="") as handle:
        csv.writer(handle).writerows([list(schema), *rows])  # the columns in schema order
    out = tmp_path / "priced.parquet"
    arguments = ["price", "--activity", str(extract), "--kind", kind, "--tariff", "2018/19", "--out", str(out)]
    result = CliRunner().invoke(app, [*arguments, "--reference-dir", str(reference_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["unpriced_by_reason"] == by_reason
    assert (document["priced_units"], document["unpriced_units"]) == (1, sum(by_reason.values()))
