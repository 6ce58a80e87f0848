"""Readers for practice populations: NHS England's allocation files, NHS Digital's list sizes by age and sex,
and the HSCIC prescribing-unit weights (ASTRO-PU, STAR-PU).

Each reader returns records or raises ``ProblemsError`` naming every fault (file, sheet, row, column, reason).

- ``read_allocation_file``: the 2022/23, 2024/25 and 2025/26 practice weighted-population files (read through
  ``read_allocation_hierarchy``) and the 2021/22 AIF tool file (``Target_exc_remote_£k``: practice targets).
- ``read_list_sizes``: the quarterly wide layout (``Patient_List_Size_YYYY_MM-MM.csv``: ``Male 0-4`` …
  ``Female 75+``) and the long ``gp-reg-pat-prac-quin-age`` layout (five-year bands, with ``ALL`` rows), both
  reduced to the nine ASTRO-PU bands (``outturn.domain.populations.astro_band`` says how).
- the HSCIC prescribing-unit weights are read by ``outturn.ingest.prescribing_units``; practice spend, budgets and
  enhanced-service payments by ``outturn.ingest.practice_amounts``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType

from outturn.domain.money import Pence, div_round
from outturn.domain.populations import (
    ASTRO_BANDS,
    BAND_CELLS,
    AgeSexList,
    PracticeRecord,
    Sex,
    astro_band,
)
from outturn.domain.problems import Problem, ProblemsError
from outturn.ingest.activity import csv_header
from outturn.ingest.organisations import WEIGHTED_COLUMNS, read_allocation_hierarchy
from outturn.ingest.tables import (
    RawTable,
    RowReader,
    canonical_name,
    earlier_row,
    file_fault,
    non_negative_number,
    read_table,
    text_of,
)


# look-alike of domain/savings_programmes.py:ProgrammeYear (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class PracticeTarget:
    """A practice's target allocation in NHS England's 2021/22 AIF file, excluding and including the remoteness
    adjustment, in pence (the file gives £k)."""

    practice: str
    exc_remote_pence: Pence
    inc_remote_pence: Pence


@dataclass(frozen=True)
class AllocationFile:
    """The practices of one allocation file, the names of the organisations they sit in, and any targets."""

    source: str
    records: tuple[PracticeRecord, ...]
    names: Mapping[str, str] = field(default_factory=dict)
    targets: tuple[PracticeTarget, ...] = ()


def _header(path: Path) -> list[str]:
    """The first line's column names, canonical; these files are CSV (as NHS England and NHS Digital publish)."""
    if path.suffix.lower() != ".csv":
        raise file_fault(path.name, "unsupported file type: expected .csv")
    return csv_header(path)


# --- allocation files -------------------------------------------------------------------------------------------

# The 2021/22 AIF tool file: canonical column -> weighted-population component. ``WP_AM`` (avoidable mortality)
# is the formula's health-inequalities measure: the name says so, and per head it correlates 0.94 across
# practices with the 2022/23 file's ``Health Ineq WP`` (against 0.41 for the overall weighted population).
_AIF_2021_WEIGHTS: Mapping[str, str] = MappingProxyType(
    {
        "general_acute": "wp_g_a",
        "community": "wp_cs",
        "mental_health": "wp_mh",
        "maternity": "wp_mat",
        "health_inequalities": "wp_am",
        "prescribing": "wp_presc",
        "final": "wp_overall",
    }
)
_AIF_2021_PLACES = ("practice", "gp_practice_name", "pcn", "pcn_name", "ccg", "ccg19", "stp21", "stp21_42")
_AIF_2021_TARGETS = ("target_exc_remote_k", "target_inc_remote_k")
_NO_PCN = frozenset({"", "U", "NULL"})  # the 2021/22 file writes NULL for no PCN


def _weight(text: str) -> float:
    return float(non_negative_number(text, "a weighted population"))


def _thousands_to_pence(text: str) -> Pence:
    """£k as the AIF file writes it (``16745.50796``) to pence, rounded half away from zero."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not an amount in £k: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not an amount in £k: {text!r}")
    return div_round(Fraction(value) * 100_000)


def _read_aif_2021(path: Path) -> AllocationFile:
    required = (*_AIF_2021_PLACES, *_AIF_2021_WEIGHTS.values(), *_AIF_2021_TARGETS)
    table = read_table(path, required=required)
    problems: list[Problem] = []
    records: list[PracticeRecord] = []
    targets: list[PracticeTarget] = []
    names: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for number, cells in table.rows:
        reader = RowReader(table, number, cells)
        code = reader.practice_code("practice", first_row)
        weights = {component: reader.parse(column, _weight) for component, column in _AIF_2021_WEIGHTS.items()}
        exc, inc = (reader.parse(column, _thousands_to_pence) for column in _AIF_2021_TARGETS)
        problems.extend(reader.problems)
        if reader.problems or exc is None or inc is None:
            continue
        pcn = reader.text("pcn").upper()
        place = {level: reader.text(level).upper() or None for level in ("ccg", "stp21")}
        for org_code, name_column in ((pcn, "pcn_name"), (place["ccg"], "ccg19"), (place["stp21"], "stp21_42")):
            if org_code and org_code not in _NO_PCN:
                names.setdefault(org_code, reader.text(name_column) or org_code)
        records.append(
            PracticeRecord(
                practice=code,
                practice_name=reader.text("gp_practice_name") or code,
                pcn=None if pcn in _NO_PCN else pcn,
                sub_icb=place["ccg"],
                icb=place["stp21"],
                list_size=None,
                astro_pu=None,
                weighted=weights,
            )
        )
        targets.append(PracticeTarget(code, exc, inc))
    if problems:
        raise ProblemsError(problems, f"cannot import {path.name}")
    return AllocationFile(path.name, tuple(records), MappingProxyType(names), tuple(targets))


def _placements(path: Path) -> dict[str, tuple[str | None, str | None, str | None]]:
    """practice -> (PCN, sub-ICB, ICB) codes exactly as the file gives them (blank PCN or ``U``: none)."""
    table = read_table(path, required=("practice_code",), optional=("pcn_code", "loc22", "loc", "ics22", "icb"))
    placed: dict[str, tuple[str | None, str | None, str | None]] = {}
    for _number, cells in table.rows:
        pcn = text_of(cells.get("pcn_code")).upper()
        sub_icb = text_of(cells.get("loc22") or cells.get("loc")).upper() or None
        icb = text_of(cells.get("ics22") or cells.get("icb")).upper() or None
        placed[text_of(cells.get("practice_code")).upper()] = (None if pcn in _NO_PCN else pcn, sub_icb, icb)
    return placed


def read_allocation_file(path: Path) -> AllocationFile:
    """Practices with their PCN, sub-ICB and ICB codes (as the file gives them), list size (``Patients``, where
    given) and weighted populations; the 2021/22 AIF file also gives each practice's target allocation."""
    header = _header(path)
    if not any(header):
        raise file_fault(path.name, "the file is empty")
    if set(_AIF_2021_TARGETS) <= set(header):
        return _read_aif_2021(path)
    organisations, populations = read_allocation_hierarchy(path)
    names = {org.code: org.name for org in organisations}
    placed = _placements(path)
    records = []
    for population in populations:
        pcn, sub_icb, icb = placed[population.practice_code]
        size = population.list_size
        weighted = {name: float(getattr(population, name)) for name in WEIGHTED_COLUMNS}
        records.append(
            PracticeRecord(
                practice=population.practice_code,
                practice_name=names.get(population.practice_code, population.practice_code),
                pcn=pcn,
                sub_icb=sub_icb,
                icb=icb,
                list_size=None if size is None else int(size.to_integral_value()),
                astro_pu=None,
                weighted=weighted,
            )
        )
    return AllocationFile(path.name, tuple(records), MappingProxyType(names))


# --- list sizes by age and sex -----------------------------------------------------------------------------------

_WIDE_COLUMNS: Mapping[tuple[Sex, str], str] = MappingProxyType(
    {(sex, band): canonical_name(f"{sex.value} {band}") for sex, band in BAND_CELLS}
)
_QUARTER_FILE = re.compile(r"(\d{4})_(\d{2})-(\d{2})")


def _patients(text: str) -> int:
    if not re.fullmatch(r"\d+", text):
        raise ValueError(f"not a number of patients (a whole number, zero or more): {text!r}")
    return int(text)


def _wide_list_sizes(path: Path, as_of: date | None) -> list[AgeSexList]:
    quarter = _QUARTER_FILE.search(path.stem)
    if as_of is None and quarter is None:
        raise file_fault(path.name, "cannot tell the quarter: name the file Patient_List_Size_YYYY_MM-MM.csv")
    extract = as_of or date(int(quarter.group(1)), int(quarter.group(2)), 1)  # type: ignore[union-attr]
    table = read_table(path, required=("practice_code", *_WIDE_COLUMNS.values()))
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    lists: list[AgeSexList] = []
    for number, cells in table.rows:
        reader = RowReader(table, number, cells)
        code = reader.practice_code("practice_code", first_row, required=False)
        counts = {cell: reader.parse(column, _patients) for cell, column in _WIDE_COLUMNS.items()}
        problems.extend(reader.problems)
        if not reader.problems:
            lists.append(AgeSexList(code, extract, {cell: count or 0 for cell, count in counts.items()}, path.name))
    if problems:
        raise ProblemsError(problems, f"cannot import {path.name}")
    return lists


@dataclass
class _QuinaryPractice:
    """What the long layout says about one practice: band counts, and its ALL rows to check them against."""

    first_row: int
    extract: date | None = None
    counts: dict[tuple[Sex, str], int] = field(default_factory=lambda: dict.fromkeys(BAND_CELLS, 0))
    seen: dict[tuple[str, str], int] = field(default_factory=dict)
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)  # sex or "ALL" -> (patients, row)


def _extract_date(text: str) -> date:
    for pattern in ("%d%b%Y", "%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    raise ValueError(f"not an extract date: {text!r} (expected e.g. 01SEP2017)")


def _quinary_row(reader: RowReader, practice: _QuinaryPractice) -> None:
    sex_text, band_text = reader.text("sex").upper(), reader.text("age_group_5").upper()
    patients = reader.parse("number_of_patients", _patients)
    extract = reader.parse("extract_date", _extract_date, required=False) if "extract_date" in reader.cells else None
    if extract is not None:
        practice.extract = max(extract, practice.extract or extract)
    key = (sex_text, band_text)
    if (earlier := earlier_row(practice.seen, key, reader.number)) is not None:
        reader.fault(f"{sex_text} {band_text} already appears in row {earlier}", "age_group_5")
        return
    if patients is None:
        return
    if band_text == "ALL":
        if sex_text not in ("ALL", "MALE", "FEMALE"):
            reader.fault(f"unknown sex {sex_text!r} (MALE, FEMALE or ALL)", "sex")
        practice.totals[sex_text] = (patients, reader.number)
        return
    try:
        band = astro_band(band_text)
        sex = Sex(sex_text.lower())
    except ValueError as error:
        reader.fault(str(error), "age_group_5" if "band" in str(error) else "sex")
        return
    practice.counts[(sex, band)] += patients


def _check_totals(table: RawTable, code: str, practice: _QuinaryPractice) -> list[Problem]:
    """Each sex's bands must add up to its ALL row, and the sexes to the ALL/ALL row."""
    problems = []
    by_sex = {sex.value.upper(): sum(practice.counts[(sex, band)] for band in ASTRO_BANDS) for sex in Sex}
    expected = {**by_sex, "ALL": sum(by_sex.values())}
    for sex_text, (stated, row) in practice.totals.items():
        if sex_text in expected and stated != expected[sex_text]:
            total = expected[sex_text]
            reason = f"{code}: the {sex_text} ALL row says {stated:,} patients but its bands add up to {total:,}"
            problems.append(table.problem(reason, row, "number_of_patients"))
    return problems


def _quinary_list_sizes(path: Path, as_of: date | None) -> list[AgeSexList]:
    table = read_table(
        path, required=("org_code", "sex", "age_group_5", "number_of_patients"), optional=("org_type", "extract_date")
    )
    problems: list[Problem] = []
    practices: dict[str, _QuinaryPractice] = {}
    for number, cells in table.rows:
        if "org_type" in cells and text_of(cells["org_type"]).upper() not in ("GP", ""):
            continue
        reader = RowReader(table, number, cells)
        code = reader.text("org_code").upper()
        if not code:
            reader.fault("a practice code is required", "org_code")
        else:
            _quinary_row(reader, practices.setdefault(code, _QuinaryPractice(number)))
        problems.extend(reader.problems)
    lists = []
    for code, practice in practices.items():
        problems.extend(_check_totals(table, code, practice))
        extract = as_of or practice.extract
        if extract is None:
            problems.append(table.problem(f"{code}: no EXTRACT_DATE", practice.first_row, "extract_date"))
            continue
        lists.append(AgeSexList(code, extract, practice.counts, path.name))
    if problems:
        raise ProblemsError(problems, f"cannot import {path.name}")
    return lists


def read_list_sizes(path: Path, as_of: date | None = None) -> list[AgeSexList]:
    """Each practice's registered list by sex and ASTRO-PU band, from either NHS Digital layout (told apart by
    its header). The date is the file's ``EXTRACT_DATE``, else the quarter's first month from a file named
    ``Patient_List_Size_YYYY_MM-MM``, unless ``as_of`` is given."""
    header = _header(path)
    if not any(header):
        raise file_fault(path.name, "the file is empty")
    if "age_group_5" in header:
        return _quinary_list_sizes(path, as_of)
    return _wide_list_sizes(path, as_of)
