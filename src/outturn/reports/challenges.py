"""Contract challenges as JSON-ready documents (money in integer pence): one challenge, a log with its totals by
status, a challenge's history, and the challenges block of a contract statement. The CLI's ``--format json``, the
API and the web pages all show what these build."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from outturn.domain.challenges import DEFAULT_LIKELIHOOD, Challenge, ChallengeSummary, StatusTotal, status_totals


# look-alike of reports/contract_reconciliation.py's documents: declarative, one JSON field per attribute.
def challenge_document(challenge: Challenge) -> dict[str, Any]:
    return {
        "reference": challenge.reference,
        "provider": challenge.provider,
        "commissioner": challenge.commissioner,
        "financial_year": challenge.year.label,
        "category": challenge.category.value,
        "value_pence": challenge.value_pence,
        "raised_on": challenge.raised_on.isoformat(),
        "raised_by": challenge.raised_by,
        "point_of_delivery": challenge.point_of_delivery,
        "treatment_function": challenge.treatment_function,
        "months": list(challenge.months),
        "status": challenge.status.value,
        "status_changed_on": challenge.status_changed_on.isoformat() if challenge.status_changed_on else None,
        "status_reason": challenge.status_reason,
        "agreed_pence": challenge.agreed_pence,
        "likelihood": float(challenge.likelihood_used),
        "likelihood_stated": challenge.likelihood is not None,
        "expected_pence": challenge.expected_pence,
        "notes": challenge.notes,
        "version": challenge.version,
    }


def _total_document(total: StatusTotal) -> dict[str, Any]:
    return {
        "status": total.status.value,
        "count": total.count,
        "value_pence": total.value_pence,
        "agreed_pence": total.agreed_pence,
        "expected_pence": total.expected_pence,
    }


def challenge_log_document(
    year: str, challenges: Sequence[Challenge], filters: dict[str, str | None]
) -> dict[str, Any]:
    """``outturn contracts challenges list --format json``: the challenges chosen, and their totals by status."""
    return {
        "financial_year": year,
        **filters,
        "default_likelihood": float(DEFAULT_LIKELIHOOD),
        "challenges": [challenge_document(found) for found in challenges],
        "totals_by_status": [_total_document(total) for total in status_totals(challenges)],
    }


def statement_challenges_document(summary: ChallengeSummary) -> dict[str, Any]:
    """The statement's challenges block: what comes off the year to date and the forecast (agreed challenges) and
    the risk the open ones carry (each at its likelihood)."""
    return {
        "agreed_pence": summary.agreed_pence,
        "agreed_to_date_pence": summary.agreed_to_date_pence,
        "open_pence": summary.open_pence,
        "open_expected_pence": summary.open_expected_pence,
        "default_likelihood": float(DEFAULT_LIKELIHOOD),
        "totals_by_status": [_total_document(total) for total in summary.totals()],
        "challenges": [challenge_document(found) for found in summary.challenges],
    }
