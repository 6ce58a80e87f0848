"""Savings schemes' activity measures in the store. Callers own the session/transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from outturn.domain.activity import PointOfDelivery
from outturn.domain.periods import FinancialYear
from outturn.domain.scheme_measures import BaselineRule, MeasureSource, SchemeMeasure
from outturn.store.models import SchemeMeasureRow


def _row(measure: SchemeMeasure) -> SchemeMeasureRow:
    return SchemeMeasureRow(
        year=measure.year.start_year,
        reference=measure.reference,
        source=measure.source.value,
        point_of_delivery=measure.point_of_delivery.value if measure.point_of_delivery else None,
        provider=measure.provider,
        commissioner=measure.commissioner,
        practices=" ".join(measure.practices),
        hrg_prefix=measure.hrg_prefix,
        treatment_function=measure.treatment_function,
        excess_bed_days=measure.excess_bed_days,
        bnf_prefix=measure.bnf_prefix,
        baseline_first=measure.baseline_first,
        baseline_last=measure.baseline_last,
        baseline_rule=measure.baseline_rule.value,
        target_units=measure.target_units,
        target_share=measure.target_share,
        unit_price_pence=measure.unit_price_pence,
        bed_day_price_pence=measure.bed_day_price_pence,
    )


def _measure(row: SchemeMeasureRow) -> SchemeMeasure:
    return SchemeMeasure(
        reference=row.reference,
        year=FinancialYear(row.year),
        source=MeasureSource(row.source),
        baseline_first=row.baseline_first,
        baseline_last=row.baseline_last,
        point_of_delivery=PointOfDelivery(row.point_of_delivery) if row.point_of_delivery else None,
        provider=row.provider,
        commissioner=row.commissioner,
        practices=tuple(row.practices.split()),
        hrg_prefix=row.hrg_prefix,
        treatment_function=row.treatment_function,
        excess_bed_days=row.excess_bed_days,
        bnf_prefix=row.bnf_prefix,
        target_units=row.target_units,
        target_share=None if row.target_share is None else row.target_share.normalize(),
        unit_price_pence=row.unit_price_pence,
        bed_day_price_pence=row.bed_day_price_pence,
        baseline_rule=BaselineRule(row.baseline_rule),
    )


def load_measure(session: Session, year: FinancialYear, reference: str) -> SchemeMeasure | None:
    row = session.scalars(
        select(SchemeMeasureRow).where(
            SchemeMeasureRow.year == year.start_year, SchemeMeasureRow.reference == reference
        )
    ).first()
    return None if row is None else _measure(row)


def load_measures(session: Session, year: FinancialYear) -> list[SchemeMeasure]:
    rows = session.scalars(
        select(SchemeMeasureRow).where(SchemeMeasureRow.year == year.start_year).order_by(SchemeMeasureRow.reference)
    )
    return [_measure(row) for row in rows]


def save_measures(session: Session, measures: Sequence[SchemeMeasure]) -> None:
    """Each measure replaces its scheme's stored one."""
    for measure in measures:
        session.execute(
            delete(SchemeMeasureRow).where(
                SchemeMeasureRow.year == measure.year.start_year, SchemeMeasureRow.reference == measure.reference
            )
        )
        session.add(_row(measure))
    session.flush()
