"""Back-testing the forecast methods against past outturns, and the ``auto`` rule that chooses between them.

For each past year held with a complete year of actuals and each month M01 to M11, every method forecasts that
year's year-end from what was known at that month (the year's ledger to the month, the year before in full for
seasonal profiles); the forecast is compared with the year's actual outturn. The error is forecast less actual:
positive means the method over-forecast spend. Its percentage is of the actual outturn's size, so a bias above
zero is a method that runs high. Percentages are exact fractions; only reports round them.

``auto`` takes, per category, the method with the smallest mean absolute percentage error (MAPE) at the as-at
month's number, averaged over the past years held; a tie goes to the earlier method in ``AUTO_ORDER``. A category
with no scored past year (no complete past year held, or an actual outturn of zero) is forecast by
``AUTO_FALLBACK``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from outturn.domain.forecast import EXTRAPOLATIONS, ForecastMethod, LineForecast
from outturn.domain.ledger import CategoryLineKey, CostCategory
from outturn.domain.money import Pence
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialMonth, FinancialYear

AUTO = "auto"
AUTO_IN_WORDS = "each line's best back-tested method"  # what a reader sees where the method is ``auto``
AUTO_FALLBACK = ForecastMethod.BUDGET_PHASED
AUTO_ORDER: tuple[ForecastMethod, ...] = (AUTO_FALLBACK, *(item for item in EXTRAPOLATIONS if item != AUTO_FALLBACK))
BACKTEST_MONTHS = tuple(range(1, MONTHS_IN_YEAR))  # M01..M11: at M12 the year's actuals are the outturn
TOTAL = "total"


def method_in_words(method: str) -> str:
    """A forecast method as a page or a document shows it to a reader: ``auto`` in words, any other by its name
    (the JSON keeps the name)."""
    return AUTO_IN_WORDS if method == AUTO else method


@dataclass(frozen=True)
class BacktestRow:
    """One method's forecast of one year's outturn (a category's, or the ``total``) as at one month."""

    category: str  # a CostCategory value, or TOTAL
    method: str
    year: FinancialYear
    month: int
    forecast_pence: Pence
    actual_pence: Pence

    @property
    def error_pence(self) -> Pence:
        """Forecast less actual: positive is a forecast above the outturn."""
        return self.forecast_pence - self.actual_pence

    @property
    def error_percent(self) -> Fraction | None:
        """The error as a percentage of the actual outturn's size; None where the outturn was zero."""
        if self.actual_pence == 0:
            return None
        return Fraction(100 * self.error_pence, abs(self.actual_pence))


@dataclass(frozen=True)
class ErrorSummary:
    """A method's errors for a category (or the total) over the years held: at one month, or over M01-M11."""

    category: str
    method: str
    month: int | None  # None: every month M01..M11
    observations: int  # forecasts with a percentage error (an outturn of zero has none)
    mape_percent: Fraction | None  # mean absolute percentage error
    bias_percent: Fraction | None  # mean signed percentage error (forecast less actual)


@dataclass(frozen=True)
class Backtest:
    org_code: str
    as_at: FinancialMonth
    years: tuple[FinancialYear, ...]
    methods: tuple[str, ...]
    rows: tuple[BacktestRow, ...]
    summary: tuple[ErrorSummary, ...]  # per category (and total) and method, over every month
    by_month: tuple[ErrorSummary, ...]  # per category (and total), method and month
    # auto's choice for each organisation holding a ledger and category (empty: the pooled back-test's choice)
    auto_choices: tuple[AutoChoice, ...] = ()


@dataclass(frozen=True)
class AutoChoice:
    """The method ``auto`` chose for a category, and on what evidence."""

    category: CostCategory
    method: ForecastMethod
    month: int  # the back-test month compared
    years: tuple[FinancialYear, ...]
    mape_percent: Fraction | None  # None: no past year scored, so the fallback
    org_code: str = ""  # the organisation whose back-test chose it (its lines only)

    @property
    def reason(self) -> str:
        if self.mape_percent is None:
            return f"no past outturn to test against; {self.method.value} by default"
        years = ", ".join(year.label for year in self.years)
        return f"smallest mean absolute error at M{self.month:02d} over {years}"


def score_month(
    year: FinancialYear,
    month: int,
    method: str,
    forecasts: Iterable[LineForecast],
    outturn_by_line: Mapping[CategoryLineKey, Pence],
) -> tuple[BacktestRow, ...]:
    """Lines' forecasts summed by category, and in total, against the same lines' actual outturns."""
    forecast_by: dict[CostCategory, Pence] = {}
    actual_by: dict[CostCategory, Pence] = {}
    for line in forecasts:
        figures = line.figures
        category = figures.category
        forecast_by[category] = forecast_by.get(category, 0) + line.forecast_outturn_pence
        actual = outturn_by_line.get((figures.org_code, category, figures.subcategory), 0)
        actual_by[category] = actual_by.get(category, 0) + actual
    rows = [
        BacktestRow(category.value, method, year, month, forecast_by[category], actual_by[category])
        for category in CostCategory
        if category in forecast_by
    ]
    if rows:
        total_forecast, total_actual = sum(forecast_by.values()), sum(actual_by.values())
        rows.append(BacktestRow(TOTAL, method, year, month, total_forecast, total_actual))
    return tuple(rows)


def _summary(category: str, method: str, month: int | None, rows: Sequence[BacktestRow]) -> ErrorSummary:
    errors = [percent for row in rows if (percent := row.error_percent) is not None]
    if not errors:
        return ErrorSummary(category, method, month, 0, None, None)
    count = len(errors)
    return ErrorSummary(
        category,
        method,
        month,
        count,
        sum((abs(e) for e in errors), Fraction(0)) / count,
        sum(errors, Fraction(0)) / count,
    )


def summarise(rows: Sequence[BacktestRow], *, by_month: bool) -> tuple[ErrorSummary, ...]:
    """MAPE and bias per category (the total last) and method, over every month or month by month."""
    groups: dict[tuple[str, str, int | None], list[BacktestRow]] = {}
    for row in rows:
        groups.setdefault((row.category, row.method, row.month if by_month else None), []).append(row)
    return tuple(_summary(category, method, month, group) for (category, method, month), group in groups.items())


def build_backtest(
    org_code: str, as_at: FinancialMonth, years: Sequence[FinancialYear], rows: Sequence[BacktestRow]
) -> Backtest:
    order = {category.value: index for index, category in enumerate(CostCategory)}
    methods = tuple(item.value for item in EXTRAPOLATIONS)

    def key(row: BacktestRow) -> tuple[int, int, int, int]:
        return (order.get(row.category, len(order)), methods.index(row.method), row.year.start_year, row.month)

    ordered = tuple(sorted(rows, key=key))
    return Backtest(
        org_code=org_code,
        as_at=as_at,
        years=tuple(sorted(years)),
        methods=methods,
        rows=ordered,
        summary=summarise(ordered, by_month=False),
        by_month=summarise(ordered, by_month=True),
    )


def backtest_month(as_at: FinancialMonth) -> int:
    """The back-test month ``auto`` compares at: the as-at month's number (M12, where every method gives the
    year's actuals, compares at M11)."""
    return min(as_at.number, BACKTEST_MONTHS[-1])


def choose_methods(backtest: Backtest, categories: Iterable[CostCategory]) -> tuple[AutoChoice, ...]:
    """Per category: the method with the smallest back-test MAPE at the as-at month over the years held (ties to
    the earlier in ``AUTO_ORDER``), else ``AUTO_FALLBACK``."""
    month = backtest_month(backtest.as_at)
    scored = {
        (item.category, item.method): item.mape_percent
        for item in backtest.by_month
        if item.month == month and item.mape_percent is not None
    }
    choices = []
    for category in categories:
        candidates = [
            (mape, rank, method)
            for rank, method in enumerate(AUTO_ORDER)
            if (mape := scored.get((category.value, method.value))) is not None
        ]
        if candidates:
            mape, _rank, method = min(candidates)
            choices.append(AutoChoice(category, method, month, backtest.years, mape))
        else:
            choices.append(AutoChoice(category, AUTO_FALLBACK, month, backtest.years, None))
    return tuple(choices)
