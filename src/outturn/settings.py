"""Workspace settings: ``outturn.toml`` in the workspace, overridden by ``OUTTURN_*`` environment variables.

A workspace is a directory holding ``outturn.toml``, the SQLite store and the DuckDB warehouse. Commands find
it from ``--workspace DIR``, else ``OUTTURN_WORKSPACE``, else the current directory.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

SETTINGS_FILE = "outturn.toml"
STORE_FILE = "outturn.sqlite"
WAREHOUSE_FILE = "warehouse.duckdb"


class WorkspaceError(Exception):
    """No workspace where one was expected, or a workspace that cannot be created."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OUTTURN_", extra="ignore")

    workspace: Path = Field(description="The workspace directory")
    store_url: str = Field(default=f"sqlite:///{STORE_FILE}", description="SQLAlchemy URL of the store")
    warehouse_backend: str = Field(default="duckdb", description="Analytics backend: duckdb")
    warehouse_path: str = Field(default=WAREHOUSE_FILE, description="DuckDB warehouse file")
    reference_dir: Path | None = Field(default=None, description="Directory of official NHS reference data")
    default_org: str | None = Field(default=None, description="Organisation reported when none is given")
    default_as_at: str | None = Field(default=None, description="As-at month (YYYY-MM) when none is given")
    forecast_method: str = Field(default="run-rate", description="run-rate, seasonal or trend")
    monte_carlo_backend: str = Field(default="numpy", description="Monte Carlo backend: numpy, or jax (optional)")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)

    def _in_workspace(self, name: str) -> Path:
        path = Path(name)
        return path if path.is_absolute() else self.workspace / path

    @property
    def resolved_store_url(self) -> str:
        """Relative SQLite paths are relative to the workspace."""
        prefix = "sqlite:///"
        if self.store_url.startswith(prefix) and not self.store_url.startswith(prefix + "/"):
            return prefix + str(self._in_workspace(self.store_url[len(prefix) :]))
        return self.store_url

    @property
    def resolved_warehouse_path(self) -> Path:
        return self._in_workspace(self.warehouse_path)


def default_reference_dir() -> Path | None:
    """``OUTTURN_REFERENCE_DIR``, else ``../shared/reference-data`` beside the checkout or the current directory."""
    configured = os.environ.get("OUTTURN_REFERENCE_DIR")
    if configured:
        return Path(configured).resolve()
    checkout = Path(__file__).resolve().parents[2]
    for candidate in (checkout.parent / "shared" / "reference-data", Path.cwd().parent / "shared" / "reference-data"):
        if candidate.is_dir():
            return candidate.resolve()
    return None


def find_workspace(explicit: Path | None = None) -> Path:
    candidate = explicit or Path(os.environ.get("OUTTURN_WORKSPACE") or Path.cwd())
    if not (candidate / SETTINGS_FILE).is_file():
        raise WorkspaceError(
            f"{candidate} is not an outturn workspace (no {SETTINGS_FILE}); create one with `outturn init DIR` "
            "or pass --workspace DIR"
        )
    return candidate.resolve()


def load_settings(workspace: Path) -> Settings:
    with (workspace / SETTINGS_FILE).open("rb") as handle:
        recorded: dict[str, Any] = tomllib.load(handle)
    recorded["workspace"] = workspace
    return Settings(**recorded)


def write_settings(settings: Settings) -> Path:
    values = settings.model_dump(exclude={"workspace"}, exclude_none=True, mode="json")
    path = settings.workspace / SETTINGS_FILE
    path.write_text(tomli_w.dumps(values), encoding="utf-8")
    return path
