"""Practice prescribing files: the English Prescribing Dataset (EPD) and the legacy practice-level layout (PDPI).

Both are CSV with one row per practice x BNF presentation (sometimes several: they are summed). ``read_prescribing``
returns the rows in the warehouse layout (``outturn.domain.prescribing.PRESCRIBING_SCHEMA``): one row per month x
practice x presentation, money in integer pence, or raises ``ProblemsError`` with one problem per kind of fault
(how many rows, up to five example rows) and nothing returned. Validation is vectorised (pyarrow.compute), as for
hospital activity (``ingest/activity_checks.py``).

Layouts (column names match ignoring case and spacing):

- **EPD** (NHSBSA, 2014 onwards): ``YEAR_MONTH`` (``201709`` or ``2017_09``), ``PRACTICE_CODE``, ``PRACTICE_NAME``,
  ``BNF_CODE``, ``BNF_DESCRIPTION``, ``ITEMS``, ``TOTAL_QUANTITY``, ``NIC``, ``ACTUAL_COST``. (Its ``QUANTITY`` is
  the quantity of one item: ``TOTAL_QUANTITY`` = items x ``QUANTITY``.)
- **PDPI**, practice-level prescribing before the EPD, in either of its two forms:
  NHSBSA's "Detailed Prescribing Information" (``Practice Code``, ``Practice Name``, ``BNF Code``,
  ``BNF Description``, ``Items``, ``Quantity``, ``NIC``, ``Actual Cost``), with a line per presentation *and pack
  size* whose ``Quantity`` is the quantity of one item (total = items x quantity, which is EPD's
  ``TOTAL_QUANTITY``: checked row by row on OpenPrescribing's real September and October 2017 files); or HSCIC's
  ``T201709PDPI BNFT.CSV`` (``PRACTICE``, ``BNF CODE``, ``BNF NAME``, ``ITEMS``, ``NIC``, ``ACT COST``,
  ``QUANTITY`` the total, ``PERIOD``). Without a ``PERIOD`` column the month comes from the caller or the file
  name (``..._2017_09_...``, ``T201709PDPI``).

Money is read exactly: pounds with up to six decimal places (actual cost has five) become integer millionths of a
pound, are summed per month x practice x presentation, and each sum is rounded once to the penny, half away from
zero. The same rows in either layout therefore give the same pence.

Ranges: items, quantity, NIC and actual cost are zero or more; a month is from 2000-01 to the month after the
current one (``latest_plausible_month``). A value outside them is a fault, never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from outturn.domain.prescribing import BNF_CODE_PATTERN, PRESCRIBING_SCHEMA, FormulationSwap, month_in_name, year_month
from outturn.domain.problems import Problem, ProblemsError
from outturn.ingest.activity import csv_header, read_csv_columns  # the house large-CSV reader
from outturn.ingest.activity_checks import Findings, as_int, as_text, plain, quoted, quoted_text
from outturn.ingest.tables import read_table

MICROS_PER_PENNY = 10_000
_MONEY = r"^-?[0-9]{1,12}(\.[0-9]{1,6})?$"
_NUMBER = r"^-?[0-9]{1,15}(\.[0-9]+)?$"
_PRACTICE = r"^[A-Z0-9]{6}$"
EARLIEST_MONTH = "2000-01"  # well before any practice-level prescribing was published: an earlier month is a typo


# look-alike of domain/activity.py:AdmissionMethod (shape only): declarative, an enumeration's members.
class Layout(StrEnum):
    AUTO = "auto"
    EPD = "epd"
    PDPI = "pdpi"


class _Variant(StrEnum):
    EPD = "epd"
    PDPI_DETAILED = "pdpi"  # NHSBSA "Detailed Prescribing Information": quantity per item, a line per pack size
    PDPI_CLASSIC = "pdpi_classic"  # HSCIC "T201709PDPI BNFT.CSV": total quantity, PERIOD column


# field -> the file's column names that may hold it, in order of preference; fields in _OPTIONAL may be absent.
_SOURCES: Mapping[_Variant, Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        _Variant.EPD: {
            "month": ("year_month",),
            "practice": ("practice_code",),
            "practice_name": ("practice_name",),
            "bnf_code": ("bnf_code",),
            "bnf_name": ("bnf_description",),
            "items": ("items",),
            "quantity": ("total_quantity",),
            "nic": ("nic",),
            "actual_cost": ("actual_cost",),
        },
        _Variant.PDPI_DETAILED: {
            "month": ("period", "year_month"),
            "practice": ("practice_code",),
            "practice_name": ("practice_name",),
            "bnf_code": ("bnf_code",),
            "bnf_name": ("bnf_description",),
            "items": ("items",),
            "quantity": ("quantity",),
            "nic": ("nic",),
            "actual_cost": ("actual_cost",),
        },
        _Variant.PDPI_CLASSIC: {
            "month": ("period",),
            "practice": ("practice",),
            "practice_name": ("practice_name",),
            "bnf_code": ("bnf_code",),
            "bnf_name": ("bnf_name",),
            "items": ("items",),
            "quantity": ("quantity",),
            "nic": ("nic",),
            "actual_cost": ("act_cost", "actual_cost"),
        },
    }
)
_OPTIONAL: Mapping[_Variant, frozenset[str]] = MappingProxyType(
    {
        _Variant.EPD: frozenset({"practice_name"}),
        _Variant.PDPI_DETAILED: frozenset({"month", "practice_name"}),
        _Variant.PDPI_CLASSIC: frozenset({"month", "practice_name"}),
    }
)
_QUANTITY_PER_ITEM = frozenset({_Variant.PDPI_DETAILED})


@dataclass(frozen=True)
class PrescribingFile:
    """A validated file: ``table`` in the warehouse layout, and what was read."""

    table: pa.Table
    layout: Layout
    months: tuple[str, ...]
    source_rows: int


def read_prescribing(path: Path, layout: Layout | str = Layout.AUTO, month: str | None = None) -> PrescribingFile:
    """The prescribing in ``path`` (CSV), one row per month x practice x presentation.

    ``month`` (YYYY-MM) is needed for a PDPI file without a ``PERIOD`` column whose name does not say the month;
    given for a file that has its own month column, it must agree with it."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        _fail(path, "unsupported file type: expected .csv")
    if not path.is_file():
        _fail(path, "no such file")
    if path.stat().st_size == 0:
        _fail(path, "the file is empty")
    wanted = year_month(month) if month else None
    header = csv_header(path)
    variant = _variant(path, header, Layout(layout))
    columns = _columns(path, header, variant)
    raw, rows, problems = read_csv_columns(path, dict.fromkeys(columns.values(), "string"))
    findings = Findings(path.name, rows, problems)
    values = {field: raw[source] for field, source in columns.items()}
    typed = _validate(values, findings, columns)
    if variant in _QUANTITY_PER_ITEM:
        typed["quantity"] = pc.multiply(pc.cast(typed["items"], pa.float64()), typed["quantity"])
    typed["year_month"] = _months(path, values.get("month"), findings, wanted, columns.get("month"))
    _check_plausible_months(typed["year_month"], findings, columns.get("month"))
    if findings.problems:
        raise ProblemsError(findings.problems, f"cannot import {path.name}")
    table = _summed(typed)
    months = tuple(sorted(set(pc.unique(table["year_month"]).to_pylist())))
    chosen = Layout.EPD if variant is _Variant.EPD else Layout.PDPI
    return PrescribingFile(table, chosen, months, len(rows))


def read_formulation_swaps(path: Path) -> tuple[FormulationSwap, ...]:
    """OpenPrescribing's ``formulation_swaps.csv``: the rows marked ``Really equivalent?`` = ``Y``."""
    raw = read_table(
        Path(path),
        required=("code", "alternative_code", "really_equivalent"),
        optional=("formulation", "alternative_formulation"),
    )
    swaps = []
    for _number, cells in raw.rows:
        if str(cells.get("really_equivalent") or "").strip().upper() != "Y":
            continue
        swaps.append(
            FormulationSwap(
                str(cells["code"] or "").strip(),
                str(cells["alternative_code"] or "").strip(),
                str(cells.get("formulation") or "").strip(),
                str(cells.get("alternative_formulation") or "").strip(),
            )
        )
    return tuple(swaps)


def _fail(path: Path, reason: str, row: int | None = None) -> NoReturn:
    raise ProblemsError([Problem(path.name, reason, row=row)], f"cannot import {path.name}")


def _variant(path: Path, header: list[str], layout: Layout) -> _Variant:
    if layout is Layout.EPD or (layout is Layout.AUTO and "total_quantity" in header):
        return _Variant.EPD
    if layout is Layout.PDPI or (layout is Layout.AUTO and "quantity" in header and "bnf_code" in header):
        return _Variant.PDPI_DETAILED if "practice_code" in header else _Variant.PDPI_CLASSIC
    shown = ", ".join(name for name in header if name) or "nothing"
    _fail(
        path,
        f"wrong header: not an EPD file (no total_quantity column) nor a PDPI file (no quantity and bnf_code "
        f"columns) (found: {shown})",
        1,
    )


def _columns(path: Path, header: list[str], variant: _Variant) -> dict[str, str]:
    """field -> the column of the file that holds it; a missing required column stops the import."""
    columns, missing = {}, []
    for field, sources in _SOURCES[variant].items():
        found = next((source for source in sources if source in header), None)
        if found is not None:
            columns[field] = found
        elif field not in _OPTIONAL[variant]:
            missing.append(" or ".join(sources))
    if missing:
        shown = ", ".join(name for name in header if name) or "nothing"
        layout = "EPD" if variant is _Variant.EPD else "PDPI"
        _fail(path, f"wrong header for the {layout} layout: missing {', '.join(missing)} (found: {shown})", 1)
    return columns


def _decimal(values: Any, pattern: str, findings: Findings, column: str, reason: str) -> tuple[Any, Any]:
    """(trimmed text, mask of values that are present and match ``pattern``); bad and blank values flagged."""
    text = as_text(values)
    good = pc.fill_null(pc.match_substring_regex(text, pattern), False)
    findings.flag(pc.and_(pc.is_valid(text), pc.invert(good)), reason, column, quoted_text(values))
    findings.flag(pc.is_null(text), f"blank {column} (a value is required)", column)
    return text, good


def _micros(values: Any, findings: Findings, column: str) -> Any:
    """Pounds as integer millionths of a pound (exact); faults flagged, their values null."""
    text, good = _decimal(values, _MONEY, findings, column, "not an amount in pounds (up to 6 decimal places)")
    pounds = pc.cast(pc.if_else(good, text, pa.scalar(None, pa.string())), pa.decimal128(18, 6))
    micros = pc.cast(pc.multiply(pounds, pa.scalar(10**6, pa.decimal128(7, 0))), pa.int64())
    findings.flag(pc.less(micros, 0), f"negative {column} (a cost is zero or more)", column, quoted_text(values))
    return micros


def latest_plausible_month(today: date) -> str:
    """The month after ``today``'s (YYYY-MM): no prescribing is published for a later month (one month of slack
    for clocks and time zones)."""
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return f"{year:04d}-{month:02d}"


def _check_plausible_months(months: Any, findings: Findings, column: str | None) -> None:
    """Months from ``EARLIEST_MONTH`` to the month after this one; a 1900 or 2099 month is a typing fault."""
    latest = latest_plausible_month(date.today())
    outside = pc.or_(pc.less(months, EARLIEST_MONTH), pc.greater(months, latest))
    findings.flag(outside, f"a month outside {EARLIEST_MONTH} to {latest}", column, plain(months))


def _check_codes(findings: Findings, codes: Any, pattern: str, column: str, name: str, shape: str) -> None:
    """A problem for every blank code, and for every code not of ``shape`` (not matching ``pattern``)."""
    findings.flag(pc.is_null(codes), f"blank {name} (a value is required)", column)
    findings.flag(pc.invert(pc.match_substring_regex(codes, pattern)), f"not {shape}", column, quoted(codes))


def _validate(values: Mapping[str, Any], findings: Findings, columns: Mapping[str, str]) -> dict[str, Any]:
    practice = pc.utf8_upper(as_text(values["practice"]))
    practice_shape = "an ODS practice code (six letters or digits)"
    _check_codes(findings, practice, _PRACTICE, columns["practice"], "practice code", practice_shape)
    bnf_code = as_text(values["bnf_code"])
    _check_codes(
        findings,
        bnf_code,
        BNF_CODE_PATTERN,
        columns["bnf_code"],
        "BNF code",
        "a BNF code (15 letters and digits for a presentation, 11 digits for an appliance)",
    )
    items, bad_items = as_int(values["items"])
    findings.flag(bad_items, "not a whole number of items", columns["items"], quoted_text(values["items"]))
    findings.flag(
        pc.and_(pc.is_null(items), pc.invert(bad_items)), "blank items (a value is required)", columns["items"]
    )
    findings.flag(pc.less(items, 0), "negative items", columns["items"], plain(items))
    quantity_text, good = _decimal(values["quantity"], _NUMBER, findings, columns["quantity"], "not a number")
    quantity = pc.cast(pc.if_else(good, quantity_text, pa.scalar(None, pa.string())), pa.float64())
    findings.flag(pc.less(quantity, 0), "negative quantity", columns["quantity"], quoted_text(values["quantity"]))
    names = {
        name: as_text(values[name]) if name in values else pa.nulls(len(practice), pa.string())
        for name in ("practice_name", "bnf_name")
    }
    return {
        "practice": practice,
        "practice_name": names["practice_name"],
        "bnf_code": bnf_code,
        "bnf_name": names["bnf_name"],
        "items": items,
        "quantity": quantity,
        "nic_micros": _micros(values["nic"], findings, columns["nic"]),
        "actual_cost_micros": _micros(values["actual_cost"], findings, columns["actual_cost"]),
    }


def _months(path: Path, raw: Any, findings: Findings, wanted: str | None, column: str | None) -> Any:
    """The month of every row: from the file's month column, else ``wanted``, else the file name."""
    rows = len(findings.rows)
    if raw is None:
        chosen = wanted or month_in_name(path.name)
        if chosen is None:
            findings.problems.append(
                Problem(path.name, "the file does not say which month it is: give the month (--month YYYY-MM)")
            )
        return pa.repeat(pa.scalar(chosen, pa.string()), rows)
    text = as_text(raw)
    distinct = pc.unique(text).to_pylist()
    normal: dict[str | None, str | None] = {}
    for value in distinct:
        try:
            normal[value] = year_month(value) if value is not None else None
        except ValueError:
            normal[value] = None
    lookup = pa.array([normal[value] for value in distinct], pa.string())
    months = pc.take(lookup, pc.index_in(text, value_set=pa.array(distinct, pa.string())))
    findings.flag(pc.is_null(months), "not a month (expected YYYYMM, YYYY_MM or YYYY-MM)", column, quoted_text(raw))
    if wanted is not None:
        findings.flag(pc.not_equal(months, wanted), f"a row of another month than {wanted}", column, plain(months))
    return months


def _summed(columns: Mapping[str, Any]) -> pa.Table:
    """One row per month x practice x presentation; money summed exactly, then rounded to the penny once."""
    table = pa.table(dict(columns))
    summed = table.group_by(["year_month", "practice", "bnf_code"]).aggregate(
        [
            ("practice_name", "max"),
            ("bnf_name", "max"),
            ("items", "sum"),
            ("quantity", "sum"),
            ("nic_micros", "sum"),
            ("actual_cost_micros", "sum"),
        ]
    )
    output = {
        "year_month": summed["year_month"],
        "practice": summed["practice"],
        "practice_name": summed["practice_name_max"],
        "bnf_code": summed["bnf_code"],
        "bnf_name": summed["bnf_name_max"],
        "items": summed["items_sum"],
        "quantity": summed["quantity_sum"],
        "nic_pence": _pence(summed["nic_micros_sum"]),
        "actual_cost_pence": _pence(summed["actual_cost_micros_sum"]),
    }
    schema = pa.schema(
        [
            (name, pa.float64() if kind == "float64" else pa.int64() if kind == "int64" else pa.string())
            for name, kind in PRESCRIBING_SCHEMA.items()
        ]
    )
    return pa.table(output, schema=schema)


def _pence(micros: Any) -> pa.Array:
    """Millionths of a pound to pence, half away from zero."""
    values = micros.to_numpy()
    magnitude = (np.abs(values) + MICROS_PER_PENNY // 2) // MICROS_PER_PENNY
    return pa.array(np.where(values < 0, -magnitude, magnitude), pa.int64())
