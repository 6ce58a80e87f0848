"""Practice populations in the warehouse: importing them, and reading them back for every feature that needs
denominators (``practice_populations(workspace)``).

An import reads and checks every file before it writes anything, then replaces the warehouse tables together in
one transaction:

- ``practice_populations`` — one row per practice of the allocation file (``PRACTICE_POPULATIONS_SCHEMA``);
  ``list_size`` and ``astro_pu`` come from the practice's latest age/sex list where one is given;
- ``practice_list_bands`` — that latest list: practice, extract_date, sex, age_band, patients;
- ``practice_prescribing_units`` — practice, unit (``astro_pu_cost``, ``astro_pu_items``, ``star_pu.NAME``), value;
- ``practice_targets`` — practice, target_exc_remote_pence, target_inc_remote_pence (the 2021/22 AIF file only);
- ``population_organisations`` — code, name of the PCNs, sub-ICBs, ICBs and regions the allocation file names;
- ``practice_list_sizes`` — every list held by period: practice, extract_date, list_month, list_size. Lists
  named to an import are added to those held (a practice's list of the same date is replaced); the reference
  data's default lists, older than its allocation files, give no periods. ``practice_populations(workspace,
  month=...)`` (or ``year=...``) gives each practice the list of that period (``outturn.domain.list_periods``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from outturn.domain.errors import BadInput
from outturn.domain.list_periods import list_for_months, list_month, year_months
from outturn.domain.periods import FinancialYear
from outturn.domain.populations import (
    BAND_CELLS,
    PRACTICE_POPULATIONS_SCHEMA,
    PRACTICE_POPULATIONS_TABLE,
    AgeSexList,
    Level,
    LevelTotals,
    PracticeRecord,
    latest_lists,
    prescribing_units,
    roll_up,
)
from outturn.ingest.organisations import find_allocation_file
from outturn.ingest.populations import PracticeTarget, read_allocation_file, read_list_sizes
from outturn.ingest.prescribing_units import PrescribingUnitWeights, read_prescribing_unit_weights
from outturn.services.workspace import Workspace
from outturn.store import repository

LIST_BANDS_TABLE = "practice_list_bands"
UNITS_TABLE = "practice_prescribing_units"
TARGETS_TABLE = "practice_targets"
NAMES_TABLE = "population_organisations"
LIST_SIZES_TABLE = "practice_list_sizes"
LIST_SIZE_PATTERNS = ("openprescribing/Patient_List_Size_*.csv", "openprescribing/e2e/*gp-reg-pat-prac-quin-age.csv")
WEIGHTS_FILE = Path("openprescribing/e2e/data-1__patient_list_weightings__2013_01__prescribing_units.xlsx")
_SCHEMAS = {
    LIST_BANDS_TABLE: {"practice": "string", "extract_date": "date", "sex": "string", "age_band": "string"}
    | {"patients": "int64"},
    UNITS_TABLE: {"practice": "string", "unit": "string", "value": "float64"},
    TARGETS_TABLE: {"practice": "string", "target_exc_remote_pence": "int64", "target_inc_remote_pence": "int64"},
    NAMES_TABLE: {"code": "string", "name": "string"},
    LIST_SIZES_TABLE: {"practice": "string", "extract_date": "date", "list_month": "string", "list_size": "int64"},
}
NOT_LOADED = "no practice populations loaded"


@dataclass(frozen=True)
class PopulationImport:
    """What an import stored, and from which files."""

    allocation_file: str
    list_size_files: tuple[str, ...]
    weights_file: str | None
    practices: int
    practices_with_list: int
    practices_with_astro_pu: int
    practices_with_target: int
    lists_without_practice: int
    list_dates: tuple[str, str] | None  # the earliest and latest extract date of the lists used


def _reference(workspace: Workspace) -> Path:
    found = workspace.settings.reference_dir
    if found is None or not found.is_dir():
        raise BadInput("no reference-data directory: set OUTTURN_REFERENCE_DIR or name the files to import")
    return found


def default_list_size_files(reference_dir: Path) -> list[Path]:
    return sorted(path for pattern in LIST_SIZE_PATTERNS for path in reference_dir.glob(pattern))


def _arrow(rows: Sequence[dict[str, object]], schema: dict[str, str]) -> pa.Table:
    arrow_schema = ibis.schema(schema).to_pyarrow()
    return pa.table({name: [row[name] for row in rows] for name in schema}, schema=arrow_schema)


def _unit_rows(lists: dict[str, AgeSexList], weights: PrescribingUnitWeights | None) -> list[dict[str, object]]:
    if weights is None:
        return []
    units = [weights.astro_pu_cost, weights.astro_pu_items, *weights.star_pus]
    rows: list[dict[str, object]] = []
    for code, found in sorted(lists.items()):
        for unit in units:
            name = unit.name if unit.name.startswith("astro_pu") else f"star_pu.{unit.name}"
            rows.append({"practice": code, "unit": name, "value": prescribing_units(found, unit)})
    return rows


def _band_rows(lists: dict[str, AgeSexList]) -> list[dict[str, object]]:
    return [
        {"practice": code, "extract_date": found.extract_date, "sex": sex.value, "age_band": band}
        | {"patients": found.counts[(sex, band)]}
        for code, found in sorted(lists.items())
        for sex, band in BAND_CELLS
    ]


def _target_rows(targets: Sequence[PracticeTarget]) -> list[dict[str, object]]:
    return [
        {
            "practice": target.practice,
            "target_exc_remote_pence": target.exc_remote_pence,
            "target_inc_remote_pence": target.inc_remote_pence,
        }
        for target in targets
    ]


def _date_range(lists: Iterable[AgeSexList]) -> tuple[str, str] | None:
    dates = sorted(found.extract_date for found in lists)
    return (dates[0].isoformat(), dates[-1].isoformat()) if dates else None


def _with_list(
    record: PracticeRecord,
    found: AgeSexList | None,
    weights: PrescribingUnitWeights | None,
    *,
    profile_only: bool,
) -> PracticeRecord:
    """The practice's list size and ASTRO-PU from its latest age/sex list, where it has one.

    With ``profile_only`` (the reference data's lists, years older than the allocation file) the list gives only
    the age/sex profile: the list size stays the allocation file's ``Patients`` and the ASTRO-PU is the list's
    ASTRO-PU per patient times that list size. Where the allocation file has no ``Patients`` the list is used."""
    if found is None:
        return record
    astro = prescribing_units(found, weights.astro_pu_cost) if weights is not None else None
    if profile_only and record.list_size is not None:
        per_patient = astro / found.total if astro is not None and found.total else None
        return replace(record, astro_pu=None if per_patient is None else per_patient * record.list_size)
    return replace(record, list_size=found.total, astro_pu=astro)


def import_populations(
    workspace: Workspace,
    allocation: Path | None = None,
    list_sizes: Sequence[Path] | None = None,
    weights: Path | None = None,
) -> PopulationImport:
    """Read the allocation file, list sizes and weights (each defaulting to the reference data's) and replace the
    warehouse tables. ``list_sizes=[]`` imports none; an age/sex list without ASTRO-PU weights leaves astro_pu
    null."""
    try:
        allocation = allocation or find_allocation_file(_reference(workspace))
    except FileNotFoundError as error:
        raise BadInput(str(error)) from None
    profile_only = list_sizes is None  # the reference data's lists are older than its allocation files
    if list_sizes is None:
        list_sizes = default_list_size_files(_reference(workspace))
    if weights is None and list_sizes:
        default = _reference(workspace) / WEIGHTS_FILE
        weights = default if default.is_file() else None
    read = read_allocation_file(allocation)
    every_list = [found for path in list_sizes for found in read_list_sizes(path)]
    lists = latest_lists(every_list)
    unit_weights = read_prescribing_unit_weights(weights) if weights is not None else None
    known = {record.practice for record in read.records}
    lists_in_file = {code: found for code, found in lists.items() if code in known}
    records = [
        _with_list(record, lists_in_file.get(record.practice), unit_weights, profile_only=profile_only).as_row()
        for record in read.records
    ]
    names: list[dict[str, object]] = [{"code": code, "name": name} for code, name in sorted(read.names.items())]
    by_period = [] if profile_only else [found for found in every_list if found.practice_code in known]
    workspace.backend.store_tables(
        {
            LIST_BANDS_TABLE: _arrow(_band_rows(lists_in_file), _SCHEMAS[LIST_BANDS_TABLE]),
            UNITS_TABLE: _arrow(_unit_rows(lists_in_file, unit_weights), _SCHEMAS[UNITS_TABLE]),
            TARGETS_TABLE: _arrow(_target_rows(read.targets), _SCHEMAS[TARGETS_TABLE]),
            NAMES_TABLE: _arrow(names, _SCHEMAS[NAMES_TABLE]),
            LIST_SIZES_TABLE: _arrow(_period_rows(workspace, by_period), _SCHEMAS[LIST_SIZES_TABLE]),
            PRACTICE_POPULATIONS_TABLE: _arrow(records, dict(PRACTICE_POPULATIONS_SCHEMA)),
        }
    )
    return PopulationImport(
        allocation_file=read.source,
        list_size_files=tuple(path.name for path in list_sizes),
        weights_file=weights.name if weights is not None else None,
        practices=len(records),
        practices_with_list=len(lists_in_file),
        practices_with_astro_pu=len(lists_in_file) if unit_weights else 0,
        practices_with_target=len(read.targets),
        lists_without_practice=len(lists) - len(lists_in_file),
        list_dates=_date_range(lists_in_file.values()),
    )


def _period_rows(workspace: Workspace, lists: Sequence[AgeSexList]) -> list[dict[str, object]]:
    """The lists held by period after an import: those held before, less any the new lists replace (same
    practice and date), and the new ones (one per practice and date)."""
    new = {(found.practice_code, found.extract_date): found.total for found in lists}
    held = [row for row in _held_period_rows(workspace) if (row["practice"], row["extract_date"]) not in new]
    added = [
        {"practice": code, "extract_date": extract, "list_month": list_month(extract), "list_size": total}
        for (code, extract), total in new.items()
    ]
    return sorted([*held, *added], key=lambda row: (str(row["practice"]), str(row["extract_date"])))


def _held_period_rows(workspace: Workspace) -> list[dict[str, Any]]:
    if not workspace.backend.has_table(LIST_SIZES_TABLE):
        return []  # a workspace from before lists were held by period
    return workspace.backend.to_rows(workspace.backend.stored_table(LIST_SIZES_TABLE))


# --- reading back ------------------------------------------------------------------------------------------------


def practice_populations(
    workspace: Workspace, *, month: str | None = None, year: FinancialYear | None = None
) -> ir.Table:
    """The warehouse table ``practice_populations`` (one row per practice; see ``PRACTICE_POPULATIONS_SCHEMA``).

    With ``month`` (``YYYY-MM``) or ``year``, a practice with lists held by period has ``list_size`` the list of
    that month (the latest held up to it; the earliest when the month is before them all), or the mean of the
    year's twelve months' lists; a practice with none keeps its one list size."""
    if not workspace.backend.has_table(PRACTICE_POPULATIONS_TABLE):
        raise BadInput(NOT_LOADED, needs="populations")
    table = workspace.backend.stored_table(PRACTICE_POPULATIONS_TABLE)
    sizes = period_list_sizes(workspace, month=month, year=year)
    if not sizes:
        return table
    overlay = workspace.backend.table(
        pa.table({"period_practice": list(sizes), "period_list_size": [size for size, _ in sizes.values()]})
    )
    joined = table.left_join(overlay, table.practice == overlay.period_practice)
    columns = {name: joined[name] for name in table.columns}
    columns["list_size"] = joined.period_list_size.coalesce(joined.list_size)
    return joined.select(**columns)


def period_list_sizes(
    workspace: Workspace, *, month: str | None = None, year: FinancialYear | None = None
) -> dict[str, tuple[int, bool]]:
    """Each practice with lists held by period: its list for ``month`` or ``year`` and whether the period came
    before every list held (the earliest stood in); empty without a period or lists by period."""
    if month is not None:
        months = [month]
    elif year is not None:
        months = year_months(year)
    else:
        return {}
    held: dict[str, dict[str, int]] = {}
    for row in _held_period_rows(workspace):
        held.setdefault(row["practice"], {})[row["list_month"]] = row["list_size"]
    chosen = {practice: list_for_months(lists, months) for practice, lists in held.items()}
    return {practice: found for practice, found in chosen.items() if found is not None}


def earliest_list_note(sizes: dict[str, tuple[int, bool]]) -> str | None:
    """A note naming the practices whose period came before every list held, so their earliest list is used."""
    early = sorted(practice for practice, (_, before_first) in sizes.items() if before_first)
    if not early:
        return None
    shown = ", ".join(early[:5]) + (f" and {len(early) - 5} more" if len(early) > 5 else "")
    return f"no list held as early as the period for {len(early)} practice(s) ({shown}): their earliest list is used"


def _under(table: ir.Table, code: str | None) -> ir.Table:
    if code is None:
        return table
    code = code.upper()
    return table.filter((table.practice == code) | (table.pcn == code) | (table.sub_icb == code) | (table.icb == code))


def practice_records(workspace: Workspace, under: str | None = None) -> list[PracticeRecord]:
    """Every practice (or those at or under the organisation ``under``), ordered by code."""
    table = _under(practice_populations(workspace), under).order_by("practice")
    records = [PracticeRecord.from_row(row) for row in workspace.backend.to_rows(table)]
    if under is not None and not records:
        raise BadInput(f"no practice at or under {under.upper()!r} in the loaded populations")
    return records


def practice_targets(workspace: Workspace) -> dict[str, PracticeTarget]:
    """The 2021/22 AIF file's target allocations by practice (empty for other allocation files)."""
    if not workspace.backend.has_table(TARGETS_TABLE):
        return {}
    rows = workspace.backend.to_rows(workspace.backend.stored_table(TARGETS_TABLE))
    return {
        row["practice"]: PracticeTarget(row["practice"], row["target_exc_remote_pence"], row["target_inc_remote_pence"])
        for row in rows
    }


def organisation_names(workspace: Workspace) -> dict[str, str]:
    """Names of organisations: from the allocation file imported, overridden by those loaded into the store."""
    names: dict[str, str] = {}
    if workspace.backend.has_table(NAMES_TABLE):
        rows = workspace.backend.to_rows(workspace.backend.stored_table(NAMES_TABLE))
        names.update({row["code"]: row["name"] for row in rows})
    with workspace.store.reading() as session:
        names.update({code: org.name for code, org in repository.org_tree(session).by_code.items()})
    if workspace.backend.has_table(PRACTICE_POPULATIONS_TABLE):
        table = practice_populations(workspace).select("practice", "practice_name")
        names.update({row["practice"]: row["practice_name"] for row in workspace.backend.to_rows(table)})
    return names


@dataclass(frozen=True)
class NamedTotals:
    totals: LevelTotals
    name: str | None


def population_totals(workspace: Workspace, level: Level, under: str | None = None) -> list[NamedTotals]:
    """Populations summed per practice, PCN, sub-ICB or ICB (at or under ``under``)."""
    records = practice_records(workspace, under)
    names = organisation_names(workspace)
    return [NamedTotals(totals, names.get(totals.code or "")) for totals in roll_up(records, level)]
