"""Practice list sizes by period: which of the lists held is a month's (or a year's) list.

Registered lists are published monthly (NHS Digital's "Patients Registered at a GP Practice", as at the first of
the month) or quarterly; each list held is a month's list from its extract date. As OpenPrescribing does, a rate
for a month uses that month's list: the list of the latest month held up to and including it. A month before
every list held uses the earliest list, and says so (``before_first``). A financial year's rate uses the mean of
its twelve months' lists, each chosen so, rounded to a whole patient (half up).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from outturn.domain.periods import FinancialYear


def list_month(extract_date: date) -> str:
    """The month a list is that month's list of: ``YYYY-MM`` of its extract date."""
    return f"{extract_date.year:04d}-{extract_date.month:02d}"


def year_months(year: FinancialYear) -> list[str]:
    """April to March of ``year`` as ``YYYY-MM``."""
    start = year.start_year
    return [f"{start + (month < 4):04d}-{month:02d}" for month in (*range(4, 13), *range(1, 4))]


@dataclass(frozen=True)
class ListChoice:
    """A practice's list for a month: its size, the month of the list used, and whether the month is before
    every list held (so the earliest list stands in for it)."""

    list_size: int
    list_month: str
    before_first: bool


def list_for_month(held: Mapping[str, int], month: str) -> ListChoice | None:
    """The list of ``month`` (``YYYY-MM``) among ``held`` (list month -> patients); ``None`` when none is held."""
    if not held:
        return None
    months = sorted(held)
    index = bisect_right(months, month) - 1
    if index < 0:
        return ListChoice(held[months[0]], months[0], before_first=True)
    return ListChoice(held[months[index]], months[index], before_first=False)


def list_for_months(held: Mapping[str, int], months: Sequence[str]) -> tuple[int, bool] | None:
    """The mean of ``months``' lists, rounded half up to a whole patient, and whether any month came before every
    list held; ``None`` when no list is held."""
    choices = [list_for_month(held, month) for month in months]
    found = [choice for choice in choices if choice is not None]
    if not found:
        return None
    mean = Fraction(sum(choice.list_size for choice in found), len(found))
    return math.floor(mean + Fraction(1, 2)), any(choice.before_first for choice in found)
