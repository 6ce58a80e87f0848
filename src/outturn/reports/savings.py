"""Savings as JSON-ready documents: money in integer pence named ``*_pence``, shares as fractions."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from outturn.domain.periods import FinancialMonth
from outturn.domain.savings import RagAssessment, SavingsFigures, Scheme
from outturn.domain.savings_codec import scheme_to_data
from outturn.domain.savings_rollup import Movement, RollupRow
from outturn.domain.scheme_measures import (
    DIFFERENCE_THRESHOLD,
    BaselineRule,
    Evidence,
    measure_to_data,
    month_label,
)
from outturn.reports.audit import AuditEntry, audit_trail


def share(value: Decimal | None, places: int = 4) -> float | None:
    """A share rounded half up to ``places`` decimals (0.349 is 34.9%), for JSON."""
    if value is None:
        return None
    return float(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def figures_document(figures: SavingsFigures) -> dict[str, Any]:
    red, amber, green = figures.rag_counts
    return {
        "schemes": figures.schemes,
        "plan_pence": figures.plan_pence,
        "plan_to_date_pence": figures.plan_to_date_pence,
        "delivered_pence": figures.delivered_pence,
        "forecast_pence": figures.forecast_pence,
        "shortfall_pence": figures.shortfall_pence,
        "shortfall_pct": share(None if figures.shortfall_share is None else figures.shortfall_share * 100, 1),
        "risk_adjusted_pence": figures.risk_adjusted_pence,
        "pipeline_pence": figures.pipeline_pence,
        "target_pence": figures.target_pence,
        "identified_pence": figures.identified_pence,
        "unidentified_pence": figures.unidentified_pence,
        "rag": {"red": red, "amber": amber, "green": green},
    }


def rollup_document(rows: tuple[RollupRow, ...]) -> list[dict[str, Any]]:
    return [
        {"level": row.level.value, "code": row.code, "name": row.name, **figures_document(row.figures)} for row in rows
    ]


def scheme_document(scheme: Scheme, rag: RagAssessment, month: int) -> dict[str, Any]:
    return {
        **scheme_to_data(scheme),
        "plan_pence": scheme.plan_pence,
        "delivered_to_date_pence": scheme.delivered_to_date(month),
        "forecast_total_pence": scheme.forecast_total(month),
        "shortfall_pence": scheme.plan_pence - scheme.forecast_total(month),
        "risk_adjusted_pence": scheme.risk_adjusted(month),
        "rag": rag.rag.value,
        "rag_computed": rag.computed.value,
        "rag_reasons": list(rag.reasons),
    }


EVIDENCE_METHODS = {
    BaselineRule.MONTHLY_AVERAGE: "baseline monthly average x months counted",
    BaselineRule.SAME_MONTHS: "each month counted against the same month a year earlier",
}
EVIDENCE_FIELDS = ("evidenced_pence", "reported_pence", "difference_pence", "difference_flagged")


def evidence_document(evidence: Evidence | None) -> dict[str, Any]:
    """Delivery evidenced from a scheme's measure beside the delivery reported (all ``None`` without a measure;
    ``evidenced_pence`` ``None`` while part of the baseline is not held). Differences are reported less evidenced."""
    if evidence is None:
        return {"measure": None, **dict.fromkeys(EVIDENCE_FIELDS)}
    return {
        "measure": measure_to_data(evidence.measure),
        "evidenced_pence": evidence.evidenced_pence,
        "reported_pence": evidence.reported_pence,
        "difference_pence": evidence.difference_pence,
        "difference_flagged": evidence.flagged,
        "difference_threshold_pct": share(DIFFERENCE_THRESHOLD * 100, 1),
        "evidence": {
            "method": EVIDENCE_METHODS[evidence.measure.baseline_rule],
            "baseline_months": [month_label(month) for month in evidence.baseline_months],
            "months_counted": [month_label(month) for month in evidence.months],
            "baseline_months_missing": [month_label(month) for month in evidence.missing_baseline],
            "components": [
                {
                    "name": part.name,
                    "baseline_count": part.baseline_units,
                    "current_count": part.current_units,
                    "expected_count": share(Decimal(expected.numerator) / expected.denominator, 2),
                    "evidenced_pence": part.evidenced_pence,
                    "target_to_date_pence": part.target_pence,
                    "behind_target_pence": part.behind_pence,
                }
                for part in evidence.components
                for expected in (part.expected_units,)
            ],
        },
    }


def scheme_history_document(
    scheme: Scheme,
    rag: RagAssessment,
    month: int,
    history: Sequence[AuditEntry],
    evidence: Evidence | None = None,
) -> dict[str, Any]:
    """One scheme with its evidenced delivery (where it names a measure) and its audit trail, oldest first:
    ``outturn savings show --format json`` and ``GET /api/savings/schemes/{year}/{reference}`` alike."""
    return {
        **scheme_document(scheme, rag, month),
        **evidence_document(evidence),
        "history": audit_trail(history),
    }


def saved_document(scheme: Scheme) -> dict[str, Any]:
    """A scheme as saved by an edit (its new ``version`` among its fields): ``outturn savings update --format
    json`` and the API's answer to the edit alike."""
    return scheme_to_data(scheme)


def closed_document(month: FinancialMonth, schemes: int) -> dict[str, Any]:
    """A month closed for savings: ``outturn savings close-month --format json`` and ``POST /api/close`` alike."""
    return {"closed": month.calendar_label, "schemes": schemes}


def reopened_document(month: FinancialMonth, reason: str) -> dict[str, Any]:
    """A closed month reopened: ``outturn savings reopen-month --format json`` and ``POST /api/close/reopen`` alike."""
    return {"reopened": month.calendar_label, "reason": reason.strip()}


def register_row(scheme: Scheme, rag: RagAssessment, month: int, evidence: Evidence | None = None) -> dict[str, Any]:
    """A scheme as a row of the register, for ``outturn savings list --format json`` and ``GET
    /api/savings/schemes`` alike: the scheme's document with its workstream's label, whether its RAG is
    overridden, and its evidenced delivery beside the reported (``None`` where the scheme names no measure)."""
    evidenced = evidence_document(evidence)
    return {
        **scheme_document(scheme, rag, month),
        "workstream_label": scheme.workstream.label,
        "rag_overridden": rag.overridden,
        **{name: evidenced.get(name) for name in EVIDENCE_FIELDS},
        "measure_described": evidenced["measure"]["described"] if evidenced["measure"] else None,
    }


def movement_document(items: tuple[Movement, ...]) -> dict[str, Any]:
    return {
        "schemes": [
            {
                "reference": item.reference,
                "title": item.title,
                "org_code": item.org_code,
                "plan_change_pence": item.plan_change_pence,
                "delivered_change_pence": item.delivered_change_pence,
                "forecast_change_pence": item.forecast_change_pence,
                "risk_adjusted_change_pence": item.risk_adjusted_change_pence,
                "explanation": item.explanation,
            }
            for item in items
        ],
        "forecast_change_pence": sum(item.forecast_change_pence for item in items),
        "plan_change_pence": sum(item.plan_change_pence for item in items),
        "delivered_change_pence": sum(item.delivered_change_pence for item in items),
        "risk_adjusted_change_pence": sum(item.risk_adjusted_change_pence for item in items),
    }


def conflict_document(message: str, current: Scheme, yours: Scheme, your_changes: dict[str, object]) -> dict[str, Any]:
    """A save refused because someone else saved first, for the CLI and the API alike: nothing was saved, so the
    document carries the version now stored, the changes that were not saved, and the scheme as it would be with
    them applied to the stored version (``yours``), so none is lost."""
    return {
        "error": message,
        "current": scheme_to_data(current),
        "your_changes": your_changes,
        "yours": scheme_to_data(yours),
    }
