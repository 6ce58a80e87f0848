"""SYNTHETIC A&E attendances.

HRGs by Cost Collection ``Emergency Care`` activity among the A&E tariff's HRGs; department types per provider from
NHS England's monthly A&E attendances of the year (minor-injury units, type 3, see the lower-acuity HRGs).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from outturn.demo.activity.draws import (
    UNKNOWN_HRG,
    CodeMix,
    code_column,
    int_column,
    row_ids,
    string_array,
    unpriced_rows,
)
from outturn.demo.activity.financial_year import FinancialYear
from outturn.demo.activity.population import People, Population
from outturn.demo.reference_inputs import IntArray, ncc_activity
from outturn.domain.activity import DepartmentType

_NCC_EMERGENCY = ("emergency care", "em", "emergency medicine")
_MINOR_AE_HRGS = frozenset({"VB07Z", "VB08Z", "VB09Z", "VB11Z"})  # what type 3 units mostly see
_DEPARTMENT_TYPES = (DepartmentType.TYPE_1, DepartmentType.TYPE_2, DepartmentType.TYPE_3)
_TYPE_3 = 2  # index into _DEPARTMENT_TYPES


@dataclass(frozen=True)
class AeMix:
    """What an A&E attendance's HRG is drawn from: every A&E HRG, or the minor ones at a type 3 unit."""

    hrgs: pa.Array  # the tariff's, then UNKNOWN_HRG
    hrg_mix: CodeMix
    minor_hrg_mix: CodeMix


def build_ae_mix(ae_tariff: Sequence[str], ncc: Mapping[str, Mapping[str, float]]) -> AeMix:
    """The A&E HRG mix calibrated to the Cost Collection's emergency care activity (evenly where it has none)."""
    activity = ncc_activity(ncc, _NCC_EMERGENCY)
    weights = np.array([activity.get(code, 0.0) for code in ae_tariff])
    if weights.sum() <= 0:
        weights = np.ones(len(ae_tariff))
    minor = np.array([code in _MINOR_AE_HRGS for code in ae_tariff], dtype=np.bool_)
    every_hrg = CodeMix.of(np.arange(len(ae_tariff)), weights)
    return AeMix(
        hrgs=string_array([*ae_tariff, UNKNOWN_HRG]),
        hrg_mix=every_hrg,
        minor_hrg_mix=CodeMix.of(np.flatnonzero(minor), weights[minor]) if minor.any() else every_hrg,
    )


def _draw_departments(population: Population, rng: np.random.Generator, provider: IntArray) -> IntArray:
    """Index into _DEPARTMENT_TYPES, by the provider's shares of A&E attendances by department type."""
    type_cdf = population.provider_type_cdf[provider]
    draw = rng.random(len(provider))
    return np.asarray((draw >= type_cdf[:, 0]).astype(np.int64) + (draw >= type_cdf[:, 1]).astype(np.int64))


# Frequent attenders: 10% of attendances, picked by row number (no random draw, so every other column and
# every other figure stays as it was), re-attributed in sixes to one patient of the same age and practice. About
# 1.5% of the demo's A&E attenders then make 5 or more visits a year, as nationally (1-2%).
FREQUENT_SHARE = 0.10
FREQUENT_VISITS = 6
_SPREAD = (math.sqrt(5.0) - 1.0) / 2.0


def _with_frequent_attenders(people: People, ages: IntArray, first_row: int) -> People:
    """``people`` with some attendances' patients replaced: of the rows picked, each run of ``FREQUENT_VISITS``
    rows of one age and practice becomes the first such row's patient (whose practice is that practice)."""
    rows = np.arange(first_row, first_row + len(ages))
    picked = np.flatnonzero((rows * _SPREAD) % 1.0 < FREQUENT_SHARE)
    if len(picked) == 0:
        return people
    key = ages[picked].astype(np.int64) * 1_000_000 + people.practice[picked]
    order = np.argsort(key, kind="stable")
    rows_in_order, keys_in_order = picked[order], key[order]
    starts = np.r_[0, np.flatnonzero(np.diff(keys_in_order)) + 1]
    position = np.arange(len(order))
    group_start = starts[np.searchsorted(starts, position, side="right") - 1]
    leader = group_start + (position - group_start) // FREQUENT_VISITS * FREQUENT_VISITS
    patient = people.patient.copy()
    patient[rows_in_order] = people.patient[rows_in_order[leader]]
    return dataclasses.replace(people, patient=patient)


def draw_ae_attendances(
    year: FinancialYear, population: Population, mix: AeMix, rng: np.random.Generator, first_row: int, size: int
) -> dict[str, pa.Array]:
    """Rows ``first_row`` to ``first_row + size`` of the A&E attendances, by column of the layout."""
    ages = population.ages["ae"].draw(rng, size)
    people = population.draw_people(rng, ages)
    department = _draw_departments(population, rng, people.provider)
    people = _with_frequent_attenders(people, ages, first_row)
    hrg = np.where(department == _TYPE_3, mix.minor_hrg_mix.draw(rng, size), mix.hrg_mix.draw(rng, size))
    day = year.draw_days_in_year(rng, "ae", size)
    missing, unknown = unpriced_rows(rng, size)
    return {
        "attendance_id": row_ids(f"A{year.year}", first_row, size, 9),
        **population.columns(people),
        "arrival_date": year.dates(day),
        "department_type": code_column(string_array(_DEPARTMENT_TYPES), department),
        "hrg": code_column(mix.hrgs, np.where(unknown, len(mix.hrgs) - 1, hrg), missing),
        "age": int_column(ages),
    }
