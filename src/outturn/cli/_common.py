"""What every command shares: the workspace option, the output format, and turning errors into exit codes."""

from __future__ import annotations

import functools
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from outturn.domain.money import MoneyError
from outturn.domain.periods import FinancialMonth, PeriodError
from outturn.domain.problems import ProblemsError
from outturn.engine.backends import WarehouseBusy
from outturn.services.position import PositionError
from outturn.services.savings import SavingsError
from outturn.services.workspace import Workspace, open_workspace
from outturn.settings import WorkspaceError

EXIT_BAD_INPUT = 2

_PIPE_WIDTH = 132  # wide enough for the category table when output is piped or captured
console = Console(width=None if sys.stdout.isatty() else _PIPE_WIDTH)
error_console = Console(stderr=True, width=None if sys.stderr.isatty() else _PIPE_WIDTH)


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="table for people, json for programs (money in pence)")
]
WorkspaceOption = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace directory (default: $OUTTURN_WORKSPACE, else the current one)"),
]


def current_user() -> str:
    """Who is making a change, for the audit trail: ``OUTTURN_USER``, else the login name."""
    return os.environ.get("OUTTURN_USER") or getpass.getuser()


def month_or_default(workspace: Workspace, text: str | None) -> FinancialMonth:
    """The month given (YYYY-MM), else the workspace's default, else a clear error."""
    chosen = text or workspace.settings.default_as_at
    if not chosen:
        raise ValueError("no month given: pass --as-at YYYY-MM")
    return FinancialMonth.parse_as_at(chosen)


def workspace_from(ctx: typer.Context, explicit: Path | None = None) -> Workspace:
    chosen = explicit or (ctx.obj or {}).get("workspace")
    return open_workspace(chosen)


def emit(fmt: OutputFormat, document: Any, render: Callable[[], None]) -> None:
    if fmt is OutputFormat.JSON:
        sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
    else:
        render()


Row = dict[str, Any]


def cell(key: str) -> Callable[[Row], str]:
    """A table cell showing ``row[key]`` as text (blank for None)."""
    return lambda row: "" if row[key] is None else str(row[key])


def emit_rows(fmt: OutputFormat, rows: Sequence[Row], columns: Sequence[tuple[str, Callable[[Row], str]]]) -> None:
    """Rows as a JSON list, or as a table with one column per (heading, cell of a row)."""

    def render() -> None:
        table = Table(*(heading for heading, _cell in columns))
        for row in rows:
            table.add_row(*(cell(row) for _heading, cell in columns))
        console.print(table)

    emit(fmt, rows, render)


P = ParamSpec("P")
R = TypeVar("R")


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Expected failures (bad input, no workspace) print their reasons and exit 2; bugs still raise."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        fmt = kwargs.get("fmt", OutputFormat.TABLE)
        try:
            return command(*args, **kwargs)
        except ProblemsError as error:
            if fmt is OutputFormat.JSON:
                sys.stdout.write(json.dumps(error.as_dict(), indent=2) + "\n")
            else:
                error_console.print(f"[bold red]{error.summary}[/]", highlight=False)
                listed = "".join(f"  • {line}\n" for line in (*error.problems, *error.omitted))
                error_console.print(listed, end="", highlight=False, markup=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except (
            WorkspaceError,
            PositionError,
            SavingsError,
            MoneyError,
            PeriodError,
            ValueError,
            KeyError,
            WarehouseBusy,
        ) as error:
            # a KeyError's str() is the repr of its message; stripping quotes would also eat a closing 'CODE'
            message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
            if fmt is OutputFormat.JSON:
                sys.stdout.write(json.dumps({"error": message}) + "\n")
            else:
                error_console.print(f"[bold red]error:[/] {message}", highlight=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper
