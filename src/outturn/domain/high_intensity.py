"""High-intensity users of urgent care: the thresholds that flag a patient, the bands a comparison group is matched
on, and the regression-to-the-mean comparison worked out from matched strata. Pure: no I/O.

A patient is flagged as at month M when, in the rolling 12 calendar months ending with M, they had at least
``ae_attendances`` A&E attendances or at least ``non_elective_admissions`` non-elective admissions. Months are
counted as ``year * 12 + month - 1`` (a month index) so a window crossing the year is plain arithmetic.

Regression to the mean. Patients picked for high use fall back towards average use without any help, so their
activity "after" flagging is lower than "before" whatever a scheme does. For each cohort (the patients first
flagged in month F) the activity and cost in the 12 months up to and including F ("before": the window that
flagged them) are set against the 12 months after F, beside a comparison group: patients not flagged by F, with
activity in the same windows, matched on age band and prior activity (exact strata of age band x the number of
unplanned events — A&E attendances plus non-elective admissions — in the before window, 10 or more as one
stratum). The comparison's figures are directly standardised to the cohort: each stratum's comparison mean per
patient weighted by the cohort's patients in that stratum. Cohort patients in a stratum with no comparison patient
are left out of the matched figures and counted as unmatched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from outturn.domain.errors import BadInput

WINDOW_MONTHS = 12  # the rolling window that flags, and each side of the before/after comparison
DEFAULT_AE_ATTENDANCES = 5
DEFAULT_NON_ELECTIVE_ADMISSIONS = 3
PRIOR_ACTIVITY_CAP = 10  # prior unplanned events of 10 or more are one stratum

# (label, lowest age, highest age); an unknown age is a band of its own
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("0-17", 0, 17),
    ("18-44", 18, 44),
    ("45-64", 45, 64),
    ("65-74", 65, 74),
    ("75-84", 75, 84),
    ("85+", 85, 200),
)
UNKNOWN_AGE = "unknown"

FLAGGED = "flagged"
COMPARISON = "comparison"


@dataclass(frozen=True)
class Thresholds:
    """A patient is a high-intensity user with at least this many of either in the rolling 12 months."""

    ae_attendances: int = DEFAULT_AE_ATTENDANCES
    non_elective_admissions: int = DEFAULT_NON_ELECTIVE_ADMISSIONS

    def __post_init__(self) -> None:
        for name, value in (
            ("A&E attendances", self.ae_attendances),
            ("non-elective admissions", self.non_elective_admissions),
        ):
            if not 1 <= value <= 1000:
                raise BadInput(f"the threshold of {name} must be a whole number from 1 to 1000, not {value}")

    @property
    def lowest(self) -> int:
        """The fewest unplanned events a flagged patient can have in the window (the comparison's floor)."""
        return min(self.ae_attendances, self.non_elective_admissions)


def month_index(calendar_year: int, calendar_month: int) -> int:
    return calendar_year * 12 + calendar_month - 1


def month_label(index: int) -> str:
    """A month index as YYYY-MM."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass(frozen=True)
class Activity:
    """Unplanned activity and the value at tariff of all activity (A&E and admitted care) over some months."""

    ae_attendances: Fraction = Fraction(0)
    non_elective_admissions: Fraction = Fraction(0)
    value_pence: Fraction = Fraction(0)

    def __add__(self, other: Activity) -> Activity:
        return Activity(
            self.ae_attendances + other.ae_attendances,
            self.non_elective_admissions + other.non_elective_admissions,
            self.value_pence + other.value_pence,
        )

    def times(self, factor: Fraction) -> Activity:
        return Activity(self.ae_attendances * factor, self.non_elective_admissions * factor, self.value_pence * factor)


@dataclass(frozen=True)
class Stratum:
    """One group's patients in one cohort month, age band and prior-activity stratum, with their totals."""

    cohort_month: int
    group: str  # FLAGGED or COMPARISON
    age_band: str
    prior_events: int  # capped at PRIOR_ACTIVITY_CAP
    patients: int
    before: Activity
    after: Activity


@dataclass(frozen=True)
class CohortComparison:
    """A cohort's activity before and after flagging beside its matched comparison (standardised to the cohort's
    matched patients), over ``months_before`` and ``months_after`` months of data."""

    cohort_month: int
    months_before: int
    months_after: int
    flagged_patients: int
    matched_patients: int
    comparison_patients: int
    flagged_before: Activity  # the matched cohort patients
    flagged_after: Activity
    comparison_before: Activity  # standardised: as if the comparison had the cohort's strata
    comparison_after: Activity

    @property
    def unmatched_patients(self) -> int:
        return self.flagged_patients - self.matched_patients


def stratum_from_row(row: Mapping[str, Any]) -> Stratum:
    def side(prefix: str) -> Activity:
        return Activity(
            Fraction(int(row[f"{prefix}_ae_attendances"])),
            Fraction(int(row[f"{prefix}_non_elective_admissions"])),
            Fraction(int(row[f"{prefix}_value_pence"])),
        )

    return Stratum(
        cohort_month=int(row["cohort_month"]),
        group=str(row["group"]),
        age_band=str(row["age_band"]),
        prior_events=int(row["prior_events"]),
        patients=int(row["patients"]),
        before=side("before"),
        after=side("after"),
    )


def compare_cohorts(strata: Iterable[Stratum], first_month: int, last_month: int) -> list[CohortComparison]:
    """Each cohort month's flagged patients against their comparison, standardised stratum by stratum; the months
    of data on each side are those the data (``first_month`` to ``last_month``) holds of the 12."""
    by_month: dict[int, dict[tuple[str, int], dict[str, Stratum]]] = {}
    for stratum in strata:
        cell = by_month.setdefault(stratum.cohort_month, {}).setdefault((stratum.age_band, stratum.prior_events), {})
        cell[stratum.group] = stratum
    found = []
    for month in sorted(by_month):
        cells = by_month[month].values()
        if not any(FLAGGED in cell for cell in cells):
            continue
        found.append(_compare(month, cells, first_month, last_month))
    return found


def _compare(month: int, cells: Iterable[Mapping[str, Stratum]], first_month: int, last_month: int) -> CohortComparison:
    flagged = matched = comparison_patients = 0
    totals = {key: Activity() for key in ("flagged_before", "flagged_after", "comparison_before", "comparison_after")}
    for cell in cells:
        cohort, comparison = cell.get(FLAGGED), cell.get(COMPARISON)
        comparison_patients += comparison.patients if comparison else 0
        if cohort is None:
            continue
        flagged += cohort.patients
        if comparison is None:
            continue
        matched += cohort.patients
        weight = Fraction(cohort.patients, comparison.patients)
        totals["flagged_before"] += cohort.before
        totals["flagged_after"] += cohort.after
        totals["comparison_before"] += comparison.before.times(weight)
        totals["comparison_after"] += comparison.after.times(weight)
    return CohortComparison(
        cohort_month=month,
        months_before=month - max(first_month, month - WINDOW_MONTHS + 1) + 1,
        months_after=max(0, min(last_month, month + WINDOW_MONTHS) - month),
        flagged_patients=flagged,
        matched_patients=matched,
        comparison_patients=comparison_patients,
        **totals,
    )


def median_days(days_and_counts: Sequence[tuple[int, int]]) -> Fraction | None:
    """The median of a histogram of day counts ((days, how many) pairs); the mean of the middle two when even."""
    ordered = sorted((days, count) for days, count in days_and_counts if count > 0)
    total = sum(count for _, count in ordered)
    if total == 0:
        return None

    def nth(position: int) -> int:  # 0-based
        seen = 0
        for days, count in ordered:
            seen += count
            if position < seen:
                return days
        raise AssertionError("position beyond the histogram")

    return Fraction(nth((total - 1) // 2) + nth(total // 2), 2)


@dataclass(frozen=True)
class FlaggedPatient:
    patient_id: str  # pseudonymised, as the extract holds it
    practice: str | None
    pcn: str | None
    age: int | None
    ae_attendances: int
    non_elective_admissions: int
    planned_admissions: int
    value_pence: int
    unpriced_events: int
    qualifying_date: date
    qualifying_activity: str
    days_to_data: int | None  # from the qualifying event to the import of the extract that holds it


@dataclass(frozen=True)
class Timeliness:
    """How late the data behind a cohort's flags arrived: days from each qualifying event to the import of the
    extract holding it (the flag is raised as the import lands: flags are worked out from the data held)."""

    cohort_month: int
    patients: int
    median_days: float | None
    shortest_days: int | None
    longest_days: int | None


@dataclass(frozen=True)
class HighIntensityUsers:
    as_at: int  # month index
    first_month: int  # the months the data reaches
    last_month: int
    thresholds: Thresholds
    tariff_year: str
    practice: str | None  # the one practice asked about, if any
    flagged: tuple[FlaggedPatient, ...]
    data_arrived: dict[str, datetime | None]  # "ae" / "non_elective": the import of the extract held
    timeliness: tuple[Timeliness, ...]
    cohorts: tuple[CohortComparison, ...]
