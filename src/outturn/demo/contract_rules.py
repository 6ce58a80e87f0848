"""SYNTHETIC payment rules for the demo's contracts, written as a rules file (``ingest/contract_rules.py``).

Chosen to show each rule, not drawn from any real contract:
- every commissioner's home provider (the provider it spent most with last year): emergency readmissions within
  30 days not paid, and CQUIN at 1.25% of the contract value (achieved in full but for a shortfall in M03);
- the largest home contract: the marginal rate, non-elective value above last year's (by month) paid at 30%;
- the smallest provider's largest contract: fixed and variable, elective and outpatient activity at unit prices and
  everything else covered by a fixed payment of last year's value for it plus growth.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path

from outturn.domain.activity import PointOfDelivery
from outturn.domain.money import format_pounds, scale

CQUIN_PERCENT = "1.25"
CQUIN_SHORTFALL = ("M03", "60")  # month, achievement %
MARGINAL_RATE_PERCENT = "30"
VARIABLE = (
    PointOfDelivery.ELECTIVE,
    PointOfDelivery.DAY_CASE,
    PointOfDelivery.OP_FIRST,
    PointOfDelivery.OP_FOLLOW_UP,
    PointOfDelivery.OP_PROCEDURE,
)
HEADER = ("provider", "commissioner", "year", "rule", "point_of_delivery", "month", "value", "rate", "description")
NOTE = "SYNTHETIC rule for the demo"


def _totals(rows: Iterable[Mapping[str, object]]) -> dict[tuple[str, str], int]:
    totals: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (str(row["provider"]), str(row["commissioner"]))
        totals[key] = totals.get(key, 0) + int(str(row["pence"]))
    return totals


def demo_rules(last_year: list[dict[str, object]], year_label: str, growth_share: str) -> list[tuple[str, ...]]:
    """Rows of the rules file for contracts rolled forward from ``last_year`` (priced outturn by contract, point
    of delivery and month)."""
    totals = _totals(last_year)
    if not totals:
        return []
    home = {
        commissioner: max(sorted(k for k in totals if k[1] == commissioner), key=lambda k: totals[k])
        for commissioner in sorted({k[1] for k in totals})
    }
    rows: list[tuple[str, ...]] = []
    for provider, commissioner in sorted(set(home.values())):
        key = (provider, commissioner, year_label)
        rows.append((*key, "readmissions", "", "", "", "", NOTE))
        rows.append((*key, "cquin", "", "", "", CQUIN_PERCENT, NOTE))
        rows.append((*key, "cquin_achievement", "", CQUIN_SHORTFALL[0], "", CQUIN_SHORTFALL[1], NOTE))
    largest = max(sorted(set(home.values())), key=lambda k: totals[k])
    rows += _marginal_rate(last_year, largest, year_label)
    by_provider: dict[str, int] = {}
    for (provider, _commissioner), pence in totals.items():
        by_provider[provider] = by_provider.get(provider, 0) + pence
    smallest = min(sorted(by_provider), key=lambda p: by_provider[p])
    contract = max(sorted(k for k in totals if k[0] == smallest), key=lambda k: totals[k])
    if contract not in home.values():
        rows += _fixed_variable(last_year, contract, year_label, growth_share)
    return rows


def _marginal_rate(
    last_year: list[dict[str, object]], contract: tuple[str, str], year_label: str
) -> list[tuple[str, ...]]:
    baseline = dict.fromkeys(range(1, 13), 0)
    for row in last_year:
        if (row["provider"], row["commissioner"]) == contract and row["point_of_delivery"] == "non_elective":
            baseline[int(str(row["month"]))] += int(str(row["pence"]))
    return [
        (*contract, year_label, "marginal_rate", "", f"M{month:02d}", format_pounds(pence), MARGINAL_RATE_PERCENT, NOTE)
        for month, pence in baseline.items()
    ]


def _fixed_variable(
    last_year: list[dict[str, object]], contract: tuple[str, str], year_label: str, growth_share: str
) -> list[tuple[str, ...]]:
    variable = {pod.value for pod in VARIABLE}
    outside = sum(
        int(str(row["pence"]))
        for row in last_year
        if (row["provider"], row["commissioner"]) == contract and row["point_of_delivery"] not in variable
    )
    fixed = scale(outside, Decimal(1) + Decimal(growth_share))
    return [
        (*contract, year_label, "fixed", "", "", format_pounds(fixed), "", NOTE),
        *((*contract, year_label, "variable", pod.value, "", "", "", NOTE) for pod in VARIABLE),
    ]


def write_contract_rules(path: Path, last_year: list[dict[str, object]], year_label: str, growth_share: str) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(demo_rules(last_year, year_label, growth_share))
    return path
