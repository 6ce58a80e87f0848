"""Contract monitoring as Ibis expressions: priced activity -> activity and £ by contract, point of delivery
and month; follow-up ratios; consultant-to-consultant referrals; case mix for the coding-creep signal."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from outturn.domain.activity import AttendanceType, PointOfDelivery, ReferralSource

CONTRACT_KEYS = ("provider", "commissioner")
ACTIVITY_COLUMNS = ("provider", "commissioner", "point_of_delivery", "code", "activity_date", "units", "pence")
LOCAL_PRICE_SCHEMA = {
    "provider": "string",
    "commissioner": "string",
    "point_of_delivery": "string",
    "code": "string",
    "price_pence": "int64",
}


def financial_month(day: ir.DateValue) -> ir.IntegerValue:
    """April = 1 … March = 12."""
    return ((day.month() + 8) % 12 + 1).cast("int64")


def in_financial_year(day: ir.DateValue, year: int) -> ir.BooleanValue:
    return (day >= ibis.date(year, 4, 1)) & (day <= ibis.date(year + 1, 3, 31))


def _priced(table: ir.Table) -> ir.Table:
    """The rows that were priced (a row left unpriced says why in ``unpriced_reason``)."""
    return table.filter(table.unpriced_reason.isnull())


def _one_unit_each(priced: ir.Table, *, code: ir.Value, activity_date: ir.Value) -> ir.Table:
    """Priced rows in the layout of ``contract_units``, each one unit of activity at its price."""
    return priced.select(
        "provider",
        "commissioner",
        "point_of_delivery",
        code=code,
        activity_date=activity_date,
        units=ibis.literal(1).cast("int64"),
        pence=priced.price_pence,
    )


def spell_units(priced_apc: ir.Table) -> ir.Table:
    """Priced spells and their excess bed days in the layout of ``contract_units``."""
    apc = _priced(priced_apc)
    spells = _one_unit_each(apc, code=apc.hrg, activity_date=apc.discharge_date)
    excess = apc.filter(apc.excess_bed_days > 0).select(
        "provider",
        "commissioner",
        point_of_delivery=ibis.literal(PointOfDelivery.EXCESS_BED_DAYS.value),
        code=apc.hrg,
        activity_date=apc.discharge_date,
        units=apc.excess_bed_days,
        pence=apc.excess_price_pence,
    )
    return ibis.union(spells, excess)


def contract_units(priced_apc: ir.Table, priced_op: ir.Table, priced_ae: ir.Table) -> ir.Table:
    """Every priced unit of activity in one layout: spells, their excess bed days, attendances."""
    op = _priced(priced_op)
    outpatients = _one_unit_each(
        op,
        code=ibis.ifelse(
            op.point_of_delivery == PointOfDelivery.OP_PROCEDURE.value, op.procedure_hrg, op.treatment_function
        ),
        activity_date=op.attendance_date,
    )
    ae = _priced(priced_ae)
    emergency = _one_unit_each(ae, code=ae.hrg, activity_date=ae.arrival_date)
    return ibis.union(spell_units(priced_apc), outpatients, emergency)


def apply_local_prices(units: ir.Table, local_prices: ir.Table) -> ir.Table:
    """A local price for the unit's code, else a local price for the whole point of delivery, else national."""
    keys = [*CONTRACT_KEYS, "point_of_delivery"]
    exact = local_prices.filter(local_prices.code != "").select(
        *keys, code="code", exact_price=local_prices.price_pence
    )
    general = local_prices.filter(local_prices.code == "").select(*keys, general_price=local_prices.price_pence)
    joined = units.left_join(exact, [*keys, "code"]).left_join(general, keys)
    local = joined.exact_price.coalesce(joined.general_price)
    return joined.select(
        *ACTIVITY_COLUMNS[:-1],
        pence=ibis.ifelse(local.notnull(), local * joined.units, joined.pence),
        locally_priced=local.notnull(),
    )


def contract_actuals(units: ir.Table, *, year: int, provider: str | None = None) -> ir.Table:
    """Activity and £ by provider, commissioner, point of delivery and financial month of ``year``."""
    chosen = units.filter(in_financial_year(units.activity_date, year))
    if provider is not None:
        chosen = chosen.filter(chosen.provider == provider)
    return (
        chosen.mutate(month=financial_month(chosen.activity_date))
        .group_by([*CONTRACT_KEYS, "point_of_delivery", "month"])
        .aggregate(activity=chosen.units.sum(), pence=chosen.pence.sum())
        .order_by([*CONTRACT_KEYS, "point_of_delivery", "month"])
    )


def _op_to_date(priced_op: ir.Table, year: int, as_at_month: int) -> ir.Table:
    chosen = priced_op.filter(in_financial_year(priced_op.attendance_date, year))
    return chosen.filter(financial_month(chosen.attendance_date) <= as_at_month)


def follow_up_ratios(priced_op: ir.Table, *, year: int, as_at_month: int) -> ir.Table:
    """First and follow-up attendances by contract and treatment function, year to date."""
    op = _op_to_date(priced_op, year, as_at_month)
    op = op.filter(op.treatment_function.notnull())
    first = op.attendance_type == AttendanceType.FIRST.value
    return (
        op.group_by([*CONTRACT_KEYS, "treatment_function"])
        .aggregate(firsts=ibis.ifelse(first, 1, 0).sum(), follow_ups=ibis.ifelse(first, 0, 1).sum())
        .order_by([*CONTRACT_KEYS, "treatment_function"])
    )


def referral_sources(priced_op: ir.Table, *, year: int, as_at_month: int) -> ir.Table:
    """First attendances by contract, and how many were referred consultant to consultant."""
    op = _op_to_date(priced_op, year, as_at_month)
    firsts = op.filter(op.attendance_type == AttendanceType.FIRST.value)
    consultant = firsts.referral_source == ReferralSource.CONSULTANT.value
    return firsts.group_by(list(CONTRACT_KEYS)).aggregate(
        first_attendances=firsts.count(), consultant_referrals=ibis.ifelse(consultant, 1, 0).sum()
    )


def case_mix(priced_apc: ir.Table, *, year: int, first_month: int, last_month: int) -> ir.Table:
    """Spells, £ and the sum of squared spell prices (as floats: statistics, not money) by contract, point of
    delivery and treatment function, for months ``first_month``..``last_month`` of ``year``."""
    apc = priced_apc.filter(priced_apc.unpriced_reason.isnull() & in_financial_year(priced_apc.discharge_date, year))
    month = financial_month(apc.discharge_date)
    apc = apc.filter((month >= first_month) & (month <= last_month))
    price = apc.price_pence.cast("float64")
    return (
        apc.group_by([*CONTRACT_KEYS, "point_of_delivery", "treatment_function"])
        .aggregate(spells=apc.count(), pence=apc.price_pence.sum(), sum_squares=(price * price).sum())
        .order_by([*CONTRACT_KEYS, "point_of_delivery", "treatment_function"])
    )
