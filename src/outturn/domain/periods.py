"""Financial years and months: the NHS year runs April to March, M01 = April … M12 = March."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from outturn.domain.errors import BadInput

MONTHS_IN_YEAR = 12
_CALENDAR_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip


class PeriodError(BadInput):
    """A text that is not a financial year or month; the message says why."""


@dataclass(frozen=True, order=True)
class FinancialYear:
    """The year starting 1 April ``start_year``: ``FinancialYear(2025)`` is 2025/26."""

    start_year: int

    def __post_init__(self) -> None:
        if not 1990 <= self.start_year <= 2100:
            raise PeriodError(f"financial year {self.start_year} is out of range")

    @classmethod
    def parse(cls, text: str | int) -> FinancialYear:
        """``2025/26``, ``2025-26``, ``FY2025/26``, ``202526`` or a start year ``2025``."""
        if isinstance(text, int):
            return cls(text)
        cleaned = text.strip().upper().removeprefix("FY").strip()
        match = re.fullmatch(r"(\d{4})\s*[/-]?\s*(\d{2}|\d{4})?", cleaned)
        if match is None:
            raise PeriodError(f"not a financial year: {text!r} (expected e.g. 2025/26)")
        start = int(match.group(1))
        if match.group(2) is not None:
            end = int(match.group(2))
            if end % 100 != (start + 1) % 100:
                raise PeriodError(f"not a financial year: {text!r} (the years must be consecutive)")
        return cls(start)

    @property
    def label(self) -> str:
        return f"{self.start_year}/{(self.start_year + 1) % 100:02d}"

    def previous(self) -> FinancialYear:
        return FinancialYear(self.start_year - 1)

    def month(self, number: int) -> FinancialMonth:
        return FinancialMonth(self, number)

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True, order=True)
class FinancialMonth:
    """Month ``number`` (1 = April … 12 = March) of a financial year."""

    year: FinancialYear
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= MONTHS_IN_YEAR:
            raise PeriodError(f"month {self.number} is outside the financial year (M01 to M12)")

    @classmethod
    def from_calendar(cls, calendar_year: int, calendar_month: int) -> FinancialMonth:
        if not 1 <= calendar_month <= MONTHS_IN_YEAR:
            raise PeriodError(f"calendar month {calendar_month} does not exist")
        start_year = calendar_year if calendar_month >= 4 else calendar_year - 1
        return cls(FinancialYear(start_year), (calendar_month - 4) % MONTHS_IN_YEAR + 1)

    @classmethod
    def parse_as_at(cls, text: str) -> FinancialMonth:
        """A calendar month ``YYYY-MM`` (``2025-11`` is M08 of 2025/26) or ``2025/26 M08``."""
        cleaned = text.strip()
        calendar = re.fullmatch(r"(\d{4})-(\d{1,2})", cleaned)
        if calendar is not None:
            return cls.from_calendar(int(calendar.group(1)), int(calendar.group(2)))
        financial = re.fullmatch(r"(.+?)\s+(M?\d{1,2})", cleaned, re.IGNORECASE)
        if financial is not None:
            return cls(FinancialYear.parse(financial.group(1)), parse_month_number(financial.group(2)))
        raise PeriodError(f"not a month: {text!r} (expected YYYY-MM, e.g. 2025-11, or 2025/26 M08)")

    @property
    def label(self) -> str:
        return f"M{self.number:02d}"

    @property
    def calendar_year(self) -> int:
        return self.year.start_year if self.number <= 9 else self.year.start_year + 1

    @property
    def calendar_month(self) -> int:
        return (self.number + 2) % MONTHS_IN_YEAR + 1

    @property
    def calendar_label(self) -> str:
        return f"{self.calendar_year:04d}-{self.calendar_month:02d}"

    @property
    def name(self) -> str:
        return _CALENDAR_NAMES[self.calendar_month - 1].capitalize()

    @property
    def elapsed(self) -> int:
        """Months of the year closed at this month, this one included (the N of year-to-date)."""
        return self.number

    @property
    def remaining(self) -> int:
        return MONTHS_IN_YEAR - self.number

    def months_to_date(self) -> tuple[int, ...]:
        return tuple(range(1, self.number + 1))

    def months_remaining(self) -> tuple[int, ...]:
        return tuple(range(self.number + 1, MONTHS_IN_YEAR + 1))

    def __str__(self) -> str:
        return f"{self.year.label} {self.label}"


def parse_month_number(text: str | int) -> int:
    """A month of the financial year: ``M08``, ``8``, ``08``, or a calendar name (``Nov``, ``November``)."""
    if isinstance(text, int):
        number = text
    else:
        cleaned = text.strip().lower()
        named = [i for i, name in enumerate(_CALENDAR_NAMES, start=1) if len(cleaned) >= 3 and name.startswith(cleaned)]
        if named:
            return FinancialMonth.from_calendar(2000, named[0]).number
        match = re.fullmatch(r"m?(\d{1,2})", cleaned)
        if match is None:
            raise PeriodError(f"not a month: {text!r} (expected M01 to M12, 1 to 12 or a month name)")
        number = int(match.group(1))
    if not 1 <= number <= MONTHS_IN_YEAR:
        raise PeriodError(f"month {text!r} is outside the financial year (M01 to M12)")
    return number


def parse_day(text: str) -> date:
    """A calendar day written YYYY-MM-DD; ``PeriodError`` naming the text otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(f"not a date: {text!r} (expected YYYY-MM-DD, e.g. 2025-09-30)") from None
