"""The national tariff (Payment by Results prices) from the official extracts, as tables in the domain layouts.

Reads, for 2017/18 and 2018/19, the CSV extracts of the 2017/19 National Tariff Payment System Annex B1 workbook
(``prices/national_tariff/`` under the reference-data directory): admitted patient care and outpatient procedure
prices (``nt1718_apc_oproc.csv``), outpatient attendance prices by treatment function
(``nt1718_op_attendances.csv``), A&E prices (``nt1718_ae.csv``) and the market forces factor by provider
(``nt1719_mff_values.csv``, the same for both years). ``read_workbook_apc`` reads the APC layout straight from the
workbook itself, to check the extracts against it.

Conventions of the published sheets: ``-`` means "no price" (null); rows of notes whose first cell starts with
``*`` sit below the prices and are skipped; prices are whole pounds (pence are read exactly where given); the MFF
payment index is given to 6 decimal places and held as integer millionths. Every bad cell is reported (file, row,
column, reason) and nothing is returned until the whole file is clean.

Every file is read with the one table reader (``ingest.tables.read_layout``: its header policy, note rows and
checks); this module holds only the tariff's columns and its cell rules (``_Row``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pyarrow as pa

from outturn.domain.errors import BadInput
from outturn.domain.money import MoneyError, Pence, parse_money
from outturn.domain.periods import FinancialYear
from outturn.domain.problems import Problem, ProblemsError
from outturn.domain.tariff import MFF_SCALE, MFF_SCHEMA, TARIFF_AE_SCHEMA, TARIFF_APC_SCHEMA, TARIFF_OP_SCHEMA
from outturn.ingest.tables import Column, RawTable, RowReader, earlier_row, read_layout, text_of

TARIFF_SUBDIRECTORY = Path("prices") / "national_tariff"
TARIFF_WORKBOOK = "1718_Annex_B1_national_tariff_workbook.xlsx"


@dataclass(frozen=True)
class TariffFiles:
    """The extract files that hold one year's prices."""

    apc: str
    op: str
    ae: str
    mff: str
    workbook_apc_sheet: str


TARIFF_FILES: Mapping[int, TariffFiles] = MappingProxyType(
    {
        2017: TariffFiles(
            "nt1718_apc_oproc.csv",
            "nt1718_op_attendances.csv",
            "nt1718_ae.csv",
            "nt1719_mff_values.csv",
            "1a APC & OPROC 17.18",
        ),
        2018: TariffFiles(
            "nt1819_apc_oproc.csv",
            "nt1819_op_attendances.csv",
            "nt1819_ae.csv",
            "nt1719_mff_values.csv",
            "1b APC & OPROC 18.19",
        ),
    }
)

HEADER_SEARCH_ROWS = 20
NO_PRICE = "-"
MFF_DECIMALS = 6
# Excel keeps 15 significant digits; a payment index written out with more (1.0565419999999999) carries a binary
# floating-point artefact, and is read at Excel's precision (1.056542) before its decimals are checked.
EXCEL_SIGNIFICANT_DIGITS = 15

_HRG_CODE = re.compile(r"[A-Z]{2}\d{2}[A-Z]")
_TREATMENT_FUNCTION = re.compile(r"\d{3}")
_PROVIDER_CODE = re.compile(r"[A-Z0-9]{3,5}")
_DAYS = re.compile(r"\d+")
_INDEX = re.compile(r"[-+]?\d+(?:\.\d+)?")


class TariffYearError(BadInput):
    """A financial year for which no national tariff is held; the message lists the years that are."""


@dataclass(frozen=True)
class Tariff:
    """One year's national tariff: four tables in the layouts of ``outturn.domain.tariff``."""

    year: FinancialYear
    apc: pa.Table  # TARIFF_APC_SCHEMA
    op: pa.Table  # TARIFF_OP_SCHEMA
    ae: pa.Table  # TARIFF_AE_SCHEMA
    mff: pa.Table  # MFF_SCHEMA


def available_years() -> tuple[FinancialYear, ...]:
    return tuple(FinancialYear(start) for start in sorted(TARIFF_FILES))


def tariff_year(year: FinancialYear | str | int) -> FinancialYear:
    """``2018/19``, ``2018-19``, ``2018`` or a ``FinancialYear``, checked against the years held."""
    chosen = year if isinstance(year, FinancialYear) else FinancialYear.parse(year)
    if chosen.start_year not in TARIFF_FILES:
        held = ", ".join(str(available) for available in available_years())
        raise TariffYearError(f"no national tariff is held for {chosen}: the years available are {held}")
    return chosen


def tariff_directory(reference_dir: Path) -> Path:
    """``prices/national_tariff`` under the reference-data directory, or the directory itself if it holds the files."""
    nested = reference_dir / TARIFF_SUBDIRECTORY
    return nested if nested.is_dir() else reference_dir


def load_tariff(reference_dir: Path, year: FinancialYear | str | int) -> Tariff:
    """The national tariff for ``year`` (2017/18 or 2018/19) read from the extracts under ``reference_dir``.

    Raises ``TariffYearError`` for a year not held and ``ProblemsError`` (every fault: file, row, column, reason)
    for a missing file or a malformed cell.
    """
    chosen = tariff_year(year)
    files = TARIFF_FILES[chosen.start_year]
    directory = tariff_directory(reference_dir)
    missing = [name for name in (files.apc, files.op, files.ae, files.mff) if not (directory / name).is_file()]
    if missing:
        raise ProblemsError(
            [Problem(name, f"file not found in {directory}") for name in missing],
            f"cannot load the {chosen} national tariff",
        )
    problems: list[Problem] = []
    tables: list[pa.Table | None] = []
    for name, reader in (
        (files.apc, _apc_rows),
        (files.op, _op_rows),
        (files.ae, _ae_rows),
        (files.mff, _mff_rows),
    ):
        try:
            tables.append(reader(directory / name, chosen.start_year))
        except ProblemsError as error:
            problems.extend(error.problems)
            tables.append(None)
    if problems:
        raise ProblemsError(problems, f"cannot load the {chosen} national tariff")
    apc, op, ae, mff = tables
    assert apc is not None and op is not None and ae is not None and mff is not None
    return Tariff(chosen, apc, op, ae, mff)


def read_workbook_apc(workbook: Path, sheet: str, year: FinancialYear | str | int | None = None) -> pa.Table:
    """The APC & OPROC prices read straight from a sheet of the Annex B1 workbook, in TARIFF_APC_SCHEMA.

    The header row is found by its ``HRG code`` cell (title rows sit above it). The year is ``year`` when given,
    else read from the sheet name (``1a APC & OPROC 17.18`` is 2017/18).
    """
    if year is None:
        start_year = _sheet_year(workbook.name, sheet)
    else:
        start_year = (year if isinstance(year, FinancialYear) else FinancialYear.parse(year)).start_year
    return _apc_rows(workbook, start_year, sheet=sheet, header_search=HEADER_SEARCH_ROWS)


def _sheet_year(source: str, sheet: str) -> int:
    match = re.search(r"(\d{2})\.(\d{2})\s*$", sheet)
    if match is None or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ProblemsError(
            [Problem(source, "cannot tell the financial year from the sheet name: give the year", sheet=sheet)],
            f"cannot read {source}",
        )
    return 2000 + int(match.group(1))


# --- rows: the tariff's cell rules on the one table reader ---------------------------------------------------------


class _Row(RowReader):
    """One price row; each bad cell adds a problem naming the row and the column as published."""

    def code(self, key: str, pattern: re.Pattern[str], what: str) -> str | None:
        text = self.text(key).upper()
        if not text:
            self.fault(f"a {what} is required", key)
            return None
        if pattern.fullmatch(text) is None:
            self.fault(f"not a {what}: {text!r}", key)
            return None
        return text

    def name(self, key: str) -> str | None:
        text = " ".join(self.text(key).split())
        if not text:
            self.fault("a name is required", key)
            return None
        return text

    def _absent(self, key: str, *, blank_is_none: bool) -> bool:
        """True where the cell holds no value: ``-`` always, blank only where ``blank_is_none``."""
        text = self.text(key)
        if text == NO_PRICE:
            return True
        if not text:
            if not blank_is_none:
                self.fault(f"a value is required (write {NO_PRICE!r} where there is none)", key)
            return True
        return False

    def price(self, key: str, *, blank_is_none: bool = False) -> Pence | None:
        if self._absent(key, blank_is_none=blank_is_none):
            return None
        raw = self.cells.get(key)
        try:
            pence = parse_money(raw.strip() if isinstance(raw, str) else raw)
        except MoneyError as error:
            self.fault(str(error), key)
            return None
        if pence < 0:
            self.fault(f"a price cannot be negative: {text_of(raw)!r}", key)
            return None
        return pence

    def days(self, key: str) -> int | None:
        if self._absent(key, blank_is_none=False):
            return None
        raw = self.cells.get(key)
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            return raw
        text = self.text(key)
        if _DAYS.fullmatch(text) is None:
            self.fault(f"not a whole number of days: {text!r}", key)
            return None
        return int(text)

    def yes_no(self, key: str) -> bool | None:
        text = self.text(key).lower()
        if text in ("yes", "y"):
            return True
        if text in ("no", "n"):
            return False
        self.fault(f"expected Yes or No, not {self.text(key)!r}", key)
        return None

    def index_millionths(self, key: str) -> int | None:
        text = self.text(key)
        if not text:
            self.fault("a payment index value is required", key)
            return None
        if _INDEX.fullmatch(text) is None:
            self.fault(f"not a payment index value: {text!r}", key)
            return None
        value = Decimal(text)
        if len(value.as_tuple().digits) > EXCEL_SIGNIFICANT_DIGITS:
            with localcontext() as context:
                context.prec = EXCEL_SIGNIFICANT_DIGITS
                value = +value
        value = value.normalize()
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -MFF_DECIMALS:
            self.fault(f"more than {MFF_DECIMALS} decimal places in the payment index: {text!r}", key)
            return None
        if value <= 0:
            self.fault(f"the payment index must be above zero, not {text!r}", key)
            return None
        return int(value * MFF_SCALE)


def _read_rows(
    table: RawTable,
    build: Callable[[_Row], dict[str, Any]],
    key_of: Callable[[dict[str, Any]], object],
    schema: Mapping[str, str],
) -> pa.Table:
    first = table.columns[0]
    records: list[dict[str, Any]] = []
    problems: list[Problem] = []
    seen: dict[object, int] = {}
    for number, cells in table.rows:
        row = _Row(table, number, cells)
        record = build(row)
        problems.extend(row.problems)
        if row.problems:
            continue
        key = key_of(record)
        if (earlier := earlier_row(seen, key, number)) is not None:
            problems.append(table.problem(f"{key} appears more than once (first on row {earlier})", number, first))
            continue
        records.append(record)
    if problems:
        raise ProblemsError(problems, f"cannot load {table.source}")
    if not records:
        raise ProblemsError([table.problem("no prices below the header", table.header_row)])
    return _arrow(records, schema)


def _arrow(records: list[dict[str, Any]], schema: Mapping[str, str]) -> pa.Table:
    types = {"int64": pa.int64(), "string": pa.string()}
    arrow_schema = pa.schema([(name, types[kind]) for name, kind in schema.items()])
    return pa.table({name: [record[name] for record in records] for name in schema}, schema=arrow_schema)


# --- the four price lists ---------------------------------------------------------------------------------------

_APC_COLUMNS = (
    Column("hrg", "HRG code"),
    Column("hrg_name", "HRG name"),
    Column("op_procedure", "Outpatient procedure tariff (£)"),
    Column("combined", "Combined day case / ordinary elective spell tariff (£)"),
    Column("day_case", "Day case spell tariff (£)"),
    Column("elective", "Ordinary elective spell tariff (£)"),
    Column("elective_trim", "Ordinary elective long stay trim point (days)"),
    Column("non_elective", "Non-elective spell tariff (£)"),
    Column("non_elective_trim", "Non-elective long stay trim point (days)"),
    Column("excess_bed_day", "Per day long stay payment (for days exceeding trim point) (£)"),
    Column("short_stay_applies", "Reduced short stay emergency tariff applicable?"),
    Column("short_stay", "Reduced short stay emergency tariff (£)"),
)


def _apc_rows(path: Path, year: int, *, sheet: str | None = None, header_search: int | None = None) -> pa.Table:
    def build(row: _Row) -> dict[str, Any]:
        combined = row.price("combined", blank_is_none=True)
        day_case = row.price("day_case", blank_is_none=True)
        elective = row.price("elective", blank_is_none=True)
        short_stay = None
        if row.yes_no("short_stay_applies"):
            if row.text("short_stay") in ("", NO_PRICE):
                row.fault("the reduced short-stay tariff applies (Yes) but no price is given", "short_stay")
            else:
                short_stay = row.price("short_stay")
        return {
            "year": year,
            "hrg": row.code("hrg", _HRG_CODE, "HRG code"),
            "hrg_name": row.name("hrg_name"),
            "elective_pence": elective if elective is not None else combined,
            "day_case_pence": day_case if day_case is not None else combined,
            "elective_trim_days": row.days("elective_trim"),
            "non_elective_pence": row.price("non_elective"),
            "non_elective_trim_days": row.days("non_elective_trim"),
            "excess_bed_day_pence": row.price("excess_bed_day"),
            "short_stay_pence": short_stay,
            "op_procedure_pence": row.price("op_procedure", blank_is_none=True),
        }

    table = read_layout(path, _APC_COLUMNS, sheet=sheet, header_search=header_search, notes=True)
    return _read_rows(table, build, lambda record: record["hrg"], TARIFF_APC_SCHEMA)


_OP_COLUMNS = (
    Column("treatment_function", "Treatment function code"),
    Column("treatment_function_name", "Treatment function description"),
    Column("first", "WF01B First Attendance - Single Professional"),
    Column("first_multi", "WF02B First Attendance - Multi Professional"),
    Column("follow_up", "WF01A Follow Up Attendance - Single Professional"),
    Column("follow_up_multi", "WF02A Follow Up Attendance - Multi Professional"),
)


# look-alike of _apc_rows (shape only): declarative, keyword fields or columns, one per attribute.
def _op_rows(path: Path, year: int) -> pa.Table:
    def build(row: _Row) -> dict[str, Any]:
        return {
            "year": year,
            "treatment_function": row.code("treatment_function", _TREATMENT_FUNCTION, "treatment function code"),
            "treatment_function_name": row.name("treatment_function_name"),
            "first_pence": row.price("first"),
            "follow_up_pence": row.price("follow_up"),
            "first_multi_pence": row.price("first_multi"),
            "follow_up_multi_pence": row.price("follow_up_multi"),
        }

    table = read_layout(path, _OP_COLUMNS, notes=True)
    return _read_rows(table, build, lambda record: record["treatment_function"], TARIFF_OP_SCHEMA)


_AE_COLUMNS = (
    Column("hrg", "HRG code"),
    Column("hrg_name", "HRG name"),
    Column("type_1_2", "Type 1 and 2 Departments"),
    Column("type_3", "Type 3 Departments"),
)


def _ae_rows(path: Path, year: int) -> pa.Table:
    def build(row: _Row) -> dict[str, Any]:
        return {
            "year": year,
            "hrg": row.code("hrg", _HRG_CODE, "HRG code"),
            "hrg_name": row.name("hrg_name"),
            "type_1_2_pence": row.price("type_1_2"),
            "type_3_pence": row.price("type_3"),
        }

    return _read_rows(read_layout(path, _AE_COLUMNS, notes=True), build, lambda record: record["hrg"], TARIFF_AE_SCHEMA)


_MFF_COLUMNS = (
    Column("provider", "Provider Code"),
    Column("provider_name", "Provider Name"),
    Column("mff", "Payment index value", prefix=True),
)


def _mff_rows(path: Path, _year: int) -> pa.Table:
    def build(row: _Row) -> dict[str, Any]:
        return {
            "provider": row.code("provider", _PROVIDER_CODE, "provider code"),
            "provider_name": row.name("provider_name"),
            "mff_millionths": row.index_millionths("mff"),
        }

    return _read_rows(read_layout(path, _MFF_COLUMNS, notes=True), build, lambda record: record["provider"], MFF_SCHEMA)
