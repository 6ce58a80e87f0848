"""SYNTHETIC emergency readmissions: non-elective spells of a patient discharged from the same provider within 30 days.

The national indicator (NHS Outcomes Framework 3b / CCG Outcomes Indicator Set 3.2, "Emergency readmissions within
30 days of discharge from hospital", NHS Digital) counts emergency admissions occurring 0-29 days after the
patient's last discharge against the ordinary spells discharged (day cases, cancer and obstetrics excluded): 13.8% in
England in 2017/18, up from 12.5% in 2013/14, and from 12.7% in the least to 14.9% in the most deprived areas
(NHS Digital, "Emergency readmissions published for first time in five years", March 2019). That counts
readmissions to any hospital; the demo draws those to the same provider (the ones a contract's readmission rule
can withhold payment for), so it uses a rate a little below the national one: ``READMISSION_RATE`` of the ordinary
(elective and non-elective) spells are followed by an emergency readmission.

A readmission is one of the chunk's own non-elective spells made over to the patient of an earlier ordinary spell
(same patient, practice, commissioner and provider; a child's spell to a child's, an adult's to an adult's) and
admitted 0-29 days after that spell's discharge, most in the first fortnight. Row counts and every other column are
unchanged, so chunked writing and its determinism are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from outturn.demo.reference_inputs import BoolArray, IntArray

READMISSION_RATE = 0.12  # same-provider emergency readmissions per ordinary spell discharged
READMISSION_WINDOW_DAYS = 30  # admitted 0-29 days after the last discharge


@dataclass(frozen=True)
class Readmissions:
    """Rows of a chunk remade as readmissions: ``rows`` take the patient of ``index`` and are admitted on ``day``."""

    rows: IntArray
    index: IntArray
    day: IntArray


def _gaps(rng: np.random.Generator, size: int) -> IntArray:
    """Days from discharge to readmission, 0-29, front-loaded (about half in the first week and a half)."""
    return np.asarray(np.floor(READMISSION_WINDOW_DAYS * rng.beta(1.0, 1.8, size)), dtype=np.int64)


def _pairs(
    rng: np.random.Generator, ordinary: IntArray, emergency: IntArray, discharge: IntArray, los: IntArray, last_day: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Within one group of spells: readmitted rows (from ``emergency``), their index spells (from ``ordinary``, not
    readmitted themselves) and the day each readmission is admitted."""
    count = min(int(rng.binomial(len(ordinary), READMISSION_RATE)), len(emergency), len(ordinary) // 2)
    if count == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    rows = rng.choice(emergency, size=count, replace=False)
    readmitted = np.zeros(len(discharge), dtype=np.bool_)
    readmitted[rows] = True
    candidates = ordinary[~readmitted[ordinary]]  # not setdiff1d: that sorts a million rows a chunk
    index = rng.choice(candidates, size=count, replace=False)
    day = discharge[index] + _gaps(rng, count)
    day = np.minimum(day, last_day - los[rows])  # the readmission's discharge stays within the year
    kept = day >= discharge[index]
    return rows[kept], index[kept], day[kept]


def draw_readmissions(
    rng: np.random.Generator,
    *,
    ordinary: BoolArray,
    emergency: BoolArray,
    child: BoolArray,
    admitted: IntArray,
    los: IntArray,
    last_day: int,
) -> Readmissions:
    """Readmissions among a chunk's spells (days of the year from 0): ``ordinary`` spells can be index spells,
    ``emergency`` ones can be remade as readmissions; ``child`` keeps paediatric spells with children's."""
    discharge = admitted + los
    found: list[tuple[IntArray, IntArray, IntArray]] = []
    for group in (child, ~child):
        found.append(
            _pairs(rng, np.flatnonzero(ordinary & group), np.flatnonzero(emergency & group), discharge, los, last_day)
        )
    rows, index, day = (np.concatenate(parts).astype(np.int64) for parts in zip(*found, strict=True))
    return Readmissions(rows, index, day)
