"""The ``/plan`` page: the bridge as a table and a waterfall, the years side by side, the requirement in £ and as
a % of allocation, every figure worked by hand (tests/web_helpers.py's ``PLAN_ASSUMPTIONS``); finance, board and
admin read it, practice and budget holder users are refused."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from commentary_helpers import PASSWORDS as COMMENTARY_PASSWORDS
from commentary_helpers import commentary_template, commentary_workspace  # noqa: F401  (fixtures)
from outturn.services import planning
from outturn.services.workspace import Workspace
from outturn.web import create_app
from web_helpers import AT_ONCE, PLAN_ASSUMPTIONS, app_client, sign_in, web_workspace  # noqa: F401  (fixtures)


def _with_plan(workspace: Workspace, folder: Path) -> Workspace:
    (folder / "assumptions.csv").write_text(PLAN_ASSUMPTIONS, encoding="utf-8")
    planning.import_plan_assumptions(workspace, folder / "assumptions.csv")
    return workspace


def _cells(html: str, table_id: str, row_label: str) -> list[str]:
    table = re.search(rf'<table[^>]*id="{re.escape(table_id)}".*?</table>', html, re.DOTALL)
    assert table, table_id
    for row in re.findall(r"<tr>(.*?)</tr>", table.group(0), re.DOTALL):
        cells = [
            re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.DOTALL)
        ]
        if cells and cells[0] == row_label:
            return cells[1:]
    raise AssertionError(f"no row {row_label!r} in {table_id}")


def test_finance_reads_the_plan_worked_by_hand(web_workspace: Workspace, tmp_path: Path) -> None:  # noqa: F811
    _with_plan(web_workspace, tmp_path)
    with TestClient(create_app(web_workspace.settings, AT_ONCE)) as client:
        sign_in(client, "fiona")
        page = client.get("/plan")
        assert page.status_code == 200, page.text
        html = page.text
    assert '<a class="nhsuk-header__navigation-link" href="/plan" aria-current="page">' in html
    assert "2026/27 savings requirement: £0.4m, 3.32% of the £13.4m allocation" in html
    assert "Over the 2 years: £0.6m" in html  # 444,750 + 143,092.50
    # the years side by side, in £000
    assert _cells(html, "side-by-side", "Savings requirement") == ["£445k", "£143k"]
    assert _cells(html, "side-by-side", "as a % of allocation") == ["3.32%", "1.04%"]
    assert _cells(html, "side-by-side", "Allocation") == ["£13,390k", "£13,792k"]
    assert _cells(html, "side-by-side", "Tariff inflation") == ["(£335k)", "(£345k)"]
    assert _cells(html, "side-by-side", "Underlying position carried forward")[0] == "£100k"
    # each year's underlying position: 2026/27's exit less its one-off items, 2027/28's brought forward
    assert _cells(html, "side-by-side", "Underlying position") == ["(£300k)", "£100k"]
    assert _cells(html, "side-by-side", "Forecast exit run rate") == ["(£200k)", ""]
    assert _cells(html, "bridge-2026-27", "Underlying position") == ["", "", "(£300k)", ""]
    # each year's bridge: the step, how it was worked out, its effect and the running position
    assert _cells(html, "bridge-2026-27", "Tariff inflation") == [
        "2.5% of the allocation (£13.4m)", "(£335k)", "(£245k)", "yes",
    ]  # fmt: skip
    assert _cells(html, "bridge-2026-27", "Control total") == ["", "(£100k)", "(£445k)", "no"]
    assert _cells(html, "bridge-2027-28", "Allocation growth") == [
        "3% of the allocation brought forward (£13.4m)", "£402k", "£502k", "yes",
    ]  # fmt: skip
    assert _cells(html, "bridge-2027-28", "Savings requirement")[0] == "1.04% of the allocation (£13.8m)"
    # a waterfall for each year, and a description shown as text, never run
    assert html.count('<figure class="app-chart" id="plan-chart-') == 2
    assert re.search(r'id="plan-chart-1"><svg', html)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; growth" in html


def test_the_figures_switch_shows_the_plan_in_millions(web_workspace: Workspace, tmp_path: Path) -> None:  # noqa: F811
    _with_plan(web_workspace, tmp_path)
    with TestClient(create_app(web_workspace.settings, AT_ONCE)) as client:
        sign_in(client, "bob")  # the board reads it too
        client.cookies.set("outturn_units", "millions")
        html = client.get("/plan").text
    assert _cells(html, "side-by-side", "Savings requirement") == ["£0.4m", "£0.1m"]


def test_without_assumptions_the_page_says_what_it_needs(app_client: TestClient) -> None:  # noqa: F811
    sign_in(app_client, "ada")
    page = app_client.get("/plan")
    assert page.status_code == 200
    assert 'id="no-plan"' in page.text and "no plan assumptions are stored" in page.text


def test_an_organisation_with_no_plan_is_not_found(web_workspace: Workspace, tmp_path: Path) -> None:  # noqa: F811
    _with_plan(web_workspace, tmp_path)
    with TestClient(create_app(web_workspace.settings, AT_ONCE)) as client:
        sign_in(client, "fiona")
        assert client.get("/plan?org=01a").status_code == 200
        assert client.get("/plan?org=P1").status_code == 404


def test_practice_users_are_refused(app_client: TestClient) -> None:  # noqa: F811
    sign_in(app_client, "pat")
    assert app_client.get("/plan").status_code == 403
    assert app_client.get("/api/savings/rollup?level=programme").status_code == 403


def test_budget_holders_are_refused(commentary_workspace: Workspace) -> None:  # noqa: F811
    with TestClient(create_app(commentary_workspace.settings, AT_ONCE)) as client:
        sign_in(client, "bob", COMMENTARY_PASSWORDS["bob"])
        assert client.get("/plan").status_code == 403


def test_the_programme_rollup_api_refuses_an_unknown_level(app_client: TestClient) -> None:  # noqa: F811
    sign_in(app_client, "fiona")
    response = app_client.get("/api/savings/rollup?level=galaxy")
    assert response.status_code in (400, 422)
    assert "programme" in response.text
