"""Line commentary in the store. Callers own the session/transaction and write the audit entries."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outturn.domain.commentary import Commentary, CommentaryConflict
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.trial_balance import TrialBalanceLineKey
from outturn.store.models import LineCommentaryRow
from outturn.store.repository import now


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for what was stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _commentary(row: LineCommentaryRow) -> Commentary:
    return Commentary(
        key=TrialBalanceLineKey(row.org_code, row.cost_centre, row.subjective_code),
        month=FinancialYear(row.year).month(row.month),
        text=row.text,
        author=row.author,
        written_at=_aware(row.written_at),
        version=row.version,
    )


def _where_line(key: TrialBalanceLineKey, month: FinancialMonth) -> tuple[ColumnElement[bool], ...]:
    return (
        LineCommentaryRow.year == month.year.start_year,
        LineCommentaryRow.month == month.number,
        LineCommentaryRow.org_code == key.org_code,
        LineCommentaryRow.cost_centre == key.cost_centre,
        LineCommentaryRow.subjective_code == key.subjective_code,
    )


def load_commentary(session: Session, key: TrialBalanceLineKey, month: FinancialMonth) -> Commentary | None:
    row = session.scalars(select(LineCommentaryRow).where(*_where_line(key, month))).first()
    return _commentary(row) if row is not None else None


def month_commentary(
    session: Session, month: FinancialMonth, org_codes: Collection[str] | None = None
) -> dict[TrialBalanceLineKey, Commentary]:
    """Every line's commentary for the month (only the organisations given, where given), by line."""
    statement = select(LineCommentaryRow).where(
        LineCommentaryRow.year == month.year.start_year, LineCommentaryRow.month == month.number
    )
    if org_codes is not None:
        statement = statement.where(LineCommentaryRow.org_code.in_(sorted(org_codes)))
    found = (_commentary(row) for row in session.scalars(statement))
    return {item.key: item for item in found}


# look-alike of reports/pack.py:_savings_headline (shape only): declarative, keyword fields or columns, one per
# attribute.
def save_commentary(
    session: Session, key: TrialBalanceLineKey, month: FinancialMonth, text: str, who: str, expected_version: int
) -> Commentary:
    """Store ``text`` as the line's commentary for the month if, and only if, the stored version is
    ``expected_version`` (0: there is none yet); else ``CommentaryConflict``, nothing saved."""
    at = now()
    if expected_version == 0:
        session.add(
            LineCommentaryRow(
                year=month.year.start_year,
                month=month.number,
                org_code=key.org_code,
                cost_centre=key.cost_centre,
                subjective_code=key.subjective_code,
                text=text,
                author=who,
                written_at=at,
                version=1,
            )
        )
        try:
            session.flush()
        except IntegrityError:  # someone else wrote the first commentary between the caller's read and this insert
            raise CommentaryConflict(key, month, expected_version, None) from None
    else:
        result = session.execute(
            update(LineCommentaryRow)
            .where(*_where_line(key, month), LineCommentaryRow.version == expected_version)
            .values(text=text, author=who, written_at=at, version=expected_version + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise CommentaryConflict(key, month, expected_version, load_commentary(session, key, month))
        session.expire_all()
    stored = load_commentary(session, key, month)
    assert stored is not None
    return stored
