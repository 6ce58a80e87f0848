"""Hospital activity under Payment by Results: the record layouts, their codes, and points of delivery.

The layouts are SUS/SLAM-style extracts reduced to what pricing and contract monitoring need. Column types are
written as Ibis type names so the ingest (which validates) and the engine (which prices) share one definition.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class ActivityKind(StrEnum):
    APC = "apc"  # admitted patient care spells
    OP = "op"  # outpatient attendances
    AE = "ae"  # A&E attendances


class AdmissionMethod(StrEnum):
    ELECTIVE = "elective"
    DAY_CASE = "day_case"
    NON_ELECTIVE = "non_elective"


class AttendanceType(StrEnum):
    FIRST = "first"
    FOLLOW_UP = "follow_up"


class ReferralSource(StrEnum):
    GP = "gp"
    CONSULTANT = "consultant"  # consultant-to-consultant
    OTHER = "other"


class DepartmentType(StrEnum):
    TYPE_1 = "1"  # consultant-led 24-hour A&E
    TYPE_2 = "2"  # consultant-led single-specialty
    TYPE_3 = "3"  # other: minor injury units, walk-in centres


class PointOfDelivery(StrEnum):
    ELECTIVE = "elective"
    DAY_CASE = "day_case"
    NON_ELECTIVE = "non_elective"
    EXCESS_BED_DAYS = "excess_bed_days"
    OP_FIRST = "op_first"
    OP_FOLLOW_UP = "op_follow_up"
    OP_PROCEDURE = "op_procedure"
    AE = "ae"


POINT_OF_DELIVERY_LABELS: Mapping[str, str] = MappingProxyType(
    {
        PointOfDelivery.ELECTIVE: "elective spells",
        PointOfDelivery.DAY_CASE: "day cases",
        PointOfDelivery.NON_ELECTIVE: "non-elective spells",
        PointOfDelivery.EXCESS_BED_DAYS: "excess bed days",
        PointOfDelivery.OP_FIRST: "outpatient first attendances",
        PointOfDelivery.OP_FOLLOW_UP: "outpatient follow-ups",
        PointOfDelivery.OP_PROCEDURE: "outpatient procedures",
        PointOfDelivery.AE: "A&E attendances",
    }
)  # what a reader is shown for each point of delivery (JSON keeps the code)


APC_SCHEMA: Mapping[str, str] = MappingProxyType(
    {
        "spell_id": "string",
        "provider": "string",
        "commissioner": "string",
        "practice": "string",
        "patient_id": "string",
        "admission_method": "string",  # AdmissionMethod
        "hrg": "string",  # may be null: counted as unpriced
        "admission_date": "date",
        "discharge_date": "date",
        "length_of_stay": "int64",  # days; discharge date less admission date
        "treatment_function": "string",
        "age": "int64",
    }
)

OP_SCHEMA: Mapping[str, str] = MappingProxyType(
    {
        "attendance_id": "string",
        "provider": "string",
        "commissioner": "string",
        "practice": "string",
        "patient_id": "string",
        "attendance_date": "date",
        "attendance_type": "string",  # AttendanceType
        "treatment_function": "string",  # may be null: counted as unpriced
        "procedure_hrg": "string",  # null when no outpatient procedure
        "referral_source": "string",  # ReferralSource
        "age": "int64",
    }
)

AE_SCHEMA: Mapping[str, str] = MappingProxyType(
    {
        "attendance_id": "string",
        "provider": "string",
        "commissioner": "string",
        "practice": "string",
        "patient_id": "string",
        "arrival_date": "date",
        "department_type": "string",  # DepartmentType
        "hrg": "string",  # may be null: counted as unpriced
        "age": "int64",
    }
)

SCHEMAS: Mapping[ActivityKind, Mapping[str, str]] = MappingProxyType(
    {ActivityKind.APC: APC_SCHEMA, ActivityKind.OP: OP_SCHEMA, ActivityKind.AE: AE_SCHEMA}
)
