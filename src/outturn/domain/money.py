"""Money as integer pence: parsing the forms finance sheets use, rounding, and formatting.

Every amount inside outturn is an ``int`` of pence. This module is the one place where text becomes pence,
where pence are divided or scaled (and so rounded), and where pence become text for people. Floats never
carry money: a spreadsheet cell that arrives as a float is read through its shortest decimal text, and is
refused if that text holds a fraction of a penny.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import TypeAlias

from outturn.domain.errors import BadInput

Pence: TypeAlias = int

PENCE_PER_POUND = 100
# The largest amount accepted from a file: £1 trillion, five times the NHS in England's whole budget. Beyond it a
# figure is a typing slip, and sums of many such amounts would overflow the 64-bit integers money is stored in.
MAX_PENCE = 10**12 * PENCE_PER_POUND

_SUFFIX_MULTIPLIERS = {"": 1, "k": 1_000, "m": 1_000_000, "bn": 1_000_000_000}
_AMOUNT = re.compile(
    r"""^(?P<number>
            \d{1,3}(?:,\d{3})+(?:\.\d+)?   # grouped thousands: 1,234,567.89
          | \d+(?:\.\d+)?                  # plain: 1234567.89
          | \.\d+                          # leading point: .5
        )(?P<suffix>k|m|bn)?$""",
    re.VERBOSE | re.IGNORECASE,
)


# The common, unambiguous form ("-£1,234.56", "1234", "1234.5" excluded) read without Decimal, for speed.
_PLAIN = re.compile(r"(-?)£?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{2}))?")
_PLAIN_MAX_CHARS = 40  # longer texts take the Decimal path, which checks the range before making an int


class MoneyError(BadInput):
    """A text that is not an unambiguous amount of money; the message says why."""


def parse_money(raw: object) -> Pence:
    """Parse an amount as finance sheets write it and return integer pence.

    Accepted: ``1234.56``, ``£1,234.56``, ``-£1,234.56``, ``(1,234.00)`` (negative), ``1.2m``, ``£45k``,
    ``£3bn``, an ``int`` (pounds), a ``Decimal`` (pounds), or a ``float`` (pounds, as spreadsheet readers
    return them; read through its shortest decimal text). Refused with a reason: empty text, text that is not a
    number, a comma that is not a thousands separator (``1,23``), three decimal places without a suffix
    (``1.234``: thousands or decimals?), a fraction of a penny, scientific notation, mixed signs, spaces (or
    no-break spaces) inside a number, and amounts beyond ``MAX_PENCE`` (£1 trillion).
    """
    if isinstance(raw, bool):
        raise MoneyError(f"not a money amount: {raw!r}")
    if isinstance(raw, int):
        return _in_range(raw * PENCE_PER_POUND, str(raw))
    if isinstance(raw, Decimal):
        return _decimal_pounds_to_pence(raw, str(raw))
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise MoneyError(f"not a money amount: {raw!r}")
        return _decimal_pounds_to_pence(Decimal(repr(raw)), repr(raw))
    if not isinstance(raw, str):
        raise MoneyError(f"not a money amount: {raw!r}")
    return _parse_money_text(raw)


def _parse_money_text(raw: str) -> Pence:
    plain = _PLAIN.fullmatch(raw) if len(raw) <= _PLAIN_MAX_CHARS else None
    if plain is not None:
        pence = int(plain.group(2).replace(",", "")) * PENCE_PER_POUND + int(plain.group(3) or 0)
        return _in_range(-pence if plain.group(1) else pence, raw)
    # A no-break space (as web pages and some exports write one) is a space: allowed around an amount, refused
    # inside one like any space, because a UK finance sheet separates thousands with commas only.
    text = raw.replace("\u00a0", " ").replace("\u202f", " ").strip()
    if not text:
        raise MoneyError("empty: a money amount is required")
    negative = signed = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    for sign in ("-", "+", "\u2212"):
        if text.startswith(sign) or text.startswith("£" + sign):
            if negative:
                raise MoneyError(f"mixed signs in {raw!r}")
            negative, signed = sign != "+", True
            text = text.replace(sign, "", 1)
            break
    if text.startswith("£"):
        text = text[1:]
    if text.startswith("(") and text.endswith(")"):
        if negative or signed:
            raise MoneyError(f"mixed signs in {raw!r}")
        negative, text = True, text[1:-1]
    match = _AMOUNT.match(text.strip())
    if match is None:
        raise MoneyError(_why_not_money(raw, text))
    number, suffix = match.group("number").replace(",", ""), (match.group("suffix") or "").lower()
    if not suffix and "." in number and len(number.split(".")[1]) == 3:
        raise MoneyError(f"ambiguous amount {raw!r}: three decimal places (thousands separator or decimals?)")
    pounds = Decimal(number) * _SUFFIX_MULTIPLIERS[suffix]
    pence = _decimal_pounds_to_pence(pounds, raw)
    return -pence if negative else pence


def _why_not_money(raw: str, text: str) -> str:
    if re.search(r"\d[eE][+-]?\d", text):
        return f"scientific notation is not accepted for money: {raw!r}"
    if re.fullmatch(r"[\d,]+(\.\d+)?(k|m|bn)?", text, re.IGNORECASE):
        return f"ambiguous amount {raw!r}: commas must separate thousands (1,234,567.89)"
    if re.fullmatch(r"\d[\d ]+\d(\.\d+)?", text):
        return f"ambiguous amount {raw!r}: spaces inside a number"
    return f"not a money amount: {raw!r}"


def _decimal_pounds_to_pence(pounds: Decimal, raw: str) -> Pence:
    try:
        pence = pounds * PENCE_PER_POUND
    except InvalidOperation as error:  # pragma: no cover - Decimal arithmetic on finite values
        raise MoneyError(f"not a money amount: {raw!r}") from error
    if not pence.is_finite():
        raise MoneyError(f"not a money amount: {raw!r}")
    if abs(pence) > MAX_PENCE:
        return _in_range(MAX_PENCE + 1, raw)
    if pence != pence.to_integral_value():
        raise MoneyError(f"fraction of a penny in {raw!r}")
    return _in_range(int(pence), raw)


def _in_range(pence: Pence, raw: str) -> Pence:
    if abs(pence) > MAX_PENCE:
        shown = raw if len(raw) <= 40 else f"{raw[:37]}..."
        raise MoneyError(f"amount {shown!r} is beyond £{MAX_PENCE // PENCE_PER_POUND:,}: check the figure")
    return pence


def pounds(amount: int | str) -> Pence:
    """Whole or decimal pounds written in code (``pounds(17_000_000)``, ``pounds("1.5")``) as pence."""
    return parse_money(amount if isinstance(amount, int) else Decimal(amount))


# --- rounding: the only place money is divided or scaled -----------------------------------------------------


def div_round(numerator: int | Fraction, denominator: int | Fraction = 1) -> Pence:
    """Divide exactly and round half away from zero to a whole penny."""
    if denominator == 0:
        raise ZeroDivisionError("division of money by zero")
    if isinstance(numerator, int) and isinstance(denominator, int):
        whole, remainder = divmod(abs(numerator), abs(denominator))
        if 2 * remainder >= abs(denominator):
            whole += 1
        return whole if (numerator >= 0) == (denominator > 0) else -whole
    quotient = Fraction(numerator) / Fraction(denominator)
    return div_round(quotient.numerator, quotient.denominator)


def scale(pence: Pence, factor: Decimal | Fraction | int) -> Pence:
    """An amount multiplied by a rate (a likelihood, a percentage as a fraction), rounded to the penny."""
    top, bottom = factor.as_integer_ratio()
    return div_round(pence * top, bottom)


# --- formatting for people -----------------------------------------------------------------------------------

# The one sign convention for variances, stated on every surface that shows one (CLI, web, pack, XLSX).
VARIANCE_CONVENTION = (
    "Variance = budget (or plan) less actual (or forecast): positive is favourable (an underspend), negative is "
    "adverse (an overspend or over-performance). Negative amounts are shown in brackets: (£1.2m)."
)


def _signed(text: str, pence: Pence, shown: int | None = None) -> str:
    """A negative amount in brackets, as finance reports write it: ``(£1.2m)``; an amount that rounds to zero
    where shown (``shown == 0``) carries no sign."""
    if pence >= 0 or shown == 0:
        return text
    return f"({text})"


def format_pounds(pence: Pence) -> str:
    """``£1,234.56``; negatives ``(£1,234.56)``."""
    whole, part = divmod(abs(pence), PENCE_PER_POUND)
    return _signed(f"£{whole:,}.{part:02d}", pence)


def format_thousands(pence: Pence) -> str:
    """£000 as finance reports show them: ``£1,235k``, ``(£2k)`` (rounded half away from zero to £1,000)."""
    thousands = div_round(abs(pence), 100_000)
    return _signed(f"£{thousands:,}k", pence, thousands)


def format_millions(pence: Pence, *, places: int = 1) -> str:
    """£m to ``places`` decimals: ``£24.0m``, ``(£1.3m)``; rounded half away from zero."""
    scaled = div_round(abs(pence) * 10**places, 100_000_000)
    whole, part = divmod(scaled, 10**places)
    text = f"£{whole:,}.{part:0{places}d}m" if places else f"£{whole:,}m"
    return _signed(text, pence, scaled)


def format_count(count: int) -> str:
    """A whole number such as an activity variance: ``1,234``; negatives ``(1,234)``, as money is shown."""
    return _signed(f"{abs(count):,}", count)


def format_surplus(pence: Pence) -> str:
    """A surplus or deficit in words: ``£6.6m surplus``, ``£24.0m deficit``, ``break-even``."""
    if pence == 0:
        return "break-even"
    return f"{format_millions(abs(pence))} {'surplus' if pence > 0 else 'deficit'}"
