"""SYNTHETIC activity measures for two of the demo's savings schemes, so the demo shows evidenced savings.

One non-elective scheme is measured on its organisation's non-elective admissions (at the national tariff), one
prescribing scheme on its practices' lipid-regulating drugs (BNF 0212, at actual cost). Both use the
monthly-average baseline: the demo generates last year's activity only to roll the contracts forward, and the
workspace holds this year's extract to date alone (an extract replaces its kind's whole table), so no month a year
earlier is held for a same-months-last-year baseline. Each baseline is the
year's months before the scheme starts, so a scheme that starts in April has none and is not chosen; the
prescribing scheme must start early enough for published prescribing (two months behind) to cover a month of it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from outturn.domain.periods import FinancialMonth
from outturn.domain.savings import Scheme, SchemeStatus, Workstream

MEASURES_HEADER = (
    "scheme", "year", "source", "point_of_delivery", "commissioner", "practices", "bnf", "baseline_from",
    "baseline_to", "target_change",
)  # fmt: skip
ACTIVITY_TARGET = "-10%"  # the frailty scheme's plan: a tenth fewer emergency admissions than the baseline's rate
PRESCRIBING_TARGET = "-5%"
PRESCRIBING_BNF = "0212"  # lipid-regulating drugs: statins, where generic switching saves


def _candidate(schemes: Sequence[Scheme], workstream: Workstream, last_start: int) -> Scheme | None:
    """The first scheme (by reference) of the workstream, in delivery, starting after April and by ``last_start``."""
    found = [
        scheme
        for scheme in schemes
        if scheme.workstream is workstream
        and scheme.status is SchemeStatus.IN_DELIVERY
        and 1 < scheme.start_month <= last_start
    ]
    return min(found, key=lambda scheme: scheme.reference, default=None)


def _baseline(scheme: Scheme) -> tuple[str, str]:
    year = scheme.year
    return year.month(1).calendar_label, year.month(scheme.start_month - 1).calendar_label


def demo_measures(
    schemes: Sequence[Scheme],
    as_at: FinancialMonth,
    practices_of: Mapping[str, Collection[str]],
    prescribing_lag: int,
) -> list[list[str]]:
    """The measures file's rows (``MEASURES_HEADER``): at most one activity and one prescribing scheme."""
    rows: list[list[str]] = []
    admissions = _candidate(schemes, Workstream.NON_ELECTIVE, as_at.number)
    if admissions is not None:
        first, last = _baseline(admissions)
        rows.append(
            [admissions.reference, admissions.year.label, "activity", "non_elective", admissions.org_code, "", "",
             first, last, ACTIVITY_TARGET]
        )  # fmt: skip
    medicines = _candidate(schemes, Workstream.PRESCRIBING, as_at.number - prescribing_lag)
    if medicines is not None and practices_of.get(medicines.org_code):
        first, last = _baseline(medicines)
        practices = " ".join(sorted(practices_of[medicines.org_code]))
        rows.append(
            [medicines.reference, medicines.year.label, "prescribing", "", "", practices, PRESCRIBING_BNF, first,
             last, PRESCRIBING_TARGET]
        )  # fmt: skip
    return rows
