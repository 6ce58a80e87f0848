"""Patients: high-intensity users of urgent care, as ``outturn patients high-intensity --format json``.

Finance, board and admin see every practice's counts and pounds, and a practice's patient list when they ask for
one practice. A practice user sees only their own practice: the list of its flagged patients (pseudonymised ids)
and its counts; asking for another practice gives 403.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from outturn.domain.high_intensity import DEFAULT_AE_ATTENDANCES, DEFAULT_NON_ELECTIVE_ADMISSIONS, Thresholds
from outturn.domain.periods import FinancialMonth
from outturn.reports.patients import high_intensity_document
from outturn.services.patients import high_intensity_users
from outturn.web.security import CurrentUser, WorkspaceDep, require_org

router = APIRouter()


@router.get("/api/patients/high-intensity", tags=["patients"])
def high_intensity_api(
    user: CurrentUser,
    workspace: WorkspaceDep,
    as_at: str | None = None,
    practice: str | None = None,
    ae_attendances: int = DEFAULT_AE_ATTENDANCES,
    non_elective_admissions: int = DEFAULT_NON_ELECTIVE_ADMISSIONS,
) -> dict[str, Any]:
    """Patients with at least ``ae_attendances`` A&E attendances or ``non_elective_admissions`` non-elective
    admissions in the 12 months to ``as_at`` (default: the latest month the activity reaches): ``flagged``
    (patients, activity, ``value_pence`` at tariff), ``by_practice``, ``by_pcn``, ``timeliness`` (days from the
    qualifying attendance to the data), ``regression_to_the_mean`` (each past cohort before and after flagging
    beside a matched comparison group); ``patients`` (pseudonymised) only for one ``practice``. A practice user
    always gets their own practice."""
    if not user.sees_everything:
        practice = practice or user.org_code
    if practice is not None:
        require_org(user, practice.upper())
    thresholds = Thresholds(ae_attendances, non_elective_admissions)
    month = FinancialMonth.parse_as_at(as_at) if as_at else None
    found = high_intensity_users(workspace, month, practice=practice, thresholds=thresholds)
    return high_intensity_document(found)
