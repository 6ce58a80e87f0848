"""Contract statements and pricing results as JSON-ready documents (money in integer pence)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from outturn.domain.challenges import ChallengeSummary
from outturn.domain.contracts import Contract, RuleLine, StatementLine
from outturn.domain.money import Pence
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.reports.challenges import statement_challenges_document
from outturn.stats.casemix import MIN_SPELLS, Drift

# A statement line's money, in the order the statement shows it (the CLI's table, the pack's totals).
STATEMENT_MONEY = (
    "ytd_plan_pence",
    "ytd_actual_pence",
    "ytd_variance_favourable_pence",
    "forecast_pence",
    "annual_plan_pence",
    "forecast_variance_favourable_pence",
)


# look-alike of the other document builders (reports/contract_reconciliation.py, services/statistics.py): declarative,
# one JSON field per attribute.
def statement_line_document(line: StatementLine) -> dict[str, Any]:
    return {
        "point_of_delivery": line.point_of_delivery,
        "annual_plan_activity": line.annual_plan_activity,
        "annual_plan_pence": line.annual_plan_pence,
        "ytd_plan_activity": line.ytd_plan_activity,
        "ytd_plan_pence": line.ytd_plan_pence,
        "ytd_actual_activity": line.ytd_actual_activity,
        "ytd_actual_pence": line.ytd_actual_pence,
        "ytd_variance_favourable_activity": line.ytd_variance_favourable_activity,
        "ytd_variance_favourable_pence": line.ytd_variance_favourable_pence,
        "forecast_activity": line.forecast_activity,
        "forecast_pence": line.forecast_pence,
        "forecast_variance_favourable_pence": line.forecast_variance_favourable_pence,
        "over_performance_pence": line.over_performance_pence,
    }


def rule_line_document(line: RuleLine) -> dict[str, Any]:
    return {
        "rule": line.rule,
        "label": line.label,
        "annual_plan_pence": line.annual_plan_pence,
        "ytd_plan_pence": line.ytd_plan_pence,
        "ytd_actual_pence": line.ytd_actual_pence,
        "forecast_pence": line.forecast_pence,
        "ytd_actual_activity": line.ytd_actual_activity,
        "forecast_activity": line.forecast_activity,
    }


def variable_element_document(lines: list[StatementLine], variable: tuple[str, ...]) -> dict[str, Any]:
    """A fixed and variable contract's variable element: its points of delivery at unit prices, plan against
    actual and forecast (over-performance positive when adverse)."""
    mine = [line for line in lines if line.point_of_delivery in variable]
    totals = {
        key: sum(getattr(line, key) for line in mine)
        for key in ("annual_plan_pence", "ytd_plan_pence", "ytd_actual_pence", "forecast_pence")
    }
    return {
        "points_of_delivery": list(variable),
        **totals,
        "ytd_variance_favourable_pence": totals["ytd_plan_pence"] - totals["ytd_actual_pence"],
        "over_performance_pence": totals["forecast_pence"] - totals["annual_plan_pence"],
    }


def drift_document(point_of_delivery: str, treatment_function: str, drift: Drift) -> dict[str, Any]:
    return {
        "point_of_delivery": point_of_delivery,
        "treatment_function": treatment_function,
        "baseline_spells": drift.baseline_spells,
        "baseline_mean_pence": round(drift.baseline_mean_pence, 2),
        "current_spells": drift.current_spells,
        "current_mean_pence": round(drift.current_mean_pence, 2),
        "expected_pence": drift.expected_pence,
        "actual_pence": drift.actual_pence,
        "drift_pence": drift.drift_pence,
        "status": drift.status.value,
        "result": drift.result,
        "z": None if drift.z is None else round(drift.z, 3),
        "p_value": drift.p_value,
        "p_value_adjusted": drift.p_adjusted,
        "significant_95": drift.significant_95,
        "significant_998": drift.significant_998,
    }


def statement_document(
    provider: str,
    commissioner: str,
    year: str,
    as_at: str,
    lines: list[StatementLine],
    follow_ups: list[dict[str, Any]],
    referrals: dict[str, int],
    drift: list[tuple[str, str, Drift]],
    tariff_year: str,
    min_spells: int = MIN_SPELLS,
    rule_lines: list[RuleLine] | None = None,
    variable: tuple[str, ...] | None = None,
    challenges: ChallengeSummary | None = None,
) -> dict[str, Any]:
    """The statement: ``lines`` at tariff (national or local prices, and blocks) total the ``tariff_*`` figures;
    each payment rule's adjustment is in ``payment_rules``; the contract's totals (``annual_plan_pence`` ...) are
    the tariff value plus every adjustment, less the agreed challenges (year to date and forecast)."""
    firsts = referrals["first_attendances"]
    rules = rule_lines or []
    keys = ("annual_plan_pence", "ytd_plan_pence", "ytd_actual_pence", "forecast_pence")
    tariff = {key: sum(getattr(line, key) for line in lines) for key in keys}
    total, challenged = _after_challenges(
        {key: tariff[key] + sum(getattr(rule, key) for rule in rules) for key in keys}, challenges
    )
    return {
        "provider": provider,
        "commissioner": commissioner,
        "financial_year": year,
        "as_at": as_at,
        "tariff_year": tariff_year,
        "lines": [statement_line_document(line) for line in lines],
        **{f"tariff_{key}": value for key, value in tariff.items()},
        "payment_rules": [rule_line_document(rule) for rule in rules],
        "variable_element": None if variable is None else variable_element_document(lines, variable),
        **total,
        "ytd_variance_favourable_pence": total["ytd_plan_pence"] - total["ytd_actual_pence"],
        "forecast_variance_favourable_pence": total["annual_plan_pence"] - total["forecast_pence"],
        "over_performance_pence": total["forecast_pence"] - total["annual_plan_pence"],
        "follow_up_ratios": follow_ups,
        "first_attendances": firsts,
        "consultant_referrals": referrals["consultant_referrals"],
        "consultant_referral_share": referrals["consultant_referrals"] / firsts if firsts else None,
        "case_mix_drift": [drift_document(pod, tf, found) for pod, tf, found in drift],
        "case_mix_min_spells": min_spells,
        "case_mix_adjustment": "holm",
        **challenged,
    }


def _after_challenges(
    total: dict[str, int], challenges: ChallengeSummary | None
) -> tuple[dict[str, int], dict[str, Any]]:
    """The totals once agreed challenges come off the year-to-date actual (the share in months to date) and the
    forecast (all of them); and the figures before them with the challenges block."""
    summary = challenges or ChallengeSummary(0)
    after = {
        **total,
        "ytd_actual_pence": total["ytd_actual_pence"] - summary.agreed_to_date_pence,
        "forecast_pence": total["forecast_pence"] - summary.agreed_pence,
    }
    return after, {
        "ytd_actual_before_challenges_pence": total["ytd_actual_pence"],
        "forecast_before_challenges_pence": total["forecast_pence"],
        "challenges": statement_challenges_document(summary),
    }


# look-alike of domain/plans.py:_Allocated (shape only): declarative, a class's fields.
class Statement(Protocol):
    """A contract's statement (``services.contracts.ContractStatement``): its lines at tariff, each payment rule's
    adjustment, its challenges, and the contract's totals after them."""

    @property
    def contract(self) -> Contract: ...
    @property
    def as_at(self) -> FinancialMonth: ...
    @property
    def lines(self) -> tuple[StatementLine, ...]: ...
    @property
    def follow_ups(self) -> list[dict[str, Any]]: ...
    @property
    def referrals(self) -> dict[str, int]: ...
    @property
    def drift(self) -> list[tuple[str, str, Drift]]: ...
    @property
    def tariff_year(self) -> FinancialYear: ...
    @property
    def min_spells(self) -> int: ...
    @property
    def rule_lines(self) -> tuple[RuleLine, ...]: ...
    @property
    def challenges(self) -> ChallengeSummary | None: ...
    @property
    def annual_plan_pence(self) -> Pence: ...
    @property
    def forecast_pence(self) -> Pence: ...


def _variable(contract: Contract) -> tuple[str, ...] | None:
    fixed = contract.rules.fixed_variable
    return None if fixed is None else tuple(pod.value for pod in fixed.variable)


def statement_documents(found: Sequence[Statement]) -> list[dict[str, Any]]:
    """The JSON documents of these statements (``outturn contracts statement --format json``); one builder for the
    CLI, the web pages and the board pack."""
    return [
        statement_document(
            s.contract.provider,
            s.contract.commissioner,
            s.contract.year.label,
            s.as_at.calendar_label,
            list(s.lines),
            s.follow_ups,
            s.referrals,
            s.drift,
            s.tariff_year.label,
            s.min_spells,
            list(s.rule_lines),
            _variable(s.contract),
            s.challenges,
        )
        for s in found
    ]
