"""What priced records become: the priced extract (record id, provider, commissioner and prices) and their totals
by point of delivery and reason. The pricing functions total activity themselves with ``totalled=True`` (grouped
on the few columns that decide the labels, each group labelled once); ``pricing_summary`` totals records already
priced, the same figures to the penny."""

from __future__ import annotations

import ibis.expr.types as ir

from outturn.engine.pricing import PRICE_COLUMNS, SUMMARY_ORDER

RECORD_KEYS = ("provider", "commissioner")


def prices_only(priced: ir.Table) -> ir.Table:
    """Priced records narrowed to the record's id, provider and commissioner and the price columns: a priced
    extract to join back to the activity by id (a national year writes in a fraction of the time of every column)."""
    record_id = next(name for name in ("spell_id", "attendance_id") if name in priced.columns)
    return priced.select(record_id, *RECORD_KEYS, *PRICE_COLUMNS)


def pricing_summary(priced: ir.Table) -> ir.Table:
    """Counts and pence of priced records by point of delivery and reason (null reason: priced)."""
    return (
        priced.group_by(SUMMARY_ORDER)
        .aggregate(
            units=priced.count(),
            price_pence=priced.price_pence.sum().coalesce(0),
            excess_bed_days=priced.excess_bed_days.sum().coalesce(0),
            excess_price_pence=priced.excess_price_pence.sum().coalesce(0),
        )
        .order_by(SUMMARY_ORDER)
    )
