"""Forecast history: the forecast as recorded at each month-end close, and how it moved from one close to the next.

Each close records, for every organisation with a plan and every cost category, the forecast outturn as the
position made it (overrides included), the effect of the overrides, the method used, and the forecast under every
method without overrides. The month's movement in the forecast outturn is then split three ways, exactly:

- **overrides**: the change in the overrides' effect (this month's less last month's);
- **method changes**: this month's forecast (without overrides) under this month's method, less this month's
  forecast under last month's method (nothing when the method is unchanged, or last month's is not recorded);
- **new actuals**: the rest, which is this month's forecast under last month's method less last month's forecast
  (both without overrides): what the month's ledger did to an unchanged forecast.

They sum to the movement by construction; a group's history is the sum of its members', split member by member.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from outturn.domain.ledger import CostCategory
from outturn.domain.money import Pence
from outturn.domain.periods import FinancialMonth
from outturn.domain.position import SurplusFigures, method_of


@dataclass(frozen=True)
class CategoryRecord:
    """One category's forecast at a close; ``by_method_pence`` is the forecast under each method, no overrides."""

    category: CostCategory
    method: str
    forecast_outturn_pence: Pence
    override_effect_pence: Pence
    ytd_actual_pence: Pence
    ytd_budget_pence: Pence
    annual_budget_pence: Pence
    by_method_pence: Mapping[str, Pence] = field(default_factory=dict)

    @property
    def without_overrides_pence(self) -> Pence:
        """The forecast under the method used, overrides left out."""
        return self.forecast_outturn_pence - self.override_effect_pence


@dataclass(frozen=True)
class MonthRecord(SurplusFigures):
    """An organisation's forecast at one month-end close."""

    org_code: str
    month: FinancialMonth
    resource_pence: Pence
    control_total_pence: Pence
    categories: tuple[CategoryRecord, ...]

    @property
    def forecast_outturn_pence(self) -> Pence:
        return sum(row.forecast_outturn_pence for row in self.categories)

    @property
    def override_effect_pence(self) -> Pence:
        return sum(row.override_effect_pence for row in self.categories)

    def category(self, category: CostCategory) -> CategoryRecord | None:
        return next((row for row in self.categories if row.category is category), None)


@dataclass(frozen=True)
class Movement:
    """The change in a forecast outturn between two closes, split three ways that sum to it."""

    new_actuals_pence: Pence = 0
    method_changes_pence: Pence = 0
    overrides_pence: Pence = 0

    @property
    def total_pence(self) -> Pence:
        return self.new_actuals_pence + self.method_changes_pence + self.overrides_pence

    def __add__(self, other: Movement) -> Movement:
        return Movement(
            self.new_actuals_pence + other.new_actuals_pence,
            self.method_changes_pence + other.method_changes_pence,
            self.overrides_pence + other.overrides_pence,
        )


def category_movement(before: CategoryRecord | None, after: CategoryRecord | None) -> Movement:
    """How one category's forecast moved from ``before`` to ``after`` (either may be missing: counted as nothing)."""
    forecast_before = before.forecast_outturn_pence if before else 0
    forecast_after = after.forecast_outturn_pence if after else 0
    overrides = (after.override_effect_pence if after else 0) - (before.override_effect_pence if before else 0)
    method_changes = 0
    if before is not None and after is not None and before.method != after.method:
        under_last_method = after.by_method_pence.get(before.method)
        if under_last_method is not None:
            method_changes = after.without_overrides_pence - under_last_method
    new_actuals = forecast_after - forecast_before - overrides - method_changes
    return Movement(new_actuals, method_changes, overrides)


def month_movement(before: MonthRecord, after: MonthRecord) -> dict[CostCategory, Movement]:
    """Each category's movement between two records of one organisation (every category either holds)."""
    held = {row.category for row in (*before.categories, *after.categories)}
    return {
        category: category_movement(before.category(category), after.category(category))
        for category in CostCategory
        if category in held
    }


def _combine_categories(rows: Sequence[CategoryRecord]) -> CategoryRecord:
    shared = set.intersection(*(set(row.by_method_pence) for row in rows))
    return CategoryRecord(
        category=rows[0].category,
        method=method_of(row.method for row in rows),
        forecast_outturn_pence=sum(row.forecast_outturn_pence for row in rows),
        override_effect_pence=sum(row.override_effect_pence for row in rows),
        ytd_actual_pence=sum(row.ytd_actual_pence for row in rows),
        ytd_budget_pence=sum(row.ytd_budget_pence for row in rows),
        annual_budget_pence=sum(row.annual_budget_pence for row in rows),
        by_method_pence={
            method: sum(row.by_method_pence[method] for row in rows)
            for method in rows[0].by_method_pence
            if method in shared
        },
    )


def combine(org_code: str, month: FinancialMonth, members: Sequence[MonthRecord]) -> MonthRecord:
    """A group's record: its members' records of the same month summed, category by category."""
    grouped: dict[CostCategory, list[CategoryRecord]] = {}
    for record in members:
        for row in record.categories:
            grouped.setdefault(row.category, []).append(row)
    return MonthRecord(
        org_code=org_code,
        month=month,
        resource_pence=sum(record.resource_pence for record in members),
        control_total_pence=sum(record.control_total_pence for record in members),
        categories=tuple(_combine_categories(grouped[category]) for category in CostCategory if category in grouped),
    )


@dataclass(frozen=True)
class HistoryMonth:
    """A month of an organisation's history: its record, and its movement since the month before (``since``),
    by category; no movement for the first month recorded."""

    record: MonthRecord
    since: FinancialMonth | None
    movement_by_category: Mapping[CostCategory, Movement]

    @property
    def movement(self) -> Movement | None:
        if self.since is None:
            return None
        return sum(self.movement_by_category.values(), Movement())


def history(org_code: str, records: Iterable[MonthRecord]) -> tuple[HistoryMonth, ...]:
    """``org_code``'s history from its members' records (one member: its own), month by month.

    A month's movement runs from the latest earlier month that every member recorded; the movement of a group
    is its members' movements summed, so a member's change of method is counted as a method change even where
    the group's category is ``mixed``."""
    by_month: dict[FinancialMonth, dict[str, MonthRecord]] = {}
    for record in records:
        by_month.setdefault(record.month, {})[record.org_code] = record
    months = sorted(by_month, key=lambda month: (month.year.start_year, month.number))
    found: list[HistoryMonth] = []
    for index, month in enumerate(months):
        members = by_month[month]
        earlier = next(
            (m for m in reversed(months[:index]) if m.year == month.year and set(by_month[m]) == set(members)), None
        )
        moved: dict[CostCategory, Movement] = {}
        if earlier is not None:
            for code, record in sorted(members.items()):
                for category, movement in month_movement(by_month[earlier][code], record).items():
                    moved[category] = moved.get(category, Movement()) + movement
        combined = combine(org_code, month, [members[code] for code in sorted(members)])
        found.append(HistoryMonth(combined, earlier, moved))
    return tuple(found)
