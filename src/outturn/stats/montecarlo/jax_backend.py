"""The Monte Carlo simulation on JAX: a GPU where JAX has one, else the CPU.

Chosen by the setting ``OUTTURN_MONTE_CARLO_BACKEND=jax`` (``monte_carlo_backend`` in ``outturn.toml``); JAX is
an optional dependency (``pip install 'outturn[gpu]'``, or ``jax[cuda12]`` for an NVIDIA GPU), imported only when
chosen. The algorithm is the NumPy path's (same model arrays, tables and copula), with JAX's random numbers:
block b of a seed draws from ``fold_in(key(seed), b)``, so a seed gives the same result whatever the chunk size,
and the same distribution as the NumPy path within sampling error (not the same trials). The device does the
heavy part (draws, table look-ups, the matrix product, in float32); the float64 totals are made on the host.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from outturn.domain.errors import BadInput
from outturn.stats.montecarlo.draws import ChunkEffects, finish
from outturn.stats.montecarlo.model import STREAM_BLOCK, Z_BINS, CompiledModel

_device_cache: dict[int, tuple[CompiledModel, tuple[Any, ...]]] = {}


def _jax() -> Any:
    try:
        import jax
    except ImportError:  # pragma: no cover - depends on the installation
        raise BadInput(
            "the jax Monte Carlo backend needs JAX: pip install 'outturn[gpu]' (or jax[cuda12] for a GPU), "
            "or set OUTTURN_MONTE_CARLO_BACKEND=numpy"
        ) from None
    return jax


def _device_arrays(model: CompiledModel) -> tuple[Any, ...]:
    """The model's arrays on the device, kept for the model being simulated."""
    cached = _device_cache.get(id(model))
    if cached is not None and cached[0] is model:
        return cached[1]
    jnp = _jax().numpy
    arrays = tuple(
        jnp.asarray(array)
        for array in (model.normal_steps, model.table_offsets, model.scheme_groups, model.tables, model.weights)
    )
    _device_cache.clear()
    _device_cache[id(model)] = (model, arrays)
    return arrays


@cache
def _kernel() -> Any:
    """The jitted block kernel, vectorised over a chunk's blocks (built on first use: JAX is imported lazily)."""
    jax = _jax()
    jnp = jax.numpy

    def block(key: Any, arrays: tuple[Any, ...], shape: tuple[int, int, int, int], scale: float, limit: int) -> Any:
        steps, offsets, groups_of, tables, weights = arrays
        groups, schemes, risks, spend = shape
        keys = jax.random.split(key, 5)
        factors = jax.random.normal(keys[0], (STREAM_BLOCK, groups))
        shift = jnp.clip(jnp.rint(factors * scale), -limit, limit).astype(jnp.int32) + Z_BINS // 2
        if schemes:
            bits = jax.random.bits(keys[1], (STREAM_BLOCK, schemes), dtype=jnp.uint16)
            index = steps[bits] + offsets[None, :] + shift[:, groups_of]
            centred = tables[index] @ weights
        else:
            centred = jnp.zeros((STREAM_BLOCK, weights.shape[1]), dtype=jnp.float32)
        landing = jax.random.uniform(keys[2], (STREAM_BLOCK, risks))
        value = jax.random.uniform(keys[3], (STREAM_BLOCK, risks))
        return centred, landing, value, jax.random.normal(keys[4], (STREAM_BLOCK, spend))

    def blocks(keys: Any, arrays: tuple[Any, ...], shape: tuple[int, int, int, int], scale: float, limit: int) -> Any:
        return jax.vmap(lambda key: block(key, arrays, shape, scale, limit))(keys)

    return jax.jit(blocks, static_argnums=(2, 3, 4))


def jax_chunk(model: CompiledModel, seed: int, first_block: int, trials: int) -> ChunkEffects:
    """Trials of blocks ``first_block`` onwards on JAX: full blocks are drawn, the tail of the last is dropped."""
    jax = _jax()
    count = -(-trials // STREAM_BLOCK)
    root = jax.random.key(seed)
    keys = jax.vmap(lambda b: jax.random.fold_in(root, b))(jax.numpy.arange(first_block, first_block + count))
    shape = (len(model.group_names), model.schemes, model.risk_likelihood.size, model.spend_remaining.size)
    outputs = _kernel()(keys, _device_arrays(model), shape, model.factor_scale, model.factor_limit)
    centred, landing, value, spend = (
        np.asarray(array, dtype=np.float64).reshape(count * STREAM_BLOCK, -1)[:trials] for array in outputs
    )
    return finish(model, centred, landing, value, spend)
