"""The national tariff as small pricing dimensions, each keyed by one integer with a row for every key of a code
dictionary (``engine.codes``) and ``NO_KEY``: a priced row finds its row by an inner join on one integer (a direct
lookup on DuckDB), and the rules that depend only on the tariff cell are worked out here, once per cell."""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from outturn.domain.activity import AdmissionMethod
from outturn.engine.codes import APC_METHODS, keyed_grid

Dimension = Callable[[ir.Table], ir.Table]


def held_as_is(table: ir.Table) -> ir.Table:
    """The default way a backend holds a pricing dimension: as the expression it is."""
    return table


def mff_dimension(mff: ir.Table, codes: ir.Table) -> ir.Table:
    """The MFF as a dimension keyed by the provider's code key (``mff_key``): a row for every key of ``codes``
    and ``NO_KEY``, with a null ``mff_millionths`` where the provider has none."""
    grid = keyed_grid(codes)
    rates = mff.select(mff_provider=mff.provider, mff_millionths=mff.mff_millionths)
    joined = grid.left_join(rates, grid.code == rates.mff_provider)
    return joined.select(mff_key=joined.code_key, mff_millionths=joined.mff_millionths)


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


def apc_cell_key(code_key: ir.IntegerValue, method: int, short: ir.IntegerValue) -> ir.IntegerValue:
    """One integer for an HRG's key, an admission method's index (``len(APC_METHODS)``: any other) and the
    short-stay test (0 or 1)."""
    return ((code_key * (len(APC_METHODS) + 1) + method) * 2 + short).cast("int64")


def apc_dimension(tariff_apc: ir.Table, codes: ir.Table, *, year: int) -> ir.Table:
    """``apc_prices_by_method`` keyed by one integer (``tariff_key``: the HRG's code key, the admission method and
    the short-stay test), with a row for every key of ``codes`` and ``NO_KEY`` and every method, known or not; a
    null ``bed_day_price`` marks an HRG (or admission method) that the tariff does not know."""
    prices = apc_prices_by_method(tariff_apc, year=year)
    grid = keyed_grid(codes)
    methods = [*(method.value for method in APC_METHODS), None]
    cells = ibis.union(
        *(
            grid.select(
                code=grid.code,
                cell_key=apc_cell_key(grid.code_key, index, ibis.literal(int(short))),
                cell_method=ibis.literal(method, type="string"),
                cell_short=ibis.literal(short),
            )
            for index, method in enumerate(methods)
            for short in (False, True)
        )
    )
    joined = cells.left_join(
        prices,
        (cells.code == prices.tariff_hrg)
        & (cells.cell_method == prices.tariff_method)
        & (cells.cell_short == prices.tariff_short),
    )
    return joined.select(
        tariff_key=joined.cell_key,
        spell_price=joined.spell_price,
        trim_days=joined.trim_days,
        bed_day_price=joined.bed_day_price,
    )


def op_dimensions(
    tariff_op: ir.Table, tariff_apc: ir.Table, codes: ir.Table, *, year: int
) -> tuple[ir.Table, ir.Table]:
    """The outpatient tariff as two dimensions, each with a row for every key of ``codes`` and ``NO_KEY``: the
    treatment function's price for a first or a follow-up attendance (``tariff_key``: the code key x 2, + 1 for a
    first attendance), and the procedure HRG's OPROC price (``procedure_key``; null where none)."""
    grid = keyed_grid(codes)
    specialty = tariff_op.filter(tariff_op.year == year).select(
        tariff_tf=tariff_op.treatment_function,
        first_price=tariff_op.first_pence,
        follow_up_price=tariff_op.follow_up_pence,
    )
    joined = grid.left_join(specialty, grid.code == specialty.tariff_tf)
    by_type = ibis.union(
        *(
            joined.select(tariff_key=(joined.code_key * 2 + int(first)).cast("int64"), specialty_price=price)
            for first, price in ((False, joined.follow_up_price), (True, joined.first_price))
        )
    )
    procedures = tariff_apc.filter((tariff_apc.year == year) & tariff_apc.op_procedure_pence.notnull()).select(
        procedure_hrg_code=tariff_apc.hrg, procedure_price=tariff_apc.op_procedure_pence
    )
    found = grid.left_join(procedures, grid.code == procedures.procedure_hrg_code)
    return by_type, found.select(procedure_key=found.code_key, procedure_price=found.procedure_price)


def ae_dimension(tariff_ae: ir.Table, codes: ir.Table, *, year: int) -> ir.Table:
    """The A&E tariff keyed by one integer (``tariff_key``: the HRG's code key x 3 + 0 for department types 1
    and 2, 1 for type 3, 2 for any other), with a row for every key of ``codes`` and ``NO_KEY``; ``hrg_known``
    says whether the tariff has the HRG."""
    grid = keyed_grid(codes)
    prices = tariff_ae.filter(tariff_ae.year == year).select(
        tariff_hrg=tariff_ae.hrg, type_1_2_price=tariff_ae.type_1_2_pence, type_3_price=tariff_ae.type_3_pence
    )
    joined = grid.left_join(prices, grid.code == prices.tariff_hrg)
    columns = (joined.type_1_2_price, joined.type_3_price, ibis.null().cast("int64"))
    return ibis.union(
        *(
            joined.select(
                tariff_key=(joined.code_key * 3 + index).cast("int64"),
                ae_price=price,
                hrg_known=joined.tariff_hrg.notnull(),
            )
            for index, price in enumerate(columns)
        )
    )
