"""Amounts per practice from a user's CSV or XLSX: spend, current budgets and enhanced-service payments (with
whether the practice signed up), for indicative budgets and the incentive calculator."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from outturn.domain.money import Pence
from outturn.domain.problems import Problem, ProblemsError
from outturn.ingest.tables import RowReader, read_table, text_of

_AMOUNT_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "practice_code": "practice",
        "org_code": "practice",
        "actual": "spend",
        "actual_pence": "spend_pence",
        "budget": "spend",
        "budget_pence": "spend_pence",
        "amount": "spend",
        "amount_pence": "spend_pence",
        "enhanced_service_payments": "enhanced_services",
        "signed": "signed_up",
    }
)
_YES = frozenset({"yes", "y", "true", "1", "signed", "signed up"})
_NO = frozenset({"no", "n", "false", "0", ""})


@dataclass(frozen=True)
class PracticeAmounts:
    """Per practice: spend (or current budget), enhanced-service payments and whether it signed up to a plan."""

    spend: Mapping[str, Pence]
    enhanced_services: Mapping[str, Pence]
    signed_up: Mapping[str, bool]


def _signed_up(text: str) -> bool:
    cleaned = text.strip().lower()
    if cleaned in _YES or cleaned in _NO:
        return cleaned in _YES
    raise ValueError(f"not yes or no: {text!r}")


def _whole_pence(text: str) -> Pence:
    if not re.fullmatch(r"-?\d+", text):
        raise ValueError(f"not a whole number of pence: {text!r}")
    return int(text)


def _money_cell(reader: RowReader, name: str) -> Pence | None:
    """``NAME_pence`` (whole pence) or ``NAME`` (money as finance sheets write it: £1,234.56, 1.2m)."""
    if text_of(reader.cells.get(f"{name}_pence")):
        return reader.parse(f"{name}_pence", _whole_pence)
    if f"{name}" in reader.cells:
        return reader.money(name, required=False)
    return None


def read_practice_amounts(path: Path, *, spend_required: bool = True) -> PracticeAmounts:
    """A CSV or XLSX with ``practice`` and ``spend_pence`` (or ``spend``: £; also read as ``actual``, ``budget``
    or ``amount``), and optionally ``enhanced_services`` (or ``enhanced_services_pence``) and ``signed_up``."""
    optional = ("spend", "spend_pence", "enhanced_services", "enhanced_services_pence", "signed_up")
    table = read_table(path, required=("practice",), optional=optional, aliases=_AMOUNT_ALIASES)
    if spend_required and not {"spend", "spend_pence"} & set(table.columns):
        raise ProblemsError([table.problem("missing column: spend_pence (or spend)", 1)], f"cannot import {path.name}")
    problems: list[Problem] = []
    spend: dict[str, Pence] = {}
    enhanced: dict[str, Pence] = {}
    signed: dict[str, bool] = {}
    first_row: dict[str, int] = {}
    for number, cells in table.rows:
        reader = RowReader(table, number, cells)
        code = reader.practice_code("practice", first_row)
        amount, payments = _money_cell(reader, "spend"), _money_cell(reader, "enhanced_services")
        signed_up = reader.parse("signed_up", _signed_up, required=False) if "signed_up" in cells else None
        problems.extend(reader.problems)
        if reader.problems:
            continue
        if amount is not None:
            spend[code] = amount
        if payments is not None:
            enhanced[code] = payments
        if signed_up is not None:
            signed[code] = signed_up
    if problems:
        raise ProblemsError(problems, f"cannot import {path.name}")
    return PracticeAmounts(MappingProxyType(spend), MappingProxyType(enhanced), MappingProxyType(signed))
