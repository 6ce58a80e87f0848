"""Payment by Results pricing as Ibis expressions: activity + national tariff + MFF -> priced activity.

Rules (National Tariff Payment System 2017/19):
- Admitted patient care: the spell price for the admission method's point of delivery (ordinary elective, day
  case, non-elective); for elective and non-elective spells, each day beyond the HRG's trim point earns the
  per-day long-stay payment (excess bed days); a non-elective spell of 0 or 1 day for a patient aged 19 or over
  is paid the reduced short-stay emergency tariff where the HRG has one (and earns no excess bed days).
- Outpatients: an attendance with an outpatient procedure HRG that has a national OPROC price is paid that
  price; otherwise the first or follow-up attendance price of its treatment function.
- A&E: the HRG's price for the department type (types 1 and 2, or type 3).
- The provider's market forces factor uplifts each price; each unit (a spell, its excess bed days, an
  attendance) is rounded to the penny, half up. All arithmetic is on integers, so every backend agrees exactly.
- What cannot be priced keeps its row, with a null price and its reason in ``unpriced_reason``.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from outturn.domain.activity import AdmissionMethod, AttendanceType, DepartmentType, PointOfDelivery
from outturn.domain.tariff import MFF_SCALE, SHORT_STAY_MAX_DAYS, SHORT_STAY_MIN_AGE

PRICE_COLUMNS = (
    "point_of_delivery",
    "tariff_pence",
    "excess_bed_days",
    "excess_tariff_pence",
    "mff_millionths",
    "price_pence",
    "excess_price_pence",
    "unpriced_reason",
)

MISSING_HRG = "missing HRG"
UNKNOWN_HRG = "HRG not in the national tariff"
NO_POD_PRICE = "no national price for this point of delivery"
MISSING_TREATMENT_FUNCTION = "missing treatment function"
UNKNOWN_TREATMENT_FUNCTION = "no outpatient price for this treatment function"
UNKNOWN_DEPARTMENT_TYPE = "unknown A&E department type"
NO_MFF = "no market forces factor for the provider"


def with_mff(pence: ir.IntegerValue, mff_millionths: ir.IntegerValue) -> ir.IntegerValue:
    """``pence`` x MFF rounded half up to the penny, in integers: (2·p·m + 10⁶) // (2·10⁶) for p, m >= 0."""
    return (pence * mff_millionths * 2 + MFF_SCALE) // (2 * MFF_SCALE)


Reason = Callable[[ir.Table], ir.StringValue]


def _stage(table: ir.Table, **columns: ir.Value) -> ir.Table:
    """``table`` with ``columns`` added as a query of its own. Ibis would otherwise inline each expression into
    every column that uses it, and the database would compute it again for each (CASE on every row is what costs
    on a national year): staged, the short-stay choice and the priced test are worked out once per row."""
    return table.mutate(**columns).view()


def _finish(staged: ir.Table, activity_columns: list[str], *, reason: Reason) -> ir.Table:
    """Add the MFF, the reason a row cannot be priced, and the rounded prices to ``staged``: the activity with
    ``_pod`` (point of delivery), ``_tariff``, ``_excess_days`` and ``_excess_tariff`` for each row.

    A row is priced when it has a tariff and an MFF (cheap tests on every row); ``reason`` says why not, and is
    only worked out for the rows that are not priced."""
    row = _stage(staged, _priced=staged._tariff.notnull() & staged.mff_millionths.notnull())
    null_int = ibis.null().cast("int64")
    priced = row._priced
    return row.select(
        *activity_columns,
        point_of_delivery=row._pod,
        tariff_pence=ibis.ifelse(priced, row._tariff, null_int),
        excess_bed_days=ibis.ifelse(priced, row._excess_days, 0).cast("int64"),
        excess_tariff_pence=ibis.ifelse(priced, row._excess_tariff, null_int),
        mff_millionths=row.mff_millionths,
        price_pence=with_mff(row._tariff, row.mff_millionths),  # null unless both are there: priced
        excess_price_pence=ibis.ifelse(priced, with_mff(row._excess_tariff, row.mff_millionths), null_int),
        unpriced_reason=ibis.ifelse(priced, ibis.null().cast("string"), reason(row).coalesce(ibis.literal(NO_MFF))),
    )


def _mff_join(activity: ir.Table, mff: ir.Table) -> ir.Table:
    rates = mff.select(mff_provider=mff.provider, mff_millionths=mff.mff_millionths)
    return activity.left_join(rates, activity.provider == rates.mff_provider)


def apc_prices_by_method(tariff_apc: ir.Table, *, year: int) -> ir.Table:
    """The APC tariff as a small dimension: one row per HRG, admission method and short-stay test (``short``: the
    spell is of 0 or 1 day and the patient 19 or over), holding the price and trim point that apply to such a
    spell and the per-day long-stay payment.

    The rules are worked out here, once per HRG, rather than once per spell: a non-elective short stay takes the
    reduced short-stay price (and no trim point) where the HRG has one, its full price otherwise; elective and day
    case spells ignore the test. ``bed_day_price`` is never null (0 where the tariff sets none), so a spell whose
    ``bed_day_price`` is null found no row: an HRG (or admission method) the tariff does not know."""
    prices = tariff_apc.filter(tariff_apc.year == year)
    none = ibis.null().cast("int64")
    has_short_stay = prices.short_stay_pence.notnull()

    def method(name: AdmissionMethod, short: bool, price: ir.IntegerValue, trim: ir.IntegerValue) -> ir.Table:
        return prices.select(
            tariff_hrg=prices.hrg,
            tariff_method=ibis.literal(name.value),
            tariff_short=ibis.literal(short),
            spell_price=price,
            trim_days=trim,
            bed_day_price=prices.excess_bed_day_pence.coalesce(0),
        )

    return ibis.union(
        *(
            method(AdmissionMethod.ELECTIVE, short, prices.elective_pence, prices.elective_trim_days)
            for short in (False, True)
        ),
        *(method(AdmissionMethod.DAY_CASE, short, prices.day_case_pence, none) for short in (False, True)),
        method(AdmissionMethod.NON_ELECTIVE, False, prices.non_elective_pence, prices.non_elective_trim_days),
        method(
            AdmissionMethod.NON_ELECTIVE,
            True,
            ibis.ifelse(has_short_stay, prices.short_stay_pence, prices.non_elective_pence),
            ibis.ifelse(has_short_stay, none, prices.non_elective_trim_days),
        ),
    )


def price_apc(spells: ir.Table, tariff_apc: ir.Table, mff: ir.Table, *, year: int) -> ir.Table:
    """Price admitted patient care spells against one year's tariff.

    One join finds each spell's price and trim point (by HRG, admission method and the short-stay test), so no
    rule is chosen per spell; what remains per spell is the excess bed days and the MFF."""
    columns = list(spells.columns)
    prices = apc_prices_by_method(tariff_apc, year=year)
    short = ((spells.length_of_stay <= SHORT_STAY_MAX_DAYS) & (spells.age >= SHORT_STAY_MIN_AGE)).coalesce(False)
    joined = spells.left_join(
        prices,
        (spells.hrg == prices.tariff_hrg)
        & (spells.admission_method == prices.tariff_method)
        & (short == prices.tariff_short),
    )
    joined = _mff_join(joined, mff)
    excess_days = ibis.ifelse(joined.length_of_stay > joined.trim_days, joined.length_of_stay - joined.trim_days, 0)
    staged = _stage(
        joined,
        _pod=joined.admission_method,
        _tariff=joined.spell_price,
        _excess_days=excess_days,
        _excess_tariff=excess_days * joined.bed_day_price,
    )

    def reason(row: ir.Table) -> ir.StringValue:
        return ibis.cases(
            (row.hrg.isnull(), ibis.literal(MISSING_HRG)),
            (row.bed_day_price.isnull(), ibis.literal(UNKNOWN_HRG)),
            (row._tariff.isnull(), ibis.literal(NO_POD_PRICE)),
            else_=ibis.null().cast("string"),
        )

    return _finish(staged, columns, reason=reason)


def price_op(attendances: ir.Table, tariff_op: ir.Table, tariff_apc: ir.Table, mff: ir.Table, *, year: int) -> ir.Table:
    """Price outpatient attendances: procedure price where there is one, else first or follow-up by specialty."""
    columns = list(attendances.columns)
    specialty = tariff_op.filter(tariff_op.year == year).select(
        tariff_tf=tariff_op.treatment_function,
        first_price=tariff_op.first_pence,
        follow_up_price=tariff_op.follow_up_pence,
    )
    procedures = tariff_apc.filter((tariff_apc.year == year) & tariff_apc.op_procedure_pence.notnull()).select(
        procedure_tariff_hrg=tariff_apc.hrg, procedure_price=tariff_apc.op_procedure_pence
    )
    joined = attendances.left_join(specialty, attendances.treatment_function == specialty.tariff_tf)
    joined = joined.left_join(procedures, joined.procedure_hrg == procedures.procedure_tariff_hrg)
    joined = _mff_join(joined, mff)
    procedure = joined.procedure_price.notnull()
    first = joined.attendance_type == AttendanceType.FIRST.value
    zero = ibis.literal(0).cast("int64")
    staged = _stage(
        joined,
        _pod=ibis.cases(
            (procedure, ibis.literal(PointOfDelivery.OP_PROCEDURE.value)),
            (first, ibis.literal(PointOfDelivery.OP_FIRST.value)),
            else_=ibis.literal(PointOfDelivery.OP_FOLLOW_UP.value),
        ),
        _tariff=ibis.cases(
            (procedure, joined.procedure_price), (first, joined.first_price), else_=joined.follow_up_price
        ),
        _excess_days=zero,
        _excess_tariff=zero,
    )

    def reason(row: ir.Table) -> ir.StringValue:
        return ibis.cases(
            (row.procedure_price.notnull(), ibis.null().cast("string")),
            (row.treatment_function.isnull(), ibis.literal(MISSING_TREATMENT_FUNCTION)),
            (row.tariff_tf.isnull() | row._tariff.isnull(), ibis.literal(UNKNOWN_TREATMENT_FUNCTION)),
            else_=ibis.null().cast("string"),
        )

    return _finish(staged, columns, reason=reason)


def price_ae(attendances: ir.Table, tariff_ae: ir.Table, mff: ir.Table, *, year: int) -> ir.Table:
    """Price A&E attendances by HRG and department type."""
    columns = list(attendances.columns)
    prices = tariff_ae.filter(tariff_ae.year == year).select(
        tariff_hrg=tariff_ae.hrg, type_1_2_price=tariff_ae.type_1_2_pence, type_3_price=tariff_ae.type_3_pence
    )
    joined = _mff_join(attendances.left_join(prices, attendances.hrg == prices.tariff_hrg), mff)
    department = joined.department_type
    major = department.isin([DepartmentType.TYPE_1.value, DepartmentType.TYPE_2.value])
    minor = department == DepartmentType.TYPE_3.value
    zero = ibis.literal(0).cast("int64")
    staged = _stage(
        joined,
        _pod=ibis.literal(PointOfDelivery.AE.value),
        _tariff=ibis.cases(
            (major, joined.type_1_2_price), (minor, joined.type_3_price), else_=ibis.null().cast("int64")
        ),
        _excess_days=zero,
        _excess_tariff=zero,
    )

    def reason(row: ir.Table) -> ir.StringValue:
        known_department = row.department_type.isin([kind.value for kind in DepartmentType])
        return ibis.cases(
            (row.hrg.isnull(), ibis.literal(MISSING_HRG)),
            (row.tariff_hrg.isnull(), ibis.literal(UNKNOWN_HRG)),
            (~known_department, ibis.literal(UNKNOWN_DEPARTMENT_TYPE)),
            (row._tariff.isnull(), ibis.literal(NO_POD_PRICE)),
            else_=ibis.null().cast("string"),
        )

    return _finish(staged, columns, reason=reason)


RECORD_KEYS = ("provider", "commissioner")


def prices_only(priced: ir.Table) -> ir.Table:
    """Priced records narrowed to the record's id, provider and commissioner and the price columns: a priced
    extract to join back to the activity by id (a national year writes in a fraction of the time of every column)."""
    record_id = next(name for name in ("spell_id", "attendance_id") if name in priced.columns)
    return priced.select(record_id, *RECORD_KEYS, *PRICE_COLUMNS)


def pricing_summary(priced: ir.Table) -> ir.Table:
    """Counts and pence by point of delivery and reason (null reason: priced)."""
    return (
        priced.group_by(["point_of_delivery", "unpriced_reason"])
        .aggregate(
            units=priced.count(),
            price_pence=priced.price_pence.sum().coalesce(0),
            excess_bed_days=priced.excess_bed_days.sum().coalesce(0),
            excess_price_pence=priced.excess_price_pence.sum().coalesce(0),
        )
        .order_by(["point_of_delivery", "unpriced_reason"])
    )
