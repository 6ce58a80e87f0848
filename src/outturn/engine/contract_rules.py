"""Payment rules' inputs as Ibis expressions: emergency readmissions within 30 days of a discharge.

A spell is a readmission when it is non-elective and the same patient (``patient_id``) was discharged from
another spell at the same provider 0-30 days before its admission (day 30 in, day 31 out). Any spell can be the
index: elective, day case or non-elective, priced or not, in any year held. Spells with no patient id are never
readmissions nor index spells. A self-join, so DuckDB and Spark give the same spells.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from outturn.domain.activity import AdmissionMethod
from outturn.domain.contract_rules import READMISSION_WINDOW_DAYS


def readmitted_spells(apc: ir.Table, window_days: int = READMISSION_WINDOW_DAYS) -> ir.Table:
    """``provider`` and ``spell_id`` of every readmission in ``apc`` (admitted patient care, priced or not)."""
    known = apc.filter(apc.patient_id.notnull())
    index = known.select(
        index_provider=known.provider,
        index_patient=known.patient_id,
        index_spell=known.spell_id,
        index_discharge=known.discharge_date,
    )
    again = known.filter(known.admission_method == AdmissionMethod.NON_ELECTIVE.value)
    joined = again.join(
        index,
        [
            again.provider == index.index_provider,
            again.patient_id == index.index_patient,
            again.spell_id != index.index_spell,
            index.index_discharge <= again.admission_date,
            again.admission_date <= index.index_discharge + ibis.interval(days=window_days),
        ],
    )
    return joined.select("provider", "spell_id").distinct()


def readmissions_only(apc: ir.Table, window_days: int = READMISSION_WINDOW_DAYS) -> ir.Table:
    """The rows of ``apc`` that are readmissions (its columns unchanged)."""
    found = readmitted_spells(apc, window_days)
    return apc.semi_join(found, ["provider", "spell_id"])
