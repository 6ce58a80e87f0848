"""The forecast method per category or ledger line: precedence, the store, the audit trail, the command, and the
method each category of the position states.

The position figures are worked by hand from a small ledger (as at M06 of 2025/26, no last year held):

- Adult CHC: budget £100k a month; actual £90k, £90k, £90k, £110k, £120k, £130k: £630k to date, the last three
  months £360k (£120k a month). Run rate 630 × 12 ÷ 6 = £1,260k; exit rate 630 + 6 × 120 = £1,350k.
- Children CHC: budget and actual £50k a month: £300k to date; every method gives £600k.
- Acute, Trust A: budget £200k a month M01–M06 and £300k M07–M12 (£3,000k; £1,200k to date); actual £200k, £200k,
  £210k, £230k, £240k, £240k: £1,320k to date (110% of budget), the last three months £710k. Run rate £2,640k;
  budget-phased 1,320 + 1,800 × 1,320 ÷ 1,200 = £3,300k.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import escape as html_escape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.errors import NotFound
from outturn.domain.forecast import ForecastMethod, LineFigures
from outturn.domain.forecast_methods import MethodPlan, MethodScope, MethodSetting
from outturn.domain.ledger import CostCategory
from outturn.reports.pack_html import render_html
from outturn.reports.position import position_document
from outturn.services import forecast_methods, users
from outturn.services.imports import import_ledger, import_organisations, import_plans
from outturn.services.pack import PackRequest, gather_pack
from outturn.services.position import compute_position
from outturn.services.users import Role
from outturn.services.workspace import Workspace, init_workspace
from outturn.store import method_settings
from outturn.store.database import Store
from outturn.web import WebConfig, create_app
from web_helpers import sign_in

K = 1_000 * 100  # £1k in pence
CHC = CostCategory.CONTINUING_HEALTHCARE
ACUTE = CostCategory.ACUTE
BUDGET_PHASED, EXIT_RATE, RUN_RATE, TREND = (
    ForecastMethod.BUDGET_PHASED,
    ForecastMethod.EXIT_RATE,
    ForecastMethod.RUN_RATE,
    ForecastMethod.TREND,
)


# --- precedence (pure) ----------------------------------------------------------------------------------------


def line(org_code: str, category: CostCategory, subcategory: str) -> LineFigures:
    return LineFigures(org_code, category, subcategory, 0, 0, 0, 0, 0, 0, exit_recurring_pence=0)


LINEAGE = {"01A": ("01A", "QXX", "Y60"), "02B": ("02B", "QXX", "Y60")}


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ((), TREND),  # nothing stored: the method asked for
        ((MethodSetting("01A", CHC, EXIT_RATE),), EXIT_RATE),  # the category's setting
        ((MethodSetting("01A", CHC, EXIT_RATE), MethodSetting("01A", CHC, BUDGET_PHASED, "Adult CHC")), BUDGET_PHASED),
        ((MethodSetting("01A", CHC, BUDGET_PHASED, "Children CHC"),), TREND),  # another line's setting
        ((MethodSetting("01A", ACUTE, EXIT_RATE),), TREND),  # another category's
        ((MethodSetting("02B", CHC, EXIT_RATE),), TREND),  # a sibling organisation's
        ((MethodSetting("QXX", CHC, EXIT_RATE),), EXIT_RATE),  # made above the line's organisation: applies
        ((MethodSetting("Y60", CHC, RUN_RATE), MethodSetting("QXX", CHC, EXIT_RATE)), EXIT_RATE),  # nearer wins
        ((MethodSetting("01A", CHC, RUN_RATE), MethodSetting("QXX", CHC, EXIT_RATE, "Adult CHC")), EXIT_RATE),
    ],
    ids=[
        "requested",
        "category",
        "line-beats-category",
        "other-line",
        "other-category",
        "sibling-org",
        "ancestor",
        "nearer-ancestor",
        "line-on-ancestor-beats-own-category",
    ],
)
def test_line_setting_beats_category_setting_beats_the_requested_method(
    settings: tuple[MethodSetting, ...], expected: ForecastMethod
) -> None:
    plan = MethodPlan(default=TREND, settings=settings, lineage=LINEAGE)
    assert plan.method_for(line("01A", CHC, "Adult CHC")) is expected


def test_a_per_category_pick_sits_between_the_settings_and_the_requested_method() -> None:
    picks = {CHC: EXIT_RATE, ACUTE: BUDGET_PHASED}  # e.g. the back-test's choice for `auto`
    plan = MethodPlan(default=RUN_RATE, by_category=picks, settings=(MethodSetting("01A", ACUTE, TREND),))
    assert plan.method_for(line("01A", CHC, "")) is EXIT_RATE
    assert plan.method_for(line("01A", ACUTE, "")) is TREND
    assert plan.method_for(line("01A", CostCategory.PRESCRIBING, "")) is RUN_RATE


def test_a_line_named_empty_is_a_line_setting_not_the_category() -> None:
    assert MethodSetting("01A", CHC, EXIT_RATE, "").scope is MethodScope.LINE
    assert MethodSetting("01A", CHC, EXIT_RATE).scope is MethodScope.CATEGORY
    plan = MethodPlan(default=RUN_RATE, settings=(MethodSetting("01A", CHC, EXIT_RATE, ""),))
    assert plan.method_for(line("01A", CHC, "")) is EXIT_RATE
    assert plan.method_for(line("01A", CHC, "Adult CHC")) is RUN_RATE


def test_an_unknown_method_names_the_ones_there_are() -> None:
    unknown = r"unknown forecast method 'crystal-ball' \(one of: run-rate, .*exit-rate, contract\)"
    with pytest.raises(ValueError, match=unknown):
        ForecastMethod.parse("crystal-ball")
    assert ForecastMethod.parse(" Exit-Rate ") is EXIT_RATE


# --- the store (SQLite and PostgreSQL) ------------------------------------------------------------------------


def test_settings_round_trip_through_the_store(store: Store) -> None:
    with store.transaction() as session:
        session.execute(
            text(
                "INSERT INTO organisations (code, name, kind, parent_code, source) "
                "VALUES (:c, 'N', 'sub_icb', NULL, 't')"
            ),
            [{"c": "01A"}, {"c": "02B"}],
        )
    category = MethodSetting("01A", CHC, EXIT_RATE, reason="CHC packages rising since June")
    empty_line = MethodSetting("01A", CHC, BUDGET_PHASED, "")
    named_line = MethodSetting("01A", CHC, TREND, "Adult CHC — £ packages", "new framework")
    other = MethodSetting("02B", ACUTE, RUN_RATE)
    with store.transaction() as session:
        for setting in (category, empty_line, named_line, other):
            method_settings.save_setting(session, setting, "finance.lead")
    with store.reading() as session:
        assert method_settings.settings_for(session, ["01A"]) == [category, empty_line, named_line]
        assert method_settings.settings_for(session) == [category, empty_line, named_line, other]
        assert method_settings.get_setting(session, MethodSetting("01A", CHC, RUN_RATE, "")) == empty_line
    replaced = MethodSetting("01A", CHC, BUDGET_PHASED, reason="back to the budget")
    with store.transaction() as session:
        method_settings.save_setting(session, replaced, "finance.lead")
        assert method_settings.delete_setting(session, empty_line)
        assert not method_settings.delete_setting(session, empty_line)
    with store.reading() as session:
        assert method_settings.settings_for(session, ["01A", "02B"]) == [replaced, named_line, other]


# --- a workspace: the command, the audit trail and the position ------------------------------------------------

ORGANISATIONS = """code,name,kind,parent_code
QXX,Test ICB,icb,
01A,North sub-ICB,sub_icb,QXX
"""
PLAN = """org_code,year,item,amount,description
01A,2025/26,recurrent_allocation,£5m,
01A,2025/26,control_total,0,
"""
# (category, line, monthly budget £k M01..M12, actual £k M01..M06)
LEDGER = (
    ("continuing_healthcare", "Adult CHC", [100] * 12, [90, 90, 90, 110, 120, 130]),
    ("continuing_healthcare", "Children CHC", [50] * 12, [50] * 6),
    ("acute", "Trust A", [200] * 6 + [300] * 6, [200, 200, 210, 230, 240, 240]),
)
AS_AT = "2025-09"  # M06


def _ledger_csv(path: Path) -> Path:
    rows = ["org_code,year,month,category,subcategory,budget,actual,one_off"]
    for category, subcategory, budgets, actuals in LEDGER:
        for month in range(1, 13):
            actual = f"{actuals[month - 1] * 1000}" if month <= len(actuals) else ""
            rows.append(f"01A,2025,M{month:02d},{category},{subcategory},{budgets[month - 1] * 1000},{actual},")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    # the figures are worked for run-rate as the requested method; the default, auto, is test_backtest's
    monkeypatch.setenv("OUTTURN_FORECAST_METHOD", "run-rate")
    opened = init_workspace(tmp_path / "ws", reference_dir=tmp_path, default_org="01A", default_as_at=AS_AT)
    (tmp_path / "orgs.csv").write_text(ORGANISATIONS, encoding="utf-8")
    (tmp_path / "plan.csv").write_text(PLAN, encoding="utf-8")
    import_organisations(opened, tmp_path / "orgs.csv")
    import_plans(opened, tmp_path / "plan.csv")
    import_ledger(opened, _ledger_csv(tmp_path / "ledger.csv"))
    yield opened
    opened.close()


def _by_category(workspace: Workspace, method: str = "run-rate") -> dict[str, dict[str, object]]:
    document = position_document(compute_position(workspace, "01A", AS_AT, method))
    return {row["category"]: row for row in document["by_category"]}


def test_the_position_follows_the_stored_settings_and_states_each_categorys_method(workspace: Workspace) -> None:
    before = _by_category(workspace)
    assert before["continuing_healthcare"]["forecast_outturn_pence"] == (1_260 + 600) * K
    assert before["acute"]["forecast_outturn_pence"] == 2_640 * K
    assert before["acute"]["method"] == before["continuing_healthcare"]["method"] == "run-rate"

    forecast_methods.set_method(workspace, MethodSetting("QXX", CHC, EXIT_RATE), "a")  # the ICB: applies below
    forecast_methods.set_method(workspace, MethodSetting("01A", CHC, BUDGET_PHASED, "Children CHC"), "a")
    forecast_methods.set_method(workspace, MethodSetting("01A", ACUTE, BUDGET_PHASED, reason="phased contract"), "a")
    after = _by_category(workspace, "trend")  # settings beat the method asked for
    chc, acute = after["continuing_healthcare"], after["acute"]
    assert chc["forecast_outturn_pence"] == (1_350 + 600) * K  # Adult CHC by exit rate, Children CHC budget-phased
    assert chc["method"] == "mixed"
    assert chc["methods"] == ["budget-phased", "exit-rate"]
    assert chc["line_methods"] == [
        {"org_code": "01A", "subcategory": "Adult CHC", "method": "exit-rate"},
        {"org_code": "01A", "subcategory": "Children CHC", "method": "budget-phased"},
    ]
    assert acute["forecast_outturn_pence"] == 3_300 * K
    assert acute["method"] == "budget-phased"
    assert position_document(compute_position(workspace, "01A", AS_AT, "trend"))["method"] == "trend"

    forecast_methods.clear_method(workspace, MethodSetting("01A", ACUTE, RUN_RATE), "a")
    assert _by_category(workspace)["acute"]["forecast_outturn_pence"] == 2_640 * K


def test_a_line_setting_for_a_line_not_in_the_ledger_is_ignored_with_a_warning(workspace: Workspace) -> None:
    forecast_methods.set_method(workspace, MethodSetting("01A", CHC, EXIT_RATE, "Adult CHC (old)"), "a")
    warnings = position_document(compute_position(workspace, "01A", AS_AT, "run-rate"))["warnings"]
    assert (
        "forecast methods: 01A continuing_healthcare / Adult CHC (old): exit-rate: setting for a line with no "
        "ledger this year; ignored"
    ) in warnings


def test_every_change_is_in_the_audit_trail_with_who_and_before_and_after(workspace: Workspace) -> None:
    key = MethodSetting("01A", CHC, RUN_RATE, "Adult CHC")
    first = MethodSetting("01A", CHC, EXIT_RATE, "Adult CHC", "rising")
    assert forecast_methods.set_method(workspace, first, "ann") is None  # nothing replaced
    replaced = forecast_methods.set_method(workspace, MethodSetting("01A", CHC, TREND, "Adult CHC"), "bob")
    assert replaced == MethodSetting("01A", CHC, EXIT_RATE, "Adult CHC", "rising")
    assert forecast_methods.clear_method(workspace, key, "cat") == MethodSetting("01A", CHC, TREND, "Adult CHC")
    assert forecast_methods.clear_method(workspace, key, "cat") is None  # nothing to clear: nothing recorded
    entries = forecast_methods.method_history(workspace, key)
    assert [(entry.who, entry.action) for entry in entries] == [("ann", "set"), ("bob", "set"), ("cat", "clear")]
    assert entries[0].before is None
    assert entries[0].after is not None and entries[0].after["method"] == "exit-rate"
    assert entries[1].before == entries[0].after
    assert entries[2].before is not None and entries[2].before["method"] == "trend"
    assert entries[2].after is None


def test_a_setting_for_an_unknown_organisation_is_refused(workspace: Workspace) -> None:
    with pytest.raises(NotFound, match="unknown organisation 'NOPE'"):
        forecast_methods.set_method(workspace, MethodSetting("NOPE", CHC, EXIT_RATE), "a")


def test_the_commands_set_list_clear_and_show_history(workspace: Workspace) -> None:
    runner = CliRunner(env={"OUTTURN_USER": "finance.lead"})
    where = ["-w", str(workspace.settings.workspace)]
    result = runner.invoke(
        app,
        [*where, "forecast", "method", "set", "exit-rate", "--org", "qxx", "--category", "chc", "--reason", "rising"],
    )
    assert result.exit_code == 0, result.output
    assert "QXX continuing_healthcare: exit-rate" in result.output
    line_args = ["--org", "01A", "--category", "chc", "--line", "Children CHC", "--format", "json"]
    result = runner.invoke(app, [*where, "forecast", "method", "set", "budget-phased", *line_args])
    assert json.loads(result.stdout)["scope"] == "line"
    listed = runner.invoke(app, [*where, "forecast", "method", "list", "--org", "01A", "--format", "json"])
    assert json.loads(listed.stdout) == [
        {
            "org_code": "01A",
            "category": "continuing_healthcare",
            "scope": "line",
            "subcategory": "Children CHC",
            "method": "budget-phased",
            "reason": "",
        },
        {
            "org_code": "QXX",
            "category": "continuing_healthcare",
            "scope": "category",
            "subcategory": None,
            "method": "exit-rate",
            "reason": "rising",
        },
    ]
    position = json.loads(runner.invoke(app, [*where, "position", "--format", "json"]).stdout)
    assert {row["category"]: row["method"] for row in position["by_category"]} == {
        "acute": "run-rate",
        "continuing_healthcare": "mixed",
    }
    cleared = runner.invoke(app, [*where, "forecast", "method", "clear", *line_args])
    assert json.loads(cleared.stdout)["removed"]["method"] == "budget-phased"
    history = runner.invoke(app, [*where, "forecast", "method", "history", *line_args])
    assert [(row["who"], row["action"]) for row in json.loads(history.stdout)] == [
        ("finance.lead", "set"),
        ("finance.lead", "clear"),
    ]
    bad = runner.invoke(app, [*where, "forecast", "method", "set", "guess", "--org", "01A", "--category", "chc"])
    assert bad.exit_code == 2
    assert "unknown forecast method 'guess'" in bad.output


# --- warnings as plain text ---------------------------------------------------------------------------------------

MARKUP = re.compile(r"\[/?[a-z ]*\]")  # [yellow], [/], [bold red] ...


def test_the_position_warns_in_plain_text_in_the_table_and_the_json(workspace: Workspace) -> None:
    # Acute by run rate: £2,640k against a £3,000k budget, an underspend of £360k, though £120k over to date,
    # while the last three months ran at £236.67k a month against £220k to date: the warning's case.
    runner = CliRunner()
    where = ["-w", str(workspace.settings.workspace), "position"]
    document = json.loads(runner.invoke(app, [*where, "--format", "json"]).stdout)
    expected = (
        "forecast: Acute: the forecast variance (underspend £0.36m) is less adverse than the variance to date "
        "(overspend £0.12m) although the last 3 month(s) to M06 ran at £0.24m a month, above the year-to-date "
        "average of £0.22m a month; forecast by run-rate"
    )
    assert document["warnings"] == [expected]
    table = runner.invoke(app, where)
    assert table.exit_code == 0, table.output
    assert f"warning: {expected}" in " ".join(table.output.split())
    assert not MARKUP.search(table.output.split("Bridge from control total")[1])
    assert not any(MARKUP.search(warning) for warning in document["warnings"])
    assert "Method" in table.output and "run-rate" in table.output


ACUTE_WARNING = "Acute: the forecast variance (underspend £0.36m) is less adverse than the variance to date"


def test_the_web_position_page_shows_each_categorys_method_and_the_warnings(workspace: Workspace) -> None:
    forecast_methods.set_method(workspace, MethodSetting("01A", CHC, EXIT_RATE, "Adult CHC"), "a")
    users.add_user(workspace, "bob", "board-password-1", Role.BOARD)
    with TestClient(create_app(workspace.settings, WebConfig(stamp_seconds=0.0))) as client:
        sign_in(client, "bob", "board-password-1")
        html = client.get("/position").text
    categories = html[html.index('id="categories"') : html.index("</table>", html.index('id="categories"'))]
    assert '<th scope="col">Method</th>' in categories
    # Adult CHC by exit rate, Children CHC by run rate: "mixed", the methods in its title
    assert '<span title="exit-rate, run-rate">mixed</span>' in categories
    warnings = html[html.index('id="warnings"') :]
    assert html_escape(ACUTE_WARNING) in warnings
    assert not MARKUP.search(warnings[: warnings.index("</ul>")])


def test_the_board_pack_shows_each_categorys_method_and_the_warnings(workspace: Workspace) -> None:
    pack = gather_pack(workspace, PackRequest(trials=200))
    html = render_html(pack)
    assert "<th>Method</th>" in html
    assert "<td>run-rate</td>" in html
    assert html_escape(ACUTE_WARNING) in html
    assert str(pack.position.warnings[0]).startswith("forecast: " + ACUTE_WARNING)
