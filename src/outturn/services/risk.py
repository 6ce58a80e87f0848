"""Risk simulation of the year-end position, and of a multi-year recovery plan, from the workspace.

The model starts from the month's position (``services.position``): its forecast surplus and control total.
Savings schemes come from the store with their remaining forecast and confidence; risks and mitigations from
the register; the spend exposed to activity growth is the acute spend still to come (its payment-by-results
share where contracts are held: block elements do not move with activity) and the spend exposed to prices is
prescribing and continuing healthcare still to come.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from outturn.domain.errors import BadInput
from outturn.domain.money import scale
from outturn.domain.periods import MONTHS_IN_YEAR, FinancialYear
from outturn.domain.position import Position
from outturn.domain.risk_model import (
    ACTIVITY,
    MAX_PLAN_YEARS,
    PRICE,
    FirstYear,
    PlanYear,
    RiskModel,
    YearOutcome,
    expected_first_year,
    pbr_share,
    project_plan,
    risk_input,
    scheme_input,
    spend_exposures,
)
from outturn.domain.savings import Scheme, Workstream
from outturn.domain.scheme_measures import Evidence, as_evidenced
from outturn.domain.simulated_year_end import (
    DistributionBin,
    DriverSwing,
    FanMonth,
    SimulatedInputs,
    SimulatedYearEnd,
)
from outturn.reports.risk import simulation_document
from outturn.services import scheme_evidence
from outturn.services.position import compute_position
from outturn.services.reconciliation import reconciliation, simulated_pence
from outturn.services.workspace import Workspace
from outturn.stats import montecarlo
from outturn.stats.montecarlo import SimulationResult
from outturn.stats.multiyear import PlanSimulation, simulate_plan
from outturn.store import contracts_repository, repository
from outturn.store import savings_repository as savings_store

MAX_TRIALS = 10_000_000


@dataclass(frozen=True)
class Assumptions:
    correlation: Decimal = Decimal("0.3")
    concentration: Decimal = Decimal(4)
    activity_sd: Decimal = Decimal("0.02")
    price_sd: Decimal = Decimal("0.03")
    risk_spread: Decimal = Decimal(0)
    savings_in_forecast: bool = True
    evidenced_savings: bool = False  # schemes with a measure simulated at their evidenced delivery


@dataclass(frozen=True)
class ModelInputs:
    position: Position
    model: RiskModel
    schemes: tuple[Scheme, ...]
    pbr_share: Decimal | None  # None: no contracts held, all acute spend counted
    notes: tuple[str, ...] = field(default=())
    evidenced: tuple[str, ...] = ()  # the schemes simulated at their evidenced delivery (``evidenced_savings``)


def _pbr_share(workspace: Workspace, members: tuple[str, ...], year: FinancialYear) -> Decimal | None:
    with workspace.store.reading() as session:
        contracts = [c for c in contracts_repository.load_contracts(session, year) if c.commissioner in members]
    return pbr_share(contracts)


def build_model(
    workspace: Workspace,
    org_code: str | None = None,
    as_at: str | None = None,
    method: str | None = None,
    assumptions: Assumptions = Assumptions(),
) -> ModelInputs:
    position = compute_position(workspace, org_code, as_at, method)
    members, year, month = position.member_codes, position.as_at.year, position.as_at.number
    with workspace.store.reading() as session:
        schemes = tuple(savings_store.load_schemes(session, year, members))
        register = repository.risks_for(session, members, year)
    evidenced: dict[str, Evidence] = {}
    if assumptions.evidenced_savings:
        evidenced = scheme_evidence.schemes_evidence(workspace, schemes, position.as_at)
        schemes = tuple(
            as_evidenced(s, evidenced[s.reference], month) if s.reference in evidenced else s for s in schemes
        )
    months = position.as_at.months_remaining() or (MONTHS_IN_YEAR,)  # at M12 only risks are left to land
    scheme_inputs = tuple(item for s in schemes if (item := scheme_input(s, month, months)) is not None)
    pbr = _pbr_share(workspace, members, year)
    notes = [] if pbr is not None else ["no contracts held: all acute spend still to come counted as activity-based"]
    if not schemes:
        notes.append(f"no savings schemes for {position.org_code} in {year}: savings delivery not simulated")
    if not register:
        notes.append(f"no risks or mitigations registered for {position.org_code} in {year}")
    model = RiskModel(
        org_code=position.org_code,
        year_label=year.label,
        months=months,
        forecast_surplus_pence=position.forecast_surplus_pence,
        control_total_pence=position.control_total_pence,
        schemes=scheme_inputs,
        risks=tuple(risk_input(item, assumptions.risk_spread) for item in register),
        spend=spend_exposures(position, pbr, assumptions.activity_sd, assumptions.price_sd),
        correlation=assumptions.correlation,
        concentration=assumptions.concentration,
        savings_in_forecast=assumptions.savings_in_forecast,
    )
    return ModelInputs(position, model, schemes, pbr, tuple(notes), tuple(sorted(evidenced)))


@dataclass(frozen=True)
class RiskSimulation:
    inputs: ModelInputs
    result: SimulationResult
    seconds: float


def simulate_year_end(
    workspace: Workspace,
    *,
    trials: int,
    seed: int,
    org_code: str | None = None,
    as_at: str | None = None,
    method: str | None = None,
    assumptions: Assumptions = Assumptions(),
    backend: str | None = None,
) -> RiskSimulation:
    if not 1 <= trials <= MAX_TRIALS:
        raise BadInput(f"trials must be between 1 and {MAX_TRIALS:,}")
    inputs = build_model(workspace, org_code, as_at, method, assumptions)
    started = time.perf_counter()
    result = montecarlo.simulate(inputs.model, trials, seed, backend=backend or workspace.settings.monte_carlo_backend)
    return RiskSimulation(inputs, result, time.perf_counter() - started)


def fan_months(result: montecarlo.SimulationResult) -> tuple[FanMonth, ...]:
    """The fan chart: each remaining month's percentiles of the year-end surplus, in pence."""
    return tuple(
        FanMonth(
            point.month,
            tuple(
                (q, simulated_pence(v)) for q, v in zip(montecarlo.FAN_PERCENTILES, point.percentiles, strict=True)
            ),
        )
        for point in montecarlo.fan_chart(result)
    )


def summarise(simulation: RiskSimulation) -> SimulatedYearEnd:
    """The simulation's figures (``risk simulate``'s and the pack's risk page), every amount in whole pence."""
    inputs, result, model = simulation.inputs, simulation.result, simulation.inputs.model
    year_end = result.year_end
    p10, p50, p90 = np.percentile(year_end, [10, 50, 90])
    p = montecarlo.p_meet(result)
    counts, edges = np.histogram(year_end, bins=20)
    return SimulatedYearEnd(
        position=inputs.position,
        model=model,
        pbr_share=inputs.pbr_share,
        backend=result.backend,
        trials=result.trials,
        seed=result.seed,
        expected_surplus_pence=simulated_pence(model.expected_surplus()),
        mean_surplus_pence=simulated_pence(float(year_end.mean())),
        sd_surplus_pence=simulated_pence(float(year_end.std(ddof=1))) if result.trials > 1 else 0,
        p_meet_control_total=p,
        p_meet_standard_error=float(np.sqrt(p * (1 - p) / result.trials)),
        p10_pence=simulated_pence(float(p10)),
        p50_pence=simulated_pence(float(p50)),
        p90_pence=simulated_pence(float(p90)),
        inputs=_simulated_inputs(model),
        distribution=tuple(
            DistributionBin(simulated_pence(float(low)), simulated_pence(float(high)), int(count))
            for low, high, count in zip(edges[:-1], edges[1:], counts, strict=True)
        ),
        reconciliation=reconciliation(inputs.position, result),
        fan=fan_months(result),
        tornado=tuple(_swing(bar) for bar in montecarlo.tornado(result)),
        notes=inputs.notes,
        evidenced_schemes=inputs.evidenced,
    )


def _simulated_inputs(model: RiskModel) -> SimulatedInputs:
    risks = [r for r in model.risks if r.sign < 0]
    mitigations = [r for r in model.risks if r.sign > 0]
    return SimulatedInputs(
        schemes=len(model.schemes),
        savings_remaining_pence=model.savings_remaining_pence,
        savings_expected_shortfall_pence=simulated_pence(
            sum((s.expected_shortfall for s in model.schemes), Fraction())
        ),
        risks=len(risks),
        risks_expected_pence=simulated_pence(-sum((r.expected_effect for r in risks), Fraction())),
        mitigations=len(mitigations),
        mitigations_expected_pence=simulated_pence(sum((r.expected_effect for r in mitigations), Fraction())),
    )


def _swing(bar: montecarlo.TornadoBar) -> DriverSwing:
    """A tornado bar in pence, with its driver's label and kind: a workstream's savings, risks, mitigations, or
    spend."""
    low, high, share = simulated_pence(bar.p50_low), simulated_pence(bar.p50_high), round(bar.variance_share, 4)
    name = bar.driver
    if name in (montecarlo.RISKS, montecarlo.MITIGATIONS):
        return DriverSwing(name.capitalize(), name, low, high, share)
    if name in (ACTIVITY, PRICE):
        return DriverSwing(name.capitalize(), "spend", low, high, share)
    label = Workstream(name).label if name in {item.value for item in Workstream} else name
    return DriverSwing(f"Savings: {label}", "savings", low, high, share, workstream=name)


# --- multi-year --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanSettings:
    years: int = 3  # including the year in progress
    allocation_growth: Decimal = Decimal("0.03")
    cost_growth: Decimal = Decimal("0.04")
    savings_share: Decimal | None = None  # new savings each later year, a share of resource (default: this year's)
    confidence: Decimal | None = None  # of later years' savings (default: this year's schemes', plan-weighted)


@dataclass(frozen=True)
class MultiYearSimulation:
    year_end: RiskSimulation
    later: tuple[PlanYear, ...]
    simulation: PlanSimulation
    expected_first: FirstYear
    expected_later: tuple[YearOutcome, ...]


def _later_years(inputs: ModelInputs, workspace: Workspace, settings: PlanSettings) -> tuple[PlanYear, ...]:
    position, model, schemes = inputs.position, inputs.model, inputs.schemes
    in_plan = [s for s in schemes if s.status.counts_in_plan]
    plan_total = sum(s.plan_pence for s in in_plan)
    share = settings.savings_share
    if share is None:
        share = Decimal(plan_total) / Decimal(position.allocation_pence) if position.allocation_pence else Decimal(0)
    confidence = settings.confidence
    if confidence is None:
        weighted = sum((s.confidence * s.plan_pence for s in in_plan), Decimal(0))
        confidence = (weighted / plan_total).quantize(Decimal("0.0001")) if plan_total > 0 else Decimal(1)
    year_savings = sum(s.delivered_pence + s.assumed_total_pence for s in model.schemes)  # as the forecast counts
    counted = year_savings if model.savings_in_forecast else sum(s.delivered_pence for s in model.schemes)
    one_offs = sum(row.ytd_one_off_pence for row in position.by_category)
    base_spend = position.forecast_outturn_pence - one_offs + counted
    later = []
    for offset in range(1, settings.years):
        year = FinancialYear(position.as_at.year.start_year + offset)
        with workspace.store.reading() as session:
            plans = repository.plans_for(session, position.member_codes, year)
            targets = [t for t in savings_store.load_targets(session, year) if t.org_code in position.member_codes]
        growth = (1 + settings.allocation_growth) ** offset
        if {plan.org_code for plan in plans} == set(position.member_codes):
            resource = sum(plan.resource_pence for plan in plans)
            control = sum(plan.effective_control_total_pence for plan in plans)
        else:
            resource, control = scale(position.allocation_pence, growth), position.control_total_pence
        new = sum(t.target_pence for t in targets) if targets else scale(resource, share)
        underlying = scale(base_spend, (1 + settings.cost_growth) ** offset)
        later.append(PlanYear(year.label, resource, control, underlying, new, new, 0, confidence))
    return tuple(later)


# look-alike of simulate_year_end's signature: declarative, the same keyword arguments and the plan's settings.
def simulate_multi_year(
    workspace: Workspace,
    *,
    trials: int,
    seed: int,
    settings: PlanSettings = PlanSettings(),
    org_code: str | None = None,
    as_at: str | None = None,
    method: str | None = None,
    assumptions: Assumptions = Assumptions(),
    backend: str | None = None,
) -> MultiYearSimulation:
    if not 1 <= settings.years <= MAX_PLAN_YEARS:
        raise BadInput(f"a plan covers at most {MAX_PLAN_YEARS} years (including this one), and at least 1")
    year_end = simulate_year_end(
        workspace,
        trials=trials,
        seed=seed,
        org_code=org_code,
        as_at=as_at,
        method=method,
        assumptions=assumptions,
        backend=backend,
    )
    later = _later_years(year_end.inputs, workspace, settings)
    model = year_end.inputs.model
    simulation = simulate_plan(
        year_end.result.year_end,
        year_end.result.carried_forward,
        float(model.control_total_pence),
        later,
        model.concentration,
        seed,
    )
    first = expected_first_year(model)
    return MultiYearSimulation(year_end, later, simulation, first, project_plan(first, later))


def multi_year_document(plan: MultiYearSimulation) -> dict[str, Any]:
    """The year in progress (as ``risk simulate``'s headline) and each later year, simulated and expected."""
    first = simulation_document(summarise(plan.year_end))
    headline = {key: first[key] for key in ("p_meet_control_total", "p10_pence", "p50_pence", "p90_pence")}
    simulated, p_meet = plan.simulation, plan.simulation.p_meet()
    years = [
        {
            "financial_year": plan.expected_first.label,
            "control_total_pence": plan.expected_first.control_total_pence,
            **headline,
            "mean_penalty_pence": 0,
            "mean_carried_forward_pence": 0,
            "expected": {"surplus_pence": plan.expected_first.surplus_pence},
        }
    ]
    for column, (year, expected) in enumerate(zip(plan.later, plan.expected_later, strict=True)):
        surplus = simulated.surplus[:, column]
        p10, p50, p90 = np.percentile(surplus, [10, 50, 90])
        years.append(
            {
                "financial_year": year.label,
                "control_total_pence": year.control_total_pence,
                "p_meet_control_total": float(p_meet[column]),
                "p10_pence": simulated_pence(float(p10)),
                "p50_pence": simulated_pence(float(p50)),
                "p90_pence": simulated_pence(float(p90)),
                "mean_penalty_pence": simulated_pence(float(simulated.penalty[:, column].mean())),
                "mean_carried_forward_pence": simulated_pence(float(simulated.carried_forward[:, column].mean())),
                "plan": {
                    "resource_pence": year.resource_pence,
                    "underlying_spend_pence": year.underlying_spend_pence,
                    "new_recurrent_savings_pence": year.recurrent_savings_pence,
                    "confidence": float(year.confidence),
                },
                "expected": {
                    "resource_pence": expected.resource_pence,
                    "penalty_pence": expected.penalty_pence,
                    "carried_forward_pence": expected.carried_forward_pence,
                    "new_savings_pence": expected.new_savings_pence,
                    "spend_pence": expected.spend_pence,
                    "surplus_pence": expected.surplus_pence,
                },
            }
        )
    keys = ("org_code", "org_name", "financial_year", "month", "as_at", "method", "backend", "trials", "seed")
    return {**{key: first[key] for key in keys}, "assumptions": first["assumptions"], "years": years}
