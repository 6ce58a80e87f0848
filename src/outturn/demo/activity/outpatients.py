"""SYNTHETIC outpatient attendances.

Treatment functions from the outpatient tariff, weighted by a built-in approximation of national shares, each with
its own first:follow-up ratio (about 1:2 overall); ~10% of attendances carry an outpatient procedure HRG drawn by
Cost Collection ``Outpatient Procedures`` activity among HRGs with an OPROC price; referrals mostly from GPs, ~20%
consultant to consultant. Paediatric treatment functions see children, geriatric medicine the over-65s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from outturn.demo.activity.draws import (
    CodeMix,
    code_column,
    hrg_mix,
    int_column,
    row_ids,
    string_array,
    unpriced_rows,
)
from outturn.demo.activity.financial_year import FinancialYear
from outturn.demo.activity.population import CHILD_MAX_AGE, ELDERLY_MIN_AGE, Population, draw_ages
from outturn.demo.reference_inputs import MAX_AGE, BoolArray, FloatArray, IntArray, TariffHrgs, ncc_activity
from outturn.domain.activity import AttendanceType, ReferralSource

UNPRICED_TREATMENT_FUNCTION = "650"  # physiotherapy: a real code with no national outpatient price
OP_PROCEDURE_SHARE = 0.10
CONSULTANT_REFERRAL_SHARE = 0.20
OTHER_REFERRAL_SHARE = 0.10

# Outpatient treatment functions: (relative volume, follow-ups per first attendance). An approximation of national
# outpatient activity (no reference file here publishes attendances by treatment function); any other treatment
# function in the tariff gets _OTHER_TREATMENT_FUNCTION.
_TREATMENT_FUNCTIONS: Mapping[str, tuple[float, float]] = {
    "100": (3.0, 1.2),  # general surgery
    "101": (3.0, 2.0),  # urology
    "103": (1.5, 2.0),  # breast surgery
    "104": (1.0, 1.5),  # colorectal surgery
    "110": (7.0, 1.6),  # trauma and orthopaedics
    "120": (3.5, 1.3),  # ENT
    "130": (8.0, 3.2),  # ophthalmology
    "140": (1.5, 1.0),  # oral surgery
    "160": (1.2, 1.8),  # plastic surgery
    "191": (0.6, 1.8),  # pain management
    "300": (2.0, 1.5),  # general medicine
    "301": (2.0, 1.7),  # gastroenterology
    "302": (1.0, 2.8),  # endocrinology
    "303": (2.5, 4.0),  # clinical haematology
    "307": (1.2, 3.0),  # diabetic medicine
    "320": (4.0, 1.8),  # cardiology
    "330": (3.5, 1.9),  # dermatology
    "340": (2.0, 2.0),  # respiratory medicine
    "361": (1.0, 4.5),  # nephrology
    "370": (2.0, 5.0),  # medical oncology
    "410": (2.0, 3.5),  # rheumatology
    "420": (3.0, 1.8),  # paediatrics
    "430": (0.8, 1.2),  # geriatric medicine
    "502": (3.5, 1.1),  # gynaecology
    "800": (2.5, 4.5),  # clinical oncology
}
_OTHER_TREATMENT_FUNCTION = (0.4, 2.0)
_GERIATRIC_TREATMENT_FUNCTIONS = frozenset({"430"})
_PAEDIATRIC_TREATMENT_FUNCTIONS = frozenset({"171", "321", "420"})  # and every 2xx code

_NCC_OP_PROCEDURES = ("outpatient procedures", "opproc", "oproc")

_ATTENDANCE_TYPES = (AttendanceType.FIRST, AttendanceType.FOLLOW_UP)
_REFERRAL_SOURCES = (ReferralSource.GP, ReferralSource.CONSULTANT, ReferralSource.OTHER)


@dataclass(frozen=True)
class OutpatientMix:
    """What an outpatient attendance is drawn from: its treatment function, whether it is a first, its procedure."""

    treatment_function_mix: CodeMix
    treatment_functions: pa.Array  # the tariff's, then the unpriced one
    first_share: FloatArray
    child_treatment_function: BoolArray
    elderly_treatment_function: BoolArray
    procedure_mix: CodeMix  # into procedure_hrgs
    procedure_hrgs: pa.Array  # the tariff's HRGs


def build_outpatient_mix(
    op_tariff: Sequence[tuple[str, bool]], tariff: TariffHrgs, ncc: Mapping[str, Mapping[str, float]]
) -> OutpatientMix:
    """The attendance mix calibrated to the outpatient tariff (treatment functions, with or without a follow-up
    price) and the Cost Collection's outpatient procedures among the HRGs ``tariff`` prices as procedures."""
    op_codes = [code for code, _ in op_tariff]
    op_hints = [_TREATMENT_FUNCTIONS.get(code, _OTHER_TREATMENT_FUNCTION) for code in op_codes]
    first_share = np.array(
        [
            1.0 / (1.0 + ratio) if has_follow_up else 1.0
            for (_, has_follow_up), (_, ratio) in zip(op_tariff, op_hints, strict=True)
        ]
    )
    child = [code in _PAEDIATRIC_TREATMENT_FUNCTIONS or code.startswith("2") for code in op_codes]
    return OutpatientMix(
        treatment_function_mix=CodeMix.of(np.arange(len(op_codes)), [volume for volume, _ in op_hints]),
        treatment_functions=string_array([*op_codes, UNPRICED_TREATMENT_FUNCTION]),
        first_share=first_share,
        child_treatment_function=np.array(child, dtype=np.bool_),
        elderly_treatment_function=np.array(
            [code in _GERIATRIC_TREATMENT_FUNCTIONS for code in op_codes], dtype=np.bool_
        ),
        procedure_mix=hrg_mix(tariff.codes, tariff.op_procedure, ncc_activity(ncc, _NCC_OP_PROCEDURES)),
        procedure_hrgs=string_array(tariff.codes),
    )


def _draw_referral_sources(rng: np.random.Generator, size: int) -> IntArray:
    """Index into _REFERRAL_SOURCES: mostly GPs, some consultants, a few others."""
    return np.asarray(
        np.searchsorted(
            np.array([1.0 - CONSULTANT_REFERRAL_SHARE - OTHER_REFERRAL_SHARE, 1.0 - OTHER_REFERRAL_SHARE]),
            rng.random(size),
            side="right",
        )
    )


def draw_attendances(
    year: FinancialYear,
    population: Population,
    mix: OutpatientMix,
    rng: np.random.Generator,
    first_row: int,
    size: int,
) -> dict[str, pa.Array]:
    """Rows ``first_row`` to ``first_row + size`` of the outpatient attendances, by column of the layout."""
    tf = mix.treatment_function_mix.draw(rng, size)
    first = rng.random(size) < mix.first_share[tf]
    child, elderly = mix.child_treatment_function[tf], mix.elderly_treatment_function[tf]
    profile = population.ages["outpatient"]
    ages = draw_ages(
        rng,
        size,
        [
            (child, profile, 0, CHILD_MAX_AGE),
            (elderly & ~child, profile, ELDERLY_MIN_AGE, MAX_AGE),
            (~child & ~elderly, profile, 0, MAX_AGE),
        ],
    )
    people = population.draw_people(rng, ages)
    day = year.draw_days_in_year(rng, "planned", size)
    missing, unknown = unpriced_rows(rng, size)
    procedure = mix.procedure_mix.draw(rng, size)
    no_procedure = (rng.random(size) >= OP_PROCEDURE_SHARE) | missing | unknown
    referral = _draw_referral_sources(rng, size)
    unpriced_tf = len(mix.treatment_functions) - 1
    return {
        "attendance_id": row_ids(f"O{year.year}", first_row, size, 10),
        **population.columns(people),
        "attendance_date": year.dates(day),
        "attendance_type": code_column(string_array(_ATTENDANCE_TYPES), np.where(first, 0, 1)),
        "treatment_function": code_column(mix.treatment_functions, np.where(unknown, unpriced_tf, tf), missing),
        "procedure_hrg": code_column(mix.procedure_hrgs, procedure, no_procedure),
        "referral_source": code_column(string_array(_REFERRAL_SOURCES), referral),
        "age": int_column(ages),
    }
