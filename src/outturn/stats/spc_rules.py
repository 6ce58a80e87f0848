"""NHS England's "Making Data Count" special-cause rules, ported from the NHS-R community's NHSRplotthedots
(``R/ptd_calculate_point_type.R``) and applied within one segment (between rebases) of an XmR chart:

- a point outside the process limits;
- a run of 7 points on one side of the mean (a point on the mean breaks the run);
- a trend of 7 points each higher (or each lower) than the one before (a repeated value breaks it);
- two of three points beyond two sigma (between ⅔ of the way to a limit and the limit) on the same side of the
  mean, all three on that side; only the points beyond two sigma are flagged.

Where several rules flag a point, the first of: outside the limits, trend, two of three, run names it. Its side
(high for above the mean or an increasing trend, low otherwise) against the measure's improvement direction
makes it an improvement or a concern.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

RUN = 7  # points in a run or a trend
Bools = NDArray[np.bool_]
Floats = NDArray[np.float64]
Signs = NDArray[np.int64]


class SpecialCause(StrEnum):
    ABOVE_UPPER_LIMIT = "above_upper_limit"
    BELOW_LOWER_LIMIT = "below_lower_limit"
    TREND_INCREASING = "trend_increasing"
    TREND_DECREASING = "trend_decreasing"
    TWO_OF_THREE_ABOVE = "two_of_three_above"
    TWO_OF_THREE_BELOW = "two_of_three_below"
    RUN_ABOVE = "run_above"
    RUN_BELOW = "run_below"

    @property
    def high(self) -> bool:
        return self in _HIGH


_HIGH = frozenset(
    {
        SpecialCause.ABOVE_UPPER_LIMIT,
        SpecialCause.TREND_INCREASING,
        SpecialCause.TWO_OF_THREE_ABOVE,
        SpecialCause.RUN_ABOVE,
    }
)


# look-alike of domain/activity.py:AdmissionMethod (shape only): declarative, an enumeration's members.
class ImprovementDirection(StrEnum):
    INCREASE = "increase"
    DECREASE = "decrease"
    NEUTRAL = "neutral"


# look-alike of domain/contract_rules.py:RuleKind (shape only): declarative, an enumeration's members.
class PointType(StrEnum):
    COMMON_CAUSE = "common_cause"
    IMPROVEMENT = "special_cause_improvement"
    CONCERN = "special_cause_concern"
    NEUTRAL_HIGH = "special_cause_neutral_high"
    NEUTRAL_LOW = "special_cause_neutral_low"


def run_ends(relative_to_mean: Signs) -> Bools:
    """True where a point ends 7 in a row on the same side of the mean (``ptd_seven_point_one_side_mean``)."""
    ends = np.zeros(len(relative_to_mean), dtype=np.bool_)
    for end in range(RUN - 1, len(relative_to_mean)):
        window = relative_to_mean[end - RUN + 1 : end + 1]
        ends[end] = window[-1] != 0 and bool(np.all(window == window[-1]))
    return ends


def trend_ends(values: Floats) -> Signs:
    """+1 (−1) where a point ends 7 each higher (lower) than the last (``ptd_seven_point_trend``), else 0."""
    ends = np.zeros(len(values), dtype=np.int64)
    for end in range(RUN - 1, len(values)):
        steps = np.sign(np.diff(values[end - RUN + 1 : end + 1]))
        if np.all(steps == 1):
            ends[end] = 1
        elif np.all(steps == -1):
            ends[end] = -1
    return ends


def part_of_run(ends: NDArray[np.bool_] | Signs) -> Bools:
    """True for every point of a run or trend: the point itself or one of the next 6 ends one
    (``ptd_part_of_seven_trend``)."""
    flagged = np.asarray(ends) != 0
    return np.array([bool(flagged[index : index + RUN].any()) for index in range(len(flagged))], dtype=np.bool_)


def two_of_three(close_to_limits: Bools, relative_to_mean: Signs) -> Bools:
    """True where a window of 3 holding the point has 2 or more beyond two sigma and all 3 on one side of the mean
    (``ptd_two_in_three``); windows running off either end do not count."""
    count = len(close_to_limits)
    result = np.zeros(count, dtype=np.bool_)
    for start in range(count - 2):
        window = slice(start, start + 3)
        if close_to_limits[window].sum() >= 2 and abs(int(relative_to_mean[window].sum())) == 3:
            result[window] = True
    return result


def _trend_directions(values: Floats, in_trend: Bools) -> Signs:
    """A trend point's direction: the step after it when the next point is in the trend too, else the step
    before it (NHSRplotthedots' ``sdy``)."""
    steps = np.sign(np.diff(values)).astype(np.int64)
    if len(steps) == 0:
        return np.zeros(len(values), dtype=np.int64)
    after = np.append(steps, steps[-1])
    before = np.insert(steps, 0, 0)
    next_in_trend = np.append(in_trend[1:], False)
    directions: Signs = np.where(next_in_trend & in_trend, after, before)
    return directions


@dataclass(frozen=True)
class RuleFlags:
    """Per point: part of a run, of a trend, one of two-of-three beyond two sigma; and its special cause."""

    run_of_seven: Bools
    trend_of_seven: Bools
    two_of_three: Bools
    causes: tuple[SpecialCause | None, ...]


def _cause(
    outside: bool, in_trend: bool, in_two_of_three: bool, in_run: bool, side: int, trend_direction: int
) -> SpecialCause | None:
    if outside:
        return SpecialCause.ABOVE_UPPER_LIMIT if side == 1 else SpecialCause.BELOW_LOWER_LIMIT
    if in_trend:
        return SpecialCause.TREND_INCREASING if trend_direction == 1 else SpecialCause.TREND_DECREASING
    if in_two_of_three:
        return SpecialCause.TWO_OF_THREE_ABOVE if side > 0 else SpecialCause.TWO_OF_THREE_BELOW
    if in_run:
        return SpecialCause.RUN_ABOVE if side > 0 else SpecialCause.RUN_BELOW
    return None


def apply_rules(values: Floats, relative_to_mean: Signs, close_to_limits: Bools, outside_limits: Bools) -> RuleFlags:
    """Every rule over one segment, and each point's special cause, if any (``ptd_special_cause_type``)."""
    in_trend = part_of_run(trend_ends(values))
    in_two_of_three = two_of_three(close_to_limits, relative_to_mean) & close_to_limits
    in_run = part_of_run(run_ends(relative_to_mean))
    directions = _trend_directions(values, in_trend)
    causes = tuple(
        _cause(
            bool(outside_limits[index]),
            bool(in_trend[index]),
            bool(in_two_of_three[index]),
            bool(in_run[index]),
            int(relative_to_mean[index]),
            int(directions[index]),
        )
        for index in range(len(values))
    )
    return RuleFlags(in_run, in_trend, in_two_of_three, causes)


def point_type(cause: SpecialCause | None, direction: ImprovementDirection) -> PointType:
    """Improvement or concern by the measure's good direction (``ptd_point_type``)."""
    if cause is None:
        return PointType.COMMON_CAUSE
    if direction is ImprovementDirection.NEUTRAL:
        return PointType.NEUTRAL_HIGH if cause.high else PointType.NEUTRAL_LOW
    good_is_high = direction is ImprovementDirection.INCREASE
    return PointType.IMPROVEMENT if cause.high == good_is_high else PointType.CONCERN
