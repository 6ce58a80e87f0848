"""The store on SQLite and on PostgreSQL: migrations, exact money and rates, the position, atomic imports.

Every test here runs on both databases through the ``store_url`` fixture (tests/conftest.py): a SQLite file, and
a fresh database of its own on the throwaway PostgreSQL 15 cluster that ``make test`` starts
(scripts/test-postgres.sh). The expected position is worked by hand below, line by line.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from outturn.domain.ledger import CostCategory, LedgerLine
from outturn.domain.periods import FinancialYear
from outturn.domain.plans import RiskKind
from outturn.domain.problems import ProblemsError
from outturn.reports.position import position_document
from outturn.services.imports import import_ledger, import_organisations, import_plans, import_risks
from outturn.services.position import compute_position
from outturn.services.workspace import Workspace, init_workspace
from outturn.store import repository
from outturn.store.database import MIGRATIONS_DIR, Store, migrate
from outturn.store.models import (
    Base,
    FinancialPlanRow,
    ForecastOverrideRow,
    ImportRow,
    LedgerLineRow,
    OrganisationRow,
    RiskRow,
)

TABLES = {
    "organisations",
    "ledger_lines",
    "financial_plans",
    "plan_deductions",
    "risks",
    "forecast_overrides",
    "imports",
    "alembic_version",
}
YEAR = FinancialYear(2025)
BIGINT_MAX = 2**63 - 1
BIGINT_MIN = -(2**63)

# --- the migrated schema ---------------------------------------------------------------------------------------


def _version(store: Store) -> list[str]:
    with store.engine.connect() as connection:
        return list(connection.scalars(text("SELECT version_num FROM alembic_version")))


def _head() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def test_migrations_create_the_tables_and_running_again_is_a_no_op(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert tables >= TABLES
    assert tables == set(Base.metadata.tables) | {"alembic_version"}  # every model's table, nothing else
    ledger_columns = {column["name"]: column for column in inspect(store.engine).get_columns("ledger_lines")}
    assert {"budget_pence", "actual_pence", "one_off_pence"} <= set(ledger_columns)
    assert all(ledger_columns[name]["type"].python_type is int for name in ("budget_pence", "actual_pence"))
    version = _version(store)
    assert version == [_head()]
    with store.transaction() as session:
        session.add(OrganisationRow(code="01A", name="North", kind="sub_icb", parent_code=None, source="test"))

    migrate(store.engine)
    Store(store.url).dispose()  # opening the store again migrates again

    assert _version(store) == version
    assert set(inspect(store.engine).get_table_names()) == tables
    with store.reading() as session:
        assert session.scalars(select(OrganisationRow.code)).all() == ["01A"]


# --- exact money and rates ------------------------------------------------------------------------------------

THIRTY_BILLION_POUNDS = 3_000_000_000_000  # pence: far beyond 2**31
BEYOND_FLOAT = 2**53 + 1  # a float would silently lose the last penny


def test_money_beyond_32_bits_and_numeric_rates_round_trip_exactly(store: Store) -> None:
    with store.transaction() as session:
        session.add(OrganisationRow(code="01A", name="North", kind="sub_icb", parent_code=None, source="test"))
        session.flush()
        session.add(
            FinancialPlanRow(
                org_code="01A",
                year=2025,
                recurrent_allocation_pence=THIRTY_BILLION_POUNDS,
                non_recurrent_allocation_pence=BIGINT_MAX,
                brought_forward_deficit_pence=BEYOND_FLOAT,
                required_surplus_share=Decimal("0.012345"),
                control_total_pence=BIGINT_MIN,
            )
        )
        session.add_all(
            RiskRow(
                org_code="01A",
                year=2025,
                kind="risk",
                description=f"risk {number}",
                value_pence=THIRTY_BILLION_POUNDS + number,
                likelihood=likelihood,
                category=None,
            )
            for number, likelihood in enumerate([Decimal("0.123457"), Decimal("0.000001"), Decimal("1.000000")])
        )
        session.add(
            ForecastOverrideRow(
                org_code="01A",
                year=2025,
                category="acute",
                subcategory="",
                forecast_pence=-THIRTY_BILLION_POUNDS,
                reason="test",
                recorded_at=datetime(2025, 11, 30, 23, 59, 59, tzinfo=UTC),
            )
        )
        record = repository.record_import(session, "ledger", "test.csv", "0" * 64, 1)
        line = LedgerLine("01A", YEAR, 8, CostCategory.ACUTE, "Trust A", THIRTY_BILLION_POUNDS, -BEYOND_FLOAT, 1)
        repository.replace_ledger_months(session, [line], record.id)

    with store.reading() as session:
        plan = session.get(FinancialPlanRow, ("01A", 2025))
        assert plan is not None
        assert plan.recurrent_allocation_pence == THIRTY_BILLION_POUNDS
        assert plan.non_recurrent_allocation_pence == BIGINT_MAX
        assert plan.brought_forward_deficit_pence == BEYOND_FLOAT
        assert plan.control_total_pence == BIGINT_MIN
        assert isinstance(plan.required_surplus_share, Decimal)
        assert plan.required_surplus_share == Decimal("0.012345")
        risks = repository.risks_for(session, ["01A"], YEAR)
        assert [(item.value_pence, item.likelihood) for item in risks] == [
            (THIRTY_BILLION_POUNDS, Decimal("0.123457")),
            (THIRTY_BILLION_POUNDS + 1, Decimal("0.000001")),
            (THIRTY_BILLION_POUNDS + 2, Decimal("1")),
        ]
        assert all(isinstance(item.likelihood, Decimal) and item.kind is RiskKind.RISK for item in risks)
        # 0.123457 of £30bn is exactly 370,371,000,000 pence: no float anywhere on the way
        assert risks[0].expected_pence == 370_371_000_000
        assert [item.forecast_pence for item in repository.overrides_for(session, ["01A"], YEAR)] == [
            -THIRTY_BILLION_POUNDS
        ]
        recorded_at = session.scalars(select(ForecastOverrideRow.recorded_at)).one()
        assert recorded_at.replace(tzinfo=None) == datetime(2025, 11, 30, 23, 59, 59)
        assert repository.ledger_rows(session, ["01A"], [2025]) == [
            {
                "org_code": "01A",
                "year": 2025,
                "month": 8,
                "category": "acute",
                "subcategory": "Trust A",
                "budget_pence": THIRTY_BILLION_POUNDS,
                "actual_pence": -BEYOND_FLOAT,
                "one_off_pence": 1,
            }
        ]


# --- a workspace on the store: imports and the position ----------------------------------------------------------

ORGANISATIONS = """code,name,kind,parent_code
QXX,Test ICB,icb,
01A,North sub-ICB,sub_icb,QXX
"""

PLAN = """org_code,year,item,amount,description
01A,2025/26,recurrent_allocation,£25.7bn,
01A,2025/26,non_recurrent_allocation,"£12,500,000.50",
01A,2025/26,brought_forward_deficit,£4m,
01A,2025/26,deduction,1.5m,Acute trusts' deficits
01A,2025/26,required_surplus,1%,
01A,2025/26,control_total,(17m),
"""

RISKS = """org_code,year,kind,description,value,likelihood,category
01A,2025/26,risk,CHC price pressures,"2,000,000.01",50%,continuing_healthcare
01A,2025/26,mitigation,Medicines optimisation,£1m,0.333333,prescribing
"""

LEDGER_HEADER = ("org_code", "year", "month", "category", "subcategory", "budget", "actual", "one_off")


def _ledger_rows() -> list[tuple[str, ...]]:
    """Three lines, twelve months each, actuals to M08 (running costs to M07 only); see the hand-worked figures."""
    rows: list[tuple[str, ...]] = []
    for month in range(1, 13):
        reported = month <= 8
        rows.append(
            ("01A", "2025/26", f"M{month:02d}", "acute", "Trust A", "2,000,000,000.00",
             "2,100,000,000.01" if reported else "", "")
        )  # fmt: skip
        rows.append(
            ("01A", "2025/26", f"M{month:02d}", "prescribing", "", "£50m",
             ("£46.5m" if month == 3 else "£45m") if reported else "", "£1.5m" if month == 3 else "")
        )  # fmt: skip
        rows.append(
            ("01A", "2025/26", f"M{month:02d}", "running_costs", "", "£1,000,000.33",
             "£1,000,000.00" if month <= 7 else "", "")
        )  # fmt: skip
    return rows


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _write(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


@pytest.fixture
def workspace(store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    """A workspace whose store is at ``store_url``, with the organisations, plan and risk register imported."""
    opened = init_workspace(tmp_path / "ws", store_url=store_url, reference_dir=tmp_path)
    try:
        import_organisations(opened, _write(tmp_path / "organisations.csv", ORGANISATIONS))
        import_plans(opened, _write(tmp_path / "plan.csv", PLAN))
        import_risks(opened, _write(tmp_path / "risks.csv", RISKS))
        yield opened
    finally:
        opened.close()


# Worked by hand, in pence, for 01A at M08 2025/26 by run rate (YTD ÷ 8 × 12, one-offs counted once):
#   acute / Trust A      budget 200,000,000,000 × 12 = 2,400,000,000,000; YTD budget 1,600,000,000,000
#                        actual 210,000,000,001 × 8 = 1,680,000,000,008 -> forecast 210,000,000,001 × 12
#                        = 2,520,000,000,012
#   prescribing          budget 5,000,000,000 × 12 = 60,000,000,000; YTD budget 40,000,000,000
#                        actual 4,500,000,000 × 8 + 150,000,000 one-off (M03) = 36,150,000,000
#                        -> forecast 36,000,000,000 ÷ 8 × 12 + 150,000,000 = 54,150,000,000
#   running costs        budget 100,000,033 × 12 = 1,200,000,396; YTD budget 800,000,264
#                        actual 100,000,000 × 7 (M08 not reported, counted as zero) = 700,000,000
#                        -> forecast 700,000,000 ÷ 8 × 12 = 1,050,000,000
#   allocation  2,570,000,000,000 + 1,250,000,050 = 2,571,250,000,050
#   deductions  400,000,000 + 150,000,000 = 550,000,000 -> resource 2,570,700,000,050
#   required surplus 1% × 2,571,250,000,050 = 25,712,500,000.5 -> 25,712,500,001 (half away from zero);
#   the agreed control total (17m) = -1,700,000,000 takes its place
#   forecast outturn 2,575,200,000,012 -> forecast surplus 2,570,700,000,050 - 2,575,200,000,012 = -4,499,999,962
#   gap to control total -1,700,000,000 - (-4,499,999,962) = 2,799,999,962
#   risks 200,000,001 at 50% = 100,000,000.5 -> 100,000,001; mitigations 100,000,000 at 0.333333 = 33,333,300
EXPECTED_PENCE: dict[str, int] = {
    "allocation_pence": 2_571_250_000_050,
    "recurrent_allocation_pence": 2_570_000_000_000,
    "non_recurrent_allocation_pence": 1_250_000_050,
    "deductions[0].pence": 400_000_000,
    "deductions[1].pence": 150_000_000,
    "resource_pence": 2_570_700_000_050,
    "required_surplus_pence": 25_712_500_001,
    "control_total_pence": -1_700_000_000,
    "annual_budget_pence": 2_461_200_000_396,
    "planned_surplus_pence": 109_499_999_654,
    "ytd_budget_pence": 1_640_800_000_264,
    "ytd_actual_pence": 1_716_850_000_008,
    "ytd_variance_pence": -76_049_999_744,
    "forecast_outturn_pence": 2_575_200_000_012,
    "forecast_variance_pence": -113_999_999_616,
    "forecast_surplus_pence": -4_499_999_962,
    "gap_to_control_total_pence": 2_799_999_962,
    "savings_needed_pence": 2_799_999_962,
    "risk_adjusted_gap_pence": 2_866_666_663,
    "risk.risks_total_pence": 200_000_001,
    "risk.risks_expected_pence": 100_000_001,
    "risk.mitigations_total_pence": 100_000_000,
    "risk.mitigations_expected_pence": 33_333_300,
    "risk.best_surplus_pence": -4_399_999_962,
    "risk.likely_surplus_pence": -4_566_666_663,
    "risk.worst_surplus_pence": -4_699_999_963,
    # no savings schemes: nothing planned for the months to come, so no shortfall
    "risk.savings_planned_remaining_pence": 0,
    "risk.savings_forecast_remaining_pence": 0,
    "risk.savings_risk_adjusted_remaining_pence": 0,
    "risk.savings_shortfall_pence": 0,
    # the named year-end figures, as above: control total, forecast, best, likely, worst
    "year_end[0].pence": -1_700_000_000,
    "year_end[1].pence": -4_499_999_962,
    "year_end[2].pence": -4_399_999_962,
    "year_end[3].pence": -4_566_666_663,
    "year_end[4].pence": -4_699_999_963,
    # by category, in the categories' order: acute, prescribing, running costs
    "by_category[0].annual_budget_pence": 2_400_000_000_000,
    "by_category[0].ytd_budget_pence": 1_600_000_000_000,
    "by_category[0].ytd_actual_pence": 1_680_000_000_008,
    "by_category[0].ytd_variance_pence": -80_000_000_008,
    "by_category[0].ytd_one_off_pence": 0,
    "by_category[0].forecast_outturn_pence": 2_520_000_000_012,
    "by_category[0].forecast_variance_pence": -120_000_000_012,
    "by_category[1].annual_budget_pence": 60_000_000_000,
    "by_category[1].ytd_budget_pence": 40_000_000_000,
    "by_category[1].ytd_actual_pence": 36_150_000_000,
    "by_category[1].ytd_variance_pence": 3_850_000_000,
    "by_category[1].ytd_one_off_pence": 150_000_000,
    "by_category[1].forecast_outturn_pence": 54_150_000_000,
    "by_category[1].forecast_variance_pence": 5_850_000_000,
    "by_category[2].annual_budget_pence": 1_200_000_396,
    "by_category[2].ytd_budget_pence": 800_000_264,
    "by_category[2].ytd_actual_pence": 700_000_000,
    "by_category[2].ytd_variance_pence": 100_000_264,
    "by_category[2].ytd_one_off_pence": 0,
    "by_category[2].forecast_outturn_pence": 1_050_000_000,
    "by_category[2].forecast_variance_pence": 150_000_396,
    # the bridge: control total, budget set above it, three categories, subtotal, risks, mitigations, end
    "bridge[0].pence": -1_700_000_000,
    "bridge[0].running_pence": -1_700_000_000,
    "bridge[1].pence": 111_199_999_654,
    "bridge[1].running_pence": 109_499_999_654,
    "bridge[2].pence": -120_000_000_012,
    "bridge[2].running_pence": -10_500_000_358,
    "bridge[3].pence": 5_850_000_000,
    "bridge[3].running_pence": -4_650_000_358,
    "bridge[4].pence": 150_000_396,
    "bridge[4].running_pence": -4_499_999_962,
    "bridge[5].pence": -4_499_999_962,
    "bridge[5].running_pence": -4_499_999_962,
    "bridge[6].pence": -100_000_001,
    "bridge[6].running_pence": -4_599_999_963,
    "bridge[7].pence": 33_333_300,
    "bridge[7].running_pence": -4_566_666_663,
    "bridge[8].pence": -4_566_666_663,
    "bridge[8].running_pence": -4_566_666_663,
}


def _pence_fields(document: Any, path: str = "") -> dict[str, int]:
    """Every ``*_pence`` (and ``pence``) field of a position document, by its path."""
    found: dict[str, int] = {}
    if isinstance(document, dict):
        for key, value in document.items():
            where = f"{path}.{key}" if path else key
            if key == "pence" or key.endswith("_pence"):
                found[where] = value
            else:
                found.update(_pence_fields(value, where))
    elif isinstance(document, list):
        for index, item in enumerate(document):
            found.update(_pence_fields(item, f"{path}[{index}]"))
    return found


def _position(workspace: Workspace, tmp_path: Path) -> dict[str, Any]:
    import_ledger(workspace, _write_csv(tmp_path / "ledger.csv", LEDGER_HEADER, _ledger_rows()))
    return position_document(compute_position(workspace, "01A", "2025-11", "run-rate"))


def test_position_on_the_store_matches_the_hand_worked_figures(workspace: Workspace, tmp_path: Path) -> None:
    document = _position(workspace, tmp_path)
    pence = _pence_fields(document)
    assert all(type(value) is int for value in pence.values())
    assert pence == EXPECTED_PENCE
    assert [row["category"] for row in document["by_category"]] == ["acute", "prescribing", "running_costs"]
    assert document["members"] == ["01A"]
    assert document["warnings"] == ["ledger: 01A running_costs: 1 month(s) to M08 have no actual; counted as zero"]


def test_position_is_identical_on_sqlite_and_postgresql(tmp_path: Path, postgres_url: str) -> None:
    documents = []
    for name, url in (("sqlite", f"sqlite:///{tmp_path}/store.sqlite"), ("postgresql", postgres_url)):
        directory = tmp_path / name
        directory.mkdir()
        with init_workspace(directory / "ws", store_url=url, reference_dir=tmp_path) as workspace:
            import_organisations(workspace, _write(directory / "organisations.csv", ORGANISATIONS))
            import_plans(workspace, _write(directory / "plan.csv", PLAN))
            import_risks(workspace, _write(directory / "risks.csv", RISKS))
            documents.append(_position(workspace, directory))
    sqlite_document, postgresql_document = documents
    assert _pence_fields(postgresql_document) == _pence_fields(sqlite_document) == EXPECTED_PENCE
    assert postgresql_document == sqlite_document


# --- atomic imports ------------------------------------------------------------------------------------------


def _stored(workspace: Workspace) -> tuple[list[dict[str, Any]], list[tuple[str, int, int, int]], int]:
    """The ledger rows (sorted), the months stored and the number of imports recorded."""
    with workspace.store.reading() as session:
        rows = sorted(
            repository.ledger_rows(session, ["01A"], [2025]),
            key=lambda row: (row["month"], row["category"], row["subcategory"]),
        )
        imports = session.scalar(select(func.count()).select_from(ImportRow))
        return rows, repository.ledger_periods(session), int(imports or 0)


def test_a_ledger_with_one_bad_row_after_a_good_import_changes_nothing(workspace: Workspace, tmp_path: Path) -> None:
    import_ledger(workspace, _write_csv(tmp_path / "ledger.csv", LEDGER_HEADER, _ledger_rows()))
    before = _stored(workspace)
    assert len(before[0]) == 36

    restated = [
        ("01A", "2025/26", "M08", "acute", "Trust A", "2,000,000,000.00", "1.00", ""),
        ("01A", "2025/26", "M09", "acute", "Trust A", "2,000,000,000.00", "2.00", ""),
        ("01A", "2025/26", "M09", "prescribing", "", "£50m", "1,23", ""),  # ambiguous: refused
        ("01A", "2025/26", "M10", "acute", "Trust A", "2,000,000,000.00", "3.00", ""),
    ]
    with pytest.raises(ProblemsError) as raised:
        import_ledger(workspace, _write_csv(tmp_path / "bad.csv", LEDGER_HEADER, restated))
    assert [(problem.row, problem.column) for problem in raised.value.problems] == [(4, "actual")]
    assert _stored(workspace) == before


def test_a_failure_inside_the_import_transaction_rolls_back_the_delete(workspace: Workspace, tmp_path: Path) -> None:
    """The database's own atomicity: the month is deleted, then the insert breaks the unique constraint."""
    import_ledger(workspace, _write_csv(tmp_path / "ledger.csv", LEDGER_HEADER, _ledger_rows()))
    before = _stored(workspace)
    line = LedgerLine("01A", YEAR, 8, CostCategory.ACUTE, "Trust A", 1, 1)
    with pytest.raises(IntegrityError), workspace.store.transaction() as session:
        record = repository.record_import(session, "ledger", "twice.csv", "0" * 64, 2)
        assert repository.replace_ledger_months(session, [line, line], record.id) == 3
    assert _stored(workspace) == before


def test_importing_a_month_again_replaces_it(workspace: Workspace, tmp_path: Path) -> None:
    ledger = _write_csv(tmp_path / "ledger.csv", LEDGER_HEADER, _ledger_rows())
    import_ledger(workspace, ledger)
    first = _stored(workspace)
    again = import_ledger(workspace, ledger)
    assert again.replaced_rows == 36
    assert _stored(workspace)[:2] == first[:2]

    month_8 = [
        ("01A", "2025/26", "M08", "acute", "Trust A", "2,000,000,000.00", "1,999,999,999.99", ""),
        ("01A", "2025/26", "M08", "acute", "Trust B", "£10m", "£11m", ""),
    ]
    summary = import_ledger(workspace, _write_csv(tmp_path / "m08.csv", LEDGER_HEADER, month_8), replace=True)
    assert summary.replaced_rows == 3
    rows, periods, imports = _stored(workspace)
    assert imports == first[2] + 2
    assert len(rows) == 36 - 3 + 2
    keys = [(row["month"], row["category"], row["subcategory"]) for row in rows]
    assert len(keys) == len(set(keys))
    assert [(row["category"], row["subcategory"], row["actual_pence"]) for row in rows if row["month"] == 8] == [
        ("acute", "Trust A", 199_999_999_999),
        ("acute", "Trust B", 1_100_000_000),
    ]
    assert [row for row in rows if row["month"] != 8] == [row for row in first[0] if row["month"] != 8]
    assert (("01A", 2025, 8, 2) in periods) and len(periods) == 12
    with workspace.store.reading() as session:
        assert session.scalar(select(func.count()).select_from(LedgerLineRow)) == 35
