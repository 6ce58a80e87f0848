"""Contract plans and local prices from CSV or XLSX.

Plan, one row per point of delivery and month: ``provider, commissioner, year, point_of_delivery, month,
activity, value``; a block element is a row with point_of_delivery ``block``, no month, its annual ``value`` and
a ``description``. Local prices: ``provider, commissioner, year, point_of_delivery, code, price`` (an empty code
prices the whole point of delivery).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from outturn.domain.activity import PointOfDelivery
from outturn.domain.contracts import BlockElement, Contract, LocalPrice, PlanLine
from outturn.domain.periods import FinancialYear
from outturn.domain.problems import Problem
from outturn.ingest.tables import RawTable, RowReader, organisation_parser, read_table

BLOCK = "block"


@dataclass
class _Draft:
    plan: dict[tuple[PointOfDelivery, int], tuple[int, PlanLine]] = field(default_factory=dict)
    prices: dict[tuple[PointOfDelivery, str], tuple[int, LocalPrice]] = field(default_factory=dict)
    blocks: list[BlockElement] = field(default_factory=list)


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
    value = int(text.replace(",", ""))
    if value < 0:
        raise ValueError(f"activity cannot be negative: {text!r}")
    return value


def _key(
    reader: RowReader, providers: Collection[str], commissioners: Collection[str]
) -> tuple[str, str, FinancialYear] | None:
    provider = reader.parse("provider", organisation_parser(providers))
    commissioner = reader.parse("commissioner", organisation_parser(commissioners))
    year = reader.parse("year", FinancialYear.parse)
    if provider is None or commissioner is None or year is None:
        return None
    return provider, commissioner, year


def _duplicate(table: RawTable, number: int, earlier: int, what: str) -> Problem:
    return table.problem(f"{what} already given on row {earlier}", number)


def read_contracts(
    plan_path: Path, *, known_codes: Collection[str], prices_path: Path | None = None
) -> tuple[list[Contract], list[Problem]]:
    """Contracts from a plan file and, optionally, a local prices file; every problem collected."""
    drafts: dict[tuple[str, str, FinancialYear], _Draft] = {}
    problems: list[Problem] = []
    table = read_table(
        plan_path,
        required=("provider", "commissioner", "year", "point_of_delivery", "value"),
        optional=("month", "activity", "description"),
    )
    for number, cells in table.rows:
        reader = RowReader(table, number, cells)
        key = _key(reader, known_codes, known_codes)
        pod = reader.parse("point_of_delivery", _point_of_delivery)
        value = reader.money("value", required=True)
        if pod == BLOCK:
            if key and value is not None and not reader.problems:
                drafts.setdefault(key, _Draft()).blocks.append(
                    BlockElement(reader.text("description") or "block", value)
                )
            problems.extend(reader.problems)
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
        problems.extend(_read_prices(prices_path, known_codes, drafts))
    contracts = [
        Contract(
            provider,
            commissioner,
            year,
            tuple(line for _n, line in draft.plan.values()),
            tuple(price for _n, price in draft.prices.values()),
            tuple(draft.blocks),
        )
        for (provider, commissioner, year), draft in drafts.items()
    ]
    return contracts, problems


def _read_prices(
    path: Path, known: Collection[str], drafts: dict[tuple[str, str, FinancialYear], _Draft]
) -> list[Problem]:
    problems: list[Problem] = []
    table = read_table(
        path, required=("provider", "commissioner", "year", "point_of_delivery", "price"), optional=("code",)
    )
    for number, cells in table.rows:
        reader = RowReader(table, number, cells)
        key = _key(reader, known, known)
        pod = reader.parse("point_of_delivery", _point_of_delivery)
        price = reader.money("price", required=True)
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
