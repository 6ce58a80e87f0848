"""``outturn plan bridge`` and ``outturn plan import-assumptions``: the planning bridge from the underlying
position to the savings requirement."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from outturn.cli._common import (
    cell,
    current_user,
    emit,
    emit_import_summary,
    emit_rows,
    pounds_cell,
    print_plain,
    workspace_from,
)
from outturn.cli.command import command
from outturn.cli.options import OrgUnderOption, OutputFormat, YearCodeOption
from outturn.domain.money import format_pounds
from outturn.reports.planning import (
    basis_text,
    bridge_document,
    programme_rollup_document,
    requirement_percent,
    targets_document,
)
from outturn.services import planning

FileArgument = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .csv or .xlsx file")]
YearsOption = Annotated[int, typer.Option("--years", min=1, max=5, help="Years of the medium-term plan (1 to 5)")]


def _print_plan(plan: dict[str, Any]) -> None:
    for year in plan["years"]:
        print_plain(f"\n{plan['name']} ({plan['org_code']}) {year['year']}")
        for step in year["steps"]:
            basis = basis_text(step)
            print_plain(
                f"  {step['label']:<45} {format_pounds(step['pence']):>16} {format_pounds(step['running_pence']):>16}"
                + (f"  {basis}" if basis else "")
            )
        share = year["savings_requirement_share"]
        shown = f" ({requirement_percent(year)} of allocation)" if share is not None else ""
        print_plain(f"  Savings requirement {format_pounds(year['savings_requirement_pence'])}{shown}")


@command()
def plan_bridge(
    ctx: typer.Context,
    year: YearCodeOption,
    years: YearsOption = 1,
    org: OrgUnderOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """The bridge from the underlying position brought forward to the savings requirement, step by step in
    pence, for each organisation with plan assumptions and their total; --years N for the medium term (recurrent
    steps and savings carry into the next year, non-recurrent ones do not)."""
    with workspace_from(ctx, read_only=True) as opened:
        document = bridge_document(planning.bridge(opened, year, years, org))

    def render() -> None:
        for plan in document["organisations"]:
            _print_plan(plan)
        if document["total"] is not None:
            _print_plan(document["total"])

    emit(fmt, document, render)


@command()
def plan_import_assumptions(ctx: typer.Context, file: FileArgument, fmt: OutputFormat = OutputFormat.TABLE) -> None:
    """Import the planning bridge's assumptions (org_code, year, assumption, amount[, description, recurrent]),
    replacing those stored for each organisation and year in the file."""
    with workspace_from(ctx) as opened:
        emit_import_summary(fmt, planning.import_plan_assumptions(opened, file, who=current_user()))


# look-alike of cli/data.py:ledger_list (shape only): Typer option declarations and a render, one per command.
@command()
def plan_targets(
    ctx: typer.Context,
    programme: Annotated[str, typer.Option(help="The multi-year programme the targets belong to")],
    year: YearCodeOption,
    years: YearsOption = 1,
    org: OrgUnderOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Set each organisation's savings target for each year of the plan to the bridge's savings requirement, as
    part of --programme (the savings register's targets come from the plan)."""
    with workspace_from(ctx) as opened:
        document = targets_document(planning.targets_from_plan(opened, year, years, programme, current_user(), org))
    emit_rows(
        fmt,
        document,
        [
            ("Organisation", cell("org_code")),
            ("Year", cell("year")),
            ("Target", pounds_cell("target_pence")),
            ("Programme", cell("programme")),
        ],
    )


PROGRAMME_LEVEL = "programme"


def programme_rollup(ctx: typer.Context, org: str | None, fmt: OutputFormat) -> None:
    """``savings rollup --level programme``: each programme's target, identified and unidentified savings across
    its years (with --org: the targets of that organisation and those under it)."""
    with workspace_from(ctx, read_only=True) as opened:
        document = programme_rollup_document(planning.programme_rollup(opened, org))
    emit_rows(
        fmt,
        document,
        [
            ("Programme", cell("programme")),
            ("Years", lambda row: ", ".join(year["year"] for year in row["years"])),
            ("Target", pounds_cell("target_pence")),
            ("Identified", pounds_cell("identified_pence")),
            ("Unidentified", pounds_cell("unidentified_pence")),
        ],
    )
