"""The contract statement's activity measures, as rules: outpatient follow-ups per first attendance against a
benchmark, and the two windows of months whose case mix is compared. The engine counts the activity; the
contracts service puts the counts through these rules."""

from __future__ import annotations

from collections.abc import Iterable

BASELINE_MONTHS = (1, 2, 3)  # case mix now is set against the first quarter's
CURRENT_MONTHS = 3  # ...over the latest three months to the as-at month
FIRST_DRIFT_MONTH = BASELINE_MONTHS[-1] + CURRENT_MONTHS  # M06: the first as-at whose window misses the baseline

MonthWindow = tuple[int, int]  # first and last month number (April = 1), both included


def case_mix_windows(as_at_month: int) -> tuple[MonthWindow, MonthWindow] | None:
    """The baseline window (the first quarter) and the current one (the three months to ``as_at_month``), or None
    before M06, while the two would overlap."""
    if as_at_month < FIRST_DRIFT_MONTH:
        return None
    return (BASELINE_MONTHS[0], BASELINE_MONTHS[-1]), (as_at_month - CURRENT_MONTHS + 1, as_at_month)


def months_of(window: MonthWindow) -> tuple[int, ...]:
    """The month numbers of a window, in order."""
    first, last = window
    return tuple(range(first, last + 1))


def peer_follow_up_ratios(counts: Iterable[tuple[str, int, int]]) -> dict[str, float]:
    """Follow-ups per first attendance by treatment function, pooled across every provider and commissioner, from
    (treatment function, firsts, follow-ups) counts; a treatment function with no first attendance has none."""
    totals: dict[str, list[int]] = {}
    for treatment_function, firsts, follow_ups in counts:
        pair = totals.setdefault(treatment_function, [0, 0])
        pair[0] += firsts
        pair[1] += follow_ups
    return {tf: follow / first for tf, (first, follow) in totals.items() if first}


def follow_up_ratio(firsts: int, follow_ups: int) -> float | None:
    """Follow-ups per first attendance; None without a first attendance."""
    return follow_ups / firsts if firsts else None


def follow_ups_above_benchmark(firsts: int, follow_ups: int, benchmark_ratio: float | None) -> int | None:
    """The follow-ups beyond what the benchmark ratio allows for these firsts (the allowance rounded to a whole
    attendance), never below 0; None without a benchmark."""
    if benchmark_ratio is None:
        return None
    return max(follow_ups - round(firsts * benchmark_ratio), 0)
