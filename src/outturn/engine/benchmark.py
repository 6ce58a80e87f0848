"""Practice activity rates, ranks, benchmarks and the opportunity of moving to them, as Ibis expressions.

The pipeline, each step ``Table -> Table``:

1. ``measure_activity``: a measure's records (hospital activity priced against the tariff, or any table with a
   ``practice`` column) -> per practice: ``activity``, ``priced_activity`` and their value in ``pence``.
2. ``practice_units``: joined to the practice populations (every practice listed, with 0 where it has no
   activity): the registered list (``population``) and the measure's weighted population.
3. ``rated``: rates per 1,000 (the measure's ``per``) on each population, the need index (weighted ÷ actual) and
   ranks — 1 is the highest rate, ties share the best rank (1, 2, 2, 4) — and ``rank_change`` = rank on the
   actual list − rank on the weighted population: positive when need weighting moves a practice up towards 1.
4. ``with_benchmark``: the benchmark rate each organisation is compared with (see ``outturn.domain.benchmark``).
5. ``with_opportunity``: for an organisation whose rate is beyond its benchmark on the bad side,
   ``opportunity_activity`` = activity − benchmark × population ÷ per for a high-is-bad measure (benchmark ×
   population ÷ per − activity where low is bad), on the population of the benchmark's basis; else 0.
   ``opportunity_pence`` = that × the system's price per unit (Σ pence ÷ Σ priced units over every practice
   compared), rounded to the penny half away from zero (DuckDB's and Spark's ``round``). The system's price, not
   each practice's own: the activity a practice would shed is not known unit by unit, and a small practice's own
   average price is noisy; one price also makes £ proportional to activity across practices.

``benchmark_practices`` composes them. ``roll_up`` sums practices into PCNs or sub-ICB locations: the rates,
ranks and benchmark are the level's own (summed activity over summed population, compared among its peers at
that level) while the opportunity is the sum of its practices' opportunities — never recomputed at the higher
level — so the total opportunity is the same at every level.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from outturn.domain.benchmark import (
    PEER_GROUPS,
    Basis,
    BenchmarkKind,
    BenchmarkSpec,
    Direction,
    Level,
    Measure,
    PeerGrouping,
)

HIERARCHY = ("pcn", "sub_icb", "icb")
SUMMED = ("practices", "activity", "priced_activity", "pence", "population", "weighted_population")
ROW_COLUMNS = (
    "org_code",
    "org_name",
    "parent_code",
    "practices",
    "activity",
    "priced_activity",
    "pence",
    "population",
    "weighted_population",
    "rate_actual",
    "rate_weighted",
    "need_index",
    "rank_actual",
    "rank_weighted",
    "rank_change",
    "peer_group",
    "benchmark_rate",
    "above_benchmark",
    "practices_above_benchmark",
    "opportunity_activity",
    "opportunity_pence",
)
_PARENT = {Level.PRACTICE: "pcn", Level.PCN: "sub_icb", Level.SUB_ICB: "icb"}


def _ratio(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """numerator ÷ denominator as a float; null (never an error, on any backend) where the denominator is 0."""
    return numerator.cast("float64") / denominator.cast("float64").nullif(0.0)


def measure_activity(records: ir.Table, measure: Measure) -> ir.Table:
    """The measure's activity per practice: units counted, units priced and the pence of the priced units."""
    chosen = records
    for condition in measure.filters:
        chosen = chosen.filter(chosen[condition.column].isin(list(condition.values)))
    value = chosen[measure.value_columns[0]].coalesce(0)
    for column in measure.value_columns[1:]:
        value = value + chosen[column].coalesce(0)
    counted = chosen.select(
        "practice",
        units=chosen[measure.count_column] if measure.count_column else ibis.literal(1).cast("int64"),
        priced=chosen[measure.value_columns[0]].notnull(),
        value=value,
    )
    return counted.group_by("practice").aggregate(
        activity=counted.units.sum(),
        priced_activity=ibis.ifelse(counted.priced, counted.units, 0).sum(),
        pence=ibis.ifelse(counted.priced, counted.value, 0).sum().cast("int64"),
    )


def _column_or_null(table: ir.Table, name: str) -> ir.Value:
    return table[name] if name in table.columns else ibis.null().cast("string")


def practice_units(activity: ir.Table, populations: ir.Table, measure: Measure) -> ir.Table:
    """One row per practice in ``populations`` with its activity (0 where it has none) and two populations."""
    people = populations.select(
        org_code=populations.practice,
        org_name=populations.practice_name,
        **{name: _column_or_null(populations, name) for name in HIERARCHY},
        population=populations[measure.actual_population],
        weighted_population=populations[measure.weighted_population],
    )
    joined = people.left_join(activity, people.org_code == activity.practice)
    return joined.select(
        "org_code",
        "org_name",
        *HIERARCHY,
        practices=ibis.literal(1).cast("int64"),
        activity=joined.activity.coalesce(0),
        priced_activity=joined.priced_activity.coalesce(0),
        pence=joined.pence.coalesce(0),
        population=joined.population,
        weighted_population=joined.weighted_population,
    )


def _has_populations(units: ir.Table) -> ir.BooleanValue:
    return (units.population.coalesce(0) > 0) & (units.weighted_population.coalesce(0) > 0)


def comparable(units: ir.Table) -> ir.Table:
    """Practices with a positive registered list and weighted population: the ones that can have a rate."""
    return units.filter(_has_populations(units))


def excluded(units: ir.Table) -> ir.Table:
    """Practices left out of the comparison: a missing or zero list or weighted population."""
    return units.filter(~_has_populations(units))


def unmatched_activity(activity: ir.Table, populations: ir.Table) -> ir.Table:
    """Activity for practices the populations table does not list (counted, never benchmarked)."""
    return activity.anti_join(populations, activity.practice == populations.practice)


def rated(units: ir.Table, measure: Measure) -> ir.Table:
    """Rates per ``measure.per`` people on the actual and weighted populations, need index, ranks, rank change."""
    with_rates = units.mutate(
        rate_actual=_ratio(units.activity * measure.per, units.population),
        rate_weighted=_ratio(units.activity * measure.per, units.weighted_population),
        need_index=_ratio(units.weighted_population, units.population),
    )
    ranked = with_rates.mutate(
        rank_actual=(ibis.rank().over(order_by=ibis.desc(with_rates.rate_actual)) + 1).cast("int64"),
        rank_weighted=(ibis.rank().over(order_by=ibis.desc(with_rates.rate_weighted)) + 1).cast("int64"),
    )
    return ranked.mutate(rank_change=ranked.rank_actual - ranked.rank_weighted)


def _basis_population(table: ir.Table, basis: Basis) -> ir.NumericValue:
    return table.weighted_population if basis is Basis.WEIGHTED else table.population


def with_benchmark(rated_units: ir.Table, spec: BenchmarkSpec, measure: Measure) -> ir.Table:
    """Add ``peer_group`` (1..5 for a peer-group benchmark, else null) and ``benchmark_rate``."""
    table = rated_units
    rate = table[f"rate_{spec.basis.value}"]
    centile = spec.centile(measure.direction)
    null_group = ibis.null().cast("int64")
    if centile is not None:
        return table.mutate(peer_group=null_group, benchmark_rate=rate.quantile(centile))
    if spec.kind is BenchmarkKind.AVERAGE:
        average = _ratio(table.activity.sum() * measure.per, _basis_population(table, spec.basis).sum())
        return table.mutate(peer_group=null_group, benchmark_rate=average)
    if spec.kind is BenchmarkKind.GIVEN:
        given = ibis.literal(spec.given_rate, type="float64")
        return table.mutate(peer_group=null_group, benchmark_rate=given)
    key = table.need_index if spec.peers is PeerGrouping.NEED else table.population
    grouped = table.mutate(peer_group=(ibis.ntile(PEER_GROUPS).over(order_by=[key, table.org_code]) + 1).cast("int64"))
    peer_rate = grouped[f"rate_{spec.basis.value}"]
    return grouped.mutate(benchmark_rate=peer_rate.quantile(0.5).over(group_by=grouped.peer_group))


def _beyond(table: ir.Table, spec: BenchmarkSpec, measure: Measure) -> ir.BooleanValue:
    """Whether the organisation's rate is on the bad side of its benchmark (a rate equal to it is not)."""
    rate = table[f"rate_{spec.basis.value}"]
    if measure.direction is Direction.HIGH_IS_BAD:
        return rate > table.benchmark_rate
    return rate < table.benchmark_rate


def _gap(table: ir.Table, spec: BenchmarkSpec, measure: Measure) -> ir.FloatingValue:
    """Activity beyond the benchmark on the bad side (negative where the organisation is on the good side)."""
    expected = table.benchmark_rate * _basis_population(table, spec.basis).cast("float64") / measure.per
    activity = table.activity.cast("float64")
    return activity - expected if measure.direction is Direction.HIGH_IS_BAD else expected - activity


def with_opportunity(benchmarked: ir.Table, spec: BenchmarkSpec, measure: Measure) -> ir.Table:
    """Add ``above_benchmark`` (the rate is beyond the benchmark on the bad side), ``opportunity_activity``, the
    system's ``unit_price_pence`` and ``opportunity_pence`` (rounded to the penny, half away from zero; null
    where nothing is priced)."""
    beyond = _beyond(benchmarked, spec, measure)
    step = benchmarked.mutate(
        above_benchmark=beyond,
        opportunity_activity=ibis.ifelse(beyond, ibis.greatest(_gap(benchmarked, spec, measure), 0.0), 0.0),
        unit_price_pence=_ratio(benchmarked.pence.sum(), benchmarked.priced_activity.sum()),
    )
    return step.mutate(
        practices_above_benchmark=ibis.ifelse(step.above_benchmark, 1, 0).cast("int64"),
        opportunity_pence=(step.opportunity_activity * step.unit_price_pence).round().cast("int64"),
    )


def benchmark_practices(activity: ir.Table, populations: ir.Table, measure: Measure, spec: BenchmarkSpec) -> ir.Table:
    """Every comparable practice (``activity`` from ``measure_activity``): activity, populations, rates, ranks,
    benchmark and opportunity."""
    units = comparable(practice_units(activity, populations, measure))
    practices = with_opportunity(with_benchmark(rated(units, measure), spec, measure), spec, measure)
    return practices.mutate(parent_code=practices.pcn)


def roll_up(practices: ir.Table, level: Level, spec: BenchmarkSpec, measure: Measure) -> ir.Table:
    """Practices' results summed to ``level``: the level's own rates, ranks and benchmark among its peers; the
    opportunity (and practices above the benchmark) the sum of its practices'."""
    order = [f"rank_{spec.basis.value}", "org_code"]
    if level is Level.PRACTICE:
        return practices.select(*ROW_COLUMNS).order_by(order)
    parent = _PARENT[level]
    totals = practices.group_by(org_code=practices[level.column]).aggregate(
        parent_code=practices[parent].min(),
        **{name: practices[name].sum() for name in SUMMED},
        practices_above_benchmark=practices.practices_above_benchmark.sum(),
        opportunity_activity=practices.opportunity_activity.sum(),
        opportunity_pence=practices.opportunity_pence.sum(),
    )
    ranked = with_benchmark(rated(totals, measure), spec, measure)
    finished = ranked.mutate(org_name=ibis.null().cast("string"), above_benchmark=_beyond(ranked, spec, measure))
    return finished.select(*ROW_COLUMNS).order_by(order)
