"""The monthly financial return (``outturn return``): read from the board pack, it reconciles to the pack figure by
figure; its own derived figures (the underlying position, the exit run rate, the savings by RAG, the net risk) are
checked against hand calculation or a plain SQL/Python reference; bad input is refused with the service's words.

The references are independent of the return's builder: the pack's figures are read back out of the pack's own
workbook (``test_pack.tables``), the exit run rate is summed in SQL straight from the store's ledger table, and the
small workspace's figures (tests/web_helpers.py: £13m allocation, £0.5m control total, one line budgeted at £1m a
month and costing £1.1m a month to M06) are worked by hand.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.errors import BadInput
from outturn.reports.return_xlsx import write_return_xlsx
from outturn.services.demo import DemoResult
from outturn.services.monthly_return import ReturnRequest, monthly_return, return_of_pack
from outturn.services.position import PositionError
from outturn.services.workspace import Workspace
from test_pack import pence_columns, tables
from web_helpers import build_workspace, web_workspace

__all__ = ["web_workspace"]
BUILT = datetime(2025, 12, 3, 9, 30, tzinfo=UTC)
MILLION = 100_000_000  # pence
TABLE_KEYS = ("summary", "expenditure", "underlying", "savings", "risks")


@pytest.fixture(scope="module")
def demo_return(small_demo: DemoResult, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """The return of the session demo's board pack (tests/conftest.py's ``small_demo``), and its workbook."""
    assert small_demo.pack is not None
    document = return_of_pack(small_demo.pack, BUILT)
    return document, write_return_xlsx(document, tmp_path_factory.mktemp("return") / "return.xlsx")


def _by(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in rows}


def test_every_figure_of_the_return_is_the_board_packs(
    small_demo: DemoResult, demo_return: tuple[dict[str, Any], Path]
) -> None:
    document, _path = demo_return
    assert small_demo.pack_files is not None and small_demo.pack_files.xlsx is not None
    pack_xlsx = small_demo.pack_files.xlsx
    fields, risk, categories, deductions, _warnings = tables(pack_xlsx, "Position")
    pack_fields = {row["Field"]: row["pence"] for row in [*fields, *risk]}
    checked = 0

    # the summary: each figure is the pack's position sheet's (deductions: its deductions table summed)
    for row in document["summary"]:
        expected = sum(item["pence"] for item in deductions) if row["field"] == "deductions_pence" else None
        assert row["pence"] == (pack_fields[row["field"]] if expected is None else expected), row["field"]
        checked += 1

    # expenditure by category: each category's six figures are the pack's category row's; the total its fields
    pack_categories = _by(categories, "Category")
    for row in document["expenditure"]["rows"]:
        for key, value in row.items():
            if key.endswith("_pence"):
                assert value == pack_categories[row["category"]][key], (row["category"], key)
                checked += 1
    assert [row["category"] for row in document["expenditure"]["rows"]] == [row["Category"] for row in categories]
    for key, value in document["expenditure"]["total"].items():
        if key.endswith("_pence"):
            assert value == pack_fields[key] == sum(row[key] for row in categories)
            checked += 1

    # efficiencies: the organisation's total and each workstream are the pack's savings sheet's, RAG included
    workstreams, (total,) = tables(pack_xlsx, "Savings")
    savings = document["savings"]
    for key, value in pence_columns(savings["total"]).items():
        assert value == total[key], key
        checked += 1
    pack_workstreams = _by(workstreams, "Code")
    assert [row["code"] for row in savings["workstreams"]] == [row["Code"] for row in workstreams]
    for row in savings["workstreams"]:
        assert row["rag"] == pack_workstreams[row["code"]]["RAG"]
        for key, value in pence_columns(row).items():
            assert value == pack_workstreams[row["code"]][key], (row["code"], key)
            checked += 1

    # risks and mitigations: each register item is the pack's, and the totals the pack's position risk figures
    (register,) = tables(pack_xlsx, "Risks and mitigations")
    assert len(document["risks"]["items"]) == len(register) > 0
    for item, row in zip(document["risks"]["items"], register, strict=True):
        assert (item["description"], item["gross_pence"], item["likely_pence"]) == (
            row["Description"],
            row["value_pence"],
            row["expected_pence"],
        )
        checked += 2
    for row in document["risks"]["totals"]:
        if row["field"] != "net_risk_pence":
            assert row["pence"] == pack_fields[row["field"]], row["field"]
            checked += 1

    # the underlying position's first three figures are the pack's too
    underlying = _by(document["underlying"]["rows"], "field")
    assert underlying["forecast_surplus_pence"]["pence"] == pack_fields["forecast_surplus_pence"]
    assert underlying["non_recurrent_allocation_pence"]["pence"] == -pack_fields["non_recurrent_allocation_pence"]
    assert underlying["ytd_one_off_pence"]["pence"] == sum(row["ytd_one_off_pence"] for row in categories)
    checked += 3
    assert checked > 150, checked


def test_what_the_return_derives_is_worked_from_the_packs_figures(demo_return: tuple[dict[str, Any], Path]) -> None:
    document, _path = demo_return
    underlying = {row["field"]: row["pence"] for row in document["underlying"]["rows"]}
    summary = {row["field"]: row["pence"] for row in document["summary"]}
    assert underlying["underlying_surplus_pence"] == (
        underlying["forecast_surplus_pence"]
        + underlying["non_recurrent_allocation_pence"]
        + underlying["ytd_one_off_pence"]
    )
    assert underlying["recurrent_resource_pence"] == (
        summary["resource_pence"] + underlying["non_recurrent_allocation_pence"]
    )
    assert underlying["exit_run_rate_surplus_pence"] == (
        underlying["recurrent_resource_pence"] - underlying["exit_run_rate_pence"]
    )
    risks = {row["field"]: row["pence"] for row in document["risks"]["totals"]}
    assert risks["net_risk_pence"] == risks["risks_expected_pence"] - risks["mitigations_expected_pence"]
    # the savings by RAG: the workstreams summed by the RAG each carries, and together the workstreams' total
    savings = document["savings"]
    for rag in ("red", "amber", "green"):
        (row,) = [row for row in savings["by_rag"] if row["rag"] == rag]
        mine = [item for item in savings["workstreams"] if item["rag"] == rag]
        assert row["workstreams"] == len(mine)
        assert row["plan_pence"] == sum(item["plan_pence"] for item in mine)
        assert row["forecast_pence"] == sum(item["forecast_pence"] for item in mine)
    assert sum(row["plan_pence"] for row in savings["by_rag"]) == savings["total"]["plan_pence"]
    assert (
        savings["total"]["identified_pence"] + savings["total"]["unidentified_pence"] >= savings["total"]["plan_pence"]
    )


def test_the_exit_run_rate_is_the_last_three_months_recurring_spend_a_year(
    small_demo: DemoResult, demo_return: tuple[dict[str, Any], Path]
) -> None:
    """Summed in SQL from the store's ledger lines of the position's members: recurring = actual − one-off, M06 to
    M08 2025/26, × 12 ÷ 3 per category (12 ÷ 1, 2 or 3 months is whole, so no rounding is needed)."""
    document, _path = demo_return
    members = cli_json(small_demo.workspace, "position", "--as-at", "2025-11")["members"]
    marks = ",".join("?" * len(members))
    with sqlite3.connect(small_demo.workspace / "outturn.sqlite") as connection:
        sums = dict(
            connection.execute(
                "SELECT category, SUM(COALESCE(actual_pence, 0) - one_off_pence) FROM ledger_lines "
                f"WHERE year = 2025 AND month BETWEEN 6 AND 8 AND org_code IN ({marks}) GROUP BY category",
                members,
            ).fetchall()
        )
    by_category = _by(document["underlying"]["by_category"], "category")
    assert set(by_category) == set(sums)
    for category, recurring in sums.items():
        assert by_category[category]["exit_recurring_pence"] == recurring
        assert by_category[category]["exit_run_rate_pence"] == recurring * 12 // 3  # exact: no rounding at M08
    underlying = _by(document["underlying"]["rows"], "field")
    assert underlying["exit_run_rate_pence"]["pence"] == sum(4 * recurring for recurring in sums.values())
    assert document["underlying"]["exit_window_months"] == 3


def test_the_workbook_is_the_json_in_thousands_and_in_pence(demo_return: tuple[dict[str, Any], Path]) -> None:
    document, path = demo_return
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == [
        "Cover",
        "Summary",
        "Expenditure",
        "Underlying position",
        "Efficiencies",
        "Risks and mitigations",
    ]
    cover = {row["Item"]: row["Value"] for row in tables(path, "Cover")[0]}
    assert cover["Organisation"] == f"{document['org_name']} ({document['org_code']})"
    assert cover["Month"].startswith("M08") and cover["Built"] == "2025-12-03T09:30:00+00:00"
    assert "surplus is positive" in cover["Sign convention"]
    (summary,) = tables(path, "Summary")
    assert [(row["Field"], row["pence"]) for row in summary] == [(r["field"], r["pence"]) for r in document["summary"]]
    for row in summary:
        assert row["£000"] * 100_000 == pytest.approx(row["pence"], abs=1e-3)  # £000 and pence agree
    (expenditure,) = tables(path, "Expenditure")
    expected = [*document["expenditure"]["rows"], document["expenditure"]["total"]]
    assert [pence_columns(row) for row in expenditure] == [pence_columns(row) for row in expected]
    assert expenditure[-1]["Category"] == "Total"
    assert (
        round(expenditure[-1]["Full year forecast"] * 100_000)
        == document["expenditure"]["total"]["forecast_outturn_pence"]
    )
    total, workstreams, rags = tables(path, "Efficiencies")
    assert pence_columns(total[0]) == pence_columns(document["savings"]["total"])
    assert [row["RAG"] for row in workstreams] == [row["rag"] for row in document["savings"]["workstreams"]]
    assert [pence_columns(row) for row in rags] == [pence_columns(row) for row in document["savings"]["by_rag"]]
    totals, items = tables(path, "Risks and mitigations")
    assert [row["pence"] for row in totals] == [row["pence"] for row in document["risks"]["totals"]]
    assert [row["gross_pence"] for row in items] == [row["gross_pence"] for row in document["risks"]["items"]]


def cli_json(workspace: Path, *arguments: str) -> Any:
    result = CliRunner().invoke(app, ["--workspace", str(workspace), *arguments, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_outturn_return_writes_the_workbook_and_prints_the_packs_return(
    small_demo: DemoResult, demo_return: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    out = tmp_path / "return.xlsx"
    printed = cli_json(small_demo.workspace, "return", "--as-at", "2025-11", "--out", str(out))
    document, _path = demo_return
    assert out.is_file() and load_workbook(out, read_only=True).sheetnames[0] == "Cover"
    for key in TABLE_KEYS:  # the command gathers its own pack of the month: the same figures
        assert printed[key] == document[key], key
    assert printed["as_at"] == "2025-11" and printed["month"] == "M08"


# --- the small workspace, worked by hand ------------------------------------------------------------------------


def test_a_return_worked_by_hand(web_workspace: Workspace) -> None:
    """01A at M06 2025/26, run rate: YTD budget £6m, actual £6.6m (variance -£0.6m); forecast £6.6m / 6 x 12 =
    £13.2m against a £12m budget (-£1.2m); resource £13m, so a £0.2m deficit against a £0.5m surplus control total
    (gap £0.7m). Exit run rate: M04-M06 £3.3m / 3 x 12 = £13.2m, so -£0.2m at the exit rate too. Risks: gross
    £0.4m + £1m + £0.3m = £1.7m, likely £0.2m + £0.1m + £0.27m = £0.57m; mitigation £0.1m, likely £0.05m; net
    £0.52m."""
    document = monthly_return(web_workspace, ReturnRequest("01A", "2025-09", "run-rate"))
    summary = {row["field"]: row["pence"] for row in document["summary"]}
    assert summary["resource_pence"] == 13 * MILLION
    assert (summary["ytd_budget_pence"], summary["ytd_actual_pence"], summary["ytd_variance_pence"]) == (
        6 * MILLION,
        66 * MILLION // 10,
        -6 * MILLION // 10,
    )
    assert summary["forecast_outturn_pence"] == 132 * MILLION // 10
    assert summary["forecast_surplus_pence"] == -2 * MILLION // 10
    assert summary["gap_to_control_total_pence"] == 7 * MILLION // 10
    (acute,) = document["expenditure"]["rows"]
    assert (acute["annual_budget_pence"], acute["forecast_variance_pence"]) == (12 * MILLION, -12 * MILLION // 10)
    underlying = {row["field"]: row["pence"] for row in document["underlying"]["rows"]}
    assert underlying["underlying_surplus_pence"] == -2 * MILLION // 10
    assert underlying["exit_run_rate_pence"] == 132 * MILLION // 10
    assert underlying["exit_run_rate_surplus_pence"] == -2 * MILLION // 10
    risks = {row["field"]: row["pence"] for row in document["risks"]["totals"]}
    assert (risks["risks_total_pence"], risks["risks_expected_pence"]) == (17 * MILLION // 10, 57 * MILLION // 100)
    assert (risks["mitigations_total_pence"], risks["mitigations_expected_pence"]) == (MILLION // 10, MILLION // 20)
    assert risks["net_risk_pence"] == 52 * MILLION // 100
    assert sorted((item["kind"], item["gross_pence"], item["likely_pence"]) for item in document["risks"]["items"]) == [
        ("mitigation", MILLION // 10, MILLION // 20),
        ("risk", 30 * MILLION // 100, 27 * MILLION // 100),
        ("risk", 40 * MILLION // 100, 20 * MILLION // 100),
        ("risk", MILLION, MILLION // 10),
    ]


def test_an_unknown_organisation_or_a_month_the_ledger_does_not_report_is_refused(
    web_workspace: Workspace, tmp_path: Path
) -> None:
    with pytest.raises(PositionError, match="unknown organisation 'XXX'"):
        monthly_return(web_workspace, ReturnRequest("XXX", "2025-09"))
    with pytest.raises(BadInput, match=r"no ledger actuals for 01A in M07 2025/26 \(October 2025\)") as refused:
        monthly_return(web_workspace, ReturnRequest("01A", "2025-10"))
    assert "--" not in str(refused.value) and "outturn" not in str(refused.value)  # no flag, no command
    with pytest.raises(PositionError, match="no financial plan for 01A"):
        monthly_return(web_workspace, ReturnRequest("01A", "2026-09"))
    out = tmp_path / "refused.xlsx"
    result = CliRunner().invoke(
        app, ["--workspace", str(web_workspace.settings.workspace), "return", "--as-at", "2025-10", "--out", str(out)]
    )
    assert result.exit_code == 2 and "no ledger actuals for 01A in M07" in result.output
    assert not out.exists()  # nothing written


def test_the_return_and_its_refusal_on_either_store(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The small workspace built on SQLite and on PostgreSQL: the same hand-worked deficit, the same refusal."""
    monkeypatch.delenv("OUTTURN_REFERENCE_DIR", raising=False)
    workspace = build_workspace(tmp_path, store_url)
    try:
        document = monthly_return(workspace, ReturnRequest("01A", "2025-09", "run-rate"))
        underlying = {row["field"]: row["pence"] for row in document["underlying"]["rows"]}
        assert underlying["underlying_surplus_pence"] == underlying["exit_run_rate_surplus_pence"] == -2 * MILLION // 10
        with pytest.raises(BadInput, match="no ledger actuals for 01A in M07"):
            monthly_return(workspace, ReturnRequest("01A", "2025-10"))
    finally:
        workspace.close()
