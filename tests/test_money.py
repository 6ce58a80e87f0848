"""Money: parsing the forms finance sheets use, rounding to the penny, and formatting for people.

Expected figures are worked by hand, or come from a second implementation in plain ``Decimal`` arithmetic
written here (round half away from zero on the magnitude, sign restored), never from the code's own output.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outturn.domain.money import (
    MAX_PENCE,
    MoneyError,
    div_round,
    format_count,
    format_millions,
    format_pounds,
    format_surplus,
    format_thousands,
    parse_money,
    pounds,
    scale,
)

PROPERTY = settings(max_examples=200, deadline=None)
# Money is stored as BIGINT pence; a file may hold amounts up to MAX_PENCE (£1 trillion), so that sums of many
# stay far inside that range. The round trip is promised over every amount a file may hold.
FILE_AMOUNTS = st.integers(min_value=-MAX_PENCE, max_value=MAX_PENCE)


def reference_round(numerator: Decimal, denominator: Decimal) -> int:
    """Round half away from zero on the magnitude, then restore the sign (independent of the code)."""
    with localcontext() as context:
        context.prec = 120
        magnitude = (abs(numerator) / abs(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    negative = (numerator < 0) != (denominator < 0)
    return -int(magnitude) if negative else int(magnitude)


# --- parsing: accepted forms ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected_pence"),
    [
        ("£1,234.56", 123_456),
        ("1234.56", 123_456),
        ("(1,234.00)", -123_400),
        ("1.2m", 120_000_000),
        ("£45k", 4_500_000),
        ("£3bn", 300_000_000_000),
        ("1.5K", 150_000),
        ("-£5", -500),
        ("£-5", -500),
        ("+5", 500),
        ("\u22125", -500),  # a typographic minus sign
        ("£(1,234)", -123_400),
        ("(£5)", -500),
        ("-£1,234.56", -123_456),
        ("  £1,234.56  ", 123_456),
        ("£\u00a01,234.56", 123_456),  # a non-breaking space after the pound sign, as Excel exports it
        ("1,234,567.89", 123_456_789),
        (".5", 50),
        ("0.1", 10),
        ("1.0000", 100),  # four places, all zero: a whole number of pence
        ("1.234m", 123_400_000),  # three places are fine with a suffix: £1,234,000
        ("0.0001m", 10_000),  # 0.0001 × £1,000,000 = £100
        ("0.00000001m", 1),  # 0.00000001 × £1,000,000 = £0.01
        ("0", 0),
    ],
)
def test_parse_money_accepts_finance_sheet_forms(text: str, expected_pence: int) -> None:
    assert parse_money(text) == expected_pence


@pytest.mark.parametrize(
    ("cell", "expected_pence"),
    [
        (1234.56, 123_456),  # a spreadsheet float, read through its shortest text "1234.56"
        (-0.5, -50),
        (0.1, 10),
        (1e12, 10**14),  # £1 trillion, the largest amount accepted
        (12, 1_200),  # an int is whole pounds
        (-7, -700),
        (Decimal("1.23"), 123),
    ],
)
def test_parse_money_reads_spreadsheet_cells(cell: object, expected_pence: int) -> None:
    assert parse_money(cell) == expected_pence


def test_pounds_helper_takes_whole_or_decimal_pounds() -> None:
    assert pounds(17_000_000) == 1_700_000_000
    assert pounds("1.5") == 150
    with pytest.raises(MoneyError, match="fraction of a penny"):
        pounds("1.005")


# --- parsing: refusals with a reason -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (0.1 + 0.2, "fraction of a penny"),  # 0.30000000000000004
        (0.001, "fraction of a penny"),
        (Decimal("1.234"), "fraction of a penny"),
        ("1.0050", "fraction of a penny"),
        ("0.000000001m", "fraction of a penny"),  # £0.001
        ("1.005", "three decimal places"),
        ("1.234", "three decimal places"),
        ("1,234.567", "three decimal places"),
        ("1,23", "commas must separate thousands"),
        ("1,2345", "commas must separate thousands"),
        ("1 234", "spaces inside a number"),
        ("1\u00a0234", "spaces inside a number"),  # a no-break space is a space: refused inside a number too
        ("1\u202f234", "spaces inside a number"),  # a narrow no-break space
        ("£1,000,000,000,000.01", "beyond £1,000,000,000,000"),
        ("-1000000000001", "beyond £1,000,000,000,000"),
        ("9" * 5000, "beyond £1,000,000,000,000"),  # longer than int() reads, and still a clear problem
        ("1001bn", "beyond £1,000,000,000,000"),
        (10**20, "beyond £1,000,000,000,000"),  # raised OverflowError in the store before
        (1e20, "beyond £1,000,000,000,000"),
        (Decimal("1E+30"), "beyond £1,000,000,000,000"),
        ("1e6", "scientific notation"),
        ("1E-2", "scientific notation"),
        ("12abc", "not a money amount"),
        ("", "empty"),
        ("   ", "empty"),
        ("£", "not a money amount"),
        ("-", "not a money amount"),
        ("--5", "not a money amount"),
        ("(5", "not a money amount"),
        ("1,234.00-", "not a money amount"),
        ("(-5)", "mixed signs"),
        ("(+5)", "mixed signs"),
        ("+(5)", "mixed signs"),
        ("-(5)", "mixed signs"),
        ("£-(5)", "mixed signs"),
        (float("nan"), "not a money amount"),
        (float("inf"), "not a money amount"),
        (Decimal("NaN"), "not a money amount"),
        (True, "not a money amount"),
        (None, "not a money amount"),
    ],
)
def test_parse_money_refuses_ambiguous_or_broken_amounts(raw: object, fragment: str) -> None:
    with pytest.raises(MoneyError, match=fragment):
        parse_money(raw)


def test_money_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_money("twelve pounds")


@PROPERTY
@given(FILE_AMOUNTS)
def test_format_pounds_parses_back_to_the_same_pence(pence: int) -> None:
    assert parse_money(format_pounds(pence)) == pence


@PROPERTY
@given(
    st.booleans(),
    st.integers(min_value=0, max_value=MAX_PENCE // 100 - 1),
    st.text(alphabet="0123456789", max_size=2),
    st.booleans(),
)
def test_parse_money_of_plain_pounds_matches_decimal(negative: bool, whole: int, decimals: str, grouped: bool) -> None:
    """Pounds written with 0–2 decimals, grouped or not: parsing gives Decimal(pounds) × 100 exactly."""
    written = f"{whole:,}" if grouped else str(whole)
    text = ("-" if negative else "") + written + (f".{decimals}" if decimals else "")
    expected = int(Decimal(text.replace(",", "")) * 100)
    assert parse_money(text) == expected
    assert parse_money("£" + text) == expected


# --- rounding -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (5, 2, 3),  # 2.5 rounds away from zero
        (-5, 2, -3),
        (5, -2, -3),
        (-5, -2, 3),
        (7, 2, 4),
        (1, 3, 0),
        (2, 3, 1),
        (-2, 3, -1),
        (0, 7, 0),
        (10, 1, 10),
        (Fraction(5, 2), 1, 3),
        (Fraction(-1, 2), 1, -1),
    ],
)
def test_div_round_hand_examples(numerator: int | Fraction, denominator: int, expected: int) -> None:
    assert div_round(numerator, denominator) == expected


def test_div_round_refuses_division_by_zero() -> None:
    with pytest.raises(ZeroDivisionError):
        div_round(5, 0)


@PROPERTY
@given(
    st.integers(min_value=-(10**18), max_value=10**18),
    st.integers(min_value=-(10**9), max_value=10**9).filter(lambda value: value != 0),
)
def test_div_round_matches_decimal_half_up(numerator: int, denominator: int) -> None:
    assert div_round(numerator, denominator) == reference_round(Decimal(numerator), Decimal(denominator))


@PROPERTY
@given(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=-(10**6), max_value=10**6).filter(lambda value: value != 0),
)
def test_div_round_of_fractions_matches_decimal_half_up(top: int, bottom: int, denominator: int) -> None:
    expected = reference_round(Decimal(top), Decimal(bottom) * Decimal(denominator))
    assert div_round(Fraction(top, bottom), denominator) == expected


@pytest.mark.parametrize(
    ("pence", "factor", "expected"),
    [
        (200_000_000, Decimal("0.5"), 100_000_000),  # £2m at 50% = £1m
        (300_000_000, Decimal("0.6"), 180_000_000),  # £3m at 60% = £1.8m
        (66_000_000_000, Decimal("0.01"), 660_000_000),  # 1% of £660m = £6.6m
        (5, Decimal("0.5"), 3),  # 2.5p rounds away from zero
        (-5, Decimal("0.5"), -3),
        (1, Fraction(1, 3), 0),
        (100, 3, 300),
    ],
)
def test_scale_hand_examples(pence: int, factor: Decimal | Fraction | int, expected: int) -> None:
    assert scale(pence, factor) == expected


@PROPERTY
@given(
    st.integers(min_value=-(10**15), max_value=10**15),
    st.decimals(min_value=0, max_value=1, places=4, allow_nan=False, allow_infinity=False),
)
def test_scale_matches_decimal_half_up(pence: int, factor: Decimal) -> None:
    assert scale(pence, factor) == reference_round(Decimal(pence) * factor, Decimal(1))


# --- formatting ---------------------------------------------------------------------------------------------


# One way to write a negative amount for people, everywhere (CLI, web, pack): in brackets, as finance reports do.


@pytest.mark.parametrize(
    ("pence", "expected"),
    [
        (123_456, "£1,234.56"),
        (-123_456, "(£1,234.56)"),
        (5, "£0.05"),
        (-4, "(£0.04)"),  # four pence owed: exact, so it keeps its brackets
        (0, "£0.00"),
        (123_456_789_012, "£1,234,567,890.12"),
    ],
)
def test_format_pounds_hand_examples(pence: int, expected: str) -> None:
    assert format_pounds(pence) == expected


@pytest.mark.parametrize(
    ("pence", "expected"),
    [
        (123_456_789, "£1,235k"),  # £1,234,567.89 = £1,234.57k → £1,235k
        (-123_456_789, "(£1,235k)"),
        (50_000, "£1k"),  # £500 is half a thousand: away from zero
        (49_999, "£0k"),
        (-49_999, "£0k"),  # rounds to nothing where shown: no "(£0k)"
        (-150_000, "(£2k)"),  # £1.5k rounds away from zero on the magnitude
        (-4_000_000, "(£40k)"),  # -£0.04m in thousands
        (0, "£0k"),
        (66_000_000_000, "£660,000k"),
    ],
)
def test_format_thousands_hand_examples(pence: int, expected: str) -> None:
    assert format_thousands(pence) == expected


@pytest.mark.parametrize(
    ("pence", "places", "expected"),
    [
        (2_450_000_000, 1, "£24.5m"),
        (2_445_000_000, 1, "£24.5m"),  # £24.45m: half away from zero
        (2_444_999_999, 1, "£24.4m"),
        (2_400_000_000, 1, "£24.0m"),
        (123_456_789, 1, "£1.2m"),
        (-123_456_789, 1, "(£1.2m)"),  # the example
        (123_456_789, 2, "£1.23m"),
        (125_000_000, 1, "£1.3m"),  # £1.25m to one place: half away from zero
        (-125_000_000, 1, "(£1.3m)"),  # and the same magnitude when adverse
        (124_999_999, 1, "£1.2m"),
        (-125_000_000, 2, "(£1.25m)"),
        (150_000_000, 0, "£2m"),
        (-4_000_000, 1, "£0.0m"),  # -£0.04m rounds to nothing at one place: no sign, no "(£0.0m)"
        (-4_000_000, 2, "(£0.04m)"),
        (-5_000_000, 1, "(£0.1m)"),  # -£0.05m: half away from zero, so it shows, in brackets
        (0, 1, "£0.0m"),
        (-2_450_000_000, 1, "(£24.5m)"),
        (1_111_178_000_000, 2, "£11,111.78m"),
    ],
)
def test_format_millions_hand_examples(pence: int, places: int, expected: str) -> None:
    assert format_millions(pence, places=places) == expected


@pytest.mark.parametrize(("count", "expected"), [(0, "0"), (12, "12"), (-12, "(12)"), (-1_234, "(1,234)")])
def test_format_count_writes_negatives_as_money_is_written(count: int, expected: str) -> None:
    assert format_count(count) == expected


@PROPERTY
@given(st.integers(min_value=-(10**16), max_value=10**16), st.integers(min_value=0, max_value=3))
def test_format_millions_matches_decimal_half_up(pence: int, places: int) -> None:
    with localcontext() as context:
        context.prec = 60
        millions = (Decimal(abs(pence)) / Decimal(100_000_000)).quantize(
            Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP
        )
    text = f"£{millions:,.{places}f}m"
    # An amount that rounds to nothing where shown carries no sign: no "(£0.0m)".
    assert format_millions(pence, places=places) == (f"({text})" if pence < 0 and millions else text)


@PROPERTY
@given(st.integers(min_value=-(10**16), max_value=10**16))
def test_format_thousands_matches_decimal_half_up(pence: int) -> None:
    thousands = reference_round(Decimal(abs(pence)), Decimal(100_000))
    text = f"£{thousands:,}k"
    assert format_thousands(pence) == (f"({text})" if pence < 0 and thousands else text)


@pytest.mark.parametrize(
    ("pence", "expected"),
    [
        (-2_400_000_000, "£24.0m deficit"),  # a PCT forecasting a £24m overspend
        (660_000_000, "£6.6m surplus"),  # 1% of a £660m allocation
        (-860_000_000, "£8.6m deficit"),
        (0, "break-even"),
        (-4_000_000, "£0.0m deficit"),  # £40k: rounds to nothing in £m but keeps its direction
    ],
)
def test_format_surplus_in_words(pence: int, expected: str) -> None:
    assert format_surplus(pence) == expected
