"""The high-intensity users document (``outturn patients high-intensity --format json`` and its API twin), and
the pack's part of it: counts and pounds only, never the patient list."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from outturn.domain.high_intensity import (
    AGE_BANDS,
    PRIOR_ACTIVITY_CAP,
    WINDOW_MONTHS,
    Activity,
    CohortComparison,
    FlaggedPatient,
    HighIntensityUsers,
    median_days,
    month_label,
)
from outturn.domain.money import div_round

FLAG_RAISED = (
    "Flags are worked out from the activity held, so a patient is flagged as soon as the extract holding their "
    "qualifying attendance or admission is imported: the days to the data are the days to the flag."
)
MEASURED_AGAINST = (
    "Each cohort's days are measured to the latest import of its kind of activity (an import replaces the activity "
    "held and records no date range): an earlier cohort's patients were in an earlier extract, so its days overstate "
    "how late its data really arrived; only the latest cohort's days are the lag of the extract that held it."
)
MATCHING = (
    f"Regression to the mean: each cohort is the patients first flagged in that month. 'Before' is the "
    f"{WINDOW_MONTHS} months up to and including the cohort's month (the window that flagged them), 'after' the "
    f"{WINDOW_MONTHS} months that follow, each as far as the data reaches (months_before, months_after). The "
    "comparison group is the patients not flagged by that month, matched exactly on age band "
    f"({', '.join(label for label, _, _ in AGE_BANDS)}, unknown; age on their latest event before) and prior "
    "activity (unplanned events — A&E attendances plus non-elective admissions — in the before window, "
    f"{PRIOR_ACTIVITY_CAP} or more as one stratum, at least the lower threshold). The comparison's figures are "
    "standardised to the cohort: each stratum's comparison mean per patient times the cohort's patients in it. "
    "Cohort patients in a stratum with no comparison patient are unmatched and left out of the matched figures. "
    "The change beyond the comparison's is what a case-management scheme could claim; the comparison's change is "
    "what happens to such patients anyway."
)

_FIGURES = ("ae_attendances", "non_elective_admissions", "planned_admissions", "value_pence", "unpriced_events")


def _totals(patients: Iterable[FlaggedPatient]) -> dict[str, int]:
    listed = list(patients)
    totals = {"patients": len(listed)}
    for name in _FIGURES:
        totals[name] = sum(int(getattr(patient, name)) for patient in listed)
    return totals


def _grouped(patients: Iterable[FlaggedPatient], key: Callable[[FlaggedPatient], str | None]) -> list[list[Any]]:
    groups: dict[str | None, list[FlaggedPatient]] = {}
    for patient in patients:
        groups.setdefault(key(patient), []).append(patient)
    return [[code, members] for code, members in sorted(groups.items(), key=lambda item: item[0] or "")]


def _days_summary(days: Iterable[int | None]) -> dict[str, Any]:
    known = [value for value in days if value is not None]
    middle = median_days([(value, 1) for value in known])
    return {
        "median_days": None if middle is None else float(middle),
        "shortest_days": min(known, default=None),
        "longest_days": max(known, default=None),
    }


def _activity(activity: Activity) -> dict[str, Any]:
    """Counts to one decimal place (a standardised comparison holds fractions of an attendance), pence whole."""
    return {
        "ae_attendances": round(float(activity.ae_attendances), 1),
        "non_elective_admissions": round(float(activity.non_elective_admissions), 1),
        "value_pence": div_round(activity.value_pence),
    }


def _change(before: Activity, after: Activity) -> Fraction:
    return after.value_pence - before.value_pence


def cohort_document(cohort: CohortComparison) -> dict[str, Any]:
    flagged_change = _change(cohort.flagged_before, cohort.flagged_after)
    comparison_change = _change(cohort.comparison_before, cohort.comparison_after)
    return {
        "cohort_month": month_label(cohort.cohort_month),
        "months_before": cohort.months_before,
        "months_after": cohort.months_after,
        "flagged_patients": cohort.flagged_patients,
        "matched_patients": cohort.matched_patients,
        "unmatched_patients": cohort.unmatched_patients,
        "comparison_patients": cohort.comparison_patients,
        "flagged": {"before": _activity(cohort.flagged_before), "after": _activity(cohort.flagged_after)},
        "comparison": {"before": _activity(cohort.comparison_before), "after": _activity(cohort.comparison_after)},
        "flagged_change_pence": div_round(flagged_change),
        "comparison_change_pence": div_round(comparison_change),
        "change_beyond_comparison_pence": div_round(flagged_change - comparison_change),
    }


def _patient(patient: FlaggedPatient) -> dict[str, Any]:
    return {
        "patient_id": patient.patient_id,
        "practice": patient.practice,
        "pcn": patient.pcn,
        "age": patient.age,
        **{name: getattr(patient, name) for name in _FIGURES},
        "qualifying_date": patient.qualifying_date.isoformat(),
        "qualifying_activity": patient.qualifying_activity,
        "days_to_data": patient.days_to_data,
    }


def high_intensity_document(found: HighIntensityUsers) -> dict[str, Any]:
    """Cohort counts and pounds, by practice and PCN, timeliness and the before/after comparison; the patient
    list (pseudonymised ids) only when one practice was asked for."""
    flagged = found.flagged
    document: dict[str, Any] = {
        "as_at": month_label(found.as_at),
        "data_months": {"first": month_label(found.first_month), "last": month_label(found.last_month)},
        "thresholds": {
            "ae_attendances": found.thresholds.ae_attendances,
            "non_elective_admissions": found.thresholds.non_elective_admissions,
            "window_months": WINDOW_MONTHS,
        },
        "tariff_year": found.tariff_year,
        "practice": found.practice,
        "flagged": _totals(flagged),
        "by_practice": [
            {"practice": code, "pcn": members[0].pcn, **_totals(members)}
            for code, members in _grouped(flagged, lambda patient: patient.practice)
        ],
        "by_pcn": [
            {"pcn": code, **_totals(members)} for code, members in _grouped(flagged, lambda patient: patient.pcn)
        ],
        "timeliness": {
            "data_arrived": {
                activity: None if at is None else at.isoformat() for activity, at in found.data_arrived.items()
            },
            "flag_raised": FLAG_RAISED,
            "measured_against": MEASURED_AGAINST,
            "flagged": _days_summary(patient.days_to_data for patient in flagged),
            "cohorts": [
                {
                    "cohort_month": month_label(row.cohort_month),
                    "patients": row.patients,
                    "median_days": row.median_days,
                    "shortest_days": row.shortest_days,
                    "longest_days": row.longest_days,
                }
                for row in found.timeliness
            ],
        },
        "regression_to_the_mean": {
            "method": MATCHING,
            "cohorts": [cohort_document(cohort) for cohort in found.cohorts],
        },
    }
    if found.practice is not None:
        document["patients"] = [_patient(patient) for patient in flagged]
    return document


@dataclass(frozen=True)
class HighIntensitySummary:
    """The board pack's part: how many patients are flagged and what their activity cost, never who they are."""

    as_at: str
    patients: int
    value_pence: int
    practices: int


def summary_document(summary: HighIntensitySummary) -> dict[str, Any]:
    """The board pack's high-intensity users as JSON: the month, how many patients are flagged, what their activity
    cost at tariff (pence) and how many practices they are with; never who they are."""
    return {
        "as_at": summary.as_at,
        "patients": summary.patients,
        "value_pence": summary.value_pence,
        "practices": summary.practices,
    }


def pack_summary(found: HighIntensityUsers) -> HighIntensitySummary:
    return HighIntensitySummary(
        as_at=month_label(found.as_at),
        patients=len(found.flagged),
        value_pence=sum(patient.value_pence for patient in found.flagged),
        practices=len({patient.practice for patient in found.flagged if patient.practice}),
    )
