"""Integer keys for the codes that pricing joins on (HRG, provider, treatment function), so that each join of a
national year to the tariff is a join on small integers rather than strings.

A code dictionary is a table of ``code`` (a string) and ``code_key`` (1, 2, ...): the workspace keeps one, extended
by every activity import (``ingest.activity_keys``), and the activity is stored with a ``<column>_key`` beside each
coded column. Activity without stored keys (a file priced directly, a workspace imported before keys were stored)
is keyed on read against a dictionary of the tariff's own codes. Key ``NO_KEY`` (0) stands for a null code or one
the dictionary does not hold: the code itself stays on the row, so the reason it is unpriced is worked out from it
exactly as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import ibis
import ibis.expr.types as ir

from outturn.domain.activity import ActivityKind, AdmissionMethod

CODE_SCHEMA: Mapping[str, str] = MappingProxyType({"code": "string", "code_key": "int64"})
NO_KEY = 0

# The coded columns each kind of activity is joined on, for each a ``<column>_key`` stored at import.
KEYED_COLUMNS: Mapping[ActivityKind, tuple[str, ...]] = MappingProxyType(
    {
        ActivityKind.APC: ("hrg", "provider"),
        ActivityKind.OP: ("treatment_function", "procedure_hrg", "provider"),
        ActivityKind.AE: ("hrg", "provider"),
    }
)


# The integer patient key stored with the activity the high-intensity-user flags read (``engine.high_intensity``),
# from the workspace's patient dictionary (``patient_id``, ``patient_key``): a key for each pseudonymised id, kept for
# good, so A&E and admitted care imported apart agree. A null id has a null key.
PATIENT_KEY = "patient_key"
PATIENT_KEYED_KINDS = frozenset({ActivityKind.AE, ActivityKind.APC})
PATIENT_SCHEMA: Mapping[str, str] = MappingProxyType({"patient_id": "string", PATIENT_KEY: "int64"})


APC_METHODS = (AdmissionMethod.ELECTIVE, AdmissionMethod.DAY_CASE, AdmissionMethod.NON_ELECTIVE)

# The columns tested per row against a few fixed values, each also stored at import as ``<column>_key``: the
# value's position among its choices, ``len(choices)`` for any other value or a null. Pricing then tests integers.
INDEXED_COLUMNS: Mapping[ActivityKind, Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        ActivityKind.APC: MappingProxyType({"admission_method": tuple(method.value for method in APC_METHODS)}),
        ActivityKind.OP: MappingProxyType({}),
        ActivityKind.AE: MappingProxyType({}),
    }
)


def key_column(column: str) -> str:
    return f"{column}_key"


def key_columns(kind: ActivityKind) -> tuple[str, ...]:
    return tuple(key_column(column) for column in KEYED_COLUMNS[kind])


def index_columns(kind: ActivityKind) -> tuple[str, ...]:
    return tuple(key_column(column) for column in INDEXED_COLUMNS[kind])


def index_of(value: ir.StringValue, choices: tuple[str, ...]) -> ir.IntegerValue:
    """The position of ``value`` in ``choices``; ``len(choices)`` for anything else (null included)."""
    cases = ((value == choice, index) for index, choice in enumerate(choices))
    return ibis.cases(*cases, else_=len(choices)).cast("int64")


def with_indexes(table: ir.Table, kind: ActivityKind) -> ir.Table:
    """``table`` with a ``<column>_key`` for each of ``INDEXED_COLUMNS[kind]``: kept where stored, else worked
    out on read."""
    missing = {
        key_column(column): index_of(table[column], choices)
        for column, choices in INDEXED_COLUMNS[kind].items()
        if key_column(column) not in table.columns
    }
    return table.mutate(**missing) if missing else table


def codes_of(*columns: ir.StringColumn) -> ir.Table:
    """A code dictionary of the distinct non-null codes in ``columns``, keyed 1, 2, ... in code order."""
    codes = ibis.union(*(column.name("code").as_table() for column in columns), distinct=True)
    codes = codes.filter(codes.code.notnull())
    return codes.select(codes.code, code_key=(ibis.row_number().over(order_by=codes.code) + 1).cast("int64"))


def with_keys(table: ir.Table, codes: ir.Table, columns: tuple[str, ...]) -> ir.Table:
    """``table`` with a ``<column>_key`` for each of ``columns``: kept where stored, else looked up in ``codes``
    (``NO_KEY`` for a null code or one that ``codes`` does not hold)."""
    for column in columns:
        key = key_column(column)
        if key in table.columns:
            continue
        lookup = codes.select(_lookup_code=codes.code, _lookup_key=codes.code_key).view()
        joined = table.left_join(lookup, table[column] == lookup._lookup_code)
        table = joined.select(*table.columns, **{key: joined._lookup_key.coalesce(NO_KEY)})
    return table


def keyed_grid(codes: ir.Table) -> ir.Table:
    """Every key of ``codes`` and ``NO_KEY`` (whose code is null): the rows of a dimension that every keyed row
    finds exactly once, so that the join to it can be an inner join (a direct lookup on DuckDB)."""
    one_row = codes.aggregate(_rows=codes.count())  # an aggregate without groups: one row, even of no codes
    none = one_row.select(code=ibis.null().cast("string"), code_key=ibis.literal(NO_KEY).cast("int64"))
    return ibis.union(codes.select("code", "code_key"), none).view()
