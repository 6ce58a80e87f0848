"""The risk model compiled into arrays once per simulation: the Beta-copula tables, the normal steps, the weights
and phasing (see the package's docstring for the model)."""

from __future__ import annotations

import math
from collections.abc import Sequence
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
RISKS, MITIGATIONS = "risks", "mitigations"


# look-alike of domain/backtest.py:Backtest (shape only): declarative, a record's fields.
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
