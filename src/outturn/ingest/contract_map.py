"""The mapping of provider contracts to ledger lines, from CSV or XLSX.

Columns ``provider, commissioner, category, line, element``: the ledger line (``category``, ``line``: the ledger's
category and subcategory) of the organisation ``commissioner`` that accounts for the contract between ``provider``
and ``commissioner``. ``element`` is ``contract`` (or empty) for the one line carrying the contract's value, or a
short label (``drugs and devices outside tariff``) for a line that carries non-contract spend with the provider.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

from outturn.domain.contract_ledger import CONTRACT_ELEMENT, ContractKey, LedgerLink, element_of
from outturn.domain.ledger import CostCategory
from outturn.domain.problems import Problem
from outturn.ingest.tables import RowReader, read_table

COLUMNS = ("provider", "commissioner", "category", "line")


def line_name_key(line: str) -> str:
    """How a line's name is matched to the ledger's: case and runs of spaces do not matter."""
    return " ".join(line.split()).casefold()


def read_contract_map(
    path: Path,
    *,
    contracts: Collection[ContractKey],
    ledger_lines: Mapping[tuple[str, CostCategory, str], str],
) -> tuple[list[LedgerLink], list[Problem]]:
    """The links in the file, and a problem for each row that names a contract not held, a line not in the
    commissioner's ledger, a line already mapped on an earlier row, or a second ``contract`` line for a contract.

    ``ledger_lines``: (organisation, category, ``line_name_key`` of the subcategory) -> the ledger's spelling."""
    table = read_table(path, required=COLUMNS, optional=("element",))
    links: list[LedgerLink] = []
    problems: list[Problem] = []
    line_rows: dict[tuple[str, CostCategory, str], int] = {}
    contract_rows: dict[ContractKey, int] = {}
    memo: dict[tuple[str, str], object] = {}
    for number, cells in table.rows:
        reader = RowReader(table, number, cells, memo)
        provider, commissioner = reader.text("provider").upper(), reader.text("commissioner").upper()
        category = reader.parse("category", CostCategory.parse)
        line = " ".join(reader.text("line").split())
        element = element_of(reader.text("element"))
        for column, value in (("provider", provider), ("commissioner", commissioner), ("line", line)):
            if not value:
                reader.fault("a value is required", column)
        if provider and commissioner and (provider, commissioner) not in contracts:
            reader.fault(f"no contract between {provider} and {commissioner} is held: import it first", "provider")
        spelled = None
        if category is not None and commissioner and line:
            spelled = ledger_lines.get((commissioner, category, line_name_key(line)))
            if spelled is None:
                reader.fault(f"{commissioner} has no ledger line {category.value} / {line!r}", "line")
        if spelled is not None and category is not None and not reader.problems:
            key = (commissioner, category, spelled)
            if key in line_rows:
                earlier = line_rows[key]
                reader.fault(
                    f"the ledger line {category.value} / {spelled!r} is already mapped on row {earlier}", "line"
                )
            elif element == CONTRACT_ELEMENT and (provider, commissioner) in contract_rows:
                earlier = contract_rows[(provider, commissioner)]
                reader.fault(
                    f"the contract {provider} x {commissioner} already has its contract line on row {earlier}; "
                    "give this line a label for the non-contract spend it carries",
                    "element",
                )
            else:
                line_rows[key] = number
                if element == CONTRACT_ELEMENT:
                    contract_rows[(provider, commissioner)] = number
                links.append(LedgerLink(provider, commissioner, category, spelled, element))
        problems.extend(reader.problems)
    return links, problems
