"""The savings plan (QIPP) workbook finance teams keep: schemes, their monthly phasing, and targets.

Sheets (header on row 1; the case, spacing and punctuation of headers do not matter):

- ``Schemes``: reference, title, organisation, year, workstream, lead, recurrent, status, start_month,
  annual_plan, confidence, evidence_measure, negative_reason, rag_override, rag_override_reason, version.
- ``Phasing``: reference, measure (plan | delivered | forecast), M01 … M12 (or Apr … Mar). Every scheme needs a
  ``plan`` row whose months sum to its annual plan (a blank plan month is £0); ``delivered`` and ``forecast``
  rows are optional and their blank months are "not reported" / "as planned".
- ``Targets`` (optional): organisation, year, target, programme.

Every fault is a problem naming the sheet, row and column; schemes and targets come back only for clean rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from openpyxl.workbook.workbook import Workbook

from outturn.domain.money import Pence, format_pounds
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialMonth, FinancialYear
from outturn.domain.plans import parse_share
from outturn.domain.problems import Problem, ProblemsError
from outturn.domain.savings import Rag, SavingsTarget, Scheme, SchemeStatus, Workstream
from outturn.domain.savings_rules import SchemeFault
from outturn.ingest.grid import Grid, sheet_grid
from outturn.ingest.tables import (
    RawTable,
    RowReader,
    canonical_name,
    cell_problems,
    earlier_row,
    organisation_parser,
    rows_below,
    text_of,
)
from outturn.ingest.workbooks import SheetCells, open_workbook, read_sheet

T = TypeVar("T")

SCHEMES_SHEET, PHASING_SHEET, TARGETS_SHEET = "Schemes", "Phasing", "Targets"
MONTH_COLUMNS = tuple(f"m{number:02d}" for number in range(1, MONTHS_IN_YEAR + 1))
PHASING_TOTAL_COLUMN = "m01-m12"
MEASURES = MappingProxyType({
    "plan": "plan", "planned": "plan", "phasing": "plan", "forecast": "forecast", "fcst": "forecast",
    "delivered": "delivered", "delivery": "delivered", "actual": "delivered", "actuals": "delivered",
})  # fmt: skip
_RECURRENT = MappingProxyType({
    **dict.fromkeys(("recurrent", "r", "y", "yes", "true", "1"), True),
    **dict.fromkeys(("non_recurrent", "nonrecurrent", "nr", "n", "no", "false", "0"), False),
})  # fmt: skip


def _month_aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for number, column in enumerate(MONTH_COLUMNS, start=1):
        name = FinancialMonth(FinancialYear(2000), number).name.lower()
        aliases.update({f"m{number}": column, name: column, name[:3]: column, f"month_{number}": column})
    aliases["sept"] = "m06"
    return aliases


@dataclass(frozen=True)
class _SheetSpec:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)


_SHARED_ALIASES = {
    "ref": "reference", "scheme_ref": "reference", "scheme_reference": "reference", "scheme_id": "reference",
    "org": "organisation", "org_code": "organisation", "organisation_code": "organisation",
    "organization": "organisation", "financial_year": "year", "fy": "year",
}  # fmt: skip
SCHEMES = _SheetSpec(
    SCHEMES_SHEET,
    required=("reference", "title", "organisation", "year", "workstream", "status", "start_month", "annual_plan",
              "confidence"),
    optional=("lead", "recurrent", "evidence_measure", "negative_reason", "rag_override", "rag_override_reason",
              "version"),
    aliases=MappingProxyType({
        **_SHARED_ALIASES, "scheme": "title", "scheme_name": "title", "scheme_title": "title", "name": "title",
        "scheme_lead": "lead", "owner": "lead", "recurrent_non_recurrent": "recurrent", "recurring": "recurrent",
        "start": "start_month", "plan": "annual_plan", "annual_saving": "annual_plan", "full_year_plan": "annual_plan",
        "likelihood": "confidence", "evidence": "evidence_measure", "override": "rag_override", "rag": "rag_override",
        "override_reason": "rag_override_reason",
    }),
)  # fmt: skip
PHASING = _SheetSpec(
    PHASING_SHEET,
    required=("reference", "measure", *MONTH_COLUMNS),
    aliases=MappingProxyType({**_SHARED_ALIASES, **_month_aliases()}),
)
TARGETS = _SheetSpec(
    TARGETS_SHEET,
    required=("organisation", "year", "target"),
    optional=("programme",),
    aliases=MappingProxyType({**_SHARED_ALIASES, "savings_target": "target", "qipp_target": "target"}),
)
_SHEET_ORDER = {canonical_name(spec.name): index for index, spec in enumerate((SCHEMES, PHASING, TARGETS))}


# --- sheets to tables -------------------------------------------------------------------------------------------


def _column_name(cell: object, aliases: Mapping[str, str]) -> str:
    name = cell.strftime("%B").lower() if isinstance(cell, date) else canonical_name(cell)
    month = aliases.get(name.split("_")[0]) if re.fullmatch(r"[a-z]+_\d{2}(\d{2})?", name) else None  # Apr-25
    return month if month in MONTH_COLUMNS else aliases.get(name, name)


def _sheet_table(grid: Grid, spec: _SheetSpec) -> tuple[RawTable | None, list[Problem]]:
    """The sheet's cells by canonical column name; None, with the problems, when its columns are wrong."""
    source, title, rows = grid.source, grid.sheet or "", grid.rows
    header = [_column_name(cell, spec.aliases) for cell in rows[0]] if rows else []
    found = ", ".join(name for name in header if name) or "nothing"
    problems = [
        Problem(source, f"missing column {column!r} (found: {found})", row=1, column=column, sheet=title)
        for column in spec.required
        if column not in header
    ]
    wanted = (*spec.required, *spec.optional)
    problems += [
        Problem(source, f"column {column!r} appears more than once", row=1, column=column, sheet=title)
        for column in wanted
        if header.count(column) > 1
    ]
    problems += _months_beyond_the_year(source, title, header, rows)
    if problems:
        return None, problems
    return rows_below(grid, 0, {column: header.index(column) for column in wanted if column in header}), []


_MONTH_LIKE = re.compile(r"(?:m|p|month|period)_?0*([0-9]+)")


def _months_beyond_the_year(
    source: str, title: str, header: list[str], rows: Sequence[Sequence[object]]
) -> list[Problem]:
    """A column for a month past M12 (M13, P13, Month 14: a year-end adjustment) holding a value: refused rather
    than silently left out of the year."""
    problems = []
    for index, name in enumerate(header):
        match = _MONTH_LIKE.fullmatch(name)
        if match is None or 1 <= int(match[1]) <= MONTHS_IN_YEAR:
            continue
        number = next((n for n, row in enumerate(rows[1:], start=2) if index < len(row) and text_of(row[index])), None)
        if number is not None:
            reason = f"a month column outside the year (M01 to M12) holds a value: {text_of(rows[0][index])!r}"
            problems.append(Problem(source, reason, row=number, column=name, sheet=title))
    return problems


def _find_sheet(names: list[str], wanted: str) -> str | None:
    """The sheet called ``wanted``, else one whose name differs only in case or spacing."""
    return wanted if wanted in names else next((n for n in names if canonical_name(n) == canonical_name(wanted)), None)


def _open_workbook(path: Path) -> tuple[dict[str, RawTable], list[Problem]]:
    """The usable tables of the three sheets, keyed by the sheet's canonical name, and the problems found."""
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return {}, [Problem(path.name, "expected an Excel workbook (.xlsx)")]
    try:
        with open_workbook(path) as workbook:
            sheets = {spec.name: _sheet(workbook, spec, path.name) for spec in (SCHEMES, PHASING, TARGETS)}
    except ProblemsError as error:
        return {}, list(error.problems)
    tables: dict[str, RawTable] = {}
    problems: list[Problem] = []
    for spec, sheet in zip((SCHEMES, PHASING, TARGETS), sheets.values(), strict=True):
        if sheet is None:
            if spec is not TARGETS:
                reason = f"no sheet named {spec.name!r} (sheets: {', '.join(workbook.sheetnames)})"
                problems.append(Problem(path.name, reason, sheet=spec.name))
            continue
        grid = sheet_grid(path.name, sheet)
        table, sheet_problems = _sheet_table(grid, spec)
        if table is not None:
            sheet_problems += cell_problems(grid, table, 0)
            tables[spec.name] = table
        problems += sheet_problems
    return tables, problems


def _sheet(workbook: Workbook, spec: _SheetSpec, source: str) -> SheetCells | None:
    title = _find_sheet(workbook.sheetnames, spec.name)
    return None if title is None else read_sheet(workbook, title, source)


# --- cells ------------------------------------------------------------------------------------------------------


def _recurrent(text: str) -> bool:
    found = _RECURRENT.get(canonical_name(text))
    if found is None:
        raise ValueError(f"not recurrent or non-recurrent: {text!r} (Recurrent, Non-recurrent, Y or N)")
    return found


def _version(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"version {text!r} must be a whole number from 1")
    return int(text)


# --- schemes ----------------------------------------------------------------------------------------------------


@dataclass
class _SchemeRow:
    number: int
    reference: str
    annual_plan: Pence | None
    fields: dict[str, Any] | None  # the Scheme's fields other than the months; None when the row has problems


def _scheme_fields(row: RowReader, known: Collection[str]) -> dict[str, Any]:
    return {
        "reference": row.text("reference"),
        "title": row.parse("title", str),
        "org_code": row.parse("organisation", organisation_parser(known)),
        "year": (year := row.parse("year", FinancialYear.parse)),
        "workstream": row.parse("workstream", Workstream.parse),
        "lead": row.text("lead"),
        "recurrent": row.parse("recurrent", _recurrent, required=False),
        "status": row.parse("status", SchemeStatus.parse),
        "start_month": row.month("start_month", year),
        "confidence": row.parse("confidence", parse_share),
        "evidence_measure": row.text("evidence_measure"),
        "negative_reason": row.text("negative_reason"),
        "rag_override": row.parse("rag_override", Rag.parse, required=False),
        "rag_override_reason": row.text("rag_override_reason"),
        "version": row.parse("version", _version, required=False) or 1,
    }


def _read_schemes(table: RawTable, known: Collection[str]) -> tuple[list[_SchemeRow], list[Problem]]:
    rows: list[_SchemeRow] = []
    problems: list[Problem] = []
    first_row_of: dict[str, int] = {}
    for number, cells in table.rows:
        row = RowReader(table, number, cells)
        fields = _scheme_fields(row, known)
        annual_plan = row.money("annual_plan", required=True)
        if annual_plan is not None and annual_plan < 0 and not fields["negative_reason"]:
            row.fault(f"a negative saving of {format_pounds(-annual_plan)} needs a reason", "negative_reason")
        if fields["rag_override"] is not None and not fields["rag_override_reason"]:
            row.fault("a RAG override needs a reason", "rag_override_reason")
        reference = fields["reference"]
        earlier = earlier_row(first_row_of, reference, number) if reference else None
        if not reference:
            row.fault("a scheme needs a reference", "reference")
        elif earlier is not None:
            row.fault(f"duplicate reference {reference!r} (first on row {earlier})", "reference")
        problems += row.problems
        if reference and earlier is None:
            rows.append(_SchemeRow(number, reference, annual_plan, None if row.problems else fields))
    return rows, problems


# --- phasing ----------------------------------------------------------------------------------------------------


@dataclass
class _Phasing:
    table: RawTable
    first_row_of: dict[tuple[str, str], int] = field(default_factory=dict)  # every row, clean or not
    months: dict[tuple[str, str], tuple[Pence | None, ...]] = field(default_factory=dict)  # clean rows only
    faulty: set[str] = field(default_factory=set)  # references with a faulty row


def _measure(text: str) -> str:
    found = MEASURES.get(canonical_name(text))
    if found is None:
        raise ValueError(f"unknown measure {text!r} (plan, delivered or forecast)")
    return found


def _read_phasing(table: RawTable, references: Collection[str] | None) -> tuple[_Phasing, list[Problem]]:
    """``references`` are the schemes' references, or None when the Schemes sheet could not be read."""
    phasing = _Phasing(table)
    problems: list[Problem] = []
    for number, cells in table.rows:
        row = RowReader(table, number, cells)
        reference = row.parse("reference", str)
        if reference is not None and references is not None and reference not in references:
            row.fault(f"no scheme with reference {reference!r} on sheet {SCHEMES_SHEET!r}", "reference")
        measure = row.parse("measure", _measure)
        months = tuple(row.money(column, required=False) for column in MONTH_COLUMNS)
        if reference is not None and measure is not None:
            earlier = earlier_row(phasing.first_row_of, (reference, measure), number)
            if earlier is not None:
                row.fault(f"duplicate {measure} row for {reference!r} (first on row {earlier})", "measure")
            elif not row.problems:
                phasing.months[reference, measure] = months
        if row.problems and reference is not None:
            phasing.faulty.add(reference)
        problems += row.problems
    return phasing, problems


def _phasing_problem(scheme_table: RawTable, row: _SchemeRow, phasing: _Phasing) -> Problem | None:
    key = (row.reference, "plan")
    if key not in phasing.first_row_of:
        reason = f"scheme {row.reference!r} has no plan row on sheet {phasing.table.sheet!r}"
        return scheme_table.problem(reason, row.number, "reference")
    plan = phasing.months.get(key)
    if plan is None or row.annual_plan is None:
        return None  # already reported
    total = sum(value or 0 for value in plan)
    if total == row.annual_plan:
        return None
    reason = (
        f"the plan months of {row.reference!r} sum to {format_pounds(total)} but its annual plan "
        f"(sheet {scheme_table.sheet!r} row {row.number}) is {format_pounds(row.annual_plan)}"
    )
    return phasing.table.problem(reason, phasing.first_row_of[key], PHASING_TOTAL_COLUMN)


SchemeCheck = Callable[[Scheme], Sequence[SchemeFault]]
_MEASURE_OF_FIELD = MappingProxyType({"planned": "plan", "delivered": "delivered", "forecast": "forecast"})


def _fault_problem(scheme_table: RawTable, row: _SchemeRow, phasing: _Phasing, fault: SchemeFault) -> Problem:
    """The cell a scheme rule points at: a month on the Phasing sheet, else the scheme's row on Schemes."""
    measure = _MEASURE_OF_FIELD.get(fault.field)
    if measure is None or fault.month is None:
        return scheme_table.problem(fault.reason, row.number, fault.field)
    column = MONTH_COLUMNS[fault.month - 1]
    phasing_row = phasing.first_row_of.get((row.reference, measure))
    if phasing_row is None:  # a value the workbook leaves out (no such row) but the store holds
        reason = f"{fault.reason} (scheme {row.reference!r} has no {measure} row)"
        return Problem(phasing.table.source, reason, column=column, sheet=phasing.table.sheet)
    return phasing.table.problem(fault.reason, phasing_row, column)


def _assemble(
    scheme_table: RawTable, rows: list[_SchemeRow], phasing: _Phasing, check: SchemeCheck
) -> tuple[list[Scheme], list[Problem]]:
    schemes: list[Scheme] = []
    problems: list[Problem] = []
    blank: tuple[Pence | None, ...] = (None,) * MONTHS_IN_YEAR
    for row in rows:
        problem = _phasing_problem(scheme_table, row, phasing)
        if problem is not None:
            problems.append(problem)
        plan = phasing.months.get((row.reference, "plan"))
        if problem is not None or row.fields is None or plan is None or row.reference in phasing.faulty:
            continue
        fields = {key: value for key, value in row.fields.items() if value is not None}
        try:
            scheme = Scheme(
                **fields,
                planned=tuple(value or 0 for value in plan),
                delivered=phasing.months.get((row.reference, "delivered"), blank),
                forecast=phasing.months.get((row.reference, "forecast"), blank),
            )
        except ValueError as error:  # pragma: no cover - every rule of Scheme is checked cell by cell above
            problems.append(scheme_table.problem(str(error), row.number))
            continue
        faults = check(scheme)
        problems += [_fault_problem(scheme_table, row, phasing, fault) for fault in faults]
        if not faults:
            schemes.append(scheme)
    return schemes, problems


def _no_check(_scheme: Scheme) -> Sequence[SchemeFault]:
    return ()


# --- targets ----------------------------------------------------------------------------------------------------


def _read_targets(table: RawTable, known: Collection[str]) -> tuple[list[SavingsTarget], list[Problem]]:
    targets: list[SavingsTarget] = []
    problems: list[Problem] = []
    first_row_of: dict[tuple[str, FinancialYear], int] = {}
    for number, cells in table.rows:
        row = RowReader(table, number, cells)
        org_code = row.parse("organisation", organisation_parser(known))
        year = row.parse("year", FinancialYear.parse)
        target = row.money("target", required=True)
        if target is not None and target < 0:
            row.fault("a savings target cannot be negative", "target")
        if org_code is not None and year is not None:
            earlier = earlier_row(first_row_of, (org_code, year), number)
            if earlier is not None:
                row.fault(f"duplicate target for {org_code} {year.label} (first on row {earlier})", "organisation")
        problems += row.problems
        if not row.problems and org_code is not None and year is not None and target is not None:
            targets.append(SavingsTarget(org_code, year, target, row.text("programme")))
    return targets, problems


# --- the workbook -----------------------------------------------------------------------------------------------


def _problem_order(problem: Problem) -> tuple[int, int]:
    return _SHEET_ORDER.get(canonical_name(problem.sheet), -1), problem.row or 0


def read_savings_workbook(
    path: Path, *, known_org_codes: Collection[str], check: SchemeCheck = _no_check
) -> tuple[list[Scheme], list[SavingsTarget], list[Problem]]:
    """Schemes and targets from the clean rows, and every problem (sheet, row, column, reason).

    ``check`` judges each scheme read cleanly by the rules for storing it (the service passes the scheme rules,
    ``domain.savings_rules``, against what is stored); each fault it finds is a problem at its cell. The caller
    stores nothing when there is any problem.
    """
    known = frozenset(known_org_codes)
    tables, problems = _open_workbook(path)
    scheme_table, phasing_table = tables.get(SCHEMES_SHEET), tables.get(PHASING_SHEET)
    rows, scheme_problems = _read_schemes(scheme_table, known) if scheme_table is not None else ([], [])
    schemes: list[Scheme] = []
    if phasing_table is not None:
        references = None if scheme_table is None else {row.reference for row in rows}
        phasing, phasing_problems = _read_phasing(phasing_table, references)
        problems += phasing_problems
        if scheme_table is not None:
            schemes, assembly_problems = _assemble(scheme_table, rows, phasing, check)
            problems += assembly_problems
    target_table = tables.get(TARGETS_SHEET)
    targets, target_problems = _read_targets(target_table, known) if target_table is not None else ([], [])
    problems += scheme_problems + target_problems
    return schemes, targets, sorted(problems, key=_problem_order)
