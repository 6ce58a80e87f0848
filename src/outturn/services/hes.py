"""Importing hospital activity in the national HES / SUS+ layout into the workspace's activity tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outturn.domain.activity import ActivityKind
from outturn.ingest.hes import HesExtract, read_hes
from outturn.services import imports
from outturn.services.pricing import expected_activity, store_activity
from outturn.services.workspace import Workspace

__all__ = ["HesImport", "import_hes_activity", "read_hes_file"]


@dataclass(frozen=True)
class HesImport:
    """What a HES extract's import did: rows read and stored, and how its codes were mapped."""

    file: str
    kind: ActivityKind
    rows_read: int
    rows_imported: int
    left_out: dict[str, int]
    unknown_codes: dict[str, dict[str, int]]
    kept_blank: dict[str, int]
    admission_methods: list[dict[str, Any]]
    commissioner_from: dict[str, int]
    unpriced: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "layout": "hes",
            "kind": self.kind.value,
            "rows_read": self.rows_read,
            "rows_imported": self.rows_imported,
            "rows_left_out": sum(self.left_out.values()),
            "left_out": self.left_out,
            "unknown_codes": self.unknown_codes,
            "kept_blank": self.kept_blank,
            "admission_methods": self.admission_methods,
            "commissioner_from": self.commissioner_from,
            "unpriced": self.unpriced,
        }


def _result(path: Path, extract: HesExtract) -> HesImport:
    return HesImport(
        file=path.name,
        kind=extract.kind,
        rows_read=extract.rows_read,
        rows_imported=int(extract.table.num_rows),
        left_out=extract.left_out,
        unknown_codes=extract.unknown_codes,
        kept_blank=extract.kept_blank,
        admission_methods=extract.admission_methods,
        commissioner_from=extract.commissioner_from,
        unpriced=extract.unpriced,
    )


def read_hes_file(path: Path, kind: ActivityKind | None = None) -> HesImport:
    """How a HES extract maps into the activity layout, storing nothing (any dates from 2000-04-01 on)."""
    return _result(path, read_hes(path, kind))


def import_hes_activity(
    workspace: Workspace,
    path: Path,
    kind: ActivityKind | None = None,
    *,
    replace: bool = False,
    expected_sha256: str | None = None,
    who: str = "",
) -> HesImport:
    """Map a HES extract into the activity layout, check it against the organisations and contract years held,
    and make it the workspace's activity of its kind (``kind``, else told by its columns): all or nothing, as
    an outturn-layout extract."""
    sha256 = imports.sha256_of(path)
    imports.check_expected_file(path, sha256, expected_sha256)
    extract = read_hes(path, kind, expected_activity(workspace))
    store_activity(workspace, path, sha256, extract.kind, extract.table, replace=replace, who=who)
    return _result(path, extract)
