"""``outturn forecast method``: a standing forecast method per category or ledger line (set, clear, list, history).

The group hangs under ``outturn forecast``, beside ``override``, ``clear`` and ``list`` (cli/__init__.py registers
every command).
"""

from __future__ import annotations

from typing import Annotated

import typer

from outturn.cli._common import cell, current_user, emit, emit_rows, print_plain, workspace_from
from outturn.cli.command import command
from outturn.cli.options import OutputFormat, SettingOrgOption
from outturn.domain.forecast import ForecastMethod
from outturn.domain.forecast_methods import MethodSetting
from outturn.domain.ledger import CostCategory
from outturn.services import forecast_methods
from outturn.services.forecast_methods import setting_to_data

CategoryOption = Annotated[str, typer.Option(help="Cost category, e.g. chc or acute")]
LineOption = Annotated[
    str | None, typer.Option("--line", help="One ledger line (subcategory) of the category; default: every line")
]


def _setting(org: str, category: str, line: str | None, method: ForecastMethod, reason: str = "") -> MethodSetting:
    return MethodSetting(org.upper(), CostCategory.parse(category), method, line, reason)


@command()
def method_set(
    ctx: typer.Context,
    method: Annotated[str, typer.Argument(help=", ".join(item.value for item in ForecastMethod))],
    org: SettingOrgOption,
    category: CategoryOption,
    line: LineOption = None,
    reason: Annotated[str, typer.Option(help="Why this method suits the category or line")] = "",
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Forecast a category (or one ledger line) by METHOD from now on, whatever method the position asks for."""
    setting = _setting(org, category, line, ForecastMethod.parse(method), reason)
    with workspace_from(ctx) as opened:
        replaced = forecast_methods.set_method(opened, setting, current_user())
    document = {**setting_to_data(setting), "replaced": setting_to_data(replaced) if replaced else None}
    emit(
        fmt,
        document,
        lambda: print_plain(f"{setting.describe()}" + (f" (was {replaced.method.value})" if replaced else "")),
    )


@command()
def method_clear(
    ctx: typer.Context,
    org: SettingOrgOption,
    category: CategoryOption,
    line: LineOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Remove the setting for a category (or one line), so the next one in precedence applies again."""
    key = _setting(org, category, line, ForecastMethod.RUN_RATE)  # the method plays no part in the key
    with workspace_from(ctx) as opened:
        removed = forecast_methods.clear_method(opened, key, current_user())
    emit(
        fmt,
        {"removed": setting_to_data(removed) if removed else None},
        lambda: print_plain(f"removed {removed.describe()}" if removed else "no setting was made there"),
    )


@command()
def method_list(
    ctx: typer.Context,
    org: Annotated[
        str | None, typer.Option(help="Only the settings bearing on this organisation's position (default: all)")
    ] = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """The stored method settings: organisation, category, scope (category or line), line, method and reason."""
    with workspace_from(ctx, read_only=True) as opened:
        settings = forecast_methods.list_methods(opened, org.upper() if org else None)
    emit_rows(
        fmt,
        [setting_to_data(setting) for setting in settings],
        [
            ("Organisation", cell("org_code")),
            ("Category", lambda row: CostCategory(str(row["category"])).label),
            ("Scope", cell("scope")),
            ("Line", cell("subcategory")),
            ("Method", cell("method")),
            ("Reason", cell("reason")),
        ],
    )


# look-alike of method_clear's signature: Typer option declarations, one per command.
@command()
def method_history(
    ctx: typer.Context,
    org: SettingOrgOption,
    category: CategoryOption,
    line: LineOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Every change to the setting for a category (or one line), oldest first, from the audit trail."""
    key = _setting(org, category, line, ForecastMethod.RUN_RATE)
    with workspace_from(ctx, read_only=True) as opened:
        entries = forecast_methods.method_history(opened, key)
    rows = [
        {
            "at": entry.at.isoformat(),
            "who": entry.who,
            "action": entry.action,
            "method_before": (entry.before or {}).get("method"),
            "method_after": (entry.after or {}).get("method"),
            "reason": (entry.after or entry.before or {}).get("reason", ""),
        }
        for entry in entries
    ]
    emit_rows(
        fmt,
        rows,
        [
            ("When", cell("at")),
            ("Who", cell("who")),
            ("Action", cell("action")),
            ("Before", cell("method_before")),
            ("After", cell("method_after")),
            ("Reason", cell("reason")),
        ],
    )
