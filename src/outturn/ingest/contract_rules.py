"""Contracts' payment rules from CSV or XLSX, imported with the contract plan.

One row per fact: ``provider, commissioner, year, rule`` and, as the rule needs them, ``point_of_delivery``,
``month``, ``value`` (£), ``activity`` and ``rate`` (a percentage, 0-100); an optional ``description`` is a note,
not stored:

- ``readmissions``: emergency readmissions within 30 days of a discharge are not paid (nothing else).
- ``marginal_rate``: ``rate`` paid for non-elective value above the baseline ``value``; with a ``month``, that
  month's baseline (then every month needs one), without, the year's (paid in twelfths).
- ``cap``: ``point_of_delivery``'s activity above the annual ceiling ``activity`` is paid at ``rate`` (0: none).
- ``fixed``: the fixed annual payment ``value`` (in twelfths); ``variable``: a ``point_of_delivery`` paid at unit
  prices beside it (one row each); activity elsewhere is covered by the fixed payment.
- ``cquin``: ``rate`` of the contract value; ``cquin_achievement``: the ``month``'s achievement ``rate`` (0-100).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

from outturn.domain.activity import PointOfDelivery
from outturn.domain.contract_rules import PaymentRules, RuleKind, RuleRow, rules_from_rows
from outturn.domain.periods import FinancialYear
from outturn.domain.problems import Problem
from outturn.ingest.tables import RawTable, RowReader, earlier_row, read_table

Key = tuple[str, str, FinancialYear]
# What each rule needs, beyond the contract's key.
NEEDS: Mapping[RuleKind, tuple[str, ...]] = {
    RuleKind.READMISSIONS: (),
    RuleKind.MARGINAL_RATE: ("value", "rate"),
    RuleKind.CAP: ("point_of_delivery", "activity", "rate"),
    RuleKind.FIXED: ("value",),
    RuleKind.VARIABLE: ("point_of_delivery",),
    RuleKind.CQUIN: ("rate",),
    RuleKind.CQUIN_ACHIEVEMENT: ("month", "rate"),
}
# Rows a contract may hold once for each of these (the rule, and the field that tells two rows apart).
ONCE_PER: Mapping[RuleKind, str | None] = {
    RuleKind.READMISSIONS: None,
    RuleKind.MARGINAL_RATE: "month",
    RuleKind.CAP: "point_of_delivery",
    RuleKind.FIXED: None,
    RuleKind.VARIABLE: "point_of_delivery",
    RuleKind.CQUIN: None,
    RuleKind.CQUIN_ACHIEVEMENT: "month",
}


def _rule(text: str) -> RuleKind:
    key = text.strip().lower().replace(" ", "_").replace("-", "_")
    try:
        return RuleKind(key)
    except ValueError:
        raise ValueError(f"unknown rule {text!r} (one of: {', '.join(kind.value for kind in RuleKind)})") from None


def _pod(text: str) -> PointOfDelivery:
    key = text.strip().lower().replace(" ", "_").replace("-", "_")
    try:
        return PointOfDelivery(key)
    except ValueError:
        allowed = ", ".join(pod.value for pod in PointOfDelivery)
        raise ValueError(f"unknown point of delivery {text!r} (one of: {allowed})") from None


def _percent(text: str) -> Fraction:
    """A percentage 0-100 (30, 30%, 2.5) as a share (3/10)."""
    try:
        number = Decimal(text.strip().removesuffix("%").strip())
    except InvalidOperation:
        raise ValueError(f"not a percentage: {text!r} (a number from 0 to 100, such as 30 or 2.5)") from None
    if not number.is_finite() or not 0 <= number <= 100:
        raise ValueError(f"a percentage must be from 0 to 100, not {text!r}")
    return Fraction(number) / 100


def _count(text: str) -> int:
    cleaned = text.replace(",", "")
    if not cleaned.isdigit():
        raise ValueError(f"not a whole number of activity: {text!r}")
    return int(cleaned)


def read_rules(
    path: Path, key_of: Callable[[RowReader], Key | None], contracts: set[Key]
) -> tuple[dict[Key, PaymentRules], list[Problem]]:
    """Each contract's rules from the file; ``key_of`` reads a row's provider, commissioner and year as the plan
    does; ``contracts``: those the plan file gives (a rule for another is a problem)."""
    table = read_table(
        path,
        required=("provider", "commissioner", "year", "rule"),
        optional=("point_of_delivery", "month", "value", "activity", "rate", "description"),
    )
    problems: list[Problem] = []
    rows: dict[Key, list[tuple[int, RuleRow]]] = {}
    for number, cells in table.rows:
        reader = RowReader(table, number, cells)
        key = key_of(reader)
        found = _row(reader, key)
        if key is not None and key not in contracts and not reader.problems:
            reader.fault(f"no contract {key[0]} x {key[1]} {key[2].label} in the plan file", "provider")
        problems.extend(reader.problems)
        if found is not None and key is not None and not reader.problems:
            rows.setdefault(key, []).append((number, found))
    for numbered in rows.values():
        problems.extend(_check_contract(table, numbered))
    if problems:
        return {}, problems
    return {key: rules_from_rows([row for _n, row in numbered]) for key, numbered in rows.items()}, []


def _row(reader: RowReader, key: Key | None) -> RuleRow | None:
    kind = reader.parse("rule", _rule)
    if kind is None:
        return None
    needs = NEEDS[kind]
    pod = reader.parse("point_of_delivery", _pod, required="point_of_delivery" in needs)
    month = reader.month("month", key[2] if key else None, required="month" in needs)
    pence = reader.money("value", required="value" in needs)
    activity = reader.parse("activity", _count, required="activity" in needs)
    rate = reader.parse("rate", _percent, required="rate" in needs)
    if pence is not None and pence < 0:
        reader.fault("a value cannot be negative", "value")
    for column, given in (
        ("point_of_delivery", pod),
        ("month", month),
        ("value", pence),
        ("activity", activity),
        ("rate", rate),
    ):
        if given is not None and column not in needs and not (kind is RuleKind.MARGINAL_RATE and column == "month"):
            reader.fault(f"a {kind.value} rule takes no {column}", column)
    return RuleRow(kind, pod, month, pence, activity, rate)


def _check_contract(table: RawTable, rows: list[tuple[int, RuleRow]]) -> list[Problem]:
    """One contract's rows together: no fact given twice, a rate the same on every marginal-rate row, every
    month's baseline or none, a variable element and CQUIN achievement only beside their rule."""
    problems: list[Problem] = []
    seen: dict[tuple[RuleKind, object], int] = {}
    for number, row in rows:
        field = ONCE_PER[row.kind]
        identity = (row.kind, getattr(row, field) if field else None)
        if (earlier := earlier_row(seen, identity, number)) is not None:
            what = row.kind.value + (f" {getattr(row, field)}" if field else "")
            problems.append(table.problem(f"{what} already given on row {earlier}", number, field or "rule"))
    kinds = {row.kind for _n, row in rows}
    for kind, needs in ((RuleKind.VARIABLE, RuleKind.FIXED), (RuleKind.CQUIN_ACHIEVEMENT, RuleKind.CQUIN)):
        if kind in kinds and needs not in kinds:
            first = next(number for number, row in rows if row.kind is kind)
            problems.append(
                table.problem(f"a {kind.value} row needs a {needs.value} row for the contract", first, "rule")
            )
    marginal = [(number, row) for number, row in rows if row.kind is RuleKind.MARGINAL_RATE]
    if marginal:
        problems.extend(_check_marginal(table, marginal))
    return problems


def _check_marginal(table: RawTable, rows: list[tuple[int, RuleRow]]) -> list[Problem]:
    first_number, first = rows[0]
    problems = [
        table.problem(f"the marginal rate differs from row {first_number}'s", number, "rate")
        for number, row in rows[1:]
        if row.rate != first.rate
    ]
    months = {row.month for _n, row in rows}
    if None in months and len(rows) > 1:
        problems.append(
            table.problem(
                "give the baseline for the year (no month) or for each month, not both", first_number, "month"
            )
        )
    elif None not in months and len(months) < 12:
        missing = ", ".join(f"M{m:02d}" for m in range(1, 13) if m not in months)
        problems.append(
            table.problem(f"a monthly baseline is needed for every month; missing {missing}", first_number, "month")
        )
    return problems
