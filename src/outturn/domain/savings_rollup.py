"""Roll-ups of savings (organisation -> ICB or cluster -> region -> national, or by workstream), and the
movement between two month-end closes explained scheme by scheme."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from outturn.domain.money import Pence, format_millions
from outturn.domain.organisations import OrgKind, OrgTree
from outturn.domain.savings import (
    SavingsFigures,
    SavingsTarget,
    Scheme,
    Workstream,
    assess_rag,
    scheme_figures,
    target_figures,
    with_unidentified,
)

NATIONAL = "ENGLAND"
UNASSIGNED = "UNASSIGNED"


class RollupLevel(StrEnum):
    ORGANISATION = "organisation"
    ICB = "icb"
    REGION = "region"
    NATIONAL = "national"
    WORKSTREAM = "workstream"


@dataclass(frozen=True)
class RollupRow:
    level: RollupLevel
    code: str
    name: str
    figures: SavingsFigures


def _group(tree: OrgTree, org_code: str, level: RollupLevel) -> str:
    if level is RollupLevel.ORGANISATION:
        return org_code
    if level is RollupLevel.NATIONAL:
        return NATIONAL
    kind = OrgKind.ICB if level is RollupLevel.ICB else OrgKind.REGION
    if org_code not in tree:
        return UNASSIGNED
    chain = (tree.get(org_code), *tree.ancestors(org_code))
    return next((org.code for org in chain if org.kind is kind), UNASSIGNED)


def _name(tree: OrgTree, code: str, level: RollupLevel) -> str:
    if level is RollupLevel.NATIONAL:
        return "National"
    if code in tree:
        return tree.get(code).name
    return "Not under any organisation of this level" if code == UNASSIGNED else code


def rollup(
    schemes: Iterable[Scheme],
    targets: Iterable[SavingsTarget],
    tree: OrgTree,
    month: int,
    level: RollupLevel,
) -> tuple[RollupRow, ...]:
    """One row per group at ``level``, in code order. Targets join organisation-based levels only; unidentified
    savings are worked per organisation and then summed."""
    totals: dict[str, SavingsFigures] = {}
    if level is RollupLevel.WORKSTREAM:
        for scheme in schemes:
            key = scheme.workstream.value
            totals[key] = totals.get(key, SavingsFigures()) + scheme_figures(scheme, month)
    else:
        by_organisation: dict[str, SavingsFigures] = {}
        for scheme in schemes:
            code = scheme.org_code
            by_organisation[code] = by_organisation.get(code, SavingsFigures()) + scheme_figures(scheme, month)
        for target in targets:
            code = target.org_code
            by_organisation[code] = by_organisation.get(code, SavingsFigures()) + target_figures(target)
        for code, figures in by_organisation.items():
            key = _group(tree, code, level)
            totals[key] = totals.get(key, SavingsFigures()) + with_unidentified(figures)
    return tuple(
        RollupRow(
            level,
            key,
            Workstream(key).label if level is RollupLevel.WORKSTREAM else _name(tree, key, level),
            totals[key],
        )
        for key in sorted(totals)
    )


# --- month-end close and movement -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemeSnapshot:
    """A scheme as it stood at a month-end close."""

    reference: str
    title: str
    org_code: str
    workstream: str
    status: str
    rag: str
    confidence: Decimal
    plan_pence: Pence
    delivered_pence: Pence
    forecast_pence: Pence
    risk_adjusted_pence: Pence


def snapshot(scheme: Scheme, month: int) -> SchemeSnapshot:
    return SchemeSnapshot(
        reference=scheme.reference,
        title=scheme.title,
        org_code=scheme.org_code,
        workstream=scheme.workstream.value,
        status=scheme.status.value,
        rag=assess_rag(scheme, month).rag.value,
        confidence=scheme.confidence,
        plan_pence=scheme.plan_pence if scheme.status.counts_in_plan else 0,
        delivered_pence=scheme.delivered_to_date(month) if scheme.status.counts_in_plan else 0,
        forecast_pence=scheme.forecast_total(month) if scheme.status.counts_in_plan else 0,
        risk_adjusted_pence=scheme.risk_adjusted(month) if scheme.status.counts_in_plan else 0,
    )


@dataclass(frozen=True)
class Movement:
    reference: str
    title: str
    org_code: str
    plan_change_pence: Pence
    delivered_change_pence: Pence
    forecast_change_pence: Pence
    risk_adjusted_change_pence: Pence
    explanation: str


def _explain(before: SchemeSnapshot | None, after: SchemeSnapshot | None) -> str:
    if before is None and after is not None:
        return f"new scheme ({after.status}), plan {format_millions(after.plan_pence, places=2)}"
    if after is None and before is not None:
        return "removed from the plan"
    assert before is not None and after is not None
    notes: list[str] = []
    for label, old_text, new_text in (
        ("status", before.status, after.status),
        ("RAG", before.rag, after.rag),
        ("title", before.title, after.title),
        ("organisation", before.org_code, after.org_code),
        ("workstream", before.workstream, after.workstream),
    ):
        if old_text != new_text:
            notes.append(f"{label} {old_text} -> {new_text}")
    for label, old, new in (
        ("plan", before.plan_pence, after.plan_pence),
        ("delivered", before.delivered_pence, after.delivered_pence),
        ("forecast", before.forecast_pence, after.forecast_pence),
    ):
        if new != old:
            direction = "up" if new > old else "down"
            notes.append(f"{label} {direction} {format_millions(abs(new - old), places=2)}")
    if before.confidence != after.confidence:
        notes.append(f"confidence {before.confidence:.0%} -> {after.confidence:.0%}")
    return "; ".join(notes) or "no change"


def movements(before: Sequence[SchemeSnapshot], after: Sequence[SchemeSnapshot]) -> tuple[Movement, ...]:
    """Every scheme that changed between two closes; the changes sum to the change in the totals."""
    old = {item.reference: item for item in before}
    new = {item.reference: item for item in after}
    found: list[Movement] = []
    for reference in sorted(old.keys() | new.keys()):
        first, second = old.get(reference), new.get(reference)
        if first == second:
            continue
        zero = SchemeSnapshot(reference, "", "", "", "", "", Decimal(0), 0, 0, 0, 0)
        a, b = first or zero, second or zero
        found.append(
            Movement(
                reference=reference,
                title=(second or first or zero).title,
                org_code=(second or first or zero).org_code,
                plan_change_pence=b.plan_pence - a.plan_pence,
                delivered_change_pence=b.delivered_pence - a.delivered_pence,
                forecast_change_pence=b.forecast_pence - a.forecast_pence,
                risk_adjusted_change_pence=b.risk_adjusted_pence - a.risk_adjusted_pence,
                explanation=_explain(first, second),
            )
        )
    return tuple(found)
