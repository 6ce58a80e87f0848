"""Commands that show what is stored: ``plan show``, ``risks list``, ``forecast list``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import typer

from outturn.cli._common import cell, emit_rows, workspace_from
from outturn.cli.command import command
from outturn.cli.options import OrgOption, OutputFormat, YearOption
from outturn.domain.ledger import CostCategory
from outturn.domain.money import format_pounds
from outturn.domain.periods import FinancialYear
from outturn.reports.registers import risk_row
from outturn.services import registers
from outturn.services.workspace import Workspace

T = TypeVar("T")


def _scope(workspace: Workspace, org: str | None, year: str | None) -> tuple[str, FinancialYear]:
    return workspace.org_code(org), workspace.year(year)


def _read(
    ctx: typer.Context,
    org: str | None,
    year: str | None,
    reader: Callable[[Workspace, str, FinancialYear], Sequence[T]],
) -> Sequence[T]:
    with workspace_from(ctx) as opened:
        return reader(opened, *_scope(opened, org, year))


def _pounds(key: str) -> Callable[[dict[str, object]], str]:
    return lambda row: format_pounds(int(str(row[key])))


@command()
def plan_show(
    ctx: typer.Context,
    org: OrgOption = None,
    year: YearOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Allocations, deductions, required surplus and control total of an organisation and those under it."""
    rows = [
        {
            "org_code": plan.org_code,
            "year": str(plan.year),
            "allocation_pence": plan.allocation_pence,
            "recurrent_allocation_pence": plan.recurrent_allocation_pence,
            "non_recurrent_allocation_pence": plan.non_recurrent_allocation_pence,
            "deductions": [{"description": d.description, "pence": d.pence} for d in plan.deductions],
            "deductions_pence": plan.deductions_pence,
            "resource_pence": plan.resource_pence,
            "required_surplus_pence": plan.required_surplus_pence,
            "control_total_pence": plan.effective_control_total_pence,
        }
        for plan in _read(ctx, org, year, registers.plans)
    ]
    emit_rows(
        fmt,
        rows,
        [
            ("Organisation", cell("org_code")),
            ("Allocation", _pounds("allocation_pence")),
            ("Deductions", _pounds("deductions_pence")),
            ("Resource", _pounds("resource_pence")),
            ("Control total", _pounds("control_total_pence")),
        ],
    )


@command()
def risks_list(
    ctx: typer.Context,
    org: OrgOption = None,
    year: YearOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """The risks and mitigations of an organisation and those under it, with expected values."""
    rows = [risk_row(item) for item in _read(ctx, org, year, registers.risk_register)]
    emit_rows(
        fmt,
        rows,
        [
            ("Organisation", cell("org_code")),
            ("Kind", cell("kind")),
            ("Description", cell("description")),
            ("Value", _pounds("value_pence")),
            ("Likelihood", lambda row: f"{float(str(row['likelihood'])):.0%}"),
            ("Expected", _pounds("expected_pence")),
        ],
    )


@command()
def forecast_list(
    ctx: typer.Context,
    org: OrgOption = None,
    year: YearOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """The manual forecast overrides in force, with their reasons."""
    rows = [
        {
            "org_code": item.org_code,
            "category": item.category.value,
            "subcategory": item.subcategory,
            "forecast_pence": item.forecast_pence,
            "reason": item.reason,
        }
        for item in _read(ctx, org, year, registers.overrides)
    ]
    emit_rows(
        fmt,
        rows,
        [
            ("Organisation", cell("org_code")),
            ("Category", lambda row: CostCategory(str(row["category"])).label),
            ("Line", cell("subcategory")),
            ("Forecast", _pounds("forecast_pence")),
            ("Reason", cell("reason")),
        ],
    )
