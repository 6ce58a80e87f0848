"""Financial plans and risk registers from CSV or XLSX.

Plan items, one per row: ``org_code, year, item, amount, description`` where ``item`` is one of
``recurrent_allocation``, ``non_recurrent_allocation``, ``brought_forward_deficit``, ``deduction``
(with its description), ``required_surplus`` (a percentage of allocation) or ``control_total`` (a surplus,
or a deficit written negative: ``(17m)``). Allocations are zero or more: a reduction is a ``deduction``.

Risks and mitigations, one per row: ``org_code, year, kind (risk|mitigation), description, value,
likelihood`` (``50%`` or ``0.5``), optional ``category``. A description is given once per organisation, year and
kind (matched ignoring case and spacing): a row repeating one is a fault, not a second risk.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from outturn.domain.ledger import CostCategory
from outturn.domain.money import MoneyError, Pence, parse_money
from outturn.domain.periods import FinancialYear
from outturn.domain.plans import Deduction, FinancialPlan, RiskItem, RiskKind, parse_share
from outturn.domain.problems import Problem
from outturn.ingest.tables import RowReader, earlier_row, organisation_parser, read_table, text_of

T = TypeVar("T")

PLAN_ITEMS = (
    "recurrent_allocation",
    "non_recurrent_allocation",
    "brought_forward_deficit",
    "deduction",
    "required_surplus",
    "control_total",
)

ALLOCATIONS = frozenset({"recurrent_allocation", "non_recurrent_allocation"})


@dataclass
class _PlanDraft:
    recurrent: Pence = 0
    non_recurrent: Pence = 0
    brought_forward: Pence = 0
    deductions: list[Deduction] = field(default_factory=list)
    required_surplus: Decimal = Decimal(0)
    control_total: Pence | None = None
    seen: dict[str, int] = field(default_factory=dict)


def _org_and_year(reader: RowReader, known: Collection[str]) -> tuple[str | None, FinancialYear | None]:
    return reader.parse("org_code", organisation_parser(known)), reader.parse("year", FinancialYear.parse)


def _apply_item(draft: _PlanDraft, item: str, amount: object, description: str) -> None:
    if item == "required_surplus":
        draft.required_surplus = parse_share(text_of(amount))
        return
    pence = parse_money(amount)
    if pence < 0 and item in ALLOCATIONS:
        raise ValueError(
            f"an allocation cannot be negative: {text_of(amount)!r} (enter a reduction as a deduction row)"
        )
    if item == "recurrent_allocation":
        draft.recurrent = pence
    elif item == "non_recurrent_allocation":
        draft.non_recurrent = pence
    elif item == "brought_forward_deficit":
        draft.brought_forward = abs(pence)
    elif item == "deduction":
        draft.deductions.append(Deduction(description or "Deduction from allocation", abs(pence)))
    else:
        draft.control_total = pence


def read_plans(path: Path, *, known_org_codes: Collection[str]) -> tuple[list[FinancialPlan], list[Problem]]:
    table = read_table(path, required=("org_code", "year", "item", "amount"), optional=("description",))
    drafts: dict[tuple[str, FinancialYear], _PlanDraft] = {}
    problems: list[Problem] = []
    for number, raw in table.rows:
        cells = dict(raw)
        reader = RowReader(table, number, cells)
        code, year = _org_and_year(reader, known_org_codes)
        row_problems = reader.problems
        item = text_of(cells.get("item")).lower().replace(" ", "_").replace("-", "_")
        if item not in PLAN_ITEMS:
            row_problems.append(
                table.problem(f"unknown plan item {item!r} (one of: {', '.join(PLAN_ITEMS)})", number, "item")
            )
        problems.extend(row_problems)
        if row_problems or code is None or year is None:
            continue
        draft = drafts.setdefault((code, year), _PlanDraft())
        if item != "deduction" and (earlier := earlier_row(draft.seen, item, number)) is not None:
            problems.append(table.problem(f"{item} already given on row {earlier}", number, "item"))
            continue
        try:
            _apply_item(draft, item, cells.get("amount"), text_of(cells.get("description")))
        except (MoneyError, ValueError) as error:
            problems.append(table.problem(str(error), number, "amount"))
    plans = []
    for (code, year), draft in drafts.items():
        if "recurrent_allocation" not in draft.seen:
            problems.append(table.problem(f"{code} {year}: no recurrent_allocation row"))
            continue
        plans.append(
            FinancialPlan(
                code,
                year,
                draft.recurrent,
                draft.non_recurrent,
                draft.brought_forward,
                tuple(draft.deductions),
                draft.required_surplus,
                draft.control_total,
            )
        )
    return plans, problems


def read_risks(path: Path, *, known_org_codes: Collection[str]) -> tuple[list[RiskItem], list[Problem]]:
    table = read_table(
        path,
        required=("org_code", "year", "kind", "description", "value", "likelihood"),
        optional=("category",),
    )
    items: list[RiskItem] = []
    problems: list[Problem] = []
    first_row: dict[tuple[str, FinancialYear, RiskKind, str], int] = {}
    first_spelling: dict[tuple[str, FinancialYear, RiskKind, str], str] = {}  # the description as first written
    for number, raw in table.rows:
        reader = RowReader(table, number, raw)
        code, year = _org_and_year(reader, known_org_codes)
        kind = reader.parse("kind", _risk_kind)
        value = reader.money("value", required=True)
        likelihood = reader.parse("likelihood", parse_share)
        category = reader.parse("category", CostCategory.parse, required=False)
        row_problems = reader.problems
        if value is not None and value < 0:
            row_problems.append(table.problem("enter a risk or mitigation as a positive amount", number, "value"))
        problems.extend(row_problems)
        if row_problems or code is None or year is None or kind is None or value is None or likelihood is None:
            continue
        description = " ".join(reader.text("description").split())
        key = (code, year, kind, description.casefold())
        first = first_spelling.setdefault(key, description)
        if (earlier := earlier_row(first_row, key, number)) is not None:
            reason = f"{code} {year} {kind.value} {first!r} already given on row {earlier}"
            problems.append(table.problem(reason, number, "description"))
            continue
        items.append(RiskItem(code, year, kind, description, value, likelihood, category))
    return items, problems


def _risk_kind(text: str) -> RiskKind:
    try:
        return RiskKind(text.strip().lower())
    except ValueError:
        raise ValueError(f"unknown kind {text!r} (risk or mitigation)") from None
