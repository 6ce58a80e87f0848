"""The risk simulation built from a real workspace: position, savings schemes, risk register and contracts.

A hand-made workspace (one sub-ICB, flat ledger to M08) whose every input is worked by hand below: the forecast
surplus, the schemes' remaining forecast, the payment-by-results share of acute spend, the exposed spend, and
(with no uncertainty left) the year-end figure and the next year's.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.activity import PointOfDelivery
from outturn.domain.contracts import BlockElement, Contract, PlanLine
from outturn.domain.ledger import CostCategory
from outturn.domain.periods import FinancialYear
from outturn.domain.risk_model import ACTIVITY, NO_UNCERTAINTY, PRICE, pbr_share, spend_exposures
from outturn.domain.savings import SavingsTarget, Scheme, SchemeStatus, Workstream
from outturn.reports.risk import simulation_document
from outturn.reports.savings_workbook import write_savings_workbook
from outturn.services import savings
from outturn.services.contracts import import_contracts
from outturn.services.imports import import_ledger, import_organisations, import_plans, import_risks
from outturn.services.risk import (
    Assumptions,
    PlanSettings,
    build_model,
    multi_year_document,
    simulate_multi_year,
    simulate_year_end,
    summarise,
)
from outturn.services.workspace import Workspace, init_workspace

YEAR = FinancialYear(2025)
K = 1000 * 100  # £1k in pence
ORGANISATIONS = """code,name,kind,parent_code
I1,Test ICB,icb,
A1,Sub-ICB A,sub_icb,I1
RXX,Acute Trust,provider,
"""
PLAN = """org_code,year,item,amount,description
A1,2025/26,recurrent_allocation,£20m,
A1,2025/26,control_total,(300k),
"""
# monthly (budget, actual) in £k; forecast by run rate: actual × 12
LEDGER = {
    "acute": (1000, 1100),
    "prescribing": (200, 210),
    "continuing_healthcare": (100, 100),
    "mental_health": (300, 300),
}
RISKS = """org_code,year,kind,description,value,likelihood,category
A1,2025/26,risk,Winter pressures,£250k,100%,acute
A1,2025/26,mitigation,Contingency release,£100k,0%,
"""
# £500k a month of elective activity (£6m) and a £2m block: 75% of the contract moves with activity
CONTRACT = (
    "provider,commissioner,year,point_of_delivery,month,activity,value,description\n"
    + "".join(f"RXX,A1,2025/26,elective,{month},100,£500k,\n" for month in range(1, 13))
    + "RXX,A1,2025/26,block,,,£2m,Community block\n"
)


def _scheme(reference: str, workstream: Workstream, planned: list[int], **fields: object) -> Scheme:
    return Scheme(reference, f"Scheme {reference}", "A1", YEAR, workstream, tuple(p * K for p in planned), **fields)


SCHEMES = [
    # £50k a month all year, £40k a month delivered to M08; £200k to come at 80%
    _scheme(
        "S1",
        Workstream.PRESCRIBING,
        [50] * 12,
        delivered=(*[40 * K] * 8, *[None] * 4),
        confidence=Decimal("0.8"),
        status=SchemeStatus.IN_DELIVERY,
    ),
    # from M07, £100k a month: £200k delivered, £400k to come at 60%; full-year factor 12 / 6
    _scheme(
        "S2",
        Workstream.ELECTIVE,
        [0] * 6 + [100] * 6,
        delivered=(*[None] * 6, 100 * K, 100 * K, *[None] * 4),
        confidence=Decimal("0.6"),
        start_month=7,
        status=SchemeStatus.IN_DELIVERY,
    ),
    _scheme("S3", Workstream.OUTPATIENTS, [10] * 12, status=SchemeStatus.IDEA),  # pipeline: not simulated
    # stopped: forecasts nothing more, but the budgets still assume its £10k a month plan (£40k for M09-M12)
    _scheme("S4", Workstream.COMMUNITY, [10] * 12, status=SchemeStatus.STOPPED),
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    folder = tmp_path_factory.mktemp("risk")
    opened = init_workspace(folder / "ws", reference_dir=folder, default_org="A1", default_as_at="2025-11")
    for name, text in (
        ("orgs.csv", ORGANISATIONS),
        ("plan.csv", PLAN),
        ("risks.csv", RISKS),
        ("contract.csv", CONTRACT),
    ):
        (folder / name).write_text(text)
    with (folder / "ledger.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["org_code", "year", "month", "category", "budget", "actual"])
        for category, (budget, actual) in LEDGER.items():
            for month in range(1, 13):
                writer.writerow(["A1", 2025, month, category, budget * 1000, actual * 1000 if month <= 8 else ""])
    import_organisations(opened, folder / "orgs.csv")
    import_plans(opened, folder / "plan.csv")
    import_ledger(opened, folder / "ledger.csv")
    import_risks(opened, folder / "risks.csv")
    import_contracts(opened, folder / "contract.csv")
    workbook = write_savings_workbook(folder / "savings.xlsx", SCHEMES, [SavingsTarget("A1", YEAR, 2000 * K)])
    savings.import_workbook(opened, workbook, "tester")
    return opened


CERTAIN = Assumptions(concentration=NO_UNCERTAINTY, activity_sd=Decimal(0), price_sd=Decimal(0))
# forecast outturn by run rate: (1100 + 210 + 100 + 300) × 12 = £20,520k against £20m: a £520k deficit
FORECAST_SURPLUS = -520 * K
# shortfall against the plan still to come: 20% of £200k + 40% of £400k + S4's whole £40k = £240k; the risk
# lands (100%), the mitigation never (0%)
CERTAIN_YEAR_END = FORECAST_SURPLUS - 240 * K - 250 * K


def test_pbr_share_and_spend_exposures_by_hand() -> None:
    year = FinancialYear(2025)
    # £3m of activity-based plan and a £1m block: 75% of the contracts' value moves with activity
    contracts = [
        Contract("RTH", "Q1", year, plan=(PlanLine(PointOfDelivery.ELECTIVE, 1, 10, 300_000_000),)),
        Contract("RXQ", "Q1", year, blocks=(BlockElement("community", 100_000_000),)),
    ]
    assert pbr_share(contracts) == Decimal("0.75")
    assert pbr_share([Contract("RTH", "Q1", year)]) is None  # nothing held

    def row(category: CostCategory, forecast: int, ytd_actual: int) -> SimpleNamespace:
        return SimpleNamespace(category=category, forecast_outturn_pence=forecast, ytd_actual_pence=ytd_actual)

    position = SimpleNamespace(
        by_category=(
            row(CostCategory.ACUTE, 1_000_000, 600_000),  # 400,000 still to come
            row(CostCategory.PRESCRIBING, 500_000, 300_000),  # 200,000
            row(CostCategory.CONTINUING_HEALTHCARE, 100_000, 150_000),  # overspent already: none to come, not -50,000
            row(CostCategory.PRIMARY_CARE_DELEGATED, 900_000, 0),  # neither driver
        )
    )
    activity, price = spend_exposures(position, Decimal("0.75"), Decimal("0.02"), Decimal("0.03"))
    assert (activity.name, activity.remaining_pence, activity.sd) == (ACTIVITY, 300_000, Decimal("0.02"))  # 75% of 400k
    assert (price.name, price.remaining_pence, price.sd) == (PRICE, 200_000, Decimal("0.03"))
    assert spend_exposures(position, None, Decimal(0), Decimal(0))[0].remaining_pence == 400_000


def test_model_inputs_from_the_workspace_by_hand(workspace: Workspace) -> None:
    inputs = build_model(workspace)
    model = inputs.model
    assert (model.forecast_surplus_pence, model.control_total_pence) == (FORECAST_SURPLUS, -300 * K)
    assert model.months == (9, 10, 11, 12)
    assert [s.reference for s in model.schemes] == ["S1", "S2", "S4"]
    s1, s2, s4 = model.schemes
    assert (s1.remaining_pence, s1.delivered_pence, s1.full_year_factor) == ((50 * K,) * 4, 320 * K, 1)
    assert (s2.remaining_pence, s2.delivered_pence, s2.full_year_factor) == ((100 * K,) * 4, 200 * K, 2)
    assert (s1.assumed_pence, s2.assumed_pence) == (s1.remaining_pence, s2.remaining_pence)  # forecast as planned
    assert (s4.remaining_pence, s4.assumed_pence, s4.recurrent) == ((0,) * 4, (10 * K,) * 4, False)  # carries none
    assert inputs.pbr_share == Decimal("0.75")
    # acute still to come: £1,100k × 4 months, 75% of it activity-based; prices: prescribing and CHC × 4
    spend = {item.name: item.remaining_pence for item in model.spend}
    assert spend == {"activity growth": 3300 * K, "price": (210 + 100) * 4 * K}
    assert [(r.kind.value, r.likelihood, r.mode_pence) for r in model.risks] == [
        ("risk", Decimal(1), 250 * K),
        ("mitigation", Decimal(0), 100 * K),
    ]


def test_year_end_with_no_uncertainty_is_the_hand_worked_figure(workspace: Workspace) -> None:
    simulation = simulate_year_end(workspace, trials=2048, seed=3, assumptions=CERTAIN)
    document = simulation_document(summarise(simulation))
    assert document["p10_pence"] == document["p50_pence"] == document["p90_pence"] == CERTAIN_YEAR_END
    assert document["expected_surplus_pence"] == CERTAIN_YEAR_END
    assert document["p_meet_control_total"] == 0.0  # £1,010k deficit against a £300k deficit control total
    assert document["fan"][0]["p50_pence"] == FORECAST_SURPLUS + (CERTAIN_YEAR_END - FORECAST_SURPLUS) // 4
    savings_not_counted = Assumptions(
        concentration=NO_UNCERTAINTY, activity_sd=Decimal(0), price_sd=Decimal(0), savings_in_forecast=False
    )
    simulation = simulate_year_end(workspace, trials=1024, seed=3, assumptions=savings_not_counted)
    document = simulation_document(summarise(simulation))
    assert document["p50_pence"] == FORECAST_SURPLUS + 160 * K + 240 * K - 250 * K  # delivered added, risk lands


def test_likely_is_the_closed_form_mean_and_reconciles_to_the_simulated_mean(workspace: Workspace) -> None:
    """The position's likely counts what the simulation counts: forecast − £240k savings shortfall − £250k risk
    (100%) + £0 mitigation (0%) = −£1,010k, the model's closed-form mean. The simulated mean (20,000 trials) is
    reached through the named items, each its simulated mean less its value in the likely; the residual is the
    float and penny rounding of the parts; the difference lies within four standard errors of the mean."""
    document = simulation_document(summarise(simulate_year_end(workspace, trials=20_000, seed=11)))
    likely = FORECAST_SURPLUS - 240 * K - 250 * K
    assert document["likely_surplus_pence"] == document["expected_surplus_pence"] == likely
    reconciliation = document["reconciliation"]
    steps = reconciliation["steps"]
    labels = [step["label"] for step in steps]
    assert labels == [
        "Risk-adjusted forecast (likely)",
        "Savings delivery: simulated less risk-adjusted",
        "Risks: simulated less likely",
        "Mitigations: simulated less likely",
        "Activity growth: simulated",
        "Price: simulated",
        "Interaction and rounding (residual)",
        "Simulated expected (mean)",
    ]
    assert steps[0]["pence"] == likely and steps[-1]["pence"] == document["mean_surplus_pence"]
    assert likely + sum(step["pence"] for step in steps[1:-1]) == document["mean_surplus_pence"]  # to the penny
    assert steps[2]["pence"] == steps[3]["pence"] == 0  # a certain risk and an impossible mitigation never vary
    assert abs(steps[-2]["pence"]) <= 5  # rounding only
    error = reconciliation["standard_error_pence"]
    assert error > 0 and abs(reconciliation["difference_pence"]) <= 4 * error
    for step in steps[1:-2]:
        assert abs(step["pence"]) <= 4 * step["standard_error_pence"] + 1, step


def test_next_year_takes_last_years_shortfall_and_carries_the_recurrent_savings(workspace: Workspace) -> None:
    settings = PlanSettings(
        years=2, allocation_growth=Decimal(0), cost_growth=Decimal(0), savings_share=Decimal(0), confidence=Decimal(1)
    )
    plan = simulate_multi_year(workspace, trials=1024, seed=5, settings=settings, assumptions=CERTAIN)
    document = multi_year_document(plan)
    second = document["years"][1]
    # underlying: £20,520k forecast + the savings it counts (£320k + £200k delivered, £640k of plan to come,
    # S4's £40k included) = £21,680k
    # carried forward: S1 (£320k + 80% of £200k) + S2 (£200k + 60% of £400k) × 2 = £480k + £880k
    # resource: £20m less last year's £710k shortfall (£1,010k deficit against £300k)
    assert second["plan"]["underlying_spend_pence"] == 21_680 * K
    assert second["mean_carried_forward_pence"] == 1360 * K
    assert second["mean_penalty_pence"] == 710 * K
    assert second["p50_pence"] == second["expected"]["surplus_pence"] == 20_000 * K - 710 * K - (21_680 - 1360) * K


def test_simulate_json_through_the_cli_is_reproducible(workspace: Workspace) -> None:
    arguments = ["-w", str(workspace.settings.workspace), "risk", "simulate", "--trials", "3000", "--seed", "9"]
    first = CliRunner().invoke(app, [*arguments, "--format", "json"])
    assert first.exit_code == 0, first.output
    document = json.loads(first.stdout)
    for key in ("p_meet_control_total", "p10_pence", "p50_pence", "p90_pence", "fan", "tornado", "distribution"):
        assert key in document
    assert document["p10_pence"] <= document["p50_pence"] <= document["p90_pence"]
    assert sum(bin_["trials"] for bin_ in document["distribution"]) == 3000
    drivers = {bar["driver"]: bar["kind"] for bar in document["tornado"]}
    assert drivers["Activity growth"] == drivers["Price"] == "spend"
    assert drivers["Savings: Prescribing"] == drivers["Savings: Elective"] == "savings"
    assert CliRunner().invoke(app, [*arguments, "--format", "json"]).stdout == first.stdout
    table = CliRunner().invoke(app, arguments)
    assert table.exit_code == 0 and "Tornado" in table.output


def test_multi_year_json_through_the_cli(workspace: Workspace) -> None:
    arguments = ["-w", str(workspace.settings.workspace), "risk", "multi-year", "--years", "3", "--trials", "2000"]
    result = CliRunner().invoke(app, [*arguments, "--format", "json"])
    assert result.exit_code == 0, result.output
    years = json.loads(result.stdout)["years"]
    assert [year["financial_year"] for year in years] == ["2025/26", "2026/27", "2027/28"]
    simulate = CliRunner().invoke(app, ["-w", str(workspace.settings.workspace), "risk", "simulate", "--trials",
                                        "2000", "--format", "json"])  # fmt: skip
    assert years[0]["p50_pence"] == json.loads(simulate.stdout)["p50_pence"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--years", "6"], "at most 5"),
        (["--trials", "0"], "trials"),
        (["--backend", "cupy"], "backend"),
        (["--correlation", "100%"], "correlation"),
    ],
)
def test_bad_options_exit_2_with_the_reason(workspace: Workspace, extra: list[str], message: str) -> None:
    command = "multi-year" if "--years" in extra else "simulate"
    result = CliRunner().invoke(
        app, ["-w", str(workspace.settings.workspace), "risk", command, *extra, "--format", "json"]
    )
    assert result.exit_code == 2
    assert message in json.loads(result.stdout)["error"]


@pytest.mark.slow
def test_demo_workspace_simulates(tmp_path: Path, reference_dir: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["demo", "--out", str(tmp_path / "demo")]).exit_code == 0
    result = runner.invoke(app, ["-w", str(tmp_path / "demo"), "risk", "simulate", "--trials", "20000", "-f", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["inputs"]["schemes"] > 0 and document["inputs"]["risks"] > 0
    # the demo's likely reconciles to its simulated mean: the named items' sum is the difference to the penny
    # (with the residual) and within four standard errors of zero (at M08 run-rate, 100,000 trials seed 1:
    # likely −£36,741,544, mean −£36,750,393, difference −£8,849 against a standard error of £41,446)
    position = json.loads(runner.invoke(app, ["-w", str(tmp_path / "demo"), "position", "-f", "json"]).stdout)
    reconciliation = document["reconciliation"]
    steps = reconciliation["steps"]
    assert steps[0]["pence"] == position["risk"]["likely_surplus_pence"] == document["likely_surplus_pence"]
    assert steps[0]["pence"] + sum(step["pence"] for step in steps[1:-1]) == document["mean_surplus_pence"]
    assert abs(reconciliation["difference_pence"]) <= 4 * reconciliation["standard_error_pence"]
    assert abs(steps[-2]["pence"]) <= 100  # the residual: rounding, not a missing item
    assert abs(document["expected_surplus_pence"] - document["likely_surplus_pence"]) <= 100
