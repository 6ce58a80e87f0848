"""A measure benchmarked across practices (or PCNs, or sub-ICB locations) as JSON: the one document that
``outturn benchmark --format json`` prints and ``GET /api/benchmark`` answers."""

from __future__ import annotations

from typing import Any, Protocol

from outturn.domain.benchmark import BenchmarkKind, BenchmarkSpec, Level, Measure
from outturn.domain.periods import FinancialYear


class BenchmarkedRates(Protocol):
    """What a benchmark found (``services.benchmark.BenchmarkResult``)."""

    @property
    def measure(self) -> Measure: ...
    @property
    def level(self) -> Level: ...
    @property
    def spec(self) -> BenchmarkSpec: ...
    @property
    def org_code(self) -> str | None: ...
    @property
    def financial_year(self) -> FinancialYear | None: ...
    @property
    def rows(self) -> list[dict[str, Any]]: ...
    @property
    def unit_price_pence(self) -> float | None: ...
    @property
    def practice_benchmark_rate(self) -> float | None: ...
    @property
    def peer_group_rates(self) -> dict[int, float]: ...
    @property
    def excluded(self) -> list[dict[str, Any]]: ...
    @property
    def unmatched_activity(self) -> int: ...
    @property
    def warnings(self) -> list[str]: ...


def _total(rows: list[dict[str, Any]], key: str) -> Any:
    values = [row[key] for row in rows]
    return None if any(value is None for value in values) else sum(values)


def benchmark_document(result: BenchmarkedRates) -> dict[str, Any]:
    """The JSON document: measure, benchmark, rows at the level and a summary (money in pence)."""
    measure, rows = result.measure, result.rows
    activity, population = _total(rows, "activity"), _total(rows, "population")
    weighted = _total(rows, "weighted_population")
    return {
        "measure": {
            "name": measure.name,
            "description": measure.description,
            "unit": measure.unit,
            "per": measure.per,
            "actual_population": measure.actual_population,
            "weighted_population": measure.weighted_population,
            "direction": measure.direction.value,
            "price_source": measure.price_source,
        },
        "level": result.level.value,
        "org_code": result.org_code,
        "financial_year": result.financial_year.label if result.financial_year else None,
        "benchmark": {
            "kind": result.spec.kind.value,
            "basis": result.spec.basis.value,
            "peers": result.spec.peers.value if result.spec.kind is BenchmarkKind.PEER_GROUP else None,
            "practice_benchmark_rate": result.practice_benchmark_rate,
            "peer_group_rates": {str(group): rate for group, rate in sorted(result.peer_group_rates.items())},
            "centile_method": "linear interpolation (type 7: DuckDB quantile_cont, numpy percentile)",
        },
        "rows": rows,
        "summary": {
            "organisations": len(rows),
            "practices": _total(rows, "practices"),
            "activity": activity,
            "population": population,
            "weighted_population": weighted,
            "rate_actual": activity * measure.per / population if activity is not None and population else None,
            "rate_weighted": activity * measure.per / weighted if activity is not None and weighted else None,
            "unit_price_pence": result.unit_price_pence,
            "organisations_above_benchmark": sum(1 for row in rows if row["above_benchmark"]),
            "practices_above_benchmark": _total(rows, "practices_above_benchmark"),
            "opportunity_activity": _total(rows, "opportunity_activity"),
            "opportunity_pence": _total(rows, "opportunity_pence"),
            "excluded_practices": result.excluded,
            "unmatched_activity": result.unmatched_activity,
        },
        "warnings": result.warnings,
    }
