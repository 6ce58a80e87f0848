"""High-intensity users of urgent care as Ibis expressions: the same code runs on DuckDB and on Spark.

Input is priced activity (``services.pricing.priced_activity``): A&E attendances and admitted spells. Every row
with a ``patient_id`` becomes an event: an A&E attendance (on its arrival date), a non-elective admission or a
planned (elective or day-case) admission (on its admission date), valued at its price plus any excess bed-day
price (0 where the row could not be priced; ``unpriced_events`` counts them). The rules are in
``domain/high_intensity.py``; months are month indexes (``year * 12 + month - 1``).

Ties are broken by the event's date, then its activity, then its id, so every backend picks the same row.

Patients are grouped and joined on ``patient_key``: the integer stored with the activity at import
(``ingest.activity_keys``), or, for activity imported before keys were stored, the ``patient_id`` itself (keyed on
read). Hashing a national year's text ids was most of the work; the id is looked up only for the patients listed.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from outturn.domain.activity import AdmissionMethod
from outturn.domain.high_intensity import (
    AGE_BANDS,
    COMPARISON,
    FLAGGED,
    PRIOR_ACTIVITY_CAP,
    UNKNOWN_AGE,
    WINDOW_MONTHS,
    Thresholds,
)
from outturn.engine.codes import PATIENT_KEY

AE = "ae"
NON_ELECTIVE = "non_elective"
PLANNED = "planned"

EVENT_COLUMNS = (
    "patient_key",
    "patient_id",
    "event_id",
    "practice",
    "age",
    "activity",
    "event_date",
    "month",
    "value_pence",
)


def _month(day: ir.DateValue) -> ir.IntegerValue:
    return (day.year() * 12 + day.month() - 1).cast("int64")


def _count(condition: ir.BooleanValue) -> ir.IntegerValue:
    return ibis.ifelse(condition, 1, 0).sum().cast("int64")


def _patient_keyed(ae: ir.Table, apc: ir.Table) -> tuple[ir.Table, ir.Table]:
    """Both tables with a ``patient_key``: the stored one where both hold it, else the patient id itself."""
    if PATIENT_KEY in ae.columns and PATIENT_KEY in apc.columns:
        return ae, apc
    return ae.mutate(patient_key=ae.patient_id), apc.mutate(patient_key=apc.patient_id)


# look-alike of engine/contract_rules.readmitted_spells' selection: declarative, each query's own columns (A&E and
# spells alike).
def patient_events(ae: ir.Table, apc: ir.Table) -> ir.Table:
    """One row per A&E attendance and admitted spell with a patient id: ``EVENT_COLUMNS`` plus ``priced``."""
    ae, apc = _patient_keyed(ae, apc)
    attendances = ae.filter(ae.patient_key.notnull())
    attendances = attendances.select(
        patient_key=attendances.patient_key,
        patient_id=attendances.patient_id,
        event_id=attendances.attendance_id,
        practice=attendances.practice,
        age=attendances.age,
        activity=ibis.literal(AE),
        event_date=attendances.arrival_date,
        month=_month(attendances.arrival_date),
        value_pence=attendances.price_pence.coalesce(0).cast("int64"),
        priced=attendances.price_pence.notnull(),
    )
    spells = apc.filter(apc.patient_key.notnull())
    spells = spells.select(
        patient_key=spells.patient_key,
        patient_id=spells.patient_id,
        event_id=spells.spell_id,
        practice=spells.practice,
        age=spells.age,
        activity=ibis.ifelse(
            spells.admission_method == AdmissionMethod.NON_ELECTIVE.value, ibis.literal(NON_ELECTIVE), PLANNED
        ),
        event_date=spells.admission_date,
        month=_month(spells.admission_date),
        value_pence=(spells.price_pence.coalesce(0) + spells.excess_price_pence.coalesce(0)).cast("int64"),
        priced=spells.price_pence.notnull(),
    )
    return ibis.union(attendances, spells)


def _reaching(events: ir.Table, thresholds: Thresholds) -> ir.Table:
    """The events of the patients with enough A&E attendances or non-elective admissions in ``events`` to reach a
    threshold: a cheap count that spares the windows (sorts) the events of everyone else (most patients)."""
    counts = events.group_by(PATIENT_KEY).aggregate(
        _ae=_count(events.activity == AE), _non_elective=_count(events.activity == NON_ELECTIVE)
    )
    enough = counts.filter(
        (counts._ae >= thresholds.ae_attendances) | (counts._non_elective >= thresholds.non_elective_admissions)
    )
    return events.semi_join(enough.select(PATIENT_KEY), PATIENT_KEY)


def flagged_patients(events: ir.Table, as_at_month: int, thresholds: Thresholds) -> ir.Table:
    """The patients flagged as at ``as_at_month``: in the 12 months ending with it, their A&E attendances,
    non-elective and planned admissions, value, unpriced events, the practice and age on their latest event, and
    the qualifying event (the one that reached a threshold: the n-th of its kind in the window; the earlier of the
    two when both are reached) — its date and activity."""
    window = events.filter((events.month >= as_at_month - WINDOW_MONTHS + 1) & (events.month <= as_at_month))
    window = _reaching(window, thresholds).view()
    nth = ibis.row_number().over(
        group_by=[window.patient_key, window.activity], order_by=[window.event_date, window.event_id]
    )
    latest = ibis.row_number().over(
        group_by=window.patient_key,
        order_by=[ibis.desc(window.event_date), ibis.desc(window.activity), ibis.desc(window.event_id)],
    )
    ranked = window.mutate(_nth=nth, _latest=latest)
    reaches = ((ranked.activity == AE) & (ranked._nth == thresholds.ae_attendances - 1)) | (
        (ranked.activity == NON_ELECTIVE) & (ranked._nth == thresholds.non_elective_admissions - 1)
    )
    ranked = ranked.mutate(
        # a sortable key: the date, then the activity, so the earlier qualifying event wins and ties agree
        _qualifying=ibis.ifelse(reaches, ranked.event_date.cast("string") + ranked.activity, ibis.null("string"))
    )
    per_patient = ranked.group_by(PATIENT_KEY).aggregate(
        ae_attendances=_count(ranked.activity == AE),
        non_elective_admissions=_count(ranked.activity == NON_ELECTIVE),
        planned_admissions=_count(ranked.activity == PLANNED),
        value_pence=ranked.value_pence.sum().cast("int64"),
        unpriced_events=_count(~ranked.priced),
        _qualifying=ranked._qualifying.min(),
    )
    flagged = per_patient.filter(per_patient._qualifying.notnull())
    last = ranked.filter(ranked._latest == 0).select(PATIENT_KEY, "patient_id", "practice", "age")
    joined = flagged.join(last, PATIENT_KEY)
    return joined.select(
        "patient_id",
        "practice",
        "age",
        "ae_attendances",
        "non_elective_admissions",
        "planned_admissions",
        "value_pence",
        "unpriced_events",
        qualifying_date=joined._qualifying.substr(0, 10).cast("date"),
        qualifying_activity=joined._qualifying.substr(10),
    )


def first_flags(events: ir.Table, thresholds: Thresholds) -> ir.Table:
    """Each patient's first flag in the data: ``flag_month`` (the cohort), and the qualifying event's date and
    activity (the earliest event that is the n-th of its kind within 12 calendar months ending with its own).

    An event qualifies when the event n-1 before it (of its kind, in date order) falls no more than 11 months
    before its month; the first month a patient is flagged is the month of their first qualifying event."""
    unplanned = _reaching(events.filter(events.activity.isin([AE, NON_ELECTIVE])), thresholds)
    order = ibis.window(
        group_by=[unplanned.patient_key, unplanned.activity], order_by=[unplanned.event_date, unplanned.event_id]
    )
    back = ibis.ifelse(
        unplanned.activity == AE,
        unplanned.month.lag(thresholds.ae_attendances - 1).over(order),
        unplanned.month.lag(thresholds.non_elective_admissions - 1).over(order),
    )
    marked = unplanned.mutate(_back=back)
    qualifying = marked.filter(marked._back.notnull() & (marked._back >= marked.month - (WINDOW_MONTHS - 1)))
    keyed = qualifying.mutate(_key=qualifying.event_date.cast("string") + qualifying.activity)
    first = keyed.group_by(PATIENT_KEY).aggregate(
        patient_id=keyed.patient_id.max(),  # one id per key
        _key=keyed._key.min(),
        flag_month=keyed.month.min(),
    )
    return first.select(
        PATIENT_KEY,
        "patient_id",
        "flag_month",
        qualifying_date=first._key.substr(0, 10).cast("date"),
        qualifying_activity=first._key.substr(10),
    )


def _age_band(age: ir.IntegerValue) -> ir.StringValue:
    branches = [((age >= low) & (age <= high), label) for label, low, high in AGE_BANDS]
    return ibis.cases(*branches, else_=UNKNOWN_AGE)


def cohort_strata(
    events: ir.Table, first: ir.Table, cohort_months: tuple[int, int], thresholds: Thresholds
) -> ir.Table:
    """For each cohort month F in ``cohort_months`` (first, last), the patients first flagged in F and the
    comparison patients (not flagged by F) with at least ``thresholds.lowest`` unplanned events in the 12 months
    ending with F, by age band (age on the latest event of those months) and prior unplanned events (capped):
    patients, and the A&E attendances, non-elective admissions and value before (F-11..F) and after (F+1..F+12).

    ``first`` is ``first_flags(events, thresholds)``. Only the patients with enough unplanned events in the whole
    data to reach the floor can be in a cohort or its comparison: their events within reach of a cohort's windows
    are summed to one row per patient and month (a cheap count on the integer key spares the sums most patients).
    First the (patient, cohort) pairs with enough prior unplanned events, each month joined to the cohorts whose
    before window holds it by an equal month (a small table of (cohort, month) pairs, not a range join); then the
    full sums for those pairs only."""
    unplanned_events = events.filter(events.activity != PLANNED)
    pool = unplanned_events.group_by(PATIENT_KEY).aggregate(total=unplanned_events.count())
    pool = pool.filter(pool.total >= thresholds.lowest).select(PATIENT_KEY)
    low, high = cohort_months
    within = (events.month >= low - (WINDOW_MONTHS - 1)) & (events.month <= high + WINDOW_MONTHS)
    pooled = events.filter(within).semi_join(pool, PATIENT_KEY)
    carried = pooled.group_by([PATIENT_KEY, "month"]).aggregate(
        ae=_count(pooled.activity == AE),
        non_elective=_count(pooled.activity == NON_ELECTIVE),
        value_pence=pooled.value_pence.sum().cast("int64"),
        age=pooled.age.max(),
    )
    carried = carried.mutate(unplanned=carried.ae + carried.non_elective)
    months = events.select(cohort_month=events.month).distinct()
    months = months.filter((months.cohort_month >= low) & (months.cohort_month <= high))
    # each cohort month with the 12 months of its before window: month = cohort_month - back
    windows = ibis.union(
        *(months.select("cohort_month", before_month=months.cohort_month - back) for back in range(WINDOW_MONTHS))
    )
    unplanned = carried.filter(carried.unplanned > 0)
    before_only = unplanned.join(windows, unplanned.month == windows.before_month)
    pairs = before_only.group_by([PATIENT_KEY, "cohort_month"]).aggregate(prior=before_only.unplanned.sum())
    pairs = pairs.filter(pairs.prior >= thresholds.lowest)
    pairs = pairs.select(pair_patient=pairs.patient_key, pair_month=pairs.cohort_month, prior=pairs.prior)
    # the pairs' patients are in the pool: the join needs no second pass over it
    spread = carried.join(
        pairs,
        [
            carried.patient_key == pairs.pair_patient,
            carried.month >= pairs.pair_month - (WINDOW_MONTHS - 1),
            carried.month <= pairs.pair_month + WINDOW_MONTHS,
        ],
    )
    before = spread.month <= spread.pair_month
    zero = ibis.literal(0, "int64")
    per_patient = spread.group_by([PATIENT_KEY, spread.pair_month.name("cohort_month")]).aggregate(
        prior=spread.prior.max(),  # one value per pair: an aggregate, not a third key to hash
        before_ae_attendances=ibis.ifelse(before, spread.ae, zero).sum(),
        before_non_elective_admissions=ibis.ifelse(before, spread.non_elective, zero).sum(),
        before_value_pence=ibis.ifelse(before, spread.value_pence, zero).sum(),
        after_ae_attendances=ibis.ifelse(before, zero, spread.ae).sum(),
        after_non_elective_admissions=ibis.ifelse(before, zero, spread.non_elective).sum(),
        after_value_pence=ibis.ifelse(before, zero, spread.value_pence).sum(),
        _age_key=ibis.ifelse(before, spread.month * 1000 + spread.age, ibis.null("int64")).max(),
    )
    flags = first.select(flag_patient=first.patient_key, flag_month=first.flag_month)
    joined = per_patient.left_join(flags, per_patient.patient_key == flags.flag_patient)
    group = ibis.cases(
        (joined.flag_month == joined.cohort_month, FLAGGED),
        (joined.flag_month.isnull() | (joined.flag_month > joined.cohort_month), COMPARISON),
        else_=ibis.null("string"),  # flagged before this cohort's month: in neither group
    )
    banded = joined.mutate(
        group=group,
        age_band=_age_band(joined._age_key % 1000),
        prior_events=ibis.least(joined.prior, PRIOR_ACTIVITY_CAP).cast("int64"),
    )
    banded = banded.filter(banded.group.notnull())
    sums = {
        name: banded[name].sum().cast("int64")
        for side in ("before", "after")
        for name in (f"{side}_ae_attendances", f"{side}_non_elective_admissions", f"{side}_value_pence")
    }
    return banded.group_by(["cohort_month", "group", "age_band", "prior_events"]).aggregate(
        patients=banded.count(), **sums
    )
