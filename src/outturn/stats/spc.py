"""Statistical process control for a monthly series, as NHS England's "Making Data Count" draws it: an XmR
chart, ported from the NHS-R community's NHSRplotthedots (``R/ptd_spc_standard.R``,
``R/ptd_calculate_assurance_type.R``, ``R/ptd_add_short_group_warnings.R``).

Within each segment (the series is split where it is rebased):

- the mean of the values (of the first ``fix_after`` only, when the limits are fixed after that many points);
- the moving ranges |xᵢ − xᵢ₋₁|, screened: a moving range of 3.267 × their mean or more is left out and the mean
  moving range taken again (one pass);
- process limits mean ± 2.66 × mean moving range; two sigma is ⅔ of the way to a limit.

The special-cause rules are in ``stats.spc_rules``. The variation icon is the type of the latest point; the
assurance icon compares the target with the latest segment's limits: a target beyond the limits on the good
side is always met ("pass"), on the bad side never ("fail"), between them "hit and miss".

One departure: a segment whose moving ranges are all 0 keeps limits at its mean (NHSRplotthedots screens every
range out and returns no limits).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from outturn.domain.errors import BadInput
from outturn.stats.spc_rules import (
    Floats,
    ImprovementDirection,
    PointType,
    SpecialCause,
    apply_rules,
    point_type,
)

LIMIT = 2.66  # 3 sigma in mean moving ranges (3 / 1.128)
TWO_SIGMA = 2 * LIMIT / 3
SCREEN = 3.267  # moving ranges at or above 3.267 × their mean are screened out
MINIMUM_POINTS = 2  # a moving range needs two points
RECOMMENDED_POINTS = 12  # NHSRplotthedots warns below this


class Assurance(StrEnum):
    PASS = "pass"  # NHSRplotthedots: consistent_pass
    FAIL = "fail"  # consistent_fail
    HIT_AND_MISS = "hit_and_miss"  # inconsistent


@dataclass(frozen=True)
class SpcSegment:
    first_period: str
    last_period: str
    points: int
    mean: float
    mean_moving_range: float
    moving_ranges_screened_out: int
    lower_process_limit: float
    upper_process_limit: float

    @property
    def short(self) -> bool:
        return self.points < RECOMMENDED_POINTS


@dataclass(frozen=True)
class SpcPoint:
    period: str
    value: float
    segment: int
    mean: float
    lower_process_limit: float
    upper_process_limit: float
    outside_limits: bool
    run_of_seven: bool
    trend_of_seven: bool
    two_of_three: bool  # this point is one of two (or three) beyond two sigma
    special_cause: SpecialCause | None
    point_type: PointType


@dataclass(frozen=True)
class SpcResult:
    improvement_direction: ImprovementDirection
    target: float | None
    screen_outliers: bool
    fix_after: int | None
    segments: tuple[SpcSegment, ...]
    points: tuple[SpcPoint, ...]
    variation: PointType  # the latest point's type
    assurance: Assurance | None  # None without a target, or for a neutral measure

    @property
    def latest_segment(self) -> SpcSegment:
        return self.segments[-1]


def _baseline(values: Floats, fix_after: int | None, screen_outliers: bool) -> tuple[float, float, int]:
    """Mean, mean moving range and how many moving ranges screening left out."""
    fixed = values[:fix_after] if fix_after else values
    moving_ranges = np.abs(np.diff(fixed))
    mean_moving_range = float(moving_ranges.mean())
    screened_out = 0
    if screen_outliers and mean_moving_range > 0:
        kept = moving_ranges[moving_ranges < SCREEN * mean_moving_range]
        screened_out = len(moving_ranges) - len(kept)
        mean_moving_range = float(kept.mean())
    return float(fixed.mean()), mean_moving_range, screened_out


def _segment_points(
    periods: Sequence[str],
    values: Floats,
    index: int,
    segment: SpcSegment,
    direction: ImprovementDirection,
) -> list[SpcPoint]:
    lower, upper = segment.lower_process_limit, segment.upper_process_limit
    spread = TWO_SIGMA * segment.mean_moving_range
    outside = (values > upper) | (values < lower)
    relative_to_mean = np.sign(values - segment.mean).astype(np.int64)
    close = ~outside & ((values < segment.mean - spread) | (values > segment.mean + spread))
    flags = apply_rules(values, relative_to_mean, close, outside)
    return [
        SpcPoint(
            period=periods[offset],
            value=float(values[offset]),
            segment=index,
            mean=segment.mean,
            lower_process_limit=lower,
            upper_process_limit=upper,
            outside_limits=bool(outside[offset]),
            run_of_seven=bool(flags.run_of_seven[offset]),
            trend_of_seven=bool(flags.trend_of_seven[offset]),
            two_of_three=bool(flags.two_of_three[offset]),
            special_cause=flags.causes[offset],
            point_type=point_type(flags.causes[offset], direction),
        )
        for offset in range(len(values))
    ]


def assurance(segment: SpcSegment, target: float | None, direction: ImprovementDirection) -> Assurance | None:
    """``ptd_calculate_assurance_type``: the target against the latest segment's process limits."""
    if target is None or direction is ImprovementDirection.NEUTRAL:
        return None
    increasing = direction is ImprovementDirection.INCREASE
    if target > segment.upper_process_limit:
        return Assurance.FAIL if increasing else Assurance.PASS
    if target < segment.lower_process_limit:
        return Assurance.PASS if increasing else Assurance.FAIL
    return Assurance.HIT_AND_MISS


def _segment_bounds(periods: Sequence[str], rebase_at: Collection[int]) -> list[tuple[int, int]]:
    count = len(periods)
    starts = sorted({0, *rebase_at})
    if starts[-1] >= count or starts[0] < 0:
        raise BadInput("a rebase must fall within the series")
    bounds = list(zip(starts, [*starts[1:], count], strict=True))
    for start, end in bounds:
        if end - start < MINIMUM_POINTS:
            raise BadInput(
                f"the segment from {periods[start]} has {end - start} point(s); each needs at least {MINIMUM_POINTS}"
            )
    return bounds


# look-alike of domain/planning.py:_with_savings (shape only): declarative, keyword fields or columns, one per
# attribute.
def spc(
    periods: Sequence[str],
    values: Sequence[float],
    *,
    improvement_direction: ImprovementDirection = ImprovementDirection.INCREASE,
    target: float | None = None,
    rebase_at: Collection[int] = (),
    fix_after: int | None = None,
    screen_outliers: bool = True,
) -> SpcResult:
    """The XmR chart of ``values`` (in period order), rebased at the given positions (0-based: the first point
    of each new segment)."""
    if len(periods) != len(values):
        raise BadInput("one period per value")
    if fix_after is not None and fix_after < MINIMUM_POINTS:
        raise BadInput(f"limits can be fixed after {MINIMUM_POINTS} points at the earliest")
    series = np.asarray(values, dtype=np.float64)
    segments: list[SpcSegment] = []
    points: list[SpcPoint] = []
    for index, (start, end) in enumerate(_segment_bounds(periods, rebase_at)):
        part = series[start:end]
        mean, mean_moving_range, screened_out = _baseline(part, fix_after, screen_outliers)
        segment = SpcSegment(
            first_period=periods[start],
            last_period=periods[end - 1],
            points=end - start,
            mean=mean,
            mean_moving_range=mean_moving_range,
            moving_ranges_screened_out=screened_out,
            lower_process_limit=mean - LIMIT * mean_moving_range,
            upper_process_limit=mean + LIMIT * mean_moving_range,
        )
        segments.append(segment)
        points.extend(_segment_points(periods[start:end], part, index, segment, improvement_direction))
    return SpcResult(
        improvement_direction=improvement_direction,
        target=target,
        screen_outliers=screen_outliers,
        fix_after=fix_after,
        segments=tuple(segments),
        points=tuple(points),
        variation=points[-1].point_type,
        assurance=assurance(segments[-1], target, improvement_direction),
    )
