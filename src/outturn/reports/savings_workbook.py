"""The savings plan (QIPP) workbook: schemes, their monthly phasing and targets, as finance teams keep them.

Writes the three sheets ``outturn.ingest.savings_workbook`` reads back exactly: money as numbers in pounds
(``#,##0.00``), confidence as a percentage number, blank months where nothing is reported or forecast.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from outturn.domain.money import Pence, format_pounds
from outturn.domain.periods import MONTHS_IN_YEAR
from outturn.domain.savings import SavingsTarget, Scheme

MONEY_FORMAT = "#,##0.00;(#,##0.00)"  # negatives in brackets, as every surface shows them
SCHEME_HEADERS = (
    "Reference", "Title", "Organisation", "Year", "Workstream", "Lead", "Recurrent", "Status", "Start month",
    "Annual plan", "Confidence", "Evidence measure", "Negative reason", "RAG override", "RAG override reason",
    "Version",
)  # fmt: skip
PHASING_HEADERS = ("Reference", "Measure", *(f"M{number:02d}" for number in range(1, MONTHS_IN_YEAR + 1)))
TARGET_HEADERS = ("Organisation", "Year", "Target", "Programme")
# A float carries 15 significant decimal digits exactly: larger amounts and finer shares are written as text.
_EXACT_DIGITS = 15
_MAX_WIDTH = 60

Cell = tuple[object, str | None]  # a value and its number format


def _money(pence: Pence | None) -> Cell:
    if pence is None:
        return None, None
    if abs(pence) >= 10**_EXACT_DIGITS:
        return format_pounds(pence), None
    return Decimal(pence).scaleb(-2), MONEY_FORMAT


def _share(share: Decimal) -> Cell:
    if len(share.normalize().as_tuple().digits) > _EXACT_DIGITS:
        return str(share), None
    places = max(0, -(share * 100).normalize().as_tuple().exponent)  # type: ignore[operator]
    return share, "0%" if places == 0 else "0." + "0" * places + "%"


def _text(value: str) -> Cell:
    return value or None, None


def _put_row(sheet: Worksheet, row_number: int, cells: Sequence[Cell]) -> None:
    for column, (value, number_format) in enumerate(cells, start=1):
        if value is None:
            continue
        cell = sheet.cell(row=row_number, column=column, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # text, even if it starts with "=" or reads like an error code
        if number_format:
            cell.number_format = number_format


def _scheme_cells(scheme: Scheme) -> list[Cell]:
    return [
        _text(scheme.reference),
        _text(scheme.title),
        _text(scheme.org_code),
        _text(scheme.year.label),
        _text(scheme.workstream.label),
        _text(scheme.lead),
        _text("Recurrent" if scheme.recurrent else "Non-recurrent"),
        _text(scheme.status.value.replace("_", " ")),
        _text(f"M{scheme.start_month:02d}"),
        _money(scheme.plan_pence),
        _share(scheme.confidence),
        _text(scheme.evidence_measure),
        _text(scheme.negative_reason),
        _text(scheme.rag_override.value.capitalize() if scheme.rag_override else ""),
        _text(scheme.rag_override_reason),
        (scheme.version, None),
    ]


def _phasing_rows(scheme: Scheme) -> list[list[Cell]]:
    rows = [[_text(scheme.reference), _text("plan"), *(_money(value) for value in scheme.planned)]]
    for measure, months in (("delivered", scheme.delivered), ("forecast", scheme.forecast)):
        if any(value is not None for value in months):
            rows.append([_text(scheme.reference), _text(measure), *(_money(value) for value in months)])
    return rows


def _target_cells(target: SavingsTarget) -> list[Cell]:
    return [_text(target.org_code), _text(target.year.label), _money(target.target_pence), _text(target.programme)]


def _width(value: object, number_format: str | None) -> int:
    if number_format == MONEY_FORMAT and isinstance(value, Decimal):
        return len(f"{value:,.2f}")
    return len(str(value)) if value is not None else 0


def _fill_sheet(sheet: Worksheet, headers: Sequence[str], rows: Sequence[Sequence[Cell]], freeze: str) -> None:
    widths = [len(header) for header in headers]
    _put_row(sheet, 1, [(header, None) for header in headers])
    for row_number, cells in enumerate(rows, start=2):
        _put_row(sheet, row_number, cells)
        widths = [max(width, _width(*cell)) for width, cell in zip(widths, cells, strict=True)]
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = min(width + 3, _MAX_WIDTH)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = freeze


def write_savings_workbook(path: Path, schemes: Sequence[Scheme], targets: Sequence[SavingsTarget] = ()) -> Path:
    """Write the Schemes, Phasing and Targets sheets to ``path`` (replacing it) and return ``path``."""
    workbook = Workbook()
    schemes_sheet = workbook.active
    schemes_sheet.title = "Schemes"
    _fill_sheet(schemes_sheet, SCHEME_HEADERS, [_scheme_cells(scheme) for scheme in schemes], "C2")
    phasing = [row for scheme in schemes for row in _phasing_rows(scheme)]
    _fill_sheet(workbook.create_sheet("Phasing"), PHASING_HEADERS, phasing, "C2")
    _fill_sheet(workbook.create_sheet("Targets"), TARGET_HEADERS, [_target_cells(t) for t in targets], "A2")
    workbook.save(path)
    return path
