"""The savings plan as a system of record: import, edit with conflicts, audit trail, month-end close, roll-up.

Runs on SQLite and on PostgreSQL (the ``store_url`` fixture; PostgreSQL when ``make test`` has started one).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.problems import ProblemsError
from outturn.domain.savings import Rag, SavingsTarget, Scheme, SchemeStatus, Workstream
from outturn.domain.savings_rollup import RollupLevel
from outturn.reports.savings_workbook import write_savings_workbook
from outturn.services import savings
from outturn.services.imports import import_organisations
from outturn.services.workspace import Workspace, init_workspace
from outturn.store.savings_repository import VersionConflict

YEAR = FinancialYear(2025)
M06 = FinancialMonth(YEAR, 6)
M07 = FinancialMonth(YEAR, 7)
ORGANISATIONS = """code,name,kind,parent_code
R1,Region,region,
I1,Cluster,icb,R1
A1,PCT A,pct,I1
B1,PCT B,pct,I1
"""


def scheme(
    reference: str,
    org: str,
    monthly: int,
    *,
    delivered_to: int = 0,
    ratio: Decimal = Decimal(1),
    confidence: str = "0.9",
    workstream: Workstream = Workstream.PRESCRIBING,
) -> Scheme:
    delivered = tuple(int(monthly * ratio) if month <= delivered_to else None for month in range(1, 13))
    return Scheme(
        reference,
        f"Scheme {reference}",
        org,
        YEAR,
        workstream,
        planned=(monthly,) * 12,
        delivered=delivered,
        status=SchemeStatus.IN_DELIVERY,
        confidence=Decimal(confidence),
    )


@pytest.fixture
def workspace(tmp_path: Path, store_url: str) -> Workspace:
    opened = init_workspace(tmp_path / "ws", reference_dir=tmp_path, store_url=store_url, default_as_at="2025-09")
    (tmp_path / "orgs.csv").write_text(ORGANISATIONS)
    import_organisations(opened, tmp_path / "orgs.csv")
    workbook = write_savings_workbook(
        tmp_path / "plan.xlsx",
        [
            scheme("S1", "A1", 100_000_00, delivered_to=5, ratio=Decimal("0.5")),
            scheme("S2", "B1", 50_000_00, delivered_to=5, workstream=Workstream.ELECTIVE),
        ],
        [SavingsTarget("A1", YEAR, 1_500_000_00), SavingsTarget("B1", YEAR, 600_000_00)],
    )
    savings.import_workbook(opened, workbook, "alice")
    return opened


def test_import_then_rollup_by_hand(workspace: Workspace) -> None:
    rows = {row.code: row.figures for row in savings.savings_rollup(workspace, M06, RollupLevel.ORGANISATION)}
    # S1: £100k a month planned (£1.2m), £50k a month delivered M01-M05, nothing reported for M06,
    # forecast as planned M07-M12 (£600k): forecast £850k, shortfall £350k.
    assert rows["A1"].plan_pence == 1_200_000_00
    assert rows["A1"].delivered_pence == 250_000_00
    assert rows["A1"].forecast_pence == 850_000_00
    assert rows["A1"].shortfall_pence == 350_000_00
    assert rows["A1"].risk_adjusted_pence == 250_000_00 + 540_000_00  # 90% of the £600k still to come
    assert rows["A1"].unidentified_pence == 300_000_00  # target £1.5m, £1.2m identified
    national = savings.savings_rollup(workspace, M06, RollupLevel.NATIONAL)[0].figures
    assert national.plan_pence == 1_200_000_00 + 600_000_00
    assert national.target_pence == 2_100_000_00


def test_second_editor_gets_a_conflict_and_the_first_edit_stands(workspace: Workspace) -> None:
    first = savings.update_scheme(workspace, YEAR, "S1", 1, savings.SchemeChanges(confidence=Decimal("0.6")), "alice")
    assert first.version == 2
    with pytest.raises(VersionConflict) as conflict:
        savings.update_scheme(workspace, YEAR, "S1", 1, savings.SchemeChanges(confidence=Decimal("0.99")), "bob")
    assert conflict.value.current.confidence == Decimal("0.6")
    assert conflict.value.current.version == 2
    stored, _history = savings.show_scheme(workspace, YEAR, "S1")
    assert stored.confidence == Decimal("0.6")


def test_every_change_is_in_the_audit_trail_with_before_and_after(workspace: Workspace) -> None:
    savings.update_scheme(workspace, YEAR, "S2", 1, savings.SchemeChanges(forecast={9: 0}), "carol")
    _scheme, history = savings.show_scheme(workspace, YEAR, "S2")
    assert [(entry.who, entry.action) for entry in history] == [("alice", "import"), ("carol", "update")]
    change = history[-1]
    assert change.before is not None and change.after is not None
    assert change.before["forecast_pence"][8] is None
    assert change.after["forecast_pence"][8] == 0
    assert change.after["version"] == 2


def test_history_cannot_be_edited(workspace: Workspace) -> None:
    for statement in ("UPDATE audit_log SET who = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), workspace.store.transaction() as session:
            session.execute(text(statement))
    with workspace.store.reading() as session:
        assert session.execute(text("SELECT COUNT(*) FROM audit_log WHERE who = 'mallory'")).scalar() == 0


def test_close_month_freezes_and_movement_explains_each_scheme(workspace: Workspace) -> None:
    savings.close_month(workspace, M06, "alice")
    savings.update_scheme(workspace, YEAR, "S1", 1, savings.SchemeChanges(status=SchemeStatus.STOPPED), "alice")
    savings.update_scheme(workspace, YEAR, "S2", 1, savings.SchemeChanges(delivered={6: 50_000_00}), "bob")
    savings.close_month(workspace, M07, "alice")
    with pytest.raises(savings.SavingsError, match="already closed"):
        savings.close_month(workspace, M06, "alice")
    moves = {item.reference: item for item in savings.movement(workspace, M06, M07)}
    # S1 stopped: at M06 it forecast £850k (M01-M05 delivered £250k + M07-M12 as planned £600k); at M07 the
    # forecast is what was delivered: £250k.
    assert moves["S1"].forecast_change_pence == -600_000_00
    assert "stopped" in moves["S1"].explanation
    # S2 delivered its M06 £50k (at M06 nothing was reported for M06, so it was forecast as planned for M07+).
    assert moves["S2"].delivered_change_pence == 50_000_00
    # S2's forecast is unchanged: M06 moved from forecast (as planned) to delivered, and M07 is not yet reported.
    assert moves["S2"].forecast_change_pence == 0
    # The closes' totals by hand: M06 £850k + £550k; M07 £250k + £550k. The movements explain all of it.
    assert sum(item.forecast_change_pence for item in moves.values()) == (250_000_00 + 550_000_00) - (
        850_000_00 + 550_000_00
    )
    for statement in ("UPDATE savings_close_lines SET forecast_pence = 0", "DELETE FROM savings_closes"):
        with pytest.raises(DBAPIError, match="append-only"), workspace.store.transaction() as session:
            session.execute(text(statement))


def test_reimporting_a_stale_export_is_refused_and_changes_nothing(workspace: Workspace, tmp_path: Path) -> None:
    savings.export_workbook(workspace, tmp_path / "export.xlsx", YEAR)
    savings.update_scheme(
        workspace, YEAR, "S1", 1, savings.SchemeChanges(rag_override=Rag.RED, rag_override_reason="CFO view"), "alice"
    )
    with pytest.raises(ProblemsError, match="out of date"):
        savings.import_workbook(workspace, tmp_path / "export.xlsx", "bob")
    stored, _history = savings.show_scheme(workspace, YEAR, "S1")
    assert stored.rag_override is Rag.RED
    assert stored.version == 2


def test_export_then_import_is_exact_and_changes_nothing(workspace: Workspace, tmp_path: Path) -> None:
    before = savings.list_schemes(workspace, M06)
    savings.export_workbook(workspace, tmp_path / "export.xlsx", YEAR)
    result = savings.import_workbook(workspace, tmp_path / "export.xlsx", "bob")
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert [view.scheme for view in savings.list_schemes(workspace, M06)] == [view.scheme for view in before]


def test_cli_update_conflict_exits_2_and_shows_both_versions(workspace: Workspace) -> None:
    workspace.close()
    runner = CliRunner()
    base = ["--workspace", str(workspace.path), "savings"]
    ok = runner.invoke(app, [*base, "update", "S2", "--version", "1", "--confidence", "70%", "--format", "json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["version"] == 2
    stale = runner.invoke(app, [*base, "update", "S2", "--version", "1", "--forecast", "M10=£1k", "-f", "json"])
    assert stale.exit_code == 2, stale.output
    body = json.loads(stale.stdout)
    assert "changed by someone else" in body["error"]
    rollup = runner.invoke(app, [*base, "rollup", "--as-at", "2025-09", "--level", "icb", "--format", "json"])
    assert rollup.exit_code == 0, rollup.output
    row = json.loads(rollup.stdout)[0]
    assert set(row) >= {
        "plan_pence",
        "delivered_pence",
        "forecast_pence",
        "shortfall_pence",
        "shortfall_pct",
        "risk_adjusted_pence",
    }
    assert row["code"] == "I1"


def test_cli_flow_import_list_show_export_close_and_move(workspace: Workspace, tmp_path: Path) -> None:
    workspace.close()
    runner = CliRunner()
    base = ["--workspace", str(workspace.path), "savings"]

    def run(*arguments: str) -> object:
        result = runner.invoke(app, [*base, *arguments, "--format", "json"], env={"OUTTURN_USER": "dana"})
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    listed = run("list", "--as-at", "2025-09", "--org", "I1")
    assert isinstance(listed, list)
    assert [row["reference"] for row in listed] == ["S1", "S2"]
    assert listed[0]["rag"] == "red"  # delivered 50% of plan to date
    assert run("list", "--rag", "green") == [row for row in listed if row["rag"] == "green"]
    run("close-month", "--as-at", "2025-08")
    run("update", "S1", "--version", "1", "--rag", "amber", "--reason", "recovery plan agreed")
    shown = run("show", "S1")
    assert isinstance(shown, dict)
    assert (shown["rag"], shown["rag_computed"], shown["version"]) == ("amber", "red", 2)
    assert [entry["who"] for entry in shown["history"]] == ["alice", "dana"]
    run("close-month", "--as-at", "2025-09")
    moved = run("movement", "--from", "2025-08", "--to", "2025-09")
    assert isinstance(moved, dict)
    assert moved["forecast_change_pence"] == sum(item["forecast_change_pence"] for item in moved["schemes"])
    assert any("RAG red -> amber" in item["explanation"] for item in moved["schemes"])
    exported = run("export", str(tmp_path / "out.xlsx"))
    assert exported == {"file": str(tmp_path / "out.xlsx"), "schemes": 2}
    again = run("import", str(tmp_path / "out.xlsx"))
    assert isinstance(again, dict)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    target = run("target", "--org", "A1", "--year", "2025/26", "--amount", "£2m", "--programme", "Recovery")
    assert target == {"org_code": "A1", "year": "2025/26", "target_pence": 200_000_000, "programme": "Recovery"}
