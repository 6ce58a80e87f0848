"""The national tariff (PbR prices) as tables: one layout per price list, money in integer pence.

Layouts are written as Ibis type names, shared by the loader (ingest.tariff) and the pricing engine.
The market forces factor is held as an integer in millionths (1.036391 -> 1_036_391) so that the MFF uplift is
exact integer arithmetic on every backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

MFF_SCALE = 1_000_000
SHORT_STAY_MAX_DAYS = 1  # the reduced short-stay emergency tariff: spells of 0 or 1 day
SHORT_STAY_MIN_AGE = 19  # it does not apply to children (under 19 at the start of the spell)

TARIFF_APC_SCHEMA: Mapping[str, str] = MappingProxyType(
    {
        "year": "int64",  # start year of the financial year: 2017 for 2017/18
        "hrg": "string",
        "hrg_name": "string",
        "elective_pence": "int64",  # ordinary elective spell (the combined DC/EL price where that is all there is)
        "day_case_pence": "int64",  # day case spell (likewise)
        "elective_trim_days": "int64",
        "non_elective_pence": "int64",
        "non_elective_trim_days": "int64",
        "excess_bed_day_pence": "int64",  # per day beyond the trim point
        "short_stay_pence": "int64",  # reduced short-stay emergency tariff; null where it does not apply
        "op_procedure_pence": "int64",  # outpatient procedure price; null where none
    }
)

TARIFF_OP_SCHEMA: Mapping[str, str] = MappingProxyType(
    {
        "year": "int64",
        "treatment_function": "string",
        "treatment_function_name": "string",
        "first_pence": "int64",  # first attendance, single professional
        "follow_up_pence": "int64",  # follow-up attendance, single professional
        "first_multi_pence": "int64",
        "follow_up_multi_pence": "int64",
    }
)

TARIFF_AE_SCHEMA: Mapping[str, str] = MappingProxyType(
    {
        "year": "int64",
        "hrg": "string",
        "hrg_name": "string",
        "type_1_2_pence": "int64",
        "type_3_pence": "int64",
    }
)

MFF_SCHEMA: Mapping[str, str] = MappingProxyType(
    {
        "provider": "string",
        "provider_name": "string",
        "mff_millionths": "int64",
    }
)
