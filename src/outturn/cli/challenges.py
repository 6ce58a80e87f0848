"""``outturn contracts challenges``: the challenge log per contract (list, add, update, history)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from outturn.cli._common import cell, console, current_user, emit, emit_rows, pounds_cell, print_plain, workspace_from
from outturn.cli.command import command
from outturn.cli.options import OutputFormat, YearOption
from outturn.domain.challenges import (
    ChallengeCategory,
    ChallengeChange,
    ChallengeStatus,
    parse_choice,
    parse_months,
)
from outturn.domain.money import format_pounds, parse_money
from outturn.domain.periods import FinancialYear, parse_day
from outturn.domain.plans import parse_share
from outturn.services import challenges
from outturn.services.workspace import Workspace

LikelihoodOption = Annotated[
    str | None, typer.Option(help="Chance an open challenge is agreed, e.g. 30% (default: 50%)")
]
CATEGORIES = ", ".join(category.value for category in ChallengeCategory)
STATUSES = ", ".join(status.value for status in ChallengeStatus)


def _year(workspace: Workspace, text: str | None) -> FinancialYear:
    return workspace.year(text)


def _money(row: dict[str, Any], key: str) -> str:
    return "" if row[key] is None else format_pounds(row[key])


@command()
def challenges_list(
    ctx: typer.Context,
    provider: Annotated[str | None, typer.Option(help="Only this provider's challenges")] = None,
    commissioner: Annotated[str | None, typer.Option(help="Only this commissioner's challenges")] = None,
    status: Annotated[str | None, typer.Option(help=f"Only challenges in this status: {STATUSES}")] = None,
    year: YearOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """The year's challenges with their totals by status (count, £ challenged, £ agreed, £ expected at likelihood)."""
    chosen = parse_choice(ChallengeStatus, status, "status") if status else None
    with workspace_from(ctx, read_only=True) as opened:
        document = challenges.challenge_log(opened, _year(opened, year), provider, commissioner, chosen)

    def render() -> None:
        emit_rows(
            OutputFormat.TABLE,
            document["challenges"],
            [
                ("Reference", cell("reference")),
                ("Contract", lambda row: f"{row['provider']} × {row['commissioner']}"),
                ("Category", cell("category")),
                ("Raised", cell("raised_on")),
                ("Challenged", pounds_cell("value_pence")),
                ("Status", cell("status")),
                ("Agreed", pounds_cell("agreed_pence")),
                ("Expected", pounds_cell("expected_pence")),
                ("Version", cell("version")),
            ],
        )
        for total in document["totals_by_status"]:
            print_plain(
                f"{total['status']}: {total['count']}, {format_pounds(total['value_pence'])} challenged, "
                f"{format_pounds(total['agreed_pence'])} agreed, {format_pounds(total['expected_pence'])} expected"
            )

    emit(fmt, document, render)


@command()
def challenges_add(
    ctx: typer.Context,
    provider: Annotated[str, typer.Option(help="Provider (trust) code")],
    commissioner: Annotated[str, typer.Option(help="Commissioner code")],
    category: Annotated[str, typer.Option(help=f"One of {CATEGORIES}")],
    value: Annotated[str, typer.Option(help="£ challenged, e.g. 12,500.00")],
    point_of_delivery: Annotated[str | None, typer.Option("--pod", help="Point of delivery it concerns")] = None,
    treatment_function: Annotated[str | None, typer.Option("--tf", help="Treatment function it concerns")] = None,
    months: Annotated[str | None, typer.Option(help="Months it concerns, e.g. M06,M07")] = None,
    likelihood: LikelihoodOption = None,
    notes: Annotated[str, typer.Option(help="What is challenged and why")] = "",
    raised_on: Annotated[str | None, typer.Option(help="Date raised, YYYY-MM-DD (default: today)")] = None,
    year: YearOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Raise a challenge on a held contract; it is open, at version 1, under the year's next reference."""
    with workspace_from(ctx) as opened:
        new = challenges.NewChallenge(
            provider=provider,
            commissioner=commissioner,
            year=_year(opened, year),
            category=parse_choice(ChallengeCategory, category, "category"),
            value_pence=parse_money(value),
            point_of_delivery=point_of_delivery,
            treatment_function=treatment_function,
            months=parse_months(months or ""),
            likelihood=parse_share(likelihood) if likelihood else None,
            notes=notes,
            raised_on=parse_day(raised_on) if raised_on else None,
        )
        stored = challenges.add_challenge(opened, new, current_user())
    document = challenges.challenge_document(stored)
    emit(fmt, document, lambda: console.print(f"challenge {escape(stored.reference)} raised", highlight=False))


@command()
def challenges_update(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="The challenge's reference, e.g. CH-2018-0001")],
    version: Annotated[int, typer.Option(help="The version you are changing (refused if it has moved on)")],
    status: Annotated[str | None, typer.Option(help=f"New status: {STATUSES}")] = None,
    agreed: Annotated[str | None, typer.Option(help="£ agreed (with --status agreed, or while agreed)")] = None,
    notes: Annotated[str | None, typer.Option(help="Replace the notes")] = None,
    likelihood: LikelihoodOption = None,
    reason: Annotated[str, typer.Option(help="Why the status changes (needed to reopen)")] = "",
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Change a challenge's status, £ agreed, notes or likelihood. An open challenge may be agreed, rejected or
    withdrawn; a closed one may only be reopened, with --reason. Exits 2 if someone changed it first."""
    change = ChallengeChange(
        status=parse_choice(ChallengeStatus, status, "status") if status else None,
        agreed_pence=parse_money(agreed) if agreed else None,
        notes=notes,
        likelihood=parse_share(likelihood) if likelihood else None,
        reason=reason,
    )
    with workspace_from(ctx) as opened:
        stored = challenges.update_challenge(opened, reference, version, change, current_user())
    document = challenges.challenge_document(stored)
    emit(
        fmt,
        document,
        lambda: print_plain(f"challenge {stored.reference} is {stored.status.value} (version {stored.version})"),
    )


@command()
def challenges_history(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="The challenge's reference, e.g. CH-2018-0001")],
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """The challenge as it stands and every change to it (who, when, before and after), oldest first."""
    with workspace_from(ctx, read_only=True) as opened:
        document = challenges.challenge_history_document(opened, reference)

    def render() -> None:
        rows = [
            {
                "at": entry["at"],
                "who": entry["who"],
                "action": entry["action"],
                "status": (entry["after"] or {}).get("status", ""),
                "agreed": (entry["after"] or {}).get("agreed_pence"),
            }
            for entry in document["history"]
        ]
        emit_rows(
            OutputFormat.TABLE,
            rows,
            [
                ("When", cell("at")),
                ("Who", cell("who")),
                ("Action", cell("action")),
                ("Status", cell("status")),
                ("Agreed", pounds_cell("agreed")),
            ],
        )

    emit(fmt, document, render)
