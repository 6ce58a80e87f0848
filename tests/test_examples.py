"""The worked examples from public reporting, built from their raw figures under examples/.

Expected figures are the published ones, not the code's output:
1. Two county PCTs, 2006/07: control total £17m deficit each (£34m together); at M08 each forecasts a £24m
   deficit, so a £7m gap each and £14m together; £47m of inherited deficit and £37m for acute trusts'
   deficits deducted from the allocations.
2. A CCG, 2013/14: allocation £660m; at run rate a year-end deficit of £8.6m; the 1% surplus adds £6.6m; so
   about £15m (£15.2m) of improvement is needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outturn.cli import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MILLION = 100_000_000  # pence


def _conf(example: Path) -> dict[str, str]:
    lines = (example / "example.conf").read_text().split()
    return dict(line.split("=", 1) for line in lines)


def build(example: Path, workspace: Path, tmp_path: Path) -> None:
    """The same steps as examples/build.sh, through the CLI."""
    runner = CliRunner()
    conf = _conf(example)
    commands = [
        ["init", str(workspace), "--org", conf["org"], "--as-at", conf["as_at"], "--reference-dir", str(tmp_path)],
        ["--workspace", str(workspace), "orgs", "import", str(example / "organisations.csv")],
        ["--workspace", str(workspace), "plan", "import", str(example / "plan.csv")],
        ["--workspace", str(workspace), "ledger", "import", str(example / "ledger.csv")],
    ]
    if (example / "risks.csv").exists():
        commands.append(["--workspace", str(workspace), "risks", "import", str(example / "risks.csv")])
    for command in commands:
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output


def position_json(workspace: Path, *arguments: str) -> dict[str, object]:
    """The position by run rate: the method of the published figures (the default, auto, would take
    budget-phased here, with no past year held to back-test)."""
    command = ["--workspace", str(workspace), "position", *arguments, "--method", "run-rate", "--format", "json"]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(result.stdout)
    return document


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once for the module: its tests only read it."""
    tmp_path = tmp_path_factory.mktemp("county")
    workspace = tmp_path / "county"
    build(EXAMPLES / "two-county-pcts-2006-07", workspace, tmp_path)
    return workspace


@pytest.fixture(scope="module")
def ccg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once for the module: its tests only read it."""
    tmp_path = tmp_path_factory.mktemp("ccg")
    workspace = tmp_path / "ccg"
    build(EXAMPLES / "ccg-recovery-2013-14", workspace, tmp_path)
    return workspace


@pytest.mark.parametrize("pct", ["PCTN", "PCTS"])
def test_each_county_pct_is_seven_million_short_of_its_control_total(county: Path, pct: str) -> None:
    position = position_json(county, "--org", pct)
    assert position["financial_year"] == "2006/07"
    assert position["month"] == "M08"
    assert position["control_total_pence"] == -17 * MILLION
    assert position["forecast_surplus_pence"] == -24 * MILLION
    assert position["gap_to_control_total_pence"] == 7 * MILLION
    assert position["savings_needed_pence"] == 7 * MILLION


def test_the_two_pcts_together_are_fourteen_million_short(county: Path) -> None:
    position = position_json(county)  # the workspace's default organisation: the county's two PCTs
    assert position["org_code"] == "CTY"
    assert position["members"] == ["PCTN", "PCTS"]
    assert position["control_total_pence"] == -34 * MILLION
    assert position["forecast_surplus_pence"] == -48 * MILLION
    assert position["gap_to_control_total_pence"] == 14 * MILLION
    deductions = position["deductions"]
    assert isinstance(deductions, list)
    inherited = sum(item["pence"] for item in deductions if "deficit repaid" in item["description"])
    acute_support = sum(item["pence"] for item in deductions if "acute trusts" in item["description"])
    assert (inherited, acute_support) == (47 * MILLION, 37 * MILLION)
    # Savings required of £90m were 8% of the two PCTs' combined budget (their allocations).
    assert 90 * MILLION * 100 // position["allocation_pence"] == 8  # type: ignore[operator]


def test_the_ccg_needs_about_fifteen_million_of_improvement(ccg: Path) -> None:
    position = position_json(ccg)
    assert position["allocation_pence"] == 660 * MILLION
    assert position["forecast_surplus_pence"] == -86 * MILLION // 10  # £8.6m year-end gap at run rate
    assert position["required_surplus_pence"] == 66 * MILLION // 10  # the 1% surplus: £6.6m more
    assert position["control_total_pence"] == 66 * MILLION // 10
    assert position["gap_to_control_total_pence"] == 152 * MILLION // 10  # "about £15m"


def test_the_ccg_risk_register_gives_best_likely_and_worst(ccg: Path) -> None:
    risk = position_json(ccg)["risk"]
    assert isinstance(risk, dict)
    # Risks £2.0m at 50% and £1.0m at 25%; mitigation £1.5m at 80% (examples/ccg-recovery-2013-14/risks.csv).
    forecast = -860_000_000
    assert risk["best_surplus_pence"] == forecast + 150_000_000
    assert risk["likely_surplus_pence"] == forecast - (100_000_000 + 25_000_000) + 120_000_000
    assert risk["worst_surplus_pence"] == forecast - 300_000_000


def test_the_bridge_from_control_total_reconciles_to_the_penny(county: Path) -> None:
    position = position_json(county)
    bridge = position["bridge"]
    assert isinstance(bridge, list)
    assert bridge[0]["pence"] == position["control_total_pence"]
    running = 0
    for step in bridge:
        if step["kind"] in ("start", "step"):
            running += step["pence"]
        else:
            assert step["pence"] == running
    subtotal = next(step for step in bridge if step["kind"] == "subtotal")
    assert subtotal["pence"] == position["forecast_surplus_pence"]


def test_build_script_runs_the_published_commands(tmp_path: Path) -> None:
    outturn = Path(sys.executable).parent / "outturn"
    environment = {**os.environ, "OUTTURN": str(outturn), "OUTTURN_REFERENCE_DIR": str(tmp_path)}
    result = subprocess.run(
        ["bash", str(EXAMPLES / "build.sh"), str(EXAMPLES / "ccg-recovery-2013-14"), str(tmp_path / "ws")],
        capture_output=True, text=True, env=environment, check=False, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "£8.6m deficit" in result.stdout
    assert "£15.20m" in result.stdout


# --- 3. savings plans (QIPP), 2011/12 -------------------------------------------------------------------------

QIPP = EXAMPLES / "qipp-2011-12"


@pytest.fixture(scope="module")
def qipp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once for the module: its tests only read it."""
    tmp_path = tmp_path_factory.mktemp("qipp")
    runner = CliRunner()
    workspace = tmp_path / "qipp"
    for command in (
        ["init", str(workspace), "--as-at", "2011-12", "--reference-dir", str(tmp_path)],
        ["--workspace", str(workspace), "orgs", "import", str(QIPP / "organisations.csv")],
        ["--workspace", str(workspace), "savings", "import", str(QIPP / "savings.xlsx")],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
    return workspace


def rollup(workspace: Path, *arguments: str) -> dict[str, dict[str, object]]:
    result = CliRunner().invoke(app, ["--workspace", str(workspace), "savings", "rollup", *arguments, "-f", "json"])
    assert result.exit_code == 0, result.output
    return {row["code"]: row for row in json.loads(result.stdout)}


def test_sussex_cluster_forecasts_72_82m_against_111_78m_a_35_percent_shortfall(qipp: Path) -> None:
    sussex = rollup(qipp, "--level", "icb")["SUSX"]
    assert sussex["plan_pence"] == 11_178 * MILLION // 100
    assert sussex["forecast_pence"] == 7_282 * MILLION // 100
    assert sussex["shortfall_pence"] == 3_896 * MILLION // 100
    assert sussex["shortfall_pct"] == 34.9


def test_oxfordshire_and_buckinghamshire_shortfalls(qipp: Path) -> None:
    rows = rollup(qipp, "--level", "organisation", "--org", "BOCL")
    assert (rows["5QC"]["shortfall_pence"], rows["5QC"]["shortfall_pct"]) == (54 * MILLION // 10, 26.0)
    assert (rows["5QD"]["shortfall_pence"], rows["5QD"]["shortfall_pct"]) == (63 * MILLION // 10, 24.0)


def test_the_four_year_programme_is_335m_split_206m_and_129m(qipp: Path) -> None:
    totals: dict[str, int] = {}
    for as_at in ("2011-12", "2012-12", "2013-12", "2014-12"):
        for code, row in rollup(qipp, "--as-at", as_at, "--level", "organisation", "--org", "BOCL").items():
            totals[code] = totals.get(code, 0) + int(str(row["target_pence"]))
    assert totals == {"5QC": 206 * MILLION, "5QD": 129 * MILLION}
    assert sum(totals.values()) == 335 * MILLION


def test_a_cluster_confident_of_at_least_80_percent_circa_9m_with_879k_unidentified(qipp: Path) -> None:
    row = rollup(qipp, "--as-at", "2012-04", "--level", "icb", "--org", "CL3")["CL3"]
    plan, risk_adjusted = int(str(row["plan_pence"])), int(str(row["risk_adjusted_pence"]))
    assert risk_adjusted * 100 >= 80 * plan  # "at least 80%"
    assert round(risk_adjusted / MILLION) == 9  # "circa £9m"
    assert row["unidentified_pence"] == 879_000_00  # "£879k of next year's savings not yet identified"
