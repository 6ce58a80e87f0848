"""Monte Carlo simulation of the year-end position, vectorised with NumPy.

The model (``outturn.domain.risk_model.RiskModel``) is compiled once into arrays; trials are then simulated in
chunks. Per trial:

- **Savings.** Scheme s delivers a fraction F_s of its remaining forecast, F_s ~ Beta(κc_s, κ(1 − c_s)) with mean
  its confidence c_s. Schemes of one workstream are correlated through a Gaussian copula: the latent normal is
  Z_s = √ρ·W_g + √(1 − ρ)·E_s with W_g shared by workstream g, and F_s = Q_s(Φ(Z_s)). Q_s∘Φ is tabulated on
  ``Z_BINS`` bins of z (each entry the Beta's mean within its bin, so the mean is exact and only the spread
  within a bin, about one part in a million of the variance, is lost). The bin is found in integer steps:
  √(1 − ρ)·E_s and √ρ·W_g are each rounded to whole bins (W_g held within ±7 standard deviations, a chance below
  1e-11, so the sum stays in the table). Monthly delivery is F × the forecast phasing, so trials × schemes ×
  months collapse to one matrix product (trials × schemes) @ (schemes × columns). The forecast surplus already
  counts what the budgets assume (each scheme's plan for the simulated months), so a scheme's effect on the
  surplus is F_s × its forecast less that plan.
- **Risks and mitigations** land as Bernoulli(likelihood), each with its value (triangular where a range is
  given), spread evenly over the simulated months.
- **Activity growth and prices**: a normal multiplier of mean 1 on the spend still to come that each one drives.

Random numbers: trials are split into blocks of ``STREAM_BLOCK``; block b draws from
``Generator(PCG64(SeedSequence(seed).spawn(n_blocks)[b]))`` (``block_seed``) in this order: W (trials ×
workstreams, standard normal); the scheme bits (trials × schemes 16-bit integers, schemes in workstream order,
stable; the four 16-bit quarters of
each 64-bit PCG64 output, least significant first; E_s is the mean of the standard normal within the bits'
1/65536 slice of probability); the risks' landing uniforms; their value uniforms; the spend normals. A chunk is
a whole number of blocks, so results do not depend on the chunk size or the number of threads.

Precision: the delivered fractions less their mean, and the phasing, are float32 in the matrix product (errors
about 1e-6 of the spread, and under 1e-7 of a scheme's value); every mean and every total is float64.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from itertools import accumulate

import numpy as np
import numpy.typing as npt
from scipy import special

from outturn.domain.risk_model import RiskModel

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int32]

STREAM_BLOCK = 1024
Z_BINS = 4096
Z_LIMIT = 8.5
Z_SCALE = Z_BINS / (2 * Z_LIMIT)  # bins per unit of z
NORMAL_LEVELS = 1 << 16
CHUNK_ELEMENTS = 1 << 23  # trials × schemes per chunk (about 32 MB per array)
MAX_CHUNK_TRIALS = 1 << 16
BACKENDS = ("numpy", "jax")
RISKS, MITIGATIONS = "risks", "mitigations"


@dataclass(frozen=True)
class CompiledModel:
    """The model as arrays, schemes sorted by workstream (``group_bounds`` delimit each workstream's columns)."""

    forecast_surplus: float
    control_total: float
    months: tuple[int, ...]
    group_names: tuple[str, ...]
    group_bounds: tuple[int, ...]
    tables: npt.NDArray[np.float32]  # per distinct confidence, Z_BINS delivered fractions less the confidence
    table_offsets: Ints  # per scheme, where its confidence's table starts
    scheme_groups: Ints  # per scheme, its workstream's number
    normal_steps: Ints  # per 16-bit value, √(1 − ρ)·E in bins
    factor_scale: float  # √ρ in bins
    factor_limit: int
    weights: npt.NDArray[np.float32]  # schemes × (months | workstreams | full-year effect)
    weights_mean: Floats  # Σ confidence × weight, per column
    savings_subtracted: Floats  # what the forecast already counts (the budgets' plan), per column (0 if not in it)
    risk_likelihood: Floats
    risk_low: Floats
    risk_mode: Floats
    risk_high: Floats
    risk_sign: Floats
    spend_names: tuple[str, ...]
    spend_remaining: Floats
    spend_sd: Floats

    @property
    def schemes(self) -> int:
        return int(self.table_offsets.size)

    @property
    def driver_names(self) -> tuple[str, ...]:
        return (*self.group_names, RISKS, MITIGATIONS, *self.spend_names)


@lru_cache(maxsize=1024)
def _beta_table(mean: float, concentration: float) -> Floats:
    """E[X | z in bin k] for X = Q(Φ(z)), Q the Beta(κμ, κ(1 − μ)) quantile; bins centred on (k − Z_BINS/2)/Z_SCALE.

    All or nothing (κ = 0) is 0 or 1 by the bin's centre: its mean is then within half a bin's probability (under
    0.001) of μ rather than exact. Kept, and shared read-only: the same few confidences recur in every simulation
    of a register (the web simulates again after each savings edit), and each table costs about 20-50 ms."""
    edges = (np.arange(Z_BINS + 1) - 0.5 - Z_BINS / 2) / Z_SCALE
    edges[0], edges[-1] = -np.inf, np.inf
    cumulative: Floats = special.ndtr(edges)
    mass = np.diff(cumulative)
    if mean in (0.0, 1.0) or math.isinf(concentration):
        return np.full(Z_BINS, mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        if concentration == 0:  # all or nothing: in full when Φ(z) > 1 − μ, judged at the bin's centre
            centres = (np.arange(Z_BINS) - Z_BINS / 2) / Z_SCALE
            threshold = float(special.ndtri(1 - mean))
            return (centres > threshold).astype(np.float64)
        a, b = mean * concentration, (1 - mean) * concentration
        quantiles: Floats = special.betaincinv(a, b, cumulative)
        partial: Floats = mean * special.betainc(a + 1, b, quantiles)
        conditional = np.diff(partial) / mass
    table: Floats = np.where(mass > 0, np.clip(conditional, quantiles[:-1], quantiles[1:]), quantiles[:-1])
    table.flags.writeable = False
    return table


def _normal_steps(idiosyncratic: float) -> Ints:
    """√(1 − ρ) × (the mean of N(0, 1) within each 1/65536 slice of probability), in bins, rounded."""
    bounds: Floats = special.ndtri(np.linspace(0, 1, NORMAL_LEVELS + 1))
    density = np.exp(-(bounds**2) / 2) / math.sqrt(2 * math.pi)
    means = (density[:-1] - density[1:]) * NORMAL_LEVELS
    return np.rint(means * idiosyncratic * Z_SCALE).astype(np.int32)


def compile_model(model: RiskModel) -> CompiledModel:
    schemes = sorted(model.schemes, key=lambda scheme: scheme.workstream)
    groups = model.workstreams
    confidences = np.array([float(s.confidence) for s in schemes])
    distinct, which = np.unique(confidences, return_inverse=True)
    concentration = float(model.concentration)
    tables = np.stack([_beta_table(float(c), concentration) - c for c in distinct]) if schemes else np.zeros((0, 0))
    rho = float(model.correlation)
    steps = _normal_steps(math.sqrt(1 - rho))
    months, columns = len(model.months), len(model.months) + len(groups) + 1
    weights, assumed = np.zeros((len(schemes), columns)), np.zeros((len(schemes), columns))
    for row, scheme in enumerate(schemes):
        group = months + groups.index(scheme.workstream)
        weights[row, :months] = scheme.remaining_pence
        weights[row, group] = scheme.remaining_total_pence
        weights[row, -1] = scheme.remaining_total_pence * float(scheme.full_year_factor) * scheme.recurrent
        assumed[row, :months] = scheme.assumed_monthly_pence
        assumed[row, group] = scheme.assumed_total_pence
    banked = sum(s.delivered_pence * float(s.full_year_factor) for s in schemes if s.recurrent)
    weights_mean = confidences @ weights + np.eye(columns)[-1] * banked
    subtracted = assumed.sum(axis=0) * model.savings_in_forecast
    risks = model.risks

    def risk_array(values: Sequence[float | int | Decimal]) -> Floats:
        return np.array([float(value) for value in values], dtype=np.float64)

    return CompiledModel(
        forecast_surplus=float(model.forecast_surplus_pence),
        control_total=float(model.control_total_pence),
        months=model.months,
        group_names=groups,
        group_bounds=(0, *accumulate(sum(s.workstream == group for s in schemes) for group in groups)),
        tables=tables.astype(np.float32).reshape(-1),
        table_offsets=(which * Z_BINS).astype(np.int32),
        scheme_groups=np.array([groups.index(s.workstream) for s in schemes], dtype=np.int32),
        normal_steps=steps,
        factor_scale=math.sqrt(rho) * Z_SCALE,
        factor_limit=int(Z_BINS // 2 - 1 - np.abs(steps).max()),
        weights=weights.astype(np.float32),
        weights_mean=weights_mean,
        savings_subtracted=subtracted,
        risk_likelihood=risk_array([r.likelihood for r in risks]),
        risk_low=risk_array([r.low_pence for r in risks]),
        risk_mode=risk_array([r.mode_pence for r in risks]),
        risk_high=risk_array([r.high_pence for r in risks]),
        risk_sign=risk_array([r.sign for r in risks]),
        spend_names=tuple(item.name for item in model.spend),
        spend_remaining=risk_array([item.remaining_pence for item in model.spend]),
        spend_sd=risk_array([item.sd for item in model.spend]),
    )


@dataclass(frozen=True)
class Draws:
    """One block's random numbers, in the order they are drawn."""

    factors: Floats  # trials × workstreams
    scheme_bits: npt.NDArray[np.uint16]  # trials × schemes
    risk_landing: Floats  # trials × risks
    risk_value: Floats  # trials × risks
    spend: Floats  # trials × spend drivers


def block_seed(seed: int, block: int) -> np.random.SeedSequence:
    """The seed of stream block ``block``: the same as ``SeedSequence(seed).spawn(block + 1)[block]``."""
    return np.random.SeedSequence(seed, spawn_key=(block,))


def block_draws(model: CompiledModel, seed: np.random.SeedSequence, trials: int) -> Draws:
    rng = np.random.Generator(np.random.PCG64(seed))
    factors = rng.standard_normal((trials, len(model.group_names)))
    count = trials * model.schemes
    raw = rng.bit_generator.random_raw(-(-count // 4)).astype("<u8", copy=False)
    bits = raw.view("<u2")[:count].reshape(trials, model.schemes)
    risks = model.risk_likelihood.size
    landing, value = rng.random((trials, risks)), rng.random((trials, risks))
    return Draws(factors, bits, landing, value, rng.standard_normal((trials, model.spend_remaining.size)))


def triangular(low: Floats, mode: Floats, high: Floats, uniforms: Floats) -> Floats:
    """The triangular distribution's quantile at ``uniforms`` (low == high: that value)."""
    width = high - low
    with np.errstate(divide="ignore", invalid="ignore"):
        split = np.where(width > 0, (mode - low) / width, 0.0)
        lower = low + np.sqrt(uniforms * width * (mode - low))
        upper = high - np.sqrt((1 - uniforms) * width * (high - mode))
    return np.where(uniforms < split, lower, upper)


@dataclass(frozen=True)
class ChunkEffects:
    monthly: Floats  # trials × months: change to the surplus in each simulated month
    drivers: Floats  # trials × drivers: the same change, by what drives it
    carried_forward: Floats  # trials: full-year effect of the year's recurrent savings


def scheme_index(model: CompiledModel, draws: Draws) -> Ints:
    """Per trial and scheme, the entry of the delivered-fraction tables its latent normal falls in."""
    index = model.normal_steps[draws.scheme_bits]
    index += model.table_offsets
    factor = np.clip(np.rint(draws.factors * model.factor_scale), -model.factor_limit, model.factor_limit)
    shift = factor.astype(np.int32) + np.int32(Z_BINS // 2)
    bounds = model.group_bounds
    for group in range(len(model.group_names)):
        index[:, bounds[group] : bounds[group + 1]] += shift[:, group : group + 1]
    return index


def finish(
    model: CompiledModel, centred_savings: Floats, landing: Floats, value: Floats, spend: Floats
) -> ChunkEffects:
    """From Σ_s (F_s − c_s) × weight_s per column and the other draws to each trial's monthly and driver effects."""
    months, groups = len(model.months), len(model.group_names)
    net = centred_savings + model.weights_mean - model.savings_subtracted
    values = triangular(model.risk_low, model.risk_mode, model.risk_high, value)
    signed = (landing < model.risk_likelihood) * values * model.risk_sign
    risks = np.where(model.risk_sign < 0, signed, 0.0).sum(axis=1)
    mitigations = np.where(model.risk_sign > 0, signed, 0.0).sum(axis=1)
    spend_effects = -spend * model.spend_sd * model.spend_remaining
    spread = (risks + mitigations + spend_effects.sum(axis=1)) / months
    drivers = np.column_stack([net[:, months : months + groups], risks, mitigations, spend_effects])
    return ChunkEffects(net[:, :months] + spread[:, None], drivers, net[:, -1])


def numpy_effects(model: CompiledModel, draws: Draws) -> ChunkEffects:
    trials = draws.factors.shape[0]
    if model.schemes:
        centred = (model.tables[scheme_index(model, draws)] @ model.weights).astype(np.float64)
    else:
        centred = np.zeros((trials, model.weights_mean.size))
    return finish(model, centred, draws.risk_landing, draws.risk_value, draws.spend)


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


ChunkRunner = Callable[[CompiledModel, int, int, int], ChunkEffects]  # (model, seed, first block, trials)


def numpy_chunk(model: CompiledModel, seed: int, first_block: int, trials: int) -> ChunkEffects:
    blocks = -(-trials // STREAM_BLOCK)
    parts = [
        numpy_effects(
            model, block_draws(model, block_seed(seed, first_block + i), min(STREAM_BLOCK, trials - i * STREAM_BLOCK))
        )
        for i in range(blocks)
    ]
    return ChunkEffects(
        np.concatenate([p.monthly for p in parts]),
        np.concatenate([p.drivers for p in parts]),
        np.concatenate([p.carried_forward for p in parts]),
    )


def _runner(backend: str) -> tuple[ChunkRunner, int, int]:
    """A backend's chunk runner, how many chunks it runs at once, and how many blocks it likes in a chunk."""
    if backend == "numpy":
        return numpy_chunk, os.cpu_count() or 1, 1
    if backend == "jax":
        from outturn.stats.montecarlo_gpu import jax_chunk

        return jax_chunk, 1, 16
    raise ValueError(f"unknown Monte Carlo backend {backend!r} (one of: {', '.join(BACKENDS)})")


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
        raise ValueError("the simulation needs at least one trial")
    if seed < 0:
        raise ValueError("the seed is a non-negative integer")
    compiled = compile_model(model)
    runner, parallel, scale_chunk = _runner(backend)
    chunks = _chunks(trials, chunk_trials or default_chunk_trials(compiled) * scale_chunk)
    with ThreadPoolExecutor(max_workers=workers or parallel) as pool:
        parts = list(pool.map(lambda chunk: runner(compiled, seed, chunk[0], chunk[1]), chunks))
    return SimulationResult(
        compiled,
        trials,
        seed,
        backend,
        np.concatenate([p.monthly for p in parts]),
        np.concatenate([p.drivers for p in parts]),
        np.concatenate([p.carried_forward for p in parts]),
    )


# --- summaries ------------------------------------------------------------------------------------------------


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
