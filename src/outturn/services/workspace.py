"""Creating and opening a workspace: settings file, SQLite store and DuckDB warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from outturn.domain.periods import FinancialMonth
from outturn.engine.backends import Backend
from outturn.settings import (
    SETTINGS_FILE,
    Settings,
    WorkspaceError,
    default_reference_dir,
    find_workspace,
    load_settings,
    write_settings,
)
from outturn.store.database import Store


@dataclass
class Workspace:
    settings: Settings
    store: Store
    backend: Backend

    @property
    def path(self) -> Path:
        return self.settings.workspace

    def close(self) -> None:
        self.backend.close()
        self.store.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _open(settings: Settings) -> Workspace:
    backend = Backend(settings.warehouse_backend, str(settings.resolved_warehouse_path))
    return Workspace(settings, Store(settings.resolved_store_url), backend)


def init_workspace(
    directory: Path,
    *,
    default_org: str | None = None,
    default_as_at: str | None = None,
    reference_dir: Path | None = None,
    store_url: str | None = None,
    overwrite: bool = False,
) -> Workspace:
    """Create ``directory`` as a workspace: settings recorded, store migrated, warehouse created."""
    directory = directory.resolve()
    if (directory / SETTINGS_FILE).exists() and not overwrite:
        raise WorkspaceError(f"{directory} is already an outturn workspace")
    if default_as_at is not None:
        FinancialMonth.parse_as_at(default_as_at)
    directory.mkdir(parents=True, exist_ok=True)
    values: dict[str, object] = {"workspace": directory}
    if store_url:
        values["store_url"] = store_url
    reference = reference_dir.resolve() if reference_dir else default_reference_dir()
    settings = Settings(
        **values,  # type: ignore[arg-type]
        reference_dir=reference,
        default_org=default_org.upper() if default_org else None,
        default_as_at=default_as_at,
    )
    write_settings(settings)
    workspace = _open(settings)
    workspace.backend.initialise()
    return workspace


def open_workspace(directory: Path | None = None) -> Workspace:
    return _open(load_settings(find_workspace(directory)))


def update_defaults(workspace: Workspace, *, default_org: str | None, default_as_at: str | None) -> None:
    if default_org:
        workspace.settings.default_org = default_org.upper()
    if default_as_at:
        FinancialMonth.parse_as_at(default_as_at)
        workspace.settings.default_as_at = default_as_at
    write_settings(workspace.settings)
