"""The overview page and its API against figures worked by hand from the fixture (tests/web_helpers.py).

01A: allocation £13m, control total a £0.5m surplus. Ledger: one acute line, £1m budget a month, £1.1m actual a
month to M06 (as at 2025-09). Run rate: £6.6m to date + 6 × £1.1m = £13.2m forecast outturn, so a £0.2m deficit
and a gap to the control total of £0.5m − (−£0.2m) = £0.7m.
Risks by expected value: Drug prices £300k × 90% = £270k, Winter £400k × 50% = £200k, CHC £1m × 10% = £100k;
the mitigation is not a risk. Savings: S1 £10k a month delivered in full, S2 £20k a month delivered at half:
plan £360k, delivered to M06 £60k + £60k = £120k, forecast £120k + 6 × (£10k + £20k) = £300k; target £500k.
"""

from __future__ import annotations

import json
import re
from html import escape as html_escape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from outturn.cli import app as cli
from outturn.domain.errors import BadInput
from outturn.services.imports import import_ledger
from outturn.services.web import overview
from outturn.services.workspace import Workspace
from web_helpers import app_client, sign_in, web_workspace

__all__ = ["app_client", "web_workspace"]
K = 100_000  # pence in £1,000


def _text(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]+)<', html)
    assert found, element_id
    return found.group(1).strip()


def test_overview_page_shows_the_position_worked_by_hand(app_client: TestClient) -> None:
    sign_in(app_client, "bob")
    html = app_client.get("/").text
    # the cards and lists follow the figures switch as the position's tables do: £000 unless £m is chosen
    assert _text(html, "forecast-surplus") == "£200k deficit"
    assert _text(html, "control-total") == "£500k surplus"
    assert _text(html, "gap") == "£700k"
    assert 'id="units-thousands" aria-pressed="true"' in html
    # each risk's organisation by name (orgs.csv: 01A "NHS Test sub-ICB"), its code on hover
    top = re.findall(
        r"<tr><td>([^<]+)</td><td class=\"app-hide-small\"><span title=\"01A\">NHS Test sub-ICB \(01A\)<", html
    )
    assert top == ["Drug prices", "Winter pressures", "CHC claims"]


def test_overview_cards_in_millions_when_chosen_rounded_as_the_position_table(app_client: TestClient) -> None:
    """In £m each figure is rounded once to one place, as the position page's tables: a £13.2m forecast outturn,
    a £0.2m deficit; the risk list's £270k expected is £0.3m (half away from zero)."""
    token = sign_in(app_client, "bob")
    app_client.post("/units", data={"csrf_token": token, "units": "millions", "back": "/"})
    html = app_client.get("/").text
    assert _text(html, "forecast-surplus") == "£0.2m deficit"
    assert _text(html, "control-total") == "£0.5m surplus"
    assert _text(html, "gap") == "£0.7m"
    assert "£13.2m" in html and "£13.20m" not in html
    assert re.search(r"Drug prices</td>.*?£0\.3m", html, re.S)
    position_page = app_client.get("/position").text
    assert "£13.2m" in position_page


def test_overview_api_figures(app_client: TestClient, web_workspace: Workspace) -> None:
    sign_in(app_client, "fiona")
    document = app_client.get("/api/overview").json()
    position = document["position"]
    assert position["forecast_outturn_pence"] == 13_200 * K
    assert position["forecast_surplus_pence"] == -200 * K
    assert position["gap_to_control_total_pence"] == 700 * K
    assert [(r["description"], r["expected_pence"]) for r in document["top_risks"]] == [
        ("Drug prices", 270 * K),
        ("Winter pressures", 200 * K),
        ("CHC claims", 100 * K),
    ]
    savings = document["savings"]
    assert (savings["plan_pence"], savings["delivered_pence"], savings["forecast_pence"]) == (360 * K, 120 * K, 300 * K)
    assert savings["target_pence"] == 500 * K
    # the probability is the risk command's, same trials and seed (the API mirrors the command line)
    result = CliRunner().invoke(
        cli,
        [
            "--workspace",
            str(web_workspace.path),
            "risk",
            "simulate",
            "--trials",
            str(document["trials"]),
            "--seed",
            "1",
            "--format",
            "json",
        ],
    )
    assert document["p_meet_control_total"] == json.loads(result.stdout)["p_meet_control_total"]
    assert 0 <= document["p_meet_control_total"] < 0.5  # £0.7m behind with £0.57m of expected risks still to land


def test_overview_follows_a_new_ledger_import(app_client: TestClient, web_workspace: Workspace, tmp_path: Path) -> None:
    """The cached overview is dropped when the store changes: M07 at £1.2m moves the forecast to
    £6.6m + £1.2m + 5 × (£7.8m / 7) by run rate."""
    sign_in(app_client, "fiona")
    before = app_client.get("/api/overview?as_at=2025-10").json()["position"]["forecast_outturn_pence"]
    ledger = tmp_path / "m07.csv"
    ledger.write_text(
        "org_code,year,month,category,subcategory,budget,actual\n01A,2025/26,M07,acute,Trust A,1000000,1200000\n"
    )
    import_ledger(web_workspace, ledger)  # another process's import: seen through the data stamp
    position = app_client.get("/api/overview?as_at=2025-10").json()["position"]
    expected = 7_800 * K + round(5 * 7_800 * K / 7)
    assert position["forecast_outturn_pence"] == expected != before


def test_unknown_organisation_is_a_clear_400(app_client: TestClient) -> None:
    sign_in(app_client, "fiona")
    response = app_client.get("/api/overview?org=ZZZ")
    assert response.status_code == 400 and "ZZZ" in response.json()["error"]


def test_position_page_and_api_by_category(app_client: TestClient) -> None:
    """One acute line: annual budget £12m, YTD budget £6m and actual £6.6m, forecast £13.2m (variance −£1.2m)."""
    sign_in(app_client, "bob")
    document = app_client.get("/api/position").json()
    [acute] = document["by_category"]
    assert (acute["annual_budget_pence"], acute["ytd_actual_pence"]) == (12_000 * K, 6_600 * K)
    assert acute["forecast_variance_pence"] == -1_200 * K
    # the bridge ends at the likely year-end: −£0.2m − the savings shortfall (M07-M12 plan £180k less its
    # forecast at 90%, £162k: £18k) − risks (£270k + £200k + £100k) + mitigation £100k × 50%
    assert document["bridge"][-1]["running_pence"] == -200 * K - 18 * K - 570 * K + 50 * K
    html = app_client.get("/position").text
    assert "£13,200k" in html and "£-1,200k" not in html and "-£" not in html and "(£1,200k)" in html
    # the workspace forecasts by auto: the JSON names it, the caption says it in words
    assert document["method"] == "auto" and "forecast by auto" not in html
    assert "forecast by each line&#39;s best back-tested method</span>" in html
    # the bridge drawn as a waterfall: one bar per step of the API's bridge, inline SVG (nothing fetched)
    chart = html[html.index('id="bridge-chart"') :]
    chart = chart[: chart.index("</figure>")]
    assert "<svg" in chart and 'href="http' not in chart and "src=" not in chart
    assert all(html_escape(step["label"].split()[0]) in chart for step in document["bridge"])
    forecast = html[html.index('id="forecast-chart"') :]
    assert "<svg" in forecast[: forecast.index("</figure>")] and "P10 to P90" in forecast[: forecast.index("</figure>")]


# the labels of the year-end figures, written out here: every interface must show exactly these
YEAR_END_LABELS = {
    "forecast_surplus_pence": "Forecast surplus/(deficit)",
    "likely_surplus_pence": "Risk-adjusted forecast (likely)",
    "best_surplus_pence": "Risk-adjusted best case",
    "worst_surplus_pence": "Risk-adjusted worst case",
}


def test_year_end_figures_are_labelled_alike_in_the_json_and_on_the_web(
    app_client: TestClient, web_workspace: Workspace
) -> None:
    """The CLI's JSON names each year-end figure with its label; the overview and position pages show the same
    words, and the position page the reconciliation of the likely (−£738k, worked above) to the simulated mean."""
    arguments = ["--workspace", str(web_workspace.path)]
    position = json.loads(CliRunner().invoke(cli, [*arguments, "position", "--format", "json"]).stdout)
    assert {item["field"]: item["label"] for item in position["year_end"] if item["field"] in YEAR_END_LABELS} == (
        YEAR_END_LABELS
    )
    assert {item["field"]: item["pence"] for item in position["year_end"]}["likely_surplus_pence"] == -738 * K
    assert [step["label"] for step in position["bridge"][-4:]] == [
        "Savings shortfall (risk-adjusted)",
        "Risks (likely)",
        "Mitigations (likely)",
        "Risk-adjusted forecast (likely)",
    ]
    sign_in(app_client, "bob")
    overview = app_client.get("/").text
    assert "Forecast surplus/(deficit)" in overview and "Risk-adjusted forecast (likely)" in overview
    page = app_client.get("/position").text
    trials = app_client.get("/api/overview").json()["trials"]
    simulated = json.loads(
        CliRunner()
        .invoke(cli, [*arguments, "risk", "simulate", "--trials", str(trials), "--seed", "1", "--format", "json"])
        .stdout
    )
    steps = simulated["reconciliation"]["steps"]
    assert (steps[0]["label"], steps[0]["pence"]) == ("Risk-adjusted forecast (likely)", -738 * K)
    assert (steps[-1]["label"], steps[-1]["pence"]) == ("Simulated expected (mean)", simulated["mean_surplus_pence"])
    assert "From the risk-adjusted forecast (likely) to the simulated expected (mean)</h2>" in page  # mid-sentence
    table = page[page.index('id="reconciliation"') :]
    table = table[: table.index("</table>")]
    assert [html_escape(step["label"], quote=False) in table for step in steps] == [True] * len(steps)
    assert "(£738k)" in table


def test_top_risks_read_as_the_risk_register_does(app_client: TestClient, web_workspace: Workspace) -> None:
    """One builder for a risk's row: the overview's top risks are the rows of `outturn risks list --format json`,
    likelihood and expected value included (they were a float and a half-to-even rounding on the web)."""
    sign_in(app_client, "fiona")
    top = app_client.get("/api/overview").json()["top_risks"]
    result = CliRunner().invoke(cli, ["--workspace", str(web_workspace.path), "risks", "list", "--format", "json"])
    register = {row["description"]: row for row in json.loads(result.stdout)}
    assert top == [register[row["description"]] for row in top]
    assert [row["likelihood"] for row in top] == ["0.9", "0.5", "0.1"]


def test_a_risk_row_rounds_its_expected_value_half_away_from_zero() -> None:
    from decimal import Decimal

    from outturn.domain.periods import FinancialYear
    from outturn.domain.plans import RiskItem, RiskKind
    from outturn.reports.registers import risk_row

    five_pence = RiskItem("01A", FinancialYear(2025), RiskKind.RISK, "Small", 5, Decimal("0.5"))
    assert risk_row(five_pence)["expected_pence"] == 3  # 2.5p rounds away from zero, not to the even 2p


def test_a_model_the_simulation_cannot_take_leaves_the_position_with_a_note(
    web_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise BadInput("the model has nothing to simulate")

    monkeypatch.setattr("outturn.services.web.simulate_year_end", refuse)
    found = overview(web_workspace)

    assert found.p_meet_control_total is None and found.fan == ()
    assert found.position.org_code == "01A"  # the workspace's default organisation, its position still shown
    assert "risk simulation not run: the model has nothing to simulate" in found.notes


def test_a_bug_in_the_simulation_is_raised_not_noted(web_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(*_args: object, **_kwargs: object) -> None:
        raise ValueError("a bug")

    monkeypatch.setattr("outturn.services.web.simulate_year_end", bug)
    with pytest.raises(ValueError, match="a bug"):
        overview(web_workspace)
