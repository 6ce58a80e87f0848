"""The HSCIC prescribing-unit weights (ASTRO-PU, STAR-PU): the ``ASTRO-PUs`` and ``STAR-PUs`` sheets of the
workbook, as OpenPrescribing reads them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from outturn.domain.populations import ASTRO_BANDS, BandWeights, Sex
from outturn.domain.problems import Problem, ProblemsError
from outturn.ingest.grid import read_sheets
from outturn.ingest.tables import file_fault, text_of


@dataclass(frozen=True)
class PrescribingUnitWeights:
    """The HSCIC 2013 weights: ASTRO-PU cost- and item-based, and each STAR-PU by OpenPrescribing's name for it."""

    astro_pu_cost: BandWeights
    astro_pu_items: BandWeights
    star_pus: tuple[BandWeights, ...]


Cells = Sequence[Sequence[object]]


def _band_label(cell: object) -> str:
    """``05-14`` (the item-based block's spelling) is ``5-14``."""
    return re.sub(r"^0(\d)", r"\1", text_of(cell))


def _weights_block(name: str, cells: Cells, header_row: int, column: int, sheet: str, source: str) -> BandWeights:
    """The nine rows under an ``Age Band | Male | Female`` header at (``header_row``, ``column``), 0-based."""
    weights: dict[tuple[Sex, str], float] = {}
    problems = []
    for offset, band in enumerate(ASTRO_BANDS, start=1):
        row = cells[header_row + offset] if header_row + offset < len(cells) else ()
        label = _band_label(row[column] if column < len(row) else None)
        if label != band:
            problems.append(
                Problem(
                    source, f"{name}: expected age band {band}, found {label!r}", header_row + offset + 1, sheet=sheet
                )
            )
            continue
        for shift, sex in ((1, Sex.MALE), (2, Sex.FEMALE)):
            value = row[column + shift] if column + shift < len(row) else None
            if isinstance(value, bool) or not isinstance(value, int | float):
                reason = f"{name}: the {sex.value} {band} weight is not a number: {value!r}"
                problems.append(Problem(source, reason, header_row + offset + 1, sheet=sheet))
            else:
                weights[(sex, band)] = float(value)
    if problems:
        raise ProblemsError(problems, f"cannot import {source}")
    return BandWeights(name, weights)


def _astro_block(cells: Cells, title: str, name: str, source: str) -> BandWeights:
    """The 2013 block (columns A-C) under the title row ``Cost-based`` or ``Item-based`` of sheet ASTRO-PUs."""
    starts = [index for index, row in enumerate(cells) if row and text_of(row[0]).lower() == title.lower()]
    for start in starts:
        for index in range(start + 1, min(start + 6, len(cells))):
            if cells[index] and text_of(cells[index][0]) == "Age Band":
                return _weights_block(name, cells, index, 0, "ASTRO-PUs", source)
    raise file_fault(source, f"sheet ASTRO-PUs: no {title} ASTRO-PU table (a title row then an Age Band header)")


def star_pu_name(title: str) -> str:
    """OpenPrescribing's name for a STAR-PU (``calculate_star_pu_weights``): ``Ulcer healing drugs (BNF 1.3) COST
    based STAR PU`` is ``ulcer_healing_drugs_cost``."""
    name = re.sub(r"\(.+?\)\s*", "", title).replace(" based STAR PU", "").replace("  ", " ").strip()
    return name.replace(" ", "_").replace("&", "and").lower()


def _star_pus(cells: Cells, source: str) -> tuple[BandWeights, ...]:
    found = []
    for index, row in enumerate(cells):
        title = text_of(row[0]) if row else ""
        if not title.upper().rstrip().endswith("STAR PU"):
            continue
        header = next(
            (
                row_index
                for row_index in range(index + 1, min(index + 5, len(cells)))
                if len(cells[row_index]) > 2 and text_of(cells[row_index][2]) == "Age Band"
            ),
            None,
        )
        if header is None:
            raise file_fault(source, f"sheet STAR-PUs: no Age Band header below {title!r}", index + 1)
        found.append(_weights_block(star_pu_name(title), cells, header, 2, "STAR-PUs", source))
    if not found:
        raise file_fault(source, "sheet STAR-PUs: no STAR-PU tables found")
    return tuple(found)


def read_prescribing_unit_weights(path: Path) -> PrescribingUnitWeights:
    """The HSCIC prescribing-units workbook: the 2013 ASTRO-PU weights (cost- and item-based) and STAR-PUs."""
    sheets = read_sheets(path, ("ASTRO-PUs", "STAR-PUs"))
    astro, star = sheets["ASTRO-PUs"].rows, sheets["STAR-PUs"].rows
    return PrescribingUnitWeights(
        _astro_block(astro, "Cost-based", "astro_pu_cost", path.name),
        _astro_block(astro, "Item-based", "astro_pu_items", path.name),
        _star_pus(star, path.name),
    )
