"""SYNTHETIC admitted patient care: elective, day-case and non-elective spells, with emergency readmissions.

- HRG mix of elective, day-case and non-elective spells: National Cost Collection activity for the matching
  department, restricted to the HRGs with a national price for that point of delivery in the year's tariff;
- the share of elective, day-case and non-elective spells: National Cost Collection totals by department;
- length of stay per HRG around its tariff trim point: elective spells of 1 day up to the trim point with a tail
  beyond it (so excess bed days occur); day cases 0 days; non-elective spells of 0-1 days in the proportion the
  Cost Collection's short-stay activity gives for the HRG (so the short-stay adjustment applies), otherwise
  2 days up to the trim point with a tail beyond it;
- paediatric HRGs see children; one treatment function per HRG, plausible for its chapter;
- emergency readmissions of ordinary spells' patients (``readmissions.py``).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from outturn.demo.activity.draws import (
    UNKNOWN_HRG,
    CodeMix,
    code_column,
    hrg_mix,
    int_column,
    row_ids,
    string_array,
    unpriced_rows,
)
from outturn.demo.activity.financial_year import FinancialYear
from outturn.demo.activity.population import ADULT_MIN_AGE, CHILD_MAX_AGE, People, Population, draw_ages
from outturn.demo.activity.readmissions import draw_readmissions
from outturn.demo.reference_inputs import MAX_AGE, BoolArray, FloatArray, IntArray, TariffHrgs, ncc_activity
from outturn.domain.activity import AdmissionMethod

ELECTIVE_TAIL_SHARE = 0.02  # elective spells beyond the trim point
NON_ELECTIVE_TAIL_SHARE = 0.05  # non-elective spells of 2+ days beyond the trim point
SAME_DAY_SHARE_OF_SHORT_STAYS = 0.45  # non-elective 0-1 day stays discharged the same day
_DEFAULT_SHORT_STAY_SHARE = 0.57  # of non-elective spells, where the Cost Collection gives none
_DEFAULT_METHOD_SHARES = (0.06, 0.38, 0.56)  # the 2024/25 Cost Collection's shares

# Admission methods, in the order of AdmittedMix.method_cdf and hrg_mixes.
_ELECTIVE, _DAY_CASE, _NON_ELECTIVE = 0, 1, 2
_METHODS = (AdmissionMethod.ELECTIVE, AdmissionMethod.DAY_CASE, AdmissionMethod.NON_ELECTIVE)

# The treatment function of an admitted spell, by the HRG's chapter (its first letter); one is chosen per HRG.
_CHAPTER_TREATMENT_FUNCTIONS: Mapping[str, tuple[str, ...]] = {
    "A": ("300", "400"),
    "B": ("130",),
    "C": ("120", "140", "144"),
    "D": ("340", "300"),
    "E": ("320", "300"),
    "F": ("100", "301", "104", "106"),
    "G": ("100", "301", "105", "306"),
    "H": ("110",),
    "J": ("330", "100", "103", "160"),
    "K": ("302", "307", "300"),
    "L": ("101", "361"),
    "M": ("502",),
    "N": ("501",),
    "P": ("420",),
    "Q": ("107",),
    "S": ("303",),
    "W": ("300", "350"),
    "Y": ("107",),
}
_DEFAULT_APC_TREATMENT_FUNCTION = "300"

# National Cost Collection department names (current layout, then the older short codes).
_NCC_ELECTIVE = ("elective inpatients", "el")
_NCC_DAY_CASE = ("daycase", "day case", "dc")
_NCC_NEL_SHORT = ("non-elective inpatient - short stay", "nes", "nelss")
_NCC_NEL_LONG = ("non-elective inpatient - long stay", "nel")


@dataclass(frozen=True)
class AdmittedMix:
    """What an admitted spell is drawn from: its admission method, HRG, length of stay and treatment function."""

    method_cdf: FloatArray  # elective, day case, non-elective
    hrgs: pa.Array  # the tariff's HRGs, then UNKNOWN_HRG
    hrg_mixes: tuple[CodeMix, CodeMix, CodeMix]  # by admission method
    elective_trim: IntArray
    non_elective_trim: IntArray
    short_stay_share: FloatArray
    paediatric_hrg: BoolArray
    treatment_function: IntArray  # per HRG, into treatment_functions
    treatment_functions: pa.Array


def _spell_treatment_function(hrg: str) -> str:
    """One treatment function per HRG, chosen (stably) among those plausible for its chapter."""
    choices = _CHAPTER_TREATMENT_FUNCTIONS.get(hrg[0], (_DEFAULT_APC_TREATMENT_FUNCTION,))
    return choices[zlib.crc32(hrg.encode()) % len(choices)]


def build_admitted_mix(tariff: TariffHrgs, ncc: Mapping[str, Mapping[str, float]]) -> AdmittedMix:
    """The spell mix calibrated to the tariff's admitted HRGs and the Cost Collection's admitted activity."""
    elective = ncc_activity(ncc, _NCC_ELECTIVE)
    day_case = ncc_activity(ncc, _NCC_DAY_CASE)
    nel_short = ncc_activity(ncc, _NCC_NEL_SHORT)
    nel_long = ncc_activity(ncc, _NCC_NEL_LONG)
    non_elective = {code: nel_short.get(code, 0.0) + nel_long.get(code, 0.0) for code in {*nel_short, *nel_long}}
    totals = np.array([sum(elective.values()), sum(day_case.values()), sum(non_elective.values())])
    if totals.sum() <= 0:
        totals = np.array(_DEFAULT_METHOD_SHARES)
    overall_short = (
        sum(nel_short.values()) / max(sum(non_elective.values()), 1.0) if non_elective else _DEFAULT_SHORT_STAY_SHARE
    )
    short_share = np.array(
        [
            nel_short.get(code, 0.0) / non_elective[code] if non_elective.get(code) else overall_short
            for code in tariff.codes
        ]
    )
    tf_codes = sorted(
        {tf for tfs in _CHAPTER_TREATMENT_FUNCTIONS.values() for tf in tfs} | {_DEFAULT_APC_TREATMENT_FUNCTION}
    )
    return AdmittedMix(
        method_cdf=np.cumsum(totals / totals.sum()),
        hrgs=string_array([*tariff.codes, UNKNOWN_HRG]),
        hrg_mixes=(
            hrg_mix(tariff.codes, tariff.elective, elective),
            hrg_mix(tariff.codes, tariff.day_case, day_case),
            hrg_mix(tariff.codes, tariff.non_elective, non_elective),
        ),
        elective_trim=tariff.elective_trim,
        non_elective_trim=tariff.non_elective_trim,
        short_stay_share=short_share,
        paediatric_hrg=np.array([code.startswith("P") for code in tariff.codes], dtype=np.bool_),
        treatment_function=np.array(
            [tf_codes.index(_spell_treatment_function(code)) for code in tariff.codes], dtype=np.int64
        ),
        treatment_functions=string_array(tf_codes),
    )


# --- drawing one chunk of spells ---------------------------------------------------------------------------------


def _draw_methods_and_hrgs(mix: AdmittedMix, rng: np.random.Generator, size: int) -> tuple[IntArray, IntArray]:
    """Each spell's admission method (index into _METHODS) and HRG (index into the tariff's HRGs)."""
    method = np.searchsorted(mix.method_cdf, rng.random(size) * mix.method_cdf[-1], side="right")
    method = np.minimum(method, _NON_ELECTIVE)
    hrg = np.zeros(size, dtype=np.int64)
    for number, method_mix in enumerate(mix.hrg_mixes):
        mask = method == number
        hrg[mask] = method_mix.draw(rng, int(mask.sum()))
    return method, hrg


def _elective_stays(mix: AdmittedMix, rng: np.random.Generator, hrg: IntArray) -> IntArray:
    """1 day up to the trim point, a few beyond it."""
    trim = mix.elective_trim[hrg]
    body = 1 + np.floor(trim * rng.beta(1.0, 3.0, len(trim))).astype(np.int64)
    tail = trim + rng.geometric(1.0 / np.maximum(2.0, trim / 4.0))
    return np.asarray(np.where(rng.random(len(trim)) < ELECTIVE_TAIL_SHARE, tail, np.minimum(body, trim)))


def _non_elective_stays(mix: AdmittedMix, rng: np.random.Generator, hrg: IntArray) -> IntArray:
    """Short stays (0-1 days) in the HRG's short-stay share, otherwise 2 days up to the trim point, a few beyond."""
    trim = mix.non_elective_trim[hrg]
    short = rng.random(len(trim)) < mix.short_stay_share[hrg]
    short_los = (rng.random(len(trim)) >= SAME_DAY_SHARE_OF_SHORT_STAYS).astype(np.int64)
    body = 2 + np.floor((trim - 1) * rng.beta(1.2, 3.0, len(trim))).astype(np.int64)
    tail = trim + rng.geometric(1.0 / np.maximum(2.0, trim / 3.0))
    long_los = np.where(rng.random(len(trim)) < NON_ELECTIVE_TAIL_SHARE, tail, np.minimum(body, trim))
    return np.asarray(np.where(short, short_los, long_los))


def _draw_lengths_of_stay(
    mix: AdmittedMix, rng: np.random.Generator, method: IntArray, hrg: IntArray, last_day: int
) -> IntArray:
    """Days in hospital around the HRG's trim point (day cases 0), at most the year's length."""
    los = np.zeros(len(method), dtype=np.int64)
    elective, non_elective = method == _ELECTIVE, method == _NON_ELECTIVE
    los[elective] = _elective_stays(mix, rng, hrg[elective])
    los[non_elective] = _non_elective_stays(mix, rng, hrg[non_elective])
    return np.minimum(los, last_day)


def _draw_spell_ages(
    population: Population, rng: np.random.Generator, non_elective: BoolArray, child: BoolArray
) -> IntArray:
    """Children for paediatric HRGs, adults otherwise; planned or emergency care's age profile."""
    planned_ages, emergency_ages = population.ages["elective"], population.ages["non_elective"]
    return draw_ages(
        rng,
        len(child),
        [
            (~non_elective & child, planned_ages, 0, CHILD_MAX_AGE),
            (~non_elective & ~child, planned_ages, ADULT_MIN_AGE, MAX_AGE),
            (non_elective & child, emergency_ages, 0, CHILD_MAX_AGE),
            (non_elective & ~child, emergency_ages, ADULT_MIN_AGE, MAX_AGE),
        ],
    )


def _with_readmissions(
    year: FinancialYear,
    rng: np.random.Generator,
    method: IntArray,
    child: BoolArray,
    people: People,
    ages: IntArray,
    admitted: IntArray,
    los: IntArray,
) -> tuple[People, IntArray, IntArray]:
    """Some non-elective spells remade as emergency readmissions of an earlier spell's patient (readmissions.py)."""
    found = draw_readmissions(
        rng,
        ordinary=method != _DAY_CASE,
        emergency=method == _NON_ELECTIVE,
        child=child,
        admitted=admitted,
        los=los,
        last_day=year.last_day,
    )
    columns = [people.patient.copy(), people.practice.copy(), people.commissioner.copy(), people.provider.copy()]
    for column in columns:
        column[found.rows] = column[found.index]
    ages, admitted = ages.copy(), admitted.copy()
    ages[found.rows] = ages[found.index]
    admitted[found.rows] = found.day
    return People(*columns), ages, admitted


def draw_spells(
    year: FinancialYear, population: Population, mix: AdmittedMix, rng: np.random.Generator, first_row: int, size: int
) -> dict[str, pa.Array]:
    """Rows ``first_row`` to ``first_row + size`` of the spells, by column of the admitted layout."""
    method, hrg = _draw_methods_and_hrgs(mix, rng, size)
    los = _draw_lengths_of_stay(mix, rng, method, hrg, year.last_day)
    last = year.last_day - los  # admitted so that the discharge falls within the year too
    non_elective = method == _NON_ELECTIVE
    admitted = np.where(non_elective, year.draw_days(rng, "non_elective", last), year.draw_days(rng, "planned", last))
    child = mix.paediatric_hrg[hrg]
    ages = _draw_spell_ages(population, rng, non_elective, child)
    people = population.draw_people(rng, ages)
    missing, unknown = unpriced_rows(rng, size)
    people, ages, admitted = _with_readmissions(year, rng, method, child, people, ages, admitted, los)
    return {
        "spell_id": row_ids(f"S{year.year}", first_row, size, 9),
        **population.columns(people),
        "admission_method": code_column(string_array(_METHODS), method),
        "hrg": code_column(mix.hrgs, np.where(unknown, len(mix.hrgs) - 1, hrg), missing),
        "admission_date": year.dates(admitted),
        "discharge_date": year.dates(admitted + los),
        "length_of_stay": int_column(los),
        "treatment_function": code_column(mix.treatment_functions, mix.treatment_function[hrg]),
        "age": int_column(ages),
    }
