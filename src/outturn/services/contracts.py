"""Provider contracts: importing them and the monthly contract statement (priced activity against plan, follow-up
ratios, referrals, case-mix drift)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis.expr.types as ir

from outturn.domain.activity import ActivityKind, PointOfDelivery
from outturn.domain.challenges import ChallengeSummary
from outturn.domain.contract_measures import (
    case_mix_windows,
    follow_up_ratio,
    follow_ups_above_benchmark,
    peer_follow_up_ratios,
)
from outturn.domain.contract_rules import rule_rows
from outturn.domain.contracts import (
    ActualLine,
    Contract,
    ContractError,
    RuleLine,
    StatementLine,
    rule_lines,
    statement_lines,
)
from outturn.domain.money import Pence
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.problems import ProblemsError
from outturn.engine import contract_rules as rules_engine
from outturn.engine import contracts as contract_engine
from outturn.engine.backends import Backend, memtable
from outturn.ingest.contracts import read_contracts
from outturn.services import imports
from outturn.services.challenges import statement_summaries
from outturn.services.pricing import contract_tariff, priced_activity, stored_activity
from outturn.services.workspace import Workspace
from outturn.stats.casemix import MIN_SPELLS, Drift, PriceSample, adjust_family, case_mix_drift
from outturn.store import contracts_repository, repository
from outturn.store.database import StoreSession

__all__ = [
    "MIN_SPELLS",
    "ContractStatement",
    "contract_statements",
    "import_contracts",
    "local_prices_table",
]


def _contract_key(contract: Contract) -> tuple[str, str, int]:
    return (contract.provider, contract.commissioner, contract.year.start_year)


def _contract_content(contract: Contract) -> tuple[object, ...]:
    """A contract's terms, whatever the order of its lines."""
    return tuple(
        sorted(map(repr, (*contract.plan, *contract.local_prices, *contract.blocks, *rule_rows(contract.rules))))
    )


def _contract_pence(contracts: Sequence[Contract]) -> int:
    return sum(line.pence for c in contracts for line in c.plan) + sum(
        b.annual_pence for c in contracts for b in c.blocks
    )


def _contracts_replacement(session: StoreSession, contracts: Sequence[Contract]) -> dict[str, int]:
    """The stored contracts the file's would replace: how many, how many differ, and their plan £ before and after."""
    stored = {
        _contract_key(found): found
        for year in sorted({contract.year.start_year for contract in contracts})
        for found in contracts_repository.load_contracts(session, FinancialYear(year))
    }
    matching = [stored[_contract_key(c)] for c in contracts if _contract_key(c) in stored]
    changed = [
        c
        for c in contracts
        if _contract_key(c) in stored and _contract_content(c) != _contract_content(stored[_contract_key(c)])
    ]
    return {
        "contracts_before": len(matching),
        "contracts_after": len(contracts),
        "contracts_changed": len(changed),
        "plan_before_pence": _contract_pence(matching),
        "plan_after_pence": _contract_pence(contracts),
        "rules_before": sum(len(rule_rows(c.rules)) for c in matching),
        "rules_after": sum(len(rule_rows(c.rules)) for c in contracts),
    }


def import_contracts(
    workspace: Workspace,
    plan: Path,
    prices: Path | None = None,
    *,
    rules: Path | None = None,
    replace: bool = False,
    who: str = "",
) -> int:
    """Each contract in the file replaces the stored one for its provider, commissioner and year (its local
    prices and payment rules with it); a file that would change a stored contract needs ``replace``."""
    sha256 = imports.sha256_of(plan)
    with workspace.store.reading() as session:
        known = repository.org_tree(session).by_code
    contracts, problems = read_contracts(plan, known=known, prices_path=prices, rules_path=rules)
    if problems:
        raise ProblemsError(problems, f"{plan.name} was not imported: {len(problems)} problem(s), nothing stored")
    with workspace.store.transaction() as session:
        replaces = _contracts_replacement(session, contracts)
        what = f"{replaces['contracts_changed']} stored contract(s) with different terms"
        imports.refuse_unless_replace(
            plan, sha256, what, replaces, removes=replaces["contracts_changed"] > 0, replace=replace
        )
        repository.record_import(
            session,
            "contracts",
            plan.name,
            sha256,
            len(contracts),
            who=who,
            replaced_rows=replaces["contracts_before"],
            totals={"plan_pence": replaces["plan_after_pence"]},
            replaced_totals={"plan_pence": replaces["plan_before_pence"]},
        )
        contracts_repository.replace_contracts(session, contracts)
    return len(contracts)


# look-alike of domain/ledger_replacement.py:LedgerReplacement (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class ContractStatement:
    contract: Contract
    as_at: FinancialMonth
    lines: tuple[StatementLine, ...]
    follow_ups: list[dict[str, Any]]
    referrals: dict[str, int]
    drift: list[tuple[str, str, Drift]]
    tariff_year: FinancialYear
    min_spells: int = MIN_SPELLS  # spells in each period before a case-mix cell is tested
    rule_lines: tuple[RuleLine, ...] = ()  # each payment rule's adjustment to the tariff value
    challenges: ChallengeSummary | None = None  # the contract's challenges (agreed ones reduce the figures below)

    # The contract's totals as the statement states them: the tariff value (``lines``) plus every payment rule,
    # less the agreed challenges; what the reconciliation to the ledger and the ``contract`` forecast method read
    # (never the lines directly).

    def _total(self, field: str) -> Pence:
        return sum(getattr(line, field) for line in (*self.lines, *self.rule_lines))

    @property
    def annual_plan_pence(self) -> Pence:
        return self._total("annual_plan_pence")

    @property
    def ytd_plan_pence(self) -> Pence:
        return self._total("ytd_plan_pence")

    @property
    def ytd_actual_pence(self) -> Pence:
        """Priced activity to date after the payment rules, less the agreed challenges' share in months to date."""
        agreed = self.challenges.agreed_to_date_pence if self.challenges else 0
        return self._total("ytd_actual_pence") - agreed

    @property
    def forecast_pence(self) -> Pence:
        """The forecast outturn after the payment rules, less the agreed challenges."""
        agreed = self.challenges.agreed_pence if self.challenges else 0
        return self._total("forecast_pence") - agreed


def local_prices_table(contracts: Sequence[Contract]) -> ir.Table:
    rows = [
        {
            "provider": c.provider,
            "commissioner": c.commissioner,
            "point_of_delivery": p.point_of_delivery.value,
            "code": p.code,
            "price_pence": p.price_pence,
        }
        for c in contracts
        for p in c.local_prices
    ]
    return memtable(rows, contract_engine.LOCAL_PRICE_SCHEMA)


def contract_statements(
    workspace: Workspace,
    provider: str | None,
    as_at: FinancialMonth,
    commissioner: str | None = None,
    follow_up_benchmark: float | None = None,
    min_spells: int = MIN_SPELLS,
) -> list[ContractStatement]:
    """One statement per contract (of ``provider``, or of every provider when None: the activity is priced once
    for all of them); case-mix drift is tested only in cells with ``min_spells`` spells in each period, and
    adjusted for multiple testing across the cells tested in each contract."""
    if min_spells < 2:
        raise ContractError(f"the minimum spells for a case-mix test must be at least 2, not {min_spells}")
    year = as_at.year
    with workspace.store.reading() as session:
        contracts = [
            c
            for c in contracts_repository.load_contracts(session, year, provider)
            if commissioner is None or c.commissioner == commissioner
        ]
        challenged = statement_summaries(session, year, provider, as_at)
    if not contracts:
        which = f"with provider {provider} " if provider is not None else ""
        raise ContractError(f"no contract {which}in {year}", needs="contracts")
    tariff = contract_tariff(workspace, year)
    backend = workspace.backend
    priced = {kind: priced_activity(backend, kind, stored_activity(workspace, kind), tariff) for kind in ActivityKind}
    units = contract_engine.apply_local_prices(
        contract_engine.contract_units(priced[ActivityKind.APC], priced[ActivityKind.OP], priced[ActivityKind.AE]),
        local_prices_table(contracts),
    )
    actual_rows = backend.to_rows(contract_engine.contract_actuals(units, year=year.start_year, provider=provider))
    readmitted_rows = _readmissions(backend, priced[ActivityKind.APC], contracts, year, provider)
    follow_rows = backend.to_rows(
        contract_engine.follow_up_ratios(priced[ActivityKind.OP], year=year.start_year, as_at_month=as_at.number)
    )
    referral_rows = backend.to_rows(
        contract_engine.referral_sources(priced[ActivityKind.OP], year=year.start_year, as_at_month=as_at.number)
    )
    drift = _drift(backend, priced[ActivityKind.APC], year, as_at, min_spells)
    benchmark = (
        follow_up_benchmark
        if follow_up_benchmark is not None
        else peer_follow_up_ratios((row["treatment_function"], row["firsts"], row["follow_ups"]) for row in follow_rows)
    )
    statements = []
    for contract in contracts:
        mine = (contract.provider, contract.commissioner)
        actuals = _actual_lines(actual_rows, mine)
        statements.append(
            ContractStatement(
                contract,
                as_at,
                statement_lines(contract, actuals, as_at),
                _follow_ups([row for row in follow_rows if (row["provider"], row["commissioner"]) == mine], benchmark),
                next(
                    (
                        {
                            "first_attendances": row["first_attendances"],
                            "consultant_referrals": row["consultant_referrals"],
                        }
                        for row in referral_rows
                        if (row["provider"], row["commissioner"]) == mine
                    ),
                    {"first_attendances": 0, "consultant_referrals": 0},
                ),
                _adjusted([(pod, tf, found) for (key, pod, tf, found) in drift if key == mine]),
                tariff.year,
                min_spells,
                rule_lines(contract, actuals, _actual_lines(readmitted_rows, mine), as_at),
                challenged.get(mine, ChallengeSummary(as_at.number)),
            )
        )
    return statements


def _actual_lines(rows: Sequence[dict[str, Any]], contract: tuple[str, str]) -> list[ActualLine]:
    return [
        ActualLine(PointOfDelivery(row["point_of_delivery"]), row["month"], row["activity"], row["pence"])
        for row in rows
        if (row["provider"], row["commissioner"]) == contract
    ]


def _readmissions(
    backend: Backend,
    priced_apc: ir.Table,
    contracts: Sequence[Contract],
    year: FinancialYear,
    provider: str | None,
) -> list[dict[str, Any]]:
    """Readmitted spells and their excess bed days, priced as the contract prices them, by contract and month (of
    one provider, or of every provider when None: index and readmission are always at the same provider)."""
    if not any(contract.rules.readmissions for contract in contracts):
        return []
    mine = priced_apc if provider is None else priced_apc.filter(priced_apc.provider == provider)
    units = contract_engine.apply_local_prices(
        contract_engine.spell_units(rules_engine.readmissions_only(mine)), local_prices_table(contracts)
    )
    return backend.to_rows(contract_engine.contract_actuals(units, year=year.start_year, provider=provider))


def _follow_ups(rows: Sequence[dict[str, Any]], benchmark: float | dict[str, float]) -> list[dict[str, Any]]:
    found = []
    for row in rows:
        target = benchmark if isinstance(benchmark, float) else benchmark.get(row["treatment_function"])
        found.append(
            {
                **{k: row[k] for k in ("treatment_function", "firsts", "follow_ups")},
                "ratio": follow_up_ratio(row["firsts"], row["follow_ups"]),
                "benchmark_ratio": target,
                "follow_ups_above_benchmark": follow_ups_above_benchmark(row["firsts"], row["follow_ups"], target),
            }
        )
    return found


def _adjusted(cells: list[tuple[str, str, Drift]]) -> list[tuple[str, str, Drift]]:
    """One contract's cells with their p-values adjusted (Holm) across the cells tested."""
    adjusted = adjust_family([found for _, _, found in cells])
    return [(pod, tf, found) for (pod, tf, _), found in zip(cells, adjusted, strict=True)]


def _drift(
    backend: Backend, priced_apc: ir.Table, year: FinancialYear, as_at: FinancialMonth, min_spells: int
) -> list[tuple[tuple[str, str], str, str, Drift]]:
    """Case mix in the latest three months against the first quarter of the year (needs as-at M06 or later)."""
    windows = case_mix_windows(as_at.number)
    if windows is None:
        return []
    baseline, current = (
        backend.to_rows(contract_engine.case_mix(priced_apc, year=year.start_year, first_month=first, last_month=last))
        for first, last in windows
    )
    before = {(r["provider"], r["commissioner"], r["point_of_delivery"], r["treatment_function"]): r for r in baseline}
    found = []
    for row in current:
        key = (row["provider"], row["commissioner"], row["point_of_delivery"], row["treatment_function"])
        if key not in before:
            continue
        old = before[key]
        result = case_mix_drift(
            PriceSample(old["spells"], old["pence"], old["sum_squares"]),
            PriceSample(row["spells"], row["pence"], row["sum_squares"]),
            min_spells,
        )
        found.append(((key[0], key[1]), key[2], key[3], result))
    return found


