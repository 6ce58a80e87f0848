"""One stream block's random numbers and the NumPy chunk runner: a chunk of trials turned into its monthly, driver and
carried-forward effects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from outturn.stats.montecarlo.model import STREAM_BLOCK, Z_BINS, CompiledModel, Floats, Ints


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
