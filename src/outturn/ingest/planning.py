"""Planning assumptions from CSV or XLSX: one row per assumption per organisation per year.

Columns: ``org_code, year, assumption, amount`` and optionally ``description`` and ``recurrent`` (yes/no; by
default every assumption is recurrent except ``deficit_repaid``). ``assumption`` is one of
``outturn.domain.planning.AssumptionKind`` (e.g. ``allocation_growth``, ``tariff_inflation``); a
``required_surplus`` amount is a share (``1%`` or ``0.01``); ``exit_position`` and ``control_total`` are a surplus,
or a deficit written negative (``(14m)`` or ``-14000000``); every other amount is entered positive.

A step (allocation growth, a deduction or a pressure) may be a share instead: ``2.5%``, of the year's allocation
by default or of the optional ``base`` column's amount (``£612m``); ``base`` may also say ``allocation``.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from pathlib import Path

from outturn.domain.errors import BadInput
from outturn.domain.money import MoneyError, parse_money
from outturn.domain.periods import FinancialYear
from outturn.domain.planning import ALLOCATION_BASE, Assumption, AssumptionKind
from outturn.domain.plans import parse_share, stored_share
from outturn.domain.problems import Problem
from outturn.ingest.tables import RowReader, organisation_parser, read_table, text_of

YES = frozenset({"yes", "y", "true", "1", "recurrent"})
NO = frozenset({"no", "n", "false", "0", "non-recurrent", "non_recurrent"})


def _kind(text: str) -> AssumptionKind:
    try:
        return AssumptionKind(text.strip().lower().replace(" ", "_").replace("-", "_"))
    except ValueError:
        raise ValueError(f"unknown assumption {text!r} (one of: {', '.join(AssumptionKind)})") from None


def _recurrent(text: str) -> bool:
    cleaned = text.strip().lower()
    if cleaned in YES or cleaned in NO:
        return cleaned in YES
    raise ValueError(f"recurrent is yes or no, not {text!r}")


def _base(text: str) -> int | None:
    """The ``base`` column: blank or ``allocation`` (None: the allocation), else an amount in pounds."""
    cleaned = text.strip()
    if cleaned.lower() in ("", ALLOCATION_BASE):
        return None
    base = parse_money(cleaned)
    if base <= 0:
        raise BadInput(f"a base is a positive amount, not {text!r}")
    return base


def _share(amount: object) -> Decimal:
    """The amount as a share, no finer than the store keeps (``domain.plans.stored_share``)."""
    return stored_share(parse_share(text_of(amount)), text_of(amount))


def _assumption(reader: RowReader, code: str, year: FinancialYear, kind: AssumptionKind) -> Assumption | None:
    amount = reader.cells.get("amount")
    recurrent = reader.parse("recurrent", _recurrent, required=False)
    description = " ".join(reader.text("description").split())
    if kind is AssumptionKind.REQUIRED_SURPLUS:
        if reader.text("base").lower() not in ("", ALLOCATION_BASE):
            reader.fault("a required surplus is a share of the allocation: it takes no base", "base")
            return None
        return Assumption(code, year, kind, description=description, share=_share(amount))
    base = reader.parse("base", _base, required=False)
    if text_of(amount).strip().endswith("%"):
        share = _share(amount)
        return Assumption(code, year, kind, 0, description, recurrent, share=share, base_pence=base)
    if base is not None:
        raise BadInput("a base is given only for an amount written as a percentage (e.g. 2.5%)")
    return Assumption(code, year, kind, parse_money(amount), description, recurrent)


def read_plan_assumptions(path: Path, *, known_org_codes: Collection[str]) -> tuple[list[Assumption], list[Problem]]:
    """Every row's assumption, or the problems (row, column, reason) of every bad row."""
    table = read_table(
        path, required=("org_code", "year", "assumption", "amount"), optional=("description", "recurrent", "base")
    )
    items: list[Assumption] = []
    problems: list[Problem] = []
    for number, cells in table.rows:
        reader = RowReader(table, number, cells)
        code = reader.parse("org_code", organisation_parser(known_org_codes))
        year = reader.parse("year", FinancialYear.parse)
        kind = reader.parse("assumption", _kind)
        if reader.problems or code is None or year is None or kind is None:
            problems.extend(reader.problems)
            continue
        try:
            item = _assumption(reader, code, year, kind)
        except (MoneyError, BadInput) as error:
            reader.fault(str(error), "amount")
        else:
            if item is not None and not reader.problems:
                items.append(item)
        problems.extend(reader.problems)
    return items, problems
