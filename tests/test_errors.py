"""One error family, mapped in one place by each interface.

Every member of ``OutturnError`` (found by walking its subclasses, after importing every module of the package)
goes through the CLI's mapping (exit code 2, the message, the command-line hint) and the web's (HTTP status, the
message in the JSON body and on the page); a plain ``KeyError`` or ``ValueError`` is a bug on both (a traceback, a
500), never bad input or a remembered 404. And the one scope resolver: the organisation or month given, else the
workspace's, upper-cased once, with one message when neither is there.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import outturn
from outturn.cli import app
from outturn.cli._common import HINTS, reports_errors
from outturn.cli.options import FormatOption, OutputFormat
from outturn.domain.errors import BadInput, Conflict, MissingScope, NotFound, OutturnError, Unavailable
from outturn.domain.periods import FinancialMonth
from outturn.domain.savings_rules import SchemeFault
from outturn.services.savings import MonthNotClosed, SchemeRefused
from outturn.services.workspace import Workspace
from outturn.settings import Settings
from outturn.web import create_app
from web_helpers import AT_ONCE, shared_workspace, sign_in  # noqa: F401  (fixture)

MESSAGE = "what went wrong, in the user's terms"
SEPTEMBER = FinancialMonth.parse_as_at("2025-09")  # M06 of 2025/26


def _import_every_module() -> None:
    for module in pkgutil.walk_packages(outturn.__path__, "outturn."):
        try:
            importlib.import_module(module.name)
        except ImportError:  # an optional accelerator library (JAX) not installed: its module holds no errors
            continue


def _family() -> set[type[OutturnError]]:
    _import_every_module()
    found: set[type[OutturnError]] = set()
    waiting: list[type[OutturnError]] = [OutturnError]
    while waiting:
        for subclass in waiting.pop().__subclasses__():
            if subclass not in found:
                found.add(subclass)
                waiting.append(subclass)
    return found


# Each error the services may raise, by name: how to make one, the HTTP status the web answers with, and what the
# CLI prints after "error: " (the message, then the command-line hint where the CLI has one). Written out by hand:
# a new error fails test_every_error_of_the_family_is_listed_here until it is added with its status.
Make = Callable[[], OutturnError]
UNMAPPED = (
    "tb.csv was not imported: 1 code(s) have no rule in the mapping: 01A cost centre CC9 subjective 5999 (2 line(s),"
    " budget £1,000.00, actual £1,250.50). Add rules for them to the mapping (a code, a pattern such as 11*, or"
    " any) and import again; nothing stored"
)
ANSWERS: dict[str, tuple[Make, int, str]] = {
    "BadInput": (lambda: BadInput(MESSAGE), 400, MESSAGE),
    "NotFound": (lambda: NotFound(MESSAGE), 404, MESSAGE),
    "Conflict": (lambda: Conflict(MESSAGE), 409, MESSAGE),
    "Unavailable": (lambda: Unavailable(MESSAGE), 503, MESSAGE),
    "MissingScope": (
        lambda: MissingScope("organisation"),
        400,
        "no organisation given: pass --org CODE or set a default with `outturn init --org`",
    ),
    "ChallengeError": (lambda: _plain("outturn.domain.challenges", "ChallengeError"), 400, MESSAGE),
    "ContractMapError": (lambda: _plain("outturn.domain.contract_ledger", "ContractMapError"), 400, MESSAGE),
    "ContractError": (lambda: _plain("outturn.domain.contracts", "ContractError"), 400, MESSAGE),
    "MoneyError": (lambda: _plain("outturn.domain.money", "MoneyError"), 400, MESSAGE),
    "PeriodError": (lambda: _plain("outturn.domain.periods", "PeriodError"), 400, MESSAGE),
    "TariffYearError": (lambda: _plain("outturn.ingest.tariff", "TariffYearError"), 400, MESSAGE),
    "PositionError": (lambda: _plain("outturn.services.position", "PositionError"), 400, MESSAGE),
    "UserError": (lambda: _plain("outturn.services.users", "UserError"), 400, MESSAGE),
    "WorkspaceError": (lambda: _plain("outturn.settings", "WorkspaceError"), 400, MESSAGE),
    "SchemeRefused": (
        lambda: SchemeRefused("S1", [SchemeFault("confidence", "must be between 0% and 100%")]),
        400,
        "scheme S1 was not saved: confidence: must be between 0% and 100%",
    ),
    # a savings error is the member it means: not found, a close refused (a conflict), a reason missing
    "SavingsError": (lambda: _plain("outturn.services.savings", "SavingsError"), 400, MESSAGE),
    "SchemeNotFound": (lambda: _plain("outturn.services.savings", "SchemeNotFound"), 404, MESSAGE),
    "CloseRefused": (lambda: _plain("outturn.services.savings", "CloseRefused"), 409, MESSAGE),
    "ReasonMissing": (lambda: _plain("outturn.services.savings", "ReasonMissing"), 400, MESSAGE),
    "MonthNotClosed": (
        lambda: MonthNotClosed(SEPTEMBER),
        409,
        f"{SEPTEMBER} has not been closed: run `outturn savings close-month --as-at 2025-09` first",
    ),
    "ChallengeConflict": (
        lambda: _made("outturn.store.challenges_repository", "ChallengeConflict", "C1", 2, _at_version(3)),
        409,
        "challenge C1 was changed by someone else (you changed version 2; it is now version 3): nothing was saved",
    ),
    "VersionConflict": (
        lambda: _made("outturn.store.savings_repository", "VersionConflict", "S1", 2, _at_version(3)),
        409,
        "scheme S1 was changed by someone else (you edited version 2; it is now version 3): nothing was saved",
    ),
    "StaleVersion": (
        lambda: _made("outturn.domain.errors", "StaleVersion", "note", "wrote", "N1", 4, _at_version(5)),
        409,
        "note N1 was changed by someone else (you wrote version 4; it is now version 5): nothing was saved",
    ),
    "CommentaryError": (lambda: _plain("outturn.domain.commentary", "CommentaryError"), 400, MESSAGE),
    "CommentaryConflict": (
        lambda: _made(
            "outturn.domain.commentary",
            "CommentaryConflict",
            _made_key(),
            SEPTEMBER,
            2,
            cast(Any, SimpleNamespace(version=3, author="fiona")),
        ),
        409,
        "the commentary on 01A CC300 / 6100 for M06 2025/26 was changed by someone else (you changed version 2; it"
        " is now version 3, by fiona): nothing was saved",
    ),
    "CommentaryClosed": (
        lambda: _made("outturn.domain.commentary", "CommentaryClosed", SEPTEMBER),
        409,
        "M06 2025/26 is closed: its commentary cannot be changed unless the month is reopened (with a reason);"
        " nothing was saved: run `outturn savings reopen-month --as-at 2025-09 --reason TEXT` to change it",
    ),
    "MappingError": (lambda: _plain("outturn.services.trial_balance", "MappingError"), 400, MESSAGE),
    "UnmappedCodes": (
        lambda: _made(
            "outturn.services.trial_balance",
            "UnmappedCodes",
            (_made_unmapped(),),
            "tb.csv",
        ),
        400,
        UNMAPPED + ": give --mapping FILE, or load one with `outturn ledger mapping import FILE`",
    ),
    "WarehouseUnavailable": (lambda: _plain("outturn.engine.backends", "WarehouseUnavailable"), 503, MESSAGE),
    "WarehouseBusy": (lambda: _plain("outturn.engine.backends", "WarehouseBusy"), 503, MESSAGE),
    "StoreUnavailable": (lambda: _plain("outturn.store.database", "StoreUnavailable"), 503, MESSAGE),
}
# Where a web answer says more than the service's message: how to give a missing scope in a query.
WEB_MESSAGES = {
    "MissingScope": "no organisation given: add ?org=CODE (the workspace has no default organisation)",
    "UnmappedCodes": UNMAPPED,  # the CLI adds how to give a mapping; the web page has its own upload
}


def _made(module: str, name: str, *args: object) -> OutturnError:
    made: OutturnError = getattr(importlib.import_module(module), name)(*args)
    return made


def _made_key() -> Any:
    return importlib.import_module("outturn.domain.trial_balance").TrialBalanceLineKey("01A", "CC300", "6100")


def _plain(module: str, name: str) -> OutturnError:
    return _made(module, name, MESSAGE)


def _made_unmapped() -> Any:
    from outturn.domain.ledger_mapping import UnmappedCode

    return UnmappedCode("01A", "CC9", "5999", 2, 100_000, 125_050)


def _at_version(version: int) -> Any:
    return cast(Any, SimpleNamespace(version=version))  # all the conflict's message reads of the stored record


def test_every_error_of_the_family_is_listed_here() -> None:
    assert {error.__name__ for error in _family()} == set(ANSWERS)


def test_each_member_is_one_of_the_four_kinds_or_the_savings_marker() -> None:
    kinds = (BadInput, NotFound, Conflict, Unavailable)
    for error in _family():
        if error.__name__ != "SavingsError":
            assert issubclass(error, kinds), error


# --- the CLI -----------------------------------------------------------------------------------------------------

_raised: list[BaseException] = []
cli = typer.Typer()


@cli.command()
@reports_errors
def fail(fmt: FormatOption = OutputFormat.TABLE) -> None:
    raise _raised[-1]


def _run_cli(error: BaseException, *args: str) -> Any:
    _raised.append(error)
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_the_cli_prints_each_error_with_its_hint_and_exits_2(name: str) -> None:
    make, _status, printed = ANSWERS[name]
    as_table = _run_cli(make())
    assert as_table.exit_code == 2
    assert as_table.stderr.replace("\n", "") == f"error: {printed}"
    as_json = _run_cli(make(), "--format", "json")
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout) == {"error": printed}


@pytest.mark.parametrize("bug", [KeyError("S1"), ValueError("invalid literal for int()"), LookupError("x")])
def test_a_plain_key_or_value_error_is_a_bug_in_the_cli_not_bad_input(bug: Exception) -> None:
    result = _run_cli(bug)
    assert result.exit_code == 1
    assert result.exception is bug  # raised on, for its traceback


# --- the web -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def web(shared_workspace: Workspace) -> Iterator[tuple[FastAPI, TestClient]]:  # noqa: F811
    app = create_app(shared_workspace.settings, AT_ONCE)

    @app.get("/api/failing/{name}")
    @app.get("/failing/{name}")
    def failing(name: str) -> None:
        raise ANSWERS[name][0]() if name in ANSWERS else _raised[-1]

    with TestClient(app, raise_server_exceptions=False) as client:
        yield app, client


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_the_web_answers_each_error_with_its_status_as_json_and_as_a_page(
    web: tuple[FastAPI, TestClient], name: str
) -> None:
    _app, client = web
    _make, status, printed = ANSWERS[name]
    shown = WEB_MESSAGES.get(name, printed.split(": run `outturn")[0])  # the web has no command to suggest
    api = client.get(f"/api/failing/{name}")
    assert api.status_code == status
    assert api.json() == {"error": shown}
    page = client.get(f"/failing/{name}")
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    assert _escaped(shown) in page.text
    if status == 503:
        assert int(api.headers["retry-after"]) > 0


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;")


@pytest.mark.parametrize("bug", [KeyError("S1"), ValueError("invalid literal for int()")])
def test_a_plain_key_or_value_error_in_a_route_is_a_500_not_a_400_or_404(
    web: tuple[FastAPI, TestClient], bug: Exception
) -> None:
    _app, client = web
    _raised.append(bug)
    response = client.get("/api/failing/a-bug")
    assert response.status_code == 500
    assert response.json() == {"error": "something went wrong: the request could not be completed"}


def test_a_bugs_key_error_in_a_cached_route_is_a_500_and_is_not_remembered(
    web: tuple[FastAPI, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    _app, client = web
    sign_in(client, "fiona")
    calls: list[str] = []

    def back_test(_workspace: Workspace, org: str | None, _as_at: str | None) -> dict[str, Any]:
        calls.append(org or "")
        if len(calls) == 1:
            raise KeyError("month")  # a bug the first time (a missing dict key), fixed the second
        return {"methods": []}

    monkeypatch.setattr("outturn.web.routes.position._backtest", back_test)
    first = client.get("/api/forecast/backtest?org=01A&as_at=2025-09")
    second = client.get("/api/forecast/backtest?org=01A&as_at=2025-09")
    assert first.status_code == 500
    assert (second.status_code, second.json()) == (200, {"methods": []})  # computed again, not a cached 404
    assert calls == ["01A", "01A"]


def test_a_not_found_in_a_cached_route_is_a_404_and_is_remembered(
    web: tuple[FastAPI, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    _app, client = web
    sign_in(client, "fiona")
    calls: list[str] = []

    def back_test(_workspace: Workspace, org: str | None, _as_at: str | None) -> dict[str, Any]:
        calls.append(org or "")
        raise NotFound("unknown organisation 'ZZZ'")

    monkeypatch.setattr("outturn.web.routes.position._backtest", back_test)
    answers = [client.get("/api/forecast/backtest?org=ZZZ&as_at=2025-09") for _ in range(2)]
    assert [(a.status_code, a.json()) for a in answers] == [(404, {"error": "unknown organisation 'ZZZ'"})] * 2
    assert calls == ["ZZZ"]  # the answer is remembered like a result until the data change


# --- the one scope resolver --------------------------------------------------------------------------------------


def _workspace(default_org: str | None, default_as_at: str | None) -> Workspace:
    settings = SimpleNamespace(default_org=default_org, default_as_at=default_as_at)
    return Workspace(cast(Settings, settings), store=cast(Any, None), backend=cast(Any, None))


def test_the_scope_is_what_was_given_else_the_workspaces_default_upper_cased() -> None:
    with_defaults = _workspace("qu9", "2025-09")
    assert with_defaults.scope(None, None) == with_defaults.scope("QU9", "2025-09")
    assert with_defaults.scope(None, None).org_code == "QU9"
    assert with_defaults.scope("01a", "2025-11").org_code == "01A"
    assert with_defaults.scope("01a", "2025-11").month == FinancialMonth.parse_as_at("2025-11")  # M08
    assert str(with_defaults.year(None)) == str(SEPTEMBER.year)
    assert with_defaults.year("2024/25").start_year == 2024


@pytest.mark.parametrize(
    ("org", "as_at", "missing"),
    [(None, "2025-09", "organisation"), ("01A", None, "month")],
)
def test_a_scope_neither_given_nor_defaulted_is_one_clear_error(
    org: str | None, as_at: str | None, missing: str
) -> None:
    bare = _workspace(None, None)
    with pytest.raises(MissingScope, match=rf"^no {missing} given$") as raised:
        bare.scope(org, as_at)
    assert raised.value.part == missing
    with pytest.raises(MissingScope, match=r"^no year given$"):
        bare.year(None)
    assert (bare.org_or_default(None), bare.month_or_default(None)) == (None, None)


# --- what an error needs, said by each interface -------------------------------------------------------------------

SOURCE = Path(outturn.__file__).parent
NEEDS = re.compile(r"""needs=["']([a-z-]+)["']""")


def _needs_raised() -> set[str]:
    return {found for path in SOURCE.rglob("*.py") for found in NEEDS.findall(path.read_text(encoding="utf-8"))}


def test_the_cli_has_a_hint_for_everything_an_error_says_it_needs() -> None:
    raised = _needs_raised()
    assert {"plan", "contracts", "prescribing", "reference-data", "workspace"} <= raised  # the search finds them
    assert raised - set(HINTS) == set()


@pytest.mark.parametrize(
    ("needs", "printed"),
    [
        ("contracts", "no contract with provider RTH in 2025/26: import one with `outturn contracts import FILE`"),
        (
            "workspace",
            "no contract with provider RTH in 2025/26: create one with `outturn init DIR` or pass --workspace DIR",
        ),
        (None, "no contract with provider RTH in 2025/26"),
        ("something no interface knows", "no contract with provider RTH in 2025/26"),
    ],
)
def test_the_cli_adds_the_hint_for_what_an_error_needs(needs: str | None, printed: str) -> None:
    result = _run_cli(BadInput("no contract with provider RTH in 2025/26", needs=needs), "--format", "json")
    assert (result.exit_code, json.loads(result.stdout)) == (2, {"error": printed})


def test_no_service_message_names_a_command_line_option_or_command() -> None:
    """The services, domain, store, engine and settings raise messages in the user's terms; a CLI option (--org)
    or command (`outturn ...`) in one is said by the CLI's hint instead."""
    layers = ("services", "domain", "store", "engine", "stats", "settings.py")
    raising = re.compile(r"raise \w+\((?:[^()]|\([^()]*\))*\)", re.S)
    named = re.compile(r"(?<![\w-])--[a-z]|`outturn ")
    offenders = [
        f"{path.relative_to(SOURCE)}: {found[:80]}"
        for layer in layers
        for path in ([SOURCE / layer] if layer.endswith(".py") else sorted((SOURCE / layer).rglob("*.py")))
        for found in raising.findall(path.read_text(encoding="utf-8"))
        if named.search(found)
    ]
    assert offenders == []


# --- the cases issue 15 names --------------------------------------------------------------------------------------


def test_a_contract_statement_on_a_workspace_without_contracts_is_a_clear_error(tmp_path: Path) -> None:
    """Once a traceback (ContractError was in neither interface's list of expected errors)."""
    runner = CliRunner()
    workspace = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(workspace), "--reference-dir", str(tmp_path)]).exit_code == 0
    arguments = ["--workspace", str(workspace), "contracts", "statement", "--provider", "rth", "--as-at", "2025-09"]
    result = runner.invoke(app, [*arguments, "--format", "json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {
        "error": "no contract with provider RTH in 2025/26: import one with `outturn contracts import FILE`"
    }
    without_month = runner.invoke(app, ["--workspace", str(workspace), "contracts", "statement", "--provider", "RTH"])
    assert without_month.exit_code == 2
    assert "no month given: pass --as-at YYYY-MM or set a default with `outturn init --as-at`" in " ".join(
        without_month.stderr.split()
    )
