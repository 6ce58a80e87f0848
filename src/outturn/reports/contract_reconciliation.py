"""The reconciliation of contracts to the ledger as a JSON-ready document (money in integer pence), and the rows
every table of it shows (CLI, web page, board pack): one builder, so a figure is the same everywhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from outturn.domain.contract_ledger import Difference, Figures, Threshold
from outturn.domain.contract_reconciliation import ContractReconciliation, LedgerRow, Reconciliation

DIFFERENCE_CONVENTION = (
    "Difference = ledger less contract: positive where the ledger holds more than the contract states, negative "
    "where it holds less. Negative amounts are shown in brackets."
)
FIGURES = ("annual_pence", "ytd_pence", "forecast_pence")
COLUMNS = ("Annual plan / budget", "Actual to date", "Forecast outturn")


# look-alike of reports/budget_holders.py:commentary_rule (shape only): both word Threshold.describe for their own
# figure; the documents below are one JSON field per attribute.
def flag_rule(threshold: Threshold) -> str:
    rule = threshold.describe("the contract's figure")
    return f"A difference is flagged when it is {rule}."


def figures_document(figures: Figures) -> dict[str, int]:
    return {
        "annual_pence": figures.annual_pence,
        "ytd_pence": figures.ytd_pence,
        "forecast_pence": figures.forecast_pence,
    }


def difference_document(found: Difference) -> dict[str, Any]:
    return {
        **figures_document(found.figures),
        "annual_flagged": found.annual_flagged,
        "ytd_flagged": found.ytd_flagged,
        "forecast_flagged": found.forecast_flagged,
        "flagged": found.flagged,
    }


def ledger_line_document(row: LedgerRow) -> dict[str, Any]:
    return {
        "category": row.category.value,
        "line": row.line,
        "element": row.element,
        "mapping": "default" if row.default else "stored",
        "method": row.method,
        **figures_document(row.figures),
    }


def contract_document(item: ContractReconciliation) -> dict[str, Any]:
    ledger, found = item.ledger, item.difference
    return {
        "provider": item.provider,
        "commissioner": item.commissioner,
        "mapped": item.mapped,
        "note": item.note,
        "contract": figures_document(item.contract),
        "elements": [{"label": row.label, **figures_document(row.figures)} for row in item.elements],
        "ledger_lines": [ledger_line_document(row) for row in item.contract_lines],
        "ledger": None if ledger is None else figures_document(ledger),
        "difference": None if found is None else difference_document(found),
        "non_contract_lines": [ledger_line_document(row) for row in item.other_lines],
        "non_contract": figures_document(item.non_contract),
    }


def reconciliation_document(found: Reconciliation) -> dict[str, Any]:
    """``outturn contracts reconcile --format json``; each figure is a triple ``annual_pence`` (contract plan,
    ledger budget), ``ytd_pence`` (priced activity, ledger actual), ``forecast_pence``."""
    return {
        "financial_year": found.as_at.year.label,
        "as_at": found.as_at.calendar_label,
        "threshold_pounds": found.threshold.pounds,
        "threshold_percent": float(found.threshold.percent),
        "flag_rule": flag_rule(found.threshold),
        "difference_convention": DIFFERENCE_CONVENTION,
        "contracts": [contract_document(item) for item in found.contracts],
        "total": {
            "contracts": len(found.contracts),
            "mapped": len(found.mapped),
            "flagged": len(found.flagged),
            "contract": figures_document(found.contract),
            "ledger": figures_document(found.ledger),
            "difference": difference_document(found.difference),
            "unmapped_contract": figures_document(found.unmapped_contract),
            "non_contract": figures_document(found.non_contract),
        },
    }


FLAG_NAMES = {"annual_flagged": "plan", "ytd_flagged": "to date", "forecast_flagged": "forecast"}


def _row(contract: str, kind: str, label: str, figures: Mapping[str, Any]) -> dict[str, Any]:
    """A row of the table; a difference row says which of its figures are flagged (``flag``: plan, to date,
    forecast)."""
    flag = ", ".join(name for key, name in FLAG_NAMES.items() if figures.get(key))
    return {
        "contract": contract,
        "kind": kind,
        "label": label,
        **{key: figures[key] for key in FIGURES},
        "flagged": bool(flag),
        "flag": flag,
    }


def table_rows(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The document as the rows of one table: per contract its elements, its total, the ledger line(s), the
    difference and any non-contract spend; then the totals. ``kind`` says what each row is."""
    rows: list[dict[str, Any]] = []
    for item in document["contracts"]:
        name = f"{item['provider']} × {item['commissioner']}"
        rows += [_row(name, "element", element["label"], element) for element in item["elements"]]
        rows.append(_row(name, "contract", "contract total", item["contract"]))
        rows += [_row(name, "ledger", f"ledger: {line['line']}", line) for line in item["ledger_lines"]]
        if item["difference"] is not None:
            rows.append(_row(name, "difference", "difference", item["difference"]))
        else:
            rows.append(_row(name, "unmapped", item["note"], dict.fromkeys(FIGURES)))
        rows += [
            _row(name, "non-contract", f"non-contract: {line['element']} ({line['line']})", line)
            for line in item["non_contract_lines"]
        ]
    total = document["total"]
    rows.append(_row("Total", "contract", "contracts mapped", total["contract"]))
    rows.append(_row("Total", "ledger", "ledger lines", total["ledger"]))
    rows.append(_row("Total", "difference", "difference", total["difference"]))
    rows.append(_row("Total", "unmapped", "contracts with no ledger line", total["unmapped_contract"]))
    rows.append(_row("Total", "non-contract", "non-contract spend", total["non_contract"]))
    return rows
