"""``outturn savings``: the savings plan (QIPP) — workbook in and out, schemes, month-end close, roll-ups."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table

from outturn.cli._common import (
    EXIT_BAD_INPUT,
    cell,
    console,
    current_user,
    emit,
    emit_rows,
    error_console,
    month_or_default,
    workspace_from,
)
from outturn.cli.command import command
from outturn.cli.options import AsAtOption, OrgCodeOption, OrgUnderOption, OutputFormat, YearCodeOption, YearOption
from outturn.cli.planning import PROGRAMME_LEVEL, programme_rollup
from outturn.domain.errors import BadInput
from outturn.domain.money import Pence, format_millions, parse_money
from outturn.domain.periods import FinancialMonth, FinancialYear, parse_month_number
from outturn.domain.plans import parse_share
from outturn.domain.savings import Rag, SavingsTarget, SchemeStatus, assess_rag
from outturn.domain.savings_rollup import RollupLevel
from outturn.reports.imports import workbook_import_document
from outturn.reports.savings import (
    closed_document,
    conflict_document,
    movement_document,
    register_row,
    reopened_document,
    rollup_document,
    saved_document,
    scheme_history_document,
)
from outturn.services import savings, scheme_evidence
from outturn.services.savings import VersionConflict


def _millions(key: str) -> Callable[[dict[str, Any]], str]:
    return lambda row: format_millions(row[key], places=2)


def _month_values(pairs: list[str], option: str) -> dict[int, Pence | None]:
    """``M09=£10k`` pairs; ``M09=`` clears a month."""
    values: dict[int, Pence | None] = {}
    for pair in pairs:
        month, separator, amount = pair.partition("=")
        if not separator:
            raise BadInput(f"{option} {pair!r}: expected MONTH=AMOUNT, e.g. M09=£10k")
        values[parse_month_number(month)] = parse_money(amount) if amount.strip() else None
    return values


@command()
def savings_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Import a savings workbook (sheets Schemes, Phasing and optional Targets). A workbook with any problem,
    or exported before someone else's later change, stores nothing."""
    with workspace_from(ctx) as opened:
        result = savings.import_workbook(opened, file, current_user())
    emit(
        fmt,
        workbook_import_document(result),
        lambda: console.print(
            f"{result.source}: {result.created} new, {result.updated} updated, {result.unchanged} unchanged scheme(s); "
            f"{result.targets} target(s)",
            highlight=False,
        ),
    )


@command()
def savings_export(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(dir_okay=False)],
    year: YearOption = None,
    org: OrgUnderOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Export the plan as a workbook in the shape finance teams use; importing it back is exact to the penny."""
    with workspace_from(ctx) as opened:
        chosen = opened.year(year)
        count = savings.export_workbook(opened, file, chosen, org.upper() if org else None)
    emit(fmt, {"file": str(file), "schemes": count}, lambda: console.print(f"{count} scheme(s) written to {file}"))


# look-alike of cli/forecast_methods.py:method_list (shape only): Typer option declarations and a render, one per
# command.
@command()
def savings_list(
    ctx: typer.Context,
    as_at: AsAtOption = None,
    org: OrgUnderOption = None,
    workstream: Annotated[str | None, typer.Option(help="Only this workstream")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status")] = None,
    rag: Annotated[str | None, typer.Option(help="Only red, amber or green")] = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """The schemes with plan, delivered to date, forecast, risk-adjusted forecast and RAG."""
    with workspace_from(ctx) as opened:
        month = month_or_default(opened, as_at)
        views = savings.list_schemes(
            opened,
            month,
            org.upper() if org else None,
            workstream,
            SchemeStatus.parse(status).value if status else None,
            Rag.parse(rag).value if rag else None,
        )
    rows = [register_row(view.scheme, view.rag, month.number, view.evidence) for view in views]
    emit_rows(
        fmt,
        rows,
        [
            ("Ref", cell("reference")),
            ("Title", cell("title")),
            ("Org", cell("org_code")),
            ("Workstream", cell("workstream")),
            ("Status", cell("status")),
            ("Plan", _millions("plan_pence")),
            ("Delivered", _millions("delivered_to_date_pence")),
            ("Forecast", _millions("forecast_total_pence")),
            ("Risk-adj.", _millions("risk_adjusted_pence")),
            ("RAG", cell("rag")),
            ("v", cell("version")),
        ],
    )


# look-alike of cli/commentary.py:commentary_import (shape only): Typer option declarations and a render, one per
# command.
@command()
def savings_show(
    ctx: typer.Context,
    reference: str,
    as_at: AsAtOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """One scheme: its phasing, RAG with reasons, and its history from the audit trail."""
    with workspace_from(ctx) as opened:
        month = month_or_default(opened, as_at)
        scheme, entries = savings.show_scheme(opened, month.year, reference)
        evidenced = scheme_evidence.scheme_evidence(opened, scheme, month)
    document = scheme_history_document(scheme, assess_rag(scheme, month.number), month.number, entries, evidenced)

    def render() -> None:
        console.print(
            f"[bold]{scheme.reference}[/] {scheme.title} ({scheme.org_code}, {scheme.workstream.label}) "
            f"— {scheme.status.value}, version {scheme.version}",
            highlight=False,
        )
        console.print(f"RAG {document['rag'].upper()}: {'; '.join(document['rag_reasons'])}", highlight=False)
        table = Table("Month", "Planned", "Delivered", "Forecast")
        for number in range(1, 13):
            label = FinancialMonth(month.year, number).label
            table.add_row(
                label,
                *(
                    ("" if value is None else format_millions(value, places=3))
                    for value in (scheme.planned[number - 1], scheme.delivered[number - 1], scheme.forecast[number - 1])
                ),
            )
        console.print(table)
        if evidenced is not None:
            _render_evidence(document)
        for entry in entries:
            console.print(f"{entry.at:%Y-%m-%d %H:%M} {entry.who}: {entry.action}", highlight=False)

    emit(fmt, document, render)


def _render_evidence(document: dict[str, Any]) -> None:
    console.print(f"Measure: {document['measure']['described']}", highlight=False)
    if document["evidenced_pence"] is None:
        missing = ", ".join(document["evidence"]["baseline_months_missing"])
        console.print(f"Evidenced: not yet (baseline months not held: {missing})", highlight=False)
        return
    flag = " [bold red](flagged)[/]" if document["difference_flagged"] else ""
    console.print(
        f"Evidenced {format_millions(document['evidenced_pence'], places=3)} against reported "
        f"{format_millions(document['reported_pence'], places=3)}: difference "
        f"{format_millions(document['difference_pence'], places=3)}{flag}",
        highlight=False,
    )
    for part in document["evidence"]["components"]:
        console.print(
            f"  {part['name']}: baseline {part['baseline_count']:,}, counted {part['current_count']:,}, "
            f"evidenced {format_millions(part['evidenced_pence'], places=3)}, "
            f"behind target {format_millions(part['behind_target_pence'], places=3)}",
            highlight=False,
        )


@command()
def savings_import_measures(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Import schemes' activity measures (CSV or XLSX, one row per scheme): what each scheme changes, its
    baseline months, target change and price. A file with any problem stores nothing."""
    with workspace_from(ctx) as opened:
        count = scheme_evidence.import_measures(opened, file, current_user())
    emit(fmt, {"file": str(file), "measures": count}, lambda: console.print(f"{count} measure(s) from {file.name}"))


@command()
def savings_update(
    ctx: typer.Context,
    reference: str,
    version: Annotated[int, typer.Option(help="The version you are editing (from `savings show`)")],
    as_at: AsAtOption = None,
    status: Annotated[str | None, typer.Option(help="New status")] = None,
    confidence: Annotated[str | None, typer.Option(help="Delivery confidence, e.g. 80%")] = None,
    forecast: Annotated[list[str] | None, typer.Option(help="MONTH=AMOUNT, e.g. M09=£10k (repeatable)")] = None,
    delivered: Annotated[list[str] | None, typer.Option(help="MONTH=AMOUNT delivered (repeatable)")] = None,
    rag: Annotated[str | None, typer.Option(help="Override the computed RAG: red, amber or green")] = None,
    reason: Annotated[str | None, typer.Option(help="Why the RAG is overridden (required with --rag)")] = None,
    clear_rag: Annotated[bool, typer.Option(help="Remove a RAG override")] = False,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Change a scheme. If someone else saved it after the version you give, nothing is saved and you are shown
    their version and your changes, so nothing is lost."""
    changes = savings.SchemeChanges(
        status=SchemeStatus.parse(status) if status else None,
        confidence=parse_share(confidence) if confidence else None,
        forecast=_month_values(forecast or [], "--forecast"),
        delivered=_month_values(delivered or [], "--delivered"),
        rag_override=Rag.parse(rag) if rag else None,
        rag_override_reason=reason,
        clear_rag_override=clear_rag,
    )
    with workspace_from(ctx) as opened:
        month = month_or_default(opened, as_at)
        try:
            saved = savings.update_scheme(opened, month.year, reference, version, changes, current_user())
        except VersionConflict as conflict:
            _report_conflict(fmt, conflict, changes)
    emit(
        fmt,
        saved_document(saved),
        lambda: console.print(f"{saved.reference} saved as version {saved.version}"),
    )


def _report_conflict(fmt: OutputFormat, conflict: VersionConflict, changes: savings.SchemeChanges) -> NoReturn:
    """Nothing was saved: show the version someone else saved and the changes that were not, so none is lost."""
    attempted = changes.as_data()
    if fmt is OutputFormat.JSON:
        document = conflict_document(str(conflict), conflict.current, changes.apply(conflict.current), attempted)
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        error_console.print(f"[bold red]conflict:[/] {conflict}", highlight=False)
        error_console.print(f"  your changes, not saved: {json.dumps(attempted)}", highlight=False, markup=False)
        error_console.print(f"  re-apply them with --version {conflict.current.version}", highlight=False)
    raise typer.Exit(EXIT_BAD_INPUT)


@command()
def savings_target(
    ctx: typer.Context,
    org: OrgCodeOption,
    year: YearCodeOption,
    amount: Annotated[str, typer.Option(help="The savings target, e.g. £25m")],
    programme: Annotated[str, typer.Option(help="The multi-year programme it belongs to")] = "",
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Set an organisation's savings target for a year (identified versus unidentified savings)."""
    target = SavingsTarget(org.upper(), FinancialYear.parse(year), parse_money(amount), programme)
    with workspace_from(ctx) as opened:
        savings.set_target(opened, target, current_user())
    emit(
        fmt,
        {
            "org_code": target.org_code,
            "year": target.year.label,
            "target_pence": target.target_pence,
            "programme": target.programme,
        },
        lambda: console.print(f"{target.org_code} {target.year}: target {format_millions(target.target_pence)}"),
    )


@command()
def savings_close_month(
    ctx: typer.Context,
    as_at: AsAtOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Freeze every scheme's plan and forecast as at the month. A close can never be changed; a month reopened
    (savings reopen-month) is closed again, keeping its first snapshot."""
    with workspace_from(ctx) as opened:
        month = month_or_default(opened, as_at)
        count = savings.close_month(opened, month, current_user())
    emit(
        fmt,
        closed_document(month, count),
        lambda: console.print(f"{month} closed with {count} scheme(s)"),
    )


@command()
def savings_reopen_month(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option(help="Why the closed month must change (required; recorded)")],
    as_at: AsAtOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Reopen a closed month so its ledger can be corrected, recording who, when and why. The close's
    snapshot is kept; close-month closes the month again."""
    with workspace_from(ctx) as opened:
        month = month_or_default(opened, as_at)
        savings.reopen_month(opened, month, current_user(), reason)
    emit(
        fmt,
        reopened_document(month, reason),
        lambda: console.print(f"{month} reopened: {reason.strip()}", highlight=False),
    )


@command()
def savings_movement(
    ctx: typer.Context,
    from_month: Annotated[str, typer.Option("--from", help="The earlier close, YYYY-MM")],
    to_month: Annotated[str, typer.Option("--to", help="The later close, YYYY-MM")],
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """The movement between two month-end closes, explained scheme by scheme."""
    with workspace_from(ctx) as opened:
        items = savings.movement(opened, FinancialMonth.parse_as_at(from_month), FinancialMonth.parse_as_at(to_month))
    document = movement_document(items)
    emit(
        fmt,
        document,
        lambda: emit_rows(
            OutputFormat.TABLE,
            document["schemes"],
            [
                ("Ref", cell("reference")),
                ("Title", cell("title")),
                ("Forecast change", _millions("forecast_change_pence")),
                ("Explanation", cell("explanation")),
            ],
        ),
    )


@command()
def savings_rollup(
    ctx: typer.Context,
    as_at: AsAtOption = None,
    level: Annotated[
        str, typer.Option(help="organisation, icb, region, national, workstream or programme")
    ] = "organisation",
    org: OrgUnderOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Plan, delivered to date, forecast, shortfall (£ and %) and risk-adjusted forecast by level; --level
    programme: each programme's target, identified and unidentified savings by year and in total."""
    if level == PROGRAMME_LEVEL:
        programme_rollup(ctx, org, fmt)
        return
    with workspace_from(ctx) as opened:
        month = month_or_default(opened, as_at)
        rows = rollup_document(savings.savings_rollup(opened, month, RollupLevel(level), org.upper() if org else None))
    emit_rows(
        fmt,
        rows,
        [
            ("Code", cell("code")),
            ("Name", cell("name")),
            ("Plan", _millions("plan_pence")),
            ("Delivered", _millions("delivered_pence")),
            ("Forecast", _millions("forecast_pence")),
            ("Shortfall", _millions("shortfall_pence")),
            ("Short %", cell("shortfall_pct")),
            ("Risk-adj.", _millions("risk_adjusted_pence")),
            ("Unidentified", _millions("unidentified_pence")),
        ],
    )
