"""People who use the web application: accounts with roles, sign-in with rate limiting, server-side sessions.

Passwords are stored only as argon2 hashes. A session is a random token held in the browser's cookie; the store
keeps its SHA-256 and a CSRF token for the forms of that session. Sign-in is refused for a while after repeated
failures for one user name or from one client address, whether or not the user name exists.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from outturn.domain.errors import BadInput
from outturn.domain.organisations import OrgKind
from outturn.services.workspace import Workspace
from outturn.store import repository
from outturn.store import users_repository as store

SESSION_LIFETIME = timedelta(hours=10)
ATTEMPT_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 20
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()
# a hash to verify against when the user name is unknown, so that both paths take the same time
_UNKNOWN_USER_HASH = _hasher.hash(secrets.token_hex(16))


class Role(StrEnum):
    FINANCE = "finance"  # reads everything, edits schemes, imports files, closes the month
    PRACTICE = "practice"  # sees its own practice and PCN only
    BOARD = "board"  # reads everything, changes nothing
    ADMIN = "admin"  # everything finance can, and manages accounts


class UserError(BadInput):
    """An account that cannot be created as asked."""


class LoginRefused(Exception):
    """Wrong user name or password (which of the two is never said)."""


class TooManyAttempts(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"too many failed sign-in attempts: try again in {retry_after_seconds // 60 + 1} minutes")
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    org_code: str | None = None
    visible_orgs: frozenset[str] | None = None  # None: every organisation

    @property
    def can_edit(self) -> bool:
        return self.role in (Role.FINANCE, Role.ADMIN)

    @property
    def sees_everything(self) -> bool:
        return self.visible_orgs is None

    def may_see(self, org_code: str) -> bool:
        return self.visible_orgs is None or org_code.upper() in self.visible_orgs


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: str  # for the cookie; the store has only its hash
    csrf_token: str


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _visible_orgs(workspace: Workspace, role: Role, org_code: str | None) -> frozenset[str] | None:
    """A practice user sees its practice and the PCN the practice belongs to; everyone else sees everything."""
    if role is not Role.PRACTICE:
        return None
    if org_code is None:
        return frozenset()
    with workspace.store.reading() as session:
        tree = repository.org_tree(session)
    if org_code not in tree:
        return frozenset({org_code})
    practice = tree.get(org_code)
    parent = tree.by_code.get(practice.parent_code or "")
    pcn = {parent.code} if parent is not None and parent.kind is OrgKind.PCN else set()
    return frozenset({org_code, *pcn})


def _user(workspace: Workspace, record: store.UserRecord) -> User:
    role = Role(record.role)
    return User(
        record.id,
        record.username,
        record.display_name or record.username,
        role,
        record.org_code,
        _visible_orgs(workspace, role, record.org_code),
    )


def add_user(
    workspace: Workspace,
    username: str,
    password: str,
    role: Role,
    *,
    org_code: str | None = None,
    display_name: str = "",
) -> User:
    username = username.strip()
    if not username or len(username) > 100 or any(character.isspace() for character in username):
        raise UserError(f"user name {username!r}: 1 to 100 characters, no spaces")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
    code = org_code.strip().upper() if org_code else None
    with workspace.store.transaction() as session:
        if role is Role.PRACTICE:
            tree = repository.org_tree(session)
            if code is None or code not in tree or tree.get(code).kind is not OrgKind.PRACTICE:
                raise UserError(f"a practice user needs --org naming a practice in the workspace (got {code!r})")
        elif code is not None:
            raise UserError("only practice users are tied to an organisation")
        if store.user_by_name(session, username) is not None:
            raise UserError(f"user {username!r} already exists")
        record = store.add_user(session, username, _hasher.hash(password), role.value, code, display_name.strip())
    return _user(workspace, record)


def list_users(workspace: Workspace) -> list[User]:
    with workspace.store.reading() as session:
        records = store.list_users(session)
    return [_user(workspace, record) for record in records]


def _check_rate(workspace: Workspace, username: str, client: str) -> None:
    since = _now() - ATTEMPT_WINDOW
    with workspace.store.reading() as session:
        by_user = store.failures_since(session, since, username=username)
        by_client = store.failures_since(session, since, client=client)
    if by_user >= MAX_FAILURES_PER_USER or by_client >= MAX_FAILURES_PER_CLIENT:
        raise TooManyAttempts(int(ATTEMPT_WINDOW.total_seconds()))


def _verified(record: store.UserRecord | None, password: str) -> bool:
    try:
        return _hasher.verify(record.password_hash if record else _UNKNOWN_USER_HASH, password) and record is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def sign_in(workspace: Workspace, username: str, password: str, client: str) -> SignedIn:
    """Check the password and open a session; raises ``TooManyAttempts`` or ``LoginRefused``."""
    username = username.strip()[:100]
    _check_rate(workspace, username, client)
    with workspace.store.transaction() as session:
        record = store.user_by_name(session, username)
        succeeded = _verified(record, password) and record is not None and record.active
        store.record_attempt(session, username, client[:64], succeeded)
    if not succeeded or record is None:
        raise LoginRefused("user name or password not recognised")
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with workspace.store.transaction() as session:
        if _hasher.check_needs_rehash(record.password_hash):
            store.set_password_hash(session, record.id, _hasher.hash(password))
        store.delete_expired_sessions(session, _now())
        store.create_session(session, _sha256(token), record.id, csrf, _now() + SESSION_LIFETIME)
    return SignedIn(_user(workspace, record), token, csrf)


def session_for(workspace: Workspace, token: str) -> tuple[User, str] | None:
    """The signed-in user and the session's CSRF token, or None for an unknown or expired token."""
    if not token:
        return None
    with workspace.store.reading() as session:
        found = store.session_user(session, _sha256(token), _now())
    if found is None:
        return None
    record, csrf = found
    return _user(workspace, record), csrf


def sign_out(workspace: Workspace, token: str) -> None:
    with workspace.store.transaction() as session:
        store.delete_session(session, _sha256(token))
