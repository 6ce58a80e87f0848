"""One sign convention for variances, stated on every surface, and negatives written one way: ``(£1.2m)``.

The convention (``outturn.domain.money.VARIANCE_CONVENTION``): variance = budget (or plan) less actual (or
forecast); positive is favourable, negative adverse (an overspend, or a contract's over-performance), and a negative
amount is shown in brackets. Checked on the web fixture (tests/web_helpers.py), worked by hand:

- Position, 01A as at M06 2025/26: one acute line, budget £1m a month, actual £1.1m a month for six months. YTD
  budget £6m less actual £6.6m = -£600k (an overspend); forecast £6.6m + 6 × £1.1m = £13.2m by every method against
  a £12m budget: forecast variance -£1.2m.
- Contract RXX × 01A: plan to date £591,540 (non-elective) + £4,890 (first attendances) = £596,430, actual £720,552:
  variance -£124,122 (over-performance, adverse); forecast £1,441,104 against an annual plan of £1,192,860:
  forecast variance -£248,244. Non-elective alone: £591,540 - £709,848 = -£118,308, shown in £000 as (£118k).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from outturn.cli import app as cli
from outturn.domain.money import VARIANCE_CONVENTION
from outturn.reports.pack import BoardPack, PackInputs, build_board_pack
from outturn.reports.pack_html import render_html
from outturn.reports.pack_xlsx import write_xlsx
from outturn.services.contracts import contract_statements
from outturn.services.position import compute_position
from outturn.services.workspace import Workspace
from web_helpers import shared_client, shared_workspace, sign_in

__all__ = ["shared_client", "shared_workspace"]
POUND = 100
K = 1_000 * POUND
# Minus written any way before a pound sign or a figure in a cell: "-£", "−£", "£-", and "-1" inside a numeric cell.
MINUS_MONEY = re.compile(r"[-−]£|£[-−]")


def _words(text: str) -> str:
    """Text with its runs of whitespace (a terminal's wrapping included) made single spaces."""
    return " ".join(text.split())


def _pack(workspace: Workspace) -> BoardPack:
    """The pack of the workspace's position and its contract with RXX (what ``/api/position`` and
    ``/api/contracts/RXX`` show)."""
    position = compute_position(workspace)
    contracts = contract_statements(workspace, "RXX", position.as_at)
    return build_board_pack(PackInputs(position=position, contracts=contracts))


def _pack_html(_client: TestClient, workspace: Workspace) -> str:
    return render_html(_pack(workspace))


def _page(path: str) -> Callable[[TestClient, Workspace], str]:
    return lambda client, _workspace: client.get(path).text


# Each surface, and what it shows for the same overspend / over-performance: always in brackets.
SURFACES = {
    "web position": (_page("/position"), ["(£600k)", "(£1,200k)"]),
    "web contracts": (_page("/contracts/RXX"), ["(£124,122.00)", "(£248,244.00)", "(£118k)"]),
    "pack html": (_pack_html, ["(£600k)", "(£1,200k)", "(£0.12m)", "(£0.25m)"]),
}


def test_the_documents_carry_an_overspend_with_the_same_sign(shared_client: TestClient) -> None:
    """The position's and the contract's variances are both budget (plan) less actual: negative when adverse."""
    sign_in(shared_client, "fiona")
    position = shared_client.get("/api/position").json()
    [acute] = position["by_category"]
    assert (acute["ytd_variance_pence"], acute["forecast_variance_pence"]) == (-600 * K, -1_200 * K)
    [contract] = shared_client.get("/api/contracts/RXX").json()
    assert contract["ytd_variance_favourable_pence"] == (591_540 + 4_890 - 720_552) * POUND
    assert contract["forecast_variance_favourable_pence"] == (1_192_860 - 1_441_104) * POUND
    assert contract["over_performance_pence"] == -contract["forecast_variance_favourable_pence"]


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_every_surface_shows_the_same_overspend_in_brackets_and_states_the_convention(
    shared_client: TestClient, shared_workspace: Workspace, surface: str
) -> None:
    sign_in(shared_client, "fiona")
    render, adverse = SURFACES[surface]
    html = render(shared_client, shared_workspace)
    for shown in adverse:
        assert shown in html, f"{surface}: {shown} missing"
        assert shown.strip("()") not in html.replace(shown, ""), f"{surface}: {shown} also shown without brackets"
    assert not MINUS_MONEY.findall(html), f"{surface} writes a negative amount with a minus sign"
    assert _words(VARIANCE_CONVENTION) in _words(html)


def _cli(workspace: Workspace, *arguments: str) -> str:
    result = CliRunner().invoke(cli, ["--workspace", str(workspace.path), *arguments], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize(
    ("arguments", "adverse"),
    [
        (("position",), "(£600k)"),  # the acute row's YTD variance
        (("contracts", "statement", "--provider", "RXX"), "(£118k)"),  # non-elective's YTD variance
    ],
)
def test_the_command_line_tables_bracket_negatives_and_state_the_convention(
    shared_workspace: Workspace, arguments: tuple[str, ...], adverse: str
) -> None:
    output = _cli(shared_workspace, *arguments)
    assert adverse in output
    assert not MINUS_MONEY.findall(output)
    assert _words(VARIANCE_CONVENTION) in _words(output)


def test_the_workbook_keeps_numbers_with_a_bracketed_format_and_states_the_convention(
    shared_client: TestClient, shared_workspace: Workspace, tmp_path: Path
) -> None:
    sign_in(shared_client, "fiona")
    path = write_xlsx(_pack(shared_workspace), tmp_path / "pack.xlsx")
    book = load_workbook(path)
    for title in ("Headline", "Position", "Contracts", "Contract lines"):
        assert book[title]["A3"].value == VARIANCE_CONVENTION, title
    sheet = book["Contracts"]
    headings = [cell.value for cell in sheet[4]]
    variance = sheet.cell(5, headings.index("YTD variance") + 1)
    # a number, not text: -£124,122 in pounds, formatted so Excel shows (£124,122.00)
    assert variance.value == pytest.approx(-124_122) and isinstance(variance.value, int | float)
    assert variance.number_format.split(";")[1].endswith("(£#,##0.00)")
    assert sheet.cell(5, headings.index("ytd_variance_favourable_pence") + 1).value == -124_122 * POUND
    money_formats = {
        cell.number_format
        for row in book["Position"].iter_rows(min_row=5)
        for cell in row
        if isinstance(cell.value, float | int) and "£" in cell.number_format
    }
    assert money_formats and all("(£#,##0.00)" in found for found in money_formats)
