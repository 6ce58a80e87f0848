"""Hospital activity in the national HES / SUS+ layout (admitted care, outpatient and A&E extracts) read into
outturn's activity layout (``outturn.domain.activity``), every code mapped by the published tables in
``outturn.domain.hes`` and then checked exactly as an outturn-layout extract is (``activity_checks.validate``).

- Admitted care: one record per spell, taken from the finished episode that ends it (SPELEND ``Y``, EPISTAT
  ``3``); ADMIMETH gives elective / non-elective, an elective admission with CLASSPAT 2 is a day case; the
  length of stay is taken from ADMIDATE and DISDATE; DIAG_4_01 is kept as ``primary_diagnosis``.
- Outpatients: attended appointments only (ATTENDED 5 or 6); FIRSTATT gives first / follow-up, REFSOURC the
  referral source; SUSHRG, when present, is the procedure HRG.
- A&E: AEDEPTTYPE gives the department type.
- Practice from GPPRAC, commissioner from CCG_RESPONSIBILITY (else the historic PCT of responsibility,
  PCTCODE_HIS), provider from PROCODE3, treatment function from TRETSPEF, HRG from SUSHRG.

A row whose admission method or attendance type is not in the published table, or whose dates are HES's "not
known", is left out and counted by reason; a "not known" practice, age, referral source or department type is
kept blank (an unknown department type or a blank HRG is unpriced). Every code not in a table is listed with its
row count, never guessed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from outturn.domain import hes
from outturn.domain.activity import SCHEMAS, ActivityKind, AdmissionMethod
from outturn.domain.problems import Problem, ProblemsError
from outturn.ingest.activity import csv_header, read_csv_columns
from outturn.ingest.activity_checks import EARLIEST_DATE, NULLABLE, Expected, Findings, plausible_dates, validate

# Columns read from each kind of extract (lower case, as ``canonical_name`` writes them); the first set is
# required, the rest are read when present.
REQUIRED: Mapping[ActivityKind, tuple[str, ...]] = {
    ActivityKind.APC: ("epikey", "procode3", "admidate", "disdate", "admimeth"),
    ActivityKind.OP: ("attendkey", "procode3", "apptdate", "firstatt"),
    ActivityKind.AE: ("aekey", "procode3", "arrivaldate"),
}
OPTIONAL: Mapping[ActivityKind, tuple[str, ...]] = {
    ActivityKind.APC: ("classpat", "spelend", "epistat", "tretspef", "startage", "diag_4_01"),
    ActivityKind.OP: ("attended", "refsourc", "tretspef", "apptage"),
    ActivityKind.AE: ("aedepttype", "arrivalage"),
}
COMMON = ("pseudo_hesid", "gpprac", "ccg_responsibility", "pctcode_his", "sushrg")
COMMISSIONER_COLUMNS = ("ccg_responsibility", "pctcode_his")
# Descriptive codes kept blank when not known (pricing counts a blank department type as unpriced).
HES_NULLABLE = NULLABLE | {"age", "referral_source", "department_type"}


@dataclass
class HesExtract:
    """A HES extract read into the activity layout, with what the mapping did to its rows."""

    kind: ActivityKind
    table: pa.Table
    rows_read: int
    left_out: dict[str, int] = field(default_factory=dict)  # reason -> rows
    unknown_codes: dict[str, dict[str, int]] = field(default_factory=dict)  # HES field -> code -> rows
    kept_blank: dict[str, int] = field(default_factory=dict)  # outturn column -> rows kept with it blank
    admission_methods: list[dict[str, Any]] = field(default_factory=list)  # code, meaning, admission_method, rows
    commissioner_from: dict[str, int] = field(default_factory=dict)  # HES column -> rows
    unpriced: dict[str, int] = field(default_factory=dict)  # reason -> rows


def hes_kind(path: Path) -> ActivityKind:
    """The kind of HES extract ``path`` holds, from its columns."""
    kind = hes.detect_kind(frozenset(csv_header(path)))
    if kind is None:
        raise ProblemsError(
            [Problem(path.name, "not a HES extract: no ADMIDATE and ADMIMETH, APPTDATE or ARRIVALDATE column", 1)],
            f"cannot import {path.name}",
        )
    return kind


def read_hes(path: Path, kind: ActivityKind | None = None, expected: Expected | None = None) -> HesExtract:
    """The HES extract ``path`` (CSV) in the activity layout of ``kind`` (by default, told by its columns).
    Raises ``ProblemsError`` when a required column is missing or a mapped row fails the activity checks."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise ProblemsError([Problem(path.name, "a HES extract must be a .csv file")], f"cannot import {path.name}")
    kind = kind or hes_kind(path)
    found = set(csv_header(path))
    wanted = [*REQUIRED[kind], *(name for name in (*OPTIONAL[kind], *COMMON) if name in found)]
    raw, rows, problems = read_csv_columns(path, dict.fromkeys(wanted, "string"))
    if problems:
        raise ProblemsError(problems, f"cannot import {path.name}")
    columns = {name: _text(raw[name]) for name in wanted}
    extract = HesExtract(kind, pa.table({}), rows_read=len(rows))
    mapped, keep = _MAPPERS[kind](columns, extract)
    _shared(columns, mapped, keep, extract)
    if not pc.any(keep).as_py():
        reasons = "; ".join(f"{rows:,} {reason}" for reason, rows in extract.left_out.items())
        problem = Problem(path.name, f"no rows to import: every row is left out ({reasons})")
        raise ProblemsError([problem], f"cannot import {path.name}")
    mapped = {name: values.filter(keep) for name, values in mapped.items()}
    schema = SCHEMAS[kind]
    findings = Findings(path.name, pc.filter(rows, keep))
    table = validate(mapped, schema, findings, expected or plausible_dates(date.today()), HES_NULLABLE)
    if findings.problems:
        raise ProblemsError(findings.problems, f"cannot import {path.name}")
    if kind is ActivityKind.APC:
        table = table.append_column("primary_diagnosis", pc.utf8_upper(mapped["primary_diagnosis"]))
    extract.table = table
    extract.kept_blank = {
        name: int(table[name].null_count) for name in sorted(HES_NULLABLE & set(schema)) if table[name].null_count
    }
    hrg = "procedure_hrg" if kind is ActivityKind.OP else "hrg"
    if kind is not ActivityKind.OP and table[hrg].null_count:
        extract.unpriced = {hes.NO_HRG_REASON: int(table[hrg].null_count)}
    return extract


def _text(values: Any) -> pa.Array:
    """Trimmed text, blank as null."""
    trimmed = pc.utf8_trim_whitespace(pc.cast(values, pa.string()).combine_chunks())
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _column(columns: Mapping[str, pa.Array], name: str) -> pa.Array:
    length = len(next(iter(columns.values())))
    return columns[name] if name in columns else pa.nulls(length, pa.string())


def _leave_out(keep: pa.Array, mask: pa.Array, reason: str, extract: HesExtract) -> pa.Array:
    """``keep`` less the kept rows in ``mask``, counted under ``reason``."""
    dropped = pc.and_(keep, pc.fill_null(mask, False))
    count = int(pc.sum(dropped).as_py() or 0)
    if count:
        extract.left_out[reason] = extract.left_out.get(reason, 0) + count
    return pc.and_(keep, pc.invert(dropped))


def _mapped(values: pa.Array, table: Mapping[str, str], name: str, keep: pa.Array, extract: HesExtract) -> pa.Array:
    """``values`` through ``table``; codes not in it (blank included) become null, and those among the rows kept
    are listed under the HES field ``name`` with their row counts."""
    keys = pa.array(list(table), pa.string())
    result = pc.take(pa.array(list(table.values()), pa.string()), pc.index_in(values, value_set=keys))
    unknown = Counter(values.filter(pc.and_(keep, pc.is_null(result))).to_pylist())
    if unknown:
        extract.unknown_codes[name] = {
            ("blank" if code is None else code): n for code, n in sorted(unknown.items(), key=str)
        }
    return result


def _date(values: pa.Array) -> pa.Array:
    """HES's null dates (1800-01-01, 1801-01-01) as blank."""
    return pc.if_else(pc.is_in(values, value_set=pa.array(sorted(hes.NULL_DATES))), None, values)


def _age(values: pa.Array) -> pa.Array:
    """Ages in years as text: HES's 7001-7007 (under one year) are 0; ``54.0`` is 54."""
    whole = pc.replace_substring_regex(values, r"\.0*$", "")
    infant = pc.is_in(whole, value_set=pa.array([str(age) for age in hes.UNDER_ONE_YEAR_AGES]))
    return pc.if_else(infant, "0", whole)


def _dates_known(keep: pa.Array, mapped: Mapping[str, pa.Array], names: tuple[str, ...], ex: HesExtract) -> Any:
    for name in names:
        keep = _leave_out(keep, pc.is_null(mapped[name]), f"{name.replace('_', ' ')} not known", ex)
    return keep


def _apc(columns: Mapping[str, pa.Array], extract: HesExtract) -> tuple[dict[str, pa.Array], pa.Array]:
    keep = pa.array([True] * extract.rows_read)
    if "spelend" in columns:
        last = pc.equal(columns["spelend"], "Y")
        keep = _leave_out(keep, pc.invert(last), "episode that does not end its spell (SPELEND not Y)", extract)
    if "epistat" in columns:
        finished = pc.equal(columns["epistat"], "3")
        keep = _leave_out(keep, pc.invert(finished), "unfinished episode (EPISTAT not 3)", extract)
    codes = pc.filter(columns["admimeth"], keep)
    methods = {code: method for code, (_, method) in hes.ADMISSION_METHODS.items()}
    method = _mapped(columns["admimeth"], methods, "ADMIMETH", keep, extract)
    day_case = pc.and_(
        pc.equal(method, hes.ELECTIVE), pc.equal(_column(columns, "classpat"), hes.DAY_CASE_CLASSIFICATION)
    )
    method = pc.if_else(pc.fill_null(day_case, False), AdmissionMethod.DAY_CASE.value, method)
    _admission_methods(codes, pc.filter(method, keep), extract)
    keep = _leave_out(
        keep, pc.is_null(method), "admission method not known, not applicable or not a published code", extract
    )
    mapped = {
        "spell_id": columns["epikey"],
        "admission_method": method,
        "admission_date": _date(columns["admidate"]),
        "discharge_date": _date(columns["disdate"]),
        "length_of_stay": pa.nulls(extract.rows_read, pa.string()),  # from the dates
        "treatment_function": _column(columns, "tretspef"),
        "age": _age(_column(columns, "startage")),
        "primary_diagnosis": _column(columns, "diag_4_01"),
    }
    keep = _dates_known(keep, mapped, ("admission_date", "discharge_date"), extract)
    early = pc.less(mapped["admission_date"], EARLIEST_DATE.isoformat())
    keep = _leave_out(keep, early, f"admitted before {EARLIEST_DATE} (the earliest activity outturn holds)", extract)
    return mapped, keep


def _admission_methods(codes: pa.Array, methods: pa.Array, extract: HesExtract) -> None:
    """Every ADMIMETH code among the rows still kept: its meaning, outturn's admission method and rows."""
    counts = Counter(zip(codes.to_pylist(), methods.to_pylist(), strict=True))
    for (code, method), rows in sorted(counts.items(), key=lambda item: (str(item[0][0]), str(item[0][1]))):
        known = hes.ADMISSION_METHODS.get(code)
        meaning = known[0] if known else hes.ADMISSION_METHODS_UNKNOWN.get(code, "not a published code")
        extract.admission_methods.append({"code": code, "meaning": meaning, "admission_method": method, "rows": rows})


def _op(columns: Mapping[str, pa.Array], extract: HesExtract) -> tuple[dict[str, pa.Array], pa.Array]:
    keep = pa.array([True] * extract.rows_read)
    if "attended" in columns:
        seen = pc.is_in(columns["attended"], value_set=pa.array(sorted(hes.ATTENDED)))
        keep = _leave_out(
            keep, pc.invert(seen), "not attended: did not attend or cancelled (ATTENDED not 5 or 6)", extract
        )
    attendance = _mapped(columns["firstatt"], hes.FIRST_ATTENDANCE, "FIRSTATT", keep, extract)
    keep = _leave_out(keep, pc.is_null(attendance), "first attendance code not in the published table", extract)
    mapped = {
        "attendance_id": columns["attendkey"],
        "attendance_date": _date(columns["apptdate"]),
        "attendance_type": attendance,
        "treatment_function": _column(columns, "tretspef"),
        "procedure_hrg": _column(columns, "sushrg"),
        "referral_source": _mapped(_column(columns, "refsourc"), hes.REFERRAL_SOURCES, "REFSOURC", keep, extract),
        "age": _age(_column(columns, "apptage")),
    }
    return mapped, _dates_known(keep, mapped, ("attendance_date",), extract)


def _ae(columns: Mapping[str, pa.Array], extract: HesExtract) -> tuple[dict[str, pa.Array], pa.Array]:
    keep = pa.array([True] * extract.rows_read)
    mapped = {
        "attendance_id": columns["aekey"],
        "arrival_date": _date(columns["arrivaldate"]),
        "department_type": _mapped(_column(columns, "aedepttype"), hes.DEPARTMENT_TYPES, "AEDEPTTYPE", keep, extract),
        "hrg": _column(columns, "sushrg"),
        "age": _age(_column(columns, "arrivalage")),
    }
    return mapped, _dates_known(keep, mapped, ("arrival_date",), extract)


def _shared(columns: Mapping[str, pa.Array], mapped: dict[str, pa.Array], keep: pa.Array, extract: HesExtract) -> None:
    """Provider, commissioner, practice, patient and (admitted care and A&E) HRG, the same in every kind."""
    practice = _column(columns, "gpprac")
    no_practice = pc.is_in(practice, value_set=pa.array(sorted(hes.NO_PRACTICE)))
    commissioner = pa.nulls(extract.rows_read, pa.string())
    for name in COMMISSIONER_COLUMNS:
        if name in columns:
            taken = pc.and_(keep, pc.and_(pc.is_null(commissioner), pc.is_valid(columns[name])))
            if pc.any(taken).as_py():
                extract.commissioner_from[name.upper()] = int(pc.sum(taken).as_py())
            commissioner = pc.coalesce(commissioner, columns[name])
    treatment = mapped.get("treatment_function")
    if treatment is not None:
        mapped["treatment_function"] = pc.if_else(
            pc.is_in(treatment, value_set=pa.array(sorted(hes.NOT_KNOWN))), None, treatment
        )
    mapped |= {
        "provider": columns["procode3"],
        "commissioner": commissioner,
        "practice": pc.if_else(no_practice, None, practice),
        "patient_id": _column(columns, "pseudo_hesid"),
    }
    if extract.kind is ActivityKind.APC:
        mapped["hrg"] = _column(columns, "sushrg")


_MAPPERS = {ActivityKind.APC: _apc, ActivityKind.OP: _op, ActivityKind.AE: _ae}
