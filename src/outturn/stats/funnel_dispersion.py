"""Overdispersion for funnel plots: Winsorised or truncated z-scores, the dispersion ratio φ and the
DerSimonian–Laird between-group variance τ² (Spiegelhalter 2005 and 2012), ported from the NHS-R community's
FunnelPlotR (``R/od_adjustment.R``: ``winsorisation``, ``truncation``, ``phi_func``, ``tau_func``).

Each group has a z-score on the transformed scale, ``(Y − target) / s``, with ``s`` its within-group standard
error. Where the z-scores are more spread than a standard normal (φ > 1), the limits are widened by adding τ² to
each group's ``s²``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]

DEFAULT_TRIM = 0.1  # FunnelPlotR's trim_by: 10% at each end


@dataclass(frozen=True)
class Dispersion:
    """φ (the mean squared Winsorised or kept z-score) and τ² (0 when φ shows no overdispersion)."""

    phi: float
    tau2: float
    groups_used: int  # the groups in φ: all of them when Winsorised, those kept when truncated


def winsorised(z_scores: Floats, trim: float = DEFAULT_TRIM) -> Floats:
    """Z-scores pulled in to their ``trim`` and ``1 − trim`` quantiles (R's default type-7 quantiles)."""
    lower, upper = np.quantile(z_scores, [trim, 1.0 - trim])
    return np.clip(z_scores, lower, upper)


def kept_after_truncation(z_scores: Floats, trim: float = DEFAULT_TRIM) -> NDArray[np.bool_]:
    """NHS England's SHMI method: rank the z-scores (ties averaged) into ``1/trim`` bands and drop the first and
    last band, instead of Winsorising."""
    from scipy.stats import rankdata  # loaded when used: scipy.stats is slow to import

    bands = round(1 / trim)
    ranks = rankdata(z_scores, method="average")
    band = np.floor(ranks * bands / (len(z_scores) + 1))
    kept: NDArray[np.bool_] = (band > 0) & (band < bands - 1)
    return kept


def phi(z_scores: Floats) -> float:
    """The dispersion ratio: the mean squared z-score."""
    return float(np.mean(z_scores**2)) if len(z_scores) else 0.0


def tau2(groups: int, dispersion_ratio: float, standard_errors: Floats) -> float:
    """DerSimonian–Laird τ² with weights ``1/s²``; 0 when ``n·φ < n − 1`` (no overdispersion)."""
    if groups < 2 or groups * dispersion_ratio < groups - 1:
        return 0.0
    weights = 1.0 / standard_errors**2
    spread = weights.sum() - (weights**2).sum() / weights.sum()
    return max(0.0, (groups * dispersion_ratio - (groups - 1)) / float(spread))


def dispersion(z_scores: Floats, standard_errors: Floats, *, truncate: bool, trim: float = DEFAULT_TRIM) -> Dispersion:
    """φ and τ² from the unadjusted z-scores: Winsorised (Spiegelhalter), or truncated (SHMI)."""
    if truncate:
        kept = kept_after_truncation(z_scores, trim)
        used_z, used_s = z_scores[kept], standard_errors[kept]
    else:
        used_z, used_s = winsorised(z_scores, trim), standard_errors
    ratio = phi(used_z)
    return Dispersion(phi=ratio, tau2=tau2(len(used_z), ratio, used_s), groups_used=len(used_z))
