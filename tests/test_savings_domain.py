"""Savings schemes (QIPP) as pure domain records: scheme arithmetic, the RAG rules, roll-ups and movements.

Every expected figure comes from outside the code under test: worked by hand in the comments, computed by a
plain-Python reference written here (``plain_figures``, ``plain_rag``, plain grouping by a parent map built
alongside the tree), or taken from public reporting on 2011/12 QIPP delivery by PCT cluster (Sussex forecast
£72.82m against a £111.78m plan; Oxfordshire £5.4m short, 26%; Buckinghamshire £6.3m short, 24%; a £335m
four-year programme split £129m and £206m; "at least 80% (circa £9m)"; £879k not yet identified). The
organisation codes and the way plans are split into schemes and months are illustrative.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outturn.domain.organisations import Organisation, OrgKind, OrgTree
from outturn.domain.periods import FinancialYear
from outturn.domain.savings import (
    Rag,
    SavingsFigures,
    SavingsTarget,
    Scheme,
    SchemeStatus,
    Workstream,
    assess_rag,
    scheme_figures,
    slippage_months,
)
from outturn.domain.savings_rollup import (
    NATIONAL,
    UNASSIGNED,
    RollupLevel,
    RollupRow,
    SchemeSnapshot,
    movements,
    rollup,
    snapshot,
)

PROPERTY = settings(max_examples=100, deadline=None)
YEAR = FinancialYear(2025)
Y2011 = FinancialYear(2011)
M = 100_000_000  # £1m in pence
K = 100_000  # £1k in pence
P = 1_000_000  # £10,000 a month: the plan of the RAG test scheme


def upto(*values: int | None) -> tuple[int | None, ...]:
    """Monthly values from M01, padded with ``None`` to twelve months."""
    return (*values, *(None,) * (12 - len(values)))


def from_month(first: int, *values: int | None) -> tuple[int | None, ...]:
    """Monthly values from month ``first``, ``None`` before and after."""
    return (*(None,) * (first - 1), *values, *(None,) * (12 - first + 1 - len(values)))


def scheme(
    reference: str = "S1",
    *,
    planned: Sequence[int] = (P,) * 12,
    delivered: Sequence[int | None] = (None,) * 12,
    forecast: Sequence[int | None] = (None,) * 12,
    org: str = "A1",
    year: FinancialYear = YEAR,
    status: SchemeStatus = SchemeStatus.IN_DELIVERY,
    confidence: str = "1",
    start_month: int = 1,
    workstream: Workstream = Workstream.PRESCRIBING,
    negative_reason: str = "",
    rag_override: Rag | None = None,
    rag_override_reason: str = "",
) -> Scheme:
    return Scheme(
        reference,
        f"Scheme {reference}",
        org,
        year,
        workstream,
        planned=tuple(planned),
        delivered=tuple(delivered),
        forecast=tuple(forecast),
        status=status,
        confidence=Decimal(confidence),
        start_month=start_month,
        negative_reason=negative_reason,
        rag_override=rag_override,
        rag_override_reason=rag_override_reason,
    )


def share_to_tenth(share: Decimal | None) -> Decimal:
    """A share as a percentage rounded half up to 0.1%."""
    assert share is not None
    return (share * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def by_code(rows: Iterable[RollupRow]) -> dict[str, SavingsFigures]:
    return {row.code: row.figures for row in rows}


# --- 1. scheme arithmetic by hand -----------------------------------------------------------------------------


def test_forecast_defaults_to_plan_for_months_not_forecast() -> None:
    planned = (100, 200, 300, 400, 500, 600, 700, 800, 900, 1_000, 1_100, 1_200)  # plan 7,800
    item = scheme(
        planned=planned,
        delivered=upto(90, 210, 250, 400),  # 950 to M04
        forecast=from_month(5, None, 550, None, None, 0, None, None, 1_500),  # M06 550, M09 0, M12 1,500
    )
    assert item.plan_pence == 7_800
    assert item.plan_to_date(4) == 1_000
    assert item.delivered_to_date(4) == 950
    assert [item.forecast_month(m) for m in range(5, 13)] == [500, 550, 700, 800, 0, 1_000, 1_100, 1_500]
    # As at M04: 500 + 550 + 700 + 800 + 0 + 1,000 + 1,100 + 1,500 = 6,150 still to come.
    assert item.forecast_remaining(4) == 6_150
    assert item.forecast_total(4) == 950 + 6_150
    # As at M09 only M10 to M12 remain: 1,000 + 1,100 + 1,500; delivery after M04 is unreported (nothing).
    assert item.forecast_remaining(9) == 3_600
    assert item.forecast_total(9) == 950 + 3_600
    # As at M12 nothing remains.
    assert item.forecast_remaining(12) == 0


def test_stopped_scheme_forecasts_nothing_after_the_as_at_month() -> None:
    running = scheme(planned=(P,) * 12, delivered=upto(P, P, P, 800_000), forecast=from_month(6, 2 * P))
    stopped = running.with_changes(status=SchemeStatus.STOPPED)
    assert running.forecast_total(4) == 3_800_000 + 9 * P
    assert [stopped.forecast_month(m) for m in range(5, 13)] == [0] * 8
    assert stopped.forecast_remaining(4) == 0
    assert stopped.forecast_total(4) == 3_800_000  # what was banked stays banked
    assert stopped.risk_adjusted(4) == 3_800_000
    assert stopped.plan_pence == 12 * P  # the plan stays: it becomes the shortfall


def test_risk_adjusted_rounds_half_away_from_zero_to_the_penny() -> None:
    # Delivered £1,000.00 in M01; the rest of the year forecast at £12,345.67 (1,234,567p) in total.
    item = scheme(
        planned=(0, *(0,) * 10, 0),
        delivered=upto(100_000),
        forecast=from_month(2, 1_234_567, *(0,) * 10),
        confidence="0.5",
    )
    assert item.forecast_remaining(1) == 1_234_567
    # 1,234,567 x 0.5 = 617,283.5 -> 617,284 (half away from zero), plus 100,000 banked.
    assert item.risk_adjusted(1) == 717_284
    # 1,234,565 x 0.7 = 864,195.5 -> 864,196.
    seventy = item.with_changes(forecast=from_month(2, 1_234_565, *(0,) * 10), confidence=Decimal("0.7"))
    assert seventy.risk_adjusted(1) == 100_000 + 864_196
    # 1,234,567 x 0.33 = 407,407.11 -> 407,407 (down when under a half).
    third = item.with_changes(confidence=Decimal("0.33"))
    assert third.risk_adjusted(1) == 100_000 + 407_407


def test_risk_adjusted_cost_rounds_away_from_zero_too() -> None:
    cost = scheme(
        planned=(0, -1_234_567, *(0,) * 10),
        negative_reason="double running while the new service beds in",
        confidence="0.5",
    )
    # -1,234,567 x 0.5 = -617,283.5 -> -617,284.
    assert cost.risk_adjusted(1) == -617_284


def test_scheme_refuses_malformed_months_and_confidence() -> None:
    with pytest.raises(ValueError, match="12 months"):
        scheme(planned=(P,) * 11)
    with pytest.raises(ValueError, match="between 0% and 100%"):
        scheme(confidence="1.01")
    with pytest.raises(ValueError, match="start month 13"):
        scheme(start_month=13)


def test_scheme_figures_by_hand() -> None:
    item = scheme(planned=(P,) * 12, delivered=upto(P, P, P), forecast=from_month(4, *(500_000,) * 9), confidence="0.9")
    figures = scheme_figures(item, 3)
    # Plan 12P; delivered 3P; remaining 9 x 0.5P = 4.5P; forecast 7.5P; risk 3P + 0.9 x 4.5P = 7.05P.
    assert (figures.schemes, figures.plan_pence, figures.plan_to_date_pence) == (1, 12 * P, 3 * P)
    assert (figures.delivered_pence, figures.forecast_pence) == (3 * P, 7_500_000)
    assert figures.risk_adjusted_pence == 7_050_000
    assert figures.identified_pence == 12 * P
    assert figures.pipeline_pence == 0
    assert figures.shortfall_pence == 4_500_000
    assert figures.rag_counts == (1, 0, 0)  # forecast 62.5% of plan: red

    idea = scheme_figures(item.with_changes(status=SchemeStatus.IDEA), 3)
    assert idea == SavingsFigures(pipeline_pence=12 * P)

    stopped = scheme_figures(item.with_changes(status=SchemeStatus.STOPPED), 3)
    assert (stopped.plan_pence, stopped.forecast_pence, stopped.identified_pence) == (12 * P, 3 * P, 0)
    assert stopped.shortfall_pence == 9 * P
    assert stopped.rag_counts == (1, 0, 0)


# --- 2. RAG: one test per rule and threshold edge --------------------------------------------------------------
# The test scheme plans P a month for the year and is assessed as at M06 (plan to date 6P, plan 12P).

AS_AT = 6


def rag_scheme(
    delivered: Sequence[int | None] = (P,) * 6,
    forecast: Sequence[int | None] = (None,) * 6,
    *,
    confidence: str = "1",
    status: SchemeStatus = SchemeStatus.IN_DELIVERY,
    rag_override: Rag | None = None,
    rag_override_reason: str = "",
) -> Scheme:
    """Delivered for M01 to M06 and forecast for M07 to M12 of the P-a-month scheme."""
    return scheme(
        delivered=(*delivered, *(None,) * 6),
        forecast=(*(None,) * 6, *forecast),
        confidence=confidence,
        status=status,
        rag_override=rag_override,
        rag_override_reason=rag_override_reason,
    )


def test_on_plan_is_green() -> None:
    found = assess_rag(rag_scheme(), AS_AT)
    assert (found.rag, found.computed, found.overridden, found.reasons) == (Rag.GREEN, Rag.GREEN, False, ("on plan",))


def test_delivery_exactly_95_percent_to_date_is_green() -> None:
    # 5P + 0.7P = 5.7P of 6P = 95% exactly; forecast (5.7P + 6P) / 12P = 97.5%.
    found = assess_rag(rag_scheme((P, P, P, P, P, 700_000)), AS_AT)
    assert found.rag is Rag.GREEN


def test_delivery_a_penny_under_95_percent_is_amber() -> None:
    found = assess_rag(rag_scheme((P, P, P, P, P, 699_999)), AS_AT)
    assert found.rag is Rag.AMBER
    # 94.99998%: the figure is shown rounded down, never as the 95% that would have been green.
    assert found.reasons == ("delivered 94% of plan to date",)


def test_delivery_94_percent_is_amber_and_says_so() -> None:
    # 5.64P of 6P = 94%.
    found = assess_rag(rag_scheme((P, P, P, P, P, 640_000)), AS_AT)
    assert found.rag is Rag.AMBER
    assert found.reasons == ("delivered 94% of plan to date",)


def test_delivery_exactly_80_percent_is_amber() -> None:
    # 4.8P of 6P = 80%; forecast (4.8P + 6P) / 12P = 90% (amber too).
    found = assess_rag(rag_scheme((P, P, P, P, 800_000, 0)), AS_AT)
    assert found.rag is Rag.AMBER
    assert "delivered 80% of plan to date" in found.reasons
    assert "forecast 90% of the year's plan" in found.reasons


def test_delivery_a_penny_under_80_percent_is_red() -> None:
    found = assess_rag(rag_scheme((P, P, P, P, 799_999, 0)), AS_AT)
    assert found.rag is Rag.RED
    assert found.reasons[0] == "delivered 79% of plan to date"  # 79.99998%, shown rounded down


def test_delivery_79_percent_is_red_and_says_so() -> None:
    # 4.74P of 6P = 79%.
    found = assess_rag(rag_scheme((P, P, P, P, 740_000, 0)), AS_AT)
    assert found.rag is Rag.RED
    assert found.reasons[0] == "delivered 79% of plan to date"


def test_forecast_exactly_95_percent_of_the_year_is_green() -> None:
    # Delivered 6P; forecast 6 x 0.9P = 5.4P; total 11.4P of 12P = 95%.
    found = assess_rag(rag_scheme(forecast=(900_000,) * 6), AS_AT)
    assert found.rag is Rag.GREEN


def test_forecast_a_penny_under_95_percent_is_amber() -> None:
    found = assess_rag(rag_scheme(forecast=(899_999, *(900_000,) * 5)), AS_AT)
    assert found.rag is Rag.AMBER
    assert found.reasons == ("forecast 94% of the year's plan",)  # 94.99999%, shown rounded down


def test_forecast_exactly_80_percent_is_amber_and_under_is_red() -> None:
    # Delivered 6P; forecast 6 x 0.6P = 3.6P; total 9.6P of 12P = 80%.
    at = assess_rag(rag_scheme(forecast=(600_000,) * 6), AS_AT)
    assert (at.rag, at.reasons) == (Rag.AMBER, ("forecast 80% of the year's plan",))
    under = assess_rag(rag_scheme(forecast=(599_999, *(600_000,) * 5)), AS_AT)
    assert (under.rag, under.reasons) == (Rag.RED, ("forecast 79% of the year's plan",))
    # 9.36P of 12P = 78%.
    well_under = assess_rag(rag_scheme(forecast=(560_000,) * 6), AS_AT)
    assert (well_under.rag, well_under.reasons) == (Rag.RED, ("forecast 78% of the year's plan",))


@pytest.mark.parametrize(
    ("confidence", "rag", "reasons"),
    [
        ("1", Rag.GREEN, ("on plan",)),
        ("0.8", Rag.GREEN, ("on plan",)),
        ("0.79", Rag.AMBER, ("confidence 79%",)),
        ("0.795", Rag.AMBER, ("confidence 79%",)),  # under 80%, so never shown as 80%
        ("0.5", Rag.AMBER, ("confidence 50%",)),
        ("0.49", Rag.RED, ("confidence 49%",)),
        ("0", Rag.RED, ("confidence 0%",)),
    ],
)
def test_confidence_thresholds(confidence: str, rag: Rag, reasons: tuple[str, ...]) -> None:
    found = assess_rag(rag_scheme(confidence=confidence), AS_AT)
    assert (found.rag, found.reasons) == (rag, reasons)


def test_slippage_months_counts_from_the_start_month() -> None:
    late = scheme(planned=(0, 0, *(P,) * 10), start_month=3)
    assert slippage_months(late, 2) == 0  # not started yet
    assert slippage_months(late, 3) == 1  # nothing delivered by the close of the start month: a month late at least
    assert slippage_months(late, 4) == 2
    assert slippage_months(late, 5) == 3
    first_in_m04 = late.with_changes(delivered=upto(None, None, 0, 2 * P, P, P))
    assert slippage_months(first_in_m04, 6) == 1
    on_time = late.with_changes(delivered=upto(None, None, P, P, P, P))
    assert slippage_months(on_time, 6) == 0


def test_no_delivery_by_the_start_month_close_is_a_slipped_scheme() -> None:
    late = scheme(planned=(0, 0, *(P,) * 10), start_month=3)
    found = assess_rag(late, 3)
    assert found.rag is Rag.RED  # nothing delivered against a plan to date is red on delivery anyway
    assert "delivered 0% of plan to date" in found.reasons
    assert "delivery 1 month(s) behind its start" in found.reasons


@pytest.mark.parametrize(
    ("delivered", "rag", "slipped"),
    [
        ((0, 2 * P, P, P, P, P), Rag.AMBER, 1),  # first delivery one month after the start, caught up since
        ((0, 0, 3 * P, P, P, P), Rag.AMBER, 2),
        ((0, 0, 0, 4 * P, P, P), Rag.RED, 3),  # three months late
        ((0, 0, 0, 0, 5 * P, P), Rag.RED, 4),
    ],
)
def test_slippage_alone(delivered: tuple[int, ...], rag: Rag, slipped: int) -> None:
    # Delivery to date is 6P of 6P and the forecast is on plan, so slippage is the only finding.
    found = assess_rag(rag_scheme(delivered), AS_AT)
    assert (found.rag, found.reasons) == (rag, (f"delivery {slipped} month(s) behind its start",))


def test_slippage_counts_from_the_first_planned_month() -> None:
    # Stated start M03 but nothing planned before M06; delivered exactly to plan from M06: no slippage.
    on_plan = scheme(planned=(*(0,) * 5, *(P,) * 7), delivered=(*(0,) * 5, P, P) + (None,) * 5, start_month=3)
    assert slippage_months(on_plan, 7) == 0
    assert assess_rag(on_plan, 7).reasons == ("on plan",)


def test_slippage_ignored_while_nothing_was_planned_to_date() -> None:
    # Planned from M10; as at M06 nothing was due, so no finding although nothing was delivered.
    later = scheme(planned=(*(0,) * 9, P, P, P), start_month=1)
    assert slippage_months(later, 6) == 0  # the effective start is the first planned month, M10
    assert assess_rag(later, 6).reasons == ("on plan",)


def test_worst_finding_wins() -> None:
    found = assess_rag(rag_scheme((P, P, P, P, P, 640_000), confidence="0.4"), AS_AT)
    assert found.rag is Rag.RED
    assert found.reasons == ("delivered 94% of plan to date", "confidence 40%")


def test_stopped_scheme_is_red() -> None:
    found = assess_rag(rag_scheme(status=SchemeStatus.STOPPED), AS_AT)
    assert (found.rag, found.computed, found.reasons) == (Rag.RED, Rag.RED, ("scheme stopped",))


def test_override_with_reason_wins_and_records_the_computed_rating() -> None:
    item = rag_scheme(confidence="0.3", rag_override=Rag.GREEN, rag_override_reason="contract variation signed")
    found = assess_rag(item, AS_AT)
    assert found.rag is Rag.GREEN
    assert found.computed is Rag.RED
    assert found.overridden is True
    assert found.reasons == ("overridden from red: contract variation signed", "confidence 30%")


def test_override_of_a_stopped_scheme_records_red() -> None:
    item = rag_scheme(status=SchemeStatus.STOPPED, rag_override=Rag.AMBER, rag_override_reason="restarting in Q3")
    found = assess_rag(item, AS_AT)
    assert (found.rag, found.computed) == (Rag.AMBER, Rag.RED)
    assert found.reasons == ("overridden from red: restarting in Q3", "scheme stopped")


@pytest.mark.parametrize("reason", ["", "   "])
def test_override_without_reason_is_refused(reason: str) -> None:
    with pytest.raises(ValueError, match="override needs a reason"):
        rag_scheme(rag_override=Rag.GREEN, rag_override_reason=reason)


def test_negative_plan_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="negative saving"):
        scheme(planned=(-P,) * 12)
    with pytest.raises(ValueError, match="negative saving"):
        scheme(planned=(-P,) * 12, negative_reason="  ")
    cost = scheme(planned=(-P,) * 12, negative_reason="pump-priming the community team")
    assert cost.plan_pence == -12 * P


# --- 3. roll-up properties ---------------------------------------------------------------------------------------


def half_away(value: Fraction) -> int:
    """Round to the nearest whole number, halves away from zero (written here, independently of money.py)."""
    magnitude = abs(value)
    whole = int(magnitude + Fraction(1, 2))  # int() truncates a non-negative Fraction: floor(x + 1/2)
    return whole if value >= 0 else -whole


def plain_rag(item: Scheme, month: int) -> Rag:
    """The stated RAG rules written out plainly."""
    if item.rag_override is not None:
        return item.rag_override
    if item.status is SchemeStatus.STOPPED:
        return Rag.RED
    plan = sum(item.planned)
    plan_to_date = sum(item.planned[:month])
    delivered = sum(v for v in item.delivered[:month] if v is not None)
    remaining = sum(
        item.planned[k] if item.forecast[k] is None else item.forecast[k]  # type: ignore[misc]
        for k in range(month, 12)
    )
    levels: list[Rag] = []

    def rate(ratio: Fraction | Decimal, green: Fraction, red: Fraction) -> None:
        if ratio < green:
            levels.append(Rag.RED if ratio < red else Rag.AMBER)

    if plan_to_date > 0:
        rate(Fraction(delivered, plan_to_date), Fraction(95, 100), Fraction(80, 100))
    if plan > 0:
        rate(Fraction(delivered + remaining, plan), Fraction(95, 100), Fraction(80, 100))
    rate(Fraction(item.confidence), Fraction(80, 100), Fraction(50, 100))
    if month >= item.start_month and plan_to_date > 0:
        months_with_delivery = [m for m in range(1, month + 1) if (item.delivered[m - 1] or 0) > 0]
        slipped = months_with_delivery[0] - item.start_month if months_with_delivery else month - item.start_month + 1
        if slipped >= 1:
            levels.append(Rag.RED if slipped >= 3 else Rag.AMBER)
    if Rag.RED in levels:
        return Rag.RED
    return Rag.AMBER if levels else Rag.GREEN


ADDITIVE = (
    "schemes",
    "plan_pence",
    "plan_to_date_pence",
    "delivered_pence",
    "forecast_pence",
    "risk_adjusted_pence",
    "pipeline_pence",
    "identified_pence",
    "target_pence",
    "unidentified_pence",
    "rag_counts",
)
SCHEME_ONLY = tuple(name for name in ADDITIVE if name not in ("target_pence", "unidentified_pence"))
assert {f.name for f in fields(SavingsFigures)} == set(ADDITIVE)  # every field is checked


def plain_figures(item: Scheme, month: int) -> dict[str, object]:
    plan = sum(item.planned)
    zero: dict[str, object] = dict.fromkeys(ADDITIVE, 0) | {"rag_counts": (0, 0, 0)}
    if item.status is SchemeStatus.IDEA:
        return zero | {"pipeline_pence": plan}
    delivered = sum(v for v in item.delivered[:month] if v is not None)
    if item.status is SchemeStatus.STOPPED:
        remaining = 0
    else:
        remaining = sum(item.planned[k] if item.forecast[k] is None else item.forecast[k] for k in range(month, 12))  # type: ignore[misc]
    rag = plain_rag(item, month)
    return zero | {
        "schemes": 1,
        "plan_pence": plan,
        "plan_to_date_pence": sum(item.planned[:month]),
        "delivered_pence": delivered,
        "forecast_pence": delivered + remaining,
        "risk_adjusted_pence": delivered + half_away(remaining * Fraction(item.confidence)),
        "identified_pence": 0 if item.status is SchemeStatus.STOPPED else plan,
        "rag_counts": (int(rag is Rag.RED), int(rag is Rag.AMBER), int(rag is Rag.GREEN)),
    }


def add(total: dict[str, object], part: dict[str, object]) -> None:
    for name, value in part.items():
        if name == "rag_counts":
            old = total.get(name, (0, 0, 0))
            total[name] = tuple(a + b for a, b in zip(old, value, strict=True))  # type: ignore[call-overload]
        else:
            total[name] = total.get(name, 0) + value  # type: ignore[operator]


def as_dict(figures: SavingsFigures, names: Sequence[str] = ADDITIVE) -> dict[str, object]:
    return {name: getattr(figures, name) for name in names}


@dataclass(frozen=True)
class World:
    tree: OrgTree
    icb_of: dict[str, str]  # every organisation code schemes may name -> its ICB code, or UNASSIGNED
    region_of: dict[str, str]
    schemes: tuple[Scheme, ...]
    targets: tuple[SavingsTarget, ...]
    month: int


MONEY = st.integers(min_value=-2_000_000, max_value=50_000_000)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    organisations: list[Organisation] = []
    icb_of: dict[str, str] = {}
    region_of: dict[str, str] = {}
    for r in range(draw(st.integers(1, 3))):
        region = f"Y{r}"
        organisations.append(Organisation(region, f"Region {r}", OrgKind.REGION))
        for i in range(draw(st.integers(1, 3))):
            icb = f"Q{r}{i}"
            organisations.append(Organisation(icb, f"ICB {r}{i}", OrgKind.ICB, region))
            icb_of[icb], region_of[icb] = icb, region
            for s in range(draw(st.integers(1, 3))):
                sub = f"{r}{i}{s}X"
                organisations.append(Organisation(sub, f"Sub-ICB {r}{i}{s}", OrgKind.SUB_ICB, icb))
                icb_of[sub], region_of[sub] = icb, region
        if draw(st.booleans()):  # a sub-ICB straight under its region, with no ICB
            loose = f"{r}ZZX"
            organisations.append(Organisation(loose, f"Loose {r}", OrgKind.SUB_ICB, region))
            icb_of[loose], region_of[loose] = UNASSIGNED, region
    icb_of["NOPE"], region_of["NOPE"] = UNASSIGNED, UNASSIGNED  # a code the tree does not know
    codes = sorted(icb_of)
    month = draw(st.integers(1, 12))
    schemes: list[Scheme] = []
    for number in range(draw(st.integers(0, 12))):
        planned = tuple(draw(st.lists(MONEY, min_size=12, max_size=12)))
        delivered = tuple(draw(st.none() | st.integers(0, 60_000_000)) if m <= month else None for m in range(1, 13))
        forecast = tuple(draw(st.lists(st.none() | MONEY, min_size=12, max_size=12)))
        override = draw(st.none() | st.sampled_from(Rag))
        schemes.append(
            scheme(
                f"S{number}",
                planned=planned,
                delivered=delivered,
                forecast=forecast,
                org=draw(st.sampled_from(codes)),
                status=draw(st.sampled_from(SchemeStatus)),
                confidence=str(Decimal(draw(st.integers(0, 100))) / 100),
                start_month=draw(st.integers(1, 12)),
                workstream=draw(st.sampled_from(Workstream)),
                negative_reason="a cost" if sum(planned) < 0 else "",
                rag_override=override,
                rag_override_reason="agreed at the QIPP board" if override else "",
            )
        )
    targets = tuple(
        SavingsTarget(draw(st.sampled_from(codes)), YEAR, draw(st.integers(0, 500_000_000)))
        for _ in range(draw(st.integers(0, 4)))
    )
    return World(OrgTree.build(organisations), icb_of, region_of, tuple(schemes), targets, month)


def plain_group(world: World, level: RollupLevel) -> dict[str, dict[str, object]]:
    def key(org_code: str) -> str:
        if level is RollupLevel.ORGANISATION:
            return org_code
        if level is RollupLevel.ICB:
            return world.icb_of[org_code]
        if level is RollupLevel.REGION:
            return world.region_of[org_code]
        return NATIONAL

    totals: dict[str, dict[str, object]] = defaultdict(dict)
    if level is RollupLevel.WORKSTREAM:
        for item in world.schemes:
            add(totals[item.workstream.value], plain_figures(item, world.month))
    else:
        # Unidentified savings are each organisation's target less its identified schemes (never below zero),
        # worked per organisation and then summed.
        organisations: dict[str, dict[str, object]] = defaultdict(dict)
        for item in world.schemes:
            add(organisations[item.org_code], plain_figures(item, world.month))
        for target in world.targets:
            add(organisations[target.org_code], {"target_pence": target.target_pence})
        for code, figures in organisations.items():
            target_pence = int(figures.get("target_pence", 0))  # type: ignore[call-overload]
            identified = int(figures.get("identified_pence", 0))  # type: ignore[call-overload]
            add(totals[key(code)], figures | {"unidentified_pence": max(target_pence - identified, 0)})
    zero: dict[str, object] = dict.fromkeys(ADDITIVE, 0) | {"rag_counts": (0, 0, 0)}
    return {group: zero | figures for group, figures in totals.items()}


@PROPERTY
@given(world=worlds())
def test_each_level_matches_a_plain_grouping(world: World) -> None:
    for level in RollupLevel:
        rows = rollup(world.schemes, world.targets, world.tree, world.month, level)
        assert [row.code for row in rows] == sorted(row.code for row in rows)
        assert all(row.level is level for row in rows)
        assert {row.code: as_dict(row.figures) for row in rows} == plain_group(world, level)
        for row in rows:
            if level is RollupLevel.WORKSTREAM:
                assert row.name == Workstream(row.code).label
            elif level is RollupLevel.NATIONAL:
                assert row.name == "National"
            elif row.code in world.tree:
                assert row.name == world.tree.get(row.code).name


@PROPERTY
@given(world=worlds())
def test_levels_reconcile_to_the_national_row(world: World) -> None:
    def total(level: RollupLevel) -> SavingsFigures:
        rows = rollup(world.schemes, world.targets, world.tree, world.month, level)
        summed = SavingsFigures()
        for row in rows:
            summed = summed + row.figures
        return summed

    national = total(RollupLevel.NATIONAL)
    for level in (RollupLevel.REGION, RollupLevel.ICB, RollupLevel.ORGANISATION):
        assert as_dict(total(level)) == as_dict(national)
    # Targets belong to organisations, not workstreams: every other field reconciles.
    assert as_dict(total(RollupLevel.WORKSTREAM), SCHEME_ONLY) == as_dict(national, SCHEME_ONLY)
    assert total(RollupLevel.WORKSTREAM).target_pence == 0
    assert total(RollupLevel.WORKSTREAM).unidentified_pence == 0
    assert national.target_pence == sum(target.target_pence for target in world.targets)
    assert national.schemes == sum(item.status is not SchemeStatus.IDEA for item in world.schemes)
    assert sum(national.rag_counts) == national.schemes


@PROPERTY
@given(world=worlds())
def test_plan_is_delivered_plus_remaining_plus_shortfall(world: World) -> None:
    month = world.month
    remaining_by_org: dict[str, int] = defaultdict(int)
    for item in world.schemes:
        if not item.status.counts_in_plan:
            continue
        figures = scheme_figures(item, month)
        remaining = item.forecast_remaining(month)
        assert figures.shortfall_pence == figures.plan_pence - figures.forecast_pence
        assert figures.plan_pence == item.delivered_to_date(month) + remaining + figures.shortfall_pence
        remaining_by_org[item.org_code] += remaining
    for row in rollup(world.schemes, world.targets, world.tree, month, RollupLevel.ORGANISATION):
        figures = row.figures
        assert figures.plan_pence == figures.delivered_pence + remaining_by_org[row.code] + figures.shortfall_pence


# --- 4. worked examples from public reporting (2011/12 QIPP by PCT cluster) --------------------------------------

CLUSTERS = OrgTree.build(
    [
        Organisation("Y56", "South of England", OrgKind.REGION),
        Organisation("SUSX", "NHS Sussex (cluster)", OrgKind.ICB, "Y56"),
        Organisation("5LQ", "Brighton and Hove City PCT", OrgKind.SUB_ICB, "SUSX"),
        Organisation("5P7", "East Sussex Downs and Weald PCT", OrgKind.SUB_ICB, "SUSX"),
        Organisation("5P9", "West Sussex PCT", OrgKind.SUB_ICB, "SUSX"),
        Organisation("BOBC", "NHS Buckinghamshire and Oxfordshire (cluster)", OrgKind.ICB, "Y56"),
        Organisation("5QG", "Oxfordshire PCT", OrgKind.SUB_ICB, "BOBC"),
        Organisation("5QD", "Buckinghamshire PCT", OrgKind.SUB_ICB, "BOBC"),
        Organisation("MKC", "A third cluster", OrgKind.ICB, "Y56"),
        Organisation("5CQ", "A third cluster's PCT", OrgKind.SUB_ICB, "MKC"),
    ]
)


def test_sussex_cluster_forecast_7282m_against_11178m_plan() -> None:
    # As at M06 2011/12. Brighton and Hove: plan 12 x £3.5m = £42m, delivered 6 x £2.5m, forecast 6 x £2.5m: £30m.
    # East Sussex: plan 12 x £2.5m = £30m, delivered 6 x £2m = £12m, rest as planned 6 x £2.5m: forecast £27m.
    # West Sussex: plan 12 x £3.315m = £39.78m, delivered 6 x £1.5m = £9m, forecast 5 x £1.1m + £1.32m = £6.82m:
    # forecast £15.82m. Cluster plan £42m + £30m + £39.78m = £111.78m; forecast £30m + £27m + £15.82m = £72.82m.
    schemes = [
        scheme(
            "BH1",
            org="5LQ",
            year=Y2011,
            planned=(350 * M // 100,) * 12,
            delivered=upto(*(250 * M // 100,) * 6),
            forecast=from_month(7, *(250 * M // 100,) * 6),
        ),
        scheme("ES1", org="5P7", year=Y2011, planned=(250 * M // 100,) * 12, delivered=upto(*(2 * M,) * 6)),
        scheme(
            "WS1",
            org="5P9",
            year=Y2011,
            planned=(3315 * M // 1000,) * 12,
            delivered=upto(*(150 * M // 100,) * 6),
            forecast=from_month(7, *(110 * M // 100,) * 5, 132 * M // 100),
        ),
    ]
    cluster = by_code(rollup(schemes, (), CLUSTERS, 6, RollupLevel.ICB))["SUSX"]
    assert cluster.plan_pence == 11_178_000_000
    assert cluster.forecast_pence == 7_282_000_000
    assert cluster.shortfall_pence == 3_896_000_000  # £38.96m
    assert cluster.shortfall_share == Decimal(3_896) / Decimal(11_178)
    assert share_to_tenth(cluster.shortfall_share) == Decimal("34.9")
    organisations = by_code(rollup(schemes, (), CLUSTERS, 6, RollupLevel.ORGANISATION))
    assert {code: figures.shortfall_pence for code, figures in organisations.items()} == {
        "5LQ": 12 * M,
        "5P7": 3 * M,
        "5P9": 2_396_000_000,
    }


def oxon_bucks_schemes() -> list[Scheme]:
    # As at M06 2011/12, both delivered exactly to plan so far.
    # Oxfordshire: plan 11 x £1.73m + £1.74m (M12) = £20.77m; rest of the year cut from £10.39m to
    # 5 x £0.83m + £0.84m = £4.99m: forecast £10.38m + £4.99m = £15.37m, £5.4m short.
    # Buckinghamshire: plan 12 x £2.1875m = £26.25m; rest cut from £13.125m to 6 x £1.1375m = £6.825m:
    # forecast £13.125m + £6.825m = £19.95m, £6.3m short.
    return [
        scheme(
            "OX1",
            org="5QG",
            year=Y2011,
            planned=(*(173 * M // 100,) * 11, 174 * M // 100),
            delivered=upto(*(173 * M // 100,) * 6),
            forecast=from_month(7, *(83 * M // 100,) * 5, 84 * M // 100),
        ),
        scheme(
            "BK1",
            org="5QD",
            year=Y2011,
            planned=(21_875 * M // 10_000,) * 12,
            delivered=upto(*(21_875 * M // 10_000,) * 6),
            forecast=from_month(7, *(11_375 * M // 10_000,) * 6),
        ),
    ]


def test_oxfordshire_and_buckinghamshire_shortfalls() -> None:
    schemes = oxon_bucks_schemes()
    organisations = by_code(rollup(schemes, (), CLUSTERS, 6, RollupLevel.ORGANISATION))
    oxon, bucks = organisations["5QG"], organisations["5QD"]
    assert (oxon.plan_pence, oxon.forecast_pence, oxon.shortfall_pence) == (2_077_000_000, 1_537_000_000, 540_000_000)
    assert (bucks.plan_pence, bucks.forecast_pence, bucks.shortfall_pence) == (2_625_000_000, 1_995_000_000, 63 * 10**7)
    # 5.4 / 20.77 = 25.999...% -> 26%; 6.3 / 26.25 = 24% exactly.
    assert share_to_tenth(oxon.shortfall_share) == Decimal("26.0")
    assert bucks.shortfall_share == Decimal("0.24")
    cluster = by_code(rollup(schemes, (), CLUSTERS, 6, RollupLevel.ICB))["BOBC"]
    # £47.02m plan, £11.7m short: 11.7 / 47.02 = 24.88...% -> 24.9%.
    assert (cluster.plan_pence, cluster.shortfall_pence) == (4_702_000_000, 1_170_000_000)
    assert share_to_tenth(cluster.shortfall_share) == Decimal("24.9")
    assert cluster.schemes == 2
    # Forecast 15.37 / 20.77 = 74% and 19.95 / 26.25 = 76% of plan: both under 80%, red.
    assert cluster.rag_counts == (2, 0, 0)


def test_cluster_confident_of_at_least_80_percent_circa_9m() -> None:
    # Three schemes planned from M07 (£4.5m, £3.75m and £3m: £11.25m), nothing delivered as at M06, all at 80%
    # confidence: risk-adjusted 0.8 x £11.25m = £9.0m.
    schemes = [
        scheme(reference, org="5CQ", year=Y2011, planned=(*(0,) * 6, *(monthly,) * 6), start_month=7, confidence="0.8")
        for reference, monthly in (("MK1", 75 * M // 100), ("MK2", 625 * M // 1000), ("MK3", 50 * M // 100))
    ]
    cluster = by_code(rollup(schemes, (), CLUSTERS, 6, RollupLevel.ICB))["MKC"]
    assert cluster.plan_pence == 1_125_000_000
    assert cluster.delivered_pence == 0
    assert cluster.forecast_pence == 1_125_000_000
    assert cluster.risk_adjusted_pence == 900_000_000  # £9.0m
    assert Fraction(cluster.risk_adjusted_pence, cluster.forecast_pence) == Fraction(4, 5)
    assert cluster.rag_counts == (0, 0, 3)  # 80% confidence is still green


def test_879k_of_next_years_savings_not_yet_identified() -> None:
    # Target £12.5m; schemes identified £6m + £5.621m = £11.621m = £12.5m - £879k. An idea (pipeline) and a
    # stopped scheme are not identified savings.
    next_year = FinancialYear(2012)
    schemes = [
        scheme("N1", org="5CQ", year=next_year, planned=(50 * M // 100,) * 12, status=SchemeStatus.APPROVED),
        scheme("N2", org="5CQ", year=next_year, planned=(*(0,) * 11, 5_621 * M // 1000), status=SchemeStatus.PLANNED),
        scheme("N3", org="5CQ", year=next_year, planned=(10 * M // 100,) * 12, status=SchemeStatus.IDEA),
        scheme("N4", org="5CQ", year=next_year, planned=(5 * M // 100,) * 12, status=SchemeStatus.STOPPED),
    ]
    targets = [SavingsTarget("5CQ", next_year, 1_250_000_000)]
    for level, code in ((RollupLevel.ORGANISATION, "5CQ"), (RollupLevel.ICB, "MKC"), (RollupLevel.REGION, "Y56")):
        figures = by_code(rollup(schemes, targets, CLUSTERS, 1, level))[code]
        assert figures.target_pence == 1_250_000_000
        assert figures.identified_pence == 1_162_100_000
        assert figures.unidentified_pence == 87_900_000  # £879k
        assert figures.pipeline_pence == 120_000_000
    over = by_code(rollup(schemes, [SavingsTarget("5CQ", next_year, 10 * M)], CLUSTERS, 1, RollupLevel.ICB))["MKC"]
    assert over.unidentified_pence == 0  # more identified than the target: nothing unidentified


def test_335m_four_year_programme_split_129m_and_206m() -> None:
    programme = "QIPP 2011-15"
    split = {"5QD": (30, 33, 33, 33), "5QG": (50, 52, 52, 52)}  # £129m and £206m (which PCT had which: illustrative)
    targets = [
        SavingsTarget(code, FinancialYear(2011 + offset), millions * M, programme)
        for code, per_year in split.items()
        for offset, millions in enumerate(per_year)
    ]
    other = SavingsTarget("5CQ", Y2011, 7 * M, "another programme")
    assert len({target.year for target in targets}) == 4
    chosen = [target for target in [*targets, other] if target.programme == programme]
    organisations = by_code(rollup((), chosen, CLUSTERS, 12, RollupLevel.ORGANISATION))
    assert {code: figures.target_pence for code, figures in organisations.items()} == {"5QD": 129 * M, "5QG": 206 * M}
    cluster = by_code(rollup((), chosen, CLUSTERS, 12, RollupLevel.ICB))
    assert cluster == {"BOBC": SavingsFigures(target_pence=335 * M, unidentified_pence=335 * M)}
    assert cluster["BOBC"].unidentified_pence == 335 * M
    first_year = [target for target in chosen if target.year == Y2011]
    with_schemes = by_code(rollup(oxon_bucks_schemes(), first_year, CLUSTERS, 6, RollupLevel.ORGANISATION))
    # 2011/12: Oxfordshire's £50m target against £20.77m of schemes; Buckinghamshire's £30m against £26.25m.
    assert with_schemes["5QG"].unidentified_pence == 50 * M - 2_077_000_000
    assert with_schemes["5QD"].unidentified_pence == 30 * M - 2_625_000_000


# --- 5. movements between two closes ---------------------------------------------------------------------------


def total_of(close: Sequence[SchemeSnapshot], name: str) -> int:
    return sum(getattr(item, f"{name}_pence") for item in close)


def test_movements_between_the_m06_and_m07_closes() -> None:
    five, four, two, three = 5_000_000, 4_000_000, 2_000_000, 3_000_000  # £50k, £40k, £20k, £30k a month
    cut_before = scheme("CUT", planned=(five,) * 12, delivered=upto(*(five,) * 6))
    delivery_before = scheme("DEL", planned=(two,) * 12, delivered=upto(*(two,) * 6))
    stop_before = scheme("STOP", org="B1", planned=(four,) * 12, delivered=upto(*(four,) * 6))
    same = scheme("SAME", planned=(*(0,) * 9, P, P, P), start_month=10, status=SchemeStatus.APPROVED)
    gone = scheme("GONE", planned=(500_000,) * 12, status=SchemeStatus.PLANNED, start_month=12)
    before = [snapshot(item, 6) for item in (cut_before, delivery_before, stop_before, same, gone)]

    cut_after = cut_before.with_changes(delivered=upto(*(five,) * 7), forecast=from_month(8, *(three,) * 5))
    delivery_after = delivery_before.with_changes(delivered=upto(*(two,) * 7))
    stop_after = stop_before.with_changes(status=SchemeStatus.STOPPED)
    new = scheme("NEW", org="B1", planned=(*(0,) * 7, *(three,) * 5), start_month=8, status=SchemeStatus.APPROVED)
    after = [snapshot(item, 7) for item in (cut_after, delivery_after, stop_after, same, new)]

    found = {item.reference: item for item in movements(before, after)}
    assert list(found) == ["CUT", "DEL", "GONE", "NEW", "STOP"]  # SAME is unchanged and absent
    # CUT: forecast £300k + £300k = £600k -> £350k delivered + 5 x £30k = £500k: down £100k.
    assert found["CUT"].forecast_change_pence == -10_000_000
    assert found["CUT"].delivered_change_pence == five
    assert "forecast down £0.10m" in found["CUT"].explanation
    assert "delivered up £0.05m" in found["CUT"].explanation
    assert "RAG green -> amber" in found["CUT"].explanation  # £500k of £600k = 83%
    # DEL: delivered as planned in M07: forecast unchanged at £240k.
    assert (found["DEL"].forecast_change_pence, found["DEL"].delivered_change_pence) == (0, two)
    assert found["DEL"].explanation == "delivered up £0.02m"
    # STOP: forecast £480k -> £240k banked.
    assert found["STOP"].forecast_change_pence == -24_000_000
    assert found["STOP"].plan_change_pence == 0
    assert "status in_delivery -> stopped" in found["STOP"].explanation
    assert "forecast down £0.24m" in found["STOP"].explanation
    assert found["STOP"].org_code == "B1"
    # NEW: 5 x £30k = £150k.
    assert (found["NEW"].plan_change_pence, found["NEW"].forecast_change_pence) == (15_000_000, 15_000_000)
    assert found["NEW"].explanation == "new scheme (approved), plan £0.15m"
    assert found["NEW"].title == "Scheme NEW"
    # GONE: forecast 6 x £5k still to come at M06.
    assert found["GONE"].forecast_change_pence == -3_000_000
    assert found["GONE"].explanation == "removed from the plan"

    # By hand: -£100k + 0 - £240k + £150k - £30k = -£220k; and the totals: £1,160k - £1,380k.
    assert sum(item.forecast_change_pence for item in found.values()) == -22_000_000
    assert sum(item.forecast_pence for item in after) - sum(item.forecast_pence for item in before) == -22_000_000
    for name in ("plan", "delivered", "forecast", "risk_adjusted"):
        change = sum(getattr(item, f"{name}_change_pence") for item in found.values())
        assert change == total_of(after, name) - total_of(before, name)


def test_confidence_change_is_explained() -> None:
    base = scheme("C1", planned=(P,) * 12, delivered=upto(*(P,) * 6))
    moved = movements([snapshot(base, 6)], [snapshot(base.with_changes(confidence=Decimal("0.6")), 6)])
    assert len(moved) == 1
    # 6P banked + 0.6 x 6P = 9.6P against 12P.
    assert moved[0].risk_adjusted_change_pence == 9_600_000 - 12 * P
    assert moved[0].forecast_change_pence == 0
    assert moved[0].explanation == "RAG green -> amber; confidence 100% -> 60%"


def test_promoting_an_idea_brings_its_plan_into_the_plan() -> None:
    idea = scheme("I1", planned=(P,) * 12, status=SchemeStatus.IDEA, start_month=12)
    moved = movements([snapshot(idea, 3)], [snapshot(idea.with_changes(status=SchemeStatus.APPROVED), 3)])
    assert len(moved) == 1
    assert moved[0].plan_change_pence == 12 * P
    assert moved[0].forecast_change_pence == 9 * P  # nothing due to date is reported; M04 to M12 as planned
    assert moved[0].explanation.startswith("status idea -> approved")
    assert "plan up £0.12m" in moved[0].explanation


@st.composite
def closes(draw: st.DrawFn) -> tuple[list[SchemeSnapshot], list[SchemeSnapshot]]:
    def one_close(month: int) -> list[SchemeSnapshot]:
        references = draw(st.lists(st.sampled_from(["A", "B", "C", "D", "E"]), unique=True, max_size=5))
        found = []
        for reference in references:
            planned = tuple(draw(st.lists(st.integers(0, 3), min_size=12, max_size=12)))
            item = scheme(
                reference,
                planned=[value * P for value in planned],
                delivered=[draw(st.sampled_from([None, 0, P])) if m <= month else None for m in range(1, 13)],
                forecast=[draw(st.sampled_from([None, 0, P])) for _ in range(12)],
                status=draw(st.sampled_from(SchemeStatus)),
                confidence=draw(st.sampled_from(["0.4", "0.7", "1"])),
            )
            found.append(snapshot(item, month))
        return found

    first = draw(st.integers(1, 11))
    return one_close(first), one_close(draw(st.integers(first, 12)))


@PROPERTY
@given(pair=closes())
def test_movements_sum_to_the_change_in_totals(pair: tuple[list[SchemeSnapshot], list[SchemeSnapshot]]) -> None:
    before, after = pair
    found = movements(before, after)
    for name in ("plan", "delivered", "forecast", "risk_adjusted"):
        change = sum(getattr(item, f"{name}_change_pence") for item in found)
        assert change == total_of(after, name) - total_of(before, name)
    old = {item.reference: item for item in before}
    new = {item.reference: item for item in after}
    changed = sorted(ref for ref in old.keys() | new.keys() if old.get(ref) != new.get(ref))
    assert [item.reference for item in found] == changed
