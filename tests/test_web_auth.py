"""Signing in: argon2 hashes, server-side sessions, cookie flags, CSRF on every form, rate-limited login, roles.

The users service runs on SQLite and PostgreSQL (``store_url``); the pages through FastAPI's TestClient.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from outturn.cli import app as cli
from outturn.services import users
from outturn.services.imports import import_organisations
from outturn.services.users import MAX_FAILURES_PER_USER, LoginRefused, Role, TooManyAttempts, UserError
from outturn.services.workspace import Workspace, init_workspace
from outturn.store.models import UserRow, WebSessionRow
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
        ("two words", "long-enough-1", Role.FINANCE, None, "no spaces"),
        ("pam", "long-enough-1", Role.PRACTICE, None, "needs --org"),
        ("pam", "long-enough-1", Role.PRACTICE, "P1", "needs --org"),  # a PCN is not a practice
        ("fin", "long-enough-1", Role.FINANCE, "A81001", "only practice users"),
    ],
)
def test_accounts_that_cannot_be_made(
    bare_workspace: Workspace, username: str, password: str, role: Role, org: str | None, reason: str
) -> None:
    with pytest.raises(UserError, match=reason):
        users.add_user(bare_workspace, username, password, role, org_code=org)


def test_sign_in_is_refused_after_repeated_failures_even_with_the_right_password(bare_workspace: Workspace) -> None:
    users.add_user(bare_workspace, "fiona", "finance-password-1", Role.FINANCE)
    for _ in range(MAX_FAILURES_PER_USER):
        with pytest.raises(LoginRefused):
            users.sign_in(bare_workspace, "fiona", "guess-password", "10.0.0.9")
    with pytest.raises(TooManyAttempts):
        users.sign_in(bare_workspace, "fiona", "finance-password-1", "10.0.0.10")
    # another user from another address is not held back
    users.add_user(bare_workspace, "bob", "board-password-1", Role.BOARD)
    assert users.sign_in(bare_workspace, "bob", "board-password-1", "10.0.0.11").user.username == "bob"


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
    listed = runner.invoke(cli, [*base, "list", "--format", "json"])
    assert [row["username"] for row in json.loads(listed.stdout)] == ["ada", "bob", "carol", "fiona", "pat"]
