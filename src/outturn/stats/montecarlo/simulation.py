"""Running the simulation in chunks on a chosen backend, and its summaries (the chance of meeting the control total,
the fan chart, the tornado)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from outturn.domain.errors import BadInput
from outturn.domain.risk_model import RiskModel
from outturn.stats.montecarlo.draws import ChunkEffects, ChunkRunner, numpy_chunk
from outturn.stats.montecarlo.model import (
    CHUNK_ELEMENTS,
    MAX_CHUNK_TRIALS,
    STREAM_BLOCK,
    CompiledModel,
    Floats,
    compile_model,
)


@dataclass(frozen=True)
class ChunkBackend:
    """A backend's chunk runner, how many chunks it runs at once, and how many stream blocks it likes in a chunk."""

    run: ChunkRunner
    parallel: int
    blocks_per_chunk: int


def _numpy_backend() -> ChunkBackend:
    return ChunkBackend(numpy_chunk, os.cpu_count() or 1, 1)


def _jax_backend() -> ChunkBackend:
    from outturn.stats.montecarlo.jax_backend import jax_chunk  # JAX is optional: imported only when chosen

    return ChunkBackend(jax_chunk, 1, 16)


BACKENDS: Mapping[str, Callable[[], ChunkBackend]] = MappingProxyType({"numpy": _numpy_backend, "jax": _jax_backend})


def _backend(name: str) -> ChunkBackend:
    if name not in BACKENDS:
        raise BadInput(f"unknown Monte Carlo backend {name!r} (one of: {', '.join(BACKENDS)})")
    return BACKENDS[name]()


@dataclass(frozen=True)
class SimulationResult:
    model: CompiledModel
    trials: int
    seed: int
    backend: str
    monthly: Floats  # trials × months
    drivers: Floats  # trials × drivers
    carried_forward: Floats  # trials

    @property
    def cumulative(self) -> Floats:
        """The year-end surplus with the months to m resolved (later months at forecast): the fan chart."""
        return self.model.forecast_surplus + np.cumsum(self.monthly, axis=1)

    @property
    def year_end(self) -> Floats:
        total: Floats = self.model.forecast_surplus + self.monthly.sum(axis=1)
        return total


def _chunks(trials: int, chunk_trials: int) -> list[tuple[int, int]]:
    """(first block, trials) per chunk; each chunk a whole number of stream blocks."""
    per_chunk = max(STREAM_BLOCK, chunk_trials // STREAM_BLOCK * STREAM_BLOCK)
    return [(start // STREAM_BLOCK, min(per_chunk, trials - start)) for start in range(0, trials, per_chunk)]


def default_chunk_trials(model: CompiledModel) -> int:
    return min(MAX_CHUNK_TRIALS, max(STREAM_BLOCK, CHUNK_ELEMENTS // max(model.schemes, 1)))


def simulate(
    model: RiskModel,
    trials: int,
    seed: int,
    *,
    backend: str = "numpy",
    chunk_trials: int | None = None,
    workers: int | None = None,
) -> SimulationResult:
    """Simulate ``trials`` years; the same seed gives the same result whatever the chunk size or workers."""
    if trials < 1:
        raise BadInput("the simulation needs at least one trial")
    if seed < 0:
        raise BadInput("the seed is a non-negative integer")
    compiled = compile_model(model)
    chosen = _backend(backend)
    chunks = _chunks(trials, chunk_trials or default_chunk_trials(compiled) * chosen.blocks_per_chunk)
    with ThreadPoolExecutor(max_workers=workers or chosen.parallel) as pool:
        parts: list[ChunkEffects] = list(pool.map(lambda chunk: chosen.run(compiled, seed, chunk[0], chunk[1]), chunks))
    return SimulationResult(
        compiled,
        trials,
        seed,
        backend,
        np.concatenate([p.monthly for p in parts]),
        np.concatenate([p.drivers for p in parts]),
        np.concatenate([p.carried_forward for p in parts]),
    )


@dataclass(frozen=True)
class FanPoint:
    month: int
    percentiles: tuple[float, ...]  # at FAN_PERCENTILES


FAN_PERCENTILES = (10, 25, 50, 75, 90)


@dataclass(frozen=True)
class TornadoBar:
    """The P50 of the year-end surplus with one driver held at its own P10 and at its P90 (the others free).

    Because the surplus is the sum of the drivers' effects, the swing (high − low) is that driver's P90 − P10;
    ``variance_share`` is its variance over the surplus's."""

    driver: str
    p50_low: float
    p50_high: float
    variance_share: float

    @property
    def swing(self) -> float:
        return self.p50_high - self.p50_low


def p_meet(result: SimulationResult) -> float:
    """The share of trials whose surplus is at least the control total."""
    return float(np.mean(result.year_end >= result.model.control_total))


def fan_chart(result: SimulationResult) -> tuple[FanPoint, ...]:
    table = np.percentile(result.cumulative, FAN_PERCENTILES, axis=0)
    return tuple(FanPoint(month, tuple(float(v) for v in table[:, i])) for i, month in enumerate(result.model.months))


def tornado(result: SimulationResult) -> tuple[TornadoBar, ...]:
    year_end = result.year_end
    total_variance = float(np.var(year_end))
    bars = []
    for column, name in enumerate(result.model.driver_names):
        effect = result.drivers[:, column]
        if not effect.any():
            continue
        others = float(np.median(year_end - effect))
        low, high = np.percentile(effect, [10, 90])
        share = float(np.var(effect)) / total_variance if total_variance else 0.0
        bars.append(TornadoBar(name, others + float(low), others + float(high), share))
    return tuple(sorted(bars, key=lambda bar: (-bar.swing, -bar.variance_share, bar.driver)))
