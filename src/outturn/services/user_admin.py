"""Account administration for admins: change a role, disable or enable an account, reset a password.

Each change is one transaction with its audit entry (entity ``user``, keyed by user name; a password is never
written there, only that it was reset). An admin cannot disable themselves or take away their own admin role, and
the last active admin can be neither disabled nor given another role, so the workspace always keeps someone who
can administer it. Disabling an account or resetting its password signs it out everywhere.
"""

from __future__ import annotations

from outturn.domain.errors import Conflict, NotFound
from outturn.services.users import (
    USER_AUDIT,
    Role,
    User,
    audited_account,
    check_practice,
    checked_holder,
    hash_password,
    list_users,
)
from outturn.services.workspace import Workspace
from outturn.store import repository
from outturn.store import users_repository as store
from outturn.store.savings_repository import record_change


def _is_active_admin(record: store.UserRecord) -> bool:
    return record.active and record.role == Role.ADMIN.value


def _keeps_an_admin(records: list[store.UserRecord], changed: store.UserRecord) -> bool:
    """Whether some active admin remains once ``changed`` replaces the stored account of the same id."""
    return any(_is_active_admin(changed if record.id == changed.id else record) for record in records)


def change_account(
    workspace: Workspace,
    username: str,
    who: str,
    *,
    role: Role | None = None,
    org_code: str | None = None,
    active: bool | None = None,
    budget_holder: str | None = None,
) -> User:
    """Change an account's role (with its practice, for a practice user, or its budget holder, for a budget holder
    user) and/or whether it may sign in; ``who`` is the admin making the change. A budget holder user keeps its
    holder when none is given; any other role drops it (the page's form shows the present holder)."""
    with workspace.store.reading() as session:
        stored = store.user_by_name(session, username)
    if stored is None:
        raise NotFound(f"no user {username!r}")
    kept = stored.budget_holder if stored.role == Role.BUDGET_HOLDER.value else None
    new_holder = checked_holder(workspace, role, budget_holder or kept) if role is Role.BUDGET_HOLDER else None
    with workspace.store.transaction() as session:
        before = store.user_by_name(session, username)
        if before is None:
            raise NotFound(f"no user {username!r}")
        new_role = role if role is not None else Role(before.role)
        code = (org_code.strip().upper() or None) if org_code else None
        if role is None:
            code, new_holder = before.org_code, before.budget_holder
        check_practice(repository.org_tree(session) if new_role is Role.PRACTICE else None, new_role, code)
        new_active = before.active if active is None else active
        if username == who and (not new_active or new_role is not Role.ADMIN):
            raise Conflict("an admin cannot disable their own account or take away their own admin role")
        after = store.UserRecord(
            before.id, before.username, before.display_name, new_role.value, code, new_active, "", new_holder
        )
        if not _keeps_an_admin(store.list_users(session), after):
            raise Conflict(f"{username} is the last active admin: make another admin first")
        store.set_account(
            session, before.id, role=new_role.value, org_code=code, active=new_active, budget_holder=new_holder
        )
        if not new_active:
            store.delete_user_sessions(session, before.id)
        action = (
            "disable"
            if before.active and not new_active
            else "enable"
            if new_active and not before.active
            else "change"
        )
        record_change(session, who, USER_AUDIT, username, action, audited_account(before), audited_account(after))
    return _found(workspace, username)


def reset_password(workspace: Workspace, username: str, password: str, who: str) -> User:
    """Give an account a new password (meeting the rules); it is signed out everywhere."""
    password_hash = hash_password(workspace, password)
    with workspace.store.transaction() as session:
        record = store.user_by_name(session, username)
        if record is None:
            raise NotFound(f"no user {username!r}")
        store.set_password_hash(session, record.id, password_hash)
        store.delete_user_sessions(session, record.id)
        record_change(session, who, USER_AUDIT, username, "reset password", None, None)
    return _found(workspace, username)


def _found(workspace: Workspace, username: str) -> User:
    for user in list_users(workspace):
        if user.username == username:
            return user
    raise NotFound(f"no user {username!r}")
