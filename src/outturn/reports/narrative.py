"""The board pack's narrative: plain-English sentences written from the month's figures by stated rules.

Display rounding (the only rounding here): amounts of £100k or more in £m to one decimal place, smaller ones in
£k (``domain.money.format_millions`` / ``format_thousands``: half away from zero); shares in per cent to one
decimal place, half up; activity in whole units. Every number in a sentence is one of the figures passed in, or
a difference of two of them, so a reader (or a test) can find each one in the pack's tables.

The rules:

- **Position**: the forecast surplus/(deficit) against the control total and the gap; with last month's position,
  the gap's movement and the category whose forecast spend moved most the same way ("mainly from ...").
- **Categories**: the two largest forecast overspends, and the largest underspend that offsets them.
- **Contracts**: the total forecast over-performance, the contract with the most, and its point of delivery with
  the most.
- **Savings**: delivered against plan to date, the forecast against the year's plan, the risk-adjusted forecast,
  RAG counts, the unidentified part of the target; with last month's close, the forecast's movement and the
  workstream that moved most.
- **Risk**: the likely, best and worst position from the register; the chance of meeting the control total with
  P10/P50/P90 from the simulation and the driver with the widest swing; the two largest risks by expected value.
- **Scenarios**: each scenario's in-year and full-year change and the gap it would leave.
- **Benchmarks**: practices above the benchmark, the activity and £ of moving them to it, funnel-plot outliers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from outturn.domain.money import Pence, format_millions, format_surplus, format_thousands
from outturn.domain.year_end import BEST, LIKELY, P10, P50, P90, SIMULATED_MEAN, WORST

MILLIONS_FROM_PENCE = 10_000_000  # £100k: smaller amounts are shown in £k


@dataclass(frozen=True)
class SavingsHeadline:
    plan_pence: Pence
    plan_to_date_pence: Pence
    delivered_pence: Pence
    forecast_pence: Pence
    risk_adjusted_pence: Pence
    target_pence: Pence
    unidentified_pence: Pence
    red: int
    amber: int
    green: int

    @property
    def delivered_share(self) -> Decimal | None:
        """Delivered to date over planned to date."""
        return None if self.plan_to_date_pence <= 0 else Decimal(self.delivered_pence) / self.plan_to_date_pence

    @property
    def shortfall_share(self) -> Decimal | None:
        """The year's forecast shortfall over the year's plan."""
        return None if self.plan_pence <= 0 else Decimal(self.plan_pence - self.forecast_pence) / self.plan_pence


@dataclass(frozen=True)
class RiskHeadline:
    trials: int
    p_meet_control_total: float
    p10_pence: Pence
    p50_pence: Pence
    p90_pence: Pence
    top_driver: str | None = None
    top_swing_pence: Pence = 0
    mean_pence: Pence | None = None  # the simulated expected (mean), reconciled to the likely on the risk page


# look-alike of domain/forecast.py's figure records (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class Headline:
    """The figures on the pack's front page."""

    org_code: str
    org_name: str
    financial_year: str
    month: str  # M08
    as_at: str  # 2025-11
    period: str  # November 2025
    control_total_pence: Pence
    forecast_outturn_pence: Pence
    forecast_surplus_pence: Pence
    gap_pence: Pence
    likely_surplus_pence: Pence
    best_surplus_pence: Pence
    worst_surplus_pence: Pence
    previous_month: str | None = None
    previous_gap_pence: Pence | None = None
    savings: SavingsHeadline | None = None
    risk: RiskHeadline | None = None

    @property
    def gap_change_pence(self) -> Pence | None:
        """This month's gap less last month's: positive, the gap has grown."""
        return None if self.previous_gap_pence is None else self.gap_pence - self.previous_gap_pence


@dataclass(frozen=True)
class CategoryMovement:
    label: str
    forecast_variance_pence: Pence  # budget less forecast: negative is an overspend
    outturn_change_pence: Pence | None = None  # this month's forecast outturn less last month's


@dataclass(frozen=True)
class ContractsSummary:
    contracts: int
    over_performance_pence: Pence
    top_provider: str
    top_provider_name: str
    top_commissioner: str
    top_over_performance_pence: Pence
    top_line_label: str | None = None
    top_line_over_performance_pence: Pence = 0


# look-alike of ContractsSummary above: declarative, a figure record's fields.
@dataclass(frozen=True)
class SavingsMovement:
    forecast_change_pence: Pence
    delivered_change_pence: Pence
    top_workstream: str | None = None
    top_workstream_change_pence: Pence = 0


@dataclass(frozen=True)
class RegisterLine:
    description: str
    value_pence: Pence
    expected_pence: Pence


@dataclass(frozen=True)
class ScenarioLine:
    name: str
    change_pence: Pence  # in-year change in forecast outturn (negative: a saving)
    full_year_pence: Pence
    gap_after_pence: Pence


@dataclass(frozen=True)
class BenchmarkLine:
    unit: str
    benchmark: str  # "median", ...
    practices: int
    above: int
    opportunity_activity: float
    opportunity_pence: Pence | None
    funnel_high: int | None = None


@dataclass(frozen=True)
class NarrativeFigures:
    headline: Headline
    categories: tuple[CategoryMovement, ...] = ()
    contracts: ContractsSummary | None = None
    savings_movement: SavingsMovement | None = None
    top_risks: tuple[RegisterLine, ...] = ()
    scenarios: tuple[ScenarioLine, ...] = ()
    benchmark: BenchmarkLine | None = None


# --- display rounding ----------------------------------------------------------------------------------------


def amount(pence: Pence) -> str:
    """``£24.0m`` for £100k or more, else ``£45k``; the sign is left to the words around it."""
    size = abs(pence)
    return format_millions(size) if size >= MILLIONS_FROM_PENCE else format_thousands(size)


def percent(share: Decimal | float, places: int = 1) -> str:
    """A share as per cent, half up: ``0.4537`` is ``45.4%``."""
    value = (Decimal(repr(share)) if isinstance(share, float) else share) * 100
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)}%"


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:]


def _surplus(pence: Pence) -> str:
    """``a £24.0m deficit``, ``a £6.6m surplus`` or ``break-even``."""
    return "break-even" if pence == 0 else f"a {format_surplus(pence)}"


def _and(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


# --- sentences -----------------------------------------------------------------------------------------------


def _movement_driver(figures: NarrativeFigures, change: Pence) -> str:
    """The category whose forecast spend moved most in the direction the gap moved."""
    moved = [c for c in figures.categories if c.outturn_change_pence and (c.outturn_change_pence > 0) == (change > 0)]
    if not moved:
        return ""
    top = max(moved, key=lambda c: abs(c.outturn_change_pence or 0))
    direction = "up" if change > 0 else "down"
    return f", mainly from {_lower(top.label)} (forecast spend {direction} {amount(top.outturn_change_pence or 0)})"


def position_sentence(figures: NarrativeFigures) -> str:
    head = figures.headline
    control = format_surplus(head.control_total_pence)
    text = f"The forecast outturn is {_surplus(head.forecast_surplus_pence)} against a control total of {control}"
    gap = head.gap_pence
    if gap > 0:
        text += f": a gap of {amount(gap)}"
    elif gap < 0:
        text += f": {amount(gap)} better than the control total"
    else:
        text += ": exactly on the control total"
    change = head.gap_change_pence
    if change is not None:
        since = f"since last month ({head.previous_month})"
        if amount(change) in ("£0k", "£0.0m"):
            text += f", unchanged {since}"
        elif gap >= 0:
            text += f", {'up' if change > 0 else 'down'} {amount(change)} {since}"
        else:
            text += f", {amount(change)} {'worse' if change > 0 else 'better'} than last month ({head.previous_month})"
        if amount(change) not in ("£0k", "£0.0m"):
            text += _movement_driver(figures, change)
    return text + "."


def categories_sentence(figures: NarrativeFigures) -> str | None:
    over = sorted(
        (c for c in figures.categories if c.forecast_variance_pence < 0), key=lambda c: c.forecast_variance_pence
    )
    under = sorted(
        (c for c in figures.categories if c.forecast_variance_pence > 0), key=lambda c: -c.forecast_variance_pence
    )
    if not figures.categories:
        return None
    if not over:
        return "Every category is forecast to spend within its budget."
    # Amounts in words, never in brackets: in a table "(£1.2m)" is an adverse variance (money.VARIANCE_CONVENTION).
    named = [f"{amount(c.forecast_variance_pence)} in {_lower(c.label)}" for c in over[:2]]
    noun = "overspend is" if len(named) == 1 else "overspends are"
    text = f"The largest forecast {noun} {_and(named)}"
    if under:
        offset = under[0]
        text += (
            f", offset in part by an underspend of {amount(offset.forecast_variance_pence)} in {_lower(offset.label)}"
        )
    return text + "."


def contracts_sentence(figures: NarrativeFigures) -> str | None:
    summary = figures.contracts
    if summary is None:
        return None
    total = summary.over_performance_pence
    way = "over-perform" if total >= 0 else "under-perform"
    count = summary.contracts
    contracts = f"The {count} provider contracts are" if count != 1 else "The provider contract is"
    text = (
        f"{contracts} forecast to {way} by {amount(total)} against plan; "
        f"the most, {amount(summary.top_over_performance_pence)}, is at {summary.top_provider_name} "
        f"({summary.top_provider}) for {summary.top_commissioner}"
    )
    if summary.top_line_label:
        text += f", mainly {amount(summary.top_line_over_performance_pence)} of {summary.top_line_label}"
    return text + "."


def savings_sentences(figures: NarrativeFigures) -> list[str]:
    savings = figures.headline.savings
    if savings is None or savings.plan_pence == 0:
        return []
    delivered = (
        f"Savings of {amount(savings.delivered_pence)} have been delivered against "
        f"{amount(savings.plan_to_date_pence)} planned to date"
    )
    if savings.delivered_share is not None:
        delivered += f" ({percent(savings.delivered_share)})"
    outlook = f"the year's forecast is {amount(savings.forecast_pence)} against a plan of {amount(savings.plan_pence)}"
    if savings.shortfall_share is not None and savings.shortfall_share > 0:
        outlook += f" ({percent(savings.shortfall_share)} short)"
    sentences = [f"{delivered}; {outlook}, and {amount(savings.risk_adjusted_pence)} risk-adjusted."]
    rag = f"Of the schemes, {savings.red} are rated red, {savings.amber} amber and {savings.green} green"
    if savings.unidentified_pence > 0:
        rag += (
            f"; {amount(savings.unidentified_pence)} of the {amount(savings.target_pence)} target is not yet identified"
        )
    sentences.append(rag + ".")
    movement = figures.savings_movement
    if movement is not None:
        change = movement.forecast_change_pence
        moved = (
            "unchanged" if amount(change) in ("£0k", "£0.0m") else f"{'up' if change > 0 else 'down'} {amount(change)}"
        )
        text = f"Since last month's close the savings forecast is {moved}"
        if movement.top_workstream and movement.top_workstream_change_pence:
            text += f", most in {_lower(movement.top_workstream)} ({amount(movement.top_workstream_change_pence)})"
        text += f", and {amount(movement.delivered_change_pence)} more has been delivered"
        sentences.append(text + ".")
    return sentences


def risk_sentences(figures: NarrativeFigures) -> list[str]:
    head = figures.headline
    sentences = []
    # a register or a savings shortfall to speak of
    if head.best_surplus_pence != head.worst_surplus_pence or head.likely_surplus_pence != head.forecast_surplus_pence:
        sentences.append(
            f"Allowing for the savings still to come at their risk-adjusted forecast and the risks and mitigations "
            f"at their likelihood, the {LIKELY.lower()} is {_surplus(head.likely_surplus_pence)} "
            f"({BEST.lower()} {format_surplus(head.best_surplus_pence)}, {WORST.lower()} "
            f"{format_surplus(head.worst_surplus_pence)})."
        )
    risk = head.risk
    if risk is not None:
        text = (
            f"The chance of meeting the control total is {percent(risk.p_meet_control_total)} in {risk.trials:,} "
            f"simulated years ({P10} {format_surplus(risk.p10_pence)}, {P50} {format_surplus(risk.p50_pence)}, {P90} "
            f"{format_surplus(risk.p90_pence)})"
        )
        if risk.mean_pence is not None:
            text += f"; the {SIMULATED_MEAN.lower()} is {_surplus(risk.mean_pence)}"
        if risk.top_driver:
            swing = amount(risk.top_swing_pence)
            text += f"; the widest swing is from {_lower(risk.top_driver)} ({swing} between its P10 and P90)"
        sentences.append(text + ".")
    if figures.top_risks:
        named = [
            f"{line.description.rstrip('.')} ({amount(line.value_pence)}, expected {amount(line.expected_pence)})"
            for line in figures.top_risks[:2]
        ]
        noun = "risk is" if len(named) == 1 else "risks are"
        sentences.append(f"The largest {noun} {_and(named)}.")
    return sentences


def scenario_sentences(figures: NarrativeFigures) -> list[str]:
    sentences = []
    for line in figures.scenarios:
        if line.change_pence <= 0:
            effect = f"cut this year's forecast spend by {amount(line.change_pence)}"
        else:
            effect = f"add {amount(line.change_pence)} to this year's forecast spend"
        gap = line.gap_after_pence
        if gap > 0:
            leaves = f"a gap of {amount(gap)}"
        else:
            leaves = "no gap" if gap == 0 else f"{amount(gap)} better than the control total"
        sentences.append(
            f"The scenario \u201c{line.name}\u201d would {effect} ({amount(line.full_year_pence)} in a full year), "
            f"leaving {leaves}."
        )
    return sentences


def benchmark_sentence(figures: NarrativeFigures) -> str | None:
    line = figures.benchmark
    if line is None:
        return None
    text = (
        f"{line.above} of {line.practices} practices are above the {line.benchmark} rate of {line.unit} per 1,000 "
        f"weighted population; bringing them to it would mean {line.opportunity_activity:,.0f} fewer so far this year"
    )
    if line.opportunity_pence is not None:
        text += f", worth {amount(line.opportunity_pence)}"
    if line.funnel_high is not None:
        verb = "lies" if line.funnel_high == 1 else "lie"
        text += f", and {line.funnel_high} {verb} above the funnel plot's 99.8% limit"
    return text + "."


def write_narrative(figures: NarrativeFigures) -> tuple[str, ...]:
    """The narrative, one sentence per item, in the order of the pack's sections."""
    sentences: list[str | None] = [
        position_sentence(figures),
        categories_sentence(figures),
        contracts_sentence(figures),
        *savings_sentences(figures),
        *risk_sentences(figures),
        *scenario_sentences(figures),
        benchmark_sentence(figures),
    ]
    return tuple(sentence for sentence in sentences if sentence)
