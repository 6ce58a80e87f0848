"""Practice budgets: weighted-capitation shares of a commissioning budget, spend against them, distance from
target allocation, and the incentive scheme of practice-based commissioning. All money is integer pence.

**Sharing to the penny.** ``apportion`` splits an amount in proportion to weights by the largest-remainder
(Hamilton) method: every share is first rounded down to the penny, then the pennies left over go one each to the
shares that lost most in rounding (ties to the earlier share). The shares always add up to the amount, and each is
within a penny of its exact value. Weights (weighted populations, held as floats) are taken at their exact
binary value, so the result does not depend on how a float prints.

**Indicative budgets.** A practice's budget is the commissioning budget × its weighted population (an allocation
component, ASTRO-PU or list size) ÷ the total over the practices sharing the budget, apportioned to the penny.
A PCN's, sub-ICB's or ICB's is the sum of its practices'. Variance is budget − spend (positive: underspent).

**Distance from target.** ``distance = (actual − target) ÷ target``: positive above target, negative below.
With a ``share`` basis the target is the parent's actual total shared by weighted population (``apportion``), so
the distances of a parent's members add up to zero in pence; with an ``absolute`` basis it is the target
allocation the allocation file gives (NHS England's 2021/22 AIF file), summed over the practices.

**Incentive scheme.** A set-aside share of each practice's enhanced-service payments is held back. A practice
that signs up to a plan is paid the aspiration share of its set-aside up front; the rest of its set-aside (its
achievement pot) is paid in proportion to the savings it achieves against its indicative budget, as a fraction
of its savings target (a share of the budget), capped at the pot. What is not earned is retained by the
commissioner. For every practice: enhanced-service payments = paid as usual + aspiration + achievement + retained.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from outturn.domain.errors import BadInput
from outturn.domain.money import Pence, div_round, scale
from outturn.domain.populations import Level, PracticeRecord, Weighting


def apportion(total_pence: Pence, weights: Sequence[float | Fraction | int]) -> list[Pence]:
    """``total_pence`` split in proportion to ``weights`` (zero or more, not all zero) by largest remainder."""
    exact_weights = [Fraction(weight) for weight in weights]
    if any(weight < 0 for weight in exact_weights):
        raise BadInput("weights must be zero or more")
    whole = sum(exact_weights, Fraction(0))
    if whole == 0:
        raise BadInput("cannot share an amount by weights that add up to zero")
    exact = [total_pence * weight / whole for weight in exact_weights]
    shares = [math.floor(value) for value in exact]
    left_over = total_pence - sum(shares)
    by_loss = sorted(range(len(exact)), key=lambda index: (shares[index] - exact[index], index))
    for index in by_loss[:left_over]:
        shares[index] += 1
    return shares


def left_out_warning(codes: Sequence[str], reason: str, shown: int = 10) -> str:
    """``3 left out (no actual): A, B, C`` naming at most ``shown`` of them."""
    names = ", ".join(codes[:shown]) + (f" and {len(codes) - shown} more" if len(codes) > shown else "")
    return f"{len(codes)} left out ({reason}): {names}"


def percent(part: int, whole: int) -> float | None:
    """``part`` as a percentage of ``whole`` to one decimal place (half away from zero); ``None`` for zero."""
    if whole == 0:
        return None
    return div_round(part * 1000, whole) / 10


# --- indicative budgets and spend against them -------------------------------------------------------------------


@dataclass(frozen=True)
class PracticeBudget:
    record: PracticeRecord
    weight: float
    budget_pence: Pence


def indicative_budgets(
    records: Iterable[PracticeRecord], budget_pence: Pence, weighting: Weighting
) -> tuple[list[PracticeBudget], list[str]]:
    """Each practice's share of ``budget_pence`` by ``weighting``, and the practices left out for want of one."""
    if budget_pence < 0:
        raise BadInput("a commissioning budget cannot be negative")
    chosen = sorted(records, key=lambda record: record.practice)
    weighted = [(record, record.weight(weighting)) for record in chosen]
    left_out = [record.practice for record, weight in weighted if weight is None]
    kept = [(record, weight) for record, weight in weighted if weight is not None]
    if not kept:
        raise BadInput(f"no practice has a {weighting.value} weighting to share the budget by")
    shares = apportion(budget_pence, [weight for _record, weight in kept])
    budgets = [PracticeBudget(record, weight, share) for (record, weight), share in zip(kept, shares, strict=True)]
    return budgets, left_out


@dataclass(frozen=True)
class BudgetLine:
    """Budget and spend for a practice, PCN, sub-ICB or ICB. ``spend_pence`` is ``None`` unless every practice in
    it has a spend; ``variance_pence`` is budget − spend (positive: underspent)."""

    level: Level
    code: str | None
    practices: int
    weight: float
    budget_pence: Pence
    practices_with_spend: int
    spend_pence: Pence | None

    @property
    def variance_pence(self) -> Pence | None:
        return None if self.spend_pence is None else self.budget_pence - self.spend_pence

    @property
    def variance_pct(self) -> float | None:
        variance = self.variance_pence
        return None if variance is None else percent(variance, self.budget_pence)


def budget_lines(budgets: Sequence[PracticeBudget], spend: Mapping[str, Pence], level: Level) -> list[BudgetLine]:
    """Budgets (and spend, where given) summed to ``level``, ordered by code."""
    groups: dict[str | None, list[PracticeBudget]] = {}
    for budget in budgets:
        groups.setdefault(budget.record.code_at(level), []).append(budget)
    lines = []
    for code in sorted(groups, key=lambda key: (key is None, key or "")):
        members = groups[code]
        spent = [spend[member.record.practice] for member in members if member.record.practice in spend]
        lines.append(
            BudgetLine(
                level=level,
                code=code,
                practices=len(members),
                weight=math.fsum(member.weight for member in members),
                budget_pence=sum(member.budget_pence for member in members),
                practices_with_spend=len(spent),
                spend_pence=sum(spent) if len(spent) == len(members) else None,
            )
        )
    return lines


def sum_to_level(records: Iterable[PracticeRecord], level: Level, values: Mapping[str, Pence]) -> dict[str, Pence]:
    """Practice amounts summed to ``level``: only organisations where every practice has an amount."""
    totals: dict[str, Pence] = {}
    incomplete: set[str] = set()
    for record in records:
        code = record.code_at(level)
        if code is None:
            continue
        if record.practice in values:
            totals[code] = totals.get(code, 0) + values[record.practice]
        else:
            incomplete.add(code)
    return {code: total for code, total in totals.items() if code not in incomplete}


# --- distance from target ----------------------------------------------------------------------------------------


# look-alike of domain/backtest.py:BacktestRow (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class TargetLine:
    level: Level
    code: str
    parent: str | None
    weight: float | None
    actual_pence: Pence
    target_pence: Pence

    @property
    def distance_pence(self) -> Pence:
        return self.actual_pence - self.target_pence

    @property
    def distance_pct(self) -> float | None:
        return percent(self.distance_pence, self.target_pence)


def _parent_level(level: Level) -> Level | None:
    return {Level.PRACTICE: Level.SUB_ICB, Level.PCN: Level.SUB_ICB, Level.SUB_ICB: Level.ICB}.get(level)


def _parent_of(record: PracticeRecord, level: Level) -> str | None:
    parent_level = _parent_level(level)
    if parent_level is None:
        return None
    return record.code_at(parent_level) or (record.icb if parent_level is Level.SUB_ICB else None)


@dataclass(frozen=True)
class _Entity:
    code: str
    parent: str | None
    weight: float | None
    practices: tuple[str, ...]


def _entities(records: Iterable[PracticeRecord], level: Level, weighting: Weighting) -> list[_Entity]:
    """Organisations at ``level`` with their weight and parent: the parent holding most of their weight (a PCN
    that crosses a sub-ICB boundary belongs to one of them; ties go to the first code)."""
    groups: dict[str, list[PracticeRecord]] = {}
    for record in records:
        code = record.code_at(level)
        if code is not None:
            groups.setdefault(code, []).append(record)
    entities = []
    for code, members in sorted(groups.items()):
        weights = [member.weight(weighting) for member in members]
        by_parent: dict[str | None, float] = {}
        for member, weight in zip(members, weights, strict=True):
            parent = _parent_of(member, level)
            by_parent[parent] = by_parent.get(parent, 0.0) + (weight or 0.0)
        parent = min(by_parent, key=lambda key: (-by_parent[key], key or ""))
        total = None if None in weights else math.fsum(weight or 0.0 for weight in weights)
        entities.append(_Entity(code, parent, total, tuple(member.practice for member in members)))
    return entities


def distance_from_target(
    records: Sequence[PracticeRecord],
    level: Level,
    weighting: Weighting,
    actual_pence: Mapping[str, Pence],
    absolute_targets: Mapping[str, Pence] | None = None,
) -> tuple[list[TargetLine], list[str]]:
    """Actual against target for each organisation at ``level`` that has an actual (keyed by its code).

    Without ``absolute_targets`` the target is a share of the parent's actual total (over its members with an
    actual) in proportion to ``weighting``; with them (pence per practice) it is their sum. Returns the lines
    (ordered by parent, then code) and warnings naming what was left out and why."""
    left_out: dict[str, list[str]] = {}
    pools: dict[str | None, list[_Entity]] = {}
    for entity in _entities(records, level, weighting):
        if entity.code not in actual_pence:
            left_out.setdefault("no actual", []).append(entity.code)
        elif absolute_targets is None and not entity.weight:
            left_out.setdefault(f"no {weighting.value} weighted population", []).append(entity.code)
        elif absolute_targets is not None and any(code not in absolute_targets for code in entity.practices):
            left_out.setdefault("a practice without a target allocation", []).append(entity.code)
        else:
            pools.setdefault(entity.parent, []).append(entity)
    warnings = [left_out_warning(codes, reason) for reason, codes in left_out.items()]
    lines: list[TargetLine] = []
    for parent in sorted(pools, key=lambda key: (key is None, key or "")):
        members = pools[parent]
        actuals = [actual_pence[entity.code] for entity in members]
        if absolute_targets is not None:
            targets = [sum(absolute_targets[code] for code in entity.practices) for entity in members]
        else:
            targets = apportion(sum(actuals), [entity.weight or 0.0 for entity in members])
        lines.extend(
            TargetLine(level, entity.code, parent, entity.weight, actual, target)
            for entity, actual, target in zip(members, actuals, targets, strict=True)
        )
    return lines, warnings


# --- the incentive scheme ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncentiveTerms:
    """``set_aside_share`` of enhanced-service payments is held back; ``aspiration_share`` of the set-aside is paid
    on signing up; the rest is paid for savings against the indicative budget, in proportion to the savings target
    (``savings_target_share`` of the budget) achieved, capped at 100%."""

    set_aside_share: Decimal = Decimal("0.25")
    aspiration_share: Decimal = Decimal("0.5")
    savings_target_share: Decimal = Decimal("0.02")

    def __post_init__(self) -> None:
        for name in ("set_aside_share", "aspiration_share", "savings_target_share"):
            if not Decimal(0) <= getattr(self, name) <= Decimal(1):
                raise BadInput(f"{name.replace('_', ' ')} must be between 0% and 100%")


@dataclass(frozen=True)
class PracticeIncentive:
    practice: str
    signed_up: bool
    enhanced_services_pence: Pence
    set_aside_pence: Pence
    paid_as_usual_pence: Pence
    aspiration_pence: Pence
    achievement_pot_pence: Pence
    indicative_budget_pence: Pence
    spend_pence: Pence
    savings_pence: Pence
    savings_target_pence: Pence
    achievement_pence: Pence

    @property
    def retained_pence(self) -> Pence:
        """The set-aside not earned back: the commissioner keeps it (it funds the commissioning group)."""
        return self.set_aside_pence - self.aspiration_pence - self.achievement_pence

    @property
    def total_paid_pence(self) -> Pence:
        return self.paid_as_usual_pence + self.aspiration_pence + self.achievement_pence


def _achievement(pot: Pence, savings: Pence, target: Pence) -> Pence:
    """The pot × savings ÷ target, capped at the pot; with no savings target, any saving earns the whole pot."""
    if target <= 0:
        return pot if savings > 0 else 0
    return min(pot, div_round(pot * savings, target))


def practice_incentive(
    practice: str,
    *,
    enhanced_services_pence: Pence,
    signed_up: bool,
    indicative_budget_pence: Pence,
    spend_pence: Pence,
    terms: IncentiveTerms,
) -> PracticeIncentive:
    """One practice's payments under ``terms`` (each share rounded to the penny, half away from zero)."""
    if enhanced_services_pence < 0 or indicative_budget_pence < 0:
        raise BadInput(f"{practice}: enhanced-service payments and budgets cannot be negative")
    set_aside = scale(enhanced_services_pence, terms.set_aside_share)
    aspiration = scale(set_aside, terms.aspiration_share) if signed_up else 0
    pot = set_aside - aspiration if signed_up else 0
    savings = max(0, indicative_budget_pence - spend_pence)
    target = scale(indicative_budget_pence, terms.savings_target_share)
    achievement = _achievement(pot, savings, target)
    return PracticeIncentive(
        practice=practice,
        signed_up=signed_up,
        enhanced_services_pence=enhanced_services_pence,
        set_aside_pence=set_aside,
        paid_as_usual_pence=enhanced_services_pence - set_aside,
        aspiration_pence=aspiration,
        achievement_pot_pence=pot,
        indicative_budget_pence=indicative_budget_pence,
        spend_pence=spend_pence,
        savings_pence=savings,
        savings_target_pence=target,
        achievement_pence=achievement,
    )
