"""The integer keys stored with imported activity (``engine.codes``): the workspace's code dictionary, extended by
each import, and the ``<column>_key`` columns written beside the coded columns; likewise the patient dictionary and
the ``patient_key`` written beside the ``patient_id`` of A&E and admitted care.

A code keeps its key for good: an import adds keys for the codes it brings that the dictionary does not hold yet,
after the highest key held, and never renumbers one, so re-importing the same file gives the same keys and the
activity already stored stays keyed correctly.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from outturn.domain.activity import ActivityKind
from outturn.engine.codes import CODE_SCHEMA, INDEXED_COLUMNS, NO_KEY, PATIENT_KEY, PATIENT_SCHEMA, key_column

CODES_ARROW_SCHEMA = pa.schema(
    [(name, pa.string() if kind == "string" else pa.int64()) for name, kind in CODE_SCHEMA.items()]
)

PATIENTS_ARROW_SCHEMA = pa.schema(
    [(name, pa.string() if kind == "string" else pa.int64()) for name, kind in PATIENT_SCHEMA.items()]
)


def no_codes() -> pa.Table:
    return CODES_ARROW_SCHEMA.empty_table()


def extended_codes(codes: pa.Table, activity: pa.Table, columns: tuple[str, ...]) -> pa.Table:
    """``codes`` with a new key, after the highest held, for each code in ``activity``'s ``columns`` that it does
    not hold yet (new codes keyed in code order)."""
    held = set(codes["code"].to_pylist())
    found = {code for column in columns for code in pc.unique(activity[column]).to_pylist() if code is not None}
    new = sorted(found - held)
    first = max(codes["code_key"].to_pylist(), default=NO_KEY) + 1
    added = pa.table({"code": new, "code_key": list(range(first, first + len(new)))}, schema=CODES_ARROW_SCHEMA)
    return pa.concat_tables([codes.cast(CODES_ARROW_SCHEMA), added])


def with_stored_keys(activity: pa.Table, codes: pa.Table, columns: tuple[str, ...]) -> pa.Table:
    """``activity`` with ``<column>_key`` (int64) after its columns, for each of ``columns``: the code's key in
    ``codes``, ``NO_KEY`` for a null code."""
    for column in columns:
        position = pc.index_in(activity[column], value_set=codes["code"])
        keys = pc.fill_null(pc.take(codes["code_key"], position), NO_KEY)
        activity = activity.append_column(pa.field(key_column(column), pa.int64()), keys)
    return activity


def with_stored_indexes(activity: pa.Table, kind: ActivityKind) -> pa.Table:
    """``activity`` with ``<column>_key`` (int64) after its columns, for each of ``INDEXED_COLUMNS[kind]``: the
    value's position among the column's choices, their count for any other value or a null."""
    for column, choices in INDEXED_COLUMNS[kind].items():
        position = pc.index_in(activity[column], value_set=pa.array(choices, pa.string()))
        indexes = pc.fill_null(position.cast(pa.int64()), len(choices))
        activity = activity.append_column(pa.field(key_column(column), pa.int64()), indexes)
    return activity


def no_patients() -> pa.Table:
    return PATIENTS_ARROW_SCHEMA.empty_table()


def extended_patients(patients: pa.Table, activity: pa.Table) -> pa.Table:
    """``patients`` with a new key, after the highest held, for each patient id in ``activity`` that it does not
    hold yet (new ids keyed in id order). Arrow throughout: a national year brings tens of millions of ids."""
    held = patients["patient_id"].combine_chunks()
    found = pc.unique(activity["patient_id"].combine_chunks()).drop_null()
    new = found.filter(pc.invert(pc.is_in(found, value_set=held)))
    new = new.take(pc.sort_indices(new))
    first = (pc.max(patients[PATIENT_KEY]).as_py() or NO_KEY) + 1
    keys = pa.array(np.arange(first, first + len(new), dtype=np.int64))
    added = pa.Table.from_arrays([new.cast(pa.string()), keys], schema=PATIENTS_ARROW_SCHEMA)
    return pa.concat_tables([patients.cast(PATIENTS_ARROW_SCHEMA), added])


def with_patient_keys(activity: pa.Table, patients: pa.Table) -> pa.Table:
    """``activity`` with ``patient_key`` (int64) after its columns: the id's key in ``patients`` (null for a null
    id)."""
    position = pc.index_in(activity["patient_id"], value_set=patients["patient_id"].combine_chunks())
    keys = pc.take(patients[PATIENT_KEY].combine_chunks(), position)
    return activity.append_column(pa.field(PATIENT_KEY, pa.int64()), keys)
