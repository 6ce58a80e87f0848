"""Data faults as records: where (file, sheet, row, column) and why. Collected and reported together.

A file can hold hundreds of thousands of faulty rows; a report lists the first ``SHOWN_PER_KIND`` problems of each
kind (the same reason, numbers and quoted values aside, in the same column of the same sheet) and counts the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

SHOWN_PER_KIND = 100
_VARIABLE_PARTS = re.compile(r"'[^']*'|\"[^\"]*\"|£?-?\d[\d,.:/-]*")


@dataclass(frozen=True, slots=True)
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

    @property
    def kind(self) -> tuple[str, str | None, str | None, str]:
        """What makes two problems the same kind: file, sheet, column and the reason without its values."""
        return self.source, self.sheet, self.column, _VARIABLE_PARTS.sub("…", self.reason)

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class OmittedProblems:
    """How many problems of one kind were not listed, with the first of them as an example."""

    example: Problem
    count: int

    def __str__(self) -> str:
        return f"… and {self.count:,} more like: {self.example}"

    def as_dict(self) -> dict[str, object]:
        return {"count": self.count, "example": self.example.as_dict()}


def shown_and_omitted(
    problems: Iterable[Problem], per_kind: int = SHOWN_PER_KIND
) -> tuple[tuple[Problem, ...], tuple[OmittedProblems, ...], int]:
    """The first ``per_kind`` problems of each kind (in their order), the rest counted by kind, and the total."""
    shown: list[Problem] = []
    seen: dict[tuple[str, str | None, str | None, str], int] = {}
    first_omitted: dict[tuple[str, str | None, str | None, str], Problem] = {}
    total = 0
    for problem in problems:
        total += 1
        kind = problem.kind
        count = seen.get(kind, 0)
        seen[kind] = count + 1
        if count < per_kind:
            shown.append(problem)
        else:
            first_omitted.setdefault(kind, problem)
    omitted = tuple(OmittedProblems(example, seen[kind] - per_kind) for kind, example in first_omitted.items())
    return tuple(shown), omitted, total


class ProblemsError(Exception):
    """Raised at a use-case boundary when input faults stop the work; nothing has been stored.

    ``problems`` lists the first ``SHOWN_PER_KIND`` of each kind; ``omitted`` counts the others by kind and
    ``total`` is the number found.
    """

    def __init__(self, problems: Iterable[Problem], summary: str = "the input has problems") -> None:
        self.problems, self.omitted, self.total = shown_and_omitted(problems)
        self.summary = summary
        lines = [f"  {problem}" for problem in self.problems] + [f"  {more}" for more in self.omitted]
        super().__init__(f"{summary}:\n" + "\n".join(lines))

    def as_dict(self) -> dict[str, object]:
        """The JSON shape: the error, the problems listed, how many there were and how many were left out."""
        return {
            "error": self.summary,
            "problems": [problem.as_dict() for problem in self.problems],
            "problems_total": self.total,
            "problems_omitted": [more.as_dict() for more in self.omitted],
        }


def file_fault(source: str, reason: str, row: int | None = None, *, sheet: str | None = None) -> ProblemsError:
    """A fault that stops a whole file being read (wrong layout, unreadable): one problem, nothing imported."""
    return ProblemsError([Problem(source, reason, row=row, sheet=sheet)], f"cannot import {source}")
