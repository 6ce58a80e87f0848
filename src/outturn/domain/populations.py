"""Practice populations, raw and weighted for need, and their totals for any organisation in the tree.

NHS England's allocation formulae weight each practice's registered population by need, one weighting per
service (general and acute, community, mental health, maternity, health inequalities, prescribing) and
overall (``final``); primary medical care has its own. Totals for an ICB or a sub-ICB location are the sums
over the practices below it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from outturn.domain.organisations import OrgTree


@dataclass(frozen=True)
class PracticePopulation:
    """One practice's populations for one allocation year.

    ``list_size`` is the registered list (the file's ``Patients``), ``None`` where the file leaves it blank;
    ``population`` is the registered population the weights were built on, projected to the year.
    """

    practice_code: str
    list_size: Decimal | None
    population: Decimal
    general_acute: Decimal
    community: Decimal
    mental_health: Decimal
    maternity: Decimal
    health_inequalities: Decimal
    prescribing: Decimal
    final: Decimal
    primary_medical_care: Decimal


@dataclass(frozen=True)
class PopulationTotals:
    """Sums over ``practices`` practices; ``list_size`` is ``None`` unless every practice has one."""

    practices: int
    list_size: Decimal | None
    population: Decimal
    general_acute: Decimal
    community: Decimal
    mental_health: Decimal
    maternity: Decimal
    health_inequalities: Decimal
    prescribing: Decimal
    final: Decimal
    primary_medical_care: Decimal


def _sum(populations: Sequence[PracticePopulation], value: Callable[[PracticePopulation], Decimal]) -> Decimal:
    return sum((value(practice) for practice in populations), Decimal(0))


def total_of(populations: Iterable[PracticePopulation]) -> PopulationTotals:
    """The sums over ``populations``."""
    chosen = tuple(populations)
    sizes = [practice.list_size for practice in chosen if practice.list_size is not None]
    return PopulationTotals(
        practices=len(chosen),
        list_size=sum(sizes, Decimal(0)) if len(sizes) == len(chosen) else None,
        population=_sum(chosen, lambda p: p.population),
        general_acute=_sum(chosen, lambda p: p.general_acute),
        community=_sum(chosen, lambda p: p.community),
        mental_health=_sum(chosen, lambda p: p.mental_health),
        maternity=_sum(chosen, lambda p: p.maternity),
        health_inequalities=_sum(chosen, lambda p: p.health_inequalities),
        prescribing=_sum(chosen, lambda p: p.prescribing),
        final=_sum(chosen, lambda p: p.final),
        primary_medical_care=_sum(chosen, lambda p: p.primary_medical_care),
    )


def population_of(populations: Iterable[PracticePopulation], tree: OrgTree, code: str) -> PopulationTotals:
    """Totals over the practices at or below ``code`` in ``tree``; ``KeyError`` for an unknown code."""
    tree.get(code)
    members = tree.subtree_codes(code)
    return total_of(practice for practice in populations if practice.practice_code in members)
