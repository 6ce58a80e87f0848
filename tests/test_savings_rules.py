"""The rules every change to a savings scheme meets, whichever way it comes (form, API, CLI, workbook): each case
is a hand-written scheme and edit with the fault, or its absence, stated here."""

from __future__ import annotations

from decimal import Decimal

import pytest

from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.savings import Scheme, SchemeStatus, Workstream
from outturn.domain.savings_codec import scheme_to_data
from outturn.domain.savings_rules import EditWindow, SchemeFault, edit_faults

YEAR = FinancialYear(2025)
AT_M08 = EditWindow(reported_through=8, closed_through=7)
PLAN = 100_000_00  # £100k a month, £1.2m a year


def scheme(**changes: object) -> Scheme:
    base = Scheme(
        "QU9-Q01", "Generic switching", "QU9", YEAR, Workstream.PRESCRIBING, planned=(PLAN,) * 12,
        delivered=(*(90_000_00,) * 7, None, *(None,) * 4), status=SchemeStatus.IN_DELIVERY,
    )  # fmt: skip
    return base.with_changes(**changes)


def forecast(**months: int | None) -> tuple[int | None, ...]:
    values: list[int | None] = [None] * 12
    for name, value in months.items():
        values[int(name[1:]) - 1] = value
    return tuple(values)


def where(faults: list[SchemeFault]) -> list[str]:
    return [fault.where for fault in faults]


def test_a_negative_forecast_needs_a_reason() -> None:
    # the finding: −£50m forecast for M09 with no reason raised the chance of meeting the control total
    edited = scheme(forecast=forecast(M09=-50_000_000_00))
    faults = edit_faults(scheme(), edited, AT_M08)
    assert where(faults) == ["forecast M09", "forecast M09"]
    assert "needs a reason" in faults[0].reason
    assert "£3,600,000.00" in faults[1].reason  # three times the £1.2m plan


def test_a_small_negative_forecast_with_a_reason_is_accepted() -> None:
    before = scheme(negative_reason="double running while the new service starts")
    assert edit_faults(before, before.with_changes(forecast=forecast(M09=-10_000_00)), AT_M08) == []


def test_a_forecast_over_three_times_the_years_plan_is_refused() -> None:
    assert edit_faults(scheme(), scheme(forecast=forecast(M12=3_600_000_00)), AT_M08) == []
    faults = edit_faults(scheme(), scheme(forecast=forecast(M12=3_600_000_01)), AT_M08)
    assert where(faults) == ["forecast M12"]


def test_no_month_holds_more_than_a_billion_pounds_even_with_no_plan() -> None:
    idea = scheme(planned=(0,) * 12, delivered=(None,) * 12, status=SchemeStatus.IDEA)
    assert edit_faults(idea, idea.with_changes(forecast=forecast(M10=1_000_000_000_00)), AT_M08) == []
    huge = idea.with_changes(forecast=forecast(M10=2**63))
    assert where(edit_faults(idea, huge, AT_M08)) == ["forecast M10"]


@pytest.mark.parametrize("month", [1, 7, 8])
def test_a_past_months_forecast_cannot_change(month: int) -> None:
    edited = scheme(forecast=forecast(**{f"M{month:02d}": 1}))
    assert where(edit_faults(scheme(), edited, AT_M08)) == [f"forecast M{month:02d}"]
    assert edit_faults(scheme(), scheme(forecast=forecast(M09=1)), AT_M08) == []


def test_nothing_is_delivered_after_the_as_at_month() -> None:
    # the finding: savings delivered in M12 while the workspace is at M08
    faults = edit_faults(scheme(), scheme(delivered=(*scheme().delivered[:11], 5_000_00)), AT_M08)
    assert where(faults) == ["delivered M12"]
    assert "after the as-at month" in faults[0].reason
    new = edit_faults(None, scheme(delivered=(*scheme().delivered[:11], 5_000_00)), AT_M08)
    assert where(new) == ["delivered M12"]


def test_a_closed_months_delivery_is_not_overwritten_but_a_late_one_is_filled_in() -> None:
    changed = list(scheme().delivered)
    changed[6] = 1
    assert where(edit_faults(scheme(), scheme(delivered=tuple(changed)), AT_M08)) == ["delivered M07"]
    late = list(scheme().delivered)
    late[7] = 80_000_00  # M08 is reported, not closed
    assert edit_faults(scheme(), scheme(delivered=tuple(late)), AT_M08) == []
    unreported = scheme().with_changes(delivered=(None,) * 12)
    assert edit_faults(unreported, scheme(), AT_M08) == []  # M01-M07 filled in after their close


@pytest.mark.parametrize("reference", ["../../../etc/passwd", "a b", "-S1", "", "x" * 41, "S1/2", "S1\n"])
def test_an_unsafe_reference_is_refused(reference: str) -> None:
    assert where(edit_faults(None, scheme(reference=reference or " x"), EditWindow())) == ["reference"]


@pytest.mark.parametrize("reference", ["S1", "QU9-Q01", "a.b_c-9", "x" * 40])
def test_a_safe_reference_is_accepted(reference: str) -> None:
    assert edit_faults(None, scheme(reference=reference), EditWindow()) == []


def test_values_an_edit_leaves_alone_are_not_judged() -> None:
    # stored before the rules: a negative forecast with no reason; changing the title alone is still allowed
    legacy = scheme(forecast=forecast(M10=-1))
    assert edit_faults(legacy, legacy.with_changes(title="Renamed"), AT_M08) == []


def test_the_window_follows_the_workspace_month_across_years() -> None:
    as_at = FinancialMonth(YEAR, 8)
    assert EditWindow.for_year(YEAR, as_at, 7) == AT_M08
    assert EditWindow.for_year(FinancialYear(2024), as_at, 0) == EditWindow(12, 0)
    assert EditWindow.for_year(FinancialYear(2026), as_at, 0) == EditWindow(None, 0)
    assert EditWindow.for_year(YEAR, None, 3) == EditWindow(None, 3)


def test_confidence_reads_the_same_however_many_zeros_it_carries() -> None:
    # the finding: the audit trail recorded confidence 0.810000 -> 0.81 as a change
    stored, typed = scheme(confidence=Decimal("0.810000")), scheme(confidence=Decimal("0.81"))
    assert scheme_to_data(stored) == scheme_to_data(typed)
    assert scheme_to_data(stored)["confidence"] == "0.81"
    assert scheme_to_data(scheme(confidence=Decimal("1.000000")))["confidence"] == "1"
    assert scheme_to_data(scheme(confidence=Decimal("0E-6")))["confidence"] == "0"
