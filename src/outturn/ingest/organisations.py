"""Organisations (and practice populations) from NHS reference files and from a user's own CSV.

Pure readers: each takes a path and returns records, or raises ``ProblemsError`` naming every fault found
(file, row as a person counts it with the header as row 1, column, reason).

- ``read_allocation_hierarchy``: NHS England's practice weighted-population files (2022/23 to 2025/26).
- ``read_ods_practice_map``: NHS Digital's practice -> PCN -> CCG -> STP -> region mapping.
- ``read_ods_trusts``: the headerless ODS ``etr`` list of NHS trusts.
- ``read_organisations_csv``: ``code, name, kind, parent_code``, checked against the hierarchy rules.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

from outturn.domain.organisations import ALLOWED_PARENTS, Organisation, OrgKind
from outturn.domain.populations import PracticePopulation
from outturn.domain.problems import Problem, ProblemsError
from outturn.ingest.grid import read_grid
from outturn.ingest.tables import (
    RawTable,
    earlier_row,
    file_fault,
    non_negative_number,
    read_table,
    table_below,
    text_of,
)

ALLOCATION_FILE = Path("allocations") / "aif_tool_gp_practice_wp_2022_2023.csv"
NO_PCN_CODES = frozenset({"", "U"})  # NHS England and NHS Digital file unallocated practices under PCN "U"
PATIENTS_COLUMN = "Patients"
# look-alike of domain/populations.py's and domain/activity.py's mappings (shape only): declarative, the file's columns.
# PracticePopulation field -> column; a blank cell is zero (NHS England leaves maternity blank for practices
# with no maternity need, such as the Royal Hospital Chelsea), except for the final weighted population.
WEIGHTED_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "general_acute": "G&A WP",
        "community": "CS WP",
        "mental_health": "MH WP",
        "maternity": "Mat WP",
        "health_inequalities": "Health Ineq WP",
        "prescribing": "Prescr WP",
        "final": "Final WP",
        "primary_medical_care": "Primary Medical Care WP",
    }
)
_REQUIRED_WEIGHTS = frozenset({"final"})
_KIND_ORDER = (OrgKind.REGION, OrgKind.ICB, OrgKind.SUB_ICB, OrgKind.PCN, OrgKind.PRACTICE, OrgKind.PROVIDER)
_ODS_CODE = re.compile(r"[A-Z0-9]{3,10}")

Level = tuple[str, str]  # (code, name)


# look-alike of _Layout (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class _Layout:
    """Where a file keeps each level of the hierarchy, as (code column, name column)."""

    label: str
    practice: tuple[str, str]
    pcn: tuple[str, str]
    sub_icb: tuple[str, str]
    icb: tuple[str, str]
    region: tuple[str, str]
    population: str = ""  # the registered-population column of an allocation file

    @property
    def columns(self) -> tuple[str, ...]:
        levels = (*self.practice, *self.pcn, *self.sub_icb, *self.icb, *self.region)
        if not self.population:
            return levels
        return (*levels, PATIENTS_COLUMN, self.population, *WEIGHTED_COLUMNS.values())


ALLOCATION_2022_LAYOUT = _Layout(
    "NHS England practice weighted populations, 2022/23 and 2024/25 layout",
    ("Practice_Code", "GP_Practice_Name"),
    ("PCN_Code", "PCN_Name"),
    ("LOC22", "LOC22name"),
    ("ICS22", "ICS22name"),
    ("R22", "Region22"),
    population="pop 2022/23",
)
ALLOCATION_2025_LAYOUT = _Layout(
    "NHS England practice weighted populations, 2025/26 layout",
    ("Practice_Code", "GP_Practice_Name"),
    ("PCN_Code", "PCN_Name"),
    ("LOC", "LOCname"),
    ("ICB", "ICBname"),
    ("Rcode", "Region"),
    population="Population",
)
ODS_PRACTICE_MAP_LAYOUT = _Layout(
    "NHS Digital practice mapping (gp-reg-pat-prac-map)",
    ("PRACTICE_CODE", "PRACTICE_NAME"),
    ("PCN_CODE", "PCN_NAME"),
    ("CCG_CODE", "CCG_NAME"),
    ("STP_CODE", "STP_NAME"),
    ("COMM_REGION_CODE", "COMM_REGION_NAME"),
)

Rows = list[tuple[int, dict[str, str]]]


def _read_csv(path: Path) -> tuple[list[str], Rows]:
    """Header (as published, trimmed) and non-blank rows as text, each row numbered as a person sees it (header =
    row 1): the one table reader's rows below row 1, keyed by every header."""
    grid = read_grid(path)
    header = [text_of(cell) for cell in grid.rows[0]] if grid.rows else []
    if not any(header):
        raise file_fault(path.name, "the file is empty")
    table = table_below(grid, 0, {name: index for index, name in enumerate(header)})
    return header, [(number, {name: text_of(cell) for name, cell in cells.items()}) for number, cells in table.rows]


def _choose_layout(source: str, header: list[str], layouts: tuple[_Layout, ...]) -> _Layout:
    missing = {layout: [column for column in layout.columns if column not in header] for layout in layouts}
    best = min(layouts, key=lambda layout: len(missing[layout]))
    if missing[best]:
        reason = f"unknown layout: missing column(s) {', '.join(missing[best])} (closest: {best.label})"
        raise file_fault(source, reason, row=1)
    return best


@dataclass(frozen=True)
class _Placement:
    """One practice row: where the practice sits; sub-ICB and PCN may be absent."""

    row: int
    practice: Level
    pcn: Level | None
    sub_icb: Level | None
    icb: Level
    region: Level


def _level(cells: Mapping[str, str], columns: tuple[str, str]) -> Level | None:
    code = cells.get(columns[0], "").upper()
    return (code, cells.get(columns[1], "") or code) if code else None


class _HierarchyBuilder:
    """Organisations met across rows: the first name wins; each parent is the one most rows give.

    A practice hangs under its PCN when that PCN sits under the practice's own sub-ICB (or ICB), else
    directly under its sub-ICB (or ICB): a PCN spanning two sub-ICBs stays whole under the one holding
    most of its practices, and every sub-ICB and ICB total still matches the file.
    """

    def __init__(self, source: str, layout: _Layout) -> None:
        self.source, self.layout = source, layout
        self.problems: list[Problem] = []
        self._seen: dict[str, tuple[str, OrgKind, int]] = {}
        self._votes: dict[str, Counter[str]] = {}
        self._practices: dict[str, _Placement] = {}

    def add(self, number: int, cells: Mapping[str, str]) -> str | None:
        """Record one row; its practice code, or ``None`` (with problems noted) when the row is unusable."""
        place = self._placement(number, cells)
        if place is None:
            return None
        parent: str | None = None
        chain = ((place.region, OrgKind.REGION), (place.icb, OrgKind.ICB), (place.sub_icb, OrgKind.SUB_ICB))
        for level, kind in (*chain, (place.pcn, OrgKind.PCN)):
            if level is not None and self._note(level, kind, parent, number):
                parent = level[0]
        if not self._note(place.practice, OrgKind.PRACTICE, None, number):
            return None
        self._practices[place.practice[0]] = place
        return place.practice[0]

    def _placement(self, number: int, cells: Mapping[str, str]) -> _Placement | None:
        layout = self.layout
        practice, icb, region = (_level(cells, columns) for columns in (layout.practice, layout.icb, layout.region))
        for found, columns in ((practice, layout.practice), (icb, layout.icb), (region, layout.region)):
            if found is None:
                self.problems.append(Problem(self.source, "a code is required", row=number, column=columns[0]))
        if practice is None or icb is None or region is None:
            return None
        pcn = _level(cells, layout.pcn)
        pcn = None if pcn is None or pcn[0] in NO_PCN_CODES else pcn
        return _Placement(number, practice, pcn, _level(cells, layout.sub_icb), icb, region)

    def _note(self, level: Level, kind: OrgKind, parent: str | None, number: int) -> bool:
        code, name = level
        _, first_kind, first_row = self._seen.setdefault(code, (name, kind, number))
        if first_kind is OrgKind.PRACTICE and kind is OrgKind.PRACTICE and first_row != number:
            reason = f"practice {code} already appears in row {first_row}"
            self.problems.append(Problem(self.source, reason, row=number, column=self.layout.practice[0]))
            return False
        if first_kind is not kind:
            reason = f"{code} is a {kind.value} here but a {first_kind.value} in row {first_row}"
            self.problems.append(Problem(self.source, reason, row=number))
            return False
        if parent is not None:
            self._votes.setdefault(code, Counter())[parent] += 1
        return True

    def organisations(self) -> list[Organisation]:
        parents: dict[str, str] = {code: votes.most_common(1)[0][0] for code, votes in self._votes.items()}
        for code, place in self._practices.items():
            home = (place.sub_icb or place.icb)[0]
            in_home_pcn = place.pcn is not None and parents.get(place.pcn[0]) == home
            parents[code] = place.pcn[0] if place.pcn is not None and in_home_pcn else home
        organisations = [
            Organisation(code, name, kind, parents.get(code)) for code, (name, kind, _) in self._seen.items()
        ]
        return sorted(organisations, key=lambda org: _KIND_ORDER.index(org.kind))

    def raise_problems(self) -> None:
        if self.problems:
            raise ProblemsError(self.problems, f"cannot import {self.source}")


def _quantity(text: str) -> Decimal:
    return non_negative_number(text, "a population")


def _population(
    source: str, layout: _Layout, number: int, cells: Mapping[str, str], code: str
) -> tuple[PracticePopulation | None, list[Problem]]:
    problems: list[Problem] = []

    def value(column: str, blank: Decimal | None = None, *, required: bool = True) -> Decimal | None:
        text = cells.get(column, "")
        if not text:
            if required and blank is None:
                problems.append(Problem(source, "a number is required", row=number, column=column))
            return blank
        try:
            return _quantity(text)
        except ValueError as error:
            problems.append(Problem(source, str(error), row=number, column=column))
            return None

    list_size = value(PATIENTS_COLUMN, required=False)
    population = value(layout.population)
    weights = {
        field: value(column, None if field in _REQUIRED_WEIGHTS else Decimal(0))
        for field, column in WEIGHTED_COLUMNS.items()
    }
    known = {field: weight for field, weight in weights.items() if weight is not None}
    if problems or population is None or len(known) != len(weights):
        return None, problems
    return PracticePopulation(practice_code=code, list_size=list_size, population=population, **known), []


def read_allocation_hierarchy(path: Path) -> tuple[list[Organisation], list[PracticePopulation]]:
    """Region -> ICB -> sub-ICB -> PCN -> practice, and each practice's raw and weighted populations.

    Reads NHS England's practice weighted-population files (2022/23, 2024/25, 2025/26 layouts, told apart
    by their headers). Where the file leaves PCN or sub-ICB blank (2024/25 on), practices sit under the
    next level up. ``list_size`` is ``None`` where ``Patients`` is blank (2024/25 and 2025/26 files).
    """
    header, rows = _read_csv(path)
    layout = _choose_layout(path.name, header, (ALLOCATION_2022_LAYOUT, ALLOCATION_2025_LAYOUT))
    builder = _HierarchyBuilder(path.name, layout)
    populations: list[PracticePopulation] = []
    for number, cells in rows:
        code = builder.add(number, cells)
        if code is None:
            continue
        population, problems = _population(path.name, layout, number, cells, code)
        builder.problems.extend(problems)
        if population is not None:
            populations.append(population)
    builder.raise_problems()
    return builder.organisations(), populations


def read_ods_practice_map(path: Path) -> list[Organisation]:
    """Region -> ICB (STP) -> sub-ICB (CCG) -> PCN -> practice from NHS Digital's practice mapping file."""
    header, rows = _read_csv(path)
    builder = _HierarchyBuilder(path.name, _choose_layout(path.name, header, (ODS_PRACTICE_MAP_LAYOUT,)))
    for number, cells in rows:
        builder.add(number, cells)
    builder.raise_problems()
    return builder.organisations()


def read_ods_trusts(path: Path) -> list[Organisation]:
    """NHS trusts from the headerless ODS ``etr`` file (column 1 code, column 2 name), with no parent.

    ODS gives each trust's NHS England region as a Y-code that matches no commissioning region code here,
    so providers are left without a parent rather than pointing at an organisation that is not loaded.
    """
    grid = read_grid(path)
    rows = [(number, cells) for number, cells in enumerate(grid.rows, start=1) if any(cells)]
    if not rows:
        raise file_fault(path.name, "the file is empty")
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    providers: list[Organisation] = []
    for number, cells in rows:
        code = text_of(cells[0])
        name = text_of(cells[1]) if len(cells) > 1 else ""
        if not _ODS_CODE.fullmatch(code):
            problems.append(Problem(path.name, f"not an ODS organisation code: {code!r}", number, "code"))
        elif not name:
            problems.append(Problem(path.name, "a name is required", number, "name"))
        elif (earlier := earlier_row(first_row, code, number)) is not None:
            problems.append(Problem(path.name, f"duplicate of row {earlier}", number, "code"))
        else:
            providers.append(Organisation(code, name, OrgKind.PROVIDER, None))
    if problems:
        raise ProblemsError(problems, f"cannot import {path.name}")
    return providers


ORGANISATION_COLUMNS = ("code", "name", "kind")
ORGANISATION_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "org_code": "code",
        "organisation_code": "code",
        "org_name": "name",
        "organisation_name": "name",
        "type": "kind",
        "org_type": "kind",
        "parent": "parent_code",
        "parent_org_code": "parent_code",
    }
)


def _organisation_row(
    table: RawTable, number: int, cells: Mapping[str, object]
) -> tuple[Organisation | None, list[Problem]]:
    code, name = text_of(cells.get("code")).upper(), text_of(cells.get("name"))
    kind_text = text_of(cells.get("kind"))
    problems = [
        table.problem(f"a {column} is required", number, column)
        for column, text in (("code", code), ("name", name), ("kind", kind_text))
        if not text
    ]
    kind: OrgKind | None = None
    if kind_text:
        try:
            kind = OrgKind.parse(kind_text)
        except ValueError as error:
            problems.append(table.problem(str(error), number, "kind"))
    if problems or kind is None:
        return None, problems
    return Organisation(code, name, kind, text_of(cells.get("parent_code")).upper() or None), []


def _parent_fault(org: Organisation, held: Mapping[str, Organisation]) -> str | None:
    """Why ``org``'s parent cannot be (``held``: the organisations as they will be, the file's over the stored)."""
    parent_code = org.parent_code
    if parent_code is None:
        return None
    if parent_code == org.code:
        return "an organisation cannot be its own parent"
    parent = held.get(parent_code)
    if parent is None:
        return f"unknown parent {parent_code!r}: not in this file nor among the organisations already loaded"
    allowed = ALLOWED_PARENTS[org.kind]
    if parent.kind in allowed:
        return None
    may = ", ".join(sorted(kind.value for kind in allowed)) or "nothing (it has no parent)"
    return f"a {org.kind.value} cannot sit under {parent_code} (a {parent.kind.value}); its parent may be: {may}"


def _children_fault(
    org: Organisation, stored_children: Mapping[str, list[Organisation]], in_file: Collection[str]
) -> str | None:
    """Why ``org``, of its kind in the file, cannot hold the stored organisations under it that the file leaves
    there (an ICB with sub-ICBs re-kinded as a practice)."""
    stranded = sorted(
        (child.code, child.kind)
        for child in stored_children.get(org.code, ())
        if child.code not in in_file and org.kind not in ALLOWED_PARENTS[child.kind]
    )
    if not stranded:
        return None
    shown = ", ".join(f"{code} (a {kind.value})" for code, kind in stranded[:5]) + (" …" if len(stranded) > 5 else "")
    return (
        f"{org.code} cannot be a {org.kind.value}: {len(stranded)} organisation(s) already loaded sit under it that "
        f"may not sit under a {org.kind.value}: {shown}; move them in the same file"
    )


def read_organisations_csv(path: Path, known: Mapping[str, Organisation] = MappingProxyType({})) -> list[Organisation]:
    """A user's own organisations: columns ``code, name, kind`` and optionally ``parent_code`` (CSV or XLSX).

    ``kind`` takes the words ``OrgKind.parse`` knows (pct, ccg, cluster, icb, region, pcn, practice, ...).
    ``known``: the organisations already loaded, by code (a row of the file replaces the one of its code). A parent
    must be in the file or in ``known`` and of a kind allowed above the child; an organisation's new kind must
    allow the loaded organisations that stay under it.
    """
    table = read_table(path, required=ORGANISATION_COLUMNS, optional=("parent_code",), aliases=ORGANISATION_ALIASES)
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    rows: list[tuple[int, Organisation]] = []
    for number, cells in table.rows:
        org, row_problems = _organisation_row(table, number, cells)
        problems.extend(row_problems)
        code = text_of(cells.get("code")).upper()
        if code and (earlier := earlier_row(first_row, code, number)) is not None:
            problems.append(table.problem(f"duplicate of row {earlier}", number, "code"))
        elif org is not None:
            rows.append((number, org))
    by_code = {org.code: org for _, org in rows}
    held = {**known, **by_code}
    stored_children: dict[str, list[Organisation]] = {}
    for stored in known.values():
        if stored.parent_code is not None:
            stored_children.setdefault(stored.parent_code, []).append(stored)
    for number, org in rows:
        fault = _parent_fault(org, held)
        if fault is not None and (org.parent_code in by_code or org.parent_code not in first_row):
            problems.append(table.problem(fault, number, "parent_code"))
        stranded = _children_fault(org, stored_children, first_row)
        if stranded is not None:
            problems.append(table.problem(stranded, number, "kind"))
    if problems:
        raise ProblemsError(problems, f"cannot import {path.name}")
    return [org for _, org in rows]


def find_allocation_file(reference_dir: Path) -> Path:
    """The 2022/23 practice weighted populations: the one allocation file that names every PCN."""
    path = reference_dir / ALLOCATION_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"NHS England's 2022/23 practice weighted-population file is not at {path}: "
            f"give the reference-data directory that holds {ALLOCATION_FILE.as_posix()}"
        )
    return path
