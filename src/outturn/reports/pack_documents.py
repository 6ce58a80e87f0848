"""The board pack's sections as the JSON documents their own commands print: the edge where the pack's typed
results become JSON, each through its command's one builder (``reports.position``, ``reports.savings``, ...).

The HTML and the XLSX show these documents, so every figure in them is the figure the command prints, to the
penny, by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from outturn.reports.backtest import backtest_document
from outturn.reports.contract_reconciliation import reconciliation_document
from outturn.reports.contracts import statement_documents
from outturn.reports.forecast_history import history_document
from outturn.reports.pack import BoardPack, ForecastHistory, SchemeMovements
from outturn.reports.patients import summary_document
from outturn.reports.position import position_document
from outturn.reports.registers import risk_row
from outturn.reports.risk import simulation_document
from outturn.reports.savings import movement_document, register_row, rollup_document
from outturn.reports.scenarios import scenario_document


@dataclass(frozen=True)
class PackDocuments:
    """Each section of a pack as its command's JSON document."""

    position: dict[str, Any]
    previous_position: dict[str, Any] | None
    savings_total: dict[str, Any] | None
    workstreams: list[dict[str, Any]]  # in the order of ``BoardPack.workstreams``
    savings_movement: dict[str, Any] | None  # each scheme with its ``workstream``
    contracts: list[dict[str, Any]]
    risk: dict[str, Any] | None  # ``risk simulate``'s
    register: list[dict[str, Any]]
    scenarios: list[dict[str, Any]]
    backtest: dict[str, Any] | None
    forecast_history: dict[str, Any] | None
    contract_reconciliation: dict[str, Any] | None
    high_intensity: dict[str, Any] | None = None  # ``patients high-intensity``'s ``flagged`` counts and pounds
    savings_evidence: list[dict[str, Any]] = field(default_factory=list)  # ``savings list``'s rows, measured schemes


def savings_movement_document(movement: SchemeMovements) -> dict[str, Any]:
    """``outturn savings movement``'s document, each scheme with the workstream it is in."""
    document = movement_document(movement.items)
    for scheme, item in zip(document["schemes"], movement.items, strict=True):
        scheme["workstream"] = movement.workstream(item)
    return document


def forecast_history_document(history: ForecastHistory) -> dict[str, Any]:
    return history_document(history.org, history.year, history.months)


def pack_documents(pack: BoardPack) -> PackDocuments:
    return PackDocuments(
        position=position_document(pack.position),
        previous_position=None if pack.previous_position is None else position_document(pack.previous_position),
        savings_total=None if pack.savings_total is None else rollup_document((pack.savings_total,))[0],
        workstreams=rollup_document(tuple(row.row for row in pack.workstreams)),
        savings_movement=None if pack.savings_movement is None else savings_movement_document(pack.savings_movement),
        contracts=statement_documents(pack.contracts),
        risk=None if pack.risk is None else simulation_document(pack.risk),
        register=[risk_row(item) for item in pack.register],
        scenarios=[scenario_document(run.scenario, run.result, run.source, run.warnings) for run in pack.scenarios],
        backtest=None if pack.backtest is None else backtest_document(pack.backtest),
        forecast_history=None if pack.forecast_history is None else forecast_history_document(pack.forecast_history),
        contract_reconciliation=None
        if pack.contract_reconciliation is None
        else reconciliation_document(pack.contract_reconciliation),
        high_intensity=None if pack.high_intensity is None else summary_document(pack.high_intensity),
        savings_evidence=[
            register_row(item.scheme, item.rag, pack.position.as_at.number, item.evidence)
            for item in pack.savings_evidence
        ],
    )
