"""The reconciliation of the simulated year-end to the deterministic likely: every bridge sums to the penny, and
each driver's simulated mean adds up to the simulated mean year-end (both checked by plain arithmetic here)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from outturn.domain.plans import RiskKind
from outturn.domain.reconciliation import ReconcilingItem, reconcile
from outturn.domain.risk_model import RiskInput, RiskModel, SchemeInput, SpendUncertainty
from outturn.stats import montecarlo
from outturn.stats.driver_means import driver_means

PENCE = st.integers(min_value=-(10**12), max_value=10**12)
ITEM = st.builds(ReconcilingItem, st.text(min_size=1, max_size=12), PENCE, PENCE, st.integers(0, 10**9))


@settings(max_examples=200, deadline=None)
@given(PENCE, PENCE, st.lists(ITEM, max_size=6), st.integers(0, 10**9))
def test_every_reconciliation_sums_to_the_penny(
    likely: int, mean: int, items: list[ReconcilingItem], error: int
) -> None:
    found = reconcile(likely, mean, items, error)
    steps = found.steps
    assert (steps[0].kind, steps[0].pence, steps[0].running_pence) == ("start", likely, likely)
    assert (steps[-1].kind, steps[-1].pence, steps[-1].running_pence) == ("end", mean, mean)
    assert [step.pence for step in steps[1:-2]] == [item.simulated_pence - item.deterministic_pence for item in items]
    assert likely + sum(step.pence for step in steps[1:-1]) == mean
    running = likely
    for step in steps[1:-1]:
        running += step.pence
        assert step.running_pence == running
    assert found.difference_pence == mean - likely
    assert len(found.standard_errors_pence) == len(steps) and found.standard_errors_pence[-1] == error


SHARE = st.decimals(min_value=0, max_value=1, places=2)
MONEY = st.integers(min_value=0, max_value=10**9)


@st.composite
def models(draw: st.DrawFn) -> RiskModel:
    schemes = tuple(
        SchemeInput(
            f"S{i}",
            draw(st.sampled_from(["acute", "prescribing"])),
            (draw(MONEY), draw(MONEY)),
            draw(SHARE),
            assumed_pence=(draw(MONEY), draw(MONEY)),
        )
        for i in range(draw(st.integers(0, 3)))
    )
    risks = tuple(
        RiskInput(f"R{i}", draw(st.sampled_from(list(RiskKind))), draw(SHARE), low, low + spread, low + 2 * spread)
        for i, (low, spread) in enumerate(draw(st.lists(st.tuples(MONEY, MONEY), max_size=3)))
    )
    spend = (SpendUncertainty("activity growth", draw(MONEY), Decimal("0.02")),)
    return RiskModel("X", "2025/26", (11, 12), draw(MONEY) - 10**9, 0, schemes, risks, spend)


@settings(max_examples=15, deadline=None)
@given(models(), st.integers(0, 1000))
def test_driver_means_add_up_to_the_simulated_mean(model: RiskModel, seed: int) -> None:
    """The forecast plus each driver's mean is the mean year-end, to float rounding (a penny in £10m)."""
    result = montecarlo.simulate(model, 1024, seed, workers=1)
    means = driver_means(result)
    assert [item.name for item in means] == ["savings", "risks", "mitigations", "activity growth"]
    total = model.forecast_surplus_pence + sum(item.mean for item in means)
    assert abs(total - float(result.year_end.mean())) <= 1 + 1e-9 * abs(total)
    assert all(item.standard_error >= 0 for item in means)
