"""The contracts pages and API against figures worked by hand from the fixture (tests/web_helpers.py).

RXX × 01A, 2025/26, as at 2025-09, priced at 2018/19 national prices with a market forces factor of 1:
- non-elective: plan 10 spells (£98,590) a month; actual 12 AA22C spells a month at £9,859. Year to date plan 60
  spells £591,540, actual 72 spells £709,848, variance (plan less actual) -12 and -£118,308. Forecast: the actual
  to date plus the remaining plan at 72/60 of plan = £709,848 + 1.2 × £591,540 = £1,419,696 (144 spells); annual
  plan £1,183,080, over-performance £236,616 (a forecast variance of -£236,616).
- first outpatient attendances: plan 5 (£815) a month; actual 4 a month at £163: to date £4,890 planned, £3,912
  actual; forecast £3,912 + 0.8 × £4,890 = £7,824.
- follow-ups (not planned): 60 at £70 = £4,200, forecast at run rate £8,400; A&E: 12 at £216 = £2,592, £5,184.
Totals: forecast £1,441,104 against an annual plan of £1,192,860: over-performance £248,244. Follow-ups per first
attendance 60 / 24 = 2.5; consultant-to-consultant referrals 6 of 24 firsts (25%).
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from outturn.cli import app as cli
from outturn.services.workspace import Workspace
from web_helpers import shared_client, shared_workspace, sign_in

__all__ = ["shared_client", "shared_workspace"]
POUND = 100


def test_contract_list(shared_client: TestClient) -> None:
    sign_in(shared_client, "bob")
    document = shared_client.get("/api/contracts").json()
    assert document["financial_year"] == "2025/26"
    assert document["contracts"] == [
        {
            "provider": "RXX",
            "provider_name": "Test Hospitals",
            "commissioner": "01A",
            "annual_plan_activity": 12 * 15,
            "annual_plan_pence": 12 * (98_590 + 815) * POUND,
            "block_pence": 0,
        }
    ]
    html = shared_client.get("/contracts").text
    assert '<a href="/contracts/RXX">RXX</a>' in html and "Test Hospitals" in html


def test_provider_statement_worked_by_hand(shared_client: TestClient) -> None:
    sign_in(shared_client, "fiona")
    [document] = shared_client.get("/api/contracts/rxx").json()
    lines = {line["point_of_delivery"]: line for line in document["lines"]}
    nel = lines["non_elective"]
    assert (nel["ytd_plan_activity"], nel["ytd_actual_activity"], nel["ytd_variance_favourable_activity"]) == (
        60,
        72,
        -12,
    )
    assert (nel["ytd_plan_pence"], nel["ytd_actual_pence"]) == (591_540 * POUND, 709_848 * POUND)
    assert nel["ytd_variance_favourable_pence"] == -118_308 * POUND  # plan less actual: adverse
    assert (nel["forecast_activity"], nel["forecast_pence"]) == (144, 1_419_696 * POUND)
    assert nel["over_performance_pence"] == 236_616 * POUND
    assert nel["forecast_variance_favourable_pence"] == -236_616 * POUND
    assert (
        lines["op_first"]["ytd_actual_pence"] == 3_912 * POUND and lines["op_first"]["forecast_pence"] == 7_824 * POUND
    )
    assert lines["op_follow_up"]["forecast_pence"] == 8_400 * POUND and lines["ae"]["ytd_actual_pence"] == 2_592 * POUND
    assert document["forecast_pence"] == 1_441_104 * POUND
    assert document["over_performance_pence"] == 248_244 * POUND
    assert document["forecast_variance_favourable_pence"] == -248_244 * POUND
    [follow_ups] = document["follow_up_ratios"]
    assert (follow_ups["treatment_function"], follow_ups["firsts"], follow_ups["follow_ups"]) == ("100", 24, 60)
    assert follow_ups["ratio"] == 2.5
    assert document["consultant_referral_share"] == 0.25
    # the same spells every month: the case mix has not moved
    [drift] = document["case_mix_drift"]
    assert (drift["point_of_delivery"], drift["baseline_spells"], drift["current_spells"]) == ("non_elective", 36, 36)
    assert drift["drift_pence"] == 0


def test_provider_page_shows_the_statement(shared_client: TestClient) -> None:
    sign_in(shared_client, "bob")
    html = shared_client.get("/contracts/RXX").text
    assert 'id="provider-name">Test Hospitals<' in html
    # the case-mix cell (36 spells a period, one price): tested size, but no variation, so no z and no flag
    assert "<td>no variation to test</td>" in html and "A cell is tested only with 30 spells or more" in html
    assert 'id="ytd-actual-01A">£709,848.00<' not in html  # totals include every point of delivery
    assert 'id="ytd-actual-01A">£720,552.00<' in html  # £709,848 + £3,912 + £4,200 + £2,592
    assert 'id="forecast-01A">£1,441,104.00<' in html
    assert 'id="forecast-variance-01A">(£248,244.00)<' in html  # over-performance is an adverse variance
    # plan to date £591,540 + £4,890 = £596,430, less actual £720,552: an adverse variance of £124,122
    assert 'id="ytd-variance-01A">(£124,122.00)<' in html
    assert "(12)" in html and "+12" not in html  # 60 planned less 72 spells: an adverse activity variance
    assert "non elective" in html and "25.0%" in html and ">2.50<" in html


def test_api_mirrors_the_command_line(shared_client: TestClient, shared_workspace: Workspace) -> None:
    sign_in(shared_client, "ada")
    result = CliRunner().invoke(
        cli,
        ["--workspace", str(shared_workspace.path), "contracts", "statement", "--provider", "RXX", "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    assert shared_client.get("/api/contracts/RXX?as_at=2025-09").json() == json.loads(result.stdout)


def test_unknown_provider_is_404(shared_client: TestClient) -> None:
    sign_in(shared_client, "bob")
    assert shared_client.get("/contracts/RZZ").status_code == 404
    assert shared_client.get("/api/contracts/RZZ").status_code == 404
    assert shared_client.get("/api/contracts/RXX?as_at=2024-09").status_code == 404  # no contract that year


@pytest.mark.parametrize("path", ["/contracts", "/contracts/RXX", "/api/contracts", "/api/contracts/RXX"])
def test_a_practice_user_is_refused_contracts(shared_client: TestClient, path: str) -> None:
    """A contract is the commissioner's, not a practice's: practice users are refused (documented in the README)."""
    sign_in(shared_client, "pat")
    response = shared_client.get(path)
    assert response.status_code == 403 and "Test Hospitals" not in response.text


def test_provider_page_shows_the_payment_rules(shared_client: TestClient, shared_workspace: Workspace) -> None:
    """Last in the module: it gives the contract rules. A fixed payment of £120,000 with nothing in the variable
    element: the contract pays £10,000 a month whatever the activity; the tariff value (£720,552 to date) is
    shown and taken off as covered by the fixed payment."""
    from outturn.services.contracts import import_contracts

    root = shared_workspace.settings.reference_dir
    assert root is not None
    rules = root / "rules.csv"
    rules.write_text("provider,commissioner,year,rule,value\nRXX,01A,2025/26,fixed,\"£120,000\"\n", encoding="utf-8")
    import_contracts(shared_workspace, root / "contract.csv", rules=rules, replace=True)
    sign_in(shared_client, "bob")
    document = shared_client.get("/api/contracts/RXX?as_at=2025-09").json()[0]
    assert document["tariff_ytd_actual_pence"] == 720_552 * POUND
    assert [rule["rule"] for rule in document["payment_rules"]] == ["fixed_payment", "outside_variable"]
    assert (document["ytd_actual_pence"], document["forecast_pence"]) == (60_000 * POUND, 120_000 * POUND)
    html = shared_client.get("/contracts/RXX").text
    assert 'id="payment-rules-01A"' in html and "fixed payment (in twelfths)" in html
    assert 'id="ytd-actual-01A">£60,000.00<' in html
    assert document["variable_element"]["points_of_delivery"] == []  # everything covered by the fixed payment
    assert 'id="variable-element-01A">Variable element (none)' in html
