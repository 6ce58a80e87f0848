"""Schemes and targets as plain data (str, int, None, lists): for the audit trail, closes and JSON output."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from outturn.domain.periods import FinancialYear
from outturn.domain.savings import Rag, SavingsTarget, Scheme, SchemeStatus, Workstream


def normalised(number: Decimal) -> Decimal:
    """``number`` without trailing zeros (0.810000 is 0.81), never in exponent form, so equal values read alike."""
    return Decimal(format(number.normalize(), "f"))


def scheme_to_data(scheme: Scheme) -> dict[str, Any]:
    return {
        "reference": scheme.reference,
        "title": scheme.title,
        "org_code": scheme.org_code,
        "year": scheme.year.label,
        "workstream": scheme.workstream.value,
        "lead": scheme.lead,
        "recurrent": scheme.recurrent,
        "status": scheme.status.value,
        "start_month": scheme.start_month,
        "confidence": str(normalised(scheme.confidence)),
        "evidence_measure": scheme.evidence_measure,
        "negative_reason": scheme.negative_reason,
        "rag_override": scheme.rag_override.value if scheme.rag_override else None,
        "rag_override_reason": scheme.rag_override_reason,
        "planned_pence": list(scheme.planned),
        "delivered_pence": list(scheme.delivered),
        "forecast_pence": list(scheme.forecast),
        "version": scheme.version,
    }


def scheme_from_data(data: dict[str, Any]) -> Scheme:
    return Scheme(
        reference=data["reference"],
        title=data["title"],
        org_code=data["org_code"],
        year=FinancialYear.parse(data["year"]),
        workstream=Workstream(data["workstream"]),
        planned=tuple(data["planned_pence"]),
        delivered=tuple(data["delivered_pence"]),
        forecast=tuple(data["forecast_pence"]),
        lead=data["lead"],
        recurrent=bool(data["recurrent"]),
        status=SchemeStatus(data["status"]),
        start_month=int(data["start_month"]),
        confidence=Decimal(data["confidence"]),
        evidence_measure=data["evidence_measure"],
        negative_reason=data["negative_reason"],
        rag_override=Rag(data["rag_override"]) if data["rag_override"] else None,
        rag_override_reason=data["rag_override_reason"],
        version=int(data["version"]),
    )


def target_to_data(target: SavingsTarget) -> dict[str, Any]:
    return {
        "org_code": target.org_code,
        "year": target.year.label,
        "target_pence": target.target_pence,
        "programme": target.programme,
    }
