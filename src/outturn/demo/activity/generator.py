"""Generating a year of SYNTHETIC activity: checking the request, calibrating each kind of activity to the reference
files, and writing one file per kind (``population.py``, ``admitted.py``, ``outpatients.py``, ``ae.py``,
``writing.py``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from outturn.demo.activity.admitted import AdmittedMix, build_admitted_mix, draw_spells
from outturn.demo.activity.ae import AeMix, build_ae_mix, draw_ae_attendances
from outturn.demo.activity.financial_year import FinancialYear
from outturn.demo.activity.outpatients import OutpatientMix, build_outpatient_mix, draw_attendances
from outturn.demo.activity.population import SCALES, ActivityScale, Population, build_population
from outturn.demo.activity.writing import (
    DrawChunk,
    Progress,
    activity_path,
    parameters_metadata,
    write_activity_file,
)
from outturn.demo.reference_inputs import read_ae_tariff, read_apc_tariff, read_ncc, read_op_tariff, tariff_file
from outturn.domain.activity import AE_SCHEMA, APC_SCHEMA, OP_SCHEMA, ActivityKind

# Each kind's random stream (the second number of every chunk's seed) and layout; stream 0 draws the population.
_POPULATION_STREAM = 0
_STREAMS: Mapping[ActivityKind, tuple[int, Mapping[str, str]]] = {
    ActivityKind.APC: (1, APC_SCHEMA),
    ActivityKind.OP: (2, OP_SCHEMA),
    ActivityKind.AE: (3, AE_SCHEMA),
}


@dataclass(frozen=True)
class _Economy:
    """Everything a chunk of any kind is drawn from, calibrated once per run."""

    year: FinancialYear
    population: Population
    admitted: AdmittedMix
    outpatients: OutpatientMix
    ae: AeMix

    def draw_chunk(self, kind: ActivityKind) -> DrawChunk:
        """The function that draws a chunk of ``kind``: (rng, first row, rows) -> columns."""
        if kind is ActivityKind.APC:
            return partial(draw_spells, self.year, self.population, self.admitted)
        if kind is ActivityKind.OP:
            return partial(draw_attendances, self.year, self.population, self.outpatients)
        return partial(draw_ae_attendances, self.year, self.population, self.ae)


def _build_economy(
    reference_dir: Path,
    *,
    scale: ActivityScale,
    scale_name: str,
    seed: int,
    year: int,
    population_size: int,
    providers: Sequence[str] | None,
    commissioners: Sequence[str] | None,
    practices: Sequence[str] | None,
    registered: Mapping[str, tuple[str, float]] | None = None,
) -> _Economy:
    tariff = read_apc_tariff(tariff_file(reference_dir, year, "apc_oproc"))
    op_tariff = read_op_tariff(tariff_file(reference_dir, year, "op_attendances"))
    ae_tariff = read_ae_tariff(tariff_file(reference_dir, year, "ae"))
    ncc = read_ncc(reference_dir / "prices" / "ncc.csv")
    if not op_tariff or not ae_tariff or not tariff.codes:
        raise ValueError(f"the national tariff files in {reference_dir} list no prices")
    population = build_population(
        reference_dir,
        np.random.default_rng([seed, _POPULATION_STREAM, 0]),
        scale=scale,
        scale_name=scale_name,
        year=year,
        population_size=population_size,
        providers=providers,
        commissioners=commissioners,
        practices=practices,
        registered=registered,
    )
    return _Economy(
        year=FinancialYear.starting(year),
        population=population,
        admitted=build_admitted_mix(tariff, ncc),
        outpatients=build_outpatient_mix(op_tariff, tariff, ncc),
        ae=build_ae_mix(ae_tariff, ncc),
    )


def target_rows(scale: str = "icb", scale_factor: float = 1.0) -> dict[str, int]:
    """How many spells and attendances ``generate_activity`` writes for a scale and factor."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: choose from {', '.join(SCALES)}")
    if not math.isfinite(scale_factor) or scale_factor <= 0:
        raise ValueError(f"the scale factor must be a positive number, not {scale_factor}")
    size = SCALES[scale]
    return {
        ActivityKind.APC.value: round(size.spells * scale_factor),
        ActivityKind.OP.value: round(size.outpatients * scale_factor),
        ActivityKind.AE.value: round(size.ae * scale_factor),
    }


def _check_request(
    reference_dir: Path,
    *,
    seed: int,
    chunk_rows: int,
    providers: Sequence[str] | None,
    commissioners: Sequence[str] | None,
    practices: Sequence[str] | None,
) -> None:
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, not {chunk_rows}")
    if seed < 0:
        raise ValueError(f"the seed must not be negative, not {seed}")
    if providers is not None and not providers:
        raise ValueError("the list of providers is empty")
    if commissioners is not None and not commissioners:
        raise ValueError("the list of commissioners is empty")
    if practices is not None and not practices:
        raise ValueError("the list of practices is empty")
    if not Path(reference_dir).is_dir():
        raise FileNotFoundError(f"reference-data directory not found: {reference_dir}")


def generate_activity(
    out_dir: Path,
    *,
    reference_dir: Path,
    scale: str = "icb",
    seed: int = 2018,
    year: int = 2018,
    providers: Sequence[str] | None = None,
    commissioners: Sequence[str] | None = None,
    practices: Sequence[str] | None = None,
    chunk_rows: int = 1_000_000,
    progress: Progress | None = None,
    scale_factor: float = 1.0,
    registered: Mapping[str, tuple[str, float]] | None = None,
) -> dict[str, int]:
    """Write a year of SYNTHETIC activity (``apc.parquet``, ``op.parquet``, ``ae.parquet``) to ``out_dir``.

    ``scale`` is ``icb`` (about 1.5m people: 350k spells, 2m outpatient and 600k A&E attendances) or ``national``
    (20m, 125m and 25m); ``scale_factor`` multiplies the counts and the population. ``year`` is the start of the
    financial year (2018 for 2018/19): every date lies from 1 April ``year`` to 31 March ``year + 1``.
    ``progress(kind, rows_done, rows_total)`` is called after each chunk. ``registered`` (practice -> its
    commissioner and need-weighted population) puts patients with real practices in proportion to their weighted
    populations; it overrides ``practices`` and ``commissioners``. Returns the rows written per kind."""
    counts = target_rows(scale, scale_factor)
    _check_request(
        reference_dir,
        seed=seed,
        chunk_rows=chunk_rows,
        providers=providers,
        commissioners=commissioners,
        practices=practices,
    )
    size = SCALES[scale]
    economy = _build_economy(
        Path(reference_dir),
        scale=size,
        scale_name=scale,
        seed=seed,
        year=year,
        population_size=max(1_000, round(size.population * scale_factor)),
        providers=providers,
        commissioners=commissioners,
        practices=practices,
        registered=registered,
    )
    parameters = parameters_metadata(
        scale=scale, scale_factor=scale_factor, seed=seed, year=year, chunk_rows=chunk_rows
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for kind in ActivityKind:
        stream, layout = _STREAMS[kind]
        write_activity_file(
            activity_path(out_dir, kind),
            kind=kind,
            stream=stream,
            layout=layout,
            draw_chunk=economy.draw_chunk(kind),
            rows=counts[kind.value],
            seed=seed,
            chunk_rows=chunk_rows,
            parameters=parameters,
            progress=progress,
        )
    return counts
