"""``outturn benchmark`` end to end: a workspace's activity and practice populations, priced at the national tariff,
against hand-worked rates, ranks and opportunity."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.activity import OP_SCHEMA, ActivityKind
from outturn.domain.benchmark import Basis, BenchmarkKind, BenchmarkSpec, Level, find_measure
from outturn.domain.periods import FinancialYear
from outturn.domain.populations import PRACTICE_POPULATIONS_SCHEMA, PRACTICE_POPULATIONS_TABLE
from outturn.services.benchmark import NOTHING_PRICED, benchmark
from outturn.services.pricing import ACTIVITY_TABLES
from outturn.services.workspace import Workspace, init_workspace, open_workspace

# the hand-worked example of tests/test_benchmark.py: A is the lowest referrer on its list (28.0 per 1,000) but
# sits on the median once weighted (40.0); only B is above the weighted median, by 80 referrals
HAND = (("A", 10_000, 7_000.0, 280), ("B", 8_000, 8_000.0, 400), ("C", 6_000, 6_000.0, 240))
HAND += (("D", 5_000, 6_250.0, 225), ("E", 4_000, 4_000.0, 140))
PCNS = {"A": "P1", "B": "P1", "C": "P2", "D": "P2", "E": "P3", "F": "P9", "G": "P3"}
# General Surgery's 2018/19 first attendance price, £163.00, x Worcestershire Health and Care's MFF 1.036391
FIRST_PRICE = 16_893  # 16,300 x 1.036391 = 16,893.17 -> 16,893p


def _arrow(rows: list[dict[str, Any]], schema: Any) -> pa.Table:
    arrow_schema = ibis.schema(dict(schema)).to_pyarrow()
    return pa.table({name: [row.get(name) for row in rows] for name in schema}, schema=arrow_schema)


def _populations() -> pa.Table:
    rows = [
        {"practice": code, "practice_name": f"Practice {code}", "list_size": size, "wp_general_acute": weighted}
        for code, size, weighted, _count in HAND
    ]
    rows.append({"practice": "F", "practice_name": "Elsewhere", "list_size": 3_000, "wp_general_acute": 3_000.0})
    rows.append({"practice": "G", "practice_name": "No weighting", "list_size": 2_000, "wp_general_acute": None})
    for row in rows:
        row["pcn"] = PCNS[row["practice"]]
        row["sub_icb"] = {"E": "S2", "G": "S2", "F": "SX"}.get(row["practice"], "S1")
        row["icb"] = "QXX" if row["practice"] == "F" else "QU9"
    return _arrow(rows, PRACTICE_POPULATIONS_SCHEMA)


def _attendance(number: int, practice: str, day: datetime.date, kind: str = "first") -> dict[str, Any]:
    return {
        "attendance_id": f"OP{number}",
        "provider": "R1A",
        "commissioner": "QU9",
        "practice": practice,
        "patient_id": f"N{number}",
        "attendance_date": day,
        "attendance_type": kind,
        "treatment_function": "100",
        "procedure_hrg": None,
        "referral_source": "gp",
        "age": 50,
    }


def _activity() -> pa.Table:
    in_year, last_year = datetime.date(2018, 6, 1), datetime.date(2018, 3, 31)
    counts = {code: count for code, _size, _weighted, count in HAND} | {"F": 900, "G": 10, "Z": 7}
    rows = [_attendance(n, code, in_year) for code, count in counts.items() for n in range(count)]
    rows += [_attendance(n, "A", last_year) for n in range(500)]  # 2017/18: outside the year benchmarked
    rows += [_attendance(n, "B", in_year, "follow_up") for n in range(50)]  # not a GP referral
    for number, row in enumerate(rows):
        row["attendance_id"] = f"OP{number}"
    return _arrow(rows, OP_SCHEMA)


def _workspace(directory: Path, reference: Path) -> Workspace:
    workspace = init_workspace(directory, default_org="QU9", default_as_at="2018-11", reference_dir=reference)
    workspace.backend.store_table(PRACTICE_POPULATIONS_TABLE, _populations())
    workspace.backend.store_table(ACTIVITY_TABLES[ActivityKind.OP], _activity())
    return workspace


@pytest.fixture
def priced_workspace(tmp_path: Path, reference_dir: Path) -> Path:
    _workspace(tmp_path / "ws", reference_dir).close()
    return tmp_path / "ws"


def test_rates_ranks_and_opportunity_priced_at_the_system_s_average_price(priced_workspace: Path) -> None:
    with open_workspace(priced_workspace) as workspace:
        result = benchmark(workspace, find_measure("gp_referrals"))  # QU9 in 2018/19: the workspace's defaults
    rows = {row["org_code"]: row for row in result.rows}
    assert set(rows) == {"A", "B", "C", "D", "E"}  # F is in another ICB; G has no weighted population
    assert (rows["A"]["activity"], rows["A"]["rate_actual"], rows["A"]["rate_weighted"]) == (280, 28.0, 40.0)
    assert (rows["A"]["rank_actual"], rows["A"]["rank_weighted"], rows["A"]["rank_change"]) == (5, 2, 3)
    assert result.practice_benchmark_rate == 40.0
    assert result.unit_price_pence == FIRST_PRICE
    assert [code for code, row in rows.items() if row["above_benchmark"]] == ["B"]
    assert rows["B"]["opportunity_pence"] == 80 * FIRST_PRICE
    assert result.excluded == [
        {"org_code": "G", "org_name": "No weighting", "activity": 10, "reason": "no list size or weighted population"}
    ]
    assert result.unmatched_activity == 7  # practice Z is in no populations table
    assert result.warnings == []


def test_without_a_tariff_the_opportunity_is_counted_in_activity_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OUTTURN_REFERENCE_DIR", raising=False)  # it would beat the workspace's empty directory
    (tmp_path / "empty").mkdir()
    with _workspace(tmp_path / "ws", tmp_path / "empty") as workspace:
        spec = BenchmarkSpec(basis=Basis.ACTUAL)
        result = benchmark(workspace, find_measure("gp_referrals"), spec=spec, year=FinancialYear(2018))
    rows = {row["org_code"]: row for row in result.rows}
    assert {code: row["opportunity_activity"] for code, row in rows.items() if row["above_benchmark"]} == {
        "B": 80.0,
        "D": 25.0,
    }
    assert result.unit_price_pence is None and rows["B"]["opportunity_pence"] is None
    assert result.warnings == [NOTHING_PRICED]


def test_all_years_and_another_icb_change_what_is_compared(priced_workspace: Path) -> None:
    with open_workspace(priced_workspace) as workspace:
        elsewhere = benchmark(workspace, find_measure("gp_referrals"), org="QXX", level=Level.SUB_ICB)
        wider = benchmark(
            workspace, find_measure("outpatient_follow_up"), spec=BenchmarkSpec(BenchmarkKind.AVERAGE), org="S1"
        )
    assert [(row["org_code"], row["activity"], row["practices"]) for row in elsewhere.rows] == [("SX", 900, 1)]
    assert {row["org_code"]: row["activity"] for row in wider.rows} == {"A": 0, "B": 50, "C": 0, "D": 0}


def _cli(workspace: Path, *arguments: str) -> Any:
    return CliRunner().invoke(app, ["--workspace", str(workspace), "benchmark", *arguments])


def test_the_json_document_at_pcn_level(priced_workspace: Path) -> None:
    result = _cli(priced_workspace, "--measure", "gp_referrals", "--level", "pcn", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["measure"]["name"] == "gp_referrals" and document["measure"]["per"] == 1000
    assert document["level"] == "pcn" and document["financial_year"] == "2018/19"
    assert document["benchmark"]["kind"] == "median" and document["benchmark"]["practice_benchmark_rate"] == 40.0
    rows = {row["org_code"]: row for row in document["rows"]}
    assert set(rows) == {"P1", "P2", "P3"}
    assert rows["P1"]["opportunity_pence"] == 80 * FIRST_PRICE  # B's, summed into its PCN
    summary = document["summary"]
    assert summary["opportunity_pence"] == 80 * FIRST_PRICE and summary["practices_above_benchmark"] == 1
    assert (summary["activity"], summary["population"], summary["practices"]) == (1_285, 33_000, 5)
    assert summary["rate_weighted"] == pytest.approx(1_285_000 / 31_250)
    assert summary["unmatched_activity"] == 7 and len(summary["excluded_practices"]) == 1


def test_the_table_and_the_errors(priced_workspace: Path, tmp_path: Path) -> None:
    table = _cli(priced_workspace, "--measure", "gp_referrals", "--rate", "30", "--top", "2")
    assert table.exit_code == 0, table.output
    assert "benchmark: given" in table.output and "£" in table.output
    unknown = _cli(priced_workspace, "--measure", "bed_days", "--format", "json")
    assert unknown.exit_code == 2 and "unknown measure" in json.loads(unknown.stdout)["error"]
    assert CliRunner().invoke(app, ["init", str(tmp_path / "bare"), "--reference-dir", str(tmp_path)]).exit_code == 0
    bare = _cli(tmp_path / "bare", "--measure", "gp_referrals", "--format", "json")
    assert bare.exit_code == 2 and "no practice populations loaded" in json.loads(bare.stdout)["error"]
    nobody = _cli(priced_workspace, "--measure", "gp_referrals", "--org", "Q99", "--format", "json")
    assert nobody.exit_code == 2 and "no practices under Q99" in json.loads(nobody.stdout)["error"]


def test_prescribing_items_benchmarked_on_the_prescribing_weighted_population(tmp_path: Path) -> None:
    """Items per 1,000 prescribing-weighted population, valued at the average actual cost of an item; months
    outside the financial year are left out."""
    from outturn.domain.prescribing import PRESCRIBING_SCHEMA, PRESCRIBING_TABLE

    people = [("A", 1_000, 2_000.0), ("B", 1_000, 1_000.0), ("C", 1_000, 1_000.0)]
    populations = _arrow(
        [
            {"practice": code, "practice_name": code, "list_size": size, "wp_prescribing": weighted, "icb": "QU9"}
            for code, size, weighted in people
        ],
        PRACTICE_POPULATIONS_SCHEMA,
    )
    # (practice, month, items, actual cost pence): A 4,000 items, B 3,000, C 2,000 in 2018/19
    lines = [("A", "2018-04", 4_000, 400_000), ("B", "2018-05", 3_000, 330_000), ("C", "2019-03", 2_000, 170_000)]
    lines.append(("A", "2018-03", 9_999, 1))  # March 2018 is 2017/18
    records = _arrow(
        [
            {"year_month": month, "practice": code, "practice_name": code, "bnf_code": "0212000AAAAAAAA",
             "bnf_name": "x", "items": items, "quantity": float(items), "nic_pence": cost, "actual_cost_pence": cost}
            for code, month, items, cost in lines
        ],
        PRESCRIBING_SCHEMA,
    )  # fmt: skip
    with init_workspace(tmp_path / "ws", default_org="QU9", default_as_at="2018-11") as workspace:
        workspace.backend.store_table(PRACTICE_POPULATIONS_TABLE, populations)
        workspace.backend.store_table(PRESCRIBING_TABLE, records)
        result = benchmark(workspace, find_measure("prescribing-items"))
    rows = {row["org_code"]: row for row in result.rows}
    # per 1,000 weighted: A 2,000, B 3,000, C 2,000 -> median 2,000; per 1,000 registered: 4,000, 3,000, 2,000
    assert [rows[code]["rate_weighted"] for code in "ABC"] == [2_000.0, 3_000.0, 2_000.0]
    assert [rows[code]["rate_actual"] for code in "ABC"] == [4_000.0, 3_000.0, 2_000.0]
    assert result.practice_benchmark_rate == 2_000.0
    assert result.unit_price_pence == pytest.approx(900_000 / 9_000)  # £9,000 over 9,000 items: 100p an item
    assert rows["B"]["opportunity_activity"] == pytest.approx(1_000)  # 3,000 - 2,000 x 1,000 / 1,000
    assert rows["B"]["opportunity_pence"] == 100_000
    assert (rows["A"]["opportunity_pence"], rows["C"]["opportunity_pence"]) == (0, 0)
