"""Hospital activity extracts (SUS/SLAM style) from CSV or parquet, validated whole and vectorised.

``read_activity`` returns a table in the domain layout (``outturn.domain.activity``: column order, dates as
date32, whole numbers as int64, codes as their canonical values) or raises ``ProblemsError`` with one problem per
kind of fault, each giving how many rows it affects and up to five example rows, e.g.
``1,204 rows: discharge date before admission date (dates out of order) (e.g. row 17: admitted 2018-05-03,
discharged 2018-05-01; …)``. Row numbers are as the user sees them: the header is row 1 of a CSV, and the first
record of a parquet file is row 1.

Column names match whatever their case and spacing (``Spell ID`` is ``spell_id``); extra columns are ignored.
Rows of a CSV that are wholly blank are skipped. A blank length of stay is taken from the dates.
Dates lie from 2000-04-01 to the end of the current financial year; given what a workspace holds
(``activity_checks.Expected``), activity dates fall in a contract year held and provider, commissioner and practice
codes are organisations held of their kind.
``write_activity`` writes parquet atomically, so a failed write never leaves a half-written file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from datetime import date
from functools import reduce
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from outturn.domain.activity import SCHEMAS, ActivityKind
from outturn.domain.problems import Problem, ProblemsError
from outturn.ingest.activity_checks import EXAMPLES, Expected, Findings, counted, plausible_dates, validate
from outturn.ingest.csv_files import ENCODING_LABELS, MAX_CELL_CHARS, SAVE_AS_UTF8, csv_records, sniff_encoding
from outturn.ingest.tables import canonical_name

CSV_SUFFIXES = frozenset({".csv"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
_PEEK_BYTES = 65_536
_ARROW_ENCODINGS = {"utf-8": "utf8", "utf-8-sig": "utf8"}  # pyarrow reads UTF-8 natively, skipping a BOM


def read_activity(path: Path, kind: ActivityKind, expected: Expected | None = None) -> pa.Table:
    """The activity in ``path`` (``.csv`` or ``.parquet``) as a table in the layout of ``kind``.

    ``expected``: the codes and dates allowed (``activity_checks.Expected``); by default any code, and dates from
    2000-04-01 to the end of the current financial year. Raises ``ProblemsError`` (nothing returned) when any row
    or the file itself is at fault.
    """
    schema = SCHEMAS[ActivityKind(kind)]
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES | PARQUET_SUFFIXES:
        _fail(path, "unsupported file type: expected .csv or .parquet")
    if not path.exists():
        _fail(path, "no such file")
    if path.is_file() and path.stat().st_size == 0:
        _fail(path, "the file is empty")
    if suffix in CSV_SUFFIXES:
        raw, rows, problems = read_csv_columns(path, schema)
    else:
        raw, rows, problems = _read_parquet(path, schema)
    findings = Findings(path.name, rows, problems)
    table = validate(raw, schema, findings, expected or plausible_dates(date.today()))
    if findings.problems:
        raise ProblemsError(findings.problems, f"cannot import {path.name}")
    return table


def write_activity(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` as parquet: to a temporary file beside it, then renamed over it."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as sink:
            pq.write_table(table, sink)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _fail(path: Path, reason: str, row: int | None = None) -> NoReturn:
    raise ProblemsError([Problem(path.name, reason, row=row)], f"cannot import {path.name}")


def _columns(found: list[str], schema: Mapping[str, str], path: Path, header_row: int | None) -> None:
    """Raises for wanted columns that are missing or appear twice; extra columns are fine."""
    twice = sorted({name for name in found if name in schema and found.count(name) > 1})
    if twice:
        _fail(path, f"column(s) appear more than once: {', '.join(twice)}", header_row)
    missing = [name for name in schema if name not in found]
    if missing:
        shown = ", ".join(name for name in found if name) or "nothing"
        _fail(path, f"missing column(s): {', '.join(missing)} (found: {shown})", header_row)


# CSV ---------------------------------------------------------------------------------------------------------


def csv_header(path: Path) -> list[str]:
    """The first line's column names (a large extract's header, read without reading the rest)."""
    encoding = _encoding(path)
    with path.open(encoding=encoding, newline="") as handle:
        try:
            header = next(csv_records(path.name, handle), [])
        except UnicodeDecodeError:
            _fail(path, f"the header is not {ENCODING_LABELS[encoding]} text: {SAVE_AS_UTF8}", 1)
        if not any(cell.strip() for cell in header):
            rest = handle.read(_PEEK_BYTES)
            _fail(path, "row 1 is blank: the header must be on row 1" if rest.strip() else "the file is empty", 1)
    return [canonical_name(cell) for cell in header]


def _encoding(path: Path) -> str:
    with path.open("rb") as handle:
        return sniff_encoding(path.name, handle.read(_PEEK_BYTES))


def _csv_table(
    path: Path, names: list[str], wanted: list[str], threads: bool, encoding: str
) -> tuple[pa.Table, list[Any]]:
    skipped: list[Any] = []

    def skip(row: Any) -> str:
        skipped.append(row)
        return "skip"

    table = pa_csv.read_csv(
        path,
        read_options=pa_csv.ReadOptions(
            column_names=names, skip_rows=1, use_threads=threads, encoding=_ARROW_ENCODINGS.get(encoding, encoding)
        ),
        parse_options=pa_csv.ParseOptions(ignore_empty_lines=False, invalid_row_handler=skip),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(wanted, pa.string()), include_columns=wanted, strings_can_be_null=False
        ),
    )
    return table, skipped


def read_csv_columns(path: Path, schema: Mapping[str, str]) -> tuple[dict[str, Any], Any, list[Problem]]:
    """A large CSV read by pyarrow as text, keeping only ``schema``'s columns: those columns, each row's line
    number in the file, and the problems found (ragged rows); a missing column or an empty file fails at once.
    Blank lines are dropped. The caller's vectorised checks then parse and validate the text."""
    found = csv_header(path)
    _columns(found, schema, path, 1)
    names = [name if name in schema else f"__ignored_{index}" for index, name in enumerate(found)]
    wanted = list(schema)
    table, skipped = _csv_text(path, names, wanted, _encoding(path))
    problems: list[Problem] = []
    ragged = sorted((row.number, f"{row.actual_columns} fields") for row in skipped if row.text.strip())
    if ragged:
        reason = f"wrong number of fields (the header has {len(names)})"
        problems.append(Problem(path.name, counted(len(ragged), reason, ragged[:EXAMPLES])))
    # Row i of the table sits on line i + 2, moved down by every skipped line above it; whitespace-only lines
    # are skipped too, and count as lines.
    every = np.array(sorted(row.number for row in skipped), dtype=np.int64)
    thresholds = every - 1 - np.arange(1, len(every) + 1)
    index = np.arange(table.num_rows, dtype=np.int64)
    rows = pa.array(index + 2 + np.searchsorted(thresholds, index, side="right"))
    _refuse_long_cells(path, table, wanted, rows)
    if table.num_rows:
        blank = reduce(pc.and_, [pc.equal(pc.utf8_trim_whitespace(table[name]), "") for name in wanted])
        table, rows = table.filter(pc.invert(blank)), rows.filter(pc.invert(blank))
    if table.num_rows == 0 and not problems:
        _fail(path, "the file has a header but no data rows", 1)
    return {name: table[name] for name in wanted}, rows, problems


def _csv_text(path: Path, names: list[str], wanted: list[str], encoding: str) -> tuple[pa.Table, list[Any]]:
    """The wanted columns as text, and the rows pyarrow skipped; a file that is not UTF-8 after all (a ``£``
    beyond the first 64 KB) is read again as Windows-1252, and a row too long to read is found and named."""
    try:
        table, skipped = _csv_table(path, names, wanted, True, encoding)
        if skipped:  # line numbers of skipped rows are only known when parsing on one thread
            table, skipped = _csv_table(path, names, wanted, False, encoding)
    except pa.ArrowInvalid as error:
        if "UTF8" in str(error) and encoding == "utf-8":
            return _csv_text(path, names, wanted, "cp1252")
        if "straddl" in str(error):  # a row longer than pyarrow's block: find it with the strict reader
            with path.open(encoding=encoding, newline="") as handle:
                for _record in csv_records(path.name, handle):
                    pass
            _fail(path, "a row is longer than 1 MB: is this the right file?")
        _fail(path, f"cannot read the CSV: {error}")
    except UnicodeDecodeError as error:
        _fail(path, f"not {ENCODING_LABELS[encoding]} text (byte {error.object[error.start]:#04x}): {SAVE_AS_UTF8}")
    return table, skipped


def _refuse_long_cells(path: Path, table: pa.Table, wanted: list[str], rows: pa.Array) -> None:
    """Raises for cells longer than the strict reader allows, naming the first such row of each column."""
    problems = []
    for name in wanted:
        too_long = pc.greater(pc.utf8_length(table[name]), MAX_CELL_CHARS)
        if table.num_rows and pc.any(too_long).as_py():
            row = rows[pc.index(too_long, True).as_py()].as_py()
            reason = f"a cell is longer than {MAX_CELL_CHARS:,} characters: is this the right file?"
            problems.append(Problem(path.name, reason, row=row, column=name))
    if problems:
        raise ProblemsError(problems, f"cannot import {path.name}")


# Parquet -----------------------------------------------------------------------------------------------------


def _read_parquet(path: Path, schema: Mapping[str, str]) -> tuple[dict[str, Any], Any, list[Problem]]:
    try:
        names = pq.read_schema(path).names
        found = [canonical_name(name) for name in names]
        _columns(found, schema, path, None)
        original = {canonical: name for canonical, name in zip(found, names, strict=True) if canonical in schema}
        table = pq.read_table(path, columns=[original[name] for name in schema])
    except (pa.ArrowException, OSError) as error:
        _fail(path, f"not a complete parquet file (it may be truncated, corrupt or still being written): {error}")
    if table.num_rows == 0:
        _fail(path, "the file has no records")
    rows = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    return {name: table[original[name]] for name in schema}, rows, []
