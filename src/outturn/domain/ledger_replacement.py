"""What a ledger import would replace: the stored lines of the months in a file against the file's lines,
counted and summed by organisation, month and category (lines added, removed, changed; budget and actual before
and after, in pence). Pure: the service loads the stored lines and decides what needs an explicit replace."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from outturn.domain.ledger import LedgerLine
from outturn.domain.money import Pence
from outturn.domain.periods import FinancialYear

MonthKey = tuple[str, int, int]  # organisation, start year, month


# look-alike of domain/forecast_history.py:Movement (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class Side:
    """Some ledger lines counted and summed (an actual not yet reported counts as nothing)."""

    lines: int = 0
    budget_pence: Pence = 0
    actual_pence: Pence = 0

    @classmethod
    def of(cls, lines: Iterable[LedgerLine]) -> Side:
        chosen = list(lines)
        return cls(
            len(chosen),
            sum(line.budget_pence for line in chosen),
            sum(line.actual_pence or 0 for line in chosen),
        )

    def __add__(self, other: Side) -> Side:
        return Side(
            self.lines + other.lines,
            self.budget_pence + other.budget_pence,
            self.actual_pence + other.actual_pence,
        )


@dataclass(frozen=True)
class CategoryChange:
    org_code: str
    year: FinancialYear
    month: int
    category: str
    before: Side
    after: Side
    added: int
    removed: int
    changed: int

    @property
    def month_key(self) -> MonthKey:
        return (self.org_code, self.year.start_year, self.month)

    @property
    def is_unchanged(self) -> bool:
        return self.added == self.removed == self.changed == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "org_code": self.org_code,
            "year": self.year.label,
            "month": f"M{self.month:02d}",
            "category": self.category,
            **_sides(self.before, self.after),
            "lines_added": self.added,
            "lines_removed": self.removed,
            "lines_changed": self.changed,
        }


def _sides(before: Side, after: Side) -> dict[str, int]:
    return {
        "lines_before": before.lines,
        "lines_after": after.lines,
        "budget_before_pence": before.budget_pence,
        "budget_after_pence": after.budget_pence,
        "actual_before_pence": before.actual_pence,
        "actual_after_pence": after.actual_pence,
    }


@dataclass(frozen=True)
class LedgerReplacement:
    """Every category of every month in the file, with what is stored now and what the file would leave."""

    categories: tuple[CategoryChange, ...] = field(default=())

    def _total(self, attribute: str) -> int:
        return sum(getattr(change, attribute) for change in self.categories)

    @property
    def before(self) -> Side:
        return sum((change.before for change in self.categories), Side())

    @property
    def after(self) -> Side:
        return sum((change.after for change in self.categories), Side())

    @property
    def added(self) -> int:
        return self._total("added")

    @property
    def removed(self) -> int:
        return self._total("removed")

    @property
    def changed(self) -> int:
        return self._total("changed")

    @property
    def is_identical(self) -> bool:
        return all(change.is_unchanged for change in self.categories)

    def changed_months(self) -> frozenset[MonthKey]:
        """The (organisation, start year, month)s whose stored lines the import would alter."""
        return frozenset(change.month_key for change in self.categories if not change.is_unchanged)

    def as_dict(self) -> dict[str, Any]:
        return {
            **_sides(self.before, self.after),
            "lines_added": self.added,
            "lines_removed": self.removed,
            "lines_changed": self.changed,
            "categories": [change.as_dict() for change in self.categories if not change.is_unchanged],
        }


def _content(line: LedgerLine) -> tuple[object, ...]:
    return (line.budget_pence, line.actual_pence, line.one_off_pence, line.note)


def compare_ledger(stored: Sequence[LedgerLine], incoming: Sequence[LedgerLine]) -> LedgerReplacement:
    """Compare the stored lines of the file's months with the file's lines, category by category."""
    groups: dict[tuple[str, int, int, str], tuple[list[LedgerLine], list[LedgerLine]]] = {}
    for index, lines in enumerate((stored, incoming)):
        for line in lines:
            key = (line.org_code, line.year.start_year, line.month, line.category.value)
            groups.setdefault(key, ([], []))[index].append(line)
    changes = []
    for (org_code, _start, month, category), (before, after) in sorted(groups.items()):
        old = {line.key: _content(line) for line in before}
        new = {line.key: _content(line) for line in after}
        year = (before or after)[0].year
        changes.append(
            CategoryChange(
                org_code=org_code,
                year=year,
                month=month,
                category=category,
                before=Side.of(before),
                after=Side.of(after),
                added=len(new.keys() - old.keys()),
                removed=len(old.keys() - new.keys()),
                changed=sum(1 for key in old.keys() & new.keys() if old[key] != new[key]),
            )
        )
    return LedgerReplacement(tuple(changes))
