"""Contract plans and local prices from CSV or XLSX.

Plan, one row per point of delivery and month: ``provider, commissioner, year, point_of_delivery, month,
activity, value``; a block element is a row with point_of_delivery ``block``, no month, its annual ``value`` and
a ``description``. Local prices: ``provider, commissioner, year, point_of_delivery, code, price`` (an empty code
prices the whole point of delivery).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from outturn.domain.activity import PointOfDelivery
from outturn.domain.contract_rules import PaymentRules
from outturn.domain.contracts import BlockElement, Contract, LocalPrice, PlanLine
from outturn.domain.money import Pence
from outturn.domain.organisations import COMMISSIONER_KINDS, Organisation, OrgKind
from outturn.domain.periods import FinancialYear
from outturn.domain.problems import Problem
from outturn.ingest.contract_rules import read_rules
from outturn.ingest.tables import RawTable, RowReader, read_table

BLOCK = "block"
# A count: digits, or digits grouped in threes by commas (1,234). "1,2" is a fault, not 12.
_WHOLE = re.compile(r"[0-9]+|[0-9]{1,3}(,[0-9]{3})+")


@dataclass
class _Draft:
    plan: dict[tuple[PointOfDelivery, int], tuple[int, PlanLine]] = field(default_factory=dict)
    prices: dict[tuple[PointOfDelivery, str], tuple[int, LocalPrice]] = field(default_factory=dict)
    blocks: dict[str, tuple[int, BlockElement]] = field(default_factory=dict)  # casefolded description -> row


def _point_of_delivery(text: str) -> PointOfDelivery | str:
    key = text.strip().lower().replace(" ", "_").replace("-", "_")
    if key == BLOCK:
        return BLOCK
    try:
        return PointOfDelivery(key)
    except ValueError:
        allowed = ", ".join([*(pod.value for pod in PointOfDelivery), BLOCK])
        raise ValueError(f"unknown point of delivery {text!r} (one of: {allowed})") from None


def _whole(text: str) -> int:
    if text.startswith("-"):
        raise ValueError(f"activity cannot be negative: {text!r}")
    if not _WHOLE.fullmatch(text):
        raise ValueError(f"not a whole number of activity (digits, or thousands grouped as 1,234): {text!r}")
    return int(text.replace(",", ""))


def _organisation_of(known: Mapping[str, Organisation], role: str, kinds: frozenset[OrgKind]) -> Callable[[str], str]:
    """Parses a code (any case) that must be loaded and of one of ``kinds`` (a provider must be a trust)."""
    allowed = ", ".join(sorted(kind.value for kind in kinds))

    def parse(text: str) -> str:
        code = text.upper()
        org = known.get(code)
        if org is None:
            raise ValueError(f"unknown organisation {code!r} (load organisations first)")
        if org.kind not in kinds:
            raise ValueError(f"{code} is not a {role}: it is of kind {org.kind.value} (a {role} is of kind {allowed})")
        return code

    return parse


def _key(reader: RowReader, known: Mapping[str, Organisation]) -> tuple[str, str, FinancialYear] | None:
    provider = reader.parse("provider", _organisation_of(known, "provider", frozenset({OrgKind.PROVIDER})))
    commissioner = reader.parse("commissioner", _organisation_of(known, "commissioner", COMMISSIONER_KINDS))
    year = reader.parse("year", FinancialYear.parse)
    if provider is None or commissioner is None or year is None:
        return None
    return provider, commissioner, year


def _contract_rows(
    table: RawTable, known: Mapping[str, Organisation], money_column: str
) -> Iterator[tuple[RowReader, tuple[str, str, FinancialYear] | None, PointOfDelivery | str | None, Pence | None]]:
    """Each row's reader with its contract, point of delivery and (required) money column read, in that order."""
    for number, cells in table.rows:
        reader = RowReader(table, number, cells)
        key = _key(reader, known)
        pod = reader.parse("point_of_delivery", _point_of_delivery)
        yield reader, key, pod, reader.money(money_column, required=True)


def _duplicate(table: RawTable, number: int, earlier: int, what: str, column: str | None = None) -> Problem:
    return table.problem(f"{what} already given on row {earlier}", number, column)


def read_contracts(
    plan_path: Path,
    *,
    known: Mapping[str, Organisation],
    prices_path: Path | None = None,
    rules_path: Path | None = None,
) -> tuple[list[Contract], list[Problem]]:
    """Contracts from a plan file and, optionally, a local prices file and a payment rules file
    (``ingest/contract_rules.py``); every problem collected.

    ``known``: the organisations loaded, by code; a provider must be a provider (trust), a commissioner a region,
    ICB or sub-ICB location."""
    drafts: dict[tuple[str, str, FinancialYear], _Draft] = {}
    problems: list[Problem] = []
    table = read_table(
        plan_path,
        required=("provider", "commissioner", "year", "point_of_delivery", "value"),
        optional=("month", "activity", "description"),
    )
    for reader, key, pod, value in _contract_rows(table, known, "value"):
        number = reader.number
        if pod == BLOCK:
            problems.extend(reader.problems)
            if key and value is not None and not reader.problems:
                problems.extend(_add_block(drafts.setdefault(key, _Draft()), reader, value))
            continue
        month = reader.month("month", key[2] if key else None)
        activity = reader.parse("activity", _whole)
        problems.extend(reader.problems)
        if reader.problems or key is None or not isinstance(pod, PointOfDelivery):
            continue
        if month is None or activity is None or value is None:
            continue
        draft = drafts.setdefault(key, _Draft())
        if (pod, month) in draft.plan:
            problems.append(_duplicate(table, number, draft.plan[(pod, month)][0], f"{pod.value} M{month:02d}"))
            continue
        draft.plan[(pod, month)] = (number, PlanLine(pod, month, activity, value))
    if prices_path is not None:
        problems.extend(_read_prices(prices_path, known, drafts))
    rules: dict[tuple[str, str, FinancialYear], PaymentRules] = {}
    if rules_path is not None:
        rules, rule_problems = read_rules(rules_path, lambda reader: _key(reader, known), set(drafts))
        problems.extend(rule_problems)
    contracts = [
        Contract(
            provider,
            commissioner,
            year,
            tuple(line for _n, line in draft.plan.values()),
            tuple(price for _n, price in draft.prices.values()),
            tuple(block for _n, block in draft.blocks.values()),
            rules.get((provider, commissioner, year), PaymentRules()),
        )
        for (provider, commissioner, year), draft in drafts.items()
    ]
    return contracts, problems


def _add_block(draft: _Draft, reader: RowReader, value: int) -> list[Problem]:
    """A block element, unless the contract already has one of that description (in any case or spacing)."""
    description = " ".join(reader.text("description").split()) or "block"
    key = description.casefold()
    if key in draft.blocks:
        earlier, block = draft.blocks[key]
        return [_duplicate(reader.table, reader.number, earlier, f"block {block.description!r}", "description")]
    draft.blocks[key] = (reader.number, BlockElement(description, value))
    return []


def _read_prices(
    path: Path, known: Mapping[str, Organisation], drafts: dict[tuple[str, str, FinancialYear], _Draft]
) -> list[Problem]:
    problems: list[Problem] = []
    table = read_table(
        path, required=("provider", "commissioner", "year", "point_of_delivery", "price"), optional=("code",)
    )
    for reader, key, pod, price in _contract_rows(table, known, "price"):
        number = reader.number
        if pod == BLOCK:
            reader.fault("a block element has no unit price", "point_of_delivery")
        if price is not None and price < 0:
            reader.fault("a price cannot be negative", "price")
        problems.extend(reader.problems)
        if reader.problems or key is None or not isinstance(pod, PointOfDelivery) or price is None:
            continue
        code = reader.text("code").upper()
        draft = drafts.setdefault(key, _Draft())
        if (pod, code) in draft.prices:
            problems.append(_duplicate(table, number, draft.prices[(pod, code)][0], f"{pod.value} {code or '(all)'}"))
            continue
        draft.prices[(pod, code)] = (number, LocalPrice(pod, code, price))
    return problems
