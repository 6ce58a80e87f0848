"""The vectorised checks behind ``read_activity``: typed columns from raw ones, and faults counted with examples.

Every check is a pyarrow.compute expression over whole columns; Python only touches the (at most five) example
rows that go into each problem's wording.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from outturn.domain.activity import AdmissionMethod, AttendanceType, DepartmentType, ReferralSource
from outturn.domain.periods import FinancialMonth
from outturn.domain.problems import Problem

EXAMPLES = 5
MAX_AGE = 120
EARLIEST_DATE = date(2000, 4, 1)  # well before any extract a commissioner holds: an earlier date is a typing fault
# The date that says when activity happened (and which month it counts in); admission dates may be earlier.
ACTIVITY_DATES = ("discharge_date", "attendance_date", "arrival_date")

ARROW_TYPES: Mapping[str, pa.DataType] = MappingProxyType(
    {"string": pa.string(), "date": pa.date32(), "int64": pa.int64()}
)

# Columns that may be blank: practice (unregistered patients), patient id, and the codes that pricing counts as
# unpriced when missing. A blank length of stay is taken from the dates.
NULLABLE = frozenset({"practice", "patient_id", "hrg", "procedure_hrg", "treatment_function", "length_of_stay"})
UPPER_CASE = frozenset({"provider", "commissioner", "practice", "hrg", "procedure_hrg"})

HRG_FORMAT = (r"^[A-Z]{2}[0-9]{2}[A-Z]$", "not an HRG code (two letters, two digits and a letter, like AA22C)")
FORMATS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "hrg": HRG_FORMAT,
        "procedure_hrg": HRG_FORMAT,
        "treatment_function": (r"^[0-9]{3}$", "not a treatment function code (three digits, like 100)"),
    }
)


@dataclass(frozen=True)
class CodeColumn:
    label: str
    codes: type[StrEnum]
    synonyms: Mapping[str, str]  # keys as ``code_key`` leaves them: lower case, separators as "_"


CODES: Mapping[str, CodeColumn] = MappingProxyType(
    {
        "admission_method": CodeColumn(
            "admission method",
            AdmissionMethod,
            {
                "el": "elective",
                "elec": "elective",
                "ordinary_elective": "elective",
                "elective_inpatient": "elective",
                "daycase": "day_case",
                "dc": "day_case",
                "nonelective": "non_elective",
                "non_el": "non_elective",
                "nel": "non_elective",
                "ne": "non_elective",
                "emergency": "non_elective",
            },
        ),
        "attendance_type": CodeColumn(
            "attendance type",
            AttendanceType,
            {
                "1st": "first",
                "new": "first",
                "first_attendance": "first",
                "followup": "follow_up",
                "fu": "follow_up",
                "fup": "follow_up",
                "f_u": "follow_up",
                "follow_up_attendance": "follow_up",
                "subsequent": "follow_up",
            },
        ),
        "referral_source": CodeColumn(
            "referral source",
            ReferralSource,
            {
                "general_practitioner": "gp",
                "gmp": "gp",
                "c2c": "consultant",
                "consultant_to_consultant": "consultant",
                "cons": "consultant",
                "oth": "other",
            },
        ),
        "department_type": CodeColumn(
            "department type",
            DepartmentType,
            {f"{prefix}{n}": n for n in "123" for prefix in ("type_", "type", "t", "0")},
        ),
    }
)


def counted(count: int, reason: str, examples: Sequence[tuple[int, str]]) -> str:
    """``1,204 rows: <reason> (e.g. row 17: <detail>; row 90: <detail>; …)``; no "e.g." when all rows are shown."""
    shown = "; ".join(f"row {row}: {detail}" if detail else f"row {row}" for row, detail in examples)
    more = len(examples) < count
    noun = "row" if count == 1 else "rows"
    return f"{count:,} {noun}: {reason} ({'e.g. ' if more else ''}{shown}{'; …' if more else ''})"


Detail = Callable[[Any], list[str]]  # example indices -> one text per example


def quoted(values: Any) -> Detail:
    return lambda indices: [repr(value) for value in pc.take(values, indices).to_pylist()]


def quoted_text(raw: Any) -> Detail:
    return lambda indices: [repr(value) for value in as_text(pc.take(raw, indices)).to_pylist()]


def plain(values: Any) -> Detail:
    return lambda indices: [str(value) for value in pc.take(values, indices).to_pylist()]


@dataclass
class Findings:
    """Problems found so far in one file; ``rows`` gives each record's row number as the user sees it."""

    source: str
    rows: Any  # int64 array, one per record
    problems: list[Problem] = field(default_factory=list)

    def flag(self, mask: Any, reason: str, column: str | None, detail: Detail | None = None) -> None:
        mask = pc.fill_null(mask, False)
        count = pc.sum(mask).as_py() or 0
        if not count:
            return
        indices = pc.indices_nonzero(mask)[:EXAMPLES]
        rows = pc.take(self.rows, indices).to_pylist()
        details = detail(indices) if detail else [""] * len(rows)
        self.problems.append(
            Problem(self.source, counted(count, reason, list(zip(rows, details, strict=True))), column=column)
        )


@dataclass(frozen=True)
class Expected:
    """What an extract's codes and dates must agree with. Each code set, when given, holds every code allowed in
    its column (a blank practice is always allowed: an unregistered patient); ``None`` checks nothing. Dates lie
    from ``first_date`` to ``last_date``; the activity date (discharge, attendance or arrival) must also fall in
    one of ``years`` (financial years by start year) when they are given."""

    last_date: date
    first_date: date = EARLIEST_DATE
    years: frozenset[int] | None = None
    codes: Mapping[str, frozenset[str] | None] = field(default_factory=dict)  # column -> codes allowed


def plausible_dates(today: date) -> Expected:
    """The window any extract must lie in: from 2000-04-01 to the end of the financial year holding ``today``."""
    year = FinancialMonth.from_calendar(today.year, today.month).year
    return Expected(last_date=date(year.start_year + 1, 3, 31))


def check_expected(columns: Mapping[str, Any], expected: Expected, findings: Findings) -> None:
    """Dates outside the window or the years held, and organisation codes not held, counted per column."""
    window = f"{expected.first_date} to {expected.last_date}"
    for name in ("admission_date", *ACTIVITY_DATES):
        if name in columns:
            values = columns[name]
            outside = pc.or_(pc.less(values, expected.first_date), pc.greater(values, expected.last_date))
            findings.flag(outside, f"a date outside {window}", name, plain(values))
    activity_date = next(name for name in ACTIVITY_DATES if name in columns)
    if expected.years is not None:
        values = columns[activity_date]
        starts = pc.subtract(pc.year(values), pc.cast(pc.less(pc.month(values), 4), pa.int64()))
        held = ", ".join(f"{year}/{(year + 1) % 100:02d}" for year in sorted(expected.years)) or "none"
        findings.flag(
            pc.and_(pc.is_valid(values), pc.invert(pc.is_in(starts, value_set=pa.array(sorted(expected.years))))),
            f"a date in a financial year with no contract held (contracts held: {held})",
            activity_date,
            plain(values),
        )
    for name, allowed in expected.codes.items():
        if allowed is not None:
            unknown = pc.invert(pc.is_in(columns[name], value_set=pa.array(sorted(allowed), pa.string())))
            findings.flag(
                pc.and_(pc.is_valid(columns[name]), unknown),
                f"{name} code not among the organisations held (load organisations first)",
                name,
                quoted(columns[name]),
            )


def _null(values: Any, mask: Any) -> Any:
    return pc.if_else(mask, pa.scalar(None, values.type), values)


def _no_faults(values: Any) -> Any:
    return pc.and_kleene(pc.is_valid(values), False)


def as_text(values: Any) -> Any:
    """Trimmed strings, blank as null, from any column type."""
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())
    trimmed = pc.utf8_trim_whitespace(values)
    return _null(trimmed, pc.equal(trimmed, ""))


def as_int(values: Any) -> tuple[Any, Any]:
    """(int64 values, mask of values that are not whole numbers)."""
    if pa.types.is_integer(values.type):
        return pc.cast(values, pa.int64()), _no_faults(values)
    if pa.types.is_floating(values.type):
        bad = pc.invert(pc.and_(pc.is_finite(values), pc.equal(pc.floor(values), values)))
        return pc.cast(_null(values, bad), pa.int64()), pc.and_kleene(pc.is_valid(values), pc.fill_null(bad, True))
    text = as_text(values)
    good = pc.match_substring_regex(text, r"^[+-]?[0-9]{1,18}(\.0*)?$")
    digits = _null(text, pc.invert(good))
    if pc.any(pc.match_substring_regex(digits, r"[.+]")).as_py():  # 12.0 and +12 (rare: skip the work otherwise)
        digits = pc.replace_substring_regex(pc.replace_substring_regex(digits, r"\.0*$", ""), r"^\+", "")
    return pc.cast(digits, pa.int64()), pc.and_kleene(pc.is_valid(text), pc.invert(good))


def as_date(values: Any) -> tuple[Any, Any]:
    """(date32 values, mask of values that are not dates written YYYY-MM-DD or DD/MM/YYYY)."""
    if pa.types.is_date32(values.type):
        return values, _no_faults(values)
    if pa.types.is_date64(values.type) or pa.types.is_timestamp(values.type):
        return pc.cast(values, pa.date32(), safe=False), _no_faults(values)
    text = iso = as_text(values)
    uk = pc.match_substring_regex(text, r"^[0-9]{2}/[0-9]{2}/[0-9]{4}$")
    if pc.any(uk).as_py():  # DD/MM/YYYY rewritten as YYYY-MM-DD
        parts = [pc.utf8_slice_codeunits(text, start, stop) for start, stop in ((6, 10), (3, 5), (0, 2))]
        iso = pc.if_else(uk, pc.binary_join_element_wise(*parts, "-"), text)
    parsed = pc.cast(pc.strptime(iso, format="%Y-%m-%d", unit="s", error_is_null=True), pa.date32())
    parsed = _null(parsed, pc.not_equal(pc.cast(parsed, pa.string()), iso))  # 2018-02-30 parses as 03-02; 2018-5-3
    return parsed, pc.and_kleene(pc.is_valid(text), pc.is_null(parsed))


def as_code(text: Any, column: CodeColumn) -> Any:
    """Canonical code values (null where unknown), matching case-insensitively and through synonyms."""
    distinct = pc.unique(text)  # a handful of spellings: normalise those, not every row
    key = pc.replace_substring_regex(pc.utf8_lower(distinct), r"[\s\-/]+", "_")
    lookup = {code.value: code.value for code in column.codes} | dict(column.synonyms)
    index = pc.index_in(key, value_set=pa.array(list(lookup), pa.string()))
    canonical = pc.take(pa.array(list(lookup.values()), pa.string()), index)
    return pc.take(canonical, pc.index_in(text, value_set=distinct))


def typed_column(name: str, kind: str, raw: Any, findings: Findings, nullable: frozenset[str] = NULLABLE) -> Any:
    """One column converted to its domain type, with its unreadable, blank, unknown and malformed values flagged;
    a blank is a fault unless the column is in ``nullable``."""
    if kind == "int64":
        values, bad = as_int(raw)
        findings.flag(bad, "not a whole number", name, quoted_text(raw))
    elif kind == "date":
        values, bad = as_date(raw)
        findings.flag(bad, "not a date (expected YYYY-MM-DD or DD/MM/YYYY)", name, quoted_text(raw))
    elif kind == "string":
        values, bad = as_text(raw), None
        if name in UPPER_CASE:
            values = pc.utf8_upper(values)
    else:
        raise ValueError(f"no reader for column type {kind!r}")
    if name not in nullable:
        blank = pc.is_null(values) if bad is None else pc.and_(pc.is_null(values), pc.invert(bad))
        findings.flag(blank, f"blank {name} (a value is required)", name)
    if name in CODES:
        code = CODES[name]
        canonical = as_code(values, code)
        expected = ", ".join(member.value for member in code.codes)
        unknown = pc.and_(pc.is_valid(values), pc.is_null(canonical))
        findings.flag(unknown, f"unknown {code.label} (expected one of {expected})", name, quoted(values))
        values = canonical
    if name in FORMATS:
        pattern, reason = FORMATS[name]
        findings.flag(pc.invert(pc.match_substring_regex(values, pattern)), reason, name, quoted(values))
    if name == "age":
        outside = pc.or_(pc.less(values, 0), pc.greater(values, MAX_AGE))
        findings.flag(outside, f"age outside 0..{MAX_AGE}", name, plain(values))
    return values


def check_duplicates(name: str, ids: Any, findings: Findings) -> None:
    """Flags each record whose id repeats one on an earlier row, naming that first row."""
    distinct = pc.unique(ids)  # faster than count_distinct; the expensive search below runs only when needed
    if len(distinct) - distinct.null_count == len(ids) - ids.null_count:
        return
    table = pa.table({"id": ids, "row": findings.rows}).filter(pc.is_valid(ids))
    first = table.group_by("id").aggregate([("row", "min")]).rename_columns(["id", "first_row"])
    repeats = table.join(first, "id").filter(pc.field("row") != pc.field("first_row")).sort_by("row")
    if repeats.num_rows == 0:
        return
    shown = repeats.slice(0, EXAMPLES).to_pylist()
    examples = [(item["row"], f"{item['id']!r} (first on row {item['first_row']})") for item in shown]
    findings.problems.append(
        Problem(findings.source, counted(repeats.num_rows, f"duplicate {name}", examples), column=name)
    )


def check_stay(columns: dict[str, Any], findings: Findings) -> None:
    """Admission before discharge, and a length of stay that is not negative and agrees with the dates."""
    admitted, discharged, stay = columns["admission_date"], columns["discharge_date"], columns["length_of_stay"]
    days = pc.subtract(pc.cast(discharged, pa.int32()), pc.cast(admitted, pa.int32()))
    out_of_order = pc.less(discharged, admitted)

    def dates(indices: Any) -> list[str]:
        pairs = zip(pc.take(admitted, indices).to_pylist(), pc.take(discharged, indices).to_pylist(), strict=True)
        return [f"admitted {a}, discharged {d}" for a, d in pairs]

    def stays(indices: Any) -> list[str]:
        pairs = zip(pc.take(stay, indices).to_pylist(), pc.take(days, indices).to_pylist(), strict=True)
        return [f"length_of_stay {s}, the dates give {d}" for s, d in pairs]

    findings.flag(out_of_order, "discharge date before admission date (dates out of order)", "discharge_date", dates)
    findings.flag(pc.less(stay, 0), "negative length of stay", "length_of_stay", plain(stay))
    disagrees = pc.and_(pc.and_(pc.greater_equal(stay, 0), pc.invert(out_of_order)), pc.not_equal(stay, days))
    findings.flag(
        disagrees, "length of stay disagrees with discharge date less admission date", "length_of_stay", stays
    )
    columns["length_of_stay"] = pc.coalesce(stay, pc.cast(days, pa.int64()))


def validate(
    raw: Mapping[str, Any],
    schema: Mapping[str, str],
    findings: Findings,
    expected: Expected,
    nullable: frozenset[str] = NULLABLE,
) -> pa.Table:
    """The table in the domain layout; check ``findings.problems`` before using it. ``nullable``: the columns
    that may be blank (a national layout's "not known" codes are kept blank, never guessed)."""
    columns = {name: typed_column(name, kind, raw[name], findings, nullable) for name, kind in schema.items()}
    check_expected(columns, expected, findings)
    id_column = next(iter(schema))
    check_duplicates(id_column, columns[id_column], findings)
    if {"admission_date", "discharge_date", "length_of_stay"} <= columns.keys():
        check_stay(columns, findings)
    arrow_schema = pa.schema([(name, ARROW_TYPES[kind]) for name, kind in schema.items()])
    return pa.Table.from_arrays([columns[name] for name in schema], schema=arrow_schema)
