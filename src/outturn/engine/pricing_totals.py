"""What priced activity becomes: the priced extract (record id, provider, commissioner and prices) and the totals
by point of delivery and reason, from priced rows with labels or from rows priced with codes (``coded=True``)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from outturn.engine.pricing import OTHER_POD, POINTS_OF_DELIVERY, PRICE_COLUMNS, REASONS, label_of

RECORD_KEYS = ("provider", "commissioner")


def prices_only(priced: ir.Table) -> ir.Table:
    """Priced records narrowed to the record's id, provider and commissioner and the price columns: a priced
    extract to join back to the activity by id (a national year writes in a fraction of the time of every column)."""
    record_id = next(name for name in ("spell_id", "attendance_id") if name in priced.columns)
    return priced.select(record_id, *RECORD_KEYS, *PRICE_COLUMNS)


def _summed(priced: ir.Table, by: list[str]) -> ir.Table:
    return priced.group_by(by).aggregate(
        units=priced.count(),
        price_pence=priced.price_pence.sum().coalesce(0),
        excess_bed_days=priced.excess_bed_days.sum().coalesce(0),
        excess_price_pence=priced.excess_price_pence.sum().coalesce(0),
    )


SUMMARY_ORDER = ["point_of_delivery", "unpriced_reason"]


def pricing_summary(priced: ir.Table) -> ir.Table:
    """Counts and pence by point of delivery and reason (null reason: priced)."""
    return _summed(priced, SUMMARY_ORDER).order_by(SUMMARY_ORDER)


def coded_summary(coded: ir.Table) -> ir.Table:
    """``pricing_summary`` of activity priced with ``coded=True``: grouped by the codes, the groups labelled."""
    summed = _summed(coded, ["pod_code", "pod_other", "reason_code"])
    labelled = summed.select(
        point_of_delivery=ibis.ifelse(
            summed.pod_code == OTHER_POD, summed.pod_other, label_of(summed.pod_code, POINTS_OF_DELIVERY)
        ),
        unpriced_reason=label_of(summed.reason_code, REASONS),
        units=summed.units,
        price_pence=summed.price_pence,
        excess_bed_days=summed.excess_bed_days,
        excess_price_pence=summed.excess_price_pence,
    )
    return labelled.order_by(SUMMARY_ORDER)
