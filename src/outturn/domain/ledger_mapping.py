"""The mapping from a trial balance's codes to outturn's categories and to budget holders.

Each rule names a cost centre and a subjective code, each as a code (``110234``), a pattern with ``*`` and ``?``
wildcards (``11*``), or ``any`` (also ``*`` or blank); and gives the category, the subcategory (the line of the
category the codes roll up into; blank is the category's own line) and the budget holder. Codes compare without
regard to case or surrounding spaces.

A line takes the MOST SPECIFIC rule that matches it: an exact code beats a pattern, which beats ``any``; the cost
centre counts before the subjective code (cost centre exact + subjective any beats cost centre pattern +
subjective exact); among equally specific rules the first in the file wins.

A budget holder answers for whole cost centres: the holder of a cost centre is the one named by the rules its
lines take; two rules naming different holders for one cost centre's lines are an error in the mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

from outturn.domain.ledger import CostCategory, LedgerLine
from outturn.domain.money import Pence, format_pounds
from outturn.domain.trial_balance import CostCentre, TrialBalanceRow

ANY = "any"
_ANY_SPELLINGS = {"", "*", "any", "all", "(any)"}
EXACT, PATTERN, ANYTHING = 2, 1, 0


def normalise_pattern(text: str) -> str:
    """A rule's code or pattern as compared: upper case, trimmed; ``any`` for every spelling of any."""
    tidy = text.strip()
    return ANY if tidy.casefold() in _ANY_SPELLINGS else tidy.upper()


def _specificity(pattern: str) -> int:
    if pattern == ANY:
        return ANYTHING
    return PATTERN if any(mark in pattern for mark in "*?[") else EXACT


def _matches(pattern: str, code: str) -> bool:
    return pattern == ANY or fnmatchcase(code.strip().upper(), pattern.upper())


@dataclass(frozen=True)
class MappingRule:
    cost_centre: str  # normalised: a code, a pattern, or ``any``
    subjective_code: str
    category: CostCategory
    subcategory: str = ""
    budget_holder: str = ""
    row: int = 0  # the rule's row in its file (0 when not from a file)

    def matches(self, cost_centre: str, subjective_code: str) -> bool:
        return _matches(self.cost_centre, cost_centre) and _matches(self.subjective_code, subjective_code)

    @property
    def specificity(self) -> tuple[int, int]:
        return (_specificity(self.cost_centre), _specificity(self.subjective_code))

    @property
    def describe(self) -> str:
        where = f"row {self.row}: " if self.row else ""
        return f"{where}cost centre {self.cost_centre}, subjective {self.subjective_code}"


@dataclass(frozen=True)
class LedgerMapping:
    """The rules of one version of the mapping, in file order."""

    rules: tuple[MappingRule, ...]
    version: int = 0

    def rule_for(self, cost_centre: str, subjective_code: str) -> MappingRule | None:
        """The most specific rule matching the codes (the first in the file among equals), or None."""
        best: MappingRule | None = None
        for rule in self.rules:
            if rule.matches(cost_centre, subjective_code) and (best is None or rule.specificity > best.specificity):
                best = rule
        return best


@dataclass(frozen=True)
class UnmappedCode:
    """A cost centre and subjective code no rule maps, with the £ of the trial balance's lines that carry it."""

    org_code: str
    cost_centre: str
    subjective_code: str
    lines: int
    budget_pence: Pence
    actual_pence: Pence


def unmapped_message(unmapped: Sequence[UnmappedCode], source: str) -> str:
    """One message listing every unmapped code with its budget and actual."""
    listed = "; ".join(
        f"{item.org_code} cost centre {item.cost_centre} subjective {item.subjective_code} "
        f"({item.lines} line(s), budget {format_pounds(item.budget_pence)}, actual {format_pounds(item.actual_pence)})"
        for item in unmapped
    )
    return (
        f"{source} was not imported: {len(unmapped)} code(s) have no rule in the mapping: {listed}. "
        "Add rules for them to the mapping (a code, a pattern such as 11*, or any) and import again; nothing stored"
    )


def holder_conflicts(assignments: Iterable[tuple[str, str, MappingRule]]) -> list[str]:
    """A description of each cost centre (organisation, code) whose lines' rules name different budget holders."""
    holders: dict[tuple[str, str], dict[str, MappingRule]] = {}
    for org_code, cost_centre, rule in assignments:
        if rule.budget_holder:
            holders.setdefault((org_code, cost_centre), {}).setdefault(rule.budget_holder, rule)
    return [
        f"{org} cost centre {code} has more than one budget holder: "
        + ", ".join(f"{holder} ({rule.describe})" for holder, rule in named.items())
        for (org, code), named in sorted(holders.items())
        if len(named) > 1
    ]


@dataclass(frozen=True)
class MappedTrialBalance:
    """A trial balance through a mapping: its ledger lines, its cost centres (description, parent, holder) and
    subjective codes' descriptions; or what stops it (codes no rule maps, cost centres with two holders)."""

    lines: tuple[LedgerLine, ...]
    cost_centres: tuple[CostCentre, ...]
    subjective_descriptions: dict[str, str]
    unmapped: tuple[UnmappedCode, ...]
    holder_conflicts: tuple[str, ...]


def _unmapped(rows: Sequence[TrialBalanceRow]) -> tuple[UnmappedCode, ...]:
    grouped: dict[tuple[str, str, str], list[TrialBalanceRow]] = {}
    for row in rows:
        grouped.setdefault((row.org_code, row.cost_centre, row.subjective_code), []).append(row)
    return tuple(
        UnmappedCode(
            org_code=org,
            cost_centre=centre,
            subjective_code=subjective,
            lines=len(found),
            budget_pence=sum(row.budget_pence for row in found),
            actual_pence=sum(row.actual_pence or 0 for row in found),
        )
        for (org, centre, subjective), found in sorted(grouped.items())
    )


def _cost_centres(
    rows: Sequence[TrialBalanceRow], rule_of: Mapping[int, MappingRule], parents: Mapping[str, str]
) -> tuple[CostCentre, ...]:
    centres: dict[tuple[str, str], CostCentre] = {}
    for index, row in enumerate(rows):
        key = (row.org_code, row.cost_centre)
        rule = rule_of[index]
        known = centres.get(key) or CostCentre(
            row.org_code, row.cost_centre, parent_code=parents.get(row.cost_centre, "")
        )
        centres[key] = CostCentre(
            org_code=row.org_code,
            code=row.cost_centre,
            description=known.description or row.cost_centre_description,
            parent_code=known.parent_code,
            budget_holder=known.budget_holder or rule.budget_holder,
        )
    return tuple(centres[key] for key in sorted(centres))


# look-alike of store/repository.py's LedgerLine reading: declarative, a LedgerLine field by field.
def map_trial_balance(
    rows: Sequence[TrialBalanceRow],
    mapping: LedgerMapping,
    parents: Mapping[str, str] | None = None,
    spelling: Callable[[str], str] = lambda text: text,
) -> MappedTrialBalance:
    """Each row as a ledger line of the category, subcategory (spelt by ``spelling``) and holder its rule gives.

    ``parents``: each cost centre's parent code, as the mapping gives it."""
    rule_of: dict[int, MappingRule] = {}
    missing: list[TrialBalanceRow] = []
    for index, row in enumerate(rows):
        rule = mapping.rule_for(row.cost_centre, row.subjective_code)
        if rule is None:
            missing.append(row)
        else:
            rule_of[index] = rule
    if missing:
        return MappedTrialBalance((), (), {}, _unmapped(missing), ())
    conflicts = holder_conflicts((row.org_code, row.cost_centre, rule_of[index]) for index, row in enumerate(rows))
    lines = tuple(
        LedgerLine(
            org_code=row.org_code,
            year=row.year,
            month=row.month,
            category=rule_of[index].category,
            subcategory=spelling(rule_of[index].subcategory),
            budget_pence=row.budget_pence,
            actual_pence=row.actual_pence,
            one_off_pence=row.one_off_pence,
            note=row.note,
            cost_centre=row.cost_centre,
            subjective_code=row.subjective_code,
        )
        for index, row in enumerate(rows)
    )
    descriptions = {row.subjective_code: row.subjective_description for row in rows if row.subjective_description}
    return MappedTrialBalance(lines, _cost_centres(rows, rule_of, parents or {}), descriptions, (), tuple(conflicts))


@dataclass(frozen=True)
class MappingVersion:
    """One stored version of the mapping: who loaded it, when, from which file, and its rules."""

    version: int
    loaded_at: datetime
    loaded_by: str
    file_name: str
    checksum: str
    mapping: LedgerMapping
    parents: Mapping[str, str]
