"""Contract challenges in the store. Callers own the session/transaction and write the audit entries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outturn.domain.challenges import Challenge, ChallengeCategory, ChallengeStatus, make_reference
from outturn.domain.errors import Conflict, StaleVersion
from outturn.domain.periods import FinancialYear
from outturn.store.models import ChallengeRow
from outturn.store.repository import now


class ChallengeConflict(StaleVersion[Challenge]):
    """Someone else changed the challenge first: the stored version is not the one the change started from."""

    def __init__(self, reference: str, expected: int, current: Challenge) -> None:
        super().__init__("challenge", "changed", reference, expected, current)


# look-alike of reports/patients.py:summary_document (shape only): declarative, keyword fields or columns, one per
# attribute.
def _columns(challenge: Challenge) -> dict[str, Any]:
    return {
        "provider": challenge.provider,
        "commissioner": challenge.commissioner,
        "category": challenge.category.value,
        "value_pence": challenge.value_pence,
        "raised_on": challenge.raised_on,
        "raised_by": challenge.raised_by,
        "point_of_delivery": challenge.point_of_delivery,
        "treatment_function": challenge.treatment_function,
        "months": ",".join(str(month) for month in challenge.months),
        "status": challenge.status.value,
        "status_changed_on": challenge.status_changed_on,
        "status_reason": challenge.status_reason,
        "agreed_pence": challenge.agreed_pence,
        "likelihood": challenge.likelihood,
        "notes": challenge.notes,
    }


# look-alike of reports/pack.py:build_board_pack (shape only): declarative, keyword fields or columns, one per
# attribute.
def _challenge(row: ChallengeRow) -> Challenge:
    return Challenge(
        reference=row.reference,
        provider=row.provider,
        commissioner=row.commissioner,
        year=FinancialYear(row.year),
        category=ChallengeCategory(row.category),
        value_pence=row.value_pence,
        raised_on=row.raised_on,
        raised_by=row.raised_by,
        point_of_delivery=row.point_of_delivery,
        treatment_function=row.treatment_function,
        months=tuple(int(month) for month in row.months.split(",") if month),
        status=ChallengeStatus(row.status),
        status_changed_on=row.status_changed_on,
        status_reason=row.status_reason,
        agreed_pence=row.agreed_pence,
        likelihood=row.likelihood,
        notes=row.notes,
        version=row.version,
    )


def insert_challenge(session: Session, challenge: Challenge, who: str) -> Challenge:
    """Store a new challenge at version 1 under the year's next reference (``challenge.reference`` is ignored)."""
    count = session.scalar(select(func.count()).where(ChallengeRow.year == challenge.year.start_year)) or 0
    reference = make_reference(challenge.year, count + 1)
    row = ChallengeRow(
        reference=reference,
        year=challenge.year.start_year,
        **_columns(challenge),
        version=1,
        updated_at=now(),
        updated_by=who,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # another challenge took the reference between the count and the insert
        raise Conflict(f"another challenge was raised as {reference} at the same moment: try again") from None
    return _challenge(row)


def replace_challenge(session: Session, challenge: Challenge, expected_version: int, who: str) -> Challenge:
    """Save ``challenge`` over the stored one if, and only if, the stored version is ``expected_version``."""
    result = session.execute(
        update(ChallengeRow)
        .where(
            ChallengeRow.year == challenge.year.start_year,
            ChallengeRow.reference == challenge.reference,
            ChallengeRow.version == expected_version,
        )
        .values(**_columns(challenge), version=expected_version + 1, updated_at=now(), updated_by=who)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        current = load_challenge(session, challenge.year, challenge.reference)
        assert current is not None, "the caller loaded the challenge in this transaction"
        raise ChallengeConflict(challenge.reference, expected_version, current)
    session.expire_all()
    found = load_challenge(session, challenge.year, challenge.reference)
    assert found is not None
    return found


def load_challenge(session: Session, year: FinancialYear, reference: str) -> Challenge | None:
    row = session.scalars(
        select(ChallengeRow).where(ChallengeRow.year == year.start_year, ChallengeRow.reference == reference)
    ).first()
    return _challenge(row) if row is not None else None


def load_challenges(
    session: Session,
    year: FinancialYear,
    provider: str | None = None,
    commissioner: str | None = None,
    status: ChallengeStatus | None = None,
) -> list[Challenge]:
    """The year's challenges, by provider, commissioner and reference."""
    statement = select(ChallengeRow).where(ChallengeRow.year == year.start_year)
    if provider is not None:
        statement = statement.where(ChallengeRow.provider == provider)
    if commissioner is not None:
        statement = statement.where(ChallengeRow.commissioner == commissioner)
    if status is not None:
        statement = statement.where(ChallengeRow.status == status.value)
    order = (ChallengeRow.provider, ChallengeRow.commissioner, ChallengeRow.reference)
    return [_challenge(row) for row in session.scalars(statement.order_by(*order))]
