"""Workspace settings: an explicit value beats the ``OUTTURN_*`` environment, which beats ``outturn.toml``.

A workspace is a directory holding ``outturn.toml``, the SQLite store and the DuckDB warehouse. Commands find
it from ``--workspace DIR``, else ``OUTTURN_WORKSPACE``, else the current directory; the workspace so chosen is
explicit, so ``OUTTURN_WORKSPACE`` never redirects the settings of a workspace named on the command line.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import Field
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from outturn.domain.errors import BadInput

SETTINGS_FILE = "outturn.toml"
STORE_FILE = "outturn.sqlite"
WAREHOUSE_FILE = "warehouse.duckdb"


class WorkspaceError(BadInput):
    """No workspace where one was expected, a workspace that cannot be created, or a settings file in error."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OUTTURN_", extra="ignore")

    workspace: Path = Field(description="The workspace directory")
    store_url: str = Field(default=f"sqlite:///{STORE_FILE}", description="SQLAlchemy URL of the store")
    warehouse_backend: str = Field(default="duckdb", description="Analytics backend: duckdb")
    warehouse_path: str = Field(default=WAREHOUSE_FILE, description="DuckDB warehouse file")
    reference_dir: Path | None = Field(default=None, description="Directory of official NHS reference data")
    default_org: str | None = Field(default=None, description="Organisation reported when none is given")
    default_as_at: str | None = Field(default=None, description="As-at month (YYYY-MM) when none is given")
    forecast_method: str = Field(
        default="auto",
        description="auto (per category, the method with the smallest back-test error), or one forecast method: "
        "run-rate, seasonal, trend, budget-phased, exit-rate",
    )
    commentary_threshold_pounds: int = Field(
        default=50_000, ge=0, description="A line's variance needs commentary above this many pounds (and the %)"
    )
    commentary_threshold_percent: Decimal = Field(
        default=Decimal(5), ge=0, description="... and above this percentage of the line's budget"
    )
    monte_carlo_backend: str = Field(default="numpy", description="Monte Carlo backend: numpy, or jax (optional)")
    store_busy_timeout_seconds: float = Field(
        default=15.0, ge=0, description="How long a write waits for another process writing the store"
    )
    password_hashing: Literal["standard", "cheapest"] = Field(
        default="standard",
        description="argon2 parameters for new password hashes: standard (RFC 9106), or cheapest (tests only)",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit values (the workspace chosen, options given) beat the environment, which beats the file."""
        return (init_settings, env_settings, WorkspaceFileSource(settings_cls))

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
            f"{candidate} is not an outturn workspace (no {SETTINGS_FILE})", needs="workspace"
        )
    return candidate.resolve()


def load_settings(workspace: Path, **explicit: Any) -> Settings:
    """The settings of ``workspace``: ``explicit`` values, else ``OUTTURN_*`` variables, else its settings file."""
    return Settings(workspace=workspace, **explicit)


def record_settings(workspace: Path, values: dict[str, Any]) -> Path:
    """Write ``values`` into ``workspace/outturn.toml`` over what it records (None removes a setting)."""
    recorded = read_settings_file(workspace)
    recorded.update(values)
    document = {key: recorded[key] for key in FILE_KEYS if recorded.get(key) is not None}
    path = workspace / SETTINGS_FILE
    path.write_text(tomli_w.dumps(_as_toml(document)), encoding="utf-8")
    return path


def _as_toml(values: dict[str, Any]) -> dict[str, Any]:
    return {key: str(value) if isinstance(value, Path) else value for key, value in values.items()}


FILE_KEYS = tuple(name for name in Settings.model_fields if name != "workspace")


class WorkspaceFileSource(PydanticBaseSettingsSource):
    """The settings recorded in the chosen workspace's ``outturn.toml``; an unknown key is an error."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # __call__ reads the whole file at once

    def __call__(self) -> dict[str, Any]:
        workspace = self.current_state.get("workspace")
        if workspace is None:
            return {}
        return read_settings_file(Path(workspace))


def read_settings_file(workspace: Path) -> dict[str, Any]:
    """The values recorded in ``workspace/outturn.toml``, refused whole if the file is not TOML or names a key
    that is not a setting (a misspelt key would otherwise be ignored and its default used in silence)."""
    path = workspace / SETTINGS_FILE
    try:
        with path.open("rb") as handle:
            recorded: dict[str, Any] = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as error:
        raise WorkspaceError(f"{path} is not valid TOML: {error}") from None
    unknown = "; ".join(_unknown_key(key) for key in recorded if key not in FILE_KEYS)
    if unknown:
        raise WorkspaceError(f"{path}: {unknown} (known settings: {', '.join(FILE_KEYS)})")
    return recorded


def _unknown_key(key: str) -> str:
    close = difflib.get_close_matches(key, FILE_KEYS, n=1)
    return f"unknown setting {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
