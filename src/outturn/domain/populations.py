"""Practice populations, raw and weighted for need, and their totals for any organisation in the tree.

NHS England's allocation formulae weight each practice's registered population by need, one weighting per
service (general and acute, community, mental health, maternity, health inequalities, prescribing) and
overall (``final``); primary medical care has its own. Totals for an ICB or a sub-ICB location are the sums
over the practices below it.

Registered lists by sex and age band (NHS Digital) weighted by the HSCIC prescribing units (ASTRO-PU, STAR-PU)
give each practice's expected prescribing need. ``PracticeRecord`` is one row of the warehouse table
``practice_populations`` that the benchmarking, prescribing and budget features read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from outturn.domain.errors import BadInput
from outturn.domain.labels import look_up
from outturn.domain.organisations import OrgTree


@dataclass(frozen=True)
class PracticePopulation:
    """One practice's populations for one allocation year.

    ``list_size`` is the registered list (the file's ``Patients``), ``None`` where the file leaves it blank;
    ``population`` is the registered population the weights were built on, projected to the year.
    """

    practice_code: str
    list_size: Decimal | None
    population: Decimal
    general_acute: Decimal
    community: Decimal
    mental_health: Decimal
    maternity: Decimal
    health_inequalities: Decimal
    prescribing: Decimal
    final: Decimal
    primary_medical_care: Decimal


# look-alike of PracticePopulation: declarative, the same measures summed over practices (a count, not a code).
@dataclass(frozen=True)
class PopulationTotals:
    """Sums over ``practices`` practices; ``list_size`` is ``None`` unless every practice has one."""

    practices: int
    list_size: Decimal | None
    population: Decimal
    general_acute: Decimal
    community: Decimal
    mental_health: Decimal
    maternity: Decimal
    health_inequalities: Decimal
    prescribing: Decimal
    final: Decimal
    primary_medical_care: Decimal


def _sum(populations: Sequence[PracticePopulation], value: Callable[[PracticePopulation], Decimal]) -> Decimal:
    return sum((value(practice) for practice in populations), Decimal(0))


def total_of(populations: Iterable[PracticePopulation]) -> PopulationTotals:
    """The sums over ``populations``."""
    chosen = tuple(populations)
    sizes = [practice.list_size for practice in chosen if practice.list_size is not None]
    return PopulationTotals(
        practices=len(chosen),
        list_size=sum(sizes, Decimal(0)) if len(sizes) == len(chosen) else None,
        population=_sum(chosen, lambda p: p.population),
        general_acute=_sum(chosen, lambda p: p.general_acute),
        community=_sum(chosen, lambda p: p.community),
        mental_health=_sum(chosen, lambda p: p.mental_health),
        maternity=_sum(chosen, lambda p: p.maternity),
        health_inequalities=_sum(chosen, lambda p: p.health_inequalities),
        prescribing=_sum(chosen, lambda p: p.prescribing),
        final=_sum(chosen, lambda p: p.final),
        primary_medical_care=_sum(chosen, lambda p: p.primary_medical_care),
    )


def population_of(populations: Iterable[PracticePopulation], tree: OrgTree, code: str) -> PopulationTotals:
    """Totals over the practices at or below ``code`` in ``tree``; ``KeyError`` for an unknown code."""
    tree.get(code)
    members = tree.subtree_codes(code)
    return total_of(practice for practice in populations if practice.practice_code in members)


# --- list sizes by age and sex, and prescribing units ------------------------------------------------------------


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


# The nine age bands of NHS Digital's quarterly list-size extracts and of the HSCIC ASTRO-PU and STAR-PU weights.
ASTRO_BANDS: tuple[str, ...] = ("0-4", "5-14", "15-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+")
BAND_CELLS: tuple[tuple[Sex, str], ...] = tuple((sex, band) for band in ASTRO_BANDS for sex in Sex)
_BAND_STARTS = (0, 5, 15, 25, 35, 45, 55, 65, 75)
_QUINARY = re.compile(r"(\d+)(?:_(\d+)|\+)")


def astro_band(age_group_5: str) -> str:
    """The ASTRO-PU band holding a five-year band of NHS Digital's ``gp-reg-pat-prac-quin-age`` file.

    ``0_4`` is ``0-4``; ``5_9`` and ``10_14`` make ``5-14``; each later pair of five-year bands makes one
    ten-year band (``15_19`` + ``20_24`` = ``15-24`` … ``65_69`` + ``70_74`` = ``65-74``); ``75_79``, ``80_84``,
    ``85_89``, ``90_94`` and ``95+`` all fall in ``75+``. A band that straddles two ASTRO bands (``10_19``) or is not
    a five-year band is refused.
    """
    match = _QUINARY.fullmatch(age_group_5.strip())
    if match is None:
        raise BadInput(f"not a five-year age band: {age_group_5!r} (expected e.g. 5_9 or 95+)")
    low = int(match.group(1))
    high = int(match.group(2)) if match.group(2) is not None else None
    if low % 5 or (high is not None and high != low + 4):
        raise BadInput(f"not a five-year age band: {age_group_5!r} (expected e.g. 5_9 or 95+)")
    if high is None and low < 75:
        raise BadInput(f"open-ended band {age_group_5!r} would straddle the ASTRO-PU bands (75+ is the last)")
    index = max(position for position, start in enumerate(_BAND_STARTS) if start <= low)
    return ASTRO_BANDS[index]


def _complete(cells: Mapping[tuple[Sex, str], object], what: str) -> None:
    missing = [f"{sex.value} {band}" for sex, band in BAND_CELLS if (sex, band) not in cells]
    extra = [str(key) for key in cells if key not in BAND_CELLS]
    if missing or extra:
        raise BadInput(f"{what} needs exactly the 18 sex x age-band cells (missing: {missing}, unknown: {extra})")


@dataclass(frozen=True)
class AgeSexList:
    """One practice's registered list by sex and ASTRO-PU age band, as at ``extract_date``."""

    practice_code: str
    extract_date: date
    counts: Mapping[tuple[Sex, str], int]
    source: str = ""

    def __post_init__(self) -> None:
        _complete(self.counts, f"the list of {self.practice_code}")
        if any(count < 0 for count in self.counts.values()):
            raise BadInput(f"a negative number of patients for {self.practice_code}")
        object.__setattr__(self, "counts", MappingProxyType(dict(self.counts)))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class BandWeights:
    """Prescribing-unit weights by sex and age band: an ASTRO-PU (cost or items) or a STAR-PU."""

    name: str
    weights: Mapping[tuple[Sex, str], float]

    def __post_init__(self) -> None:
        _complete(self.weights, f"the weights {self.name!r}")
        object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))


def prescribing_units(patients: AgeSexList, weights: BandWeights) -> float:
    """OpenPrescribing's formula (``frontend/model_prescribing_units.py``, ``set_units``): the sum over the 18
    sex x age-band cells of weight x registered patients. With the HSCIC 2013 cost-based ASTRO-PU weights this is
    OpenPrescribing's ``astro_pu_cost``; with the item-based ones ``astro_pu_items``; with a STAR-PU, that STAR-PU."""
    return math.fsum(weights.weights[cell] * patients.counts[cell] for cell in BAND_CELLS)


def latest_lists(lists: Iterable[AgeSexList]) -> dict[str, AgeSexList]:
    """Each practice's latest list; two different lists for one practice on one date are refused."""
    latest: dict[str, AgeSexList] = {}
    for found in lists:
        held = latest.get(found.practice_code)
        if held is None or found.extract_date > held.extract_date:
            latest[found.practice_code] = found
        elif found.extract_date == held.extract_date and found.counts != held.counts:
            raise BadInput(
                f"two different lists for {found.practice_code} as at {found.extract_date}: "
                f"{held.source or 'one file'} and {found.source or 'another'}"
            )
    return latest


# --- the warehouse table ``practice_populations`` ----------------------------------------------------------------


# look-alike of domain/activity.py:PointOfDelivery (shape only): declarative, an enumeration's members.
class Weighting(StrEnum):
    """What a practice's share is weighted by: an allocation component's weighted population, the ASTRO-PU, or
    the registered list."""

    GENERAL_ACUTE = "general_acute"
    COMMUNITY = "community"
    MENTAL_HEALTH = "mental_health"
    MATERNITY = "maternity"
    HEALTH_INEQUALITIES = "health_inequalities"
    PRESCRIBING = "prescribing"
    PRIMARY_MEDICAL_CARE = "primary_medical_care"
    FINAL = "final"
    ASTRO_PU = "astro_pu"
    LIST_SIZE = "list_size"

    @classmethod
    def parse(cls, text: str) -> Weighting:
        return look_up(_WEIGHTING_ALIASES, text, "weighting", [item.value for item in cls])

    @property
    def column(self) -> str:
        """Its column in ``practice_populations``."""
        return self.value if self in (Weighting.ASTRO_PU, Weighting.LIST_SIZE) else f"wp_{self.value}"


WP_COMPONENTS: tuple[Weighting, ...] = tuple(Weighting)[:8]
_WEIGHTING_ALIASES: Mapping[str, Weighting] = MappingProxyType(
    {
        **{item.value: item for item in Weighting},
        **{item.column: item for item in Weighting},
        "g_a": Weighting.GENERAL_ACUTE,
        "acute": Weighting.GENERAL_ACUTE,
        "mh": Weighting.MENTAL_HEALTH,
        "overall": Weighting.FINAL,
        "astro": Weighting.ASTRO_PU,
        "patients": Weighting.LIST_SIZE,
        "list": Weighting.LIST_SIZE,
    }
)

PRACTICE_POPULATIONS_TABLE = "practice_populations"
PRACTICE_POPULATIONS_SCHEMA: Mapping[str, str] = MappingProxyType(
    {
        "practice": "string",
        "practice_name": "string",
        "pcn": "string",
        "sub_icb": "string",
        "icb": "string",
        "list_size": "int64",
        "astro_pu": "float64",
        **{component.column: "float64" for component in WP_COMPONENTS},
    }
)


@dataclass(frozen=True)
class PracticeRecord:
    """One row of ``practice_populations``: where a practice sits, its list, ASTRO-PU and weighted populations
    (keyed by ``Weighting`` value; ``None`` where the allocation file has no such component)."""

    practice: str
    practice_name: str
    pcn: str | None
    sub_icb: str | None
    icb: str | None
    list_size: int | None
    astro_pu: float | None
    weighted: Mapping[str, float | None]

    def __post_init__(self) -> None:
        unknown = set(self.weighted) - {component.value for component in WP_COMPONENTS}
        if unknown:
            raise BadInput(f"unknown weighted-population component(s): {sorted(unknown)}")
        filled = {component.value: self.weighted.get(component.value) for component in WP_COMPONENTS}
        object.__setattr__(self, "weighted", MappingProxyType(filled))

    def weight(self, weighting: Weighting) -> float | None:
        if weighting is Weighting.ASTRO_PU:
            return self.astro_pu
        if weighting is Weighting.LIST_SIZE:
            return None if self.list_size is None else float(self.list_size)
        return self.weighted[weighting.value]

    def code_at(self, level: Level) -> str | None:
        return {Level.PRACTICE: self.practice, Level.PCN: self.pcn, Level.SUB_ICB: self.sub_icb}.get(level, self.icb)

    def as_row(self) -> dict[str, object]:
        row: dict[str, object] = {
            "practice": self.practice,
            "practice_name": self.practice_name,
            "pcn": self.pcn,
            "sub_icb": self.sub_icb,
            "icb": self.icb,
            "list_size": self.list_size,
            "astro_pu": self.astro_pu,
        }
        row.update({component.column: self.weighted[component.value] for component in WP_COMPONENTS})
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> PracticeRecord:
        return cls(
            practice=row["practice"],
            practice_name=row["practice_name"],
            pcn=row["pcn"],
            sub_icb=row["sub_icb"],
            icb=row["icb"],
            list_size=None if row["list_size"] is None else int(row["list_size"]),
            astro_pu=row["astro_pu"],
            weighted={component.value: row[component.column] for component in WP_COMPONENTS},
        )


class Level(StrEnum):
    PRACTICE = "practice"
    PCN = "pcn"
    SUB_ICB = "sub-icb"
    ICB = "icb"

    @classmethod
    def parse(cls, text: str) -> Level:
        aliases = {"practice": cls.PRACTICE, "pcn": cls.PCN, "sub_icb": cls.SUB_ICB, "ccg": cls.SUB_ICB}
        return look_up({**aliases, "icb": cls.ICB}, text, "level", [item.value for item in cls])


@dataclass(frozen=True)
class LevelTotals:
    """Sums over the practices of one practice, PCN, sub-ICB or ICB (``code`` ``None``: practices with none).

    ``list_size`` and ``astro_pu`` are ``None`` unless every practice has one; ``*_practices`` say how many do.
    A weighted population is ``None`` unless every practice has it."""

    level: Level
    code: str | None
    practices: int
    list_size: int | None
    list_size_practices: int
    astro_pu: float | None
    astro_pu_practices: int
    weighted: Mapping[str, float | None]


def _sum_if_complete(values: Sequence[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return math.fsum(known) if len(known) == len(values) else None


def roll_up(records: Iterable[PracticeRecord], level: Level) -> list[LevelTotals]:
    """Totals per organisation at ``level``, ordered by code (practices without one last)."""
    groups: dict[str | None, list[PracticeRecord]] = {}
    for record in records:
        groups.setdefault(record.code_at(level), []).append(record)
    totals = []
    for code in sorted(groups, key=lambda key: (key is None, key or "")):
        members = groups[code]
        sizes = [member.list_size for member in members if member.list_size is not None]
        astro = [member.astro_pu for member in members]
        totals.append(
            LevelTotals(
                level=level,
                code=code,
                practices=len(members),
                list_size=sum(sizes) if len(sizes) == len(members) else None,
                list_size_practices=len(sizes),
                astro_pu=_sum_if_complete(astro),
                astro_pu_practices=sum(value is not None for value in astro),
                weighted=MappingProxyType(
                    {
                        component.value: _sum_if_complete([member.weighted[component.value] for member in members])
                        for component in WP_COMPONENTS
                    }
                ),
            )
        )
    return totals
