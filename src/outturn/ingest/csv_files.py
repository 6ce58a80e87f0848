"""CSV files as people save them: the encoding told from the bytes, records read strictly, faults named by row.

Encodings: UTF-8 (with or without a byte-order mark), UTF-16 (with a byte-order mark, as Excel's "Unicode text"
writes it, or without one when every other byte is zero) and Windows-1252 (Excel's "CSV" on a UK Windows PC: ``£``
is the byte A3; Latin-1 files read the same). Anything else is a fault naming the row, with the fix.

Quotes are read strictly: a quote that is never closed (which would swallow the rows after it into one cell) is a
fault naming the row where it opened. A cell longer than ``MAX_CELL_CHARS`` is a fault naming its row and column.
Row numbers are records as a spreadsheet shows them: the first line is row 1.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from outturn.domain.problems import Problem, ProblemsError, file_fault

MAX_CELL_CHARS = 131_072  # the csv module's own limit (csv.field_size_limit()); a longer cell is a fault
SAVE_AS_UTF8 = "save it from Excel as 'CSV UTF-8 (Comma delimited)'"
_SNIFF_BYTES = 65_536

# Python codec -> what a person is told
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (with byte-order mark)",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16 (little-endian, no byte-order mark)",
    "utf-16-be": "UTF-16 (big-endian, no byte-order mark)",
    "cp1252": "Windows-1252",
}


@dataclass(frozen=True)
class CsvRecords:
    """A CSV file's records (the first line is record 1) and the encoding it was read in (``ENCODING_LABELS``)."""

    source: str
    records: tuple[list[str], ...]
    encoding: str


def encoding_from_head(head: bytes) -> str | None:
    """The codec the first bytes of a file announce (a byte-order mark, or UTF-16's zero bytes), else None."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" not in head:
        return None
    sample = head[: len(head) - len(head) % 2]
    if sample[1::2].count(0) >= 0.9 * (len(sample) // 2):
        return "utf-16-le"
    if sample[0::2].count(0) >= 0.9 * (len(sample) // 2):
        return "utf-16-be"
    return "binary"


def decode_text(source: str, data: bytes) -> tuple[str, str]:
    """``data`` as text, and the codec that read it: see the module's docstring for the order tried."""
    announced = encoding_from_head(data[:_SNIFF_BYTES])
    if announced == "binary":
        raise file_fault(source, f"not a text file (it holds zero bytes): {SAVE_AS_UTF8}")
    for codec in (announced,) if announced else ("utf-8", "cp1252"):
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError as error:
            failure = error
    row = data.count(b"\n", 0, failure.start) + 1
    reason = f"cannot read the text as {ENCODING_LABELS[codec]}: byte {failure.object[failure.start]:#04x}"
    if not announced:
        reason = f"not UTF-8, UTF-16 or Windows-1252 text (byte {failure.object[failure.start]:#04x})"
    raise file_fault(source, f"{reason}: {SAVE_AS_UTF8}", row)


def sniff_encoding(source: str, head: bytes) -> str:
    """The codec for a file too large to decode whole, from its first bytes: a byte-order mark or UTF-16's zero
    bytes, else UTF-8 when they are UTF-8 (a character cut at the end is fine), else Windows-1252."""
    announced = encoding_from_head(head)
    if announced == "binary":
        raise file_fault(source, f"not a text file (it holds zero bytes): {SAVE_AS_UTF8}")
    if announced is not None:
        return announced
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def read_csv_records(path: Path) -> CsvRecords:
    """Every record of ``path``; raises ``ProblemsError`` naming the row for an unclosed quote, an overlong
    cell, or text in no known encoding."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise file_fault(path.name, f"cannot read the file: {error.strerror or error}") from None
    text, codec = decode_text(path.name, data)
    records = tuple(csv_records(path.name, io.StringIO(text, newline=""), text))
    return CsvRecords(path.name, records, ENCODING_LABELS[codec])


def csv_records(source: str, lines: Iterable[str], text: str | None = None) -> Iterator[list[str]]:
    """The records of a CSV text (``lines`` from a file opened with ``newline=""``; ``text``, when the whole text
    is at hand, lets an overlong cell be named by column), read strictly; a fault raises ``ProblemsError`` naming
    the record (row) where it starts."""
    reader = csv.reader(lines, strict=True)
    header: list[str] = []
    number = 0
    try:
        for record in reader:
            number += 1
            if number == 1:
                header = record
            yield record
    except csv.Error as error:
        line = text.splitlines()[reader.line_num - 1] if text and reader.line_num else ""
        raise _csv_fault(source, number + 1, str(error), header, line) from None


def _csv_fault(source: str, row: int, message: str, header: list[str], line: str) -> ProblemsError:
    column: str | None = None
    if "field larger than field limit" in message:
        long_cells = [index for index, cell in enumerate(line.split(",")) if len(cell) > MAX_CELL_CHARS]
        if long_cells and long_cells[0] < len(header):
            column = header[long_cells[0]] or None
        reason = f"a cell is longer than {MAX_CELL_CHARS:,} characters: is this the right file?"
    elif "unexpected end of data" in message or "expected after" in message:
        reason = (
            "a quote opened in this row is not closed where the cell ends, so the rows after it would be read "
            "into one cell: close the quote, or remove it"
        )
    else:
        reason = f"cannot read the CSV: {message}"
    return ProblemsError([Problem(source, reason, row=row, column=column)], f"cannot import {source}")


def swallowed_rows(record: list[str], width: int) -> int | None:
    """The index of a cell of ``record`` that holds a line break followed by what looks like a whole row of
    ``width`` cells (a quote left open that the strict reader could not catch), else None."""
    for index, cell in enumerate(record):
        if "\n" in cell and any(line.count(",") >= width - 1 > 0 for line in cell.splitlines()[1:]):
            return index
    return None


def too_many_fields(source: str, records: tuple[list[str], ...], header_index: int) -> list[Problem]:
    """A problem for each record below the header with more fields than the header (an unquoted comma shifts
    every cell after it: ``£1,288,339.00`` would be read as £1 and two more cells), and for a cell that
    swallowed whole rows."""
    width = len(records[header_index])
    problems: list[Problem] = []
    for number, record in enumerate(records[header_index + 1 :], start=header_index + 2):
        if len(record) > width:
            reason = (
                f"{len(record)} fields but the header has {width}: probably an unquoted comma "
                "(in an amount like 1,234.00 or in a text): quote the cell or remove the comma"
            )
            problems.append(Problem(source, reason, row=number))
        swallowed = swallowed_rows(record, width)
        if swallowed is not None:
            reason = "this cell holds line breaks and what look like whole rows: probably a quote left open"
            column = records[header_index][swallowed] if swallowed < width else ""
            problems.append(Problem(source, reason, row=number, column=column or None))
    return problems
