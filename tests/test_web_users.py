"""The users page (admins only): add an account, change a role, disable and enable, reset a password; each change
audited with the admin's name; an admin cannot disable themselves, and the last active admin stays an admin.

The workspace (tests/web_helpers.py) holds fiona (finance), bob (board), pat (practice A81001) and ada, the one
admin.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from commentary_helpers import ALICE, BOB, commentary_template, commentary_workspace
from outturn.domain.errors import Conflict
from outturn.services import user_admin, users
from outturn.services.users import Role
from outturn.services.workspace import Workspace, init_workspace
from outturn.store.savings_repository import history
from outturn.web import create_app
from web_helpers import AT_ONCE, PASSWORDS, app_client, csrf_from, sign_in, web_workspace

__all__ = ["app_client", "commentary_template", "commentary_workspace", "web_workspace"]
NEW_PASSWORD = "a-new-long-password-7"


def _accounts(workspace: Workspace) -> dict[str, tuple[str, str | None, bool]]:
    return {user.username: (user.role.value, user.org_code, user.active) for user in users.list_users(workspace)}


def _audit(workspace: Workspace, username: str) -> list[tuple[str, str]]:
    with workspace.store.reading() as session:
        return [(entry.who, entry.action) for entry in history(session, users.USER_AUDIT, username)]


@pytest.mark.parametrize("username", ["fiona", "bob", "pat"])
def test_only_an_admin_sees_the_users_page(app_client: TestClient, username: str) -> None:
    sign_in(app_client, username)
    assert app_client.get("/users").status_code == 403
    assert 'href="/users"' not in app_client.get("/practices").text  # nor in the menu


def test_the_admin_lists_every_account_and_has_it_in_the_menu(app_client: TestClient) -> None:
    sign_in(app_client, "ada")
    page = app_client.get("/users")
    assert page.status_code == 200
    for username in ("ada", "bob", "fiona", "pat"):
        assert f'id="account-{username}"' in page.text
    assert 'href="/users"' in app_client.get("/").text


def test_add_a_user_who_then_signs_in(app_client: TestClient, web_workspace: Workspace) -> None:
    token = sign_in(app_client, "ada")
    form = {"csrf_token": token, "username": "carol", "password": NEW_PASSWORD, "role": "board", "display_name": "C"}
    response = app_client.post("/users", data=form, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/users?done=added&user=carol"
    assert _accounts(web_workspace)["carol"] == ("board", None, True)
    assert _audit(web_workspace, "carol") == [("ada", "add")]
    app_client.post("/logout", data={"csrf_token": token})
    sign_in(app_client, "carol", NEW_PASSWORD)
    assert app_client.get("/position").status_code == 200


def test_a_short_password_or_a_taken_name_is_refused_with_the_reason(
    app_client: TestClient, web_workspace: Workspace
) -> None:
    token = sign_in(app_client, "ada")
    short = {"csrf_token": token, "username": "carol", "password": "short", "role": "board"}
    response = app_client.post("/users", data=short)
    assert response.status_code == 400 and "password too short: at least 12 characters" in response.text
    taken = {"csrf_token": token, "username": "bob", "password": NEW_PASSWORD, "role": "board"}
    response = app_client.post("/users", data=taken)
    assert response.status_code == 400 and "user &#39;bob&#39; already exists" in response.text
    assert "carol" not in _accounts(web_workspace)


def test_change_a_role_and_a_practice(app_client: TestClient, web_workspace: Workspace) -> None:
    token = sign_in(app_client, "ada")
    response = app_client.post("/users/bob/role", data={"csrf_token": token, "role": "finance"}, follow_redirects=False)
    assert response.status_code == 303
    assert _accounts(web_workspace)["bob"] == ("finance", None, True)
    # a practice user needs a practice of the workspace
    refused = app_client.post("/users/bob/role", data={"csrf_token": token, "role": "practice", "org_code": "ZZZ"})
    assert refused.status_code == 400 and "a practice user needs a practice of the workspace" in refused.text
    moved = {"csrf_token": token, "role": "practice", "org_code": "a81002"}
    assert app_client.post("/users/bob/role", data=moved, follow_redirects=False).status_code == 303
    assert _accounts(web_workspace)["bob"] == ("practice", "A81002", True)
    assert _audit(web_workspace, "bob") == [("ada", "change"), ("ada", "change")]


def test_a_disabled_user_is_signed_out_and_cannot_sign_in_until_enabled(
    app_client: TestClient, web_workspace: Workspace
) -> None:
    with TestClient(app_client.app) as fiona:
        sign_in(fiona, "fiona")
        assert fiona.get("/position").status_code == 200
        token = sign_in(app_client, "ada")
        disable = app_client.post(
            "/users/fiona/active", data={"csrf_token": token, "active": "false"}, follow_redirects=False
        )
        assert disable.status_code == 303
        assert _accounts(web_workspace)["fiona"] == ("finance", None, False)
        # her open session ends at once (the session cache forgets her), and she cannot sign in again
        assert fiona.get("/position", follow_redirects=False).status_code in (303, 401)
        login_token = csrf_from(fiona.get("/login").text)
        again = {"username": "fiona", "password": PASSWORDS["fiona"], "csrf_token": login_token}
        assert fiona.post("/login", data=again, follow_redirects=False).status_code != 303
        app_client.post("/users/fiona/active", data={"csrf_token": token, "active": "true"})
        assert _accounts(web_workspace)["fiona"] == ("finance", None, True)
        sign_in(fiona, "fiona")
    assert _audit(web_workspace, "fiona") == [("ada", "disable"), ("ada", "enable")]


def test_reset_a_password(app_client: TestClient, web_workspace: Workspace) -> None:
    token = sign_in(app_client, "ada")
    reset = {"csrf_token": token, "password": NEW_PASSWORD}
    assert app_client.post("/users/pat/password", data=reset, follow_redirects=False).status_code == 303
    with TestClient(app_client.app) as pat:
        sign_in(pat, "pat", NEW_PASSWORD)
    entries = _audit(web_workspace, "pat")
    assert entries == [("ada", "reset password")]
    with web_workspace.store.reading() as session:
        audited = history(session, users.USER_AUDIT, "pat")[0]
    assert audited.before is None and audited.after is None  # never the password nor its hash


def test_an_admin_cannot_disable_or_demote_themselves(app_client: TestClient, web_workspace: Workspace) -> None:
    token = sign_in(app_client, "ada")
    refused = app_client.post("/users/ada/active", data={"csrf_token": token, "active": "false"})
    assert refused.status_code == 409 and "cannot disable their own account" in refused.text
    refused = app_client.post("/users/ada/role", data={"csrf_token": token, "role": "finance"})
    assert refused.status_code == 409
    assert _accounts(web_workspace)["ada"] == ("admin", None, True)
    assert _audit(web_workspace, "ada") == []


def test_the_last_active_admin_stays_an_admin(web_workspace: Workspace) -> None:
    """With two admins one may disable the other; the one left can then be neither demoted nor disabled."""
    user_admin.change_account(web_workspace, "fiona", "ada", role=Role.ADMIN)
    user_admin.change_account(web_workspace, "ada", "fiona", active=False)  # fiona remains an admin
    with pytest.raises(Conflict, match="last active admin"):
        user_admin.change_account(web_workspace, "fiona", "bob", role=Role.FINANCE)
    with pytest.raises(Conflict, match="last active admin"):
        user_admin.change_account(web_workspace, "fiona", "bob", active=False)
    assert _accounts(web_workspace)["fiona"] == ("admin", None, True)


def test_an_unknown_account_is_not_found(app_client: TestClient) -> None:
    token = sign_in(app_client, "ada")
    response = app_client.post("/users/nobody/active", data={"csrf_token": token, "active": "false"})
    assert response.status_code == 404 and "no user &#39;nobody&#39;" in response.text


def test_account_changes_on_each_store(tmp_path: Path, store_url: str) -> None:
    """On SQLite and PostgreSQL: two admins; one disables the other, whose sessions end; the one left can be
    neither demoted nor disabled; a reset password signs its owner out and is the one that works."""
    workspace = init_workspace(tmp_path / "ws", reference_dir=tmp_path, store_url=store_url)
    try:
        users.add_user(workspace, "ada", PASSWORDS["ada"], Role.ADMIN)
        users.add_user(workspace, "eve", "second-admin-password", Role.ADMIN, added_by="ada")
        session = users.sign_in(workspace, "eve", "second-admin-password", "10.0.0.1")
        user_admin.change_account(workspace, "eve", "ada", active=False)
        assert users.session_for(workspace, session.token) is None
        with pytest.raises(Conflict, match="last active admin"):
            user_admin.change_account(workspace, "ada", "someone", role=Role.BOARD)
        user_admin.change_account(workspace, "eve", "ada", active=True)
        token = users.sign_in(workspace, "ada", PASSWORDS["ada"], "10.0.0.1").token
        user_admin.reset_password(workspace, "ada", NEW_PASSWORD, "eve")
        assert users.session_for(workspace, token) is None
        assert users.sign_in(workspace, "ada", NEW_PASSWORD, "10.0.0.2").user.username == "ada"
        assert _audit(workspace, "eve") == [("ada", "add"), ("ada", "disable"), ("ada", "enable")]
        assert _audit(workspace, "ada") == [("eve", "reset password")]
    finally:
        workspace.close()


def test_a_budget_holder_account_is_added_and_changed_with_its_holder(commentary_workspace: Workspace) -> None:
    """The commentary workspace's mapping names two holders, Alice Acute and Bob Mental; the page offers the role,
    takes the holder's name (spelt as the mapping spells it, whatever the case and spaces typed) and refuses the
    role without a holder the mapping knows."""
    users.add_user(commentary_workspace, "ada", PASSWORDS["ada"], Role.ADMIN)
    holders = {user.username: user.budget_holder for user in users.list_users(commentary_workspace)}
    with TestClient(create_app(commentary_workspace.settings, AT_ONCE)) as client:
        token = sign_in(client, "ada")
        page = client.get("/users").text
        assert '<option value="budget_holder">' in page and 'name="budget_holder"' in page
        assert f'<td class="app-scope">{ALICE}</td>' in page  # alice's row names her holder
        form = {"csrf_token": token, "username": "hana", "password": "hana-password-123", "role": "budget_holder"}
        refused = client.post("/users", data=form)
        assert refused.status_code == 400 and "a budget holder user needs the budget holder&#39;s name" in refused.text
        unknown = client.post("/users", data={**form, "budget_holder": "Carol Typo"})
        assert unknown.status_code == 400 and "no cost centre has &#39;Carol Typo&#39;" in unknown.text
        added = client.post("/users", data={**form, "budget_holder": " bob  mental "}, follow_redirects=False)
        assert added.status_code == 303
        # barbara (board) becomes Alice Acute's; then alice moves to board, losing her holder
        no_holder = {"csrf_token": token, "role": "budget_holder"}
        assert client.post("/users/barbara/role", data=no_holder).status_code == 400
        moved = {"csrf_token": token, "role": "budget_holder", "budget_holder": ALICE}
        assert client.post("/users/barbara/role", data=moved, follow_redirects=False).status_code == 303
        board = {"csrf_token": token, "role": "board", "budget_holder": ALICE}  # the form shows her holder
        assert client.post("/users/alice/role", data=board, follow_redirects=False).status_code == 303
        # bob stays a budget holder with an empty holder field: he keeps his holder
        kept = {"csrf_token": token, "role": "budget_holder", "budget_holder": ""}
        assert client.post("/users/bob/role", data=kept, follow_redirects=False).status_code == 303
    after = {user.username: (user.role.value, user.budget_holder) for user in users.list_users(commentary_workspace)}
    assert holders["alice"] == ALICE and holders["barbara"] is None
    assert after["hana"] == ("budget_holder", BOB)
    assert after["barbara"] == ("budget_holder", ALICE)
    assert after["alice"] == ("board", None)
    assert after["bob"] == ("budget_holder", BOB)
