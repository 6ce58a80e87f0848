"""The prescribing page and API against figures worked by hand from the fixture (tests/web_helpers.py).

August 2025, atorvastatin 10mg only (generic 0212000B0AAABAB and the brand Lipitor 0212000B0BBAAAB, one group of
equivalent presentations). List sizes 10,000 / 8,000 / 6,000; ASTRO-PU 20,000 / 16,000 / 15,000.
- A81001: 10 generic items, 280 tablets, NIC £28.00, actual cost £26.00. Per 1,000 patients 1.0 item and 260p;
  per 1,000 ASTRO-PU 0.5 items and 130p. Generic rate 10/10 = 100%. Price per unit 2,800 / 280 = 10p.
- A81002: 5 generic (140 tablets, £14.00) and 5 Lipitor (140 tablets, £140.00): 10 items, actual cost £13.00 +
  £130.00 = £143.00. Per 1,000 patients 1.25 items and 1,787.5p; per 1,000 ASTRO-PU 0.625 and 893.75p. Generic
  rate 5/10 = 50%. Price per unit 15,400 / 280 = 55p.
- A81003: 20 generic items, 560 tablets, NIC £112.00, actual £104.00. Per 1,000 patients 3.333 items and
  1,733.33p; per 1,000 ASTRO-PU 1.333 and 693.33p. Generic rate 100%. Price per unit 11,200 / 560 = 20p.
Target price per unit: the 10th centile of 10, 20 and 55p by linear interpolation, position 0.1 × 2 = 0.2 between
10p and 20p: 12p. Savings: A81001 2,800 − 280 × 12 < 0, none; A81002 15,400 − 280 × 12 = 12,040p (£120.40);
A81003 11,200 − 560 × 12 = 4,480p (£44.80); total £165.20.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from web_helpers import shared_client, shared_workspace, sign_in

__all__ = ["shared_client", "shared_workspace"]


def test_measures_by_practice_worked_by_hand(shared_client: TestClient) -> None:
    sign_in(shared_client, "bob")
    document = shared_client.get("/api/prescribing").json()
    assert document["month"] == "2025-08" and document["rate_base"] == 1_000
    rows = {row["practice"]: row for row in document["practices"]}
    assert sorted(rows) == ["A81001", "A81002", "A81003"]
    expected = {
        # items, actual cost, items and pence per 1,000 patients, per 1,000 ASTRO-PU, generic rate
        "A81001": (10, 2_600, 1.0, 260.0, 0.5, 130.0, 1.0),
        "A81002": (10, 14_300, 1.25, 1_787.5, 0.625, 893.75, 0.5),
        "A81003": (20, 10_400, 20_000 / 6_000, 10_400_000 / 6_000, 20 / 15, 10_400_000 / 15_000, 1.0),
    }
    for practice, (items, cost, per_patients, cost_patients, per_astro, cost_astro, generic) in expected.items():
        row = rows[practice]
        assert (row["items"], row["actual_cost_pence"]) == (items, cost), practice
        assert row["items_per_1000_patients"] == pytest.approx(per_patients)
        assert row["actual_cost_pence_per_1000_patients"] == pytest.approx(cost_patients)
        assert row["items_per_1000_astro_pu"] == pytest.approx(per_astro)
        assert row["actual_cost_pence_per_1000_astro_pu"] == pytest.approx(cost_astro)
        assert row["generic_rate"] == pytest.approx(generic)


def test_price_per_unit_savings_worked_by_hand(shared_client: TestClient) -> None:
    sign_in(shared_client, "fiona")
    savings = shared_client.get("/api/prescribing").json()["savings"]
    found = [(row["org"], row["savings_pence"]) for row in savings["savings"]]
    assert found == [("A81002", 12_040), ("A81003", 4_480)]
    assert savings["total_savings_pence"] == 16_520
    for row in savings["savings"]:
        assert row["target_price_per_unit_pence"] == pytest.approx(12.0)
        assert row["name"] == "Atorvastatin 10mg tablets"
    html = shared_client.get("/prescribing").text
    assert 'id="ppu-total">£165.20<' in html
    assert "£120.40" in html and "£44.80" in html and "50.0%" in html and "HILL PRACTICE" in html


def test_a_practice_user_sees_its_own_practice_only(shared_client: TestClient) -> None:
    """Decision (README): a practice user sees its own practice's measures and savings, never another's."""
    sign_in(shared_client, "pat")
    document = shared_client.get("/api/prescribing").json()
    assert [row["practice"] for row in document["practices"]] == ["A81001"]
    assert document["savings"]["savings"] == [] and document["savings"]["total_savings_pence"] == 0
    html = shared_client.get("/prescribing").text
    assert 'id="rx-A81001"' in html
    for other in ("A81002", "A81003", "HILL PRACTICE", "MEADOW PRACTICE", "£120.40"):
        assert other not in html


def test_the_page_says_its_month_is_the_latest_held_which_lags_the_ledger(shared_client: TestClient) -> None:
    """The workspace is as at September 2025 and holds August's prescribing: the page names the month in words and,
    when none was asked for, says it is the latest held (prescribing is published months after)."""
    sign_in(shared_client, "bob")
    latest = shared_client.get("/prescribing").text
    caption = latest.split('id="prescribing-month">')[1].split("<")[0]
    assert caption.startswith("August 2025 · the latest month of prescribing held")
    asked = shared_client.get("/prescribing?month=2025-08").text
    assert asked.split('id="prescribing-month">')[1].split("<")[0] == "August 2025"


def test_a_month_not_held_is_a_bad_request(shared_client: TestClient) -> None:
    sign_in(shared_client, "bob")
    response = shared_client.get("/api/prescribing?month=2025-07")
    assert response.status_code == 400 and "no prescribing for 2025-07" in response.json()["error"]
    assert shared_client.get("/prescribing?month=2025-07").status_code == 400


def test_signed_out_is_refused(shared_client: TestClient) -> None:
    assert shared_client.get("/api/prescribing").status_code == 401
