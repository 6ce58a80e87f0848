"""Data faults as records: where (file, sheet, row, column) and why. Collected and reported together."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One fault in an input. ``row`` counts as the user sees it: the header is row 1 in a CSV."""

    source: str
    reason: str
    row: int | None = None
    column: str | None = None
    sheet: str | None = None

    def __str__(self) -> str:
        where = [self.source]
        if self.sheet:
            where.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.reason}"

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "reason": self.reason,
        }


class ProblemsError(Exception):
    """Raised at a use-case boundary when input faults stop the work; nothing has been stored."""

    def __init__(self, problems: Iterable[Problem], summary: str = "the input has problems") -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.summary = summary
        super().__init__(f"{summary}:\n" + "\n".join(f"  {problem}" for problem in self.problems))
