"""The savings register in the browser's terms: filter, sort, edit a forecast and RAG with the version the form
was drawn at, meet a conflict when someone saved first (both versions shown, nothing stored), history."""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi.testclient import TestClient

from outturn.domain.periods import FinancialYear
from outturn.domain.savings import SchemeStatus
from outturn.reports.savings_workbook import write_savings_workbook
from outturn.services import savings
from outturn.services.savings import SchemeChanges
from outturn.services.workspace import Workspace
from web_helpers import app_client, csrf_from, scheme, sign_in, web_workspace

__all__ = ["app_client", "web_workspace"]
YEAR = FinancialYear(2025)
K = 100_000


def _references(html: str) -> list[str]:
    return re.findall(r'<td><a href="/savings/2025/[^"]+">([^<]+)</a></td>', html)


def _add_schemes(workspace: Workspace) -> None:
    """S3 (£5k a month, delivered in full) and S4 (£40k a month, nothing delivered: red)."""
    extra = [
        scheme("S3", 5_000, Decimal(1), SchemeStatus.IN_DELIVERY),
        scheme("S4", 40_000, Decimal(0), SchemeStatus.APPROVED),
    ]
    path = write_savings_workbook(workspace.path / "extra.xlsx", extra, [])
    savings.import_workbook(workspace, path, "setup")


def test_register_filters_and_sorts(app_client: TestClient, web_workspace: Workspace) -> None:
    _add_schemes(web_workspace)
    sign_in(app_client, "bob")
    assert _references(app_client.get("/savings").text) == ["S1", "S2", "S3", "S4"]
    # plans £120k, £240k, £60k, £480k
    assert _references(app_client.get("/savings?sort=plan&dir=desc").text) == ["S4", "S2", "S1", "S3"]
    assert _references(app_client.get("/savings?status=approved").text) == ["S4"]
    # red: delivered to date below 80% of plan to date (S2 at 50%, S4 at nothing); green: S1, S3 in full
    assert _references(app_client.get("/savings?rag=red").text) == ["S2", "S4"]
    assert _references(app_client.get("/savings?q=scheme%20s3").text) == ["S3"]
    page = app_client.get("/savings?rag=green").text
    assert set(_references(page)) == {"S1", "S3"}
    # the count line in the table's unit, £000 (S1 £120k + S3 £60k), whatever the figures switch says elsewhere:
    # the register has no switch
    assert "2 schemes · plan £180k · forecast £" in page and "£120k</td>" in page
    app_client.cookies.set("outturn_units", "millions")
    line = re.search(r'<p class="nhsuk-body-s" id="register-count">([^<]+)</p>', app_client.get("/savings").text)
    app_client.cookies.delete("outturn_units")
    assert line and line.group(1).startswith("4 schemes · plan £900k · forecast £") and "m " not in line.group(1)
    assert all(figure.endswith("k") for figure in re.findall(r"£[\d,]+\w?", line.group(1)))


def test_register_names_each_schemes_organisation_with_its_code_in_small_print(app_client: TestClient) -> None:
    sign_in(app_client, "bob")
    page = app_client.get("/savings").text
    # orgs.csv names 01A "NHS Test sub-ICB": the column shows the name, the code on hover and beneath it
    cells = re.findall(r"<td><span title=\"01A\">([^<]+)</span> <span class=\"app-code\">01A</span></td>", page)
    assert cells == ["NHS Test sub-ICB", "NHS Test sub-ICB"]
    # the API's rows stay as documented: the code, no display text
    scheme_row = app_client.get("/api/savings/schemes").json()["schemes"][0]
    assert scheme_row["org_code"] == "01A" and "org_name" not in scheme_row


def test_register_pages_through_many_schemes(app_client: TestClient, web_workspace: Workspace) -> None:
    sign_in(app_client, "bob")
    app_client.app.state.config = type(app_client.app.state.config)(page_size=1)
    first, second = app_client.get("/savings?page=1").text, app_client.get("/savings?page=2").text
    assert _references(first) == ["S1"] and _references(second) == ["S2"]
    assert "Page 2 of 2" in first


def _edit_form(client: TestClient, reference: str) -> dict[str, str]:
    html = client.get(f"/savings/2025/{reference}").text
    version = re.search(r'name="version" value="(\d+)"', html)
    assert version
    return {"csrf_token": csrf_from(html), "version": version.group(1), "as_at": "2025-09", "status": "in_delivery"}


def test_editing_a_forecast_and_rag_is_saved_with_history(app_client: TestClient, web_workspace: Workspace) -> None:
    sign_in(app_client, "fiona")
    form = _edit_form(app_client, "S2")
    form.update(forecast_M10="£5k", rag_override="red", rag_override_reason="provider has not signed")
    response = app_client.post("/savings/2025/S2", data=form, headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/savings/2025/S2?saved=1"
    stored, history = savings.show_scheme(web_workspace, YEAR, "S2")
    assert stored.forecast[9] == 5_000 * 100 and stored.version == 2
    # forecast: delivered £60k + M07-M12 at plan (£20k) except M10 at £5k = £60k + £105k
    assert stored.forecast_total(6) == 165 * K
    page = app_client.get("/savings/2025/S2?saved=1").text
    assert 'id="scheme-rag">red<' in page and "£165,000.00" in page
    assert [entry.who for entry in history] == ["setup", "fiona"]
    changed = re.search(r"<td>fiona</td><td>update: ([^<]*)</td><td>2</td>", page)
    assert changed and set(changed.group(1).split(", ")) == {"forecast", "rag override", "rag override reason"}


def test_a_save_based_on_an_older_version_shows_both_and_stores_nothing(
    app_client: TestClient, web_workspace: Workspace
) -> None:
    sign_in(app_client, "fiona")
    form = _edit_form(app_client, "S1")  # drawn at version 1
    # meanwhile someone else saves M11 = £7k
    savings.update_scheme(web_workspace, YEAR, "S1", 1, SchemeChanges(forecast={11: 7_000 * 100}), "someone")
    form.update(forecast_M11="£9k")
    response = app_client.post("/savings/2025/S1", data=form, headers={"HX-Request": "true"})
    assert response.status_code == 409
    assert "Someone else saved this scheme first" in response.text and "someone" in response.text
    rows = re.findall(
        r'<th scope="row">([^<]+)</th><td class="app-changed">([^<]+)</td><td>([^<]+)</td>', response.text
    )
    assert rows == [("Forecast M11", "£9,000.00", "£7,000.00")]
    stored, _ = savings.show_scheme(web_workspace, YEAR, "S1")
    assert stored.version == 2 and stored.forecast[10] == 7_000 * 100  # theirs stands
    # the form now carries version 2: saving again puts mine over theirs
    again = dict(form, version=re.search(r'name="version" value="(\d+)"', response.text).group(1))  # type: ignore[union-attr]
    assert again["version"] == "2"
    assert app_client.post("/savings/2025/S1", data=again, follow_redirects=False).status_code == 303
    assert savings.show_scheme(web_workspace, YEAR, "S1")[0].forecast[10] == 9_000 * 100


def test_bad_amounts_are_listed_and_nothing_is_saved(app_client: TestClient, web_workspace: Workspace) -> None:
    sign_in(app_client, "fiona")
    form = _edit_form(app_client, "S1")
    form.update(forecast_M08="lots", rag_override="green")
    response = app_client.post("/savings/2025/S1", data=form, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "forecast M08" in response.text and "rag override reason" in response.text
    assert savings.show_scheme(web_workspace, YEAR, "S1")[0].version == 1


def test_the_board_reads_but_cannot_edit(app_client: TestClient, web_workspace: Workspace) -> None:
    sign_in(app_client, "bob")
    html = app_client.get("/savings/2025/S1").text
    assert 'id="save-scheme"' not in html
    form = {"csrf_token": csrf_from(html), "version": "1", "forecast_M08": "£1k"}
    assert app_client.post("/savings/2025/S1", data=form).status_code == 403
    assert savings.show_scheme(web_workspace, YEAR, "S1")[0].version == 1


def test_unknown_scheme_is_404(app_client: TestClient) -> None:
    sign_in(app_client, "bob")
    assert app_client.get("/savings/2025/NOPE").status_code == 404


def test_a_negative_forecast_with_no_reason_is_refused_beside_its_field(
    app_client: TestClient, web_workspace: Workspace
) -> None:
    sign_in(app_client, "fiona")
    form = _edit_form(app_client, "S2")
    form.update(forecast_M10="-£50m")
    response = app_client.post("/savings/2025/S2", data=form, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert 'href="#forecast_M10">forecast M10: a negative saving of £50,000,000.00 needs a reason' in response.text
    assert savings.show_scheme(web_workspace, YEAR, "S2")[0].version == 1


def test_a_form_claiming_an_earlier_month_cannot_overwrite_a_past_forecast(
    app_client: TestClient, web_workspace: Workspace
) -> None:
    sign_in(app_client, "fiona")
    form = _edit_form(app_client, "S2")
    form.update(as_at="2025-04", forecast_M05="£1")  # the workspace is at 2025-09 (M06): M05 is past
    response = app_client.post("/savings/2025/S2", data=form, headers={"HX-Request": "true"})
    assert response.status_code == 422 and "forecast M05: M05 is past" in response.text
    assert savings.show_scheme(web_workspace, YEAR, "S2")[0].version == 1


def test_an_edit_renders_again_only_the_edited_schemes_row(app_client: TestClient) -> None:
    """S2 plans £20k a month and delivered £10k a month to M06: forecast £60k + 6 × £20k = £180k; M10 set to £5k
    makes it £60k + 5 × £20k + £5k = £165k. S1, unchanged, keeps the row (and its rendered HTML) it had: the rows
    kept hold S1 once and S2 twice (before and after the edit)."""
    csrf = sign_in(app_client, "fiona")
    before = {row["reference"]: row for row in app_client.get("/api/savings/schemes").json()["schemes"]}
    assert before["S2"]["forecast_total_pence"] == 180 * K
    version = app_client.get("/api/savings/schemes/2025/S2").json()["version"]
    body = {"version": version, "forecast_pence": {"10": 5 * K}}
    assert app_client.post("/api/savings/schemes/2025/S2", json=body, headers={"X-CSRF-Token": csrf}).is_success
    after = {row["reference"]: row for row in app_client.get("/api/savings/schemes").json()["schemes"]}
    assert after["S2"]["forecast_total_pence"] == 165 * K and after["S1"] == before["S1"]
    assert "£165k" in app_client.get("/savings?q=S2").text
    kept = app_client.app.state.register_rows  # type: ignore[attr-defined]
    assert sorted(scheme.reference for scheme, _evidence, _month, _link, _org_name in kept) == ["S1", "S2", "S2"]
