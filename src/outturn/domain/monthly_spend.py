"""Monthly spend against budget for the position's charts: each month's budget and actual to the month of the
position, the forecast for each month after it to M12, and both cumulated, per category (or per any other key a
ledger row holds, such as a cost centre) and for all of them together.

The forecast months share out what the forecast outturn leaves after the actual to date, evenly, each month's
share rounded once from the exact cumulative share by the domain's one rule (``div_round``), so the months after
the position add up to the forecast outturn less the actual to date to the penny, and the cumulative spend ends at
the forecast outturn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import accumulate, pairwise
from typing import Any

from outturn.domain.money import Pence, div_round

MONTHS = 12
ALL = "all"  # the key of the series for every category together


@dataclass(frozen=True)
class SpendMonth:
    month: int  # 1 = April
    budget_pence: Pence
    actual_pence: Pence | None  # None after the position's month
    forecast_pence: Pence | None  # None up to the position's month

    @property
    def spend_pence(self) -> Pence:
        """The actual, or after the position's month the forecast."""
        found = self.actual_pence if self.actual_pence is not None else self.forecast_pence
        return found or 0


@dataclass(frozen=True)
class SpendSeries:
    key: str  # a category (its value), a cost centre's code, or ``ALL``
    label: str
    as_at_month: int
    months: tuple[SpendMonth, ...]  # M01 to M12
    forecast_outturn_pence: Pence

    @property
    def cumulative_budget_pence(self) -> tuple[Pence, ...]:
        return tuple(accumulate(month.budget_pence for month in self.months))

    @property
    def cumulative_spend_pence(self) -> tuple[Pence, ...]:
        """The actual to date, then the forecast: its last month is the forecast outturn."""
        return tuple(accumulate(month.spend_pence for month in self.months))


def spread(remaining_pence: Pence, months: int) -> list[Pence]:
    """``remaining_pence`` shared evenly over ``months``: each the difference of the rounded cumulative shares, so
    they add up to it exactly (``spread(100, 3) == [33, 34, 33]``)."""
    if months <= 0:
        return []
    cumulative = [div_round(remaining_pence * count, months) for count in range(months + 1)]
    return [later - earlier for earlier, later in pairwise(cumulative)]


def spend_series(
    key: str,
    label: str,
    budgets: Mapping[int, Pence],
    actuals: Mapping[int, Pence],
    as_at_month: int,
    forecast_outturn_pence: Pence,
) -> SpendSeries:
    """One series from its budget and actual by month (1 = April; a month not given is nil)."""
    actual_to_date = sum(actuals.get(month, 0) for month in range(1, as_at_month + 1))
    forecast = spread(forecast_outturn_pence - actual_to_date, MONTHS - as_at_month)
    months = tuple(
        SpendMonth(
            month,
            budgets.get(month, 0),
            actuals.get(month, 0) if month <= as_at_month else None,
            None if month <= as_at_month else forecast[month - as_at_month - 1],
        )
        for month in range(1, MONTHS + 1)
    )
    return SpendSeries(key, label, as_at_month, months, forecast_outturn_pence)


def monthly_spend(
    rows: Iterable[Mapping[str, Any]],
    as_at_month: int,
    forecasts: Mapping[str, Pence],
    labels: Mapping[str, str],
    by: str = "category",
) -> tuple[SpendSeries, ...]:
    """The series for every key of ``forecasts`` (in its order), from one year's ledger rows (``month``, ``by``,
    ``budget_pence``, ``actual_pence``, which is None where not reported), then the series for all of them
    (``ALL``). ``by`` names the rows' field to group by: ``category`` today; a cost centre once the ledger holds
    them."""
    budgets: dict[str, dict[int, Pence]] = {key: {} for key in forecasts}
    actuals: dict[str, dict[int, Pence]] = {key: {} for key in forecasts}
    for row in rows:
        key, month = str(row[by]), int(row["month"])
        if key not in budgets:
            continue
        budgets[key][month] = budgets[key].get(month, 0) + row["budget_pence"]
        if row["actual_pence"] is not None:
            actuals[key][month] = actuals[key].get(month, 0) + row["actual_pence"]
    series = [
        spend_series(key, labels.get(key, key), budgets[key], actuals[key], as_at_month, forecasts[key])
        for key in forecasts
    ]
    every = spend_series(
        ALL,
        "All categories" if by == "category" else "All cost centres",
        _summed(budgets.values()),
        _summed(actuals.values()),
        as_at_month,
        sum(forecasts.values()),
    )
    return (every, *series)


def _summed(by_key: Iterable[Mapping[int, Pence]]) -> dict[int, Pence]:
    total: dict[int, Pence] = {}
    for months in by_key:
        for month, pence in months.items():
            total[month] = total.get(month, 0) + pence
    return total
