"""A multi-year savings programme rolled up: each year's target, identified and unidentified savings, by programme.

A programme is the name its organisations' yearly targets carry (``SavingsTarget.programme``). Unidentified savings
are worked per organisation and year (target less the plan of its schemes, never below zero) and then summed, as
in ``savings_rollup``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from outturn.domain.money import Pence
from outturn.domain.periods import FinancialYear
from outturn.domain.savings import SavingsFigures, SavingsTarget, Scheme, scheme_figures, with_unidentified

NO_PROGRAMME = "(no programme)"
_YEAR_END = 12


@dataclass(frozen=True)
class ProgrammeYear:
    year: FinancialYear
    target_pence: Pence
    identified_pence: Pence
    unidentified_pence: Pence


# look-alike of domain/position.py:Position (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class ProgrammeRow:
    programme: str
    org_codes: tuple[str, ...]
    years: tuple[ProgrammeYear, ...]

    @property
    def target_pence(self) -> Pence:
        return sum(year.target_pence for year in self.years)

    @property
    def identified_pence(self) -> Pence:
        return sum(year.identified_pence for year in self.years)

    @property
    def unidentified_pence(self) -> Pence:
        return sum(year.unidentified_pence for year in self.years)


def programme_rollup(schemes: Iterable[Scheme], targets: Iterable[SavingsTarget]) -> tuple[ProgrammeRow, ...]:
    """One row per programme (in name order, targets of no programme last), its years in order; schemes
    count where their organisation and year have a target."""
    identified: dict[tuple[str, FinancialYear], SavingsFigures] = {}
    for scheme in schemes:
        key = (scheme.org_code, scheme.year)
        identified[key] = identified.get(key, SavingsFigures()) + scheme_figures(scheme, _YEAR_END)
    by_programme: dict[str, dict[FinancialYear, SavingsFigures]] = {}
    orgs: dict[str, set[str]] = {}
    for target in targets:
        name = target.programme.strip() or NO_PROGRAMME
        figures = with_unidentified(
            identified.get((target.org_code, target.year), SavingsFigures())
            + SavingsFigures(target_pence=target.target_pence)
        )
        years = by_programme.setdefault(name, {})
        years[target.year] = years.get(target.year, SavingsFigures()) + figures
        orgs.setdefault(name, set()).add(target.org_code)
    return tuple(
        ProgrammeRow(
            name,
            tuple(sorted(orgs[name])),
            tuple(
                ProgrammeYear(year, f.target_pence, f.identified_pence, f.unidentified_pence)
                for year, f in sorted(by_programme[name].items())
            ),
        )
        for name in sorted(by_programme, key=lambda name: (name == NO_PROGRAMME, name))
    )
