"""Funnel plots (Spiegelhalter 2005) for proportions, Poisson rates and indirectly standardised ratios.

Ported from the NHS-R community's FunnelPlotR (``R/od_adjustment.R``, ``R/calculate_limits.R``,
``R/outliers_func.R``), with its defaults: overdispersion adjustment on, limits at 95% and 99.8%, outliers
flagged against the 99.8% limits, and the SHMI method (log scale, truncation) for standardised ratios.

| type | value | target | scale for z and adjusted limits | unadjusted limits |
|---|---|---|---|---|
| proportion | O/n | ΣO/Σn | arcsine √: asin(√p), s = 1/(2√n) | the same with τ² = 0 (FunnelPlotR) |
| rate | O/n | ΣO/Σn | square root: √r, s = 1/(2√n) | exact Poisson at E = target × n |
| ratio, shmi | O/E | 1 | log: log(O/E), s = 1/√E; truncated | exact Poisson at E |
| ratio, cqc | O/E | 1 | square root: √(O/E), s = 1/(2√E); Winsorised | exact Poisson at E |

A group's z-score is ``(Y − target) / s`` on that scale; adjusted for overdispersion it is
``(Y − target) / √(s² + τ²)``. Limits are ``target ± z_α √(s² + τ²)`` transformed back (a proportion's
limits stay within 0 and 1, a rate's or ratio's above 0). Where no overdispersion is found (τ² = 0) or the
adjustment is turned off, the unadjusted limits are used, as FunnelPlotR does.

Two departures from FunnelPlotR, both where its code disagrees with Spiegelhalter (2005): the CQC method's
adjusted limits are squared back from the square-root scale (``(1 ± z√(s² + τ²))²``, as FunnelPlotR's earlier
releases did), and a "rate" is a Poisson rate per head (Spiegelhalter's rate), not FunnelPlotR's ratio of counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from outturn.domain.errors import BadInput
from outturn.stats.casemix import Z_95, Z_998
from outturn.stats.funnel_dispersion import DEFAULT_TRIM, Floats, dispersion

SHMI_EXPECTED_PLACES = 2  # FunnelPlotR rounds expected counts to 2 places for the SHMI method


class FunnelKind(StrEnum):
    PROPORTION = "proportion"
    RATE = "rate"
    RATIO = "ratio"


class RatioMethod(StrEnum):
    SHMI = "shmi"  # NHS England's SHMI: log scale, truncation (FunnelPlotR's default)
    CQC = "cqc"  # CQC / Spiegelhalter: square-root scale, Winsorisation


# look-alike of cli/activity.Layout (shape only): declarative, an enumeration's members.
class OutlierLimit(StrEnum):
    LIMIT_95 = "95"
    LIMIT_998 = "99.8"


# look-alike of domain/forecast_methods.py:MethodScope (shape only): declarative, an enumeration's members.
class Side(StrEnum):
    HIGH = "high"
    LOW = "low"


# look-alike of reports/narrative.py:RegisterLine (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class FunnelGroup:
    group: str
    numerator: float
    denominator: float


@dataclass(frozen=True)
class FunnelLimits:
    lower_95: float
    upper_95: float
    lower_998: float
    upper_998: float


@dataclass(frozen=True)
class FunnelPoint:
    group: str
    numerator: float
    denominator: float
    value: float  # numerator / denominator × multiplier
    z: float  # unadjusted, on the transformed scale
    z_adjusted: float  # with τ² added to s² (equals z when no adjustment is applied)
    limits: FunnelLimits  # the limits in force at this denominator (× multiplier)
    outlier: Side | None  # outside the limit chosen for flagging
    outside_95: Side | None
    outside_998: Side | None


@dataclass(frozen=True)
class _Scale:
    name: str
    forward: Callable[[Floats], Floats]
    back: Callable[[Floats], Floats]
    standard_error: Callable[[Floats], Floats]


def _squared_from_zero(values: Floats) -> Floats:
    result: Floats = np.maximum(values, 0.0) ** 2
    return result


def _sine_squared(values: Floats) -> Floats:
    result: Floats = np.sin(np.clip(values, 0.0, math.pi / 2)) ** 2
    return result


def _half_over_root(denominators: Floats) -> Floats:
    result: Floats = 1.0 / (2.0 * np.sqrt(denominators))
    return result


def _one_over_root(denominators: Floats) -> Floats:
    result: Floats = 1.0 / np.sqrt(denominators)
    return result


ARCSINE = _Scale("arcsine", lambda p: np.arcsin(np.sqrt(p)), _sine_squared, _half_over_root)
SQUARE_ROOT = _Scale("square_root", np.sqrt, _squared_from_zero, _half_over_root)
LOG = _Scale("log", np.log, np.exp, _one_over_root)


@dataclass(frozen=True)
class FunnelResult:
    kind: FunnelKind
    ratio_method: RatioMethod | None
    scale: str  # arcsine, square_root or log
    target: float  # × multiplier
    multiplier: float
    overdispersion_requested: bool
    overdispersion_applied: bool  # requested and τ² > 0
    phi: float  # estimated whether or not the adjustment is requested
    tau2: float
    groups_in_phi: int
    trim: float
    outlier_limit: OutlierLimit
    points: tuple[FunnelPoint, ...]

    def limits_at(self, denominators: Sequence[float]) -> tuple[FunnelLimits, ...]:
        """The limits in force at any denominators (for drawing the funnel), × multiplier."""
        rows = _limits(
            self.kind,
            _scale_of(self.kind, self.ratio_method),
            self.target / self.multiplier,
            self.tau2 if self.overdispersion_applied else None,
            np.asarray(denominators, dtype=np.float64),
        )
        return tuple(FunnelLimits(*(float(v) * self.multiplier for v in column)) for column in rows.T)


def _scale_of(kind: FunnelKind, ratio_method: RatioMethod | None) -> _Scale:
    if kind is FunnelKind.PROPORTION:
        return ARCSINE
    if kind is FunnelKind.RATIO and ratio_method is RatioMethod.SHMI:
        return LOG
    return SQUARE_ROOT


def poisson_limits(expected: Floats) -> Floats:
    """Exact Poisson limits for observed ÷ expected at each expected count (FunnelPlotR's chi-square form):
    rows lower 95%, upper 95%, lower 99.8%, upper 99.8%."""
    from scipy.stats import chi2  # scipy.stats takes most of a second to import: load it when used

    twice = 2.0 * expected
    return np.vstack(
        [
            chi2.ppf(0.025, twice) / twice,
            chi2.ppf(0.975, twice + 2.0) / twice,
            chi2.ppf(0.001, twice) / twice,
            chi2.ppf(0.999, twice + 2.0) / twice,
        ]
    )


def _limits(kind: FunnelKind, scale: _Scale, target: float, tau2: float | None, denominators: Floats) -> Floats:
    """Rows lower 95, upper 95, lower 99.8, upper 99.8; unadjusted where ``tau2`` is None."""
    if tau2 is None and kind is not FunnelKind.PROPORTION:
        per_unit = target if kind is FunnelKind.RATE else 1.0
        return per_unit * poisson_limits(per_unit * denominators)
    centre = scale.forward(np.array([target]))[0]
    spread = np.sqrt(scale.standard_error(denominators) ** 2 + (tau2 or 0.0))
    return np.vstack([scale.back(centre + sign * z * spread) for z in (Z_95, Z_998) for sign in (-1.0, 1.0)])


def _side(value: float, lower: float, upper: float) -> Side | None:
    """FunnelPlotR's outlier rule: outside unless lower ≤ value ≤ upper."""
    if value > upper:
        return Side.HIGH
    if value < lower:
        return Side.LOW
    return None


def outlier_side(value: float, limits: FunnelLimits, limit: OutlierLimit) -> Side | None:
    if limit is OutlierLimit.LIMIT_95:
        return _side(value, limits.lower_95, limits.upper_95)
    return _side(value, limits.lower_998, limits.upper_998)


def _check(groups: Sequence[FunnelGroup], kind: FunnelKind, ratio_method: RatioMethod) -> None:
    if len(groups) < 2:
        raise BadInput(f"a funnel plot needs at least 2 groups; found {len(groups)}")
    if len({group.group for group in groups}) != len(groups):
        raise BadInput("each group must appear once")
    for group in groups:
        if not group.denominator > 0 or not group.numerator >= 0:
            raise BadInput(f"{group.group}: the denominator must be above 0 and the numerator not below 0")
        if kind is FunnelKind.PROPORTION and group.numerator > group.denominator:
            raise BadInput(f"{group.group}: a proportion's numerator cannot exceed its denominator")
        if kind is FunnelKind.RATIO and ratio_method is RatioMethod.SHMI and group.numerator == 0:
            raise BadInput(f"{group.group}: the SHMI method's log scale needs observed above 0 (use cqc)")
    if kind is not FunnelKind.RATIO and sum(group.numerator for group in groups) == 0:
        raise BadInput("every numerator is 0: there is nothing to compare")


# look-alike of domain/challenges.py:drift_challenge (shape only): declarative, keyword fields or columns, one per
# attribute.
def funnel(
    groups: Sequence[FunnelGroup],
    kind: FunnelKind,
    *,
    overdispersion: bool = True,
    ratio_method: RatioMethod = RatioMethod.SHMI,
    outlier_limit: OutlierLimit = OutlierLimit.LIMIT_998,
    multiplier: float = 1.0,
    trim: float = DEFAULT_TRIM,
) -> FunnelResult:
    """Each group's value, z-scores, limits at its denominator and outlier flags, against the target."""
    _check(groups, kind, ratio_method)
    scale = _scale_of(kind, ratio_method)
    numerators = np.array([group.numerator for group in groups], dtype=np.float64)
    denominators = np.array([group.denominator for group in groups], dtype=np.float64)
    shmi = kind is FunnelKind.RATIO and ratio_method is RatioMethod.SHMI
    if shmi:
        denominators = np.round(denominators, SHMI_EXPECTED_PLACES)
    target = 1.0 if kind is FunnelKind.RATIO else float(numerators.sum() / denominators.sum())
    values = numerators / denominators
    standard_errors = scale.standard_error(denominators)
    deviations = scale.forward(values) - scale.forward(np.array([target]))[0]
    z_scores = deviations / standard_errors
    spread = dispersion(z_scores, standard_errors, truncate=shmi, trim=trim)
    applied = overdispersion and spread.tau2 > 0
    z_adjusted = deviations / np.sqrt(standard_errors**2 + spread.tau2) if applied else z_scores
    limits = _limits(kind, scale, target, spread.tau2 if applied else None, denominators)
    points = []
    for index, group in enumerate(groups):
        at = FunnelLimits(*(float(v) for v in limits[:, index]))
        value = float(values[index])
        points.append(
            FunnelPoint(
                group=group.group,
                numerator=group.numerator,
                denominator=float(denominators[index]),
                value=value * multiplier,
                z=float(z_scores[index]),
                z_adjusted=float(z_adjusted[index]),
                limits=FunnelLimits(*(limit * multiplier for limit in vars(at).values())),
                outlier=outlier_side(value, at, outlier_limit),
                outside_95=outlier_side(value, at, OutlierLimit.LIMIT_95),
                outside_998=outlier_side(value, at, OutlierLimit.LIMIT_998),
            )
        )
    return FunnelResult(
        kind=kind,
        ratio_method=ratio_method if kind is FunnelKind.RATIO else None,
        scale=scale.name,
        target=target * multiplier,
        multiplier=multiplier,
        overdispersion_requested=overdispersion,
        overdispersion_applied=applied,
        phi=spread.phi,
        tau2=spread.tau2,
        groups_in_phi=spread.groups_used,
        trim=trim,
        outlier_limit=outlier_limit,
        points=tuple(points),
    )
