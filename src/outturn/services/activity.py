"""Generating a year of SYNTHETIC hospital activity for the demo and the benchmarks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from outturn.demo.activity import SCALES, activity_path, generate_activity
from outturn.domain.activity import ActivityKind
from outturn.domain.errors import BadInput
from outturn.settings import default_reference_dir


@dataclass(frozen=True)
class GeneratedActivity:
    """What was written: rows and file per kind (``apc``, ``op``, ``ae``), all of it SYNTHETIC."""

    out_dir: Path
    scale: str
    scale_factor: float
    seed: int
    year: int
    counts: dict[str, int]
    files: dict[str, Path] = field(default_factory=dict)


def generate(
    out_dir: Path,
    *,
    scale: str = "icb",
    scale_factor: float = 1.0,
    seed: int = 2018,
    year: int = 2018,
    reference_dir: Path | None = None,
    providers: Sequence[str] | None = None,
    commissioners: Sequence[str] | None = None,
    practices: Sequence[str] | None = None,
    chunk_rows: int = 1_000_000,
    progress: Callable[[str, int, int], None] | None = None,
) -> GeneratedActivity:
    """Write ``apc.parquet``, ``op.parquet`` and ``ae.parquet`` to ``out_dir``, calibrated to the reference data
    (``reference_dir``, else ``OUTTURN_REFERENCE_DIR``, else ``../shared/reference-data`` when present).

    Missing reference data is bad input (``ValueError``), not a bug."""
    if scale not in SCALES:
        raise BadInput(f"unknown scale {scale!r}: choose from {', '.join(SCALES)}")
    reference = reference_dir or default_reference_dir()
    if reference is None or not reference.is_dir():
        raise BadInput(
            "generating activity needs the reference data (the national tariff and National Cost Collection files)"
            + (f" ({reference} is not a directory)" if reference is not None else ""),
            needs="reference-data",
        )
    try:
        counts = generate_activity(
            out_dir,
            reference_dir=reference,
            scale=scale,
            seed=seed,
            year=year,
            providers=providers,
            commissioners=commissioners,
            practices=practices,
            chunk_rows=chunk_rows,
            progress=progress,
            scale_factor=scale_factor,
        )
    except FileNotFoundError as error:
        raise BadInput(str(error)) from error
    return GeneratedActivity(
        out_dir=out_dir.resolve(),
        scale=scale,
        scale_factor=scale_factor,
        seed=seed,
        year=year,
        counts=counts,
        files={kind.value: activity_path(out_dir, kind).resolve() for kind in ActivityKind},
    )
