"""Figures in £000 or £m by a switch (remembered by a cookie for this browser, formatted by the server), names in
place of codes where the workspace holds them, and dates in plain English.

The workspace (tests/web_helpers.py): 01A's one ledger line has a £1m monthly budget and £1.1m actuals to M06, so
the annual budget is 12 × £1m = £12,000k (£12.0m); the forecast outturn at the run rate is 6 × £1.1m actual plus
6 × £1.1m to come = £13,200k (£13.2m); the forecast variance is £12.0m − £13.2m = (£1,200k), (£1.2m).
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient

from outturn.domain.periods import FinancialMonth
from outturn.services import savings
from outturn.services.names import DisplayNames
from outturn.services.workspace import Workspace
from outturn.web.templating import build_templates, plain_when
from web_helpers import app_client, shared_client, shared_workspace, sign_in, web_workspace

__all__ = ["app_client", "shared_client", "shared_workspace", "web_workspace"]


def _categories_total(html: str) -> list[str]:
    table = html.split('id="categories"')[1].split("</table>", maxsplit=1)[0]
    total_row = table.split('<th scope="row">Total</th>')[1].split("</tr>")[0]
    return re.findall(r'<td class="app-numeric">([^<]*)</td>', total_row)


def _choose(client: TestClient, token: str, units: str, back: str = "/position") -> str:
    response = client.post("/units", data={"csrf_token": token, "units": units, "back": back}, follow_redirects=False)
    assert response.status_code == 303
    location: str = response.headers["location"]
    return location


def test_the_position_in_thousands_then_in_millions(shared_client: TestClient) -> None:
    token = sign_in(shared_client, "bob")
    page = shared_client.get("/position").text
    assert 'id="units-thousands" aria-pressed="true">£000' in page
    # annual budget, YTD budget, YTD actual, YTD variance, forecast outturn, forecast variance
    assert _categories_total(page) == ["£12,000k", "£6,000k", "£6,600k", "(£600k)", "£13,200k", "(£1,200k)"]
    assert _choose(shared_client, token, "millions") == "/position"
    page = shared_client.get("/position").text
    assert _categories_total(page) == ["£12.0m", "£6.0m", "£6.6m", "(£0.6m)", "£13.2m", "(£1.2m)"]
    assert 'id="units-millions" aria-pressed="true">£m' in page
    # remembered for the browser: the next page of figures is in £m too, and the JSON API never changes
    assert shared_client.get("/api/position").json()["forecast_outturn_pence"] == 13_200_000_00
    _choose(shared_client, token, "thousands")
    assert _categories_total(shared_client.get("/position").text)[4] == "£13,200k"


def test_each_figure_is_rounded_once_from_pence_half_away_from_zero() -> None:
    """£1,250,000.00 is £1.25m: to one place, half away from zero, £1.3m (and (£1.3m) when negative); a penny
    less is £1.2m. In £000, £1,500 is £2k and £1,499.99 is £1k."""
    money = build_templates().env.from_string("{{ pence | money }}")
    assert money.render(units="millions", pence=1_250_000_00) == "£1.3m"
    assert money.render(units="millions", pence=-1_250_000_00) == "(£1.3m)"
    assert money.render(units="millions", pence=1_249_999_99) == "£1.2m"
    assert money.render(units="thousands", pence=1_500_00) == "£2k"
    assert money.render(units="thousands", pence=1_499_99) == "£1k"
    assert money.render(units="millions", pence=None) == "–"


def test_the_switch_refuses_another_unit_and_never_leaves_the_site(shared_client: TestClient) -> None:
    token = sign_in(shared_client, "bob")
    refused = shared_client.post("/units", data={"csrf_token": token, "units": "pence", "back": "/position"})
    assert refused.status_code == 400
    assert _choose(shared_client, token, "millions", back="//elsewhere.example/") == "/"
    assert _choose(shared_client, token, "millions", back="https://elsewhere.example/") == "/"
    _choose(shared_client, token, "thousands")


def test_the_switch_needs_a_session_and_its_token(shared_client: TestClient) -> None:
    assert shared_client.post("/units", data={"units": "millions"}, follow_redirects=False).status_code in (
        303,
        401,
        403,
    )


def test_contracts_name_the_commissioner_and_the_treatment_function(shared_client: TestClient) -> None:
    """The contract is with 01A, "NHS Test sub-ICB" in the organisations file; treatment function 100 is "General
    Surgery" in the fixture's tariff."""
    sign_in(shared_client, "bob")
    listing = shared_client.get("/contracts").text
    assert "<td>NHS Test sub-ICB (01A)</td>" in listing
    statement = shared_client.get("/contracts/RXX").text
    assert "Contract with NHS Test sub-ICB (01A)" in statement
    assert "<td>100 General Surgery</td>" in statement


def test_the_practice_page_says_sub_icb(shared_client: TestClient) -> None:
    sign_in(shared_client, "bob")
    page = shared_client.get("/practices/A81001").text
    assert ">sub-ICB</dt>" in page and "sub-icb" not in page and ">PCN</dt>" in page


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (datetime(2026, 12, 2, 14, 5, 33), "2 December 2026 at 14:05"),
        (date(2025, 4, 1), "1 April 2025"),
        ("2025-04-01", "1 April 2025"),
        ("2026-01-09T08:30:00", "9 January 2026 at 08:30"),
        (None, ""),
        ("not a date", "not a date"),
    ],
)
def test_dates_in_plain_english(value: datetime | date | str | None, words: str) -> None:
    assert plain_when(value) == words


def test_the_close_page_says_when_in_plain_english(web_workspace: Workspace, app_client: TestClient) -> None:
    savings.close_month(web_workspace, FinancialMonth.parse_as_at("2025-09"), "fiona")
    sign_in(app_client, "bob")
    closes = app_client.get("/close").text.split('id="closes"')[1].split("</table>")[0]
    assert re.search(r"<td>\d{1,2} [A-Z][a-z]+ 20\d\d at \d\d:\d\d</td>", closes)
    assert not re.search(r"\d{4}-\d\d-\d\dT", closes)


def test_a_name_that_holds_its_code_is_not_followed_by_it_again() -> None:
    names = DisplayNames({"10Q": "NHS Example ICB - 10Q Oxfordshire", "01A": "NHS Test sub-ICB"}, {"100": "General"})
    assert names.organisation("10Q") == "NHS Example ICB - 10Q Oxfordshire"
    assert names.organisation("01A") == "NHS Test sub-ICB (01A)"
    assert names.organisation("99Z") == "99Z" and names.organisation(None) == ""
    assert names.treatment_function("100") == "100 General" and names.treatment_function("999") == "999"


def test_a_trusts_name_in_capitals_reads_as_the_pack_writes_it() -> None:
    """The contracts pages show a provider as the board pack names it (``reports.pack.tidy_name``), not in the
    capitals of the ODS file; a name already in mixed case is left alone."""
    tidy = build_templates().env.from_string("{{ name | tidy_name }}")
    assert tidy.render(name="MILTON KEYNES UNIVERSITY HOSPITAL NHS FOUNDATION TRUST") == (
        "Milton Keynes University Hospital NHS Foundation Trust"
    )
    assert tidy.render(name="Test Hospitals") == "Test Hospitals"
    listing = (build_templates().env.loader.get_source(build_templates().env, "contracts/list.html"))[0]  # type: ignore[union-attr]
    assert 'row.provider_name or "") | tidy_name' in listing
