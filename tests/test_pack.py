"""The monthly board pack: its XLSX and PDF reconcile with the JSON outputs of the same month, and its narrative
states the computed figures.

The references are independent of the pack builder: every expected figure comes from running the commands
(``outturn position``, ``savings rollup``, ``savings movement``, ``contracts statement``, ``benchmark``, ``scenario
run``, ``risk simulate``, ``risks list``) with ``--format json`` through the CLI on the same workspace; the
narrative's amounts are parsed back out of its text and rounded here from the pence, half away from zero. The
workspace is the demo's monthly cycle at 3% of ICB-scale activity, built once a session; pages of the PDF are
kept as PNG under ``test-artifacts/pack/``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.benchmark import MEASURE_REGISTRY
from outturn.domain.ledger import CostCategory
from outturn.domain.periods import FinancialMonth
from outturn.domain.position import BridgeStep, CategoryPosition, Position, RiskRange
from outturn.domain.savings import SavingsFigures
from outturn.engine.activity_series import week_starts, weekly_units, whole_weeks
from outturn.engine.backends import Backend, memtable
from outturn.reports.pack import BoardPack, PackInputs, build_board_pack, tidy_name, workstream_rag
from outturn.reports.pack_xlsx import write_xlsx
from outturn.services.demo import DemoResult
from outturn.services.pack import PackFiles

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "pack"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TRIALS = 2_000  # the session demo's (tests/conftest.py: SMALL_DEMO_TRIALS)
AS_AT, PREVIOUS = "2025-11", "2025-10"


@dataclass(frozen=True)
class Demo:
    workspace: Path
    pack: BoardPack
    files: PackFiles


@pytest.fixture(scope="module")
def demo(small_demo: DemoResult) -> Demo:
    """The session's demo (tests/conftest.py's ``small_demo``: 3% of ICB-scale activity, ``TRIALS`` trials)."""
    assert small_demo.pack is not None and small_demo.pack_files is not None
    return Demo(small_demo.workspace, small_demo.pack, small_demo.pack_files)


def cli_json(workspace: Path, *arguments: str) -> Any:
    result = CliRunner().invoke(app, ["--workspace", str(workspace), *arguments, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- reading the workbook back ---------------------------------------------------------------------------------


def tables(path: Path, sheet: str) -> list[list[dict[str, Any]]]:
    """The sheet's tables (from row 4: headings, rows, a blank row between tables) as lists of dicts."""
    found: list[list[dict[str, Any]]] = []
    headings: list[Any] | None = None
    for values in load_workbook(path, read_only=True)[sheet].iter_rows(min_row=4, values_only=True):
        if all(value is None for value in values):
            headings = None
        elif headings is None:
            headings = list(values)
            found.append([])
        else:
            found[-1].append(dict(zip(headings, values, strict=False)))
    return found


def pence_columns(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value for key, value in row.items() if isinstance(key, str) and (key == "pence" or key.endswith("_pence"))
    }


def check_pence(rows: list[dict[str, Any]], documents: list[dict[str, Any]], key: str, heading: str) -> int:
    """Every ``*_pence`` column of each row equals the JSON document whose ``key`` is the row's ``heading``
    cell; returns how many figures were compared."""
    by_key = {document[key]: document for document in documents}
    checked = 0
    for row in rows:
        document = by_key[row[heading]]
        for column, value in pence_columns(row).items():
            assert value == document[column], (row[heading], column)
            checked += 1
    return checked


def test_position_sheets_equal_outturn_position_json(demo: Demo) -> None:
    for sheet, month in (("Position", AS_AT), ("Position last month", PREVIOUS)):
        document = cli_json(demo.workspace, "position", "--as-at", month)
        fields, risk, categories, deductions, _warnings = tables(demo.files.xlsx, sheet)  # type: ignore[arg-type]
        assert {row["Field"]: row["pence"] for row in fields} == {
            row["Field"]: document[row["Field"]] for row in fields
        }
        assert len(fields) == 17
        assert {row["Field"]: row["pence"] for row in risk} == dict(document["risk"])
        assert [row["Category"] for row in categories] == [row["category"] for row in document["by_category"]]
        for row, expected in zip(categories, document["by_category"], strict=True):
            assert pence_columns(row) == {k: v for k, v in expected.items() if k.endswith("_pence")}
            assert round(row["Forecast outturn"] * 100) == expected["forecast_outturn_pence"]  # £ and pence agree
        assert len(deductions) == len(document["deductions"])
    (bridge,) = tables(demo.files.xlsx, "Bridge")  # type: ignore[arg-type]
    position = cli_json(demo.workspace, "position", "--as-at", AS_AT)
    assert [(row["Step"], row["pence"], row["running_pence"]) for row in bridge] == [
        (step["label"], step["pence"], step["running_pence"]) for step in position["bridge"]
    ]


def test_forecast_history_sheet_and_drift_equal_position_history_json(demo: Demo) -> None:
    """The demo records its forecast at every month-end to M08; the pack's sheet and drift table show those figures,
    and the M07 and M08 records equal the positions computed as at those months (the same ledger, the same method)."""
    history = cli_json(demo.workspace, "position", "history")
    months = history["months"]
    assert [month["month"] for month in months] == [f"M{number:02d}" for number in range(1, 9)]
    assert months[-1]["forecast_outturn_pence"] == demo.pack.position.forecast_outturn_pence
    assert demo.pack.previous_position is not None
    assert months[-2]["forecast_outturn_pence"] == demo.pack.previous_position.forecast_outturn_pence
    for earlier, later in pairwise(months):
        moved = later["movement"]
        assert moved["total_pence"] == later["forecast_outturn_pence"] - earlier["forecast_outturn_pence"]
        parts = moved["new_actuals_pence"] + moved["method_changes_pence"] + moved["overrides_pence"]
        assert parts == moved["total_pence"]
    assert demo.files.xlsx is not None
    [rows] = tables(demo.files.xlsx, "Forecast history")
    assert [row["Month"] for row in rows] == [month["month"] for month in months]
    for row, month in zip(rows, months, strict=True):
        for key in ("forecast_outturn_pence", "forecast_surplus_pence", "control_total_pence"):
            assert row[key] == month[key]
        for key in ("total_pence", "new_actuals_pence", "method_changes_pence", "overrides_pence"):
            assert row[key] == (month["movement"][key] if month["movement"] else None)
    assert demo.files.html is not None
    html = demo.files.html.read_text(encoding="utf-8")
    drift = html[html.index('id="forecast-drift"') :]
    drift = drift[: drift.index("</table>")]
    assert drift.count("<tr>") == 1 + len(months)  # the heading and one row a month


def test_savings_sheet_equals_savings_rollup_and_movement_json(demo: Demo) -> None:
    workstreams = cli_json(
        demo.workspace, "savings", "rollup", "--as-at", AS_AT, "--level", "workstream", "--org", "QU9"
    )
    (icb,) = cli_json(demo.workspace, "savings", "rollup", "--as-at", AS_AT, "--level", "icb", "--org", "QU9")
    movement = cli_json(demo.workspace, "savings", "movement", "--from", PREVIOUS, "--to", AS_AT)
    schemes = cli_json(demo.workspace, "savings", "list", "--as-at", AS_AT)
    by_workstream, total = tables(demo.files.xlsx, "Savings")  # type: ignore[arg-type]
    expected = {row["code"]: row for row in workstreams}
    assert {row["Code"] for row in by_workstream} == set(expected)
    workstream_of = {scheme["reference"]: scheme["workstream"] for scheme in schemes}
    moved: dict[str, int] = {}
    for item in movement["schemes"]:
        moved[workstream_of[item["reference"]]] = (
            moved.get(workstream_of[item["reference"]], 0) + item["forecast_change_pence"]
        )
    for row in by_workstream:
        figures = expected[row["Code"]]
        for column in (
            "plan_pence",
            "plan_to_date_pence",
            "delivered_pence",
            "forecast_pence",
            "shortfall_pence",
            "risk_adjusted_pence",
            "pipeline_pence",
        ):
            assert row[column] == figures[column], (row["Code"], column)
        assert (row["Red"], row["Amber"], row["Green"]) == tuple(figures["rag"][c] for c in ("red", "amber", "green"))
        assert row["forecast_change_pence"] == moved.get(row["Code"], 0)
    (only,) = total
    for column in (
        "plan_pence",
        "delivered_pence",
        "forecast_pence",
        "risk_adjusted_pence",
        "target_pence",
        "identified_pence",
        "unidentified_pence",
    ):
        assert only[column] == icb[column], column
    (movements,) = tables(demo.files.xlsx, "Savings movement")  # type: ignore[arg-type]
    assert check_pence(movements, movement["schemes"], "reference", "Reference") == 4 * len(movement["schemes"])
    assert movement["forecast_change_pence"] != 0  # the month's updates moved the forecast: a real movement


def test_contract_sheets_equal_contracts_statement_json(demo: Demo) -> None:
    with (demo.workspace / "inputs" / "contracts.csv").open() as handle:
        providers = sorted({line.split(",")[0] for line in handle.readlines()[1:]})
    statements = [
        s for provider in providers for s in cli_json(demo.workspace, "contracts", "statement", "--provider", provider)
    ]
    (contracts,) = tables(demo.files.xlsx, "Contracts")  # type: ignore[misc]
    expected = {(s["provider"], s["commissioner"]): s for s in statements}
    assert sorted((row["Provider"], row["Commissioner"]) for row in contracts) == sorted(expected)
    for row in contracts:
        statement = expected[(row["Provider"], row["Commissioner"])]
        assert pence_columns(row) == {k: statement[k] for k in pence_columns(row)}
    (lines,) = tables(demo.files.xlsx, "Contract lines")  # type: ignore[misc]
    expected_lines = {
        (s["provider"], s["commissioner"], line["point_of_delivery"]): line for s in statements for line in s["lines"]
    }
    assert len(lines) == len(expected_lines)
    for row in lines:
        line = expected_lines[(row["Provider"], row["Commissioner"], row["Point of delivery"])]
        assert pence_columns(row) == {k: line[k] for k in pence_columns(row)}
        assert row["YTD actual activity"] == line["ytd_actual_activity"]
    (rules,) = tables(demo.files.xlsx, "Contract rules")  # type: ignore[misc]
    expected_rules = [(s["provider"], s["commissioner"], rule) for s in statements for rule in s["payment_rules"]]
    assert expected_rules  # the demo's contracts carry SYNTHETIC payment rules
    assert [(row["Provider"], row["Commissioner"], row["Rule"]) for row in rules] == [
        (provider, commissioner, rule["label"]) for provider, commissioner, rule in expected_rules
    ]
    for row, (_p, _c, rule) in zip(rules, expected_rules, strict=True):
        assert pence_columns(row) == {k: rule[k] for k in pence_columns(row)}
    assert demo.files.html is not None
    html = demo.files.html.read_text(encoding="utf-8")
    assert "Payment rules on top of the tariff" in html and "emergency readmissions within 30 days" in html


def test_risk_sheets_equal_risk_simulate_and_risks_list_json(demo: Demo) -> None:
    simulation = cli_json(demo.workspace, "risk", "simulate", "--as-at", AS_AT, "--trials", str(TRIALS), "--seed", "1")
    fields, reconciliation, share, fan, tornado, histogram = tables(demo.files.xlsx, "Risk")  # type: ignore[misc]
    assert {row["Field"]: row["pence"] for row in fields} == {row["Field"]: simulation[row["Field"]] for row in fields}
    assert [(row["Kind"], row["pence"], row["running_pence"]) for row in reconciliation] == [
        (step["kind"], step["pence"], step["running_pence"]) for step in simulation["reconciliation"]["steps"]
    ]
    assert share[0]["Value"] == simulation["p_meet_control_total"]
    assert [pence_columns(row) for row in fan] == [
        {k: v for k, v in p.items() if k != "month"} for p in simulation["fan"]
    ]
    assert [(row["Driver"], row["swing_pence"]) for row in tornado] == [
        (b["driver"], b["swing_pence"]) for b in simulation["tornado"]
    ]
    assert [row["Trials"] for row in histogram] == [bin_["trials"] for bin_ in simulation["distribution"]]
    register = cli_json(demo.workspace, "risks", "list", "--year", "2025/26")
    (rows,) = tables(demo.files.xlsx, "Risks and mitigations")  # type: ignore[misc]
    assert [(r["Description"], r["value_pence"], r["expected_pence"]) for r in rows] == [
        (item["description"], item["value_pence"], item["expected_pence"]) for item in register
    ]


def test_benchmark_and_scenario_sheets_equal_their_commands_json(demo: Demo) -> None:
    for measure in ("emergency_admissions", "gp_referrals"):
        document = cli_json(demo.workspace, "benchmark", "--measure", measure)
        (rows,) = tables(demo.files.xlsx, f"Benchmark {measure}"[:31])  # type: ignore[misc]
        assert len(rows) == len(document["rows"]) > 100
        assert check_pence(rows, document["rows"], "org_code", "Practice") == 2 * len(rows)
        expected = {row["org_code"]: row["activity"] for row in document["rows"]}
        assert {row["Practice"]: row["Activity"] for row in rows} == expected
    (comparison,) = tables(demo.files.xlsx, "Scenarios")  # type: ignore[misc]
    for path in sorted((demo.workspace / "inputs" / "scenarios").glob("*.toml")):
        document = cli_json(demo.workspace, "scenario", "run", str(path))
        (row,) = [row for row in comparison if row["Scenario"] == document["name"]]
        assert row["forecast_outturn_pence"] == document["scenario"]["forecast_outturn_pence"]
        assert row["gap_to_control_total_pence"] == document["scenario"]["gap_to_control_total_pence"]
        assert (row["change_pence"], row["full_year_effect_pence"]) == (
            document["change_pence"],
            document["full_year_effect_pence"],
        )
    assert comparison[0]["Scenario"] == "Baseline"


def _m(pence: int) -> str:
    """£m to one decimal place, half away from zero, written independently of the code under test."""
    tenths = (Decimal(abs(pence)) / Decimal(10_000_000)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"£{tenths / 10:,.1f}m"


def test_the_narrative_states_the_computed_figures(demo: Demo) -> None:
    now = cli_json(demo.workspace, "position", "--as-at", AS_AT)
    before = cli_json(demo.workspace, "position", "--as-at", PREVIOUS)
    sentence = demo.pack.narrative[0]
    match = re.fullmatch(
        r"The forecast outturn is a (£[\d.,]+m) deficit against a control total of break-even: "
        r"a gap of (£[\d.,]+m), (up|down) (£[\d.,]+m) since last month \(M07\), "
        r"mainly from ([a-z ()]+) \(forecast spend (?:up|down) (£[\d.,]+m)\)\.",
        sentence,
    )
    assert match, sentence
    surplus, gap, direction, change, category, category_change = match.groups()
    assert now["control_total_pence"] == 0 and now["forecast_surplus_pence"] < 0
    assert surplus == _m(now["forecast_surplus_pence"])
    assert gap == _m(now["gap_to_control_total_pence"])
    moved = now["gap_to_control_total_pence"] - before["gap_to_control_total_pence"]
    assert (direction, change) == ("up" if moved > 0 else "down", _m(moved))
    changes = {
        row["label"].lower(): row["forecast_outturn_pence"] - old["forecast_outturn_pence"]
        for row, old in zip(now["by_category"], before["by_category"], strict=True)
    }
    same_way = {label: value for label, value in changes.items() if (value > 0) == (moved > 0) and value}
    assert category == max(same_way, key=lambda label: abs(same_way[label]))
    assert category_change == _m(changes[category])

    (icb,) = cli_json(demo.workspace, "savings", "rollup", "--as-at", AS_AT, "--level", "icb", "--org", "QU9")
    savings = next(s for s in demo.pack.narrative if s.startswith("Savings of"))
    share = (Decimal(icb["delivered_pence"]) / icb["plan_to_date_pence"] * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
    assert savings.startswith(
        f"Savings of {_m(icb['delivered_pence'])} have been delivered against {_m(icb['plan_to_date_pence'])} planned "
        f"to date ({share}%); the year's forecast is {_m(icb['forecast_pence'])} against a plan of "
        f"{_m(icb['plan_pence'])} ({icb['shortfall_pct']}% short), and {_m(icb['risk_adjusted_pence'])} risk-adjusted."
    )
    simulation = cli_json(demo.workspace, "risk", "simulate", "--as-at", AS_AT, "--trials", str(TRIALS))
    chance = (Decimal(repr(simulation["p_meet_control_total"])) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
    assert any(
        s.startswith(f"The chance of meeting the control total is {chance}% in {TRIALS:,} simulated years")
        for s in demo.pack.narrative
    )


def test_the_pdf_renders_its_pages_and_states_the_headline(demo: Demo) -> None:
    if not (shutil.which("pdftoppm") and shutil.which("pdftotext")):
        pytest.skip("pdftoppm and pdftotext (poppler-utils) are not installed: run `make system-packages`")
    assert demo.files.pdf is not None
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(demo.files.pdf), "-"], check=True, capture_output=True, text=True
        ).stdout.split()
    )
    position = cli_json(demo.workspace, "position", "--as-at", AS_AT)
    assert f"{_m(position['forecast_surplus_pence'])} deficit" in text
    assert " ".join(demo.pack.narrative[0].split()) in text
    for heading in (
        "Position as at M08 2025/26",
        "Savings (QIPP) tracker",
        "Provider contracts",
        "Practice benchmarking",
        "statistical process control",
        "Recovery scenarios compared",
        "Risks and mitigations",
    ):
        assert heading in text, heading
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("page-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(demo.files.pdf), str(ARTIFACTS / "page")], check=True)
    pages = sorted(ARTIFACTS.glob("page-*.png"))
    assert len(pages) >= 10
    for page in pages:
        width, height = _png_size(page)
        assert abs(width / height - 210 / 297) < 0.01  # A4 portrait
        assert page.stat().st_size > 5_000  # not blank


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def test_the_html_is_one_self_contained_page_with_its_charts_inline(demo: Demo) -> None:
    assert demo.files.html is not None
    html = demo.files.html.read_text()
    assert html.count("<svg") >= 9  # waterfall, two benchmark funnels, generic rate, three SPC, fan, tornado
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert "<link" not in html and "<script" not in html
    assert "SYNTHETIC" in html


def test_every_year_end_figure_carries_its_one_label_and_the_simulation_reconciles_to_the_likely(demo: Demo) -> None:
    """The pack names the year-end figures as the JSON does (labels written out here), and the risk page bridges
    the position's likely to the simulated mean with the same steps as ``risk simulate --format json``."""
    assert demo.files.html is not None
    html = demo.files.html.read_text()
    position = cli_json(demo.workspace, "position", "--as-at", AS_AT)
    simulation = cli_json(demo.workspace, "risk", "simulate", "--as-at", AS_AT, "--trials", str(TRIALS), "--seed", "1")
    labels = {item["field"]: item["label"] for item in position["year_end"]}
    assert labels == {
        "control_total_pence": "Control total",
        "forecast_surplus_pence": "Forecast surplus/(deficit)",
        "best_surplus_pence": "Risk-adjusted best case",
        "likely_surplus_pence": "Risk-adjusted forecast (likely)",
        "worst_surplus_pence": "Risk-adjusted worst case",
    }
    for label in (*labels.values(), "Simulated expected (mean)", "P10", "P50", "P90"):
        assert escape(label, quote=False) in html, label
    assert "Likely surplus" not in html and "Simulated mean" not in html
    steps = simulation["reconciliation"]["steps"]
    assert steps[0]["pence"] == position["risk"]["likely_surplus_pence"]
    assert steps[-1]["pence"] == simulation["mean_surplus_pence"]
    assert steps[0]["pence"] + sum(step["pence"] for step in steps[1:-1]) == steps[-1]["pence"]
    error = simulation["reconciliation"]["standard_error_pence"]
    assert abs(simulation["reconciliation"]["difference_pence"]) <= 4 * error
    table = html[html.index('id="reconciliation"') :]
    table = table[: table.index("</table>")]
    assert [escape(step["label"], quote=False) in table for step in steps] == [True] * len(steps)
    assert [step["label"] for step in position["bridge"] if step["label"].startswith("Savings")] == [
        "Savings shortfall (risk-adjusted)"
    ]


AUTO_WORDS = "each line's best back-tested method"  # the method ``auto`` as a reader reads it


def test_a_reader_sees_the_method_auto_in_words_labels_mid_sentence_and_a_rounding_note(demo: Demo) -> None:
    """The demo forecasts by ``auto`` (the default; the JSON keeps the name): the cover and the Position sheet's
    subtitle say it in words; a label mid-sentence is in sentence case; the savings target's parts carry the note
    that each is rounded on its own."""
    assert demo.files.html is not None and demo.files.xlsx is not None
    assert cli_json(demo.workspace, "position", "--as-at", AS_AT)["method"] == "auto"
    html = demo.files.html.read_text()
    assert "forecast by each line&#39;s best back-tested method" in html and "forecast by auto" not in html
    assert "(auto)" not in html
    assert "From the risk-adjusted forecast (likely) to the simulated expected (mean)" in html
    savings = html[html.index('id="savings"') :]
    assert "figures are rounded separately" in savings[: savings.index("</p>")]
    subtitle = load_workbook(demo.files.xlsx, read_only=True)["Position"].cell(2, 1).value
    assert subtitle.endswith(f"(forecast by {AUTO_WORDS})"), subtitle


def test_outturn_pack_prints_where_the_pack_is_and_the_headline(demo: Demo, tmp_path: Path) -> None:
    document = cli_json(demo.workspace, "pack", "--out", str(tmp_path), "--output", "xlsx", "--trials", "200")
    assert document["files"]["html"] is None and Path(document["files"]["xlsx"]).is_file()
    position = cli_json(demo.workspace, "position")
    head = document["headline"]
    assert head["forecast_surplus_pence"] == position["forecast_surplus_pence"]
    assert head["gap_to_control_total_pence"] == position["gap_to_control_total_pence"]
    assert head["previous_month"] == "M07"
    assert 0 <= head["p_meet_control_total"] <= 1


def test_a_pack_from_the_published_county_figures_says_what_the_issue_says(tmp_path: Path) -> None:
    """Two county PCTs, 2006/07, each forecasting a £24m deficit against a £17m deficit control total."""
    workspace = tmp_path / "county"
    example = EXAMPLES / "two-county-pcts-2006-07"
    runner = CliRunner()
    for command in (
        ["init", str(workspace), "--org", "PCTN", "--as-at", "2006-11", "--reference-dir", str(tmp_path)],
        ["--workspace", str(workspace), "orgs", "import", str(example / "organisations.csv")],
        ["--workspace", str(workspace), "plan", "import", str(example / "plan.csv")],
        ["--workspace", str(workspace), "ledger", "import", str(example / "ledger.csv")],
    ):
        assert runner.invoke(app, command).exit_code == 0
    # the published figures are run-rate forecasts (auto, the default, would take budget-phased: no past year)
    document = cli_json(workspace, "pack", "--out", str(tmp_path / "pack"), "--trials", "500", "--method", "run-rate")
    assert document["narrative"][0].startswith(
        "The forecast outturn is a £24.0m deficit against a control total of £17.0m deficit: a gap of £7.0m"
    )
    assert all(Path(path).is_file() for path in document["files"].values())
    assert any("practice populations" in note for note in document["notes"])  # sections without data say why
    fields = tables(Path(document["files"]["xlsx"]), "Position")[0]
    assert {row["Field"]: row["pence"] for row in fields}["gap_to_control_total_pence"] == 700_000_000
    subtitle = load_workbook(document["files"]["xlsx"], read_only=True)["Position"].cell(2, 1).value
    assert subtitle.startswith("County PCT North (illustrative) as at M08 2006/07: budget, actual to date and forecast")


COMMAND = re.compile(r"\boutturn (position|savings|contracts|benchmark|patients|scenario|risks?|pack)\b")


def test_each_sheets_subtitle_says_what_its_figures_are_not_which_command_made_them(demo: Demo) -> None:
    """A board member reads the workbook, not the command line: no sheet's subtitle names a command or option."""
    assert demo.files.xlsx is not None
    book = load_workbook(demo.files.xlsx, read_only=True)
    subtitles = {sheet.title: sheet.cell(2, 1).value or "" for sheet in book.worksheets}
    assert len(subtitles) > 10
    for title, subtitle in subtitles.items():
        assert not COMMAND.search(subtitle) and "outturn." not in subtitle, (title, subtitle)
        assert "--" not in subtitle and "`" not in subtitle, (title, subtitle)
    assert subtitles["Risk"].startswith(f"The year-end surplus simulated {TRIALS:,} times")


@pytest.mark.parametrize(
    ("delivered", "plan_to_date", "forecast", "plan", "rag"),
    [
        (95, 100, 95, 100, "green"),  # exactly 95%: green
        (94, 100, 100, 100, "amber"),
        (100, 100, 80, 100, "amber"),  # exactly 80%: amber
        (100, 100, 79, 100, "red"),
        (0, 0, 0, 0, "green"),  # nothing planned yet: nothing to rate against
    ],
)
def test_a_workstream_applies_the_scheme_delivery_rules_to_its_totals(
    delivered: int, plan_to_date: int, forecast: int, plan: int, rag: str
) -> None:
    figures = SavingsFigures(
        delivered_pence=delivered, plan_to_date_pence=plan_to_date, forecast_pence=forecast, plan_pence=plan
    )
    assert workstream_rag(figures) == rag


def test_trust_names_are_shown_as_written_normally() -> None:
    assert (
        tidy_name("OXFORD UNIVERSITY HOSPITALS NHS FOUNDATION TRUST")
        == "Oxford University Hospitals NHS Foundation Trust"
    )
    assert tidy_name("County PCT North") == "County PCT North"


# --- the workbook holds money exactly; the weekly activity series counts what it says ---------------------------

CATEGORY_KEYS = (
    "annual_budget_pence",
    "ytd_budget_pence",
    "ytd_actual_pence",
    "ytd_one_off_pence",
    "forecast_outturn_pence",
)


def position_of(categories: list[dict[str, int]]) -> Position:
    """A position from category figures (a category each, in the ledger's order; no risks, no savings plan; the
    resource is the budgets' total and the control total break-even)."""
    rows = tuple(
        CategoryPosition(category, methods=("run-rate",), **figures)
        for category, figures in zip(CostCategory, categories, strict=False)
    )
    resource = sum(row.annual_budget_pence for row in rows)
    surplus = resource - sum(row.forecast_outturn_pence for row in rows)
    return Position(
        org_code="X",
        org_name="X",
        as_at=FinancialMonth.parse_as_at("2025-11"),
        method="run-rate",
        member_codes=("X",),
        recurrent_allocation_pence=resource,
        non_recurrent_allocation_pence=0,
        deductions=(),
        required_surplus_pence=0,
        control_total_pence=0,
        by_category=rows,
        risk=RiskRange(0, 0, 0, 0, surplus, surplus, surplus),
        bridge=(BridgeStep("Forecast surplus/(deficit)", surplus, "subtotal", surplus),),
        warnings=(),
    )


money_figures = st.integers(min_value=-(10**13), max_value=10**13)  # up to £100bn either way
category_figures = st.fixed_dictionaries(dict.fromkeys(CATEGORY_KEYS, money_figures))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(categories=st.lists(category_figures, min_size=1, max_size=6))
def test_the_workbook_holds_every_amount_exactly_in_pence_and_in_pounds(
    categories: list[dict[str, int]], tmp_path: Path
) -> None:
    path = write_xlsx(build_board_pack(PackInputs(position=position_of(categories))), tmp_path / "pack.xlsx")
    _fields, _risk, rows, _deductions, _warnings = tables(path, "Position")
    assert len(rows) == len(categories)
    for row, figures in zip(rows, categories, strict=True):
        for key in CATEGORY_KEYS:
            assert row[key] == figures[key]
        assert row["ytd_variance_pence"] == figures["ytd_budget_pence"] - figures["ytd_actual_pence"]
        assert row["forecast_variance_pence"] == figures["annual_budget_pence"] - figures["forecast_outturn_pence"]
        assert round(Decimal(repr(row["Forecast outturn"])) * 100) == figures["forecast_outturn_pence"]
    assert sum(row["forecast_outturn_pence"] for row in rows) == sum(f["forecast_outturn_pence"] for f in categories)


def test_weekly_units_count_the_measures_records_by_monday_week() -> None:
    """Against a plain-Python count: non-elective spells by discharge week, one commissioner, whole weeks only."""
    days = [date(2025, 4, 1) + timedelta(days=offset) for offset in range(0, 60, 3)]
    rows = [
        {"commissioner": commissioner, "admission_method": method, "discharge_date": day}
        for day in days
        for commissioner, method in (("10Q", "non_elective"), ("10Q", "elective"), ("14Y", "non_elective"))
    ]
    table = memtable(rows, {"commissioner": "string", "admission_method": "string", "discharge_date": "date"})
    first, last = whole_weeks(date(2025, 4, 1), date(2025, 5, 31))
    assert (first, last) == (date(2025, 4, 7), date(2025, 5, 25))  # Monday 7 April to Sunday 25 May
    counted = Backend().to_rows(
        weekly_units(
            table,
            MEASURE_REGISTRY["emergency_admissions"],
            "discharge_date",
            first_day=first,
            last_day=last,
            commissioners=["10Q"],
        )
    )
    expected: dict[date, int] = {}
    for day in days:
        if first <= day <= last:
            monday = day - timedelta(days=day.weekday())
            expected[monday] = expected.get(monday, 0) + 1
    assert {row["week_start"]: row["units"] for row in counted} == expected
    assert len(week_starts(first, last)) == 7


@pytest.mark.slow
def test_the_full_demo_writes_the_pack_and_prints_its_headline(reference_dir: Path, tmp_path: Path) -> None:
    """``outturn demo`` at ICB scale (about a minute): the pack's three files and a headline equal to the position."""
    result = CliRunner().invoke(
        app,
        ["demo", "--out", str(tmp_path / "ws"), "--format", "json"],
        env={"OUTTURN_REFERENCE_DIR": str(reference_dir)},
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    pack = document["pack"]
    assert all(Path(path).is_file() for path in pack["files"].values())
    assert pack["headline"]["forecast_surplus_pence"] == document["position"]["forecast_surplus_pence"]
    assert pack["sections"]["scenarios"] == ["Recovery plan 2025/26", "Demand management only"]
