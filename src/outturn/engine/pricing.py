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

Each pricer gives priced records, or with ``totalled=True`` their totals by point of delivery and reason, grouped
on the few columns that decide those labels (``Rules``); the dimensions are in ``engine.tariff_dimensions``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from outturn.domain.activity import ActivityKind, AttendanceType, DepartmentType, PointOfDelivery
from outturn.domain.tariff import MFF_SCALE, SHORT_STAY_MAX_DAYS, SHORT_STAY_MIN_AGE
from outturn.engine.codes import (
    KEYED_COLUMNS,
    codes_of,
    index_columns,
    key_column,
    key_columns,
    with_indexes,
    with_keys,
)
from outturn.engine.tariff_dimensions import (
    Dimension,
    ae_dimension,
    apc_cell_key,
    apc_dimension,
    held_as_is,
    mff_dimension,
    op_dimensions,
)

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


@ibis.udf.scalar.builtin(name="div")  # type: ignore[untyped-decorator]
def whole_division(dividend: int, divisor: int) -> int:  # type: ignore[empty-body]
    """Integer division (truncating; the floor for operands >= 0): Spark's ``div``, a macro over DuckDB's ``//``
    (``engine.backends``). Ibis compiles ``//`` to a floor of a floating division."""


def with_mff(pence: ir.IntegerValue, mff_millionths: ir.IntegerValue) -> ir.IntegerValue:
    """``pence`` x MFF rounded half up to the penny, in integers: (2·p·m + 10⁶) div (2·10⁶) for p, m >= 0."""
    return whole_division(pence * mff_millionths * 2 + MFF_SCALE, 2 * MFF_SCALE)


Decide = Callable[[ir.Table], dict[str, ir.Value]]
Label = Callable[[ir.Table], ir.StringValue]


@dataclass(frozen=True)
class Rules:
    """How a kind of activity's point of delivery and the reason a row is unpriced follow from a few columns.

    ``deciding`` works them out per row from the priced row (few distinct values: flags and short codes);
    ``point_of_delivery`` and ``reason`` read only those columns and ``_has_tariff`` (the row found a price), so
    the per-record path labels each row, and a total groups the rows on them and labels each group once."""

    deciding: Decide
    point_of_delivery: Label
    reason: Label  # null where nothing is wrong but a missing MFF


def _stage(table: ir.Table, **columns: ir.Value) -> ir.Table:
    """``table`` with ``columns`` added as a query of its own. Ibis would otherwise inline each expression into
    every column that uses it, and the database would compute it again for each (CASE on every row is what costs
    on a national year): staged, the short-stay choice and the priced test are worked out once per row."""
    return table.mutate(**columns).view()


def _unpriced_reason(decided: ir.Table, rules: Rules, priced: ir.BooleanValue) -> ir.StringValue:
    return ibis.ifelse(priced, ibis.null("string"), rules.reason(decided).coalesce(NO_MFF))


def _finish(staged: ir.Table, activity_columns: list[str], rules: Rules, *, totalled: bool) -> ir.Table:
    """Add the MFF, the point of delivery, the reason a row cannot be priced, and the rounded prices to
    ``staged``: the activity with ``_tariff``, ``_excess_days`` and ``_excess_tariff`` for each row. A row is
    priced when it has a tariff and an MFF; ``rules`` say where it is delivered and why it is not priced.

    ``totalled``: instead of the rows, their totals by point of delivery and reason (``pricing_totals``'
    ``pricing_summary`` of the rows, to the penny): grouped on the columns that decide the labels, which are
    worked out per group."""
    decided = _stage(
        staged,
        **rules.deciding(staged),
        _has_tariff=staged._tariff.notnull(),
        _has_mff=staged.mff_millionths.notnull(),
    )
    if totalled:
        return _totalled(decided, rules, [*rules.deciding(staged), "_has_tariff", "_has_mff"])
    null_int = ibis.null().cast("int64")
    priced = decided._has_tariff & decided._has_mff
    return decided.select(
        *activity_columns,
        point_of_delivery=rules.point_of_delivery(decided),
        tariff_pence=ibis.ifelse(priced, decided._tariff, null_int),
        excess_bed_days=ibis.ifelse(priced, decided._excess_days, 0).cast("int64"),
        excess_tariff_pence=ibis.ifelse(priced, decided._excess_tariff, null_int),
        mff_millionths=decided.mff_millionths,
        price_pence=with_mff(decided._tariff, decided.mff_millionths),  # null unless both are there: priced
        excess_price_pence=ibis.ifelse(priced, with_mff(decided._excess_tariff, decided.mff_millionths), null_int),
        unpriced_reason=_unpriced_reason(decided, rules, priced),
    )


SUMMARY_ORDER = ["point_of_delivery", "unpriced_reason"]


def _totalled(decided: ir.Table, rules: Rules, keys: list[str]) -> ir.Table:
    """Units and pence of ``decided`` by point of delivery and reason: summed per group of the deciding columns
    (a handful of groups), then labelled; the pence of an unpriced group are 0."""
    groups = decided.group_by(keys).aggregate(
        _units=decided.count(),
        _price=with_mff(decided._tariff, decided.mff_millionths).sum(),
        _days=decided._excess_days.sum(),
        _excess=with_mff(decided._excess_tariff, decided.mff_millionths).sum(),
    )
    priced = groups._has_tariff & groups._has_mff
    zero = ibis.literal(0).cast("int64")
    labelled = groups.select(
        point_of_delivery=rules.point_of_delivery(groups),
        unpriced_reason=_unpriced_reason(groups, rules, priced),
        _units=groups._units,
        _price=ibis.ifelse(priced, groups._price, zero),
        _days=ibis.ifelse(priced, groups._days, zero),
        _excess=ibis.ifelse(priced, groups._excess, zero),
    )
    return (
        labelled.group_by(SUMMARY_ORDER)
        .aggregate(
            units=labelled._units.sum().cast("int64"),
            price_pence=labelled._price.sum().coalesce(0).cast("int64"),
            excess_bed_days=labelled._days.sum().coalesce(0).cast("int64"),
            excess_price_pence=labelled._excess.sum().coalesce(0).cast("int64"),
        )
        .order_by(SUMMARY_ORDER)
    )


def _keyed(
    activity: ir.Table, kind: ActivityKind, codes: ir.Table | None, tariff_codes: ir.Table, dimension: Dimension
) -> tuple[ir.Table, list[str], ir.Table]:
    """The activity with its key columns, its own columns without them, and the code dictionary of the keys:
    the stored keys and ``codes`` (the dictionary they come from) where given, else keys looked up on read in
    ``tariff_codes`` (stored keys then dropped: they belong to another dictionary)."""
    stored_keys = set(key_columns(kind)) | set(index_columns(kind))
    columns = [name for name in activity.columns if name not in stored_keys]
    indexed = with_indexes(activity, kind)
    if codes is None:
        tariff_codes = dimension(tariff_codes)  # worked out once, not in each lookup and dimension
        indexed = indexed.select(*columns, *index_columns(kind))
        return with_keys(indexed, tariff_codes, KEYED_COLUMNS[kind]), columns, tariff_codes
    return with_keys(indexed, codes, KEYED_COLUMNS[kind]), columns, codes


def _lookup(staged: ir.Table, key: ir.IntegerValue, prices: ir.Table, mff: ir.Table) -> ir.Table:
    """``staged`` (with ``provider_key``) joined to its row of ``prices`` by ``key`` (``prices.tariff_key``) and
    to its MFF. Both dimensions hold a row for every key, so both joins are inner joins on one integer."""
    staged = _stage(staged, _tariff_key=key)
    joined = staged.join(prices, staged._tariff_key == prices.tariff_key)
    return joined.join(mff, joined.provider_key == mff.mff_key)


def price_apc(
    spells: ir.Table,
    tariff_apc: ir.Table,
    mff: ir.Table,
    *,
    year: int,
    codes: ir.Table | None = None,
    dimension: Dimension = held_as_is,
    totalled: bool = False,
) -> ir.Table:
    """Price admitted patient care spells against one year's tariff.

    One join finds each spell's price and trim point (by HRG, admission method and the short-stay test, as one
    integer key), so no rule is chosen per spell; what remains per spell is the excess bed days and the MFF.
    ``codes``: the code dictionary the spells' stored keys come from (by default the tariff's own codes, the
    spells keyed on read); ``dimension``: how the backend holds the small tariff and MFF dimensions."""
    keyed, columns, codes = _keyed(spells, ActivityKind.APC, codes, codes_of(tariff_apc.hrg, mff.provider), dimension)
    prices = dimension(apc_dimension(tariff_apc, codes, year=year))
    rates = dimension(mff_dimension(mff, codes))
    short = ((keyed.length_of_stay <= SHORT_STAY_MAX_DAYS) & (keyed.age >= SHORT_STAY_MIN_AGE)).coalesce(False)
    method = keyed[key_column("admission_method")]
    joined = _lookup(keyed, apc_cell_key(keyed.hrg_key, method, short.ifelse(1, 0)), prices, rates)
    excess_days = ibis.ifelse(joined.length_of_stay > joined.trim_days, joined.length_of_stay - joined.trim_days, 0)
    staged = _stage(
        joined,
        _tariff=joined.spell_price,
        _excess_days=excess_days,
        _excess_tariff=excess_days * joined.bed_day_price,
    )
    return _finish(staged, columns, APC_RULES, totalled=totalled)


APC_RULES = Rules(
    # the admission method as it stands is the point of delivery; a null price for the bed day: no tariff row
    deciding=lambda row: {
        "_method": row.admission_method,
        "_hrg_missing": row.hrg.isnull(),
        "_hrg_unknown": row.bed_day_price.isnull(),
    },
    point_of_delivery=lambda row: row._method,
    reason=lambda row: ibis.cases(
        (row._hrg_missing, MISSING_HRG),
        (row._hrg_unknown, UNKNOWN_HRG),
        (~row._has_tariff, NO_POD_PRICE),
        else_=ibis.null("string"),
    ),
)


# look-alike of price_apc's signature: declarative, the same keyword options for outpatient attendances.
def price_op(
    attendances: ir.Table,
    tariff_op: ir.Table,
    tariff_apc: ir.Table,
    mff: ir.Table,
    *,
    year: int,
    codes: ir.Table | None = None,
    dimension: Dimension = held_as_is,
    totalled: bool = False,
) -> ir.Table:
    """Price outpatient attendances: procedure price where there is one, else first or follow-up by specialty.
    ``codes`` and ``dimension`` as for ``price_apc``."""
    tariff_codes = codes_of(tariff_op.treatment_function, tariff_apc.hrg, mff.provider)
    keyed, columns, codes = _keyed(attendances, ActivityKind.OP, codes, tariff_codes, dimension)
    by_type, procedures = (dimension(table) for table in op_dimensions(tariff_op, tariff_apc, codes, year=year))
    rates = dimension(mff_dimension(mff, codes))
    first = keyed.attendance_type == AttendanceType.FIRST.value
    joined = _lookup(keyed, keyed.treatment_function_key * 2 + first.ifelse(1, 0), by_type, rates)
    joined = joined.join(procedures, joined.procedure_hrg_key == procedures.procedure_key)
    procedure = joined.procedure_price.notnull()
    zero = ibis.literal(0).cast("int64")
    staged = _stage(
        joined,
        _tariff=procedure.ifelse(joined.procedure_price, joined.specialty_price),
        _excess_days=zero,
        _excess_tariff=zero,
    )
    return _finish(staged, columns, OP_RULES, totalled=totalled)


OP_RULES = Rules(
    deciding=lambda row: {
        "_procedure": row.procedure_price.notnull(),
        "_first": row.attendance_type == AttendanceType.FIRST.value,
        "_tf_missing": row.treatment_function.isnull(),
    },
    point_of_delivery=lambda row: ibis.cases(
        (row._procedure, ibis.literal(PointOfDelivery.OP_PROCEDURE.value)),
        (row._first, ibis.literal(PointOfDelivery.OP_FIRST.value)),
        else_=ibis.literal(PointOfDelivery.OP_FOLLOW_UP.value),
    ),
    reason=lambda row: ibis.cases(
        (row._procedure, ibis.null("string")),
        (row._tf_missing, MISSING_TREATMENT_FUNCTION),
        (~row._has_tariff, UNKNOWN_TREATMENT_FUNCTION),
        else_=ibis.null("string"),
    ),
)


AE_DEPARTMENTS = ((DepartmentType.TYPE_1.value, DepartmentType.TYPE_2.value), (DepartmentType.TYPE_3.value,))


def price_ae(
    attendances: ir.Table,
    tariff_ae: ir.Table,
    mff: ir.Table,
    *,
    year: int,
    codes: ir.Table | None = None,
    dimension: Dimension = held_as_is,
    totalled: bool = False,
) -> ir.Table:
    """Price A&E attendances by HRG and department type. ``codes`` and ``dimension`` as for ``price_apc``."""
    keyed, columns, codes = _keyed(
        attendances, ActivityKind.AE, codes, codes_of(tariff_ae.hrg, mff.provider), dimension
    )
    prices = dimension(ae_dimension(tariff_ae, codes, year=year))
    rates = dimension(mff_dimension(mff, codes))
    department = ibis.cases(
        *((keyed.department_type.isin(list(types)), index) for index, types in enumerate(AE_DEPARTMENTS)),
        else_=len(AE_DEPARTMENTS),
    )
    joined = _lookup(keyed, keyed.hrg_key * 3 + department, prices, rates)
    zero = ibis.literal(0).cast("int64")
    staged = _stage(joined, _tariff=joined.ae_price, _excess_days=zero, _excess_tariff=zero)
    return _finish(staged, columns, AE_RULES, totalled=totalled)


AE_RULES = Rules(
    deciding=lambda row: {
        "_hrg_missing": row.hrg.isnull(),
        "_hrg_known": row.hrg_known,
        "_department": row.department_type,
    },
    point_of_delivery=lambda row: ibis.literal(PointOfDelivery.AE.value),
    reason=lambda row: ibis.cases(
        (row._hrg_missing, MISSING_HRG),
        (~row._hrg_known, UNKNOWN_HRG),
        (~row._department.isin([kind.value for kind in DepartmentType]), UNKNOWN_DEPARTMENT_TYPE),
        (~row._has_tariff, NO_POD_PRICE),
        else_=ibis.null("string"),
    ),
)
