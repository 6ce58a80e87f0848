"""The SYNTHETIC population activity is drawn for: patients by age, their practices and commissioners, and the
providers they attend.

Ages follow the registered population's age bands (Patient List Size file) times a utilisation rate by point of
delivery. Practices are synthetic (or given, or real practices in proportion to their need-weighted populations);
each commissioner sends most of its activity to one "home" provider, the rest spread over all providers by size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from outturn.demo.activity.draws import CodeMix, code_column, id_column, string_array
from outturn.demo.reference_inputs import (
    MAX_AGE,
    BoolArray,
    FloatArray,
    IntArray,
    age_pyramid,
    read_ae_attendances,
    read_mff_providers,
)

HOME_PROVIDER_SHARE = 0.80  # the rest is spread over all providers by size
ADULT_MIN_AGE = 17  # adult HRGs: some 17 and 18 year olds (the short-stay tariff starts at 19)
CHILD_MAX_AGE = 18
ELDERLY_MIN_AGE = 65
PRACTICE_VARIATION = 0.15  # lognormal sigma: how far a practice's use strays from its weighted population
_PHI = (math.sqrt(5.0) - 1.0) / 2.0  # spreads patient numbers evenly over practices


@dataclass(frozen=True)
class ActivityScale:
    """The size of one year's activity for a population."""

    population: int
    spells: int
    outpatients: int
    ae: int
    commissioners: int
    practices: int


SCALES: Mapping[str, ActivityScale] = {
    "icb": ActivityScale(1_500_000, 350_000, 2_000_000, 600_000, 3, 150),
    "national": ActivityScale(56_000_000, 20_000_000, 125_000_000, 25_000_000, 191, 7_000),
}

# Oxford University Hospitals, Buckinghamshire Healthcare, Royal Berkshire (the demo ICB's acute trusts) and three
# neighbours that see some of its patients: Milton Keynes, Frimley, Great Western.
ICB_PROVIDERS: tuple[tuple[str, float], ...] = (
    ("RTH", 0.34),
    ("RXQ", 0.28),
    ("RHW", 0.26),
    ("RD8", 0.04),
    ("RDU", 0.04),
    ("RN3", 0.04),
)

_NATIONAL_TYPE_SHARES = (0.63, 0.02, 0.35)  # type 1, 2, 3 A&E attendances in England, 2018/19


# --- ages --------------------------------------------------------------------------------------------------------


def _age_cdf(weights: FloatArray, low: int, high: int) -> FloatArray:
    ages = np.arange(MAX_AGE + 1)
    return np.cumsum(np.where((ages >= low) & (ages <= high), weights, 0.0))


@dataclass(frozen=True)
class AgeProfile:
    """Ages at one point of delivery: population times utilisation, drawn within an age range."""

    weights: FloatArray

    def draw(self, rng: np.random.Generator, size: int, low: int = 0, high: int = MAX_AGE) -> IntArray:
        cdf = _age_cdf(self.weights, low, high)
        picks = np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right")
        return np.asarray(np.minimum(picks, MAX_AGE), dtype=np.int64)


def age_profiles(pyramid: FloatArray) -> dict[str, AgeProfile]:
    """Ages by point of delivery (``elective``, ``non_elective``, ``outpatient``, ``ae``) for an age pyramid."""
    ages = np.arange(MAX_AGE + 1, dtype=np.float64)
    elective = 0.25 + 1.75 / (1.0 + np.exp(-(ages - 55.0) / 12.0)) * np.where(ages > 85, 0.97 ** (ages - 85), 1.0)
    non_elective = np.where(ages < 1, 4.0, np.where(ages < 5, 1.2, np.where(ages < 17, 0.5, np.exp((ages - 20) / 25))))
    outpatient = 0.6 + np.minimum(ages, 85) / 40.0
    ae = np.select(
        [ages < 5, ages < 15, ages < 30, ages < 65, ages < 80], [1.5, 0.8, 1.2, 0.8, 1.0], default=1.8
    ).astype(np.float64)
    return {
        "elective": AgeProfile(pyramid * elective),
        "non_elective": AgeProfile(pyramid * non_elective),
        "outpatient": AgeProfile(pyramid * outpatient),
        "ae": AgeProfile(pyramid * ae),
    }


def draw_ages(
    rng: np.random.Generator, size: int, groups: Sequence[tuple[BoolArray, AgeProfile, int, int]]
) -> IntArray:
    """Ages for the rows of each group (rows, profile, lowest age, highest age), drawn group by group."""
    ages = np.zeros(size, dtype=np.int64)
    for mask, profile, low, high in groups:
        count = int(mask.sum())
        if count:
            ages[mask] = profile.draw(rng, count, low, high)
    return ages


# --- patients, practices, commissioners and providers ------------------------------------------------------------


@dataclass(frozen=True)
class People:
    """Per row: the patient's number, and indices of their practice, commissioner and provider."""

    patient: IntArray
    practice: IntArray
    commissioner: IntArray
    provider: IntArray


@dataclass(frozen=True)
class Population:
    """Patients by age, their practices and commissioners, and the providers they attend."""

    age_offset: IntArray  # the first patient number of each age
    age_pool: IntArray  # patients of each age
    practice_cdf: FloatArray
    practice_commissioner: IntArray
    home_provider: IntArray  # per commissioner
    provider_mix: CodeMix
    provider_type_cdf: FloatArray  # providers x 2: P(type 1), P(type 1 or 2) A&E department
    ages: Mapping[str, AgeProfile]
    providers: pa.Array
    commissioners: pa.Array
    practices: pa.Array

    def draw_people(self, rng: np.random.Generator, ages: IntArray) -> People:
        """A patient of the drawn age, their practice and commissioner, and the provider they attend."""
        size = len(ages)
        patient = self.age_offset[ages] + (rng.random(size) * self.age_pool[ages]).astype(np.int64)
        practice = np.minimum(
            np.searchsorted(self.practice_cdf, (patient * _PHI) % 1.0, side="right"), len(self.practice_cdf) - 1
        )
        commissioner = self.practice_commissioner[practice]
        elsewhere = self.provider_mix.draw(rng, size)
        provider = np.where(rng.random(size) < HOME_PROVIDER_SHARE, self.home_provider[commissioner], elsewhere)
        return People(patient, practice, commissioner, provider)

    def columns(self, people: People) -> dict[str, pa.Array]:
        """The provider, commissioner, practice and patient columns every kind of activity carries."""
        return {
            "provider": code_column(self.providers, people.provider),
            "commissioner": code_column(self.commissioners, people.commissioner),
            "practice": code_column(self.practices, people.practice),
            "patient_id": id_column("P", people.patient, 9),
        }


@dataclass(frozen=True)
class _Practices:
    codes: list[str]
    commissioner_codes: list[str]
    list_sizes: FloatArray
    commissioner: IntArray  # per practice, into commissioner_codes


def _registered_practices(registered: Mapping[str, tuple[str, float]], rng: np.random.Generator) -> _Practices:
    """Real practices, each with its commissioner and need-weighted population: patients are drawn in proportion to
    the weighted population times a practice's own variation, so some practices use more than their need."""
    practice_codes = sorted(registered)
    commissioner_codes = sorted({commissioner for commissioner, _weight in registered.values()})
    index = {code: number for number, code in enumerate(commissioner_codes)}
    weights = np.array([max(registered[code][1], 0.0) for code in practice_codes])
    if not weights.sum() > 0:
        raise ValueError("the practices' weighted populations add up to nothing")
    list_sizes = weights * rng.lognormal(0.0, PRACTICE_VARIATION, len(practice_codes))
    practice_commissioner = np.array([index[registered[code][0]] for code in practice_codes], dtype=np.int64)
    return _Practices(practice_codes, commissioner_codes, list_sizes, practice_commissioner)


def _listed_practices(
    rng: np.random.Generator, scale: ActivityScale, practices: Sequence[str] | None, commissioners: Sequence[str] | None
) -> _Practices:
    """The given practices and commissioners (else synthetic ones), practices shared out over commissioners in
    order, each with a random list size."""
    practice_codes = list(practices) if practices else [f"SYNP{i + 1:04d}" for i in range(scale.practices)]
    if commissioners:
        commissioner_codes = list(commissioners)
    else:
        count = min(scale.commissioners, len(practice_codes))
        commissioner_codes = [f"SYN{i + 1:0{3 if count > 99 else 2}d}" for i in range(count)]
    list_sizes = rng.lognormal(0.0, 0.5, len(practice_codes))
    practice_commissioner = (np.arange(len(practice_codes)) * len(commissioner_codes)) // len(practice_codes)
    return _Practices(practice_codes, commissioner_codes, list_sizes, practice_commissioner)


def _provider_setup(
    reference_dir: Path, year: int, scale: str, providers: Sequence[str] | None
) -> tuple[list[str], FloatArray, FloatArray]:
    """Provider codes, their sizes, and their cumulative A&E department-type shares."""
    attendances = read_ae_attendances(reference_dir, year)
    if providers:
        codes, sizes = list(providers), np.ones(len(providers))
    elif scale == "icb":
        codes, sizes = [code for code, _ in ICB_PROVIDERS], np.array([size for _, size in ICB_PROVIDERS])
    else:
        known = read_mff_providers(reference_dir)
        with_type_1 = [code for code in known if code in attendances and attendances[code][0] > 0]
        codes = with_type_1 or known
        sizes = np.array([attendances[code][0] for code in with_type_1]) if with_type_1 else np.ones(len(known))
    national = np.sum(list(attendances.values()), axis=0) if attendances else np.array(_NATIONAL_TYPE_SHARES)
    shares = np.array([attendances.get(code, national) for code in codes], dtype=np.float64)
    shares[shares.sum(axis=1) <= 0] = national
    shares /= shares.sum(axis=1, keepdims=True)
    return codes, sizes.astype(np.float64), np.cumsum(shares, axis=1)[:, :2]


# look-alike of demo/activity/generator.py:_build_economy (shape only): declarative, keyword fields or columns, one
# per attribute.
def build_population(
    reference_dir: Path,
    rng: np.random.Generator,
    *,
    scale: ActivityScale,
    scale_name: str,
    year: int,
    population_size: int,
    providers: Sequence[str] | None,
    commissioners: Sequence[str] | None,
    practices: Sequence[str] | None,
    registered: Mapping[str, tuple[str, float]] | None,
) -> Population:
    """Patients -> practices -> commissioners -> a home provider; ``rng`` draws the practices' list sizes."""
    if registered:
        listed = _registered_practices(registered, rng)
    else:
        listed = _listed_practices(rng, scale, practices, commissioners)
    provider_codes, provider_sizes, provider_type_cdf = _provider_setup(reference_dir, year, scale_name, providers)
    provider_mix = CodeMix.of(np.arange(len(provider_codes)), provider_sizes)
    commissioner_count = len(listed.commissioner_codes)
    home = np.searchsorted(provider_mix.cdf, (np.arange(commissioner_count) + 0.5) / commissioner_count)
    pyramid = age_pyramid(reference_dir)
    age_pool = np.maximum(1, np.round(population_size * pyramid / pyramid.sum())).astype(np.int64)
    return Population(
        age_offset=np.concatenate([[0], np.cumsum(age_pool)[:-1]]).astype(np.int64),
        age_pool=age_pool,
        practice_cdf=np.cumsum(listed.list_sizes / listed.list_sizes.sum()),
        practice_commissioner=listed.commissioner.astype(np.int64),
        home_provider=np.minimum(home, len(provider_codes) - 1).astype(np.int64),
        provider_mix=provider_mix,
        provider_type_cdf=provider_type_cdf,
        ages=age_profiles(pyramid),
        providers=string_array(provider_codes),
        commissioners=string_array(listed.commissioner_codes),
        practices=string_array(listed.codes),
    )
