"""The integer patient key stored at import (``ingest.activity_keys``): a pseudonymised id keeps its key for good,
A&E and admitted care imported apart share the dictionary, and the high-intensity engine gives the same answers on
stored keys (numbered in any order) as on activity keyed on read by its id, checked against plain Python."""

from __future__ import annotations

import random
import shutil
from typing import Any

import pyarrow as pa
import pytest

from outturn.domain.activity import ActivityKind
from outturn.domain.high_intensity import Thresholds
from outturn.engine import high_intensity as engine
from outturn.engine.backends import Backend
from outturn.ingest import activity_keys
from outturn.services.pricing import ACTIVITY_TABLES, PATIENTS_TABLE
from outturn.services.workspace import Workspace
from test_high_intensity import (
    AE_SCHEMA,
    APC_SCHEMA,
    HIGH,
    LOW,
    arrow,
    engine_answers,
    limits_of,
    plain_events,
    plain_first_flags,
    plain_flags,
    plain_strata,
    random_activity,
    strata_cells,
)
from web_helpers import shared_workspace

__all__ = ["shared_workspace"]


def ids(*patient_ids: str | None) -> pa.Table:
    return pa.table({"patient_id": pa.array(patient_ids, pa.string())})


def test_patients_keep_their_keys_across_imports() -> None:
    first = activity_keys.extended_patients(activity_keys.no_patients(), ids("b", "a", None, "b"))
    assert first.to_pylist() == [{"patient_id": "a", "patient_key": 1}, {"patient_id": "b", "patient_key": 2}]
    # admitted care imported later brings "c" and "a": "a" keeps 1, "c" is added after the highest key
    grown = activity_keys.extended_patients(first, ids("c", "a"))
    assert dict(zip(grown["patient_id"].to_pylist(), grown["patient_key"].to_pylist(), strict=True)) == {
        "a": 1,
        "b": 2,
        "c": 3,
    }
    assert activity_keys.extended_patients(grown, ids("a", "b", "c")).equals(grown)  # the same file again
    keyed = activity_keys.with_patient_keys(ids("c", None, "a", "b"), grown)
    assert keyed["patient_key"].to_pylist() == [3, None, 1, 2]  # a null id has a null key: not an event


def keyed_tables(ae: list, apc: list, seed: int) -> tuple[pa.Table, pa.Table]:
    """The tables keyed as imports key them, A&E first then admitted care, from a dictionary that already holds the
    ids in a shuffled order: the keys follow neither the ids' order nor the rows'."""
    everyone = sorted({row[1] for row in ae + apc if row[1] is not None})
    random.Random(seed).shuffle(everyone)
    held = pa.table({"patient_id": everyone[::2], "patient_key": [7 * n + 5 for n in range(len(everyone[::2]))]})
    patients = activity_keys.extended_patients(held, arrow(ae, AE_SCHEMA))
    keyed_ae = activity_keys.with_patient_keys(arrow(ae, AE_SCHEMA), patients)
    patients = activity_keys.extended_patients(patients, arrow(apc, APC_SCHEMA))
    return keyed_ae, activity_keys.with_patient_keys(arrow(apc, APC_SCHEMA), patients)


@pytest.fixture(scope="module")
def duck() -> Any:
    opened = Backend("duckdb")
    yield opened
    opened.close()


def stored_answers(backend: Backend, ae: pa.Table, apc: pa.Table, limits: Thresholds) -> tuple:
    events = engine.patient_events(backend.table(ae), backend.table(apc))
    flags = backend.to_rows(engine.flagged_patients(events, LOW + 18, limits).order_by("patient_id"))
    first = backend.to_rows(engine.first_flags(events, limits).order_by("patient_id"))
    strata = engine.cohort_strata(events, engine.first_flags(events, limits), (LOW, HIGH), limits)
    return flags, first, backend.to_rows(strata.order_by(["cohort_month", "group", "age_band", "prior_events"]))


@pytest.mark.parametrize("seed", [1, 2])
def test_stored_keys_give_the_answers_of_keys_on_read_and_of_plain_python(duck: Backend, seed: int) -> None:
    ae, apc = random_activity(seed)
    limits = limits_of(seed)
    keyed_ae, keyed_apc = keyed_tables(ae, apc, seed)
    flags, first, strata = stored_answers(duck, keyed_ae, keyed_apc, limits)
    on_read = engine_answers(duck, ae, apc, limits, LOW, HIGH)  # as_at December 2025 = LOW + 18
    assert (flags, strata) == (on_read[0], on_read[2])
    assert [{**row, "patient_key": row["patient_id"]} for row in first] == on_read[1]
    events = plain_events(ae, apc)
    assert {row["patient_id"] for row in flags} == set(plain_flags(events, LOW + 18, limits))
    assert {row["patient_id"]: row["flag_month"] for row in first} == {
        patient: found[0] for patient, found in plain_first_flags(events, limits).items()
    }
    assert strata_cells(strata) == plain_strata(events, limits, LOW, HIGH) and strata  # cell by cell, not a count
    # one table keyed, the other imported before keys were stored: both keyed on read by the id
    mixed = stored_answers(duck, keyed_ae, arrow(apc, APC_SCHEMA), limits)
    assert (mixed[0], mixed[2]) == (flags, strata)


def test_an_import_stores_each_patients_key_from_one_dictionary(shared_workspace: Workspace) -> None:
    backend = shared_workspace.backend
    dictionary = backend.to_rows(backend.stored_table(PATIENTS_TABLE))
    key_of = {row["patient_id"]: row["patient_key"] for row in dictionary}
    assert len(key_of) == len(dictionary) == len(set(key_of.values()))  # one key per id, none shared
    seen = set()
    for kind in ("ae", "apc"):
        table = backend.stored_table(ACTIVITY_TABLES[ActivityKind(kind)])
        for row in backend.to_rows(table.select("patient_id", "patient_key")):
            assert row["patient_key"] == key_of.get(row["patient_id"])
            seen.add(row["patient_id"])
    # the web fixture's patients: p0-p11 admitted (A&E's r0-r1 imported apart, into the same dictionary)
    assert {f"p{n}" for n in range(12)} | {"r0", "r1"} <= seen == set(key_of)


@pytest.mark.slow  # Spark stages on the shared 2-core machine: run with -m slow
def test_spark_gives_duckdbs_answers_on_stored_keys(duck: Backend) -> None:
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (java not on PATH)")
    keyed_ae, keyed_apc = keyed_tables(*random_activity(2), seed=2)
    spark = Backend("pyspark")
    on_spark = stored_answers(spark, keyed_ae, keyed_apc, limits_of(2))
    assert on_spark == stored_answers(duck, keyed_ae, keyed_apc, limits_of(2))
