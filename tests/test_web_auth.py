"""Signing in: argon2 hashes, server-side sessions, cookie flags, CSRF on every form, rate-limited login, roles.

The users service runs on SQLite and PostgreSQL (``store_url``); the pages through FastAPI's TestClient.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from outturn.cli import app as cli
from outturn.services import users
from outturn.services.imports import import_organisations
from outturn.services.users import (
    MAX_FAILURES_PER_CLIENT,
    MAX_FAILURES_PER_USER,
    LoginRefused,
    Role,
    TooManyAttempts,
    UserError,
)
from outturn.services.workspace import Workspace, init_workspace, open_workspace
from outturn.store import users_repository
from outturn.store.database import Store
from outturn.store.models import UserRow, WebSessionRow
from outturn.web import WebConfig, create_app
from outturn.web.routes import ROUTERS
from web_helpers import ORGANISATIONS, PASSWORDS, app_client, csrf_from, sign_in, web_workspace

__all__ = ["app_client", "web_workspace"]


@pytest.fixture
def bare_workspace(tmp_path: Path, store_url: str) -> Workspace:
    workspace = init_workspace(tmp_path / "ws", reference_dir=tmp_path, store_url=store_url)
    (tmp_path / "orgs.csv").write_text(ORGANISATIONS)
    import_organisations(workspace, tmp_path / "orgs.csv")
    return workspace


def test_passwords_are_stored_as_argon2_hashes_and_checked(bare_workspace: Workspace) -> None:
    users.add_user(bare_workspace, "fiona", "finance-password-1", Role.FINANCE)
    with bare_workspace.store.reading() as session:
        stored = session.execute(select(UserRow.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "finance-password-1" not in stored
    signed_in = users.sign_in(bare_workspace, "fiona", "finance-password-1", "10.0.0.1")
    assert signed_in.user.role is Role.FINANCE and signed_in.user.sees_everything
    assert users.session_for(bare_workspace, signed_in.token) == (signed_in.user, signed_in.csrf_token)
    with pytest.raises(LoginRefused):
        users.sign_in(bare_workspace, "fiona", "wrong-password-1", "10.0.0.1")
    users.sign_out(bare_workspace, signed_in.token)
    assert users.session_for(bare_workspace, signed_in.token) is None


def test_the_standard_hashing_is_rfc_9106s_and_replaces_a_cheaper_hash_at_sign_in(
    bare_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tests hash with argon2's cheapest parameters (OUTTURN_PASSWORD_HASHING=cheapest, tests/conftest.py); a
    workspace at the default, ``standard``, uses RFC 9106's low-memory choice (64 MiB, 3 passes, 4 lanes) and
    replaces a hash made with other parameters when its owner next signs in."""
    standard, cheapest = "$argon2id$v=19$m=65536,t=3,p=4$", "$argon2id$v=19$m=8,t=1,p=1$"

    def stored(workspace: Workspace) -> dict[str, str]:
        with workspace.store.reading() as session:
            return dict(session.execute(select(UserRow.username, UserRow.password_hash)).all())

    users.add_user(bare_workspace, "fiona", "finance-password-1", Role.FINANCE)
    assert stored(bare_workspace)["fiona"].startswith(cheapest)
    monkeypatch.setenv("OUTTURN_PASSWORD_HASHING", "standard")
    with open_workspace(bare_workspace.settings.workspace) as workspace:
        users.add_user(workspace, "bob", "board-password-1", Role.BOARD)
        assert stored(workspace)["bob"].startswith(standard)
        assert users.sign_in(workspace, "fiona", "finance-password-1", "10.0.0.1").user.username == "fiona"
        assert stored(workspace)["fiona"].startswith(standard)
        with pytest.raises(LoginRefused):
            users.sign_in(workspace, "bob", "wrong-password-1", "10.0.0.1")


def test_the_store_keeps_only_a_hash_of_the_session_token(bare_workspace: Workspace) -> None:
    users.add_user(bare_workspace, "bob", "board-password-1", Role.BOARD)
    signed_in = users.sign_in(bare_workspace, "bob", "board-password-1", "10.0.0.1")
    with bare_workspace.store.reading() as session:
        tokens = list(session.scalars(select(WebSessionRow.token_sha256)))
    assert tokens == [hashlib.sha256(signed_in.token.encode()).hexdigest()]


def test_a_practice_user_sees_its_practice_and_pcn_only(bare_workspace: Workspace) -> None:
    pat = users.add_user(bare_workspace, "pat", "practice-password-1", Role.PRACTICE, org_code="a81001")
    assert pat.visible_orgs == frozenset({"A81001", "P1"})
    assert pat.may_see("A81001") and pat.may_see("P1")
    assert not pat.may_see("A81002") and not pat.may_see("P2") and not pat.may_see("01A")
    assert not pat.can_edit


@pytest.mark.parametrize(
    ("username", "password", "role", "org", "reason"),
    [
        ("sam", "short", Role.FINANCE, None, "too short"),
        ("sam", "eleven-char", Role.FINANCE, None, "too short"),
        ("sam", "QWERTY123456", Role.FINANCE, None, "most common passwords"),
        ("sam", "Administrator", Role.FINANCE, None, "most common passwords"),
        ("sam", "1qaz2wsx3edc", Role.FINANCE, None, "most common passwords"),
        ("two words", "long-enough-1", Role.FINANCE, None, "no spaces"),
        ("pam", "long-enough-1", Role.PRACTICE, None, "needs a practice of the workspace"),
        ("pam", "long-enough-1", Role.PRACTICE, "P1", "needs a practice of the workspace"),  # a PCN is not one
        ("fin", "long-enough-1", Role.FINANCE, "A81001", "only practice users"),
    ],
)
def test_accounts_that_cannot_be_made(
    bare_workspace: Workspace, username: str, password: str, role: Role, org: str | None, reason: str
) -> None:
    with pytest.raises(UserError, match=reason):
        users.add_user(bare_workspace, username, password, role, org_code=org)


class Clock:
    """Stands in for ``users._now``: time moves only when the test says."""

    def __init__(self) -> None:
        self.at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def test_guesses_slow_down_their_own_address_but_never_lock_the_owner_out(
    bare_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(users, "_now", clock)
    users.add_user(bare_workspace, "fiona", "finance-password-1", Role.FINANCE)
    for _ in range(MAX_FAILURES_PER_USER):
        with pytest.raises(LoginRefused):
            users.sign_in(bare_workspace, "fiona", "guess-password", "10.0.0.9")
    # the guesser's address now waits 30 s, even with the right password ...
    clock.advance(10)
    with pytest.raises(TooManyAttempts) as held:
        users.sign_in(bare_workspace, "fiona", "finance-password-1", "10.0.0.9")
    assert held.value.retry_after_seconds == 20 and "try again in 20 seconds" in str(held.value)
    # ... while the owner, signing in from her own desk, is not held back at all
    assert users.sign_in(bare_workspace, "fiona", "finance-password-1", "10.0.0.10").user.username == "fiona"
    # after the wait one more guess is checked, and the next wait is twice as long (60 s)
    clock.advance(21)
    with pytest.raises(LoginRefused):
        users.sign_in(bare_workspace, "fiona", "guess-password", "10.0.0.9")
    clock.advance(59)
    with pytest.raises(TooManyAttempts) as held:
        users.sign_in(bare_workspace, "fiona", "guess-password", "10.0.0.9")
    assert held.value.retry_after_seconds == 1
    # a success from that address clears its slow-down for that user name
    clock.advance(1)
    users.sign_in(bare_workspace, "fiona", "finance-password-1", "10.0.0.9")
    with pytest.raises(LoginRefused):
        users.sign_in(bare_workspace, "fiona", "guess-password", "10.0.0.9")


def test_the_wait_doubles_from_30_seconds_to_at_most_15_minutes() -> None:
    waits = [users.slow_down(failures, 5).total_seconds() for failures in range(1, 12)]
    assert waits == [0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900]
    assert users.slow_down(10_000, 5) == timedelta(minutes=15)


def test_one_address_trying_many_user_names_is_slowed_down_too(
    bare_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(users, "_now", Clock())
    for number in range(MAX_FAILURES_PER_CLIENT):
        with pytest.raises(LoginRefused):
            users.sign_in(bare_workspace, f"user{number}", "guess-password", "10.0.0.66")
    with pytest.raises(TooManyAttempts):
        users.sign_in(bare_workspace, "someone-new", "guess-password", "10.0.0.66")
    with pytest.raises(LoginRefused):  # another address is not affected
        users.sign_in(bare_workspace, "someone-new", "guess-password", "10.0.0.67")


def _parallel_sign_ins(workspace: Workspace, attempts: list[tuple[str, str]], client: str) -> Counter[str]:
    """Every (user name, password) tried at once from its own thread; the outcomes counted by kind."""
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(len(attempts))

    def attempt(username: str, password: str) -> None:
        start.wait()
        try:
            users.sign_in(workspace, username, password, client)
            outcome = "signed in"
        except LoginRefused:
            outcome = "checked"
        except TooManyAttempts:
            outcome = "held back"
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=attempt, args=pair) for pair in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.fixture
def parallel_workspace(tmp_path: Path, store_url: str) -> Workspace:
    """As ``bare_workspace``, with SQLite waiting up to a minute for a write lock rather than five seconds: these
    tests run many writers at once on a machine that may be busy, and test the counting, not SQLite's patience."""
    if store_url.startswith("sqlite"):
        store_url += "?timeout=60"
    workspace = init_workspace(tmp_path / "ws", reference_dir=tmp_path, store_url=store_url)
    users.add_user(workspace, "fiona", "finance-password-1", Role.FINANCE)
    return workspace


def test_parallel_guesses_are_counted_before_any_password_is_checked(parallel_workspace: Workspace) -> None:
    """20 wrong passwords at once (on SQLite and PostgreSQL): at most 5 are checked, the rest held back."""
    outcomes = _parallel_sign_ins(parallel_workspace, [("fiona", "guess-password")] * 20, "10.0.0.9")
    assert outcomes["checked"] <= MAX_FAILURES_PER_USER and outcomes["signed in"] == 0
    assert outcomes["checked"] + outcomes["held back"] == 20 and outcomes["checked"] >= 1


def test_parallel_guesses_at_many_user_names_from_one_address_stop_at_its_limit(
    parallel_workspace: Workspace,
) -> None:
    attempts = [(f"user{number % 8}", "guess-password") for number in range(MAX_FAILURES_PER_CLIENT + 6)]
    outcomes = _parallel_sign_ins(parallel_workspace, attempts, "10.0.0.66")
    assert 1 <= outcomes["checked"] <= MAX_FAILURES_PER_CLIENT
    assert outcomes["checked"] + outcomes["held back"] == len(attempts)


def test_an_idle_session_ends_and_each_use_moves_its_end_on(
    bare_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(users, "_now", clock)
    users.add_user(bare_workspace, "bob", "board-password-1", Role.BOARD)
    idle = timedelta(minutes=30)
    token = users.sign_in(bare_workspace, "bob", "board-password-1", "10.0.0.1", idle).token
    clock.advance(25 * 60)
    assert users.session_for(bare_workspace, token, idle) is not None  # used: 30 more minutes from now
    clock.advance(25 * 60)
    assert users.session_for(bare_workspace, token, idle) is not None
    clock.advance(31 * 60)  # unused for 31 minutes
    assert users.session_for(bare_workspace, token, idle) is None


def test_a_session_in_use_still_ends_ten_hours_after_sign_in(
    bare_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(users, "_now", clock)
    users.add_user(bare_workspace, "bob", "board-password-1", Role.BOARD)
    token = users.sign_in(bare_workspace, "bob", "board-password-1", "10.0.0.1").token
    for _ in range(20):  # used every 29 minutes for 9 h 40 min
        clock.advance(29 * 60)
        assert users.session_for(bare_workspace, token) is not None
    clock.advance(21 * 60)
    assert users.session_for(bare_workspace, token) is None


# --- through the pages ------------------------------------------------------------------------------------------


def test_pages_need_a_session_and_the_api_answers_401(app_client: TestClient) -> None:
    response = app_client.get("/savings?rag=red", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fsavings%3Frag%3Dred"
    assert app_client.get("/api/overview").status_code == 401


def test_login_sets_a_httponly_samesite_session_cookie_and_logout_ends_it(app_client: TestClient) -> None:
    token = csrf_from(app_client.get("/login").text)
    response = app_client.post(
        "/login",
        data={"username": "fiona", "password": PASSWORDS["fiona"], "csrf_token": token, "next": "/savings"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/savings"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("outturn_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie  # plain HTTP here
    assert app_client.get("/api/session").json()["user"]["role"] == "finance"
    csrf = app_client.get("/api/session").json()["csrf_token"]
    assert app_client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert app_client.get("/api/overview").status_code == 401


def test_cookies_are_secure_behind_tls(app_client: TestClient) -> None:
    secure = TestClient(app_client.app, base_url="https://outturn.example")
    token = csrf_from(secure.get("/login").text)
    response = secure.post(
        "/login",
        data={"username": "bob", "password": PASSWORDS["bob"], "csrf_token": token},
        follow_redirects=False,
    )
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("outturn_session="))
    assert "Secure" in cookie


def test_login_form_without_its_csrf_token_is_refused(app_client: TestClient) -> None:
    app_client.get("/login")
    response = app_client.post("/login", data={"username": "fiona", "password": PASSWORDS["fiona"]})
    assert response.status_code == 403
    response = app_client.post(
        "/login", data={"username": "fiona", "password": PASSWORDS["fiona"], "csrf_token": "forged"}
    )
    assert response.status_code == 403


def test_every_unsafe_route_needs_the_sessions_csrf_token(app_client: TestClient) -> None:
    """Walk every POST/PUT/PATCH/DELETE route of the application: signed in, without the token each is 403."""
    sign_in(app_client, "fiona")
    routes = [
        (method, re.sub(r"\{[^}]+\}", "2025" if "year" in route.path else "X", route.path))
        for router in ROUTERS
        for route in router.routes
        for method in getattr(route, "methods", set()) - {"GET", "HEAD"}
    ]
    assert len(routes) >= 6
    for method, path in routes:
        response = app_client.request(method, path, data={"x": "1"})
        assert response.status_code == 403, (method, path, response.status_code)
        response = app_client.request(method, path, headers={"X-CSRF-Token": "forged"})
        assert response.status_code == 403, (method, path)


def test_a_wrong_password_is_401_and_the_sixth_try_is_429(app_client: TestClient) -> None:
    token = csrf_from(app_client.get("/login").text)
    statuses = [
        app_client.post("/login", data={"username": "ada", "password": "nope-nope-1", "csrf_token": token}).status_code
        for _ in range(MAX_FAILURES_PER_USER + 1)
    ]
    assert statuses == [401] * MAX_FAILURES_PER_USER + [429]
    response = app_client.post(
        "/login", data={"username": "ada", "password": PASSWORDS["ada"], "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "not recognised" not in response.text and "too many" in response.text


def test_the_next_address_never_leaves_the_site(app_client: TestClient) -> None:
    token = csrf_from(app_client.get("/login").text)
    response = app_client.post(
        "/login",
        data={"username": "bob", "password": PASSWORDS["bob"], "csrf_token": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_api_sign_in_with_json(app_client: TestClient) -> None:
    state = app_client.get("/api/session").json()
    assert state["signed_in"] is False
    response = app_client.post(
        "/api/session",
        json={"username": "bob", "password": PASSWORDS["bob"]},
        headers={"X-CSRF-Token": state["csrf_token"]},
    )
    assert response.status_code == 200 and response.json()["user"]["can_edit"] is False
    assert app_client.get("/api/overview").status_code == 200


def test_pages_carry_security_headers(app_client: TestClient) -> None:
    response = app_client.get("/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


def test_users_command_adds_and_lists_accounts(web_workspace: Workspace) -> None:
    runner = CliRunner()
    base = ["--workspace", str(web_workspace.path), "users"]
    result = runner.invoke(
        cli,
        [*base, "add", "carol", "--role", "practice", "--org", "A81003", "--password-stdin", "--format", "json"],
        input="carol-password-1\n",
    )
    assert result.exit_code == 0, result.output
    assert '"org_code": "A81003"' in result.stdout
    bad = runner.invoke(cli, [*base, "add", "dan", "--role", "finance", "--password-stdin"], input="short\n")
    assert bad.exit_code == 2
    common = runner.invoke(cli, [*base, "add", "dan", "--role", "finance", "--password-stdin"], input="password1234\n")
    assert common.exit_code == 2 and "most common passwords" in common.output
    listed = runner.invoke(cli, [*base, "list", "--format", "json"])
    assert [row["username"] for row in json.loads(listed.stdout)] == ["ada", "bob", "carol", "fiona", "pat"]


# --- forwarded headers -------------------------------------------------------------------------------------------


def _wrong_passwords_from_changing_forwarded_addresses(client: TestClient, tries: int) -> list[int]:
    token = csrf_from(client.get("/login").text)
    return [
        client.post(
            "/login",
            data={"username": "ada", "password": "nope-nope-1", "csrf_token": token},
            headers={"X-Forwarded-For": f"203.0.113.{number}"},
        ).status_code
        for number in range(tries)
    ]


def test_x_forwarded_for_from_an_untrusted_client_does_not_reset_the_count(app_client: TestClient) -> None:
    statuses = _wrong_passwords_from_changing_forwarded_addresses(app_client, MAX_FAILURES_PER_USER + 1)
    assert statuses == [401] * MAX_FAILURES_PER_USER + [429]


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(web_workspace: Workspace) -> None:
    app = create_app(web_workspace.settings, WebConfig(stamp_seconds=0.0, trusted_proxies=("10.0.0.1",)))
    with TestClient(app, client=("10.0.0.1", 40000)) as client:
        statuses = _wrong_passwords_from_changing_forwarded_addresses(client, MAX_FAILURES_PER_USER + 1)
    assert statuses == [401] * (MAX_FAILURES_PER_USER + 1)  # six different clients behind the proxy


def test_serve_believes_forwarded_headers_only_from_the_proxies_it_is_given(
    web_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    for name in ("OUTTURN_WORKSPACE", "OUTTURN_WEB_SECURE_COOKIES", "OUTTURN_WEB_TRUSTED_PROXIES"):
        monkeypatch.setenv(name, "")  # serve sets them for uvicorn's worker: monkeypatch puts them back afterwards
        monkeypatch.delenv(name)
    base = ["--workspace", str(web_workspace.path), "serve"]
    result = CliRunner().invoke(cli, [*base, "--trusted-proxy", "10.0.0.1", "--trusted-proxy", "10.1.0.0/16"])
    assert result.exit_code == 0, result.output
    assert calls[0]["proxy_headers"] is False  # uvicorn's own default believes any local client
    assert WebConfig.from_environment().trusted_proxies == ("10.0.0.1", "10.1.0.0/16")
    CliRunner().invoke(cli, base)
    assert WebConfig.from_environment().trusted_proxies == ()


class _LostClaim(Exception):
    pass


def test_a_try_that_loses_the_race_to_insert_a_keys_first_row_is_told_so(store: Store) -> None:
    at = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    later = at + timedelta(seconds=1)
    with store.transaction() as session:  # the first try counts the key's first failure
        assert users_repository.claim_throttle(session, "client:10.0.0.1", None, 1, at, at)
    # a second try read the key before that committed (no row), and inserts a first row too: it lost the race
    with pytest.raises(_LostClaim), store.transaction() as session:
        if not users_repository.claim_throttle(session, "client:10.0.0.1", None, 1, later, later):
            raise _LostClaim  # as the service does: roll back, read again
    with store.reading() as session:
        state = users_repository.throttle_state(session, "client:10.0.0.1")
    assert state is not None and (state.failures, state.version) == (1, 0)  # the winner's count stands
