"""Practice benchmarking: the measures, the benchmarks practices are compared with, and peer groups.

A **measure** counts something per practice (first outpatient attendances referred by a GP, emergency
admissions, prescription items...) and divides it by the practice's registered list (``list_size``) and by its
need-weighted population (the allocation component that funds that activity), per 1,000. Adding a measure is
one entry in ``MEASURES``; a measure whose records come from a table other than hospital activity names its
``source`` and the service layer supplies that table (``outturn.services.benchmark.NUMERATOR_SOURCES``).

A **benchmark** is the rate every practice on the wrong side of it is moved to when the opportunity is counted:

- ``median`` — the middle practice's rate (linear interpolation between the two middle practices);
- ``upper-quartile`` — the 75th centile of practice rates for a measure where high is bad (only the quarter of
  practices above it move), the 25th centile where low is bad;
- ``average`` — the whole population's rate: Σ activity ÷ Σ population of every practice compared (the national
  average when every practice in England is compared; a published national rate can be given instead);
- ``peer-group`` — the median rate of the practice's peers: the practices in the same fifth (``ntile(5)``, ties
  broken by code) of need index (weighted ÷ actual population) or of list size;
- ``given`` — a rate you supply (for example a published national rate).

Centiles are the linear-interpolation kind (Hyndman & Fan type 7): DuckDB's ``quantile_cont``, Spark's
``percentile`` and numpy's default ``percentile`` all compute it, each practice counting once whatever its size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from outturn.domain.activity import ActivityKind, AdmissionMethod, AttendanceType, ReferralSource
from outturn.domain.errors import BadInput
from outturn.domain.prescribing import OrgLevel


class Direction(StrEnum):
    HIGH_IS_BAD = "high_is_bad"  # practices above the benchmark move down to it
    LOW_IS_BAD = "low_is_bad"  # practices below the benchmark move up to it


# look-alike of domain/activity.py:AdmissionMethod (shape only): declarative, an enumeration's members.
class BenchmarkKind(StrEnum):
    MEDIAN = "median"
    UPPER_QUARTILE = "upper-quartile"
    AVERAGE = "average"
    PEER_GROUP = "peer-group"
    GIVEN = "given"


class Basis(StrEnum):
    """Which rate is benchmarked and which population the opportunity is counted on."""

    WEIGHTED = "weighted"
    ACTUAL = "actual"


class PeerGrouping(StrEnum):
    NEED = "need"  # fifths of need index: weighted population ÷ registered list
    LIST_SIZE = "list-size"  # fifths of registered list


class Level(StrEnum):
    PRACTICE = "practice"
    PCN = "pcn"
    SUB_ICB = "sub-icb"

    @property
    def column(self) -> str:
        """The practice-populations column holding the organisation at this level."""
        return self.org_level.value

    @property
    def org_level(self) -> OrgLevel:
        """The level as the prescribing measures name it."""
        return OrgLevel(self.value.replace("-", "_"))


PEER_GROUPS = 5

POPULATION_COLUMNS = frozenset(
    {
        "list_size",
        "astro_pu",
        "wp_general_acute",
        "wp_community",
        "wp_mental_health",
        "wp_maternity",
        "wp_health_inequalities",
        "wp_prescribing",
        "wp_primary_medical_care",
        "wp_final",
    }
)


@dataclass(frozen=True)
class RecordFilter:
    """Keep a source record when ``column`` holds one of ``values``."""

    column: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Measure:
    """What is counted per practice, over which population, and how a unit of it is valued.

    ``source`` names the table of records (one row per record, with a ``practice`` column): ``apc``, ``op`` or
    ``ae`` for hospital activity, or a name the service layer registers. Each record kept by ``filters`` counts
    one unit, or the value of ``count_column``. A unit is valued at the sum of ``value_columns`` (pence; a
    record whose first value column is null is unpriced and left out of the price per unit).
    """

    name: str
    description: str
    unit: str
    source: str
    weighted_population: str
    filters: tuple[RecordFilter, ...] = ()
    count_column: str | None = None
    value_columns: tuple[str, ...] = ("price_pence",)
    actual_population: str = "list_size"
    per: int = 1000
    direction: Direction = Direction.HIGH_IS_BAD
    price_source: str = "the national tariff price of each record, with the provider's market forces factor"

    def __post_init__(self) -> None:
        for column in (self.actual_population, self.weighted_population):
            if column not in POPULATION_COLUMNS:
                raise BadInput(f"measure {self.name}: {column!r} is not a practice-population column")
        if self.per <= 0:
            raise BadInput(f"measure {self.name}: rates must be per a positive number of people")
        if not self.value_columns:
            raise BadInput(f"measure {self.name}: a measure needs a value column to price its units")


_HOSPITAL = "wp_general_acute"  # the allocation component that funds hospital activity
_FIRST = RecordFilter("attendance_type", (AttendanceType.FIRST.value,))
_APC_VALUE = ("price_pence", "excess_price_pence")  # a spell's price and its excess bed days

_HOSPITAL_MEASURES: tuple[Measure, ...] = (
    Measure(
        "gp_referrals",
        "GP referrals: first outpatient attendances referred by a GP (the proxy these extracts hold)",
        "first outpatient attendances referred by a GP",
        ActivityKind.OP.value,
        _HOSPITAL,
        (_FIRST, RecordFilter("referral_source", (ReferralSource.GP.value,))),
    ),
    Measure(
        "outpatient_first",
        "First outpatient attendances, whoever referred",
        "first outpatient attendances",
        ActivityKind.OP.value,
        _HOSPITAL,
        (_FIRST,),
    ),
    Measure(
        "outpatient_follow_up",
        "Follow-up outpatient attendances",
        "follow-up outpatient attendances",
        ActivityKind.OP.value,
        _HOSPITAL,
        (RecordFilter("attendance_type", (AttendanceType.FOLLOW_UP.value,)),),
    ),
    Measure(
        "emergency_admissions",
        "Emergency (non-elective) admissions: spells discharged in the period",
        "non-elective spells",
        ActivityKind.APC.value,
        _HOSPITAL,
        (RecordFilter("admission_method", (AdmissionMethod.NON_ELECTIVE.value,)),),
        value_columns=_APC_VALUE,
    ),
    Measure(
        "elective_admissions",
        "Elective admissions, ordinary and day case: spells discharged in the period",
        "elective and day-case spells",
        ActivityKind.APC.value,
        _HOSPITAL,
        (RecordFilter("admission_method", (AdmissionMethod.ELECTIVE.value, AdmissionMethod.DAY_CASE.value)),),
        value_columns=_APC_VALUE,
    ),
    Measure(
        "ae_attendances",
        "A&E attendances, every department type",
        "A&E attendances",
        ActivityKind.AE.value,
        _HOSPITAL,
    ),
    Measure(
        "acsc_admissions",
        "Avoidable admissions: non-elective spells whose primary diagnosis is a chronic ambulatory care sensitive "
        "condition (NHS Outcomes Framework 2.3.i ICD-10 list)",
        "non-elective spells for chronic ambulatory care sensitive conditions",
        "acsc",
        _HOSPITAL,
        (RecordFilter("admission_method", (AdmissionMethod.NON_ELECTIVE.value,)),),
        value_columns=_APC_VALUE,
    ),
)

ACSC_SOURCE = "acsc"  # admitted care spells with an ambulatory care sensitive primary diagnosis
PRESCRIBING_SOURCE = "prescribing"  # the warehouse table of practice prescribing (outturn prescribing import)
_COST_PER_ITEM = "the average actual cost of an item in the practices compared"

_PRESCRIBING_MEASURES: tuple[Measure, ...] = (
    Measure(
        "prescribing_items",
        "Prescription items, per 1,000 patients and per 1,000 prescribing-weighted population",
        "prescription items",
        PRESCRIBING_SOURCE,
        "wp_prescribing",
        count_column="items",
        value_columns=("actual_cost_pence",),
        price_source=_COST_PER_ITEM,
    ),
    Measure(
        "prescribing_items_astro_pu",
        "Prescription items, per 1,000 patients and per 1,000 ASTRO-PU (age and sex weighted for prescribing)",
        "prescription items",
        PRESCRIBING_SOURCE,
        "astro_pu",
        count_column="items",
        value_columns=("actual_cost_pence",),
        price_source=_COST_PER_ITEM,
    ),
)

MEASURES: tuple[Measure, ...] = _HOSPITAL_MEASURES + _PRESCRIBING_MEASURES
MEASURE_REGISTRY: Mapping[str, Measure] = MappingProxyType({measure.name: measure for measure in MEASURES})


def find_measure(name: str) -> Measure:
    """The measure called ``name``; ``ValueError`` naming the known measures otherwise."""
    try:
        return MEASURE_REGISTRY[name.strip().lower().replace("-", "_")]
    except KeyError:
        known = ", ".join(MEASURE_REGISTRY)
        raise BadInput(f"unknown measure {name!r} (one of: {known})") from None


@dataclass(frozen=True)
class BenchmarkSpec:
    """Which benchmark, on which rate, with which peers; ``given_rate`` only for ``BenchmarkKind.GIVEN``."""

    kind: BenchmarkKind = BenchmarkKind.MEDIAN
    basis: Basis = Basis.WEIGHTED
    peers: PeerGrouping = PeerGrouping.NEED
    given_rate: float | None = None

    def __post_init__(self) -> None:
        if (self.kind is BenchmarkKind.GIVEN) != (self.given_rate is not None):
            raise BadInput("a given benchmark needs its rate, and only a given benchmark takes one")
        if self.given_rate is not None and self.given_rate < 0:
            raise BadInput("a benchmark rate cannot be negative")

    def centile(self, direction: Direction) -> float | None:
        """The centile (0..1) this benchmark is, or ``None`` where it is not one centile of all practices."""
        if self.kind is BenchmarkKind.MEDIAN:
            return 0.5
        if self.kind is BenchmarkKind.UPPER_QUARTILE:
            return 0.75 if direction is Direction.HIGH_IS_BAD else 0.25
        return None
