"""Commands that show what is stored: ``plan show``, ``risks list``, ``forecast list``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import typer

from outturn.cli._common import Row, cell, emit_rows, pounds_cell, workspace_from
from outturn.cli.command import command
from outturn.cli.options import OrgOption, OutputFormat, YearOption
from outturn.domain.ledger import CostCategory
from outturn.domain.periods import FinancialYear
from outturn.reports.registers import override_row, plan_row, risk_row
from outturn.services import registers
from outturn.services.workspace import Workspace

T = TypeVar("T")


def _scope(workspace: Workspace, org: str | None, year: str | None) -> tuple[str, FinancialYear]:
    return workspace.org_code(org), workspace.year(year)


def _show(
    ctx: typer.Context,
    scope: tuple[str | None, str | None],
    fmt: OutputFormat,
    reader: Callable[[Workspace, str, FinancialYear], Sequence[T]],
    to_row: Callable[[T], Row],
    columns: list[tuple[str, Callable[[Row], str]]],
) -> None:
    """The register ``reader`` gives for the scope (organisation, year), a row each, the organisation first."""
    with workspace_from(ctx) as opened:
        items = reader(opened, *_scope(opened, *scope))
    emit_rows(fmt, [to_row(item) for item in items], [("Organisation", cell("org_code")), *columns])


# look-alike of cli/position_history.py:position_history (shape only): Typer option declarations and a render, one per
# command.
@command()
def plan_show(
    ctx: typer.Context,
    org: OrgOption = None,
    year: YearOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Allocations, deductions, required surplus and control total of an organisation and those under it."""
    columns = [
        ("Allocation", pounds_cell("allocation_pence")),
        ("Deductions", pounds_cell("deductions_pence")),
        ("Resource", pounds_cell("resource_pence")),
        ("Control total", pounds_cell("control_total_pence")),
    ]
    _show(ctx, (org, year), fmt, registers.plans, plan_row, columns)


# look-alike of plan_show's and forecast_list's signatures: Typer option declarations, one per command.
@command()
def risks_list(
    ctx: typer.Context,
    org: OrgOption = None,
    year: YearOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """The risks and mitigations of an organisation and those under it, with expected values."""
    columns = [
        ("Kind", cell("kind")),
        ("Description", cell("description")),
        ("Value", pounds_cell("value_pence")),
        ("Likelihood", lambda row: f"{float(str(row['likelihood'])):.0%}"),
        ("Expected", pounds_cell("expected_pence")),
    ]
    _show(ctx, (org, year), fmt, registers.risk_register, risk_row, columns)


@command()
def forecast_list(
    ctx: typer.Context,
    org: OrgOption = None,
    year: YearOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """The manual forecast overrides in force, with their reasons."""
    columns = [
        ("Category", lambda row: CostCategory(str(row["category"])).label),
        ("Line", cell("subcategory")),
        ("Forecast", pounds_cell("forecast_pence")),
        ("Reason", cell("reason")),
    ]
    _show(ctx, (org, year), fmt, registers.overrides, override_row, columns)
