"""Schemes' activity measures, from CSV or XLSX (``outturn savings import-measures``).

Columns: ``scheme, year, source, target_change`` and, as the measure needs them, ``baseline, baseline_from,
baseline_to, point_of_delivery, provider, commissioner, practices, hrg, treatment_function, excess_bed_days, bnf,
unit_price, bed_day_price``. ``source`` is ``activity`` or ``prescribing``; ``practices`` a list separated by
spaces, commas or semicolons; ``excess_bed_days`` yes/no; prices as money (``£1,600``), blank for the tariff
(activity) or the actual cost (prescribing). ``baseline`` is ``monthly-average`` (needs ``baseline_from`` and
``baseline_to``) or ``same-months-last-year`` (no baseline months); blank, it is the monthly average when baseline
months are given and the same months last year when they are not.
One row per scheme; a scheme given twice, or not held, is a problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

from outturn.domain.activity import PointOfDelivery
from outturn.domain.errors import BadInput
from outturn.domain.labels import look_up, normalise_key
from outturn.domain.periods import FinancialYear
from outturn.domain.problems import Problem
from outturn.domain.scheme_measures import (
    MEASURE_POINTS,
    BaselineRule,
    MeasureSource,
    SchemeMeasure,
    month_key,
    parse_target,
)
from outturn.ingest.tables import RowReader, read_table

REQUIRED = ("scheme", "year", "source", "target_change")
OPTIONAL = (
    "baseline",
    "baseline_from",
    "baseline_to",
    "point_of_delivery",
    "provider",
    "commissioner",
    "practices",
    "hrg",
    "treatment_function",
    "excess_bed_days",
    "bnf",
    "unit_price",
    "bed_day_price",
)
_YES = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False, "false": False, "0": False, "": False}


def _point(text: str) -> PointOfDelivery:
    names = {point.value: point for point in MEASURE_POINTS}
    return look_up(names, text, "point of delivery", names)


def _source(text: str) -> MeasureSource:
    return look_up({item.value: item for item in MeasureSource}, text, "source", (item.value for item in MeasureSource))


def _baseline_rule(text: str) -> BaselineRule:
    rules = {normalise_key(rule.value): rule for rule in BaselineRule}
    return look_up(rules, text, "baseline", (rule.value for rule in BaselineRule))


def _baseline(reader: RowReader) -> tuple[BaselineRule | None, int | None, int | None]:
    """The baseline rule and its months (the monthly average needs both; the same months last year takes none)."""
    rule = reader.parse("baseline", _baseline_rule, required=False)
    named = bool(reader.text("baseline_from") or reader.text("baseline_to"))
    rule = rule or (BaselineRule.MONTHLY_AVERAGE if named else BaselineRule.SAME_MONTHS)
    if rule is BaselineRule.SAME_MONTHS:
        if named:
            reader.fault("a same-months-last-year baseline takes no baseline months", "baseline_from")
        return rule, None, None
    first, last = _month(reader, "baseline_from"), _month(reader, "baseline_to")
    return (rule, first, last) if first is not None and last is not None else (None, None, None)


def _yes_no(text: str) -> bool:
    if text.strip().lower() not in _YES:
        raise BadInput(f"expected yes or no, not {text!r}")
    return _YES[text.strip().lower()]


def _month(reader: RowReader, column: str) -> int | None:
    """A calendar month: ``2017-04`` as text, or a date (Excel turns 2017-04 typed in a cell into 1 April 2017)."""
    cell = reader.cells.get(column)
    if isinstance(cell, date):
        return cell.year * 100 + cell.month
    return reader.parse(column, month_key)


def _price(reader: RowReader, column: str) -> int | None:
    """A price per unit or bed day: blank (the tariff or cost) or more than £0 (a price of nothing, or below it,
    would evidence a saving of nothing or turn a reduction into a cost)."""
    price = reader.money(column, required=False)
    if price is not None and price <= 0:
        reader.fault(f"a price is more than £0, not {reader.text(column)!r}", column)
        return None
    return price


def _rule_column(error: BadInput, source: MeasureSource) -> str:
    """The column a measure's own rule (``SchemeMeasure``) points at, for the problem's row and column."""
    reason = str(error)
    if "baseline" in reason:
        return "baseline_to"
    if "excess bed days" in reason:
        return "excess_bed_days"
    if "target" in reason:
        return "target_change"
    return "point_of_delivery" if source is MeasureSource.ACTIVITY else "bnf"


def _measure(reader: RowReader) -> SchemeMeasure | None:
    year = reader.parse("year", FinancialYear.parse)
    source = reader.parse("source", _source)
    rule, first, last = _baseline(reader)
    target = reader.parse("target_change", parse_target)
    point = reader.parse("point_of_delivery", _point, required=source is MeasureSource.ACTIVITY)
    bed_days = reader.parse("excess_bed_days", _yes_no, required=False) or False
    unit_price = _price(reader, "unit_price")
    bed_day_price = _price(reader, "bed_day_price")
    if reader.problems or year is None or source is None or rule is None or target is None:
        return None
    try:
        return SchemeMeasure(
            reference=reader.text("scheme"),
            year=year,
            source=source,
            baseline_first=first,
            baseline_last=last,
            point_of_delivery=point,
            provider=reader.text("provider").upper(),
            commissioner=reader.text("commissioner").upper(),
            practices=tuple(code.upper() for code in re.split(r"[\s,;]+", reader.text("practices")) if code),
            hrg_prefix=reader.text("hrg").upper().rstrip("*"),
            treatment_function=reader.text("treatment_function"),
            excess_bed_days=bed_days,
            bnf_prefix=reader.text("bnf").upper().rstrip("*"),
            target_units=target[0],
            target_share=target[1],
            unit_price_pence=unit_price,
            bed_day_price_pence=bed_day_price,
            baseline_rule=rule,
        )
    except BadInput as error:
        reader.fault(str(error), _rule_column(error, source))
        return None


def read_scheme_measures(
    path: Path, *, scheme_held: Callable[[FinancialYear, str], bool]
) -> tuple[list[SchemeMeasure], list[Problem]]:
    """The measures in the file and a problem for each bad cell, a scheme not held, or a scheme given twice."""
    table = read_table(path, required=REQUIRED, optional=OPTIONAL)
    measures: list[SchemeMeasure] = []
    problems: list[Problem] = []
    first_row: dict[tuple[FinancialYear, str], int] = {}
    memo: dict[tuple[str, str], object] = {}
    for number, cells in table.rows:
        reader = RowReader(table, number, cells, memo)
        if not reader.text("scheme"):
            reader.fault("a scheme reference is required", "scheme")
        measure = _measure(reader)
        if measure is not None:
            key = (measure.year, measure.reference)
            if not scheme_held(*key):
                reader.fault(f"no scheme {measure.reference} in {measure.year.label} is held", "scheme")
            elif first_row.setdefault(key, number) != number:
                reader.fault(f"scheme {measure.reference} already has a measure on row {first_row[key]}", "scheme")
            else:
                measures.append(measure)
        problems.extend(reader.problems)
    return measures, problems
