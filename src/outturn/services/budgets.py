"""Indicative practice budgets, spend against them, distance from target allocation and the incentive scheme.

The rules are in ``outturn.domain.budgets``; this module gathers their inputs: the practices and weighted
populations from the warehouse (``services.populations``), spend from a practice file or the ledger, sub-ICB
allocations from the stored financial plans, and target allocations from NHS England's 2021/22 AIF file.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path

from outturn.domain.budgets import (
    BudgetLine,
    IncentiveTerms,
    PracticeBudget,
    PracticeIncentive,
    TargetLine,
    apportion,
    budget_lines,
    distance_from_target,
    indicative_budgets,
    left_out_warning,
    practice_incentive,
    sum_to_level,
)
from outturn.domain.errors import BadInput
from outturn.domain.ledger import CostCategory
from outturn.domain.money import Pence
from outturn.domain.periods import FinancialYear
from outturn.domain.populations import Level, PracticeRecord, Weighting
from outturn.ingest.practice_amounts import read_practice_amounts
from outturn.services.populations import organisation_names, practice_records, practice_targets
from outturn.services.workspace import Workspace
from outturn.store import repository


class TargetBasis(StrEnum):
    SHARE = "share"  # the parent's actual total shared by weighted population
    ABSOLUTE = "absolute"  # the target allocation in the allocation file (2021/22 AIF file)


@dataclass(frozen=True)
class SpendSource:
    """Where actual spend comes from: a practice file, or the ledger (practices as ledger organisations)."""

    file: Path | None = None
    ledger_year: FinancialYear | None = None
    ledger_category: CostCategory | None = None


def _unknown(codes: Collection[str], known: Collection[str], what: str) -> list[str]:
    unknown = sorted(set(codes) - set(known))
    return [left_out_warning(unknown, f"{what} for a practice not among those budgeted")] if unknown else []


def spend_by_practice(workspace: Workspace, source: SpendSource, practices: Collection[str]) -> dict[str, Pence]:
    """Spend per practice from ``source``: the file's amounts, or the ledger's actuals summed over the year (for
    one cost category, or all) of each practice that has ledger lines."""
    if source.file is not None:
        return dict(read_practice_amounts(source.file).spend)
    if source.ledger_year is None:
        return {}
    with workspace.store.reading() as session:
        rows = repository.ledger_rows(session, practices, [source.ledger_year.start_year])
    spend: dict[str, Pence] = {}
    for row in rows:
        if source.ledger_category is not None and row["category"] != source.ledger_category.value:
            continue
        if row["actual_pence"] is not None:
            spend[row["org_code"]] = spend.get(row["org_code"], 0) + int(row["actual_pence"])
    return spend


@dataclass(frozen=True)
class IndicativeResult:
    budget_pence: Pence
    weighting: Weighting
    level: Level
    practices: tuple[PracticeBudget, ...]
    lines: tuple[BudgetLine, ...]
    names: Mapping[str, str]
    warnings: tuple[str, ...]


def _without_weight(left_out: Sequence[str], weighting: Weighting) -> list[str]:
    return [left_out_warning(left_out, f"no {weighting.value}: no budget")] if left_out else []


def indicative(
    workspace: Workspace,
    budget_pence: Pence,
    weighting: Weighting,
    level: Level,
    under: str | None = None,
    spend: SpendSource | None = None,
) -> IndicativeResult:
    """Indicative budgets for the practices at or under ``under``, summed to ``level``, with spend where given."""
    records = practice_records(workspace, under)
    budgets, left_out = indicative_budgets(records, budget_pence, weighting)
    budgeted = {budget.record.practice for budget in budgets}
    spent = spend_by_practice(workspace, spend or SpendSource(), budgeted)
    warnings = _without_weight(left_out, weighting) + _unknown(spent, budgeted, "spend")
    return IndicativeResult(
        budget_pence=budget_pence,
        weighting=weighting,
        level=level,
        practices=tuple(budgets),
        lines=tuple(budget_lines(budgets, spent, level)),
        names=organisation_names(workspace),
        warnings=tuple(warnings),
    )


# --- distance from target ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistanceResult:
    level: Level
    weighting: Weighting
    basis: TargetBasis
    actual_from: str
    lines: tuple[TargetLine, ...]
    names: Mapping[str, str]
    warnings: tuple[str, ...]


def _plan_allocations(workspace: Workspace, codes: Collection[str], year: FinancialYear) -> dict[str, Pence]:
    """Each organisation's recurrent allocation from its stored financial plan for ``year``."""
    with workspace.store.reading() as session:
        plans = repository.plans_for(session, codes, year)
    return {plan.org_code: plan.recurrent_allocation_pence for plan in plans}


def _absolute_targets(workspace: Workspace, include_remote: bool) -> dict[str, Pence]:
    targets = practice_targets(workspace)
    if not targets:
        raise BadInput(
            "absolute targets need an allocation file with target allocations (NHS England's 2021/22 AIF file, "
            "aif_tool_wp_data_2021_22_ccg.csv)",
            needs="allocation",
        )
    return {
        code: target.inc_remote_pence if include_remote else target.exc_remote_pence for code, target in targets.items()
    }


def distance(
    workspace: Workspace,
    level: Level,
    weighting: Weighting = Weighting.FINAL,
    *,
    basis: TargetBasis = TargetBasis.SHARE,
    actual: SpendSource | None = None,
    plans_year: FinancialYear | None = None,
    include_remote: bool = False,
    under: str | None = None,
) -> DistanceResult:
    """Distance from target for each practice, PCN, sub-ICB or ICB: actual from a practice file or the ledger
    (summed to ``level``), or, for sub-ICBs and ICBs, the recurrent allocation of their plans for ``plans_year``."""
    records: Sequence[PracticeRecord] = practice_records(workspace, under)
    has_actual = actual is not None and (actual.file is not None or actual.ledger_year is not None)
    if plans_year is not None and has_actual:
        raise BadInput("give one actual: a practice file, the ledger or the plans, not two")
    if plans_year is not None:
        codes = {code for record in records if (code := record.code_at(level)) is not None}
        actuals = _plan_allocations(workspace, codes, plans_year)
        actual_from = f"plans {plans_year.label} (recurrent allocation)"
    elif actual is not None and has_actual:
        practices = {record.practice for record in records}
        by_practice = spend_by_practice(workspace, actual, practices)
        actuals = sum_to_level(records, level, by_practice)
        actual_from = actual.file.name if actual.file is not None else f"ledger {actual.ledger_year}"
    else:
        raise BadInput("distance from target needs an actual: a practice file, the ledger or the plans", needs="actual")
    targets = _absolute_targets(workspace, include_remote) if basis is TargetBasis.ABSOLUTE else None
    lines, warnings = distance_from_target(records, level, weighting, actuals, targets)
    return DistanceResult(
        level, weighting, basis, actual_from, tuple(lines), organisation_names(workspace), tuple(warnings)
    )


# --- the incentive scheme ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncentiveResult:
    terms: IncentiveTerms
    budget_pence: Pence
    weighting: Weighting
    level: Level
    practices: tuple[tuple[PracticeRecord, PracticeIncentive], ...]
    totals: dict[str | None, dict[str, int]] = field(default_factory=dict)  # level code -> summed pence fields
    warnings: tuple[str, ...] = ()


SUMMED_FIELDS = tuple(f.name for f in fields(PracticeIncentive) if f.name.endswith("_pence"))
TOTAL_FIELDS = (*SUMMED_FIELDS, "retained_pence", "total_paid_pence")


def _totals(rows: Sequence[tuple[PracticeRecord, PracticeIncentive]], level: Level) -> dict[str | None, dict[str, int]]:
    totals: dict[str | None, dict[str, int]] = {}
    for record, payment in rows:
        bucket = totals.setdefault(record.code_at(level), dict.fromkeys(("practices", *TOTAL_FIELDS), 0))
        bucket["practices"] += 1
        for name in TOTAL_FIELDS:
            bucket[name] += getattr(payment, name)
    return dict(sorted(totals.items(), key=lambda item: (item[0] is None, item[0] or "")))


def incentive(
    workspace: Workspace,
    budget_pence: Pence,
    practices_file: Path,
    terms: IncentiveTerms,
    *,
    weighting: Weighting = Weighting.FINAL,
    pot_pence: Pence | None = None,
    level: Level = Level.PRACTICE,
    under: str | None = None,
) -> IncentiveResult:
    """The scheme for the practices at or under ``under``: indicative budgets by ``weighting``; spend, enhanced-service
    payments and sign-up from ``practices_file``; payments not in the file are ``pot_pence`` shared by ``weighting``."""
    records = practice_records(workspace, under)
    budgets, left_out = indicative_budgets(records, budget_pence, weighting)
    amounts = read_practice_amounts(practices_file)
    budgeted = {budget.record.practice: budget for budget in budgets}
    pot = _pot_shares(budgets, pot_pence) if pot_pence is not None else {}
    warnings = _without_weight(left_out, weighting) + _unknown(amounts.spend, budgeted, "spend")
    rows = []
    missing: list[str] = []
    for code, budget in budgeted.items():
        payments = amounts.enhanced_services.get(code, pot.get(code))
        if code not in amounts.spend or payments is None:
            missing.append(code)
            continue
        payment = practice_incentive(
            code,
            enhanced_services_pence=payments,
            signed_up=amounts.signed_up.get(code, True),
            indicative_budget_pence=budget.budget_pence,
            spend_pence=amounts.spend[code],
            terms=terms,
        )
        rows.append((budget.record, payment))
    if missing:
        warnings.append(left_out_warning(missing, "no spend, or no enhanced-service payments and no pot to share"))
    if not rows:
        raise BadInput("no practice has both spend and enhanced-service payments: nothing to calculate")
    return IncentiveResult(terms, budget_pence, weighting, level, tuple(rows), _totals(rows, level), tuple(warnings))


def _pot_shares(budgets: Sequence[PracticeBudget], pot_pence: Pence) -> dict[str, Pence]:
    """The enhanced-service pot shared between the budgeted practices by the same weighting as the budget."""
    shares = apportion(pot_pence, [budget.weight for budget in budgets])
    return {budget.record.practice: share for budget, share in zip(budgets, shares, strict=True)}
