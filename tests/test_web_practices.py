"""Practice benchmarking and funnel plots, and each practice's measures against the benchmark, worked by hand from
the fixture (tests/web_helpers.py: POPULATIONS and the contract's activity).

GP referrals (first attendances referred by a GP) to September 2025: A81001 12 (weighted population 8,000: 1.5 per
1,000), A81002 6 (10,000: 0.6), A81003 none (6,000: 0). The benchmark is the median weighted rate, 0.6; A81001 is
above it by 12 − 0.6 × 8 = 7.2 referrals, at the general surgery first attendance price £163: £1,173.60. The
funnel's target is the pooled rate 18 / 24,000 × 1,000 = 0.75 per 1,000.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from outturn.cli import app as cli
from web_helpers import shared_client, shared_workspace, sign_in

__all__ = ["shared_client", "shared_workspace"]


def test_benchmark_api_worked_by_hand(shared_client: TestClient) -> None:
    sign_in(shared_client, "bob")
    document = shared_client.get("/api/benchmark?measure=gp_referrals").json()
    assert document["org_code"] == "01A" and document["benchmark"]["practice_benchmark_rate"] == pytest.approx(0.6)
    rows = {row["org_code"]: row for row in document["rows"]}
    assert {code: row["activity"] for code, row in rows.items()} == {"A81001": 12, "A81002": 6, "A81003": 0}
    assert rows["A81001"]["rate_weighted"] == pytest.approx(1.5) and rows["A81001"]["rate_actual"] == pytest.approx(1.2)
    assert rows["A81001"]["opportunity_activity"] == pytest.approx(7.2)
    assert rows["A81001"]["opportunity_pence"] == 1_173_60
    assert rows["A81002"]["opportunity_activity"] == 0
    assert document["funnel"]["target"] == pytest.approx(0.75)


def test_the_funnel_is_the_funnel_command_on_the_same_counts(shared_client: TestClient, tmp_path: Path) -> None:
    """The API's funnel against ``outturn funnel --type rate --multiplier 1000`` on the hand-written counts."""
    sign_in(shared_client, "fiona")
    points = shared_client.get("/api/benchmark?measure=gp_referrals").json()["funnel"]["points"]
    counts = tmp_path / "referrals.csv"
    counts.write_text("group,numerator,denominator\nA81001,12,8000\nA81002,6,10000\nA81003,0,6000\n")
    result = CliRunner().invoke(
        cli, ["funnel", "--input", str(counts), "--type", "rate", "--multiplier", "1000", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    expected = {point["group"]: point for point in json.loads(result.stdout)["points"]}
    assert {point["group"] for point in points} == set(expected)
    for point in points:
        mine = expected[point["group"]]
        assert point["value"] == pytest.approx(mine["value"])
        assert (point["lower_998"], point["upper_998"]) == pytest.approx((mine["lower_998"], mine["upper_998"]))


def test_benchmark_page_draws_the_funnel_and_the_table(shared_client: TestClient) -> None:
    sign_in(shared_client, "bob")
    html = shared_client.get("/benchmark?measure=gp_referrals").text
    assert '<div class="app-chart" id="funnel"><svg' in html and 'id="funnel-points"' in html
    assert 'id="benchmark-rate">0.60<' in html
    assert "£1,173.60" in html and '<option value="emergency_admissions">' in html
    # another measure: 72 emergency admissions, all A81001's (9.0 per 1,000 weighted)
    assert ">9.00<" in shared_client.get("/benchmark?measure=emergency_admissions").text


def test_unknown_measure_is_a_clear_400(shared_client: TestClient) -> None:
    sign_in(shared_client, "bob")
    response = shared_client.get("/api/benchmark?measure=nonsense")
    assert response.status_code == 400 and "gp_referrals" in response.json()["error"]


def test_a_practice_page_shows_its_measures_against_the_benchmark(shared_client: TestClient) -> None:
    sign_in(shared_client, "pat")  # A81001's own user
    measures = {row["measure"]: row for row in shared_client.get("/api/practices/A81001").json()["measures"]}
    referrals = measures["gp_referrals"]
    assert (referrals["activity"], referrals["rank_weighted"], referrals["practices"]) == (12, 1, 3)
    assert referrals["rate_weighted"] == pytest.approx(1.5) and referrals["benchmark_rate"] == pytest.approx(0.6)
    assert referrals["above_benchmark"] and referrals["opportunity_pence"] == 1_173_60
    assert measures["emergency_admissions"]["activity"] == 72
    assert "outpatient_follow_up" in measures  # A81002's follow-ups: A81001 has none but the measure is shown
    html = shared_client.get("/practices/A81001").text
    assert 'id="practice-measures"' in html and "7.2 first outpatient attendances referred by a GP (£1,173.60)" in html
    assert "Hill Practice" not in html and "A81002" not in html  # never another practice's figures


@pytest.mark.parametrize("path", ["/benchmark", "/api/benchmark", "/api/benchmark?org=P1", "/benchmark?org=A81001"])
def test_a_practice_user_is_refused_the_comparison_of_every_practice(shared_client: TestClient, path: str) -> None:
    sign_in(shared_client, "pat")
    response = shared_client.get(path)
    assert response.status_code == 403 and "Hill Practice" not in response.text


def test_a_practice_user_is_refused_another_practices_measures(shared_client: TestClient) -> None:
    sign_in(shared_client, "pat")
    assert shared_client.get("/api/practices/A81002").status_code == 403
    assert shared_client.get("/practices/A81002").status_code == 403
