"""A trial balance's lines (organisation x cost centre x subjective code) and the budget holders' view of them.

A ledger line is known by its ``TrialBalanceLineKey``: the organisation, the cost centre and the subjective (expense)
code. A ledger imported at category level has neither; its lines are keyed by the category (as the cost centre) and the
subcategory (as the subjective code), so every line of either kind has one key that commentary can hang on.

A budget holder answers for the lines of their cost centres. A line needs commentary when its variance, year to
date or forecast, is material: above the threshold in pounds AND above the threshold percentage of the matching
budget (year-to-date budget for the year-to-date variance, annual budget for the forecast variance); a variance
on a zero budget is material when above the pounds. The workspace sets the threshold
(``commentary_threshold_pounds``, ``commentary_threshold_percent``; defaults £50,000 and 5%).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from outturn.domain.contract_ledger import Threshold
from outturn.domain.errors import BadInput
from outturn.domain.ledger import CostCategory
from outturn.domain.money import Pence
from outturn.domain.periods import FinancialMonth, FinancialYear

DEFAULT_COMMENTARY_POUNDS = 50_000
DEFAULT_COMMENTARY_PERCENT = Fraction(5)
UNASSIGNED_HOLDER = ""  # a line whose cost centre names no budget holder (every category-level line)


def commentary_threshold(
    pounds: int = DEFAULT_COMMENTARY_POUNDS, percent: Fraction = DEFAULT_COMMENTARY_PERCENT
) -> Threshold:
    """The materiality rule for commentary: above ``pounds`` AND above ``percent`` of the budget."""
    return Threshold(pounds=pounds, percent=percent)


@dataclass(frozen=True, order=True)
class TrialBalanceLineKey:
    """One ledger line: organisation, cost centre, subjective code (category and subcategory for a
    category-level ledger; see ``for_category_line``)."""

    org_code: str
    cost_centre: str
    subjective_code: str

    @classmethod
    def for_line(
        cls, org_code: str, category: CostCategory, subcategory: str, cost_centre: str, subjective_code: str
    ) -> TrialBalanceLineKey:
        """The key of a stored ledger line: its cost centre and subjective code where it has them (a trial
        balance's line), else its category and subcategory."""
        if cost_centre:
            return cls(org_code, cost_centre, subjective_code)
        return cls(org_code, category.value, subcategory)

    @property
    def label(self) -> str:
        return f"{self.org_code} {self.cost_centre} / {self.subjective_code}"


# look-alike of other records' figures and derived properties (domain/contracts.py, backtest.py; shape only).
class BudgetVariances:
    """The two variances of budget figures, budget less actual (or forecast): positive is an underspend. One rule
    for a line (``BudgetHolderLine``) and for lines summed (``LineTotals``), which declare the figures."""

    annual_budget_pence: Pence
    ytd_budget_pence: Pence
    ytd_actual_pence: Pence
    forecast_outturn_pence: Pence

    @property
    def ytd_variance_pence(self) -> Pence:
        return self.ytd_budget_pence - self.ytd_actual_pence

    @property
    def forecast_variance_pence(self) -> Pence:
        return self.annual_budget_pence - self.forecast_outturn_pence


@dataclass(frozen=True)
class BudgetHolderLine(BudgetVariances):
    """One line of a budget holder's report as at a month: year to date and forecast, and whether the line's
    variance needs commentary. Variances are budget less actual (or forecast): positive is an underspend."""

    key: TrialBalanceLineKey
    cost_centre_description: str
    subjective_description: str
    category: CostCategory
    subcategory: str
    budget_holder: str
    annual_budget_pence: Pence
    ytd_budget_pence: Pence
    ytd_actual_pence: Pence
    forecast_outturn_pence: Pence
    forecast_method: str
    needs_commentary: bool


def needs_commentary(
    threshold: Threshold, ytd_budget: Pence, ytd_variance: Pence, annual_budget: Pence, forecast_variance: Pence
) -> bool:
    """Whether either variance is material by ``threshold`` (see the module's docstring)."""
    return threshold.flags(ytd_variance, ytd_budget) or threshold.flags(forecast_variance, annual_budget)


# look-alike of BudgetHolderLine's figures: declarative, the same four budget figures summed over lines.
@dataclass(frozen=True)
class LineTotals(BudgetVariances):
    """Some lines summed: one budget holder's, cost centre's, category's or organisation's (``name``)."""

    name: str
    lines: int
    needing_commentary: int
    annual_budget_pence: Pence
    ytd_budget_pence: Pence
    ytd_actual_pence: Pence
    forecast_outturn_pence: Pence


def line_totals(name: str, lines: Sequence[BudgetHolderLine]) -> LineTotals:
    return LineTotals(
        name=name,
        lines=len(lines),
        needing_commentary=sum(1 for line in lines if line.needs_commentary),
        annual_budget_pence=sum(line.annual_budget_pence for line in lines),
        ytd_budget_pence=sum(line.ytd_budget_pence for line in lines),
        ytd_actual_pence=sum(line.ytd_actual_pence for line in lines),
        forecast_outturn_pence=sum(line.forecast_outturn_pence for line in lines),
    )


@dataclass(frozen=True)
class BudgetHolderReport:
    """Each holder's lines (holder None: every holder's) as at a month, with the threshold that decided which
    need commentary; ``holders`` sums each holder's lines, in the order of ``lines``."""

    org_code: str
    as_at: FinancialMonth
    holder: str | None
    threshold: Threshold
    lines: tuple[BudgetHolderLine, ...]

    @property
    def holders(self) -> tuple[LineTotals, ...]:
        grouped: dict[str, list[BudgetHolderLine]] = {}
        for line in self.lines:
            grouped.setdefault(line.budget_holder, []).append(line)
        return tuple(line_totals(holder, lines) for holder, lines in grouped.items())

    @property
    def needing_commentary(self) -> tuple[BudgetHolderLine, ...]:
        return tuple(line for line in self.lines if line.needs_commentary)


# look-alike of domain/prescribing.py:FormulationSwap (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class CostCentre:
    """A cost centre of an organisation's trial balance, with the budget holder who answers for its lines."""

    org_code: str
    code: str
    description: str = ""
    parent_code: str = ""
    budget_holder: str = UNASSIGNED_HOLDER


# look-alike of domain/ledger.py:LedgerLine (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class TrialBalanceRow:
    """One row of a trial balance as read: a cost centre x subjective code's budget and actual in one month."""

    org_code: str
    year: FinancialYear
    month: int
    cost_centre: str
    subjective_code: str
    budget_pence: Pence
    actual_pence: Pence | None
    one_off_pence: Pence = 0
    note: str = ""
    cost_centre_description: str = ""
    subjective_description: str = ""
    row: int = 0

    @property
    def key(self) -> tuple[str, int, int, str, str]:
        return (self.org_code, self.year.start_year, self.month, self.cost_centre, self.subjective_code)


ROLL_UP_LEVELS = ("category", "cost_centre", "budget_holder", "organisation")


def _level_key(line: BudgetHolderLine, level: str) -> str:
    if level == "category":
        return line.category.value
    if level == "cost_centre":
        return f"{line.key.org_code} {line.key.cost_centre}"
    if level == "budget_holder":
        return line.budget_holder
    return line.key.org_code


def roll_up(lines: Sequence[BudgetHolderLine], level: str) -> tuple[LineTotals, ...]:
    """The lines summed by ``level`` (one of ``ROLL_UP_LEVELS``), in order of first appearance; each total's
    ``name`` is the group's: a category value, "ORG COSTCENTRE", a holder, an organisation code."""
    if level not in ROLL_UP_LEVELS:
        raise BadInput(f"unknown roll-up level {level!r} (one of: {', '.join(ROLL_UP_LEVELS)})")
    grouped: dict[str, list[BudgetHolderLine]] = {}
    for line in lines:
        grouped.setdefault(_level_key(line, level), []).append(line)
    return tuple(line_totals(name, found) for name, found in grouped.items())
