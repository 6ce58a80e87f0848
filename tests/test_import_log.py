"""The import log: every accepted import is recorded (who, when, file, SHA-256, rows, totals in pence, and what it
replaced); a refused import records nothing and stores nothing; reopens of closed months are history that cannot be
edited. On SQLite and PostgreSQL; the CLI's ``imports list`` and the upgrade of a store made before the log grew."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.activity import ActivityKind
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.problems import ProblemsError
from outturn.services import contracts, pricing, savings
from outturn.services.imports import (
    MonthClosed,
    ReplaceRequired,
    import_history,
    import_ledger,
    import_organisations,
    import_risks,
    warehouse_rows,
)
from outturn.services.prescribing import import_prescribing
from outturn.services.workspace import Workspace, init_workspace, open_workspace
from outturn.store import repository
from outturn.store.database import MIGRATIONS_DIR, STORE_BUSY, Store, StoreUnavailable
from outturn.store.models import Base, ImportRow

ORGANISATIONS = "code,name,kind,parent_code\nQ1,Test ICB,icb,\n01A,Alpha,sub_icb,Q1\n"
HEADER = "org_code,year,month,category,subcategory,budget,actual\n"
# M01: three lines. Budgets £100.00 + £250.50 + £1,000.00; actuals £90.00 + £260.25 + (not yet reported).
FIRST = HEADER + (
    "01A,2025/26,M01,acute,Trust X,100.00,90.00\n"
    "01A,2025/26,M01,acute,Trust Y,250.50,260.25\n"
    "01A,2025/26,M01,prescribing,,1000.00,\n"
)
# A correction that keeps Trust X only, at £120.00 / £95.00
CORRECTION = HEADER + "01A,2025/26,M01,acute,Trust X,120.00,95.00\n"


def workspace_at(tmp_path: Path, store_url: str | None = None) -> Workspace:
    (tmp_path / "orgs.csv").write_text(ORGANISATIONS, encoding="utf-8")
    workspace = init_workspace(tmp_path / "ws", reference_dir=tmp_path, store_url=store_url)
    import_organisations(workspace, tmp_path / "orgs.csv")
    return workspace


def write(tmp_path: Path, name: str, text_: str) -> Path:
    path = tmp_path / name
    path.write_text(text_, encoding="utf-8")
    return path


def every_table(workspace: Workspace) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the store, to compare before and after a refusal."""
    with workspace.store.reading() as session:
        return {
            name: sorted((tuple(row) for row in session.execute(select(table))), key=repr)
            for name, table in Base.metadata.tables.items()
        }


def test_every_import_is_recorded_with_who_file_checksum_rows_totals_and_what_it_replaced(
    tmp_path: Path, store_url: str
) -> None:
    with workspace_at(tmp_path, store_url) as workspace:
        first, correction = write(tmp_path, "m01.csv", FIRST), write(tmp_path, "fix.csv", CORRECTION)
        start = datetime.now(UTC) - timedelta(seconds=5)
        import_ledger(workspace, first, who="ann")
        import_ledger(workspace, correction, replace=True, who="bob")

        log = import_history(workspace)

    newest, older = log[0], log[1]
    assert [record.kind for record in log] == ["ledger", "ledger", "organisations"]
    assert (older.source_name, older.imported_by, older.row_count, older.replaced_rows) == ("m01.csv", "ann", 3, 0)
    assert older.sha256 == hashlib.sha256(FIRST.encode()).hexdigest()
    assert older.totals == {"budget_pence": 10_000 + 25_050 + 100_000, "actual_pence": 9_000 + 26_025}
    assert older.replaced_totals == {"budget_pence": 0, "actual_pence": 0}
    assert (newest.source_name, newest.imported_by, newest.row_count, newest.replaced_rows) == ("fix.csv", "bob", 1, 3)
    assert newest.sha256 == hashlib.sha256(CORRECTION.encode()).hexdigest()
    assert newest.totals == {"budget_pence": 12_000, "actual_pence": 9_500}
    assert newest.replaced_totals == older.totals
    assert start <= older.imported_at.replace(tzinfo=older.imported_at.tzinfo or UTC) <= datetime.now(UTC)


def test_a_refused_import_records_and_stores_nothing(tmp_path: Path) -> None:
    with workspace_at(tmp_path) as workspace:
        import_ledger(workspace, write(tmp_path, "m01.csv", FIRST))
        before = every_table(workspace)

        with pytest.raises(ReplaceRequired):
            import_ledger(workspace, write(tmp_path, "fix.csv", CORRECTION))
        with pytest.raises(ProblemsError):
            import_ledger(workspace, write(tmp_path, "bad.csv", HEADER + "01A,2025/26,M13,acute,,1,1\n"))
        assert every_table(workspace) == before

        savings.close_month(workspace, FinancialMonth(FinancialYear(2025), 1), "carol")
        closed = every_table(workspace)
        with pytest.raises(MonthClosed):
            import_ledger(workspace, write(tmp_path, "fix.csv", CORRECTION), replace=True)
        assert every_table(workspace) == closed


def test_cli_lists_the_log_as_a_table_and_as_json(tmp_path: Path) -> None:
    with workspace_at(tmp_path):
        pass
    runner = CliRunner()
    base = ["--workspace", str(tmp_path / "ws")]
    first = runner.invoke(
        app, [*base, "ledger", "import", str(write(tmp_path, "m01.csv", FIRST))], env={"OUTTURN_USER": "ann"}
    )
    assert first.exit_code == 0, first.output

    listed = runner.invoke(app, [*base, "imports", "list", "--format", "json"])
    table = runner.invoke(app, [*base, "imports", "list", "--limit", "1"])

    assert listed.exit_code == table.exit_code == 0
    rows = json.loads(listed.stdout)
    assert [row["kind"] for row in rows] == ["ledger", "organisations"]
    newest = rows[0]
    assert {key: newest[key] for key in ("source", "imported_by", "rows", "replaced_rows")} == {
        "source": "m01.csv",
        "imported_by": "ann",
        "rows": 3,
        "replaced_rows": 0,
    }
    assert (newest["budget_pence"], newest["actual_pence"]) == (135_050, 35_025)
    assert (newest["replaced_budget_pence"], newest["replaced_actual_pence"]) == (0, 0)
    assert newest["sha256"] == hashlib.sha256(FIRST.encode()).hexdigest()
    assert "m01.csv" in table.stdout and "ann" in table.stdout and "£1,350.50" in table.stdout
    assert "organisations" not in table.stdout  # --limit 1: the newest only


def test_a_store_made_before_the_log_grew_keeps_its_imports(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.sqlite"
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
        connection.execute(
            text(
                "INSERT INTO imports (kind, source_name, sha256, row_count, imported_at) "
                "VALUES ('ledger', 'old.csv', :sha, 20, '2025-05-01 09:00:00')"
            ),
            {"sha": "a" * 64},
        )
    engine.dispose()

    store = Store(url)
    try:
        with store.reading() as session:
            (record,) = repository.list_imports(session)
            assert session.scalar(select(func.count()).select_from(ImportRow)) == 1
    finally:
        store.dispose()
    assert (record.source_name, record.row_count, record.imported_by, record.replaced_rows) == ("old.csv", 20, "", 0)
    assert (record.totals, record.replaced_totals) == ({}, {})


def test_reopens_are_history_that_cannot_be_edited(tmp_path: Path, store_url: str) -> None:
    with workspace_at(tmp_path, store_url) as workspace:
        m01 = FinancialMonth(FinancialYear(2025), 1)
        savings.close_month(workspace, m01, "carol")
        savings.reopen_month(workspace, m01, "carol", "late invoice")
        for statement in ("UPDATE month_status_changes SET who = 'mallory'", "DELETE FROM month_status_changes"):
            with pytest.raises(DBAPIError, match="append-only"), workspace.store.transaction() as session:
                session.execute(text(statement))
        with workspace.store.reading() as session:
            assert [(c[2], c[4], c[5]) for c in repository.month_status_changes(session)] == [
                ("reopen", "carol", "late invoice")
            ]
            assert repository.closed_months(session) == set()


# --- whole-table imports: a file that would take stored data away needs --replace ------------------------------

RISKS = "org_code,year,kind,description,value,likelihood\n"
REGISTER = RISKS + (
    "01A,2025/26,risk,Winter pressures,£400k,50%\n"
    "01A,2025/26,risk,CHC claims,£1m,10%\n"
    "01A,2025/26,mitigation,Estates disposal,£100k,50%\n"
)


def test_a_risk_register_that_drops_items_needs_replace(tmp_path: Path) -> None:
    with workspace_at(tmp_path) as workspace:
        import_risks(workspace, write(tmp_path, "risks.csv", REGISTER))
        import_risks(workspace, write(tmp_path, "same.csv", REGISTER))  # identical: nothing taken away
        grown = import_risks(workspace, write(tmp_path, "grown.csv", REGISTER + "01A,2025/26,risk,Drugs,£300k,90%\n"))
        before = every_table(workspace)
        shorter = write(tmp_path, "shorter.csv", RISKS + "01A,2025/26,risk,Drugs,£300k,90%\n")

        with pytest.raises(ReplaceRequired) as refused:
            import_risks(workspace, shorter)

        assert every_table(workspace) == before
        assert refused.value.replaces == {
            "rows_before": 4,
            "rows_after": 1,
            "rows_removed": 3,
            "value_before_pence": (400_000 + 1_000_000 + 100_000 + 300_000) * 100,
            "value_after_pence": 300_000 * 100,
        }
        summary = import_risks(workspace, shorter, replace=True, who="ann")
        (newest, *_rest) = import_history(workspace)
    assert (grown.rows, summary.rows, summary.replaced_rows) == (4, 1, 4)
    assert (newest.imported_by, newest.totals, newest.replaced_totals) == (
        "ann",
        {"value_pence": 30_000_000},
        {"value_pence": 180_000_000},
    )


AE_HEADER = "attendance_id,provider,commissioner,practice,patient_id,arrival_date,department_type,hrg,age\n"


def ae_file(tmp_path: Path, name: str, count: int) -> Path:
    rows = "".join(f"E{n},RTH,10Q,K84001,r{n},2018-05-{n + 1:02d},1,VB03Z,30\n" for n in range(count))
    return write(tmp_path, name, AE_HEADER + rows)


def test_an_activity_extract_that_replaces_the_stored_one_needs_replace(tmp_path: Path) -> None:
    orgs = write(
        tmp_path, "orgs.csv", "code,name,kind,parent_code\nY59,SE,region,\n10Q,Ox,ccg,Y59\nRTH,OUH,provider,\n"
    )
    runner = CliRunner()
    ws = str(tmp_path / "ws")
    assert runner.invoke(app, ["init", ws, "--reference-dir", str(tmp_path)]).exit_code == 0
    assert runner.invoke(app, ["-w", ws, "orgs", "import", str(orgs)]).exit_code == 0
    base = ["-w", ws, "contracts", "activity", "--kind", "ae", "--format", "json"]
    year_to_date = ae_file(tmp_path, "ae.csv", 20)

    first = runner.invoke(app, [*base, str(year_to_date)])
    same = runner.invoke(app, [*base, str(year_to_date)])
    three = runner.invoke(app, [*base, str(ae_file(tmp_path, "three.csv", 3))])
    with open_workspace(tmp_path / "ws") as workspace:
        kept = warehouse_rows(workspace, "activity_ae")
    replaced = runner.invoke(app, [*base, str(ae_file(tmp_path, "three.csv", 3)), "--replace"])

    assert (first.exit_code, same.exit_code, three.exit_code, replaced.exit_code) == (0, 0, 2, 0), three.output
    assert json.loads(three.stdout)["replaces"] == {"rows_before": 20, "rows_after": 3}
    assert kept == 20
    with open_workspace(tmp_path / "ws") as workspace:
        assert warehouse_rows(workspace, "activity_ae") == 3
        log = [(r.kind, r.source_name, r.row_count, r.replaced_rows) for r in import_history(workspace)[:3]]
    assert log == [
        ("activity ae", "three.csv", 3, 20),
        ("activity ae", "ae.csv", 20, 20),
        ("activity ae", "ae.csv", 20, 0),
    ]


CONTRACT_HEADER = "provider,commissioner,year,point_of_delivery,month,activity,value,description\n"


def contract_plan(tmp_path: Path, name: str, monthly: str) -> Path:
    rows = "".join(f"RTH,10Q,2018/19,non_elective,M{month:02d},1,{monthly},\n" for month in range(1, 13))
    return write(tmp_path, name, CONTRACT_HEADER + rows + "RTH,10Q,2018/19,block,,,£1.2m,Critical care\n")


def test_a_contract_plan_that_changes_a_stored_contract_needs_replace(tmp_path: Path) -> None:
    orgs = write(
        tmp_path, "orgs.csv", "code,name,kind,parent_code\nY59,SE,region,\n10Q,Ox,ccg,Y59\nRTH,OUH,provider,\n"
    )
    with init_workspace(tmp_path / "ws", reference_dir=tmp_path) as workspace:
        import_organisations(workspace, orgs)
        first = contract_plan(tmp_path, "plan.csv", "1000000.00")
        assert contracts.import_contracts(workspace, first) == 1
        assert contracts.import_contracts(workspace, first) == 1  # the same terms again: nothing replaced
        before = every_table(workspace)
        cut = contract_plan(tmp_path, "cut.csv", "900000.00")

        with pytest.raises(ReplaceRequired) as refused:
            contracts.import_contracts(workspace, cut)

        assert every_table(workspace) == before
        assert refused.value.replaces == {
            "contracts_before": 1,
            "contracts_after": 1,
            "contracts_changed": 1,
            "plan_before_pence": (12 * 1_000_000 + 1_200_000) * 100,
            "plan_after_pence": (12 * 900_000 + 1_200_000) * 100,
            "rules_before": 0,  # payment rules held with the contract: none before, none in the file
            "rules_after": 0,
        }
        assert contracts.import_contracts(workspace, cut, replace=True, who="ann") == 1
        newest = import_history(workspace)[0]
    assert (newest.kind, newest.imported_by, newest.totals) == ("contracts", "ann", {"plan_pence": 1_200_000_000})


# --- imports into the warehouse: the data and its record land together -----------------------------------------

EPD_FILE = (
    "YEAR_MONTH,PRACTICE_NAME,PRACTICE_CODE,BNF_CODE,BNF_DESCRIPTION,QUANTITY,ITEMS,TOTAL_QUANTITY,NIC,ACTUAL_COST\n"
    "201710,A SURGERY,B85010,0212000B0AAABAB,Atorvastatin_Tab 10mg,28.0,2,56.0,1.68,1.55\n"
    "201710,A SURGERY,B85010,0212000B0BBAAAB,Lipitor_Tab 10mg,28.0,1,28.0,12.10,11.20\n"
)


REGION_CCG_AND_PROVIDER = "code,name,kind,parent_code\nY59,SE,region,\n10Q,Ox,ccg,Y59\nRTH,OUH,provider,\n"


@dataclass(frozen=True)
class WarehouseImport:
    path: Path
    log_kind: str
    table: str
    rows: int  # the file's rows, counted by hand
    run: Callable[[Workspace], object]


def _warehouse_import(tmp_path: Path, kind: str) -> WarehouseImport:
    if kind == "prescribing":
        path = write(tmp_path, "epd_201710.csv", EPD_FILE)
        return WarehouseImport(path, "prescribing", "prescribing", 2, lambda ws: import_prescribing(ws, path))
    path = ae_file(tmp_path, "ae.csv", 7)
    return WarehouseImport(
        path, "activity ae", "activity_ae", 7, lambda ws: pricing.import_activity(ws, path, ActivityKind.AE)
    )


def _die_before_the_store_records_an_import(workspace: Workspace) -> None:
    """From now on this workspace's process 'dies' (KeyboardInterrupt, which nothing catches) just before the
    store's ``INSERT INTO imports``: after the warehouse has committed the import's data, before the store logs it."""

    def die(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO IMPORTS"):
            raise KeyboardInterrupt

    event.listen(workspace.store.engine, "before_cursor_execute", die)


@pytest.mark.parametrize("kind", ["prescribing", "activity"])
def test_an_import_interrupted_between_the_warehouse_and_the_store_is_logged_when_the_workspace_next_opens(
    tmp_path: Path, store_url: str, kind: str
) -> None:
    orgs = write(
        tmp_path, "orgs.csv", "code,name,kind,parent_code\nY59,SE,region,\n10Q,Ox,ccg,Y59\nRTH,OUH,provider,\n"
    )
    with init_workspace(tmp_path / "ws", reference_dir=tmp_path, store_url=store_url) as workspace:
        import_organisations(workspace, orgs)
    chosen = _warehouse_import(tmp_path, kind)
    workspace = open_workspace(tmp_path / "ws")
    _die_before_the_store_records_an_import(workspace)
    with pytest.raises(KeyboardInterrupt):
        chosen.run(workspace)
    workspace.close()

    with open_workspace(tmp_path / "ws") as workspace:  # as the next command would
        stored = warehouse_rows(workspace, chosen.table)
        log = import_history(workspace)
    assert stored == chosen.rows
    assert [(r.kind, r.source_name, r.row_count, r.replaced_rows) for r in log] == [
        (chosen.log_kind, chosen.path.name, chosen.rows, 0),
        ("organisations", "orgs.csv", 3, 0),
    ]
    assert log[0].sha256 == hashlib.sha256(chosen.path.read_bytes()).hexdigest()

    with open_workspace(tmp_path / "ws") as workspace:  # opening again copies nothing twice
        assert len(import_history(workspace)) == len(log)
        chosen.run(workspace)  # the same file again: no replace needed, as the log says it was the last
        again = import_history(workspace)
    assert [(r.kind, r.row_count, r.replaced_rows) for r in again[:3]] == [
        (chosen.log_kind, chosen.rows, chosen.rows),
        (chosen.log_kind, chosen.rows, 0),
        ("organisations", 3, 0),
    ]


def test_a_store_too_busy_to_log_a_warehouse_import_says_the_data_is_stored_and_logs_it_on_the_next_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with init_workspace(tmp_path / "ws", reference_dir=tmp_path) as workspace:
        import_organisations(workspace, write(tmp_path, "orgs.csv", REGION_CCG_AND_PROVIDER))
    chosen = _warehouse_import(tmp_path, "activity")

    def busy(*_args: object) -> int:
        raise StoreUnavailable(STORE_BUSY)

    with open_workspace(tmp_path / "ws") as workspace:
        with monkeypatch.context() as patched:
            patched.setattr(repository, "add_missing_imports", busy)
            with pytest.raises(StoreUnavailable, match=r"ae\.csv was stored, but not yet in the store's import log"):
                chosen.run(workspace)
        assert warehouse_rows(workspace, chosen.table) == chosen.rows
    with open_workspace(tmp_path / "ws") as workspace:
        log = import_history(workspace)
    assert [(r.kind, r.source_name, r.row_count) for r in log] == [
        ("activity ae", "ae.csv", 7),
        ("organisations", "orgs.csv", 3),
    ]
