"""A savings scheme's measure counted month by month over priced activity or prescribing (``Table -> Table``).

Admitted care is dated by discharge (as contracts count it), outpatients by attendance and A&E by arrival; a month
is the integer YYYYMM. Activity that cannot be priced still counts as units, at no value (the tariff has no price
for it). Prescribing counts items at their actual cost.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from outturn.domain.activity import ActivityKind, PointOfDelivery
from outturn.domain.scheme_measures import SchemeMeasure

DATE_COLUMNS = {ActivityKind.APC: "discharge_date", ActivityKind.OP: "attendance_date", ActivityKind.AE: "arrival_date"}
KIND_OF_POINT = {
    PointOfDelivery.ELECTIVE: ActivityKind.APC,
    PointOfDelivery.DAY_CASE: ActivityKind.APC,
    PointOfDelivery.NON_ELECTIVE: ActivityKind.APC,
    PointOfDelivery.OP_FIRST: ActivityKind.OP,
    PointOfDelivery.OP_FOLLOW_UP: ActivityKind.OP,
    PointOfDelivery.OP_PROCEDURE: ActivityKind.OP,
    PointOfDelivery.AE: ActivityKind.AE,
}
TOTAL_COLUMNS = ("month", "units", "pence", "bed_days", "bed_day_pence")


def _month_of(day: ir.DateValue) -> ir.IntegerValue:
    return (day.year() * 100 + day.month()).cast("int64")


def _scoped(table: ir.Table, measure: SchemeMeasure) -> ir.Table:
    chosen = table
    for column, value in (("provider", measure.provider), ("commissioner", measure.commissioner)):
        if value:
            chosen = chosen.filter(chosen[column] == value)
    if measure.practices:
        chosen = chosen.filter(chosen.practice.isin(list(measure.practices)))
    return chosen


def activity_months(priced: ir.Table, kind: ActivityKind, measure: SchemeMeasure) -> ir.Table:
    """Per month the measure's units and their tariff value (with the MFF), and for admitted care its excess bed
    days and theirs, from activity of ``kind`` priced by ``engine.pricing``."""
    point = measure.point_of_delivery
    assert point is not None
    chosen = _scoped(priced.filter(priced.point_of_delivery == point.value), measure)
    hrg_column = "procedure_hrg" if kind is ActivityKind.OP else "hrg"
    if measure.hrg_prefix and hrg_column in chosen.columns:
        chosen = chosen.filter(chosen[hrg_column].startswith(measure.hrg_prefix))
    if measure.treatment_function and "treatment_function" in chosen.columns:
        chosen = chosen.filter(chosen.treatment_function == measure.treatment_function)
    chosen = chosen.mutate(month=_month_of(chosen[DATE_COLUMNS[kind]]))
    with_bed_days = "excess_bed_days" in chosen.columns and "excess_price_pence" in chosen.columns
    zero = ibis.literal(0).cast("int64")
    summed = chosen.group_by("month").aggregate(
        units=chosen.count().cast("int64"),
        pence=chosen.price_pence.sum().coalesce(0).cast("int64"),
        bed_days=chosen.excess_bed_days.sum().coalesce(0).cast("int64") if with_bed_days else zero,
        bed_day_pence=chosen.excess_price_pence.sum().coalesce(0).cast("int64") if with_bed_days else zero,
    )
    return summed.select(*TOTAL_COLUMNS).order_by("month")


def activity_held_months(activity: ir.Table, kind: ActivityKind) -> ir.Table:
    """The months (YYYYMM) with any activity of ``kind`` held: the months a measure can be counted in."""
    return activity.select(month=_month_of(activity[DATE_COLUMNS[kind]])).distinct().order_by("month")


def _year_month(rx: ir.Table) -> ir.IntegerValue:
    return (rx.year_month.substr(0, 4).cast("int64") * 100 + rx.year_month.substr(5, 2).cast("int64")).cast("int64")


def prescribing_months(rx: ir.Table, measure: SchemeMeasure) -> ir.Table:
    """Per month the items of the measure's BNF prefix at its practices, at their actual cost."""
    chosen = rx
    if measure.bnf_prefix:
        chosen = chosen.filter(chosen.bnf_code.startswith(measure.bnf_prefix))
    if measure.practices:
        chosen = chosen.filter(chosen.practice.isin(list(measure.practices)))
    chosen = chosen.mutate(month=_year_month(chosen))
    zero = ibis.literal(0).cast("int64")
    summed = chosen.group_by("month").aggregate(
        units=chosen["items"].sum().coalesce(0).cast("int64"),
        pence=chosen.actual_cost_pence.sum().coalesce(0).cast("int64"),
        bed_days=zero,
        bed_day_pence=zero,
    )
    return summed.select(*TOTAL_COLUMNS).order_by("month")


def prescribing_held_months(rx: ir.Table) -> ir.Table:
    return rx.select(month=_year_month(rx)).distinct().order_by("month")
