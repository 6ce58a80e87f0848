"""People who use the web application: accounts with roles, sign-in with slow-down, server-side sessions.

Passwords are stored only as argon2 hashes, and must be long and not among the commonest passwords. A session is a
random token held in the browser's cookie; the store keeps its SHA-256 and a CSRF token for the forms of that
session; it ends when unused for the idle timeout, and ten hours after sign-in regardless.

Sign-in slows down rather than locking anyone out: a user name tried from one client address may fail
``MAX_FAILURES_PER_USER`` times, then each further try must wait twice as long as the last (30 s, 1 min, 2 min …,
at most 15 minutes); one address may fail ``MAX_FAILURES_PER_CLIENT`` times over all user names before it is slowed
down the same way. The owner signing in from elsewhere is never held back by someone else's guesses. Each try is
claimed in the store before its password is checked, by a compare-and-set that only one of many parallel tries can
win, so no more tries are checked than the limits allow, however many arrive at once.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import CHEAPEST, get_default_parameters

from outturn.domain.errors import BadInput
from outturn.domain.organisations import OrgKind, OrgTree
from outturn.services.budget_holders import holder_cost_centres
from outturn.services.workspace import Workspace
from outturn.store import repository
from outturn.store import users_repository as store
from outturn.store.database import StoreUnavailable
from outturn.store.savings_repository import record_change

SESSION_LIFETIME = timedelta(hours=10)
SESSION_IDLE = timedelta(minutes=30)
SESSION_TOUCH = timedelta(minutes=1)  # a session's expiry is moved on in the store at most this often
ATTEMPT_WINDOW = timedelta(minutes=15)  # failures older than this (with none since) are forgotten
MAX_FAILURES_PER_USER = 5  # per user name and client address
MAX_FAILURES_PER_CLIENT = 20  # per client address, whatever the user names
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
CLAIM_TRIES = 50
MIN_PASSWORD_LENGTH = 12

USER_AUDIT = "user"  # the audit log's entity for accounts
HASHING_PARAMETERS = {"standard": get_default_parameters(), "cheapest": CHEAPEST}  # the setting password_hashing


@cache
def _hasher(hashing: str) -> PasswordHasher:
    return PasswordHasher.from_parameters(HASHING_PARAMETERS[hashing])


def _workspace_hasher(workspace: Workspace) -> PasswordHasher:
    """New hashes take the workspace's ``password_hashing`` parameters; a hash made with others is still checked
    (it names its own) and is replaced at the next sign-in."""
    return _hasher(workspace.settings.password_hashing)


@cache
def _unknown_user_hash(hashing: str) -> str:
    """A hash to verify against when the user name is unknown, so that both paths take the same time."""
    return _hasher(hashing).hash(secrets.token_hex(16))


class Role(StrEnum):
    FINANCE = "finance"  # reads everything, edits schemes, imports files, closes the month
    PRACTICE = "practice"  # sees its own practice and PCN only
    BOARD = "board"  # reads everything, changes nothing
    ADMIN = "admin"  # everything finance can, and manages accounts
    BUDGET_HOLDER = "budget_holder"  # sees its own cost centres' lines and writes their commentary


class UserError(BadInput):
    """An account that cannot be created as asked."""


class LoginRefused(Exception):
    """Wrong user name or password (which of the two is never said)."""


class TooManyAttempts(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"too many failed sign-in attempts: try again in {_duration(retry_after_seconds)}")
        self.retry_after_seconds = retry_after_seconds


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    org_code: str | None = None
    visible_orgs: frozenset[str] | None = None  # None: every organisation
    budget_holder: str | None = None  # a budget holder user's name, as the ledger's mapping spells it
    active: bool = True  # a disabled account cannot sign in

    @property
    def can_edit(self) -> bool:
        return self.role in (Role.FINANCE, Role.ADMIN)

    @property
    def home(self) -> str:
        """The page a user who cannot see every organisation starts from."""
        return "/commentary" if self.role is Role.BUDGET_HOLDER else f"/practices/{self.org_code}"

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
    """A practice user sees its practice and the PCN the practice belongs to; a budget holder no organisation's
    pages (only their own lines, on the commentary page); everyone else sees everything."""
    if role is Role.BUDGET_HOLDER:
        return frozenset()
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
        record.budget_holder,
        record.active,
    )


def _mapped_holder(workspace: Workspace, holder: str) -> str:
    """The holder's name as the ledger's mapping spells it; ``UserError`` when no cost centre names them."""
    centres = holder_cost_centres(workspace, holder)
    if not centres:
        raise UserError(f"no cost centre has {holder!r} as its budget holder: load the ledger's mapping first")
    return centres[0].budget_holder


def checked_holder(workspace: Workspace, role: Role, budget_holder: str | None) -> str | None:
    """The budget holder a ``role`` account is tied to, as the ledger's mapping spells it: required for a budget
    holder user, refused for any other role (``UserError``)."""
    holder = " ".join(budget_holder.split()) if budget_holder else None
    if (role is Role.BUDGET_HOLDER) != (holder is not None):
        raise UserError(
            "a budget holder user needs the budget holder's name, as the ledger's mapping spells it"
            if role is Role.BUDGET_HOLDER
            else "only budget holder users are tied to a budget holder"
        )
    return None if holder is None else _mapped_holder(workspace, holder)


# look-alike of services/pricing.py:price_file (shape only): declarative, keyword fields or columns, one per
# attribute.
def add_user(
    workspace: Workspace,
    username: str,
    password: str,
    role: Role,
    *,
    org_code: str | None = None,
    display_name: str = "",
    budget_holder: str | None = None,
    added_by: str | None = None,
) -> User:
    """Create an account; ``added_by`` (an admin in the web) is recorded in the audit log with it."""
    username = username.strip()
    if not username or len(username) > 100 or any(character.isspace() for character in username):
        raise UserError(f"user name {username!r}: 1 to 100 characters, no spaces")
    check_password(password)
    code = org_code.strip().upper() if org_code else None
    holder = checked_holder(workspace, role, budget_holder)
    with workspace.store.transaction() as session:
        check_practice(repository.org_tree(session) if role is Role.PRACTICE else None, role, code)
        if store.user_by_name(session, username) is not None:
            raise UserError(f"user {username!r} already exists")
        record = store.add_user(
            session,
            username,
            _workspace_hasher(workspace).hash(password),
            role.value,
            code,
            display_name.strip(),
            holder,
        )
        if added_by is not None:
            record_change(session, added_by, USER_AUDIT, record.username, "add", None, audited_account(record))
    return _user(workspace, record)


def audited_account(record: store.UserRecord) -> dict[str, Any]:
    """An account as the audit log keeps it (entity ``USER_AUDIT``, keyed by user name): never its password."""
    return {
        "role": record.role,
        "org_code": record.org_code,
        "budget_holder": record.budget_holder,
        "active": record.active,
    }


def check_practice(tree: OrgTree | None, role: Role, code: str | None) -> None:
    """A practice user is tied to a practice of the workspace (``tree``: the workspace's organisations, needed for
    a practice user only); no one else is tied to an organisation."""
    if role is Role.PRACTICE:
        if tree is None or code is None or code not in tree or tree.get(code).kind is not OrgKind.PRACTICE:
            raise UserError(f"a practice user needs a practice of the workspace (got {code!r})", needs="practice")
    elif code is not None:
        raise UserError("only practice users are tied to an organisation")


def hash_password(workspace: Workspace, password: str) -> str:
    """A new password's hash, once it meets the rules (``check_password``)."""
    check_password(password)
    return _workspace_hasher(workspace).hash(password)


@cache
def common_passwords() -> frozenset[str]:
    """The 49,233 commonest passwords (lower case) of zxcvbn-ts' list: ``common_passwords.txt`` beside this module."""
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line)


def check_password(password: str) -> None:
    """A new password must be at least ``MIN_PASSWORD_LENGTH`` characters and not a well-known password;
    ``UserError`` says which rule it breaks."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
    folded = password.strip().casefold()
    if folded in common_passwords():
        raise UserError("password is one of the most common passwords: choose another")


def list_users(workspace: Workspace) -> list[User]:
    with workspace.store.reading() as session:
        records = store.list_users(session)
    return [_user(workspace, record) for record in records]


def slow_down(failures: int, free_failures: int) -> timedelta:
    """How long to wait after ``failures`` failures: nothing for the first ``free_failures - 1``, then 30 s,
    doubling with each failure to at most 15 minutes."""
    if failures < free_failures:
        return timedelta(0)
    doublings: int = min(failures - free_failures, 16)
    return min(MAX_DELAY, FIRST_DELAY * (1 << doublings))


class _Raced(Exception):
    """Another try changed a throttle row between this one's read and its write."""


def _claim_attempt(workspace: Workspace, free_failures: dict[str, int]) -> None:
    """Count a try against each key (its free failures given) before the password is checked, or raise
    ``TooManyAttempts`` while any key must wait.

    The try is counted as a failure until it succeeds. All keys are claimed in one transaction by compare-and-set
    on each row's version; when a parallel try got there first, the claim rolls back and this try reads again, so
    every checked try has been counted first."""
    for _ in range(CLAIM_TRIES):
        at = _now()
        with workspace.store.reading() as session:
            states = {key: store.throttle_state(session, key) for key in free_failures}
        claims = []
        for key, state in states.items():
            failures = 0 if state is None or at - state.last_at > ATTEMPT_WINDOW else state.failures
            if state is not None and failures and at < state.blocked_until:
                raise TooManyAttempts(max(1, math.ceil((state.blocked_until - at).total_seconds())))
            version = state.version if state is not None else None
            claims.append((key, version, failures + 1, at + slow_down(failures + 1, free_failures[key])))
        try:
            with workspace.store.transaction() as session:
                for key, version, failures, blocked_until in claims:
                    if not store.claim_throttle(session, key, version, failures, at, blocked_until):
                        raise _Raced()
            return
        except _Raced:
            continue
    raise TooManyAttempts(1)


def _user_key(username: str, client: str) -> str:
    return f"user:{username}@{client}"


def _client_key(client: str) -> str:
    return f"client:{client}"


def _verified(workspace: Workspace, record: store.UserRecord | None, password: str) -> bool:
    hashing = workspace.settings.password_hashing
    try:
        return (
            _hasher(hashing).verify(record.password_hash if record else _unknown_user_hash(hashing), password)
            and record is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _session_end(created_at: datetime, used_at: datetime, idle: timedelta) -> datetime:
    return min(created_at + SESSION_LIFETIME, used_at + idle)


def sign_in(
    workspace: Workspace, username: str, password: str, client: str, idle: timedelta = SESSION_IDLE
) -> SignedIn:
    """Check the password and open a session; raises ``TooManyAttempts`` or ``LoginRefused``."""
    username, client = username.strip()[:100], client[:64]
    _claim_attempt(
        workspace, {_client_key(client): MAX_FAILURES_PER_CLIENT, _user_key(username, client): MAX_FAILURES_PER_USER}
    )
    with workspace.store.reading() as session:
        record = store.user_by_name(session, username)
    succeeded = _verified(workspace, record, password) and record is not None and record.active
    with workspace.store.transaction() as session:
        store.record_attempt(session, username, client, succeeded)
    if not succeeded or record is None:
        raise LoginRefused("user name or password not recognised")
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    at = _now()
    with workspace.store.transaction() as session:
        store.clear_throttle(session, _user_key(username, client), at)
        store.uncount_attempt(session, _client_key(client))
        store.forget_throttles_before(session, at - SESSION_LIFETIME)
        hasher = _workspace_hasher(workspace)
        if hasher.check_needs_rehash(record.password_hash):
            store.set_password_hash(session, record.id, hasher.hash(password))
        store.delete_expired_sessions(session, at)
        store.create_session(session, _sha256(token), record.id, csrf, at, _session_end(at, at, idle))
    return SignedIn(_user(workspace, record), token, csrf)


def session_for(workspace: Workspace, token: str, idle: timedelta = SESSION_IDLE) -> tuple[User, str] | None:
    """The signed-in user and the session's CSRF token, or None for an unknown or expired token. Each use moves
    the session's end to ``idle`` from now (never past ``SESSION_LIFETIME`` after sign-in)."""
    if not token:
        return None
    at = _now()
    with workspace.store.reading() as session:
        found = store.session_user(session, _sha256(token), at)
    if found is None:
        return None
    ends_at = _session_end(found.created_at, at, idle)
    if abs(ends_at - found.expires_at) >= SESSION_TOUCH:
        try:
            with workspace.store.transaction() as session:
                store.set_session_expiry(session, _sha256(token), ends_at)
        except StoreUnavailable:
            pass  # the store is busy (a long import): the session keeps its end for now, the next use moves it
    return _user(workspace, found.user), found.csrf_token


def sign_out(workspace: Workspace, token: str) -> None:
    with workspace.store.transaction() as session:
        store.delete_session(session, _sha256(token))
