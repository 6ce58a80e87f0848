"""Primary-care prescribing: the BNF code, generics, groups of equivalent presentations, and the savings floors.

A BNF presentation code has 15 characters, read left to right (BNF chapter 1 "Gastro-intestinal system" is the
first two characters):

========  ======  ==========================================================================================
chars     length  meaning (example ``0212000B0AAABAB``, atorvastatin 10mg tablets)
========  ======  ==========================================================================================
1-2       2       chapter (``02`` cardiovascular system)
1-4       4       section (``0212`` lipid-regulating drugs)
1-6       6       paragraph (``021200``)
1-7       7       sub-paragraph (``0212000``)
1-9       9       chemical substance (``0212000B0`` atorvastatin)
10-11     2       product: ``AA`` is the generic; any other pair is a brand (``BB`` Lipitor)
12-13     2       strength and formulation of this product (``AB``)
14-15     2       strength and formulation of the generic equivalent (``AB``); ``A0`` means there is none
========  ======  ==========================================================================================

Appliances and dressings (chapters 20-23) had 11-digit codes until 2020 (``21010900725``); they have no generic
equivalents. ``BNF_CODE_PATTERN`` accepts both forms.

Generic equivalents, groups of equivalent presentations ("substitution sets") and the price-per-unit savings rules
are ported from OpenPrescribing (github.com/ebmdatalab/openprescribing, MIT licence), see
``frontend/price_per_unit/substitution_sets.py`` and ``savings.py``:

- the generic equivalent of a 15-character code is its first 9 characters + ``AA`` + characters 14-15 twice; a code
  whose characters 14-15 are ``A0`` has none, except for the two "generic chemicals" (glucose blood and urine
  testing reagents), whose every presentation is treated as one group; codes matching ``EXCLUSIONS`` (presentations
  OpenPrescribing found it could not map to their generic) have none;
- curated "formulation swaps" (tablets and capsules of the same strength, say) join generic groups together; each
  joined group is named by its lexically smallest generic code;
- the target price per unit of a group is the 10th centile of the practices' price per unit (net ingredient cost
  over quantity), linear interpolation between order statistics (numpy ``percentile``'s default; SQL
  ``PERCENTILE_CONT``/``QUANTILE_CONT``);
- a practice's saving on a group is its net ingredient cost less quantity x the target; savings under the practice
  floor (£10; this includes every negative saving) count as zero; an organisation's saving on a group is the sum
  of its practices', counted only when it reaches the organisation's floor (£10 for a practice, £200 for a CCG).
  (Ours: each practice's saving is rounded to the penny, half up, after rounding to a millionth of a penny so that
  float noise cannot tip the many savings that lie on a half penny; the floors compare whole pence.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from outturn.domain.errors import BadInput

PRESCRIBING_TABLE = "prescribing"
# The warehouse table: one row per month x practice x BNF presentation (Ibis type names).
PRESCRIBING_SCHEMA: Mapping[str, str] = MappingProxyType(
    {
        "year_month": "string",  # YYYY-MM
        "practice": "string",
        "practice_name": "string",
        "bnf_code": "string",
        "bnf_name": "string",
        "items": "int64",
        "quantity": "float64",
        "nic_pence": "int64",  # net ingredient cost
        "actual_cost_pence": "int64",
    }
)

PRESENTATION_LENGTH = 15
APPLIANCE_LENGTH = 11
BNF_CODE_PATTERN = r"^[0-9]{2}[0-9A-Z]{9}([0-9A-Z]{4})?$"
GENERIC_PRODUCT = "AA"
NO_GENERIC = "A0"
LAST_MEDICINES_CHAPTER = "19"  # chapters 20-23 are appliances and dressings

# Characters of the code that each level keeps (a prefix).
BNF_LEVEL_LENGTHS: Mapping[str, int] = MappingProxyType(
    {"chapter": 2, "section": 4, "paragraph": 6, "subparagraph": 7, "chemical": 9, "product": 11, "presentation": 15}
)

# OpenPrescribing's exclusions (price-per-dose issues 9, 10, 12 and 14), matched from the start of the code.
EXCLUSIONS = (
    "0302000C0....BE",
    "0302000C0....BF",
    "0302000C0....BH",
    "0302000C0....BG",
    "0904010H0.*",
    "1311070S0....AA",
    "1311020L0....BS",
    "0301020S0....AA",
    "190700000BBCJA0",
    "0604011L0BGAAAH",
    "1502010J0....BY",
    "1201010F0AAAAAA",
    "0107010S0AAAGAG",
    "060016000BBAAA0",
    "190201000AABJBJ",
    "190201000AABKBK",
    "190201000AABLBL",
    "190201000AABMBM",
    "190201000AABNBN",
    "190202000AAADAD",
    "190700000AABABA",
)
EXCLUSIONS_REGEX = "^(" + "|".join(EXCLUSIONS) + ")"
_EXCLUDED = re.compile(EXCLUSIONS_REGEX)

# Chemicals whose every presentation OpenPrescribing treats as interchangeable (issue 1).
GENERIC_CHEMICALS: Mapping[str, str] = MappingProxyType(
    {"0601060U0": "Urine Testing Reagents", "0601060D0": "Glucose Blood Testing Reagents"}
)


class BnfGrouping(StrEnum):
    """What measures are totalled by: a BNF level, or everything together."""

    CHAPTER = "chapter"
    SECTION = "section"
    CHEMICAL = "chemical"
    ALL = "all"

    @property
    def prefix_length(self) -> int | None:
        return None if self is BnfGrouping.ALL else BNF_LEVEL_LENGTHS[self.value]


# look-alike of domain/activity.AdmissionMethod (shape only): declarative, an enumeration's members.
class OrgLevel(StrEnum):
    """Organisations practices roll up to (columns of the ``practice_populations`` table)."""

    PRACTICE = "practice"
    PCN = "pcn"
    SUB_ICB = "sub_icb"


class Denominator(StrEnum):
    """Per 1,000 registered patients (``list_size``) or per 1,000 ASTRO-PU (``astro_pu``)."""

    LIST = "list_size"
    ASTRO_PU = "astro_pu"


RATE_BASE = 1_000  # rates are per 1,000 patients or per 1,000 ASTRO-PU

# OpenPrescribing's floors (pence): the practice floor, and an organisation's floor by level. PCN is ours
# (OpenPrescribing has none): a PCN serves about 50,000 patients, between a practice and a sub-ICB location.
PRACTICE_FLOOR_PENCE = 10 * 100
ORG_FLOOR_PENCE: Mapping[OrgLevel, int] = MappingProxyType(
    {OrgLevel.PRACTICE: 10 * 100, OrgLevel.PCN: 50 * 100, OrgLevel.SUB_ICB: 200 * 100}
)
TARGET_CENTILE = 10


@dataclass(frozen=True)
class SavingsRules:
    """How price-per-unit savings are found. ``min_quantity``: a practice's group with this quantity or less is
    left out of the centile and has no saving (its price per unit is undefined at 0, OpenPrescribing's only
    quantity rule; raise it to ignore practices that prescribe a group only occasionally)."""

    level: OrgLevel = OrgLevel.PRACTICE
    org_floor_pence: int = ORG_FLOOR_PENCE[OrgLevel.PRACTICE]
    practice_floor_pence: int = PRACTICE_FLOOR_PENCE
    min_quantity: float = 0.0
    centile: int = TARGET_CENTILE

    def __post_init__(self) -> None:
        if not 0 <= self.centile <= 100:
            raise BadInput(f"centile must be 0..100, not {self.centile}")
        if self.org_floor_pence < 0 or self.practice_floor_pence < 0:
            raise BadInput("savings floors cannot be negative")
        if self.min_quantity < 0:
            raise BadInput("the minimum quantity cannot be negative")

    @classmethod
    def for_level(
        cls,
        level: OrgLevel,
        *,
        org_floor_pence: int | None = None,
        practice_floor_pence: int = PRACTICE_FLOOR_PENCE,
        min_quantity: float = 0.0,
    ) -> SavingsRules:
        floor = ORG_FLOOR_PENCE[level] if org_floor_pence is None else org_floor_pence
        return cls(level, floor, practice_floor_pence, min_quantity)


# BNF codes -----------------------------------------------------------------------------------------------------


def is_bnf_code(code: str) -> bool:
    return re.fullmatch(BNF_CODE_PATTERN, code) is not None


def bnf_prefix(code: str, level: str) -> str:
    """The code of ``code``'s chapter, section, paragraph, sub-paragraph, chemical, product or presentation."""
    return code[: BNF_LEVEL_LENGTHS[level]]


def is_generic(code: str) -> bool:
    """A presentation written generically: product characters 10-11 are ``AA``."""
    return len(code) == PRESENTATION_LENGTH and code[9:11] == GENERIC_PRODUCT


def generic_equivalent(code: str) -> str | None:
    """OpenPrescribing's generic equivalent of ``code`` (``generic_equivalent_for_bnf_code``), or ``None``."""
    if len(code) != PRESENTATION_LENGTH or _EXCLUDED.match(code):
        return None
    chemical, equivalent = code[:9], code[13:15]
    if equivalent != NO_GENERIC or chemical in GENERIC_CHEMICALS:
        return f"{chemical}{GENERIC_PRODUCT}{equivalent}{equivalent}"
    return None


def counts_for_generic_rate(code: str) -> bool:
    """Whether an item of ``code`` counts in the generic prescribing rate's denominator: a medicine (chapters
    01-19) with a generic equivalent of its own (characters 14-15 not ``A0``; the two "generic chemical" groups
    of testing reagents are price groups, not generics, so they do not count)."""
    return generic_equivalent(code) is not None and code[13:15] != NO_GENERIC and code[:2] <= LAST_MEDICINES_CHAPTER


# Formulation swaps ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormulationSwap:
    """One row of OpenPrescribing's curated ``formulation_swaps.csv`` marked "really equivalent"."""

    code: str
    alternative_code: str
    formulation: str = ""
    alternative_formulation: str = ""


@dataclass(frozen=True)
class SubstitutionGroup:
    """Generic codes prescribers may swap between; ``code`` (the lexically smallest) names the group."""

    code: str
    members: tuple[str, ...]
    description: str | None  # e.g. "Cap / Tab"; None when every member has the same formulation


def groups_from_pairs(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, ...], ...]:
    """The equivalence classes of the relation ``pairs`` (each sorted; the classes sorted by first member)."""
    parent: dict[str, str] = {}

    def root(item: str) -> str:
        parent.setdefault(item, item)
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    for left, right in pairs:
        a, b = root(left), root(right)
        if a != b:
            parent[max(a, b)] = min(a, b)
    classes: dict[str, list[str]] = {}
    for item in parent:
        classes.setdefault(root(item), []).append(item)
    return tuple(sorted(tuple(sorted(members)) for members in classes.values()))


def substitution_groups(swaps: Sequence[FormulationSwap]) -> tuple[SubstitutionGroup, ...]:
    """Groups of equivalent generics from the swaps; ``ValueError`` names a code that is not a generic code."""
    for swap in swaps:
        for code in (swap.code, swap.alternative_code):
            if generic_equivalent(code) != code:
                raise BadInput(f"{code!r} is not a generic BNF presentation code (its own generic equivalent)")
        if swap.code == swap.alternative_code:
            raise BadInput(f"{swap.code!r} is swapped with itself")
    formulations: dict[str, str] = {}
    for swap in swaps:
        formulations[swap.code] = swap.formulation.strip()
        formulations[swap.alternative_code] = swap.alternative_formulation.strip()
    groups = []
    for members in groups_from_pairs((swap.code, swap.alternative_code) for swap in swaps):
        kinds = sorted({formulations[code] for code in members if formulations.get(code)})
        groups.append(SubstitutionGroup(members[0], members, " / ".join(kinds) if len(kinds) > 1 else None))
    return tuple(groups)


# Months ----------------------------------------------------------------------------------------------------------

_MONTH = re.compile(r"^(?P<year>(?:19|20)[0-9]{2})[-_/]?(?P<month>0[1-9]|1[0-2])$")


def year_month(text: str) -> str:
    """``2017_09``, ``201709``, ``2017-09`` -> ``2017-09``; ``ValueError`` for anything else."""
    match = _MONTH.fullmatch(str(text).strip())
    if match is None:
        raise BadInput(f"not a month: {text!r} (expected YYYY-MM, YYYY_MM or YYYYMM)")
    return f"{match['year']}-{match['month']}"


def month_in_name(name: str) -> str | None:
    """The one month written in a file name (``..._2017_09_...``, ``T201709PDPI``), or ``None``."""
    found = {f"{y}-{m}" for y, m in re.findall(r"(?<![0-9])((?:19|20)[0-9]{2})[-_]?(0[1-9]|1[0-2])(?![0-9])", name)}
    return found.pop() if len(found) == 1 else None
