"""The demo's monthly cycle, as a finance team works it: last month's ledger (with the SYNTHETIC trial balance
beneath it), savings workbook and prescribing, and its close; then this month's ledger, the scheme leads' savings
updates and prescribing. Also the evidenced schemes' measures, which read the year's earlier prescribing
(``services/demo.py`` runs these in order)."""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from outturn.demo import trial_balance as demo_trial_balance
from outturn.demo.files import write_ledger
from outturn.demo.ledger import SyntheticEconomy
from outturn.demo.prescribing import practice_month, write_epd_csv
from outturn.demo.savings import month_updates, synthetic_savings
from outturn.demo.scheme_measures import MEASURES_HEADER, demo_measures
from outturn.domain.ledger import LedgerLine
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.reports.savings_workbook import write_savings_workbook
from outturn.services import savings, scheme_evidence
from outturn.services.forecast_history import record_forecast_history
from outturn.services.imports import import_ledger
from outturn.services.prescribing import import_prescribing
from outturn.services.trial_balance import import_trial_balance
from outturn.services.workspace import Workspace

PRESCRIBING_LAG = 2  # practice prescribing is published about two months after the month it covers
Step = Callable[[str], None]


def _ledger_to(lines: Sequence[LedgerLine], month: FinancialMonth) -> list[LedgerLine]:
    """The ledger as it stood at ``month``'s close: this year's later months budgeted but not yet reported."""
    return [
        dataclasses.replace(line, actual_pence=None, one_off_pence=0, note="")
        if line.year == month.year and line.month > month.number
        else line
        for line in lines
    ]


def _ledger_month(lines: Sequence[LedgerLine], month: FinancialMonth) -> list[LedgerLine]:
    return [line for line in lines if line.year == month.year and line.month == month.number]


def _import_ledger(
    workspace: Workspace, economy: SyntheticEconomy, lines: Sequence[LedgerLine], year: FinancialYear, path: Path
) -> None:
    """``lines`` as the category ledger in ``path``, then this year's as the SYNTHETIC trial balance (cost centre x
    subjective code; demo/trial_balance.py) with its mapping, replacing this year's category lines with the
    trial balance's, which roll up to them to the penny: every figure the demo shows stays as the category
    ledger's, and the import log shows the trial balance replacing them."""
    import_ledger(workspace, write_ledger(path, lines), replace=True)  # over the trial balance's budget-only lines
    centres = demo_trial_balance.cost_centres(economy.ledger)
    rows = demo_trial_balance.trial_balance_rows([line for line in lines if line.year == year], centres)
    import_trial_balance(
        workspace,
        demo_trial_balance.write_trial_balance(path.with_name(path.name.replace("ledger", "trial-balance")), rows),
        mapping_path=demo_trial_balance.write_mapping(path.with_name("ledger-mapping.csv"), centres),
        replace=True,
        who="demo",
    )


def _prescribing(
    workspace: Workspace, inputs: Path, reference: Path, practices: Sequence[str], month: FinancialMonth, seed: int
) -> None:
    """The practice prescribing published by ``month``'s close (``PRESCRIBING_LAG`` months behind), as EPD."""
    number = month.number - PRESCRIBING_LAG
    covered = month.year.month(number) if number >= 1 else month.year.previous().month(number + 12)
    table, _count = practice_month(reference, practices, covered.calendar_label, seed + covered.number)
    import_prescribing(workspace, write_epd_csv(table, inputs / f"epd-{covered.calendar_label}.csv"))


def _savings_updates(workspace: Workspace, month: FinancialMonth, seed: int) -> None:
    """The scheme leads' month-end returns, each saved against the version it was read at."""
    current = {view.scheme.reference: view.scheme for view in savings.list_schemes(workspace, month)}
    for update in month_updates(list(current.values()), month.number, seed):
        scheme = current[update.reference]
        changes = savings.SchemeChanges(
            delivered={month.number: update.delivered_pence},
            forecast=dict(update.forecast),
            confidence=update.confidence,
        )
        savings.update_scheme(workspace, month.year, update.reference, scheme.version, changes, "demo")


def evidenced_schemes(
    workspace: Workspace,
    inputs: Path,
    reference: Path,
    registered: Mapping[str, tuple[str, float]],
    month: FinancialMonth,
    seed: int,
    step: Step,
) -> None:
    """The year's prescribing before the months the cycle imports (the prescribing scheme's baseline), then the
    activity measures of two schemes (``demo.scheme_measures``), so the demo shows evidenced savings."""
    step("evidenced savings: the year's earlier prescribing and two schemes' SYNTHETIC activity measures")
    for covered in range(1, month.number - PRESCRIBING_LAG - 1):
        later = month.year.month(covered + PRESCRIBING_LAG)
        _prescribing(workspace, inputs, reference, sorted(registered), later, seed)
    practices_of: dict[str, set[str]] = {}
    for practice, (home, _weight) in registered.items():
        practices_of.setdefault(home, set()).add(practice)
    schemes = [view.scheme for view in savings.list_schemes(workspace, month)]
    rows = demo_measures(schemes, month, practices_of, PRESCRIBING_LAG)
    if rows:
        path = inputs / "scheme-measures.csv"
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerows([MEASURES_HEADER, *rows])
        scheme_evidence.import_measures(workspace, path, "demo")


def _earlier_months(workspace: Workspace, first: FinancialMonth, step: Step) -> None:
    """Record the forecast history of the year's months before ``first``, as each month's close would have: the
    forecast as at a month reads only actuals to that month, and the demo's earlier months never change."""
    if first.number == 1:
        return
    step(f"M01-{first.year.month(first.number - 1).label}: recording each month's forecast in the forecast history")
    for number in range(1, first.number):
        record_forecast_history(workspace, first.year.month(number), "demo")


def monthly_cycle(
    workspace: Workspace,
    economy: SyntheticEconomy,
    allocations: Mapping[str, int],
    practices: Sequence[str],
    month: FinancialMonth,
    inputs: Path,
    reference: Path,
    seed: int,
    step: Step,
) -> None:
    """Last month's imports and close, then this month's imports (ledger, savings updates, prescribing)."""
    before = month.year.month(month.number - 1) if month.number > 1 else None
    first = before or month
    step(f"{first}: importing the ledger, the SYNTHETIC savings plan (QIPP) and the month's prescribing")
    _import_ledger(workspace, economy, _ledger_to(economy.ledger, first), month.year, inputs / "ledger.csv")
    _earlier_months(workspace, first, step)
    schemes, targets = synthetic_savings(allocations, month.year, first.number, seed)
    savings.import_workbook(workspace, write_savings_workbook(inputs / "savings.xlsx", schemes, targets), "demo")
    _prescribing(workspace, inputs, reference, practices, first, seed)
    if before is None:
        return
    savings.close_month(workspace, before, "demo")
    step(f"{month}: importing the month's ledger, savings updates and prescribing")
    month_lines = _ledger_month(economy.ledger, month)
    _import_ledger(workspace, economy, month_lines, month.year, inputs / f"ledger-{month.label}.csv")
    _savings_updates(workspace, month, seed)
    _prescribing(workspace, inputs, reference, practices, month, seed)
