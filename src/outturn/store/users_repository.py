"""Web users, their sessions and sign-in attempts in the store. Callers own the session/transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from outturn.store.models import LoginAttemptRow, UserRow, WebSessionRow
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


def _record(row: UserRow) -> UserRecord:
    return UserRecord(row.id, row.username, row.display_name, row.role, row.org_code, row.active, row.password_hash)


def add_user(
    session: Session, username: str, password_hash: str, role: str, org_code: str | None, display_name: str
) -> UserRecord:
    row = UserRow(
        username=username,
        password_hash=password_hash,
        role=role,
        org_code=org_code,
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


def create_session(session: Session, token_sha256: str, user_id: int, csrf_token: str, expires_at: datetime) -> None:
    session.add(
        WebSessionRow(
            token_sha256=token_sha256, user_id=user_id, csrf_token=csrf_token, created_at=now(), expires_at=expires_at
        )
    )


def session_user(session: Session, token_sha256: str, at: datetime) -> tuple[UserRecord, str] | None:
    """The active user and CSRF token of an unexpired session, else None."""
    found = session.execute(
        select(UserRow, WebSessionRow.csrf_token)
        .join(WebSessionRow, WebSessionRow.user_id == UserRow.id)
        .where(WebSessionRow.token_sha256 == token_sha256, WebSessionRow.expires_at > at, UserRow.active)
    ).one_or_none()
    return (_record(found[0]), found[1]) if found else None


def delete_session(session: Session, token_sha256: str) -> None:
    session.execute(delete(WebSessionRow).where(WebSessionRow.token_sha256 == token_sha256))


def delete_expired_sessions(session: Session, at: datetime) -> None:
    session.execute(delete(WebSessionRow).where(WebSessionRow.expires_at <= at))


def record_attempt(session: Session, username: str, client: str, succeeded: bool) -> None:
    session.add(LoginAttemptRow(username=username, client=client, at=now(), succeeded=succeeded))


def failures_since(session: Session, since: datetime, *, username: str | None = None, client: str | None = None) -> int:
    """Failed attempts since ``since`` for the user name, or from the client address (whichever is given)."""
    conditions = []
    if username is not None:
        conditions.append(LoginAttemptRow.username == username)
    if client is not None:
        conditions.append(LoginAttemptRow.client == client)
    query = select(func.count()).where(LoginAttemptRow.at > since, ~LoginAttemptRow.succeeded, or_(*conditions))
    return int(session.scalar(query) or 0)
