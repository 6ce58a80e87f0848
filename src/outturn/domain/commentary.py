"""Commentary: a budget holder's explanation of a ledger line's variance, one per line per month.

A commentary hangs on a line's ``TrialBalanceLineKey`` (organisation, cost centre, subjective code) and a financial
month. Its ``version`` starts at 1 and rises with every change: a change names the version it started from (0 for a line
with no commentary yet) and is refused when the stored one has moved on, like a savings scheme.

The rules here are pure: what a commentary's text may be, the order a budget holder meets their lines in (those
that need commentary first, the largest forecast variance first), and which lines the board pack quotes (the
largest variances that have commentary) and lists (those above the threshold that have none).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from outturn.domain.errors import BadInput, Conflict
from outturn.domain.periods import FinancialMonth
from outturn.domain.trial_balance import BudgetHolderLine, TrialBalanceLineKey

MAX_COMMENTARY_CHARACTERS = 4000
PACK_QUOTES = 3  # the pack quotes the commentary of this many of the largest variances
PACK_MISSING_NAMED = 5  # and names this many of the lines above the threshold with none (then a count of the rest)
ALLOWED_CONTROLS = frozenset("\n\t")


class CommentaryError(BadInput):
    """A commentary that cannot be stored as given (empty, too long, unreadable characters)."""


@dataclass(frozen=True)
class Commentary:
    """One line's commentary for one month, as stored."""

    key: TrialBalanceLineKey
    month: FinancialMonth
    text: str
    author: str
    written_at: datetime
    version: int


class CommentaryConflict(Conflict):
    """Someone else wrote the line's commentary first: the stored version is not the one the change started from."""

    def __init__(
        self, key: TrialBalanceLineKey, month: FinancialMonth, expected: int, current: Commentary | None
    ) -> None:
        self.key, self.month, self.expected, self.current = key, month, expected, current
        now = f"version {current.version}, by {current.author}" if current is not None else "none"
        super().__init__(
            f"the commentary on {key.label} for {month.label} {month.year.label} was changed by someone else (you"
            f" changed version {expected}; it is now {now}): nothing was saved"
        )


def clean_text(text: str) -> str:
    """The commentary as stored: trimmed, Windows line ends made plain; ``CommentaryError`` when it is empty, too
    long, or holds control characters other than line breaks and tabs."""
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not cleaned:
        raise CommentaryError("the commentary is empty: say what explains the variance")
    if len(cleaned) > MAX_COMMENTARY_CHARACTERS:
        raise CommentaryError(
            f"the commentary is {len(cleaned):,} characters long: at most {MAX_COMMENTARY_CHARACTERS:,}"
        )
    odd = sorted({c for c in cleaned if unicodedata.category(c) == "Cc" and c not in ALLOWED_CONTROLS})
    if odd:
        listed = ", ".join(f"U+{ord(c):04X}" for c in odd)
        raise CommentaryError(f"the commentary holds control characters ({listed}): remove them")
    return cleaned


class CommentaryClosed(Conflict):
    """The month is closed: its commentary stands as the close left it until the month is reopened."""

    def __init__(self, month: FinancialMonth) -> None:
        self.month = month
        super().__init__(
            f"{month.label} {month.year.label} is closed: its commentary cannot be changed unless the month is"
            " reopened (with a reason); nothing was saved"
        )


@dataclass(frozen=True)
class CommentedLine:
    """A budget holder's line as at a month, with its commentary for that month and last month's (for reuse)."""

    line: BudgetHolderLine
    commentary: Commentary | None
    last_month: Commentary | None

    @property
    def missing(self) -> bool:
        """Above the threshold and not yet explained."""
        return self.line.needs_commentary and self.commentary is None


def variance_order(line: BudgetHolderLine) -> tuple[int, int, TrialBalanceLineKey]:
    """The largest forecast variance (either way) first, then the largest year-to-date one, then by key."""
    return (-abs(line.forecast_variance_pence), -abs(line.ytd_variance_pence), line.key)


def commentary_order(lines: Iterable[CommentedLine]) -> tuple[CommentedLine, ...]:
    """Lines that need commentary first, each group in ``variance_order``."""
    return tuple(sorted(lines, key=lambda item: (not item.line.needs_commentary, variance_order(item.line))))


@dataclass(frozen=True)
class CommentaryDigest:
    """What the board pack's narrative says of commentary: the commentary on the largest variances above the
    threshold (largest first) and the lines above the threshold with none (largest first), with how many more."""

    quoted: tuple[CommentedLine, ...] = ()
    missing: tuple[CommentedLine, ...] = ()
    missing_count: int = 0


def pack_digest(
    lines: Sequence[CommentedLine], quotes: int = PACK_QUOTES, named: int = PACK_MISSING_NAMED
) -> CommentaryDigest:
    """The ``quotes`` largest variances above the threshold that have commentary, and the first ``named`` of those
    above it that have none (``missing_count`` counts them all)."""
    material = sorted((item for item in lines if item.line.needs_commentary), key=lambda i: variance_order(i.line))
    quoted = tuple(item for item in material if item.commentary is not None)[:quotes]
    missing = tuple(item for item in material if item.commentary is None)
    return CommentaryDigest(quoted, missing[:named], len(missing))
