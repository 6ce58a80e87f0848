"""Commentary per ledger line per month: the round trip, versions and conflicts, the audit trail, last month's
offered for reuse, the file import, the budget holder role on the web and the API, and what the board pack's
narrative quotes.

The workspace is tests/commentary_helpers.py's: four lines as at M02 2025/26, worked by hand in its docstring.
In variance order the lines needing commentary are Drugs (CC300/6100, forecast -£120,000), Acute (CC100/5100,
-£90,000) and Mental health services (CC200/5200, +£60,000); Mental health staff (CC200/5210) is on budget.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from commentary_helpers import (
    ACUTE,
    ALICE,
    AS_AT,
    BOB,
    DRUGS,
    LAST_MONTH,
    MH_SERVICES,
    MH_STAFF,
    PASSWORDS,
    POUND,
    build_commentary_workspace,
    commentary_template,
    commentary_workspace,
)
from outturn.cli import app as cli
from outturn.domain.commentary import (
    MAX_COMMENTARY_CHARACTERS,
    Commentary,
    CommentaryClosed,
    CommentaryConflict,
    CommentaryError,
    CommentedLine,
    pack_digest,
)
from outturn.domain.errors import NotFound
from outturn.domain.ledger import CostCategory
from outturn.domain.periods import FinancialMonth
from outturn.domain.problems import ProblemsError
from outturn.domain.trial_balance import BudgetHolderLine, TrialBalanceLineKey
from outturn.reports.commentary_narrative import commentary_sentences
from outturn.services import commentary, imports, savings, users
from outturn.services.users import Role, UserError
from outturn.services.workspace import Workspace
from outturn.store.models import AuditRow
from outturn.web import create_app
from web_helpers import AT_ONCE, sign_in

__all__ = ["commentary_template", "commentary_workspace"]


def _lines(workspace: Workspace, as_at: str = AS_AT, holder: str | None = None) -> dict[TrialBalanceLineKey, dict]:
    document = commentary.commentary_list(workspace, as_at, holder)
    return {
        TrialBalanceLineKey(line["org_code"], line["cost_centre"], line["subjective_code"]): line
        for line in document["lines"]
    }


# --- the round trip, versions, the audit trail ----------------------------------------------------------------


def test_the_lines_come_needing_commentary_first_largest_forecast_variance_first(
    commentary_workspace: Workspace,
) -> None:
    document = commentary.commentary_list(commentary_workspace, AS_AT)
    keys = [
        TrialBalanceLineKey(line["org_code"], line["cost_centre"], line["subjective_code"])
        for line in document["lines"]
    ]
    assert keys == [DRUGS, ACUTE, MH_SERVICES, MH_STAFF]
    drugs = document["lines"][0]
    # Drugs: £20,000 a month; actuals £30,000 + £30,000: YTD -£20,000; forecast £60,000 / 2 x 12 = £360,000
    assert (drugs["ytd_variance_pence"], drugs["forecast_variance_pence"]) == (-20_000 * POUND, -120_000 * POUND)
    assert drugs["budget_holder"] == ALICE and drugs["forecast_method"] == "run-rate" and drugs["needs_commentary"]
    assert (document["needing_commentary"], document["missing_commentary"]) == (3, 3)
    assert all(line["commentary"] is None and line["last_month"] is None for line in document["lines"])


def test_commentary_round_trip_with_versions_and_the_audit_trail(commentary_workspace: Workspace) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    first = commentary.write_commentary(
        commentary_workspace, DRUGS, AS_AT, "  Category M prices rose in April.  ", 0, "fiona"
    )
    assert (first["text"], first["author"], first["version"], first["month"]) == (
        "Category M prices rose in April.",
        "fiona",
        1,
        "M02",
    )
    assert datetime.fromisoformat(first["written_at"]) >= before
    second = commentary.write_commentary(commentary_workspace, DRUGS, AS_AT, "Prices and volumes rose.", 1, "alice")
    assert (second["text"], second["author"], second["version"]) == ("Prices and volumes rose.", "alice", 2)
    listed = _lines(commentary_workspace)
    assert listed[DRUGS]["commentary"] == second
    assert listed[ACUTE]["commentary"] is None
    assert commentary.commentary_list(commentary_workspace, AS_AT)["missing_commentary"] == 2
    history = commentary.commentary_history(commentary_workspace, DRUGS, AS_AT)
    assert history["commentary"] == second
    trail = [(entry["who"], entry["action"], entry["before"], entry["after"]) for entry in history["history"]]
    assert trail == [("fiona", "write", None, first), ("alice", "rewrite", first, second)]


def test_versions_and_the_audit_trail_on_each_store(store_url: str, tmp_path: Path) -> None:
    """SQLite and PostgreSQL alike: a first write is version 1, a second from it version 2, a third from version 1
    is refused; two entries in the audit trail."""
    with build_commentary_workspace(tmp_path, store_url) as workspace:
        commentary.write_commentary(workspace, MH_SERVICES, AS_AT, "Vacancies.", 0, "bob")
        assert commentary.write_commentary(workspace, MH_SERVICES, AS_AT, "Vacancies filled.", 1, "bob")["version"] == 2
        with pytest.raises(CommentaryConflict):
            commentary.write_commentary(workspace, MH_SERVICES, AS_AT, "Stale.", 1, "fiona")
        with pytest.raises(CommentaryConflict):
            commentary.write_commentary(workspace, MH_SERVICES, AS_AT, "Also stale.", 0, "fiona")
        history = commentary.commentary_history(workspace, MH_SERVICES, AS_AT)
    assert history["commentary"]["text"] == "Vacancies filled."
    assert [entry["action"] for entry in history["history"]] == ["write", "rewrite"]


def test_a_write_from_an_old_version_is_refused_and_saves_nothing(commentary_workspace: Workspace) -> None:
    commentary.write_commentary(commentary_workspace, ACUTE, AS_AT, "Winter came early.", 0, "fiona")
    with pytest.raises(CommentaryConflict) as refused:
        commentary.write_commentary(commentary_workspace, ACUTE, AS_AT, "Someone else's view.", 0, "alice")
    assert "version 0" in str(refused.value) and "version 1, by fiona" in str(refused.value)
    with pytest.raises(CommentaryConflict):
        commentary.write_commentary(commentary_workspace, ACUTE, AS_AT, "Ahead of itself.", 2, "alice")
    assert _lines(commentary_workspace)[ACUTE]["commentary"]["text"] == "Winter came early."
    assert len(commentary.commentary_history(commentary_workspace, ACUTE, AS_AT)["history"]) == 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [("   \n ", "empty"), ("x" * (MAX_COMMENTARY_CHARACTERS + 1), "at most 4,000"), ("bell\x07", r"U\+0007")],
    ids=["empty", "too long", "control character"],
)
def test_text_that_cannot_be_stored_is_refused(commentary_workspace: Workspace, text: str, reason: str) -> None:
    with pytest.raises(CommentaryError, match=reason):
        commentary.write_commentary(commentary_workspace, DRUGS, AS_AT, text, 0, "fiona")
    assert _lines(commentary_workspace)[DRUGS]["commentary"] is None


def test_a_line_the_ledger_does_not_hold_is_not_found(commentary_workspace: Workspace) -> None:
    with pytest.raises(NotFound, match="no ledger line 01A CC999 / 6100"):
        commentary.write_commentary(
            commentary_workspace, TrialBalanceLineKey("01A", "CC999", "6100"), AS_AT, "?", 0, "fiona"
        )


# --- last month's, offered for reuse --------------------------------------------------------------------------


def test_last_months_commentary_is_offered_and_can_be_copied(commentary_workspace: Workspace) -> None:
    april = commentary.write_commentary(
        commentary_workspace, DRUGS, LAST_MONTH, "Stock-piling ahead of Brexit.", 0, "bob"
    )
    assert april["month"] == "M01"
    may = _lines(commentary_workspace)[DRUGS]
    assert may["commentary"] is None and may["last_month"] == april
    copied = commentary.copy_last_month(commentary_workspace, DRUGS, AS_AT, 0, "alice")
    assert (copied["text"], copied["author"], copied["version"], copied["month"]) == (
        "Stock-piling ahead of Brexit.",
        "alice",
        1,
        "M02",
    )
    assert _lines(commentary_workspace, LAST_MONTH)[DRUGS]["commentary"] == april  # April's stays as it was
    with pytest.raises(NotFound, match="no commentary on 01A CC100 / 5100 last month"):
        commentary.copy_last_month(commentary_workspace, ACUTE, AS_AT, 0, "alice")


def test_the_cli_writes_lists_and_copies(commentary_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTTURN_USER", "fiona")
    base = ["--workspace", str(commentary_workspace.path), "commentary"]
    line = ["--org", "01a", "--cost-centre", "CC300", "--subjective", "6100"]
    runner = CliRunner()
    wrote = runner.invoke(cli, [*base, "write", *line, "--version", "0", "--text", "April", "--as-at", LAST_MONTH,
                                "--format", "json"])  # fmt: skip
    assert wrote.exit_code == 0, wrote.output
    copied = runner.invoke(cli, [*base, "write", *line, "--version", "0", "--copy-last-month", "--format", "json"])
    assert copied.exit_code == 0, copied.output
    assert (json.loads(copied.stdout)["text"], json.loads(copied.stdout)["month"]) == ("April", "M02")
    stale = runner.invoke(cli, [*base, "write", *line, "--version", "0", "--text", "Late", "--format", "json"])
    assert stale.exit_code == 2 and "changed by someone else" in stale.stdout
    listed = runner.invoke(cli, [*base, "list", "--holder", BOB, "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [line["cost_centre"] for line in json.loads(listed.stdout)["lines"]] == ["CC200", "CC200"]


# --- the file import ------------------------------------------------------------------------------------------


def test_a_commentary_file_is_imported_whole_with_its_record(commentary_workspace: Workspace, tmp_path: Path) -> None:
    commentary.write_commentary(commentary_workspace, ACUTE, AS_AT, "First thoughts.", 0, "alice")
    path = tmp_path / "commentary.csv"
    path.write_text(
        "Entity,Cost Centre,Subjective,Period,Comment\n"
        "01A,CC300,6100,M02,Category M prices.\n"
        "01A,CC100,5100,May,Two extra theatre lists.\n"
        "01a,CC200,5200,M01,Vacancies in the crisis team.\n",
        encoding="utf-8",
    )
    document = commentary.import_commentary(commentary_workspace, path, AS_AT, "fiona")
    stored = [(item["cost_centre"], item["month"], item["version"], item["author"]) for item in document["commentary"]]
    assert stored == [("CC300", "M02", 1, "fiona"), ("CC100", "M02", 2, "fiona"), ("CC200", "M01", 1, "fiona")]
    may = _lines(commentary_workspace)
    assert may[ACUTE]["commentary"]["text"] == "Two extra theatre lists."
    assert may[MH_SERVICES]["last_month"]["text"] == "Vacancies in the crisis team."
    actions = [
        entry["action"] for entry in commentary.commentary_history(commentary_workspace, ACUTE, AS_AT)["history"]
    ]
    assert actions == ["write", "import"]
    record = imports.import_history(commentary_workspace)[0]
    assert (record.kind, record.source_name, record.row_count) == ("commentary", "commentary.csv", 3)


def test_a_file_with_any_bad_row_stores_nothing_and_names_each(commentary_workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "org_code,cost_centre,subjective_code,month,commentary\n"
        "01A,CC300,6100,M02,Fine on its own.\n"  # row 2: good
        "ZZZ,CC300,6100,M02,Unknown organisation.\n"  # row 3
        "01A,CC300,6100,M13,No such month.\n"  # row 4
        "01A,CC100,5100,M02,\n"  # row 5: no commentary
        "01A,CC300,6100,M02,Twice.\n"  # row 6: duplicate of row 2
        "01A,CC999,6100,M02,No such line.\n",  # row 7
        encoding="utf-8",
    )
    with pytest.raises(ProblemsError) as refused:
        commentary.import_commentary(commentary_workspace, path, AS_AT, "fiona")
    found = sorted((problem.row, problem.column) for problem in refused.value.problems)
    assert found == [(3, "org_code"), (4, "month"), (5, "commentary"), (6, None), (7, None)]
    reasons = {problem.row: problem.reason for problem in refused.value.problems}
    assert "duplicate of row 2" in reasons[6] and "holds no line 01A CC999 / 6100" in reasons[7]
    assert all(line["commentary"] is None for line in _lines(commentary_workspace).values())
    assert [record.kind for record in imports.import_history(commentary_workspace)].count("commentary") == 0


# --- the budget holder role -----------------------------------------------------------------------------------


@pytest.fixture
def client(commentary_workspace: Workspace) -> Iterator[TestClient]:
    with TestClient(create_app(commentary_workspace.settings, AT_ONCE)) as found:
        yield found


def _sign_in(client: TestClient, username: str) -> str:
    return sign_in(client, username, PASSWORDS[username])


def _form(key: TrialBalanceLineKey, text: str, version: int = 0) -> dict[str, str]:
    return {"org_code": key.org_code, "cost_centre": key.cost_centre, "subjective_code": key.subjective_code,
            "version": str(version), "text": text, "as_at": AS_AT}  # fmt: skip


def test_a_budget_holder_sees_only_their_own_lines(client: TestClient) -> None:
    _sign_in(client, "alice")
    document = client.get(f"/api/commentary?as_at={AS_AT}").json()
    assert [(line["cost_centre"], line["budget_holder"]) for line in document["lines"]] == [
        ("CC300", ALICE),
        ("CC100", ALICE),
    ]
    assert document["holder"] == ALICE
    assert client.get(f"/api/commentary?holder={BOB}").status_code == 403
    page = client.get("/commentary")
    assert page.status_code == 200
    assert "CC300 / 6100" in page.text and "CC100 / 5100" in page.text and "CC200" not in page.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/commentary"
    assert client.get("/position").status_code == 403  # every organisation's figures: not a budget holder's


def test_a_budget_holder_writes_on_their_own_lines_only(client: TestClient, commentary_workspace: Workspace) -> None:
    token = _sign_in(client, "alice")
    headers = {"X-CSRF-Token": token}
    own = client.post("/api/commentary", data=_form(DRUGS, "Category M prices."), headers=headers)
    assert own.status_code == 200, own.text
    assert (own.json()["author"], own.json()["version"]) == ("alice", 1)
    other = client.post("/api/commentary", data=_form(MH_SERVICES, "Not mine to explain."), headers=headers)
    assert other.status_code == 404 and "among Alice Acute's lines" in other.json()["error"]
    page = client.post(
        "/commentary", data={**_form(ACUTE, "Theatre lists."), "csrf_token": token}, follow_redirects=False
    )
    assert page.status_code == 303 and page.headers["location"] == "/commentary?as_at=2025-05#line-01A-CC100-5100"
    stale = client.post("/commentary", data={**_form(ACUTE, "Again."), "csrf_token": token})
    assert stale.status_code == 409 and "changed by someone else" in stale.text
    lines = _lines(commentary_workspace)
    assert lines[DRUGS]["commentary"]["text"] == "Category M prices."
    assert lines[ACUTE]["commentary"]["text"] == "Theatre lists."
    assert lines[MH_SERVICES]["commentary"] is None


def test_finance_writes_on_any_line_the_board_reads_and_practices_are_refused(
    commentary_workspace: Workspace, client: TestClient
) -> None:
    token = _sign_in(client, "fiona")
    wrote = client.post("/api/commentary", data=_form(MH_SERVICES, "Vacancies."), headers={"X-CSRF-Token": token})
    assert wrote.status_code == 200 and wrote.json()["author"] == "fiona"
    assert len(client.get(f"/api/commentary?as_at={AS_AT}").json()["lines"]) == 4
    assert [line["budget_holder"] for line in client.get(f"/api/commentary?holder={BOB}").json()["lines"]] == [BOB, BOB]
    client.cookies.clear()
    token = _sign_in(client, "barbara")
    assert len(client.get("/api/commentary").json()["lines"]) == 4
    refused = client.post("/api/commentary", data=_form(DRUGS, "Board view."), headers={"X-CSRF-Token": token})
    assert refused.status_code == 403
    assert 'name="text"' not in client.get("/commentary").text  # no text boxes for a reader
    client.cookies.clear()
    _sign_in(client, "pat")
    assert client.get("/api/commentary").status_code == 403
    assert client.get("/commentary").status_code == 403
    assert _lines(commentary_workspace)[DRUGS]["commentary"] is None


def test_the_page_offers_last_months_commentary_prefilled_and_marked(
    commentary_workspace: Workspace, client: TestClient
) -> None:
    commentary.write_commentary(commentary_workspace, DRUGS, LAST_MONTH, "April's reason.", 0, "bob")
    _sign_in(client, "alice")
    page = client.get("/commentary").text
    assert "prefilled with last month&#39;s, by bob" in page or "prefilled with last month's, by bob" in page
    assert 'data-last-month="true">April&#39;s reason.</textarea>' in page or "April's reason.</textarea>" in page


# --- the board pack's narrative -------------------------------------------------------------------------------


def _line(key: TrialBalanceLineKey, forecast_variance_pounds: int, holder: str, needs: bool) -> BudgetHolderLine:
    """A line with a £1,000,000 annual budget and the forecast variance given (YTD variance a tenth of it)."""
    budget = 1_000_000 * POUND
    return BudgetHolderLine(
        key, f"Centre {key.cost_centre}", f"Code {key.subjective_code}", CostCategory.ACUTE, "", holder, budget,
        budget // 2, budget // 2 - forecast_variance_pounds * POUND // 10, budget - forecast_variance_pounds * POUND,
        "run-rate", needs,
    )  # fmt: skip


def _written(key: TrialBalanceLineKey, text: str) -> Commentary:
    return Commentary(key, FinancialMonth.parse_as_at(AS_AT), text, "alice", datetime(2025, 6, 3, tzinfo=UTC), 1)


def test_the_pack_quotes_the_largest_variances_and_lists_those_without() -> None:
    # CC1, CC3, ... are Bob's; CC2, CC4, ... Alice's
    keys = [TrialBalanceLineKey("01A", f"CC{n}", str(n)) for n in range(1, 9)]
    # forecast variances (£): 1: -300k, 2: +500k, 3: -100k, 4: +250k (not material), 5: -800k (no commentary),
    # 6: -60k, 7: +90k (no commentary), 8: -70k (no commentary)
    variances = (-300_000, 500_000, -100_000, 250_000, -800_000, -60_000, 90_000, -70_000)
    material = (True, True, True, False, True, True, True, True)
    texts = {0: "Acute pressures.", 1: "Slippage on the new service.", 2: "Drugs.", 3: "Not material.", 5: "Small."}
    items = [
        CommentedLine(
            _line(key, variance, ALICE if n % 2 else BOB, needs), _written(key, texts[n]) if n in texts else None, None
        )
        for n, (key, variance, needs) in enumerate(zip(keys, variances, material, strict=True))
    ]
    digest = pack_digest(items, quotes=3, named=2)
    # commented and material, largest first: 2 (500k), 1 (300k), 3 (100k); 6 (60k) is fourth, not quoted
    assert [item.line.key for item in digest.quoted] == [keys[1], keys[0], keys[2]]
    # material with none, largest first: 5 (800k), 7 (90k), 8 (70k): two named, three counted
    assert [item.line.key for item in digest.missing] == [keys[4], keys[6]] and digest.missing_count == 3
    sentences = commentary_sentences(digest)  # £100k or more in £m to one place, else £k (narrative.amount)
    assert sentences[0] == (
        "On Centre CC2 / Code 2 (01A), forecast underspend £0.5m, Alice Acute (budget holder) writes: "
        "\u201cSlippage on the new service.\u201d"
    )
    assert sentences[1].startswith("On Centre CC1 / Code 1 (01A), forecast overspend £0.3m, Bob Mental")
    assert sentences[3] == (
        "3 lines above the commentary threshold have no commentary: Centre CC5 / Code 5 (01A) (Bob Mental, "
        "forecast overspend £0.8m); Centre CC7 / Code 7 (01A) (Bob Mental, forecast underspend £90k); and 1 more."
    )


def test_the_pack_digest_of_the_workspace(commentary_workspace: Workspace) -> None:
    commentary.write_commentary(commentary_workspace, ACUTE, AS_AT, "Two extra theatre lists.", 0, "alice")
    commentary.write_commentary(commentary_workspace, MH_STAFF, AS_AT, "On budget.", 0, "bob")  # not material
    digest = commentary.pack_commentary(commentary_workspace, "01A", AS_AT)
    assert [item.line.key for item in digest.quoted] == [ACUTE]
    assert [item.line.key for item in digest.missing] == [DRUGS, MH_SERVICES]
    assert commentary_sentences(digest) == (
        "On Acute commissioning / 5100 (01A), forecast overspend £90k, Alice Acute (budget holder) writes: "
        "\u201cTwo extra theatre lists.\u201d",
        "2 lines above the commentary threshold have no commentary: Prescribing / 6100 (01A) (Alice Acute, forecast "
        "overspend £0.1m); Mental health / 5200 (01A) (Bob Mental, forecast underspend £60k).",
    )


def test_a_commentary_file_uploads_as_an_import(commentary_workspace: Workspace, client: TestClient) -> None:
    token = _sign_in(client, "fiona")
    content = b"org_code,cost_centre,subjective_code,month,commentary\n01A,CC200,5200,M02,Vacancies.\n"
    response = client.post(
        "/api/imports/commentary", files={"file": ("mh.csv", content)}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 200, response.text
    assert [(row["cost_centre"], row["author"]) for row in response.json()["commentary"]] == [("CC200", "fiona")]
    assert _lines(commentary_workspace)[MH_SERVICES]["commentary"]["text"] == "Vacancies."


def test_a_budget_holder_account_names_its_holder(commentary_workspace: Workspace) -> None:
    with pytest.raises(UserError, match="needs the budget holder's name"):
        users.add_user(commentary_workspace, "carol", "carol-password-123", Role.BUDGET_HOLDER)
    with pytest.raises(UserError, match="no cost centre has 'Carol Typo' as its budget holder"):
        users.add_user(
            commentary_workspace, "carol", "carol-password-123", Role.BUDGET_HOLDER, budget_holder="Carol Typo"
        )
    with pytest.raises(UserError, match="only budget holder users"):
        users.add_user(commentary_workspace, "dave", "dave-password-1234", Role.FINANCE, budget_holder=ALICE)
    made = users.add_user(
        commentary_workspace, "erin", "erin-password-1234", Role.BUDGET_HOLDER, budget_holder=" bob  MENTAL "
    )
    assert (made.budget_holder, made.visible_orgs, made.can_edit, made.home) == (BOB, frozenset(), False, "/commentary")


def test_finance_narrows_the_page_to_one_holder(client: TestClient) -> None:
    _sign_in(client, "fiona")
    page = client.get("/commentary").text
    assert "holder=Alice%20Acute" in page and "holder=Bob%20Mental" in page
    narrowed = client.get("/commentary", params={"holder": BOB}).text
    assert "CC200 / 5200" in narrowed and "CC300" not in narrowed and "all lines" in narrowed


# --- a closed month -------------------------------------------------------------------------------------------


def _audit_entries(workspace: Workspace) -> int:
    with workspace.store.reading() as session:
        return len(session.scalars(select(AuditRow.id)).all())


def test_a_closed_months_commentary_cannot_be_written_on_each_store(store_url: str, tmp_path: Path) -> None:
    """M02 closed: a write, a copy of last month's and an import are each refused; nothing is stored and the
    audit trail holds what it held (the close's entry and M01's commentary). Reopened, the write goes through."""
    with build_commentary_workspace(tmp_path, store_url) as workspace:
        commentary.write_commentary(workspace, DRUGS, LAST_MONTH, "April's view.", 0, "fiona")
        savings.close_month(workspace, FinancialMonth.parse_as_at(AS_AT), "fiona")
        entries = _audit_entries(workspace)
        with pytest.raises(CommentaryClosed) as refused:
            commentary.write_commentary(workspace, ACUTE, AS_AT, "Too late.", 0, "alice")
        assert str(refused.value).startswith("M02 2025/26 is closed") and "--" not in str(refused.value)
        with pytest.raises(CommentaryClosed):
            commentary.copy_last_month(workspace, DRUGS, AS_AT, 0, "alice")
        path = tmp_path / "late.csv"
        path.write_text("org_code,cost_centre,subjective_code,month,commentary\n01A,CC300,6100,M02,Late.\n")
        with pytest.raises(ProblemsError) as problems:
            commentary.import_commentary(workspace, path, AS_AT, "fiona")
        assert [(p.row, p.column) for p in problems.value.problems] == [(2, "month")]
        assert "M02 2025/26 is closed" in problems.value.problems[0].reason
        listed = commentary.commentary_list(workspace, AS_AT)
        assert listed["month_closed"] is True and all(line["commentary"] is None for line in listed["lines"])
        assert commentary.commentary_list(workspace, LAST_MONTH)["month_closed"] is False
        assert _audit_entries(workspace) == entries
        savings.reopen_month(workspace, FinancialMonth.parse_as_at(AS_AT), "fiona", "late commentary")
        assert commentary.write_commentary(workspace, ACUTE, AS_AT, "Winter came early.", 0, "alice")["version"] == 1


def test_the_cli_and_the_web_refuse_a_closed_months_commentary(
    commentary_workspace: Workspace, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    savings.close_month(commentary_workspace, FinancialMonth.parse_as_at(AS_AT), "fiona")
    entries = _audit_entries(commentary_workspace)
    monkeypatch.setenv("OUTTURN_USER", "fiona")
    base = ["--workspace", str(commentary_workspace.path), "commentary", "write"]
    line = ["--org", "01A", "--cost-centre", "CC300", "--subjective", "6100", "--version", "0", "--text", "Late"]
    refused = CliRunner().invoke(cli, [*base, *line, "--as-at", AS_AT])
    assert refused.exit_code == 2
    assert (
        "M02 2025/26 is closed" in refused.output and "outturn savings reopen-month --as-at 2025-05" in refused.output
    )
    token = _sign_in(client, "fiona")
    page = client.get(f"/commentary?as_at={AS_AT}").text
    assert 'id="commentary-closed"' in page and "Save commentary" not in page
    posted = client.post("/commentary", data={**_form(DRUGS, "Late"), "csrf_token": token})
    assert posted.status_code == 409 and "is closed" in posted.text and "reopen-month" not in posted.text
    api = client.post("/api/commentary", json=_form(DRUGS, "Late"), headers={"X-CSRF-Token": token})
    assert api.status_code == 409 and "M02 2025/26 is closed" in api.json()["error"]
    assert _lines(commentary_workspace)[DRUGS]["commentary"] is None
    assert _audit_entries(commentary_workspace) == entries
