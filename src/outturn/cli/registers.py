"""Commands that show what is stored: ``plan show``, ``risks list``, ``forecast list``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from outturn.cli._common import (
    FormatOption,
    OutputFormat,
    WorkspaceOption,
    console,
    emit,
    reports_errors,
    workspace_from,
)
from outturn.cli.data import forecast_app, plan_app, risks_app
from outturn.domain.money import format_pounds
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.services import registers
from outturn.services.workspace import Workspace

OrgOption = Annotated[str | None, typer.Option(help="Organisation code (default: the workspace's)")]
YearOption = Annotated[str | None, typer.Option(help="Financial year, e.g. 2025/26 (default: the workspace's)")]


def _scope(workspace: Workspace, org: str | None, year: str | None) -> tuple[str, FinancialYear]:
    code = (org or workspace.settings.default_org or "").upper()
    if not code:
        raise ValueError("no organisation given: pass --org CODE")
    if year:
        return code, FinancialYear.parse(year)
    if workspace.settings.default_as_at:
        return code, FinancialMonth.parse_as_at(workspace.settings.default_as_at).year
    raise ValueError("no year given: pass --year, e.g. 2025/26")


@plan_app.command("show")
@reports_errors
def plan_show(
    ctx: typer.Context,
    org: OrgOption = None,
    year: YearOption = None,
    workspace: WorkspaceOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Allocations, deductions, required surplus and control total of an organisation and those under it."""
    with workspace_from(ctx, workspace) as opened:
        code, financial_year = _scope(opened, org, year)
        found = registers.plans(opened, code, financial_year)
    document = [
        {
            "org_code": plan.org_code,
            "year": str(plan.year),
            "allocation_pence": plan.allocation_pence,
            "recurrent_allocation_pence": plan.recurrent_allocation_pence,
            "non_recurrent_allocation_pence": plan.non_recurrent_allocation_pence,
            "deductions": [{"description": d.description, "pence": d.pence} for d in plan.deductions],
            "resource_pence": plan.resource_pence,
            "required_surplus_pence": plan.required_surplus_pence,
            "control_total_pence": plan.effective_control_total_pence,
        }
        for plan in found
    ]

    def render() -> None:
        table = Table("Organisation", "Allocation", "Deductions", "Resource", "Control total")
        for plan in found:
            table.add_row(
                plan.org_code,
                format_pounds(plan.allocation_pence),
                format_pounds(plan.deductions_pence),
                format_pounds(plan.resource_pence),
                format_pounds(plan.effective_control_total_pence, brackets=True),
            )
        console.print(table)

    emit(fmt, document, render)


@risks_app.command("list")
@reports_errors
def risks_list(
    ctx: typer.Context,
    org: OrgOption = None,
    year: YearOption = None,
    workspace: WorkspaceOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """The risks and mitigations of an organisation and those under it, with expected values."""
    with workspace_from(ctx, workspace) as opened:
        code, financial_year = _scope(opened, org, year)
        items = registers.risk_register(opened, code, financial_year)
    document = [
        {
            "org_code": item.org_code,
            "kind": item.kind.value,
            "description": item.description,
            "value_pence": item.value_pence,
            "likelihood": str(item.likelihood),
            "expected_pence": item.expected_pence,
            "category": item.category.value if item.category else None,
        }
        for item in items
    ]

    def render() -> None:
        table = Table("Organisation", "Kind", "Description", "Value", "Likelihood", "Expected")
        for item in items:
            table.add_row(
                item.org_code,
                item.kind.value,
                item.description,
                format_pounds(item.value_pence),
                f"{item.likelihood:.0%}",
                format_pounds(item.expected_pence),
            )
        console.print(table)

    emit(fmt, document, render)


@forecast_app.command("list")
@reports_errors
def forecast_list(
    ctx: typer.Context,
    org: OrgOption = None,
    year: YearOption = None,
    workspace: WorkspaceOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """The manual forecast overrides in force, with their reasons."""
    with workspace_from(ctx, workspace) as opened:
        code, financial_year = _scope(opened, org, year)
        found = registers.overrides(opened, code, financial_year)
    document = [
        {
            "org_code": item.org_code,
            "category": item.category.value,
            "subcategory": item.subcategory,
            "forecast_pence": item.forecast_pence,
            "reason": item.reason,
        }
        for item in found
    ]

    def render() -> None:
        table = Table("Organisation", "Category", "Line", "Forecast", "Reason")
        for item in found:
            table.add_row(
                item.org_code, item.category.label, item.subcategory, format_pounds(item.forecast_pence), item.reason
            )
        console.print(table)

    emit(fmt, document, render)
