"""Contract challenges: queries raised with a provider about the activity it charged under a contract.

A challenge belongs to one contract (provider x commissioner x financial year) and has a reference made by the
store (``CH-<start year>-<number>``), a category, the £ challenged, the date raised and who raised it, optionally the
point of delivery, treatment function and months it concerns, notes, and a status:

- ``open`` until the provider answers; counted in the statement as a risk at its likelihood (``DEFAULT_LIKELIHOOD``
  unless the challenge states its own): expected £ = £ challenged x likelihood, rounded half away from zero;
- ``agreed`` (with the £ agreed, which may differ from the £ challenged): the statement's forecast falls by the £
  agreed, and its year to date by the share of it in months to date;
- ``rejected`` or ``withdrawn``: closed, counted nowhere.

The rules of a status change (``change_challenge``): an open challenge may be agreed, rejected or withdrawn; a
closed one (agreed, rejected, withdrawn) may only be reopened, and reopening needs a reason; a closed challenge
never moves straight to another closed status (reopen it first, so each decision is its own entry in the audit
trail). The £ agreed is given with ``agreed`` and may be amended while the challenge stays agreed. Notes and the
likelihood may change in any status. Every change records the date the status last changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import TypeVar

from outturn.domain.errors import BadInput
from outturn.domain.money import Pence, div_round, format_pounds, scale
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialYear, parse_month_number

DEFAULT_LIKELIHOOD = Decimal("0.5")  # an open challenge's chance of being agreed, unless it states its own
REFERENCE_PATTERN = re.compile(r"CH-\d{4}-\d{4,6}")


class ChallengeError(BadInput):
    """A challenge, or a change to one, that the rules refuse."""


class ChallengeCategory(StrEnum):
    CODING = "coding"
    COUNTING = "counting"
    DUPLICATE = "duplicate"
    READMISSION = "readmission"
    OUT_OF_CONTRACT = "out_of_contract"
    OTHER = "other"


class ChallengeStatus(StrEnum):
    OPEN = "open"
    AGREED = "agreed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def closed(self) -> bool:
        return self is not ChallengeStatus.OPEN


E = TypeVar("E", bound=StrEnum)


def parse_choice(kind: type[E], text: str, what: str) -> E:
    """``text`` as one of ``kind``'s values, or a clear error listing them."""
    try:
        return kind(text.strip().lower().replace(" ", "_"))
    except ValueError:
        allowed = ", ".join(item.value for item in kind)
        raise ChallengeError(f"{what} {text!r} is not one of {allowed}") from None


def make_reference(year: FinancialYear, number: int) -> str:
    return f"CH-{year.start_year}-{number:04d}"


def check_reference(reference: str) -> str:
    if not REFERENCE_PATTERN.fullmatch(reference):
        raise ChallengeError(f"{reference!r} is not a challenge reference (CH-<year>-<number>, e.g. CH-2018-0001)")
    return reference


def year_of_reference(reference: str) -> FinancialYear:
    """The financial year a reference was made in (``CH-2018-0007``: 2018/19)."""
    return FinancialYear(int(check_reference(reference.strip().upper()).split("-")[1]))


def parse_months(text: str) -> tuple[int, ...]:
    """Financial months written ``M06,M07,M08`` (or ``6,7,8``, or month names), in order, each once."""
    return tuple(sorted({parse_month_number(part) for part in text.split(",") if part.strip()}))


@dataclass(frozen=True)
class Challenge:
    reference: str
    provider: str
    commissioner: str
    year: FinancialYear
    category: ChallengeCategory
    value_pence: Pence  # the £ challenged
    raised_on: date
    raised_by: str
    point_of_delivery: str | None = None
    treatment_function: str | None = None
    months: tuple[int, ...] = ()  # financial months (1 = April) the challenge concerns; empty: not stated
    status: ChallengeStatus = ChallengeStatus.OPEN
    status_changed_on: date | None = None  # None: still in the status it was raised in
    status_reason: str = ""  # why the status last changed (required to reopen)
    agreed_pence: Pence | None = None  # only while agreed
    likelihood: Decimal | None = None  # None: DEFAULT_LIKELIHOOD
    notes: str = ""
    version: int = 1

    def __post_init__(self) -> None:
        if self.value_pence <= 0:
            raise ChallengeError(f"the £ challenged must be more than zero, not {format_pounds(self.value_pence)}")
        if sorted(set(self.months)) != list(self.months) or any(not 1 <= m <= MONTHS_IN_YEAR for m in self.months):
            raise ChallengeError(f"months {list(self.months)} must be distinct financial months 1 to 12, in order")
        if (self.status is ChallengeStatus.AGREED) != (self.agreed_pence is not None):
            raise ChallengeError("an agreed challenge needs the £ agreed, and only an agreed challenge has one")
        if self.agreed_pence is not None and self.agreed_pence < 0:
            raise ChallengeError(f"the £ agreed cannot be negative ({format_pounds(self.agreed_pence)})")
        if self.likelihood is not None and not Decimal(0) <= self.likelihood <= Decimal(1):
            raise ChallengeError(f"likelihood {self.likelihood} must be between 0 and 1")

    @property
    def likelihood_used(self) -> Decimal:
        return DEFAULT_LIKELIHOOD if self.likelihood is None else self.likelihood

    @property
    def expected_pence(self) -> Pence:
        """An open challenge's £ at its likelihood (rounded half away from zero); nothing once closed."""
        return scale(self.value_pence, self.likelihood_used) if self.status is ChallengeStatus.OPEN else 0

    def agreed_to_date_pence(self, as_at_month: int) -> Pence:
        """The £ agreed that falls in months up to ``as_at_month``: all of it when no months are stated, else the
        share of the months stated that are to date."""
        agreed = self.agreed_pence or 0
        if not self.months:
            return agreed
        return div_round(agreed * sum(1 for m in self.months if m <= as_at_month), len(self.months))


# Fields a change may set; None leaves a field as it is.
@dataclass(frozen=True)
class ChallengeChange:
    status: ChallengeStatus | None = None
    agreed_pence: Pence | None = None
    notes: str | None = None
    likelihood: Decimal | None = None
    reason: str = ""  # why the status changes; required to reopen


def change_challenge(challenge: Challenge, change: ChallengeChange, on: date) -> Challenge:
    """The challenge after ``change`` on ``on``, by the rules in this module's docstring (version unchanged: the
    store sets it)."""
    status = change.status or challenge.status
    moving = status is not challenge.status
    if moving and challenge.status.closed and status.closed:
        raise ChallengeError(
            f"challenge {challenge.reference} is {challenge.status.value}: reopen it (with a reason) before it can"
            f" be {status.value}"
        )
    if moving and status is ChallengeStatus.OPEN and not change.reason.strip():
        raise ChallengeError(f"reopening challenge {challenge.reference} needs a reason")
    if change.agreed_pence is not None and status is not ChallengeStatus.AGREED:
        raise ChallengeError(f"a £ agreed is given only when the challenge is agreed, not {status.value}")
    agreed = challenge.agreed_pence if status is ChallengeStatus.AGREED else None
    if change.agreed_pence is not None:
        agreed = change.agreed_pence
    if status is ChallengeStatus.AGREED and agreed is None:
        raise ChallengeError(f"agreeing challenge {challenge.reference} needs the £ agreed")
    return replace(
        challenge,
        status=status,
        agreed_pence=agreed,
        status_changed_on=on if moving else challenge.status_changed_on,
        status_reason=change.reason.strip() if moving else challenge.status_reason,
        notes=challenge.notes if change.notes is None else change.notes,
        likelihood=challenge.likelihood if change.likelihood is None else change.likelihood,
    )


@dataclass(frozen=True)
class StatusTotal:
    status: ChallengeStatus
    count: int
    value_pence: Pence  # £ challenged
    agreed_pence: Pence  # £ agreed (agreed challenges only)
    expected_pence: Pence  # £ at likelihood (open challenges only)


@dataclass(frozen=True)
class ChallengeSummary:
    """A contract's challenges as its statement counts them, as at a month of the year."""

    as_at_month: int
    challenges: tuple[Challenge, ...] = field(default=())

    def _of(self, status: ChallengeStatus) -> list[Challenge]:
        return [c for c in self.challenges if c.status is status]

    @property
    def agreed_pence(self) -> Pence:
        """Taken off the forecast."""
        return sum(c.agreed_pence or 0 for c in self._of(ChallengeStatus.AGREED))

    @property
    def agreed_to_date_pence(self) -> Pence:
        """Taken off the year-to-date actual."""
        return sum(c.agreed_to_date_pence(self.as_at_month) for c in self._of(ChallengeStatus.AGREED))

    @property
    def open_pence(self) -> Pence:
        return sum(c.value_pence for c in self._of(ChallengeStatus.OPEN))

    @property
    def open_expected_pence(self) -> Pence:
        """The open challenges' risk: each one's £ at its likelihood, rounded, then summed."""
        return sum(c.expected_pence for c in self._of(ChallengeStatus.OPEN))

    def totals(self) -> tuple[StatusTotal, ...]:
        return tuple(status_totals(self.challenges))


def status_totals(challenges: Iterable[Challenge]) -> list[StatusTotal]:
    """Count, £ challenged, £ agreed and £ expected by status, every status listed."""
    found = list(challenges)
    return [
        StatusTotal(
            status,
            len(mine := [c for c in found if c.status is status]),
            sum(c.value_pence for c in mine),
            sum(c.agreed_pence or 0 for c in mine),
            sum(c.expected_pence for c in mine),
        )
        for status in ChallengeStatus
    ]


# --- a case-mix drift cell raised as a coding challenge ------------------------------------------------------


@dataclass(frozen=True)
class DriftCell:
    """A case-mix cell's two periods: spells and their total price (pence)."""

    point_of_delivery: str
    treatment_function: str
    baseline_spells: int
    baseline_pence: Pence
    current_spells: int
    current_pence: Pence
    baseline_months: tuple[int, ...]
    current_months: tuple[int, ...]


def drift_value_pence(cell: DriftCell) -> Pence:
    """(current mean price - baseline mean price) x current spells, worked in exact fractions and rounded half away
    from zero to the penny once."""
    if cell.baseline_spells <= 0 or cell.current_spells <= 0:
        raise ChallengeError("a case-mix cell needs spells in both periods to be challenged")
    current_mean = Fraction(cell.current_pence, cell.current_spells)
    baseline_mean = Fraction(cell.baseline_pence, cell.baseline_spells)
    return div_round((current_mean - baseline_mean) * cell.current_spells)


def _mean_text(pence: int, spells: int) -> str:
    return format_pounds(div_round(pence, spells))


def drift_notes(cell: DriftCell) -> str:
    """The working of ``drift_value_pence`` in words, for the challenge's notes."""

    def months(found: Sequence[int]) -> str:
        return f"M{found[0]:02d}-M{found[-1]:02d}"

    return (
        f"Case-mix drift, {cell.point_of_delivery.replace('_', ' ')}, treatment function {cell.treatment_function}:"
        f" mean price per spell {_mean_text(cell.current_pence, cell.current_spells)} in {months(cell.current_months)}"
        f" ({cell.current_spells} spells, {format_pounds(cell.current_pence)}) against"
        f" {_mean_text(cell.baseline_pence, cell.baseline_spells)} in {months(cell.baseline_months)}"
        f" ({cell.baseline_spells} spells, {format_pounds(cell.baseline_pence)});"
        f" (current mean - baseline mean) x {cell.current_spells} current spells"
        f" = {format_pounds(drift_value_pence(cell))}."
    )


def drift_challenge(
    cell: DriftCell, provider: str, commissioner: str, year: FinancialYear, raised_on: date, raised_by: str
) -> Challenge:
    """A coding challenge for a drift cell, pre-filled (reference left for the store to make)."""
    value = drift_value_pence(cell)
    if value <= 0:
        raise ChallengeError(
            f"the mean price per spell in {cell.point_of_delivery.replace('_', ' ')}, treatment function"
            f" {cell.treatment_function} has not risen ({format_pounds(value)}): there is nothing to challenge"
        )
    return Challenge(
        reference="",
        provider=provider,
        commissioner=commissioner,
        year=year,
        category=ChallengeCategory.CODING,
        value_pence=value,
        raised_on=raised_on,
        raised_by=raised_by,
        point_of_delivery=cell.point_of_delivery,
        treatment_function=cell.treatment_function,
        months=cell.current_months,
        notes=drift_notes(cell),
    )
