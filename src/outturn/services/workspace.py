"""Creating and opening a workspace: settings file, SQLite store and DuckDB warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from outturn.domain.errors import MissingScope
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.engine.backends import Backend, WarehouseUnavailable
from outturn.settings import (
    FILE_KEYS,
    SETTINGS_FILE,
    Settings,
    WorkspaceError,
    default_reference_dir,
    find_workspace,
    load_settings,
    record_settings,
)
from outturn.store import repository
from outturn.store.database import Store


@dataclass(frozen=True)
class Scope:
    """What a report is about: an organisation (its code, upper case) and an as-at month."""

    org_code: str
    month: FinancialMonth


# look-alike of domain/scenario_effects.py:Timing (shape only): declarative, a record's fields.
@dataclass
class Workspace:
    settings: Settings
    store: Store
    backend: Backend

    @property
    def path(self) -> Path:
        return self.settings.workspace

    # The one scope resolver: "the organisation (or month, or year) given, else the workspace's default". Codes
    # are upper-cased here, once; a part that is neither given nor defaulted is ``MissingScope``, which each
    # interface words its own way (the option or the query parameter to give).

    def org_or_default(self, given: str | None) -> str | None:
        """The organisation code given, else the workspace's default organisation (upper case); None if neither."""
        chosen = given or self.settings.default_org
        return chosen.strip().upper() if chosen else None

    def month_or_default(self, given: str | None) -> FinancialMonth | None:
        """The as-at month given (YYYY-MM), else the workspace's default month; None if neither."""
        chosen = given or self.settings.default_as_at
        return FinancialMonth.parse_as_at(chosen) if chosen else None

    def org_code(self, given: str | None) -> str:
        """The organisation code given, else the workspace's default; ``MissingScope`` if neither."""
        code = self.org_or_default(given)
        if not code:
            raise MissingScope("organisation")
        return code

    def month(self, given: str | None) -> FinancialMonth:
        """The as-at month given, else the workspace's default; ``MissingScope`` if neither."""
        month = self.month_or_default(given)
        if month is None:
            raise MissingScope("month")
        return month

    def year(self, given: str | None) -> FinancialYear:
        """The financial year given (e.g. 2025/26), else the year of the workspace's default month;
        ``MissingScope`` if neither."""
        if given:
            return FinancialYear.parse(given)
        month = self.month_or_default(None)
        if month is None:
            raise MissingScope("year")
        return month.year

    def scope(self, org: str | None, as_at: str | None) -> Scope:
        """The organisation and month given, each else the workspace's default."""
        return Scope(self.org_code(org), self.month(as_at))

    def close(self) -> None:
        self.backend.close()
        self.store.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _open(settings: Settings, *, read_only: bool = False) -> Workspace:
    backend = Backend(settings.warehouse_backend, str(settings.resolved_warehouse_path), read_only=read_only)
    store = Store(settings.resolved_store_url, busy_timeout_seconds=settings.store_busy_timeout_seconds)
    return Workspace(settings, store, backend)


def reconcile_import_log(workspace: Workspace) -> int:
    """Copy into the store's import log each record of the warehouse's that it lacks; return how many.

    An import into the warehouse records itself there in its data's transaction and then copies the record into
    the store; a process that dies between the two leaves a record only the warehouse holds, copied here (once:
    records are keyed by their uid). Opening a workspace does this, as do reads of the log. Nothing is copied while
    another process has the warehouse open for writing: it did this when it opened the workspace, and only it can
    have written the warehouse since."""
    try:
        records = workspace.backend.import_log()
    except WarehouseUnavailable:
        return 0
    if not records:
        return 0
    with workspace.store.autocommit() as connection:
        return repository.add_missing_imports(connection, records)


def init_workspace(
    directory: Path,
    *,
    default_org: str | None = None,
    default_as_at: str | None = None,
    reference_dir: Path | None = None,
    store_url: str | None = None,
    overwrite: bool = False,
) -> Workspace:
    """Create ``directory`` as a workspace: settings recorded, store migrated, warehouse created.

    The file records the values given here and the defaults of the rest; ``OUTTURN_*`` variables set now still
    apply to the workspace opened, as to every command, but are not written into its file."""
    directory = directory.resolve()
    if (directory / SETTINGS_FILE).exists() and not overwrite:
        raise WorkspaceError(f"{directory} is already an outturn workspace")
    if default_as_at is not None:
        FinancialMonth.parse_as_at(default_as_at)
    chosen = {
        "store_url": store_url or None,
        "reference_dir": reference_dir.resolve() if reference_dir else default_reference_dir(),
        "default_org": default_org.upper() if default_org else None,
        "default_as_at": default_as_at,
    }
    explicit = {key: value for key, value in chosen.items() if value is not None}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / SETTINGS_FILE).unlink(missing_ok=True)  # --force: the file is written afresh
    record_settings(directory, {**_defaults(), **explicit})
    workspace = _open(load_settings(directory, **explicit))
    workspace.backend.initialise()
    return workspace


def open_workspace(directory: Path | None = None, *, read_only: bool = False) -> Workspace:
    """The workspace in ``directory`` (else ``OUTTURN_WORKSPACE``, else the current directory).

    ``read_only`` opens the warehouse for reading, so that reports can run while another process (the web
    application, another report) reads it too; a write through it reopens it for writing. Opening for writing
    copies into the store any import the warehouse recorded and the store did not (``reconcile_import_log``); a
    read-only open (a report) skips that, since every reader of the import log reconciles first."""
    workspace = _open(load_settings(find_workspace(directory)), read_only=read_only)
    if read_only:
        return workspace
    try:
        reconcile_import_log(workspace)
    except BaseException:
        workspace.close()
        raise
    return workspace


def _defaults() -> dict[str, object]:
    """Each setting's default, so that a new settings file shows what can be set."""
    fields = Settings.model_fields
    return {name: fields[name].default for name in FILE_KEYS if fields[name].default is not None}


def update_defaults(workspace: Workspace, *, default_org: str | None, default_as_at: str | None) -> None:
    """Record a new default organisation or month in the workspace's file (and in the settings in use)."""
    changes: dict[str, object] = {}
    if default_org:
        changes["default_org"] = workspace.settings.default_org = default_org.upper()
    if default_as_at:
        FinancialMonth.parse_as_at(default_as_at)
        changes["default_as_at"] = workspace.settings.default_as_at = default_as_at
    record_settings(workspace.path, changes)
