"""Web users, their sessions and sign-in attempts in the store. Callers own the session/transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outturn.store.models import LoginAttemptRow, LoginThrottleRow, UserRow, WebSessionRow
from outturn.store.repository import now


@dataclass(frozen=True)
class UserRecord:
    id: int
    username: str
    display_name: str
    role: str
    org_code: str | None
    active: bool
    password_hash: str
    budget_holder: str | None = None


def _record(row: UserRow) -> UserRecord:
    return UserRecord(
        row.id, row.username, row.display_name, row.role, row.org_code, row.active, row.password_hash, row.budget_holder
    )


# look-alike of ingest/trial_balance.py:_row (shape only): declarative, keyword fields or columns, one per attribute.
def add_user(
    session: Session,
    username: str,
    password_hash: str,
    role: str,
    org_code: str | None,
    display_name: str,
    budget_holder: str | None = None,
) -> UserRecord:
    row = UserRow(
        username=username,
        password_hash=password_hash,
        role=role,
        org_code=org_code,
        budget_holder=budget_holder,
        display_name=display_name,
        active=True,
        created_at=now(),
    )
    session.add(row)
    session.flush()
    return _record(row)


def user_by_name(session: Session, username: str) -> UserRecord | None:
    row = session.scalars(select(UserRow).where(UserRow.username == username)).one_or_none()
    return _record(row) if row else None


def set_password_hash(session: Session, user_id: int, password_hash: str) -> None:
    row = session.get(UserRow, user_id)
    if row is not None:
        row.password_hash = password_hash


def list_users(session: Session) -> list[UserRecord]:
    return [_record(row) for row in session.scalars(select(UserRow).order_by(UserRow.username))]


def set_account(
    session: Session, user_id: int, *, role: str, org_code: str | None, active: bool, budget_holder: str | None = None
) -> UserRecord:
    """An account's role, practice (or budget holder) and whether it may sign in; the caller has checked the change
    is allowed."""
    row = session.get(UserRow, user_id)
    assert row is not None
    row.role, row.org_code, row.active, row.budget_holder = role, org_code, active, budget_holder
    session.flush()
    return _record(row)


def delete_user_sessions(session: Session, user_id: int) -> None:
    """Sign an account out everywhere (disabled, or its password reset)."""
    session.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user_id))


def create_session(
    session: Session, token_sha256: str, user_id: int, csrf_token: str, created_at: datetime, expires_at: datetime
) -> None:
    session.add(
        WebSessionRow(
            token_sha256=token_sha256,
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=created_at,
            expires_at=expires_at,
        )
    )


@dataclass(frozen=True)
class SessionRecord:
    user: UserRecord
    csrf_token: str
    created_at: datetime
    expires_at: datetime


def session_user(session: Session, token_sha256: str, at: datetime) -> SessionRecord | None:
    """The active user, CSRF token and times of an unexpired session, else None."""
    found = session.execute(
        select(UserRow, WebSessionRow)
        .join(WebSessionRow, WebSessionRow.user_id == UserRow.id)
        .where(WebSessionRow.token_sha256 == token_sha256, WebSessionRow.expires_at > at, UserRow.active)
    ).one_or_none()
    if found is None:
        return None
    user, web_session = found
    return SessionRecord(
        _record(user), web_session.csrf_token, _aware(web_session.created_at), _aware(web_session.expires_at)
    )


def set_session_expiry(session: Session, token_sha256: str, expires_at: datetime) -> None:
    session.execute(
        update(WebSessionRow).where(WebSessionRow.token_sha256 == token_sha256).values(expires_at=expires_at)
    )


def delete_session(session: Session, token_sha256: str) -> None:
    session.execute(delete(WebSessionRow).where(WebSessionRow.token_sha256 == token_sha256))


def delete_expired_sessions(session: Session, at: datetime) -> None:
    session.execute(delete(WebSessionRow).where(WebSessionRow.expires_at <= at))


def record_attempt(session: Session, username: str, client: str, succeeded: bool) -> None:
    """Every sign-in attempt is logged (who tried which user name from where, and whether it worked)."""
    session.add(LoginAttemptRow(username=username, client=client, at=now(), succeeded=succeeded))


@dataclass(frozen=True)
class ThrottleState:
    failures: int
    version: int
    last_at: datetime
    blocked_until: datetime


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for what was stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def throttle_state(session: Session, key: str) -> ThrottleState | None:
    row = session.get(LoginThrottleRow, key)
    if row is None:
        return None
    return ThrottleState(row.failures, row.version, _aware(row.last_at), _aware(row.blocked_until))


def claim_throttle(
    session: Session, key: str, seen_version: int | None, failures: int, at: datetime, blocked_until: datetime
) -> bool:
    """Count one more attempt for ``key`` if nobody changed it since it was read at ``seen_version`` (None: it did
    not exist). False when another attempt got there first, including one that inserted the key's first row (the
    unit of work is then spoilt: the caller rolls it back and reads again)."""
    values = {"failures": failures, "last_at": at, "blocked_until": blocked_until}
    if seen_version is None:
        session.add(LoginThrottleRow(key=key, version=0, **values))
        try:
            session.flush()
        except IntegrityError:  # another try inserted the first row for this key
            return False
        return True
    claimed = session.execute(
        update(LoginThrottleRow)
        .where(LoginThrottleRow.key == key, LoginThrottleRow.version == seen_version)
        .values(version=LoginThrottleRow.version + 1, **values)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def clear_throttle(session: Session, key: str, at: datetime) -> None:
    """A success: no failures held against ``key`` any longer."""
    session.execute(
        update(LoginThrottleRow)
        .where(LoginThrottleRow.key == key)
        .values(failures=0, blocked_until=at, version=LoginThrottleRow.version + 1)
    )


def uncount_attempt(session: Session, key: str) -> None:
    """A success: the attempt counted against ``key`` when it was claimed was not a failure after all."""
    session.execute(
        update(LoginThrottleRow)
        .where(LoginThrottleRow.key == key, LoginThrottleRow.failures > 0)
        .values(failures=LoginThrottleRow.failures - 1, version=LoginThrottleRow.version + 1)
    )


def forget_throttles_before(session: Session, at: datetime) -> None:
    session.execute(delete(LoginThrottleRow).where(LoginThrottleRow.last_at < at))
