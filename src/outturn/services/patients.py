"""Patients: high-intensity users of urgent care, flagged from the activity held while they are still using
services, with how late the data arrived and how much of their fall in use is regression to the mean.

Activity is priced at the national tariff of the as-at month's financial year (the nearest published year where
it is not held), as contract monitoring prices it. A patient list (pseudonymised ids) is only produced for one
practice; the whole-population answer holds counts and pounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import ibis.expr.types as ir

from outturn.domain.activity import ActivityKind
from outturn.domain.errors import BadInput, NotFound
from outturn.domain.high_intensity import (
    CohortComparison,
    FlaggedPatient,
    HighIntensityUsers,
    Thresholds,
    Timeliness,
    compare_cohorts,
    median_days,
    month_index,
    month_label,
    stratum_from_row,
)
from outturn.domain.organisations import OrgKind
from outturn.domain.periods import FinancialMonth
from outturn.engine import high_intensity as engine
from outturn.services import imports, organisations
from outturn.services.pricing import contract_tariff, priced_activity, stored_activity
from outturn.services.workspace import Workspace

# The import log's kind for each activity the flags read, by the engine's activity name.
_IMPORT_KINDS = {engine.AE: "activity ae", engine.NON_ELECTIVE: "activity apc"}


def _activity_months(workspace: Workspace, ae: ir.Table, apc: ir.Table) -> tuple[int, int]:
    """The first and last months (indexes) of the A&E and admitted activity held with patient ids."""
    months: list[int] = []
    for table, column in ((ae, "arrival_date"), (apc, "admission_date")):
        known = table.filter(table.patient_id.notnull())
        found = workspace.backend.to_rows(known.aggregate(first=known[column].min(), last=known[column].max()))
        if found and found[0]["first"] is not None:
            months.extend(month_index(day.year, day.month) for day in (found[0]["first"], found[0]["last"]))
    if not months:
        raise NotFound("no A&E or admitted patient care activity with patient ids is held")
    return min(months), max(months)


def _data_arrived(workspace: Workspace) -> dict[str, datetime | None]:
    history = imports.import_history(workspace)  # newest first
    arrived: dict[str, datetime | None] = {}
    for activity, kind in _IMPORT_KINDS.items():
        arrived[activity] = next((record.imported_at for record in history if record.kind == kind), None)
    return arrived


def _days(arrived: dict[str, datetime | None], activity: str, day: date) -> int | None:
    at = arrived.get(activity)
    return None if at is None else (at.date() - day).days


def _pcns(workspace: Workspace) -> dict[str, str]:
    pcns = {org.code for org in organisations.list_organisations(workspace, OrgKind.PCN)}
    return {
        org.code: org.parent_code
        for org in organisations.list_organisations(workspace, OrgKind.PRACTICE)
        if org.parent_code in pcns
    }


def _flagged(
    rows: Sequence[dict[str, Any]], pcns: dict[str, str], arrived: dict[str, datetime | None]
) -> list[FlaggedPatient]:
    return [
        FlaggedPatient(
            patient_id=str(row["patient_id"]),
            practice=row["practice"],
            pcn=pcns.get(row["practice"] or ""),
            age=row["age"],
            ae_attendances=int(row["ae_attendances"]),
            non_elective_admissions=int(row["non_elective_admissions"]),
            planned_admissions=int(row["planned_admissions"]),
            value_pence=int(row["value_pence"]),
            unpriced_events=int(row["unpriced_events"]),
            qualifying_date=row["qualifying_date"],
            qualifying_activity=str(row["qualifying_activity"]),
            days_to_data=_days(arrived, str(row["qualifying_activity"]), row["qualifying_date"]),
        )
        for row in sorted(rows, key=lambda row: (row["practice"] or "", str(row["patient_id"])))
    ]


def _timeliness(workspace: Workspace, first: ir.Table, arrived: dict[str, datetime | None]) -> list[Timeliness]:
    histogram = first.group_by(["flag_month", "qualifying_date", "qualifying_activity"]).aggregate(
        patients=first.count()
    )
    by_month: dict[int, list[tuple[int | None, int]]] = {}
    for row in workspace.backend.to_rows(histogram):
        days = _days(arrived, row["qualifying_activity"], row["qualifying_date"])
        by_month.setdefault(int(row["flag_month"]), []).append((days, int(row["patients"])))
    found = []
    for month, pairs in sorted(by_month.items()):
        known = [(days, count) for days, count in pairs if days is not None]
        middle = median_days(known)
        found.append(
            Timeliness(
                cohort_month=month,
                patients=sum(count for _, count in pairs),
                median_days=None if middle is None else float(middle),
                shortest_days=min((days for days, _ in known), default=None),
                longest_days=max((days for days, _ in known), default=None),
            )
        )
    return found


def high_intensity_users(
    workspace: Workspace,
    as_at: FinancialMonth | None = None,
    *,
    practice: str | None = None,
    thresholds: Thresholds | None = None,
    flags_only: bool = False,
) -> HighIntensityUsers:
    """The patients flagged as at ``as_at`` (default: the latest month the activity reaches), each cohort's
    timeliness, and each past cohort's before/after comparison against its matched comparison group. With
    ``practice``, the flagged patients are that practice's only (by the practice on their latest event). With
    ``flags_only`` (the board pack's counts), no timeliness and no cohorts: the comparison is most of the work."""
    thresholds = thresholds or Thresholds()
    backend = workspace.backend
    unpriced = {kind: stored_activity(workspace, kind) for kind in (ActivityKind.AE, ActivityKind.APC)}
    first_month, last_month = _activity_months(workspace, unpriced[ActivityKind.AE], unpriced[ActivityKind.APC])
    month = month_index(as_at.calendar_year, as_at.calendar_month) if as_at else last_month
    if month < first_month:
        raise BadInput(
            f"the activity held starts in {month_label(first_month)}: nothing to flag as at {month_label(month)}"
        )
    tariff = contract_tariff(workspace, FinancialMonth.from_calendar(month // 12, month % 12 + 1).year)
    events = engine.patient_events(
        priced_activity(backend, ActivityKind.AE, unpriced[ActivityKind.AE], tariff),
        priced_activity(backend, ActivityKind.APC, unpriced[ActivityKind.APC], tariff),
    )
    arrived = _data_arrived(workspace)
    flagged = _flagged(backend.to_rows(engine.flagged_patients(events, month, thresholds)), _pcns(workspace), arrived)
    if practice is not None:
        practice = practice.upper()
        flagged = [patient for patient in flagged if patient.practice == practice]
    timeliness: tuple[Timeliness, ...] = ()
    cohorts: tuple[CohortComparison, ...] = ()
    if not flags_only:
        # worked out once and held: the timeliness and the comparison both read it
        first = backend.table(backend.to_arrow(engine.first_flags(events, thresholds)))
        strata = backend.to_rows(engine.cohort_strata(events, first, (first_month, month - 1), thresholds))
        timeliness = tuple(row for row in _timeliness(workspace, first, arrived) if row.cohort_month <= month)
        cohorts = tuple(compare_cohorts((stratum_from_row(row) for row in strata), first_month, last_month))
    return HighIntensityUsers(
        as_at=month,
        first_month=first_month,
        last_month=last_month,
        thresholds=thresholds,
        tariff_year=tariff.year.label,
        practice=practice,
        flagged=tuple(flagged),
        data_arrived=arrived,
        timeliness=timeliness,
        cohorts=cohorts,
    )
