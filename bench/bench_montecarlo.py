"""Benchmark: Monte Carlo of the year-end position, 100,000 trials × 2,000 schemes × 12 months.

Target (issue 6): 10 s or less on 2 cores with NumPy. The model is at the planning stage (all 12 months
uncertain): 2,000 schemes in 12 workstreams with whole-percent confidences, correlated within workstreams, 20
risks and mitigations (some with ranges), activity growth and prices. Prints the median of ``--repeat`` runs.

Baselines, measured in the same run on slices and scaled to the full trial count:
- the straightforward NumPy implementation: standard normals for the copula, scipy's Beta quantile for each
  scheme's fraction, and the trials × schemes × months delivery array summed (no tables, no matrix product);
- a plain-Python loop per trial and scheme (``random.betavariate``, no copula), on a few trials.

With ``--backend jax`` (needs ``pip install 'outturn[gpu]'``) the JAX path is timed too, after one warm-up run
(compilation), with the ratio to NumPy and the device it ran on.

Run: .venv/bin/python bench/bench_montecarlo.py [--trials 100000] [--schemes 2000] [--repeat 3] [--backend jax]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import time
from collections.abc import Callable
from decimal import Decimal

import numpy as np
from scipy import special

from outturn.domain.money import format_surplus
from outturn.domain.plans import RiskKind
from outturn.domain.risk_model import RiskInput, RiskModel, SchemeInput, SpendUncertainty
from outturn.stats import montecarlo as mc

MONTHS = tuple(range(1, 13))
WORKSTREAMS = tuple(f"workstream {n:02d}" for n in range(12))


def build_model(schemes: int, seed: int = 1) -> RiskModel:
    rng = random.Random(seed)
    inputs = tuple(
        SchemeInput(
            reference=f"QIPP-{number:05d}",
            workstream=rng.choice(WORKSTREAMS),
            remaining_pence=tuple(rng.randrange(0, 5_000_000) for _ in MONTHS),
            confidence=Decimal(rng.randrange(40, 100)) / 100,
        )
        for number in range(schemes)
    )
    risks = tuple(
        RiskInput(
            f"risk {n}",
            RiskKind.RISK if n % 3 else RiskKind.MITIGATION,
            Decimal(rng.randrange(10, 90)) / 100,
            low := rng.randrange(10_000_000, 50_000_000),
            mode := low + rng.randrange(0, 20_000_000) * (n % 2),
            mode + rng.randrange(0, 30_000_000) * (n % 2),
        )
        for n in range(20)
    )
    spend = (
        SpendUncertainty("activity growth", 200_000_000_000, Decimal("0.02")),
        SpendUncertainty("price", 60_000_000_000, Decimal("0.03")),
    )
    # the forecast counts every scheme in full; about £180m of it is expected to slip
    return RiskModel("BENCH", "2025/26", MONTHS, 18_000_000_000, 0, inputs, risks, spend)


def straightforward_numpy(model: RiskModel, trials: int, seed: int) -> np.ndarray:
    """The obvious vectorised version: normals, scipy's Beta quantile, and the 3-D delivery array summed."""
    rng = np.random.default_rng(seed)
    groups = {name: index for index, name in enumerate(model.workstreams)}
    group_of = np.array([groups[s.workstream] for s in model.schemes])
    confidence = np.array([float(s.confidence) for s in model.schemes])
    kappa, rho = float(model.concentration), float(model.correlation)
    phasing = np.array([s.remaining_pence for s in model.schemes], dtype=np.float64)
    shared = rng.standard_normal((trials, len(groups)))
    z = math.sqrt(rho) * shared[:, group_of] + math.sqrt(1 - rho) * rng.standard_normal((trials, len(confidence)))
    fraction = special.betaincinv(kappa * confidence, kappa * (1 - confidence), special.ndtr(z))
    delivery = fraction[:, :, None] * phasing[None, :, :]  # trials × schemes × months
    return np.cumsum(delivery.sum(axis=1) - phasing.sum(axis=0), axis=1)


def plain_python(model: RiskModel, trials: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    kappa = float(model.concentration)
    totals = []
    for _ in range(trials):
        total = float(model.forecast_surplus_pence)
        for scheme in model.schemes:
            c = float(scheme.confidence)
            fraction = rng.betavariate(kappa * c, kappa * (1 - c))
            for value in scheme.remaining_pence:
                total -= (1 - fraction) * value
        totals.append(total)
    return totals


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--schemes", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=mc.BACKENDS, default="numpy")
    arguments = parser.parse_args()
    model = build_model(arguments.schemes)
    trials = arguments.trials
    print(f"{trials:,} trials × {arguments.schemes:,} schemes × {len(MONTHS)} months on {os.cpu_count()} cores")

    result = mc.simulate(model, trials, seed=1)
    ours = median_seconds(lambda: mc.simulate(model, trials, seed=1), arguments.repeat)
    p10, p50, p90 = (format_surplus(round(value)) for value in np.percentile(result.year_end, [10, 50, 90]))
    print(f"numpy (tables + matrix product): median {ours:.2f} s of {arguments.repeat} (target ≤ 10 s)")
    print(f"  P10 {p10}, P50 {p50}, P90 {p90}; P(meeting the control total) {mc.p_meet(result):.3f}")

    slice_trials = 2000
    straightforward = median_seconds(lambda: straightforward_numpy(model, slice_trials, 1), arguments.repeat)
    scaled = straightforward * trials / slice_trials
    print(
        f"baseline, straightforward NumPy (scipy Beta quantile, 3-D array): {straightforward:.2f} s for "
        f"{slice_trials:,} trials, scaled {scaled:.1f} s; ratio {scaled / ours:.1f}×"
    )
    python_trials = 5
    loop = median_seconds(lambda: plain_python(model, python_trials, 1), 1)
    print(
        f"baseline, plain-Python loop (no copula): {loop:.2f} s for {python_trials} trials, scaled "
        f"{loop * trials / python_trials:.0f} s; ratio {loop * trials / python_trials / ours:.0f}×"
    )

    if arguments.backend == "jax":
        import jax

        mc.simulate(model, trials, seed=1, backend="jax")  # compile
        seconds = median_seconds(lambda: mc.simulate(model, trials, seed=1, backend="jax"), arguments.repeat)
        print(f"jax on {jax.devices()[0]}: median {seconds:.2f} s; numpy ÷ jax = {ours / seconds:.1f}×")


if __name__ == "__main__":
    main()
