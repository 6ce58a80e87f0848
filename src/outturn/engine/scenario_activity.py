"""Contract activity for recovery scenarios, as Ibis expressions: priced activity -> cells of units and £ by
contract, point of delivery, treatment function, attendance type, referral source, HRG and practice group, for
the year to date. The scenario's levers (pure arithmetic in ``domain.scenario_levers``) act on these cells."""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from outturn.domain.activity import AttendanceType, PointOfDelivery
from outturn.engine.contracts import CONTRACT_KEYS, financial_month, in_financial_year

CELL_KEYS = (
    "provider",
    "commissioner",
    "point_of_delivery",
    "treatment_function",
    "subtype",
    "referral_source",
    "hrg",
    "practice_group",
)
PRACTICE_GROUP_SCHEMA = {"practice": "string", "practice_group": "string"}
_UNIT_COLUMNS = (
    "provider",
    "commissioner",
    "practice",
    "point_of_delivery",
    "code",
    "treatment_function",
    "subtype",
    "referral_source",
    "hrg",
    "activity_date",
    "units",
    "pence",
)


def _text(value: ir.StringValue) -> ir.StringValue:
    return value.coalesce(ibis.literal(""))


def _named_hrg(hrg: ir.StringValue, hrgs: Sequence[str]) -> ir.StringValue:
    """The HRG where a lever names it; "" for every other, so cells stay few."""
    if not hrgs:
        return ibis.literal("")
    return ibis.ifelse(hrg.isin(list(hrgs)), hrg, ibis.literal(""))


def scenario_units(priced_apc: ir.Table, priced_op: ir.Table, priced_ae: ir.Table, hrgs: Sequence[str]) -> ir.Table:
    """Every priced unit (spell, its excess bed days, attendance) with what the levers select on."""
    one = ibis.literal(1).cast("int64")
    empty = ibis.literal("")
    apc = priced_apc.filter(priced_apc.unpriced_reason.isnull())
    spells = apc.select(
        "provider", "commissioner", "practice", "point_of_delivery", code=apc.hrg,
        treatment_function=_text(apc.treatment_function), subtype=empty, referral_source=empty,
        hrg=_named_hrg(apc.hrg, hrgs), activity_date=apc.discharge_date, units=one, pence=apc.price_pence,
    )  # fmt: skip
    long_stay = apc.filter(apc.excess_bed_days > 0)
    excess = long_stay.select(
        "provider", "commissioner", "practice",
        point_of_delivery=ibis.literal(PointOfDelivery.EXCESS_BED_DAYS.value), code=long_stay.hrg,
        treatment_function=_text(long_stay.treatment_function), subtype=long_stay.admission_method,
        referral_source=empty, hrg=_named_hrg(long_stay.hrg, hrgs), activity_date=long_stay.discharge_date,
        units=long_stay.excess_bed_days, pence=long_stay.excess_price_pence,
    )  # fmt: skip
    op = priced_op.filter(priced_op.unpriced_reason.isnull())
    first = op.attendance_type == AttendanceType.FIRST.value
    procedure = op.point_of_delivery == PointOfDelivery.OP_PROCEDURE.value
    outpatients = op.select(
        "provider", "commissioner", "practice", "point_of_delivery",
        code=ibis.ifelse(procedure, op.procedure_hrg, op.treatment_function),
        treatment_function=_text(op.treatment_function), subtype=op.attendance_type,
        referral_source=ibis.ifelse(first, _text(op.referral_source), empty), hrg=empty,
        activity_date=op.attendance_date, units=one, pence=op.price_pence,
    )  # fmt: skip
    ae = priced_ae.filter(priced_ae.unpriced_reason.isnull())
    emergency = ae.select(
        "provider", "commissioner", "practice", "point_of_delivery", code=ae.hrg, treatment_function=empty,
        subtype=empty, referral_source=empty, hrg=empty, activity_date=ae.arrival_date, units=one,
        pence=ae.price_pence,
    )  # fmt: skip
    return ibis.union(spells, excess, outpatients, emergency).select(*_UNIT_COLUMNS)


def with_local_prices(units: ir.Table, local_prices: ir.Table) -> ir.Table:
    """``pence`` at the contract's prices (a local price for the code, else for the point of delivery, else
    national x MFF, as ``engine.contracts.apply_local_prices``) and ``national_pence``, the part priced nationally."""
    keys = [*CONTRACT_KEYS, "point_of_delivery"]
    exact = local_prices.filter(local_prices.code != "").select(*keys, "code", exact_price=local_prices.price_pence)
    general = local_prices.filter(local_prices.code == "").select(*keys, general_price=local_prices.price_pence)
    joined = units.left_join(exact, [*keys, "code"]).left_join(general, keys)
    local = joined.exact_price.coalesce(joined.general_price)
    national = ibis.ifelse(local.notnull(), 0, joined.pence).cast("int64")
    return joined.select(
        *(column for column in _UNIT_COLUMNS if column != "pence"),
        pence=ibis.ifelse(local.notnull(), local * joined.units, joined.pence),
        national_pence=national,
    )


def activity_cells(units: ir.Table, practice_groups: ir.Table, *, year: int, as_at_month: int) -> ir.Table:
    """Units, £ and nationally priced £ by cell, for the months of ``year`` up to ``as_at_month``."""
    chosen = units.filter(in_financial_year(units.activity_date, year))
    chosen = chosen.filter(financial_month(chosen.activity_date) <= as_at_month)
    grouped = chosen.left_join(practice_groups, chosen.practice == practice_groups.practice)
    grouped = grouped.mutate(practice_group=_text(grouped.practice_group))
    return (
        grouped.group_by(list(CELL_KEYS))
        .aggregate(units=grouped.units.sum(), pence=grouped.pence.sum(), national_pence=grouped.national_pence.sum())
        .order_by(list(CELL_KEYS))
    )


def prescribing_by_presentation(rx: ir.Table, practices: Sequence[str], year_month: str) -> ir.Table:
    """Items and actual cost by BNF presentation for ``practices`` in one month of the ``prescribing`` table."""
    chosen = rx.filter(rx.year_month == year_month)
    if practices:
        chosen = chosen.filter(chosen.practice.isin(list(practices)))
    return chosen.group_by("bnf_code").aggregate(items=chosen.items.sum(), cost_pence=chosen.actual_cost_pence.sum())


def practice_commissioners(activity: Sequence[ir.Table]) -> ir.Table:
    """Each practice the activity names, with the commissioner its activity is charged to."""
    pairs = [table.select("practice", "commissioner").distinct() for table in activity]
    return ibis.union(*pairs, distinct=True).filter(lambda t: t.practice.notnull())
