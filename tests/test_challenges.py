"""The challenge log per contract: status rules, the store with versions and the audit trail, the CLI, and how the
contract statement counts challenges (agreed ones off the forecast and the year to date, open ones as a risk at a
likelihood). Every expected figure is worked by hand in the test."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from outturn.cli import app
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
    drift_value_pence,
    parse_months,
    year_of_reference,
)
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.reports.contracts import statement_documents
from outturn.services import challenges, contracts
from outturn.services.workspace import open_workspace
from outturn.store import challenges_repository
from outturn.store.challenges_repository import ChallengeConflict
from outturn.store.database import Store
from test_contracts import workspace, write_csv

__all__ = ["workspace"]
YEAR = FinancialYear(2018)
RAISED = date(2018, 10, 1)


def challenge(**changes: Any) -> Challenge:
    values: dict[str, Any] = {
        "reference": "CH-2018-0001",
        "provider": "RTH",
        "commissioner": "10Q",
        "year": YEAR,
        "category": ChallengeCategory.CODING,
        "value_pence": 10_000_00,
        "raised_on": RAISED,
        "raised_by": "fiona",
    }
    return Challenge(**{**values, **changes})


# --- the rules, in the domain ---------------------------------------------------------------------------------


def test_an_open_challenge_is_agreed_with_the_pounds_agreed_and_the_date() -> None:
    agreed = change_challenge(
        challenge(), ChallengeChange(ChallengeStatus.AGREED, agreed_pence=6_000_00), date(2018, 11, 5)
    )
    assert (agreed.status, agreed.agreed_pence, agreed.status_changed_on) == (
        ChallengeStatus.AGREED,
        6_000_00,
        date(2018, 11, 5),
    )
    amended = change_challenge(agreed, ChallengeChange(agreed_pence=6_500_00), date(2018, 12, 1))
    assert (amended.agreed_pence, amended.status_changed_on) == (6_500_00, date(2018, 11, 5))  # status unchanged


@pytest.mark.parametrize(
    ("start", "change", "why"),
    [
        (ChallengeStatus.OPEN, ChallengeChange(ChallengeStatus.AGREED), "needs the £ agreed"),
        (ChallengeStatus.OPEN, ChallengeChange(ChallengeStatus.REJECTED, agreed_pence=1), "only when"),
        (ChallengeStatus.REJECTED, ChallengeChange(ChallengeStatus.OPEN), "needs a reason"),
        (ChallengeStatus.WITHDRAWN, ChallengeChange(ChallengeStatus.OPEN, reason="  "), "needs a reason"),
        (ChallengeStatus.REJECTED, ChallengeChange(ChallengeStatus.AGREED, agreed_pence=1), "reopen it"),
        (ChallengeStatus.WITHDRAWN, ChallengeChange(ChallengeStatus.REJECTED), "reopen it"),
    ],
)
def test_status_changes_the_rules_refuse(start: ChallengeStatus, change: ChallengeChange, why: str) -> None:
    with pytest.raises(ChallengeError, match=why):
        change_challenge(challenge(status=start), change, RAISED)


def test_a_closed_challenge_reopens_with_its_reason() -> None:
    reopened = change_challenge(
        challenge(status=ChallengeStatus.REJECTED, status_changed_on=date(2018, 10, 20)),
        ChallengeChange(ChallengeStatus.OPEN, reason="new coding evidence"),
        date(2018, 11, 2),
    )
    assert (reopened.status, reopened.status_changed_on, reopened.status_reason) == (
        ChallengeStatus.OPEN,
        date(2018, 11, 2),
        "new coding evidence",
    )


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"value_pence": -5_00}, "more than zero"),
        ({"value_pence": 0}, "more than zero"),
        ({"status": ChallengeStatus.AGREED, "agreed_pence": -1}, "cannot be negative"),
        ({"status": ChallengeStatus.AGREED}, "needs the £ agreed"),
        ({"likelihood": Decimal("1.5")}, "between 0 and 1"),
        ({"months": (7, 6)}, "distinct financial months"),
        ({"months": (13,)}, "distinct financial months"),
    ],
)
def test_a_challenge_the_rules_refuse(fields: dict[str, Any], why: str) -> None:
    with pytest.raises(ChallengeError, match=why):
        challenge(**fields)


def test_references_months_and_likelihood() -> None:
    assert year_of_reference("ch-2018-0007") == YEAR
    with pytest.raises(ChallengeError, match="not a challenge reference"):
        year_of_reference("CH-18-7; drop")
    assert parse_months("M08, 6,M07") == (6, 7, 8)
    # Open: £1,234.57 at the default 50% = 61,728.5p, rounded half away from zero to 61,729p; at 30%: 37,037.1p.
    assert challenge(value_pence=1_234_57).expected_pence == 61_729
    assert challenge(value_pence=1_234_57, likelihood=Decimal("0.3")).expected_pence == 37_037
    assert challenge(status=ChallengeStatus.AGREED, agreed_pence=1).expected_pence == 0


def test_a_summary_counts_agreed_to_date_by_the_share_of_months_and_open_at_likelihood() -> None:
    summary = ChallengeSummary(
        6,
        (
            # agreed £6,000.01 over M05-M08: two of four months to date = 300,000.5p, rounded to 300,001p
            challenge(months=(5, 6, 7, 8), status=ChallengeStatus.AGREED, agreed_pence=6_000_01),
            # agreed £1,500 with no months: all of it to date
            challenge(status=ChallengeStatus.AGREED, agreed_pence=1_500_00),
            challenge(value_pence=1_234_57),  # open at 50%: 61,729p
            challenge(value_pence=999_99, likelihood=Decimal("0.3")),  # open at 30%: 29,999.7p = 30,000p
            challenge(value_pence=500_00, status=ChallengeStatus.REJECTED),
        ),
    )
    assert summary.agreed_pence == 6_000_01 + 1_500_00
    assert summary.agreed_to_date_pence == 300_001 + 150_000
    assert (summary.open_pence, summary.open_expected_pence) == (1_234_57 + 999_99, 61_729 + 30_000)
    totals = {total.status: (total.count, total.value_pence) for total in summary.totals()}
    assert totals == {
        ChallengeStatus.OPEN: (2, 1_234_57 + 999_99),
        ChallengeStatus.AGREED: (2, 2 * 10_000_00),
        ChallengeStatus.REJECTED: (1, 500_00),
        ChallengeStatus.WITHDRAWN: (0, 0),
    }


def test_a_drift_cell_is_valued_at_the_rise_in_mean_price_times_current_spells() -> None:
    # Baseline 2 spells for £1,000.01 (mean 50,000.5p); now 3 spells for £1,500.03 (mean 50,001p):
    # (50,001 - 50,000.5) x 3 = 1.5p, rounded half away from zero once: 2p.
    cell = DriftCell("elective", "100", 2, 1_000_01, 3, 1_500_03, (1, 2, 3), (4, 5, 6))
    assert drift_value_pence(cell) == 2
    # Baseline 4 spells £12,000 (mean £3,000); now 5 spells £16,500 (mean £3,300): (3,300 - 3,000) x 5 = £1,500.
    cell = DriftCell("elective", "100", 4, 12_000_00, 5, 16_500_00, (1, 2, 3), (4, 5, 6))
    raised = drift_challenge(cell, "RTH", "10Q", YEAR, RAISED, "fiona")
    assert (raised.category, raised.value_pence, raised.months) == (ChallengeCategory.CODING, 1_500_00, (4, 5, 6))
    assert (raised.point_of_delivery, raised.treatment_function) == ("elective", "100")
    assert "£3,300.00" in raised.notes and "£3,000.00" in raised.notes and "= £1,500.00" in raised.notes
    fallen = DriftCell("elective", "100", 4, 12_000_00, 5, 14_000_00, (1, 2, 3), (4, 5, 6))
    with pytest.raises(ChallengeError, match="has not risen"):
        drift_challenge(fallen, "RTH", "10Q", YEAR, RAISED, "fiona")


# --- the store, the service and the CLI ------------------------------------------------------------------------


@pytest.fixture
def light(tmp_path: Path, reference_dir: Path) -> Path:
    """A workspace holding the contract RTH x 10Q for 2018/19 (no activity)."""
    ws = tmp_path / "light"
    organisations = write_csv(tmp_path / "orgs.csv", ["code", "name", "kind", "parent_code"], [
        ["Y59", "South East", "region", ""], ["10Q", "Oxfordshire", "ccg", "Y59"],
        ["RTH", "Oxford University Hospitals", "provider", ""],
    ])  # fmt: skip
    plan = write_csv(
        tmp_path / "plan.csv",
        ["provider", "commissioner", "year", "point_of_delivery", "month", "activity", "value", "description"],
        [["RTH", "10Q", "2018/19", "non_elective", f"M{m:02d}", 1, "£1,000.00", ""] for m in range(1, 13)],
    )
    for command in (
        ["init", str(ws), "--as-at", "2018-09", "--reference-dir", str(reference_dir)],
        ["-w", str(ws), "orgs", "import", str(organisations)],
        ["-w", str(ws), "contracts", "import", str(plan)],
    ):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 0, result.output
    return ws


def cli(ws: Path, *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, ["-w", str(ws), "contracts", "challenges", *args, "--format", "json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if code == 0 else result.output


ADD = ("add", "--provider", "rth", "--commissioner", "10q")


def test_add_update_list_and_history_through_the_cli(light: Path) -> None:
    first = cli(light, *ADD, "--category", "coding", "--value", "10,000.00", "--pod", "non_elective",
                "--months", "M05,M06", "--notes", "HRG AA22C upcoded", "--raised-on", "2018-10-01")  # fmt: skip
    assert {key: first[key] for key in ("reference", "status", "value_pence", "months", "version")} == {
        "reference": "CH-2018-0001",
        "status": "open",
        "value_pence": 1_000_000,
        "months": [5, 6],
        "version": 1,
    }
    assert (first["likelihood"], first["expected_pence"], first["raised_on"]) == (0.5, 500_000, "2018-10-01")
    second = cli(light, *ADD, "--category", "duplicate", "--value", "250", "--likelihood", "80%")
    assert (second["reference"], second["expected_pence"]) == ("CH-2018-0002", 20_000)  # £250 x 80%
    agreed = cli(light, "update", "CH-2018-0001", "--version", "1", "--status", "agreed", "--agreed", "7,500")
    assert (agreed["status"], agreed["agreed_pence"], agreed["version"]) == ("agreed", 750_000, 2)
    log = cli(light, "list", "--provider", "RTH")
    assert [row["reference"] for row in log["challenges"]] == ["CH-2018-0001", "CH-2018-0002"]
    totals = {row["status"]: row for row in log["totals_by_status"]}
    assert (totals["agreed"]["count"], totals["agreed"]["agreed_pence"]) == (1, 750_000)
    assert (totals["open"]["value_pence"], totals["open"]["expected_pence"]) == (25_000, 20_000)
    assert cli(light, "list", "--status", "open")["challenges"][0]["reference"] == "CH-2018-0002"
    trail = cli(light, "history", "ch-2018-0001")
    assert [(entry["action"], entry["who"] != "") for entry in trail["history"]] == [("add", True), ("update", True)]
    assert trail["history"][0]["before"] is None and trail["history"][0]["after"]["status"] == "open"
    assert (trail["history"][1]["before"]["status"], trail["history"][1]["after"]["agreed_pence"]) == (
        "open",
        750_000,
    )


def test_a_change_from_an_old_version_is_refused_and_saves_nothing(light: Path) -> None:
    cli(light, *ADD, "--category", "counting", "--value", "100")
    cli(light, "update", "CH-2018-0001", "--version", "1", "--notes", "first edit")
    output = cli(light, "update", "CH-2018-0001", "--version", "1", "--status", "withdrawn", code=2)
    assert "changed by someone else" in output and "it is now version 2" in output
    stored = cli(light, "history", "CH-2018-0001")
    assert (stored["challenge"]["status"], stored["challenge"]["notes"]) == ("open", "first edit")
    assert len(stored["history"]) == 2  # the refused change left no audit entry


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (("add", "--provider", "RXX", "--commissioner", "10Q", "--category", "coding", "--value", "5"), "no contract"),
        ((*ADD, "--category", "coding", "--value", "-5"), "more than zero"),
        ((*ADD, "--category", "upcoding", "--value", "5"), "not one of coding, counting"),
        ((*ADD, "--category", "coding", "--value", "5", "--pod", "wards"), "point of delivery 'wards'"),
        ((*ADD, "--category", "coding", "--value", "5", "--likelihood", "150%"), "between 0% and 100%"),
        (("list", "--status", "closed"), "not one of open, agreed, rejected, withdrawn"),
        (("update", "CH-2018-0009", "--version", "1", "--notes", "x"), "no challenge CH-2018-0009"),
        (("history", "nonsense"), "not a challenge reference"),
    ],
)
def test_bad_input_is_a_clear_error(light: Path, args: tuple[str, ...], why: str) -> None:
    assert why in " ".join(cli(light, *args, code=2).split())


def test_the_statement_counts_agreed_and_open_challenges(workspace: Path) -> None:
    """RTH x 10Q as at M06 (the fixture of tests/test_contracts.py); the challenges and their effect by hand:
    agreed £6,000.01 over M05-M08 (two of four months to date: 300,000.5p = 300,001p) and £1,500 with no months
    (all to date); open £1,234.57 at 50% (61,729p) and £999.99 at 30% (30,000p); one rejected £500 (nothing)."""
    with open_workspace(workspace) as opened:
        made = [
            challenges.add_challenge(opened, challenges.NewChallenge("RTH", "10Q", YEAR, category, value, **extra),
                                     "fiona")
            for category, value, extra in (
                (ChallengeCategory.CODING, 10_000_00, {"months": (5, 6, 7, 8)}),
                (ChallengeCategory.COUNTING, 2_000_00, {}),
                (ChallengeCategory.DUPLICATE, 1_234_57, {}),
                (ChallengeCategory.READMISSION, 999_99, {"likelihood": Decimal("0.3")}),
                (ChallengeCategory.OTHER, 500_00, {}),
            )
        ]  # fmt: skip
        for found, status, agreed in (
            (made[0], ChallengeStatus.AGREED, 6_000_01),
            (made[1], ChallengeStatus.AGREED, 1_500_00),
            (made[4], ChallengeStatus.REJECTED, None),
        ):
            challenges.update_challenge(opened, found.reference, 1, ChallengeChange(status, agreed), "fiona")
        (statement,) = contracts.contract_statements(opened, "RTH", FinancialMonth(YEAR, 6))
        (document,) = statement_documents([statement])
    ytd_priced = sum(line["ytd_actual_pence"] for line in document["lines"])
    forecast_priced = sum(line["forecast_pence"] for line in document["lines"])
    assert (document["ytd_actual_before_challenges_pence"], document["forecast_before_challenges_pence"]) == (
        ytd_priced,
        forecast_priced,
    )
    assert document["ytd_actual_pence"] == ytd_priced - (300_001 + 150_000)
    assert document["forecast_pence"] == forecast_priced - (6_000_01 + 1_500_00)
    assert document["forecast_variance_favourable_pence"] == document["annual_plan_pence"] - document["forecast_pence"]
    assert document["ytd_variance_favourable_pence"] == document["ytd_plan_pence"] - document["ytd_actual_pence"]
    block = document["challenges"]
    assert (block["agreed_pence"], block["agreed_to_date_pence"]) == (750_001, 450_001)
    assert (block["open_pence"], block["open_expected_pence"], block["default_likelihood"]) == (
        1_234_57 + 999_99,
        61_729 + 30_000,
        0.5,
    )
    assert [row["reference"] for row in block["challenges"]] == [f"CH-2018-000{n}" for n in range(1, 6)]
    # the shared interface the reconciliation reads: the same figures as the document
    assert (statement.ytd_actual_pence, statement.forecast_pence, statement.annual_plan_pence) == (
        document["ytd_actual_pence"],
        document["forecast_pence"],
        document["annual_plan_pence"],
    )


def test_the_store_keeps_every_field_and_refuses_a_stale_version(store: Store) -> None:
    """On SQLite and PostgreSQL: a challenge comes back as it went in, and a save from an old version is refused."""
    raised = challenge(reference="", point_of_delivery="elective", treatment_function="100", months=(4, 5),
                       likelihood=Decimal("0.25"), notes="two spells coded twice")  # fmt: skip
    with store.transaction() as session:
        first = challenges_repository.insert_challenge(session, raised, "fiona")
        second = challenges_repository.insert_challenge(session, raised, "fiona")
    assert (first.reference, second.reference) == ("CH-2018-0001", "CH-2018-0002")
    assert first == replace(raised, reference="CH-2018-0001")
    agreed = change_challenge(first, ChallengeChange(ChallengeStatus.AGREED, agreed_pence=4_000_00), RAISED)
    with store.transaction() as session:
        saved = challenges_repository.replace_challenge(session, agreed, 1, "fiona")
    assert saved == replace(agreed, version=2)
    with pytest.raises(ChallengeConflict, match="it is now version 2"), store.transaction() as session:
        challenges_repository.replace_challenge(session, first, 1, "bob")
    with store.reading() as session:
        assert challenges_repository.load_challenges(session, YEAR, status=ChallengeStatus.AGREED) == [saved]


@st.composite
def challenge_logs(draw: st.DrawFn) -> list[Challenge]:
    found = []
    for _ in range(draw(st.integers(0, 8))):
        status = draw(st.sampled_from(ChallengeStatus))
        months = tuple(sorted(draw(st.sets(st.integers(1, 12), max_size=4))))
        found.append(
            challenge(
                value_pence=draw(st.integers(1, 10**9)),
                status=status,
                agreed_pence=draw(st.integers(0, 10**9)) if status is ChallengeStatus.AGREED else None,
                likelihood=draw(st.none() | st.decimals(0, 1, places=2)),
                months=months,
            )
        )
    return found


@given(challenge_logs(), st.integers(1, 12))
def test_the_totals_by_status_add_up_to_the_log(log: list[Challenge], month: int) -> None:
    """Every challenge is counted in one status; the agreed £ to date is never more than the £ agreed and is all of
    it at M12; the open risk never exceeds the £ open."""
    summary = ChallengeSummary(month, tuple(log))
    totals = summary.totals()
    assert sum(total.count for total in totals) == len(log)
    assert sum(total.value_pence for total in totals) == sum(c.value_pence for c in log)
    assert sum(total.agreed_pence for total in totals) == summary.agreed_pence
    assert sum(total.expected_pence for total in totals) == summary.open_expected_pence <= summary.open_pence
    assert 0 <= summary.agreed_to_date_pence <= summary.agreed_pence
    assert ChallengeSummary(12, tuple(log)).agreed_to_date_pence == summary.agreed_pence
