"""``outturn commentary``: budget holders' commentary on ledger lines, per line per month (list, write, import,
history)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from outturn.cli._common import cell, current_user, emit, emit_rows, print_plain, workspace_from
from outturn.cli.command import command
from outturn.cli.options import AsAtOption, OrgCodeOption, OrgOption, OutputFormat
from outturn.domain.money import format_pounds
from outturn.services import commentary
from outturn.services.commentary import TrialBalanceLineKey

HolderOption = Annotated[
    str | None, typer.Option(help="Only this budget holder's lines (the name as the ledger's mapping has it)")
]
CostCentreOption = Annotated[
    str, typer.Option(help="The line's cost centre (for a category-level ledger: the category, e.g. acute)")
]
SubjectiveOption = Annotated[
    str, typer.Option(help="The line's subjective code (for a category-level ledger: the subcategory; blank for none)")
]
VersionOption = Annotated[
    int, typer.Option(help="The version of the commentary you are changing: 0 for a line with none yet")
]
FileArgument = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .csv or .xlsx file")]


def _key(org: str, cost_centre: str, subjective: str) -> TrialBalanceLineKey:
    return TrialBalanceLineKey(org.strip().upper(), cost_centre.strip(), subjective.strip())


def _short(text: str | None, width: int = 60) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _commentary_row(line: dict[str, Any]) -> dict[str, Any]:
    written = line["commentary"]
    last = line["last_month"]
    return {
        "line": f"{line['org_code']} {line['cost_centre']} / {line['subjective_code']}",
        "holder": line["budget_holder"],
        "ytd": format_pounds(line["ytd_variance_pence"]),
        "forecast": format_pounds(line["forecast_variance_pence"]),
        "method": line["forecast_method"],
        "needs": "yes" if line["needs_commentary"] else "",
        "commentary": _short(written["text"]) if written else "",
        "version": written["version"] if written else 0,
        "last_month": _short(last["text"], 30) if last and not written else "",
    }


# look-alike of challenges_list's render (cli/challenges.py): declarative, each command's table and line.
@command()
def commentary_list(
    ctx: typer.Context,
    holder: HolderOption = None,
    org: OrgOption = None,
    as_at: AsAtOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """The lines (one budget holder's, or all) as at the month: variance year to date and forecast, the forecast
    method, whether the line needs commentary, the month's commentary (with its version) and last month's, offered
    for reuse. Lines needing commentary come first, the largest forecast variance first."""
    with workspace_from(ctx, read_only=True) as opened:
        document = commentary.commentary_list(opened, as_at, holder, org)

    def render() -> None:
        emit_rows(
            OutputFormat.TABLE,
            [_commentary_row(line) for line in document["lines"]],
            [
                ("Line", cell("line")),
                ("Holder", cell("holder")),
                ("YTD variance", cell("ytd")),
                ("Forecast variance", cell("forecast")),
                ("Method", cell("method")),
                ("Needs", cell("needs")),
                ("Commentary", cell("commentary")),
                ("Version", cell("version")),
                ("Last month's", cell("last_month")),
            ],
        )
        print_plain(
            f"{document['needing_commentary']} line(s) need commentary, {document['missing_commentary']} have none "
            f"({document['as_at']})"
        )

    emit(fmt, document, render)


@command()
def commentary_write(
    ctx: typer.Context,
    org: OrgCodeOption,
    cost_centre: CostCentreOption,
    version: VersionOption,
    subjective: SubjectiveOption = "",
    text: Annotated[str | None, typer.Option(help="The commentary: what explains the line's variance")] = None,
    copy_last_month: Annotated[
        bool, typer.Option("--copy-last-month", help="Write last month's commentary on the line again as this month's")
    ] = False,
    as_at: AsAtOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Write a line's commentary for the month (--text, or --copy-last-month). Exits 2 if someone changed it since
    the version given."""
    key = _key(org, cost_centre, subjective)
    if (text is None) == (not copy_last_month):
        raise typer.BadParameter("give --text or --copy-last-month (one of them)")
    with workspace_from(ctx) as opened:
        if copy_last_month:
            document = commentary.copy_last_month(opened, key, as_at, version, current_user())
        else:
            document = commentary.write_commentary(opened, key, as_at, text or "", version, current_user())
    emit(
        fmt,
        document,
        lambda: print_plain(f"commentary on {key.label} for {document['as_at']} saved (version {document['version']})"),
    )


@command()
def commentary_import(
    ctx: typer.Context,
    file: FileArgument,
    as_at: AsAtOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Import commentary from a file: org, cost centre, subjective, month, commentary (one row per line and month;
    the months are of the year of --as-at).
    A file with any problem (a bad cell, a line the ledger does not hold) stores nothing and lists every problem
    with its row and column. Each row becomes its line's commentary for its month (a new version where there is
    one); every change is in the audit trail and the import in the import log."""
    with workspace_from(ctx) as opened:
        document = commentary.import_commentary(opened, file, as_at, current_user())
    emit(
        fmt,
        document,
        lambda: print_plain(f"imported {document['rows']} commentary row(s) from {document['source']}"),
    )


@command()
def commentary_history(
    ctx: typer.Context,
    org: OrgCodeOption,
    cost_centre: CostCentreOption,
    subjective: SubjectiveOption = "",
    as_at: AsAtOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """A line's commentary for the month as it stands and every change to it (who, when, the text), oldest first."""
    key = _key(org, cost_centre, subjective)
    with workspace_from(ctx, read_only=True) as opened:
        document = commentary.commentary_history(opened, key, as_at)
    rows = [
        {
            "at": entry["at"],
            "who": entry["who"],
            "action": entry["action"],
            "text": _short((entry["after"] or {}).get("text")),
        }
        for entry in document["history"]
    ]
    emit(
        fmt,
        document,
        lambda: emit_rows(
            OutputFormat.TABLE,
            rows,
            [("When", cell("at")), ("Who", cell("who")), ("Action", cell("action")), ("Commentary", cell("text"))],
        ),
    )
