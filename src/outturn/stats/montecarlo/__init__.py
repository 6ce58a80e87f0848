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

The package: ``model`` compiles the risk model into arrays, ``draws`` makes one stream block's random numbers and
runs a chunk on NumPy, ``jax_backend`` runs a chunk on JAX (optional, imported only when chosen), ``simulation``
holds the backend registry, ``simulate`` and the summaries. Nothing below imports the package itself, so there is
no cycle; this module only names the public interface.
"""

from outturn.stats.montecarlo.model import MITIGATIONS, RISKS, Z_SCALE, Floats
from outturn.stats.montecarlo.simulation import (
    BACKENDS,
    FAN_PERCENTILES,
    FanPoint,
    SimulationResult,
    TornadoBar,
    fan_chart,
    p_meet,
    simulate,
    tornado,
)

__all__ = [
    "BACKENDS",
    "FAN_PERCENTILES",
    "MITIGATIONS",
    "RISKS",
    "Z_SCALE",
    "FanPoint",
    "Floats",
    "SimulationResult",
    "TornadoBar",
    "fan_chart",
    "p_meet",
    "simulate",
    "tornado",
]
