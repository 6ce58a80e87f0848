"""The import log as JSON, for ``outturn imports list --format json`` and ``GET /api/imports`` alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol


# look-alike of domain/plans.py:_Allocated (shape only): declarative, a class's fields.
class ImportRecord(Protocol):
    """What the log holds of one import (``store.repository.ImportRecord``, as ``services.imports`` returns it)."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def source_name(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def row_count(self) -> int: ...
    @property
    def imported_at(self) -> datetime: ...
    @property
    def imported_by(self) -> str: ...
    @property
    def replaced_rows(self) -> int: ...
    @property
    def totals(self) -> Mapping[str, int]: ...
    @property
    def replaced_totals(self) -> Mapping[str, int]: ...


def import_rows(records: Sequence[ImportRecord]) -> list[dict[str, Any]]:
    """Each record as a JSON row: totals flattened to ``*_pence`` fields, replaced ones as ``replaced_*_pence``."""
    return [
        {
            "id": record.id,
            "kind": record.kind,
            "source": record.source_name,
            "sha256": record.sha256,
            "imported_at": record.imported_at.isoformat(timespec="seconds"),
            "imported_by": record.imported_by,
            "rows": record.row_count,
            "replaced_rows": record.replaced_rows,
            **record.totals,
            **{f"replaced_{name}": pence for name, pence in record.replaced_totals.items()},
        }
        for record in records
    ]


class ImportedFile(Protocol):
    """What an import of a ledger, plan, risk register or organisations file stored (``services.imports
    .ImportSummary``)."""

    @property
    def kind(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def rows(self) -> int: ...
    @property
    def replaced_rows(self) -> int: ...
    @property
    def periods(self) -> Sequence[str]: ...


class ImportedWorkbook(Protocol):
    """What a savings workbook's import did (``services.savings.WorkbookImport``)."""

    @property
    def source(self) -> str: ...
    @property
    def created(self) -> int: ...
    @property
    def updated(self) -> int: ...
    @property
    def unchanged(self) -> int: ...
    @property
    def targets(self) -> int: ...


def import_document(summary: ImportedFile) -> dict[str, Any]:
    """A file imported, for ``outturn ledger|plan|risks|orgs import --format json`` and ``POST /api/imports/{kind}``."""
    return {
        "kind": summary.kind,
        "source": summary.source,
        "rows": summary.rows,
        "replaced_rows": summary.replaced_rows,
        "periods": list(summary.periods),
    }


def workbook_import_document(result: ImportedWorkbook) -> dict[str, Any]:
    """A savings workbook imported, for ``outturn savings import --format json`` and ``POST /api/imports/savings``:
    ``rows`` is the schemes created and updated."""
    return {
        "kind": "savings",
        "source": result.source,
        "rows": result.created + result.updated,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "targets": result.targets,
    }
