"""Commentary in a real browser (Playwright driving Debian's chromium, as tests/test_web_browser.py): a budget
holder signs in, sees only their own lines, writes commentary on one, and the board pack's narrative quotes it.
Screenshots at 1280px under test-artifacts/web/. Skips, saying why, when chromium or playwright is missing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from commentary_helpers import ALICE, PASSWORDS, build_commentary_workspace
from outturn.reports.pack_html import render_html
from outturn.services.pack import PackRequest, gather_pack
from outturn.services.workspace import Workspace
from test_web_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, serving, sync_api

TEXT = "Category M drug prices rose in April; volumes are on plan."


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Workspace]]:
    """The commentary workspace's application on a loopback port, served by uvicorn in a thread."""
    with pytest.MonkeyPatch.context() as environment:
        environment.delenv("OUTTURN_REFERENCE_DIR", raising=False)
        workspace = build_commentary_workspace(tmp_path_factory.mktemp("commentary-browser"))
    with serving(workspace) as url:
        yield url, workspace
    workspace.close()


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        yield context.new_page()
        context.close()
        browser.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-desktop.png"), full_page=True)


def test_a_budget_holder_writes_commentary_that_the_pack_quotes(served: tuple[str, Workspace], page: Any) -> None:
    base, workspace = served
    page.goto(f"{base}/login")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORDS["alice"])
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url == f"{base}/commentary"  # a budget holder starts at their lines
    rows = page.locator("#commentary-lines tbody > tr")
    assert rows.count() == 2  # CC300 / 6100 and CC100 / 5100: Alice's; Bob's CC200 lines are not shown
    assert "CC300 / 6100" in rows.nth(0).inner_text() and "CC100 / 5100" in rows.nth(1).inner_text()
    assert "CC200" not in page.content()
    _shot(page, "commentary-budget-holder")
    drugs = rows.nth(0)
    drugs.locator("textarea[name=text]").fill(TEXT)
    drugs.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "#line-01A-CC300-6100" in page.url
    shown = page.locator("#line-01A-CC300-6100 .app-commentary-text")
    assert shown.inner_text() == TEXT
    assert "alice" in page.locator("#line-01A-CC300-6100").inner_text()
    _shot(page, "commentary-written")
    # another holder's lines are refused
    response = page.goto(f"{base}/commentary?holder=Bob%20Mental")
    assert response is not None and response.status == 403
    pack = gather_pack(workspace, PackRequest(trials=200))
    quote = f"On Prescribing / 6100 (01A), forecast overspend £0.1m, {ALICE} (budget holder) writes: \u201c{TEXT}\u201d"
    assert quote in pack.narrative
    html = render_html(pack)
    assert TEXT in html and ALICE in html
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "commentary-pack.html").write_text(html, encoding="utf-8")
