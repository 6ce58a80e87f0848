"""Financial years and months: the NHS year runs April (M01) to March (M12).

Expected values are the published NHS convention worked by hand, and an independent month count
(calendar months since a fixed origin) for the properties.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outturn.domain.periods import (
    MONTHS_IN_YEAR,
    FinancialMonth,
    FinancialYear,
    PeriodError,
    parse_month_number,
)

PROPERTY = settings(max_examples=200, deadline=None)

# M01 is April ... M12 is March: written out by hand, not computed.
NHS_MONTHS = [
    (1, 4, "April"),
    (2, 5, "May"),
    (3, 6, "June"),
    (4, 7, "July"),
    (5, 8, "August"),
    (6, 9, "September"),
    (7, 10, "October"),
    (8, 11, "November"),
    (9, 12, "December"),
    (10, 1, "January"),
    (11, 2, "February"),
    (12, 3, "March"),
]


@pytest.mark.parametrize(("number", "calendar_month", "name"), NHS_MONTHS)
def test_financial_months_run_april_to_march(number: int, calendar_month: int, name: str) -> None:
    month = FinancialYear(2025).month(number)
    assert month.calendar_month == calendar_month
    assert month.name == name
    assert month.calendar_year == (2025 if calendar_month >= 4 else 2026)
    assert month.label == f"M{number:02d}"


@pytest.mark.parametrize(
    ("calendar_year", "calendar_month", "start_year", "number"),
    [
        (2025, 11, 2025, 8),  # November 2025 is M08 of 2025/26
        (2026, 3, 2025, 12),  # March 2026 closes 2025/26
        (2025, 4, 2025, 1),  # April 2025 opens 2025/26
        (2026, 1, 2025, 10),
        (2025, 3, 2024, 12),
        (2026, 4, 2026, 1),
    ],
)
def test_from_calendar_hand_examples(calendar_year: int, calendar_month: int, start_year: int, number: int) -> None:
    assert FinancialMonth.from_calendar(calendar_year, calendar_month) == FinancialMonth(
        FinancialYear(start_year), number
    )


@pytest.mark.parametrize("calendar_month", [0, 13, -1])
def test_from_calendar_refuses_months_that_do_not_exist(calendar_month: int) -> None:
    with pytest.raises(PeriodError, match="does not exist"):
        FinancialMonth.from_calendar(2025, calendar_month)


def test_month_labels_and_text() -> None:
    month = FinancialMonth.from_calendar(2025, 11)
    assert str(month) == "2025/26 M08"
    assert month.calendar_label == "2025-11"
    assert month.year.label == "2025/26"
    assert str(FinancialYear(2099)) == "2099/00"


def test_elapsed_and_remaining_at_m08() -> None:
    month = FinancialYear(2025).month(8)
    assert month.elapsed == 8
    assert month.remaining == 4
    assert month.months_to_date() == (1, 2, 3, 4, 5, 6, 7, 8)
    assert month.months_remaining() == (9, 10, 11, 12)


@pytest.mark.parametrize("number", range(1, 13))
def test_elapsed_plus_remaining_is_the_year(number: int) -> None:
    month = FinancialYear(2025).month(number)
    assert month.elapsed + month.remaining == 12
    assert month.months_to_date() + month.months_remaining() == tuple(range(1, 13))


@pytest.mark.parametrize("number", [0, 13, -1])
def test_month_outside_the_year_is_refused(number: int) -> None:
    with pytest.raises(PeriodError, match="M01 to M12"):
        FinancialMonth(FinancialYear(2025), number)


def test_months_order_chronologically() -> None:
    march_2026 = FinancialMonth.from_calendar(2026, 3)
    april_2026 = FinancialMonth.from_calendar(2026, 4)
    november_2025 = FinancialMonth.from_calendar(2025, 11)
    assert november_2025 < march_2026 < april_2026
    assert FinancialYear(2024) < FinancialYear(2025)
    assert FinancialYear(2025).previous() == FinancialYear(2024)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-11", FinancialMonth(FinancialYear(2025), 8)),
        ("2026-03", FinancialMonth(FinancialYear(2025), 12)),
        ("2025-4", FinancialMonth(FinancialYear(2025), 1)),
        ("2025/26 M08", FinancialMonth(FinancialYear(2025), 8)),
        ("FY2025/26 M8", FinancialMonth(FinancialYear(2025), 8)),
        ("2025-26 m12", FinancialMonth(FinancialYear(2025), 12)),
        ("  2025/26 M01  ", FinancialMonth(FinancialYear(2025), 1)),
    ],
)
def test_parse_as_at(text: str, expected: FinancialMonth) -> None:
    assert FinancialMonth.parse_as_at(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2025-13", "does not exist"),
        ("2025/26 M13", "M01 to M12"),
        ("2025/27 M08", "consecutive"),
        ("November", "not a month"),
        ("", "not a month"),
    ],
)
def test_parse_as_at_refusals(text: str, fragment: str) -> None:
    with pytest.raises(PeriodError, match=fragment):
        FinancialMonth.parse_as_at(text)


@pytest.mark.parametrize("text", ["2025/26", "2025-26", "FY2025/26", "fy 2025/26", "202526", "2025/2026", "2025", 2025])
def test_financial_year_parse_forms(text: str | int) -> None:
    assert FinancialYear.parse(text) == FinancialYear(2025)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2025/27", "consecutive"),
        ("2025-13", "consecutive"),
        ("2025/25", "consecutive"),
        ("13", "not a financial year"),
        ("twenty25", "not a financial year"),
        ("", "not a financial year"),
        (1989, "out of range"),
        ("2101/02", "out of range"),
    ],
)
def test_financial_year_parse_refusals(text: str | int, fragment: str) -> None:
    with pytest.raises(PeriodError, match=fragment):
        FinancialYear.parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nov", 8),
        ("november", 8),
        ("Apr", 1),
        ("Mar", 12),
        ("May", 2),
        ("Jan", 10),
        ("Sept", 6),
        ("M08", 8),
        ("m8", 8),
        ("08", 8),
        ("12", 12),
        ("M01", 1),
        (7, 7),
    ],
)
def test_parse_month_number(text: str | int, expected: int) -> None:
    assert parse_month_number(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("M13", "outside the financial year"),
        ("0", "outside the financial year"),
        ("M00", "outside the financial year"),
        (13, "outside the financial year"),
        ("Ma", "not a month"),  # too short to name one month
        ("Smarch", "not a month"),
        ("", "not a month"),
    ],
)
def test_parse_month_number_refusals(text: str | int, fragment: str) -> None:
    with pytest.raises(PeriodError, match=fragment):
        parse_month_number(text)


@PROPERTY
@given(st.integers(min_value=1991, max_value=2100), st.integers(min_value=1, max_value=12))
def test_from_calendar_round_trips(calendar_year: int, calendar_month: int) -> None:
    month = FinancialMonth.from_calendar(calendar_year, calendar_month)
    assert (month.calendar_year, month.calendar_month) == (calendar_year, calendar_month)
    assert FinancialMonth.parse_as_at(month.calendar_label) == month
    assert FinancialMonth.parse_as_at(str(month)) == month


@PROPERTY
@given(st.integers(min_value=1991, max_value=2100), st.integers(min_value=1, max_value=12))
def test_financial_month_is_the_calendar_month_shifted_by_three(calendar_year: int, calendar_month: int) -> None:
    """Counting months from an origin: the financial index lags the calendar index by exactly 3 (Jan–Mar)."""
    month = FinancialMonth.from_calendar(calendar_year, calendar_month)
    calendar_index = calendar_year * MONTHS_IN_YEAR + (calendar_month - 1)
    financial_index = month.year.start_year * MONTHS_IN_YEAR + (month.number - 1)
    assert calendar_index - financial_index == 3
