"""Admitted care spells whose primary diagnosis is an ambulatory care sensitive condition, as an Ibis expression.

The diagnosis is matched as HES writes it (``I500``, ``K20X``) or with a dot (``I50.0``): a four-character code in
the list matches that code, a three-character one every code beneath it.
"""

from __future__ import annotations

import ibis.expr.types as ir


def acsc_spells(spells: ir.Table, codes: ir.Table) -> ir.Table:
    """The spells of ``spells`` (with ``primary_diagnosis``) whose diagnosis is in ``codes`` (``code``,
    ``condition``), with that condition as ``acsc_condition``."""
    diagnosis = spells.primary_diagnosis.upper().replace(".", "").strip()
    staged = spells.mutate(_acsc_3=diagnosis.substr(0, 3), _acsc_4=diagnosis.substr(0, 4))
    four = codes.filter(codes.code.length() == 4).select(_code_4=codes.code, _condition_4=codes.condition)
    three = codes.filter(codes.code.length() == 3).select(_code_3=codes.code, _condition_3=codes.condition)
    joined = staged.left_join(four, staged._acsc_4 == four._code_4)
    joined = joined.left_join(three, joined._acsc_3 == three._code_3)
    matched = joined.mutate(acsc_condition=joined._condition_4.coalesce(joined._condition_3))
    return matched.filter(matched.acsc_condition.notnull()).select(*spells.columns, "acsc_condition")
