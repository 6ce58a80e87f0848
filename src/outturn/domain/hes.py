"""Hospital Episode Statistics (HES) and SUS+ codes, as published, and what each means in outturn's activity layout.

Source: NHS Digital, "Hospital Episode Statistics Data Dictionary" (HES Admitted Patient Care, Outpatients and
A&E), fields ADMIMETH, CLASSPAT, FIRSTATT, ATTENDED, REFSOURC and AEDEPTTYPE, which follow the NHS Data
Dictionary's "Admission Method", "Patient Classification", "First Attendance", "Attended or Did Not Attend",
"Source of Referral for Out-patients" and "Accident and Emergency Department Type" (Open Government Licence v3).
The point-of-delivery grouping of admission methods follows the National Tariff Payment System: elective
(waiting list, booked, planned: 11, 12, 13), non-elective (emergency 21-28 and 2A-2D, maternity 31-32, other
81-83). A code not listed here is never guessed: its rows are counted and listed with the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from outturn.domain.activity import ActivityKind, AdmissionMethod, AttendanceType, DepartmentType, ReferralSource

ELECTIVE, NON_ELECTIVE = AdmissionMethod.ELECTIVE.value, AdmissionMethod.NON_ELECTIVE.value

# ADMIMETH code -> (its published meaning, outturn's admission method before the day-case test)
ADMISSION_METHODS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "11": ("elective: from waiting list", ELECTIVE),
        "12": ("elective: booked", ELECTIVE),
        "13": ("elective: planned", ELECTIVE),
        "21": ("emergency: via A&E (including the casualty department)", NON_ELECTIVE),
        "22": ("emergency: via the general practitioner", NON_ELECTIVE),
        "23": ("emergency: via a bed bureau", NON_ELECTIVE),
        "24": ("emergency: via a consultant outpatient clinic", NON_ELECTIVE),
        "25": ("emergency: via a mental health crisis resolution team", NON_ELECTIVE),
        "2A": ("emergency: via A&E of another provider", NON_ELECTIVE),
        "2B": ("emergency: transfer from another provider's admitted care", NON_ELECTIVE),
        "2C": ("emergency: baby born at home as intended", NON_ELECTIVE),
        "2D": ("emergency: other emergency admission", NON_ELECTIVE),
        "28": ("emergency: other means", NON_ELECTIVE),
        "31": ("maternity: admitted ante partum", NON_ELECTIVE),
        "32": ("maternity: admitted post partum", NON_ELECTIVE),
        "81": ("other: transfer of an admitted patient from another hospital provider", NON_ELECTIVE),
        "82": ("other: birth of a baby in this provider", NON_ELECTIVE),
        "83": ("other: baby born outside the provider, except at home as intended", NON_ELECTIVE),
    }
)
# ADMIMETH codes published as saying nothing of the admission: their rows are left out and listed, never guessed.
ADMISSION_METHODS_UNKNOWN: Mapping[str, str] = MappingProxyType({"98": "not applicable", "99": "not known"})
DAY_CASE_CLASSIFICATION = "2"  # CLASSPAT 2: a day case admission; an elective admission so classed is a day case

# Practice codes that say no practice is known (GPPRAC): kept as a blank practice, an unregistered patient.
NO_PRACTICE: Mapping[str, str] = MappingProxyType(
    {
        "&": "not known",
        "V81997": "no registered practice",
        "V81998": "practice code not applicable",
        "V81999": "practice code not known",
    }
)
NOT_KNOWN = frozenset({"&", "99", "9", "X"})  # a blank-like code in several HES fields ("not known")
NULL_DATES = frozenset({"1800-01-01", "1801-01-01"})  # HES's "date not applicable" and "date not known"
UNDER_ONE_YEAR_AGES = range(7001, 7008)  # STARTAGE/APPTAGE/ARRIVALAGE 7001-7007: under one year old

# FIRSTATT -> attendance type (1 and 3 first, face to face or by telephone; 2 and 4 follow-up).
FIRST_ATTENDANCE: Mapping[str, str] = MappingProxyType(
    {
        "1": AttendanceType.FIRST.value,
        "3": AttendanceType.FIRST.value,
        "2": AttendanceType.FOLLOW_UP.value,
        "4": AttendanceType.FOLLOW_UP.value,
    }
)
ATTENDED = frozenset({"5", "6"})  # ATTENDED 5: seen; 6: arrived late but seen. Others did not attend or cancelled.

# REFSOURC -> referral source: 03 general medical practitioner, 12 GP with a special interest, 92 general dental
# practitioner; 05 a consultant other than in A&E; every other published code is "other".
REFERRAL_SOURCES: Mapping[str, str] = MappingProxyType(
    {"03": ReferralSource.GP.value, "12": ReferralSource.GP.value, "92": ReferralSource.GP.value}
    | {"05": ReferralSource.CONSULTANT.value}
    | dict.fromkeys(
        ("01", "02", "04", "06", "07", "08", "10", "11", "13", "14", "15", "16", "17", "93", "97"),
        ReferralSource.OTHER.value,
    )
)

# AEDEPTTYPE 01/02/03 -> department types 1-3; 04 (walk-in centre) is a type 3 department. 99 is "not known".
DEPARTMENT_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "01": DepartmentType.TYPE_1.value,
        "02": DepartmentType.TYPE_2.value,
        "03": DepartmentType.TYPE_3.value,
        "04": DepartmentType.TYPE_3.value,
    }
)

NO_HRG_REASON = "no HRG in the extract"

# The columns that tell the kinds of extract apart, in the order tried (an admitted care extract also has AEKEY).
KIND_MARKERS: tuple[tuple[ActivityKind, frozenset[str]], ...] = (
    (ActivityKind.APC, frozenset({"admimeth", "admidate"})),
    (ActivityKind.OP, frozenset({"apptdate"})),
    (ActivityKind.AE, frozenset({"arrivaldate"})),
)


def detect_kind(columns: frozenset[str]) -> ActivityKind | None:
    """The kind of HES extract whose (canonical, lower-case) column names are ``columns``; None when none fits."""
    return next((kind for kind, marker in KIND_MARKERS if marker <= columns), None)
