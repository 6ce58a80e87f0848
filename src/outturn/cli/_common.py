"""What every command shares: opening the workspace, printing a document or rows, and turning errors into exit codes
(the options themselves are declared in cli/options.py, the decorator that adds them in cli/command.py)."""

from __future__ import annotations

import errno
import functools
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from outturn.cli.options import OutputFormat
from outturn.domain.errors import OutturnError
from outturn.domain.money import format_pounds
from outturn.domain.periods import FinancialMonth
from outturn.domain.problems import ProblemsError
from outturn.reports.imports import import_document
from outturn.services.commentary import CommentaryClosed
from outturn.services.imports import ImportRefused, ImportSummary
from outturn.services.savings import MonthNotClosed
from outturn.services.workspace import Workspace, open_workspace

EXIT_BAD_INPUT = 2

_PIPE_WIDTH = 132  # wide enough for the category table when output is piped or captured
console = Console(width=None if sys.stdout.isatty() else _PIPE_WIDTH)
error_console = Console(stderr=True, width=None if sys.stderr.isatty() else _PIPE_WIDTH)


def current_user() -> str:
    """Who is making a change, for the audit trail: ``OUTTURN_USER``, else the login name."""
    return os.environ.get("OUTTURN_USER") or getpass.getuser()


def month_or_default(workspace: Workspace, text: str | None) -> FinancialMonth:
    """The month given (YYYY-MM), else the workspace's default, else a clear error."""
    return workspace.month(text)


def workspace_from(ctx: typer.Context, *, read_only: bool = False) -> Workspace:
    """The workspace named by ``--workspace`` (after the command's name, else before it), else the environment's.
    Reports pass ``read_only`` so they can run while the web application has the warehouse open."""
    return open_workspace((ctx.obj or {}).get("workspace"), read_only=read_only)


def emit(fmt: OutputFormat, document: Any, render: Callable[[], None]) -> None:
    if fmt is OutputFormat.JSON:
        sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
    else:
        render()


def emit_import_summary(fmt: OutputFormat, summary: ImportSummary) -> None:
    """An import's summary: ``import_document`` as JSON, else one line saying what was imported (and replaced)."""

    def render() -> None:
        console.print(
            f"imported {summary.rows} {summary.kind} row(s) from {summary.source}"
            + (f", replacing {summary.replaced_rows} stored row(s)" if summary.replaced_rows else ""),
            highlight=False,
        )

    emit(fmt, import_document(summary), render)


Row = dict[str, Any]


def print_plain(text: str) -> None:
    """Print ``text`` as it is: no console markup read into it and no highlighting added."""
    console.print(text, highlight=False, markup=False)


def print_warnings(warnings: Sequence[object], *, label: str = "warning", limit: int | None = None) -> None:
    """Each warning on its own line as plain text (``warning: ...``): no console markup, so what a warning says is
    printed as written, never read as styling; past ``limit``, a count of the rest."""
    shown = warnings if limit is None else warnings[:limit]
    for warning in shown:
        print_plain(f"{label}: {warning}")
    if len(warnings) > len(shown):
        print_plain(f"… and {len(warnings) - len(shown)} more {label}s (see --format json)")


def cell(key: str) -> Callable[[Row], str]:
    """A table cell showing ``row[key]`` as text (blank for None)."""
    return lambda row: "" if row[key] is None else str(row[key])


def pounds_cell(key: str) -> Callable[[Row], str]:
    """A table cell showing the pence ``row[key]`` in pounds (blank for None)."""
    return lambda row: "" if row[key] is None else format_pounds(row[key])


def emit_rows(fmt: OutputFormat, rows: Sequence[Row], columns: Sequence[tuple[str, Callable[[Row], str]]]) -> None:
    """Rows as a JSON list, or as a table with one column per (heading, cell of a row)."""

    def render() -> None:
        table = Table(*(heading for heading, _cell in columns))
        for row in rows:
            table.add_row(*(cell(row) for _heading, cell in columns))
        console.print(table)

    emit(fmt, rows, render)


def print_replacement(replaces: dict[str, Any]) -> None:
    """What an import replaces (to standard error): a ledger's lines and £ before and after by category; for
    other files, each count and total."""
    if "categories" not in replaces:
        for name, value in replaces.items():
            shown = format_pounds(value) if name.endswith("_pence") else f"{value:,}"
            error_console.print(f"  {name.removesuffix('_pence').replace('_', ' ')}: {shown}", highlight=False)
        return
    table = Table("Organisation", "Month", "Category", "Lines", "Budget", "Actual", "Added", "Removed", "Changed")

    for row in replaces["categories"]:
        table.add_row(row["org_code"], f"{row['year']} {row['month']}", row["category"], *_changes(row))
    table.add_row("total", "", "", *_changes(replaces))
    error_console.print(table)


def _changes(row: dict[str, Any]) -> tuple[str, ...]:
    """A ledger replacement's lines, budget and actual (before → after) and lines added, removed and changed."""

    def side(name: str) -> str:
        before, after = row[f"{name}_before_pence"], row[f"{name}_after_pence"]
        return f"{format_pounds(before)} → {format_pounds(after)}"

    return (
        f"{row['lines_before']} → {row['lines_after']}",
        side("budget"),
        side("actual"),
        *(str(row[f"lines_{change}"]) for change in ("added", "removed", "changed")),
    )


def key_value_table() -> Table:
    """A headline table: a bold label and a figure on the right a row, no header, no box."""
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(justify="right")
    return table


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
        except ImportRefused as error:
            if fmt is OutputFormat.JSON:
                sys.stdout.write(json.dumps(error.document(), indent=2) + "\n")
            else:
                error_console.print(f"[bold red]{error}[/]", highlight=False)
                print_replacement(error.document()["replaces"])
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except (OutturnError, OSError) as error:
            message = failure_message(error)
            if message is None:
                raise
            if fmt is OutputFormat.JSON:
                sys.stdout.write(json.dumps({"error": message}) + "\n")
            else:
                # one error, one line: a long path is not broken where a pipe's fixed width would break it
                error_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper


# What to give or load, as the services name it (``OutturnError.needs``), said in the CLI's terms.
HINTS = {
    "organisation": "pass --org CODE or set a default with `outturn init --org`",
    "month": "pass --as-at YYYY-MM or set a default with `outturn init --as-at`",
    "year": "pass --year YYYY/YY or set a default month with `outturn init --as-at`",
    "workspace": "create one with `outturn init DIR` or pass --workspace DIR",
    "reference-data": "set OUTTURN_REFERENCE_DIR or pass --reference-dir",
    "allocation-file": "set OUTTURN_REFERENCE_DIR or pass --file",
    "allocation": "import it with `outturn populations import --allocation FILE`",
    "populations": "run `outturn populations import ...`",
    "prescribing": "run `outturn prescribing import FILE` first",
    "contracts": "import one with `outturn contracts import FILE`",
    "plan": "import one with `outturn plan import FILE`",
    "plan-assumptions": "import them with `outturn plan import-assumptions FILE`",
    "contract-map": "map contracts to ledger lines with `outturn contracts map FILE`",
    "ledger-mapping": "give --mapping FILE, or load one with `outturn ledger mapping import FILE`",
    "line-methods": "set the lines' method with `outturn forecast method set`",
    "actual": "give --actual FILE, or --actual-from ledger or plans",
    "practice": "pass --org naming a practice in the workspace",
}


def hint(error: OutturnError) -> str | None:
    """How to put an expected failure right from the command line, where the CLI can say more than the service."""
    if isinstance(error, MonthNotClosed):
        return f"run `outturn savings close-month --as-at {error.month.calendar_label}` first"
    if isinstance(error, CommentaryClosed):
        return f"run `outturn savings reopen-month --as-at {error.month.calendar_label} --reason TEXT` to change it"
    return HINTS.get(error.needs) if error.needs else None


def failure_message(error: BaseException) -> str | None:
    """The CLI's one mapping of failures (each exits ``EXIT_BAD_INPUT``): the line to print for any of the
    services' family (not found, conflict, bad input, unavailable), with the command-line hint where there is one,
    or for a full disk; None for anything else, a bug that should raise (a plain ValueError or KeyError among
    them)."""
    if isinstance(error, OutturnError):
        extra = hint(error)
        return f"{error}: {extra}" if extra else str(error)
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return f"disk full writing {error.filename or 'a file'}: free some space and run the command again"
    return None
