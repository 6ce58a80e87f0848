"""Contract challenges: raise, change, list and trace them, each change in its own transaction with its audit entry
(entity "challenge", key "<year> <reference>", the challenge before and after), saved with optimistic concurrency
like savings schemes: a change names the version it started from and is refused if the stored one has moved on.

The rules of the challenge itself (categories, statuses and their transitions, the likelihood of an open one, the £
of a case-mix drift cell) are in ``outturn.domain.challenges``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from outturn.domain.activity import PointOfDelivery
from outturn.domain.challenges import (
    Challenge,
    ChallengeCategory,
    ChallengeChange,
    ChallengeError,
    ChallengeStatus,
    ChallengeSummary,
    DriftCell,
    change_challenge,
    drift_challenge,
    year_of_reference,
)
from outturn.domain.contract_measures import case_mix_windows, months_of
from outturn.domain.errors import NotFound
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.reports.audit import audit_trail
from outturn.reports.challenges import challenge_document, challenge_log_document
from outturn.services.workspace import Workspace
from outturn.store import challenges_repository as store
from outturn.store import contracts_repository
from outturn.store.challenges_repository import ChallengeConflict
from outturn.store.database import StoreSession
from outturn.store.savings_repository import history, record_change

__all__ = [
    "AUDIT_ENTITY",
    "ChallengeConflict",
    "ChallengeError",
    "NewChallenge",
    "add_challenge",
    "challenge_document",
    "challenge_history_document",
    "challenge_log",
    "raise_drift_challenge",
    "statement_summaries",
    "update_challenge",
]

AUDIT_ENTITY = "challenge"


# look-alike of domain/forecast.py:LineFigures (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class NewChallenge:
    """What a person gives to raise a challenge (the reference, version and status are the system's)."""

    provider: str
    commissioner: str
    year: FinancialYear
    category: ChallengeCategory
    value_pence: int
    point_of_delivery: str | None = None
    treatment_function: str | None = None
    months: tuple[int, ...] = ()
    likelihood: Decimal | None = None
    notes: str = ""
    raised_on: date | None = None  # None: today


def _key(year: FinancialYear, reference: str) -> str:
    return f"{year.label} {reference}"


def _check_contract(session: StoreSession, provider: str, commissioner: str, year: FinancialYear) -> None:
    held = {(c.provider, c.commissioner) for c in contracts_repository.load_contracts(session, year, provider)}
    if (provider, commissioner) not in held:
        raise NotFound(f"no contract between provider {provider} and commissioner {commissioner} in {year}")


def _check_point_of_delivery(point_of_delivery: str | None) -> None:
    if point_of_delivery is not None and point_of_delivery not in {pod.value for pod in PointOfDelivery}:
        allowed = ", ".join(pod.value for pod in PointOfDelivery)
        raise ChallengeError(f"point of delivery {point_of_delivery!r} is not one of {allowed}")


def _add(session: StoreSession, challenge: Challenge, who: str) -> Challenge:
    _check_contract(session, challenge.provider, challenge.commissioner, challenge.year)
    _check_point_of_delivery(challenge.point_of_delivery)
    stored = store.insert_challenge(session, challenge, who)
    record_change(session, who, AUDIT_ENTITY, _key(stored.year, stored.reference), "add", None, _data(stored))
    return stored


def _data(challenge: Challenge) -> dict[str, Any]:
    return challenge_document(challenge)


def add_challenge(workspace: Workspace, new: NewChallenge, who: str) -> Challenge:
    """Raise a challenge on a held contract: open, version 1, under the year's next reference."""
    challenge = Challenge(
        reference="",
        provider=new.provider.upper(),
        commissioner=new.commissioner.upper(),
        year=new.year,
        category=new.category,
        value_pence=new.value_pence,
        raised_on=new.raised_on or date.today(),
        raised_by=who,
        point_of_delivery=new.point_of_delivery or None,
        treatment_function=new.treatment_function or None,
        months=tuple(sorted(set(new.months))),
        likelihood=new.likelihood,
        notes=new.notes,
    )
    with workspace.store.transaction() as session:
        return _add(session, challenge, who)


def _stored(session: StoreSession, year: FinancialYear, reference: str) -> Challenge:
    """The stored challenge ``reference`` of ``year``, else ``NotFound``."""
    found = store.load_challenge(session, year, reference)
    if found is None:
        raise NotFound(f"no challenge {reference} in {year}")
    return found


def update_challenge(
    workspace: Workspace,
    reference: str,
    expected_version: int,
    change: ChallengeChange,
    who: str,
    on: date | None = None,
) -> Challenge:
    """Change a challenge's status, £ agreed, notes or likelihood by the domain's rules, if it is still at
    ``expected_version`` (else ``ChallengeConflict``, nothing saved)."""
    reference = reference.strip().upper()
    year = year_of_reference(reference)
    with workspace.store.transaction() as session:
        before = _stored(session, year, reference)
        if before.version != expected_version:
            raise ChallengeConflict(reference, expected_version, before)
        after = change_challenge(before, change, on or date.today())
        stored = store.replace_challenge(session, after, expected_version, who)
        record_change(session, who, AUDIT_ENTITY, _key(year, reference), "update", _data(before), _data(stored))
        return stored


def challenge_log(
    workspace: Workspace,
    year: FinancialYear,
    provider: str | None = None,
    commissioner: str | None = None,
    status: ChallengeStatus | None = None,
) -> dict[str, Any]:
    """The year's challenges (optionally one provider's, commissioner's or status's) and their totals by status:
    ``outturn contracts challenges list --format json`` and the API's document."""
    provider, commissioner = (provider or "").upper() or None, (commissioner or "").upper() or None
    with workspace.store.reading() as session:
        found = store.load_challenges(session, year, provider, commissioner, status)
    filters = {"provider": provider, "commissioner": commissioner, "status": status.value if status else None}
    return challenge_log_document(year.label, found, filters)


def challenge_history_document(workspace: Workspace, reference: str) -> dict[str, Any]:
    """A challenge as it stands and every change to it from the audit trail, oldest first."""
    reference = reference.strip().upper()
    year = year_of_reference(reference)
    with workspace.store.reading() as session:
        current = _stored(session, year, reference)
        entries = history(session, AUDIT_ENTITY, _key(year, reference))
    return {
        "challenge": challenge_document(current),
        "history": audit_trail(entries),
    }


def statement_summaries(
    session: StoreSession, year: FinancialYear, provider: str | None, as_at: FinancialMonth
) -> dict[tuple[str, str], ChallengeSummary]:
    """The challenges of each of the provider's contracts (every provider's when None), as its statement counts
    them (the log as it stands)."""
    found: dict[tuple[str, str], list[Challenge]] = {}
    for challenge in store.load_challenges(session, year, provider):
        found.setdefault((challenge.provider, challenge.commissioner), []).append(challenge)
    return {key: ChallengeSummary(as_at.number, tuple(items)) for key, items in found.items()}


def raise_drift_challenge(
    workspace: Workspace,
    provider: str,
    commissioner: str,
    as_at: FinancialMonth,
    point_of_delivery: str,
    treatment_function: str,
    who: str,
    on: date | None = None,
) -> Challenge:
    """A coding challenge for one case-mix drift cell of a contract's statement, in one step: the point of
    delivery, treatment function and current months from the cell; £ = (current mean price - baseline mean price)
    x current spells; the working in the notes."""
    from outturn.services.contracts import contract_statements  # it imports this module

    provider, commissioner = provider.upper(), commissioner.upper()
    statements = contract_statements(workspace, provider, as_at, commissioner)
    cells = [
        drift
        for statement in statements
        for pod, tf, drift in statement.drift
        if (pod, tf) == (point_of_delivery, treatment_function)
    ]
    windows = case_mix_windows(as_at.number)
    if not cells or windows is None:  # a statement has drift cells only where the windows exist
        raise NotFound(
            f"no case-mix cell {point_of_delivery}, treatment function {treatment_function} in the statement of"
            f" {provider} x {commissioner} as at {as_at}"
        )
    drift = cells[0]
    cell = DriftCell(
        point_of_delivery,
        treatment_function,
        drift.baseline_spells,
        drift.baseline_pence,
        drift.current_spells,
        drift.actual_pence,
        months_of(windows[0]),
        months_of(windows[1]),
    )
    challenge = drift_challenge(cell, provider, commissioner, as_at.year, on or date.today(), who)
    with workspace.store.transaction() as session:
        return _add(session, challenge, who)
