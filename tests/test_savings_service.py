"""The savings plan as a system of record: import, edit with conflicts, audit trail, month-end close, roll-up.

Runs on SQLite and on PostgreSQL (the ``store_url`` fixture; PostgreSQL when ``make test`` has started one).
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, text
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
from outturn.services.workspace import Workspace, init_workspace, open_workspace
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
    # the API's conflict document has the same shape (tests/test_web_api.py)
    assert set(body) == {"error", "current", "your_changes", "yours"}
    assert body["your_changes"] == {"forecast_pence": {"M10": 1_000_00}}
    assert body["current"]["confidence"] == "0.7" and body["yours"]["forecast_pence"][9] == 1_000_00
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


# --- the scheme rules on every path, and saves beside reads ----------------------------------------------------


def _stored_state(workspace: Workspace) -> list[list[tuple[object, ...]]]:
    """Every scheme, phasing, target and audit row as stored, to compare before and after a refusal."""
    tables = ("savings_schemes", "savings_phasing", "savings_targets", "audit_log")
    with workspace.store.reading() as session:
        return [sorted((tuple(row) for row in session.execute(text(f"SELECT * FROM {t}"))), key=repr) for t in tables]


def _phasing_row(path: Path, reference: str, measure: str) -> int:
    """The row of the Phasing sheet holding ``reference``'s ``measure`` months, found by reading the sheet."""
    sheet = load_workbook(path, read_only=True)["Phasing"]
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        if row[0] == reference and str(row[1]).lower() == measure:
            return number
    raise AssertionError(f"no {measure} row for {reference}")


def test_a_negative_forecast_without_a_reason_is_refused_and_nothing_stored(workspace: Workspace) -> None:
    # the finding: a −£50m forecast with no reason was saved and raised the chance of meeting the control total
    before = _stored_state(workspace)
    with pytest.raises(savings.SchemeRefused, match="forecast M09: a negative saving"):
        savings.update_scheme(workspace, YEAR, "S1", 1, savings.SchemeChanges(forecast={9: -50_000_000_00}), "eve")
    with pytest.raises(savings.SchemeRefused, match=r"forecast M10: .* beyond ±£3,600,000.00"):
        savings.update_scheme(workspace, YEAR, "S1", 1, savings.SchemeChanges(forecast={10: 5_000_000_00}), "eve")
    assert _stored_state(workspace) == before


def test_a_past_months_forecast_cannot_be_overwritten(workspace: Workspace) -> None:
    before = _stored_state(workspace)  # the workspace is at 2025-09, M06
    for month in (1, 6):
        with pytest.raises(savings.SchemeRefused, match=f"forecast M{month:02d}: M{month:02d} is past"):
            savings.update_scheme(workspace, YEAR, "S1", 1, savings.SchemeChanges(forecast={month: 0}), "eve")
    assert _stored_state(workspace) == before
    saved = savings.update_scheme(workspace, YEAR, "S1", 1, savings.SchemeChanges(forecast={7: 0}), "eve")
    assert saved.forecast[6] == 0


def test_a_workbook_delivering_after_the_as_at_month_is_refused_at_its_cell(
    workspace: Workspace, tmp_path: Path
) -> None:
    # the finding: savings delivered in M12 while the workspace is at M08 were imported
    early = scheme("S3", "A1", 10_000_00).with_changes(delivered=(*(None,) * 11, 10_000_00))
    path = write_savings_workbook(tmp_path / "early.xlsx", [early])
    before = _stored_state(workspace)
    with pytest.raises(ProblemsError) as refused:
        savings.import_workbook(workspace, path, "eve")
    [problem] = refused.value.problems
    assert (problem.sheet, problem.row, problem.column) == ("Phasing", _phasing_row(path, "S3", "delivered"), "m12")
    assert "after the as-at month" in problem.reason
    assert _stored_state(workspace) == before


def test_a_workbook_overwriting_a_past_forecast_is_refused_at_its_cell(workspace: Workspace, tmp_path: Path) -> None:
    stored, _history = savings.show_scheme(workspace, YEAR, "S2")
    changed = stored.with_changes(forecast=(None, None, 1_00, *(None,) * 9))
    path = write_savings_workbook(tmp_path / "past.xlsx", [changed])
    before = _stored_state(workspace)
    with pytest.raises(ProblemsError) as refused:
        savings.import_workbook(workspace, path, "eve")
    [problem] = refused.value.problems
    assert (problem.sheet, problem.row, problem.column) == ("Phasing", _phasing_row(path, "S2", "forecast"), "m03")
    assert _stored_state(workspace) == before


def test_a_workbook_scheme_with_an_unsafe_reference_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    path = write_savings_workbook(tmp_path / "bad.xlsx", [scheme("../../../etc/passwd", "A1", 1_00)])
    before = _stored_state(workspace)
    with pytest.raises(ProblemsError) as refused:
        savings.import_workbook(workspace, path, "eve")
    assert [(p.sheet, p.row, p.column) for p in refused.value.problems] == [("Schemes", 2, "reference")]
    assert _stored_state(workspace) == before
    with pytest.raises(savings.SchemeRefused, match="reference"):
        savings.update_scheme(workspace, YEAR, "../S1", 1, savings.SchemeChanges(title="x"), "eve")


def test_a_reimport_records_no_confidence_change_for_trailing_zeros(workspace: Workspace, tmp_path: Path) -> None:
    # the finding: the audit trail showed confidence 0.810000 -> 0.81 as a change
    stored, _history = savings.show_scheme(workspace, YEAR, "S1")
    path = write_savings_workbook(
        tmp_path / "next.xlsx", [stored.with_changes(forecast=(*(None,) * 9, 1_00, None, None))]
    )
    assert savings.import_workbook(workspace, path, "bob").updated == 1
    _scheme, history = savings.show_scheme(workspace, YEAR, "S1")
    change = history[-1]
    assert change.before is not None and change.after is not None
    assert {key for key in change.after if change.after[key] != change.before[key]} == {"forecast_pence", "version"}
    assert change.after["confidence"] == "0.9"


def test_a_read_never_pairs_one_version_with_anothers_months(workspace: Workspace) -> None:
    """A save is made to land just before the read's statement on the months (a hook runs it on another thread
    and waits): the read shows version 1 with version 1's months or version 2 with version 2's, never a mix."""
    reader, fired = threading.get_ident(), []

    def save_in_between(_connection: object, _cursor: object, statement: str, *_rest: object) -> None:
        if threading.get_ident() == reader and not fired and "savings_phasing" in statement:
            fired.append(statement)
            changes = savings.SchemeChanges(forecast={10: 7_00})
            writer = threading.Thread(target=savings.update_scheme, args=(workspace, YEAR, "S1", 1, changes, "bob"))
            writer.start()
            writer.join()

    event.listen(workspace.store.engine, "before_cursor_execute", save_in_between)
    try:
        read, _history = savings.show_scheme(workspace, YEAR, "S1")
    finally:
        event.remove(workspace.store.engine, "before_cursor_execute", save_in_between)
    assert fired and savings.show_scheme(workspace, YEAR, "S1")[0].version == 2  # the save did land
    assert (read.version, read.forecast[9]) in {(1, None), (2, 7_00)}


def test_of_many_saves_from_one_version_exactly_one_wins(workspace: Workspace) -> None:
    editors = 8
    barrier, outcomes = threading.Barrier(editors), []

    def save(editor: int) -> None:
        barrier.wait()
        changes = savings.SchemeChanges(forecast={12: 1_000_00})  # the same edit from everyone
        try:
            outcomes.append(("saved", savings.update_scheme(workspace, YEAR, "S2", 1, changes, f"e{editor}").version))
        except VersionConflict as conflict:
            outcomes.append(("conflict", conflict.current.version))

    threads = [threading.Thread(target=save, args=(editor,)) for editor in range(editors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [("conflict", 2)] * (editors - 1) + [("saved", 2)]
    _scheme, history = savings.show_scheme(workspace, YEAR, "S2")
    assert [entry.action for entry in history] == ["import", "update"]


def test_reads_beside_a_run_of_saves_always_see_one_version(workspace: Workspace) -> None:
    """Each save from version v sets M12's forecast to v + 1 pence: a read must show forecast M12 = its version."""
    saves, done, seen = 20, threading.Event(), []

    def write() -> None:
        try:
            for version in range(1, saves + 1):
                changes = savings.SchemeChanges(forecast={12: version + 1})
                savings.update_scheme(workspace, YEAR, "S2", version, changes, "writer")
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    while not done.is_set():
        read, _history = savings.show_scheme(workspace, YEAR, "S2")
        seen.append((read.version, read.forecast[11]))
    writer.join()
    assert savings.show_scheme(workspace, YEAR, "S2")[0].version == saves + 1
    assert seen and all(forecast == (None if version == 1 else version) for version, forecast in seen)


def test_cli_update_meets_the_same_rules(workspace: Workspace) -> None:
    workspace.close()
    base = ["--workspace", str(workspace.path), "savings", "update", "S1", "--version", "1", "-f", "json"]
    for option, fragment in (
        ("--forecast=M09=-£50m", "forecast M09: a negative saving"),
        ("--delivered=M12=£1k", "delivered M12: M12 is after the as-at month"),
    ):
        result = CliRunner().invoke(app, [*base, option])
        assert result.exit_code == 2, result.output
        assert fragment in json.loads(result.stdout)["error"]
    with open_workspace(workspace.path) as reopened:
        assert savings.show_scheme(reopened, YEAR, "S1")[0].version == 1
