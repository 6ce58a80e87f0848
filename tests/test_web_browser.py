"""The web application in a real browser: Playwright driving Debian's chromium (never `playwright install`).

Flows: sign in, read the overview, edit a scheme, meet a conflict, upload a bad file and read its problems, be
refused another practice's page — each at desktop width (1280px) and phone width (375px), with screenshots
saved under test-artifacts/web/. Skips, saying why, when chromium or the playwright package is missing.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from outturn.domain.periods import FinancialYear
from outturn.services import planning, savings
from outturn.services.savings import SchemeChanges
from outturn.services.workspace import Workspace
from outturn.web import WebConfig, create_app
from web_helpers import PASSWORDS, PLAN_ASSUMPTIONS, add_contracts, add_populations, add_prescribing, build_workspace

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "web"
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 800}}

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip: .[dev])")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (make system-packages)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Workspace]]:
    """The application on a loopback port, served by uvicorn in a thread."""
    workspace = build_workspace(tmp_path_factory.mktemp("browser"))
    add_contracts(workspace)
    add_populations(workspace)
    add_prescribing(workspace)
    (workspace.path / "assumptions.csv").write_text(PLAN_ASSUMPTIONS, encoding="utf-8")
    planning.import_plan_assumptions(workspace, workspace.path / "assumptions.csv")
    with serving(workspace) as url:
        yield url, workspace
    workspace.close()


@contextmanager
def serving(workspace: Workspace) -> Iterator[str]:
    """``workspace``'s application on a loopback port, served by uvicorn in a thread: its address."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(workspace.settings, WebConfig(stamp_seconds=0.0)), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(params=list(WIDTHS))
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=WIDTHS[request.param])
    opened = context.new_page()
    opened.width_name = request.param
    opened.console_errors = []
    opened.on("console", lambda message: message.type == "error" and opened.console_errors.append(message.text))
    yield opened
    context.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{page.width_name}.png"), full_page=True)


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORDS[username])
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def _fits(page: Any) -> None:
    """Usable at this width: the page itself never scrolls sideways (wide tables scroll inside their box)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"page is {overflow}px wider than the {page.width_name} viewport"


def test_sign_in_and_read_the_overview(page: Any, served: tuple[str, Workspace]) -> None:
    base, _ = served
    page.goto(base)
    assert page.url.startswith(f"{base}/login")
    _shot(page, "login")
    _sign_in(page, base, "bob")
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator("#forecast-surplus").inner_text() == "£200k deficit"  # in £000 until £m is chosen
    assert page.locator("#gap").inner_text() == "£700k"
    # the NHS.UK stylesheet and script are served by outturn itself and applied
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.nhsuk-header')).backgroundColor") == "rgb(0, 94, 184)"
    )
    assert page.evaluate("document.body.classList.contains('js-enabled')")
    assert page.evaluate("typeof htmx") == "object"
    _fits(page)
    _shot(page, "overview")
    assert page.console_errors == []


def test_edit_a_scheme_then_meet_a_conflict(page: Any, served: tuple[str, Workspace]) -> None:
    base, workspace = served
    _sign_in(page, base, "fiona")
    page.goto(f"{base}/savings")
    _fits(page)
    _shot(page, "savings-register")
    reference = {"desktop": "S1", "phone": "S2"}[page.width_name]  # one scheme per width: the server is shared
    page.click(f"text={reference}")
    page.wait_for_load_state("networkidle")
    version = int(page.locator("#scheme-version").inner_text())
    page.fill("#forecast_M10", "£5k")
    page.select_option("#rag_override", "amber")
    page.fill("#rag_override_reason", "contract variation pending")
    page.click("#save-scheme")
    page.wait_for_url(f"**/savings/2025/{reference}?saved=1")
    assert page.locator("#scheme-version").inner_text() == str(version + 1)
    assert page.locator("#scheme-rag").inner_text() == "amber"
    _fits(page)
    _shot(page, "scheme-saved")
    # someone else saves while this page is open; this page's save then shows both versions
    savings.update_scheme(
        workspace, FinancialYear(2025), reference, version + 1, SchemeChanges(forecast={11: 3_000_00}), "someone"
    )
    page.fill("#forecast_M11", "£4k")
    page.click("#save-scheme")
    page.wait_for_selector("#conflict")
    assert "Someone else saved this scheme first" in page.locator("#conflict").inner_text()
    cells = page.locator("#conflict-table tbody tr").first.locator("td").all_inner_texts()
    assert cells == ["£4,000.00", "£3,000.00"]
    _fits(page)
    _shot(page, "scheme-conflict")
    assert savings.show_scheme(workspace, FinancialYear(2025), reference)[0].forecast[10] == 3_000_00


def test_upload_a_bad_file_and_read_its_problems(page: Any, served: tuple[str, Workspace], tmp_path: Path) -> None:
    base, _ = served
    bad = tmp_path / "november.csv"
    bad.write_text("org_code,year,month,category,budget,actual\n01A,2025/26,M14,acute,1000,lots\n")
    _sign_in(page, base, "fiona")
    page.goto(f"{base}/imports")
    page.set_input_files("#file", str(bad))
    page.click("#upload")
    page.wait_for_selector("#import-problems")
    assert "Nothing from this file was stored" in page.locator("#import-problems").inner_text()
    reasons = page.locator("#problems tbody tr").all_inner_texts()
    assert any("month" in row for row in reasons) and any("actual" in row for row in reasons)
    _fits(page)
    _shot(page, "import-problems")


def test_a_practice_user_is_refused_another_practice(page: Any, served: tuple[str, Workspace]) -> None:
    base, _ = served
    _sign_in(page, base, "pat")
    assert page.url == f"{base}/practices/A81001"
    assert page.locator("#practice-name").inner_text() == "Riverside Surgery"
    _shot(page, "own-practice")
    response = page.goto(f"{base}/practices/A81002")
    assert response.status == 403
    assert "Hill Practice" not in page.content()
    _fits(page)
    _shot(page, "other-practice-refused")


NEW_PAGES = {
    "contracts": ("/contracts", "Provider contracts"),
    "contract-statement": ("/contracts/RXX", "Test Hospitals"),
    "benchmark": ("/benchmark?measure=gp_referrals", "Practice benchmarking"),
    "prescribing": ("/prescribing", "Prescribing"),
    "scenarios": ("/scenarios", "Recovery scenarios"),
    "close": ("/close", "Month-end close"),
    "plan": ("/plan", "Financial plan: the savings requirement"),
}


def test_the_newer_pages_fit(page: Any, served: tuple[str, Workspace]) -> None:
    """Each new page at both widths: the menu and the page never scroll sideways (wide tables scroll in place)."""
    base, _ = served
    _sign_in(page, base, "bob")
    for name, (path, heading) in NEW_PAGES.items():
        page.goto(f"{base}{path}")
        assert page.locator("h1").inner_text() == heading, name
        _fits(page)
        _shot(page, name)
        if name == "benchmark":
            assert page.locator("#funnel svg").count() == 1
    assert page.console_errors == []


def test_run_a_scenario(page: Any, served: tuple[str, Workspace]) -> None:
    base, workspace = served
    (workspace.path / "scenarios").mkdir(exist_ok=True)
    lever = 'type = "vacancy_control"\nmonthly_saving = "£10k"'
    (workspace.path / "scenarios" / "vacancies.toml").write_text(f'name = "Vacancies"\n\n[[levers]]\n{lever}\n')
    _sign_in(page, base, "fiona")
    page.goto(f"{base}/scenarios")
    page.select_option("#name", "scenarios/vacancies.toml")
    page.click("#run-scenario")
    page.wait_for_selector("#scenario-result")
    assert page.locator("#scenario-outturn").inner_text() == "£13,140,000.00"  # £13.2m less 6 × £10k
    _fits(page)
    _shot(page, "scenario-result")


def test_the_api_documentation_renders_under_the_content_security_policy(
    page: Any, served: tuple[str, Workspace]
) -> None:
    """/docs and /redoc draw the API from the application's own copies of Swagger UI and ReDoc (blank before:
    FastAPI's pages load them from a CDN and start Swagger UI with an inline script the CSP refuses)."""
    base, _ = served
    page.goto(f"{base}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=30_000)
    assert "/api/session" in page.locator(".opblock-summary-path").all_inner_texts()
    _shot(page, "api-docs")
    page.goto(f"{base}/redoc")
    page.wait_for_selector(".api-content h1", timeout=30_000)
    assert page.locator(".api-content h1").first.inner_text().startswith("outturn")
    assert page.get_by_text("/api/session").count() >= 1
    _shot(page, "api-redoc")
    assert page.console_errors == []


# Every column of these tables in view at 1280px: the table scrolls nowhere (its box's scrollWidth is at most its
# clientWidth) and its right edge and its last heading's are inside the window.
WIDE_TABLES = {
    "position": ("/position", "#categories"),
    "savings-register": ("/savings", "#schemes"),
    "contracts": ("/contracts", "#contracts"),
    "prescribing": ("/prescribing", "#prescribing-measures"),
    "plan": ("/plan", "#side-by-side"),
}
TABLE_FIT = """(selector) => {
  const table = document.querySelector(selector);
  const box = table.closest('.app-table-scroll') || table;
  const headings = Array.from(table.tHead.rows[0].cells).map((cell) => cell.getBoundingClientRect().right);
  return {scrollWidth: box.scrollWidth, clientWidth: box.clientWidth, right: table.getBoundingClientRect().right,
          lastHeading: Math.max(...headings), columns: headings.length};
}"""


def test_every_column_of_the_wide_tables_shows_at_1280px(page: Any, served: tuple[str, Workspace]) -> None:
    if page.width_name != "desktop":
        pytest.skip("at phone width a wide table scrolls inside its box (test_the_newer_pages_fit)")
    base, _ = served
    _sign_in(page, base, "bob")
    for name, (path, selector) in WIDE_TABLES.items():
        page.goto(f"{base}{path}")
        fit = page.evaluate(TABLE_FIT, selector)
        assert fit["scrollWidth"] <= fit["clientWidth"], (name, fit)
        assert fit["right"] <= 1280 and fit["lastHeading"] <= 1280, (name, fit)
        _fits(page)
        _shot(page, f"columns-{name}")
    page.goto(f"{base}/position")
    page.click("#units-millions")
    page.wait_for_load_state("networkidle")
    assert page.url == f"{base}/position"  # back to the page it was on
    cells = page.locator("#categories tbody tr").last.locator("td").all_inner_texts()
    assert cells[4] == "£13.2m"  # the forecast outturn: £6.6m to date and £1.1m a month for six months
    fit = page.evaluate(TABLE_FIT, "#categories")
    assert fit["scrollWidth"] <= fit["clientWidth"] and fit["right"] <= 1280, fit
    _shot(page, "columns-position-millions")
    page.click("#units-thousands")
    page.wait_for_load_state("networkidle")
    assert page.console_errors == []


def _column(page: Any, selector: str, index: int) -> list[str]:
    rows = page.locator(f"{selector} tbody tr:visible")
    return [row.locator("td").nth(index).inner_text() for row in rows.all()]


def test_a_table_sorts_and_filters_in_the_browser(page: Any, served: tuple[str, Workspace]) -> None:
    base, _ = served
    _sign_in(page, base, "bob")
    page.goto(f"{base}/practices")
    page.locator("#practices thead th").nth(3).locator("button").click()  # list size, ascending
    sizes = [int(text.replace(",", "")) for text in _column(page, "#practices", 3)]
    assert sizes == sorted(sizes) and len(sizes) == 3
    page.locator("#practices thead th").nth(3).locator("button").click()  # descending
    assert [int(text.replace(",", "")) for text in _column(page, "#practices", 3)] == sorted(sizes, reverse=True)
    page.locator("input[type=search][id^=table-filter]").fill("hill")
    assert _column(page, "#practices", 1) == ["Hill Practice"]
    _fits(page)
    _shot(page, "table-sorted-filtered")
    assert page.console_errors == []


def test_an_admin_adds_a_user_on_the_users_page(page: Any, served: tuple[str, Workspace]) -> None:
    base, _ = served
    _sign_in(page, base, "ada")
    assert page.locator('.nhsuk-header__navigation-link[href="/users"]').count() == 1  # in the admin's menu
    page.goto(f"{base}/users")
    assert page.locator("h1").inner_text() == "Users"
    username = f"carol-{page.width_name}"  # one account per width: the server is shared
    page.fill("#new-username", username)
    page.select_option("#new-role", "board")
    page.fill("#new-password", "a-long-board-password-9")
    page.click("#add-user-button")
    page.wait_for_selector("#users-done")
    assert page.locator(f"#account-{username} .app-role").inner_text() == "board"
    _fits(page)
    _shot(page, "users")
    assert page.console_errors == []
