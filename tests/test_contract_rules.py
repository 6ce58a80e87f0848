"""Payment rules on top of the tariff, each worked by hand through the statement (``statement_lines`` for the
tariff value, ``rule_lines`` for the adjustments, ``statement_document`` for the contract value).

The contract in every case: 2018/19, as at M06 (September). Non-elective planned at 10 spells of £1,000 a month
(£10,000) and done at 12 spells a month (£12,000) in April to September, so the rest of the year is forecast at
120% of its plan: £12,000 a month.
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from outturn.cli import app
from outturn.domain.activity import APC_SCHEMA, PointOfDelivery
from outturn.domain.contract_rules import Cap, Cquin, FixedVariable, MarginalRate, PaymentRules, twelfths
from outturn.domain.contracts import (
    ActualLine,
    BlockElement,
    Contract,
    PlanLine,
    RuleLine,
    rule_lines,
    statement_lines,
)
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.engine.backends import Backend
from outturn.engine.contract_rules import readmissions_only, readmitted_spells
from outturn.engine.contracts import LOCAL_PRICE_SCHEMA, apply_local_prices, contract_actuals, spell_units
from outturn.reports.contracts import statement_document, variable_element_document
from outturn.store.database import Store

YEAR = FinancialYear(2018)
AS_AT = FinancialMonth(YEAR, 6)
NEL, ELECTIVE, FIRST = PointOfDelivery.NON_ELECTIVE, PointOfDelivery.ELECTIVE, PointOfDelivery.OP_FIRST
POUND = 100
NEL_PLAN = tuple(PlanLine(NEL, month, 10, 10_000 * POUND) for month in range(1, 13))
NEL_ACTUAL = [ActualLine(NEL, month, 12, 12_000 * POUND) for month in range(1, 7)]


def contract(
    rules: PaymentRules, plan: tuple[PlanLine, ...] = NEL_PLAN, blocks: tuple[BlockElement, ...] = ()
) -> Contract:
    return Contract("RTH", "10Q", YEAR, plan, (), blocks, rules)


def document(found: Contract, actuals: list[ActualLine], readmitted: list[ActualLine] | None = None) -> dict:
    return document_at(found, actuals, readmitted or [], AS_AT)


def only(doc: dict) -> dict:
    (rule,) = doc["payment_rules"]
    return rule  # type: ignore[no-any-return]


def figures(rule: dict) -> tuple[int, int, int, int]:
    return rule["annual_plan_pence"], rule["ytd_plan_pence"], rule["ytd_actual_pence"], rule["forecast_pence"]


def test_marginal_rate_pays_non_elective_value_above_the_baseline_at_the_rate() -> None:
    rules = PaymentRules(marginal_rate=MarginalRate(Fraction(3, 10), (10_000 * POUND,) * 12))
    doc = document(contract(rules), NEL_ACTUAL)
    # Each month £12,000 against a £10,000 baseline: £2,000 above it paid at 30%, so £1,400 not paid.
    # To date 6 x £1,400; the forecast months are £12,000 too: 12 x £1,400. The plan sits on the baseline.
    assert figures(only(doc)) == (0, 0, -8_400 * POUND, -16_800 * POUND)
    assert doc["tariff_ytd_actual_pence"] == 72_000 * POUND
    assert doc["ytd_actual_pence"] == (72_000 - 8_400) * POUND
    assert doc["forecast_pence"] == (144_000 - 16_800) * POUND


def test_readmissions_are_not_paid_and_are_counted() -> None:
    readmitted = [ActualLine(NEL, 2, 1, 1_000 * POUND), ActualLine(NEL, 5, 2, 2_000 * POUND)]
    doc = document(contract(PaymentRules(readmissions=True)), NEL_ACTUAL, readmitted)
    rule = only(doc)
    # £3,000 of £72,000 to date (1/24) readmitted; the forecast £72,000 to come at the same share: £3,000 more.
    # Spells: 3 of 72; 12 a month to come at 1/24 is half a spell a month, rounded cumulatively: 1,1,2,2,3,3.
    assert figures(rule) == (0, 0, -3_000 * POUND, -6_000 * POUND)
    assert (rule["ytd_actual_activity"], rule["forecast_activity"]) == (3, 6)
    assert doc["ytd_actual_pence"] == 69_000 * POUND


def test_cquin_is_a_share_of_the_contract_value_at_the_months_achievement() -> None:
    achievement = ((4, Fraction(1, 2)), (5, Fraction(0)))  # M01-M03 and M06 not stated: achieved in full
    doc = document(contract(PaymentRules(cquin=Cquin(Fraction(25, 1000), achievement))), NEL_ACTUAL)
    # 2.5% of £12,000 is £300: M01-M03 £300, M04 at 50% £150, M05 nothing, M06 £300 = £1,350 to date;
    # six forecast months at £300 = £1,800 more. The plan: 2.5% of £10,000 a month in full, £250 x 12.
    assert figures(only(doc)) == (3_000 * POUND, 1_500 * POUND, 1_350 * POUND, 3_150 * POUND)


def test_cap_pays_units_above_the_annual_ceiling_at_the_rate() -> None:
    plan = tuple(PlanLine(FIRST, month, 10, 1_000 * POUND) for month in range(1, 13))
    actual = [ActualLine(FIRST, month, 20, 2_000 * POUND) for month in range(1, 7)]
    doc = document(contract(PaymentRules(caps=(Cap(FIRST, 50, Fraction(1, 4)),)), plan), actual)
    rule = only(doc)
    # Done: 20 a month at £100, cumulatively 20, 40, 60 ...: 10 above the ceiling of 50 in M03, 20 a month after;
    # 70 units to date at £100 x 75% not paid = £5,250. Forecast 20 a month more, all above: 120 x £75 = £9,000.
    # Plan: 10 a month, cumulatively 60 in M06: 10 above in M06, 10 a month after: 70 x £75 = £5,250.
    assert figures(rule) == (-5_250 * POUND, -750 * POUND, -5_250 * POUND, -14_250 * POUND)
    assert (rule["ytd_actual_activity"], rule["forecast_activity"]) == (70, 190)


def test_fixed_and_variable_pays_the_fixed_sum_and_the_variable_element_at_unit_prices() -> None:
    plan = (*NEL_PLAN, *(PlanLine(ELECTIVE, month, 5, 10_000 * POUND) for month in range(1, 13)))
    actual = [*NEL_ACTUAL, *(ActualLine(ELECTIVE, month, 6, 12_000 * POUND) for month in range(1, 7))]
    rules = PaymentRules(fixed_variable=FixedVariable(120_000 * POUND, (ELECTIVE,)))
    doc = document(contract(rules, plan), actual)
    fixed, outside = doc["payment_rules"]
    assert figures(fixed) == (120_000 * POUND, 60_000 * POUND, 60_000 * POUND, 120_000 * POUND)
    # Non-elective is outside the variable element: shown at tariff, taken off as covered by the fixed payment.
    assert figures(outside) == (-120_000 * POUND, -60_000 * POUND, -72_000 * POUND, -144_000 * POUND)
    assert outside["ytd_actual_activity"] == 72
    # Paid: the fixed £60,000 to date and the elective £72,000 (£12,000 over its plan of £60,000).
    assert doc["ytd_actual_pence"] == 132_000 * POUND
    assert doc["forecast_pence"] == 120_000 * POUND + 144_000 * POUND
    assert doc["annual_plan_pence"] == 120_000 * POUND + 120_000 * POUND


def test_the_variable_element_is_set_against_its_own_plan() -> None:
    plan = (*NEL_PLAN, *(PlanLine(ELECTIVE, month, 5, 10_000 * POUND) for month in range(1, 13)))
    actual = [*NEL_ACTUAL, *(ActualLine(ELECTIVE, month, 6, 12_000 * POUND) for month in range(1, 7))]
    found = contract(PaymentRules(fixed_variable=FixedVariable(120_000 * POUND, (ELECTIVE,))), plan)
    lines = statement_lines(found, actual, AS_AT)
    variable = variable_element_document(list(lines), ("elective",))
    # Elective: £60,000 planned to date, £72,000 done; forecast £72,000 + 1.2 x £60,000 = £144,000 against £120,000.
    assert (variable["ytd_plan_pence"], variable["ytd_actual_pence"]) == (60_000 * POUND, 72_000 * POUND)
    assert variable["ytd_variance_favourable_pence"] == -12_000 * POUND
    assert (variable["forecast_pence"], variable["over_performance_pence"]) == (144_000 * POUND, 24_000 * POUND)


def test_rules_act_in_turn_readmissions_then_marginal_rate_then_cquin() -> None:
    readmitted = [ActualLine(NEL, 2, 1, 1_000 * POUND), ActualLine(NEL, 5, 2, 2_000 * POUND)]
    rules = PaymentRules(
        readmissions=True,
        marginal_rate=MarginalRate(Fraction(3, 10), (10_000 * POUND,) * 12),
        cquin=Cquin(Fraction(25, 1000)),
    )
    doc = document(contract(rules), NEL_ACTUAL, readmitted)
    readmissions, marginal, cquin = doc["payment_rules"]
    assert readmissions["ytd_actual_pence"] == -3_000 * POUND
    # Non-elective paid after readmissions: 12,000 11,000 12,000 12,000 10,000 12,000; above £10,000 at 70% off:
    # 1,400 + 700 + 1,400 + 1,400 + 0 + 1,400 = 6,300.
    assert marginal["ytd_actual_pence"] == -6_300 * POUND
    # CQUIN 2.5% of what is left: 10,600 10,300 10,600 10,600 10,000 10,600 -> 265 + 257.50 + 265 + 265 + 250 + 265.
    assert cquin["ytd_actual_pence"] == 156_750
    assert doc["ytd_actual_pence"] == 72_000 * POUND - 3_000 * POUND - 6_300 * POUND + 156_750


def test_no_rules_no_rule_lines_and_contract_value_is_the_tariff_value() -> None:
    doc = document(contract(PaymentRules()), NEL_ACTUAL)
    assert doc["payment_rules"] == []
    assert doc["forecast_pence"] == doc["tariff_forecast_pence"] == 144_000 * POUND


def test_twelfths_add_up_to_the_annual_sum() -> None:
    assert twelfths(100) == (8, 9, 8, 8, 9, 8, 8, 9, 8, 8, 9, 8)
    assert sum(twelfths(100)) == 100


# --- the statement reconciles to the penny for any rules ---------------------------------------------------

PODS = [NEL, ELECTIVE, FIRST, PointOfDelivery.EXCESS_BED_DAYS]
money = st.integers(0, 5_000_000)
month_values = st.lists(st.tuples(st.integers(0, 200), money), min_size=12, max_size=12)
rates = st.fractions(0, 1, max_denominator=1000)


def fixed_variable(fixed: int, variable: list[PointOfDelivery]) -> FixedVariable:
    return FixedVariable(fixed, tuple(variable))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Contract, list[ActualLine], list[ActualLine], FinancialMonth]:
    pods = draw(st.lists(st.sampled_from(PODS), min_size=1, max_size=4, unique=True))
    month = draw(st.integers(1, 12))
    plan, actual, readmitted = [], [], []
    for pod in pods:
        planned, done = draw(month_values), draw(month_values)
        plan += [PlanLine(pod, m + 1, a, p) for m, (a, p) in enumerate(planned) if draw(st.booleans())]
        for m, (a, p) in enumerate(done[:month]):
            actual.append(ActualLine(pod, m + 1, a, p))
            share = draw(st.fractions(0, 1, max_denominator=10))
            readmitted.append(ActualLine(pod, m + 1, int(a * share), int(p * share)))
    caps = tuple(Cap(pod, draw(st.integers(0, 1000)), draw(rates)) for pod in draw(st.lists(st.sampled_from(pods))))
    rules = PaymentRules(
        readmissions=draw(st.booleans()),
        caps=caps,
        marginal_rate=draw(st.none() | st.builds(MarginalRate, rates, st.tuples(*[money] * 12))),
        fixed_variable=draw(st.none() | st.builds(fixed_variable, money, st.lists(st.sampled_from(PODS), unique=True))),
        cquin=draw(st.none() | st.builds(Cquin, rates, st.just(((3, Fraction(1, 2)),)))),
    )
    blocks = tuple(BlockElement(f"b{n}", draw(money)) for n in range(draw(st.integers(0, 2))))
    return Contract("RTH", "10Q", YEAR, tuple(plan), (), blocks, rules), actual, readmitted, FinancialMonth(YEAR, month)


def totals(lines: tuple[RuleLine, ...] | list[dict], key: str) -> int:
    return sum(line[key] if isinstance(line, dict) else getattr(line, key) for line in lines)


@settings(max_examples=150, deadline=None)
@given(cases())
def test_tariff_value_plus_adjustments_is_the_contract_value(case: tuple) -> None:
    found, actual, readmitted, as_at = case
    lines = statement_lines(found, actual, as_at)
    rules = rule_lines(found, actual, readmitted, as_at)
    doc = document_at(found, actual, readmitted, as_at)
    for key in ("annual_plan_pence", "ytd_plan_pence", "ytd_actual_pence", "forecast_pence"):
        assert doc[f"tariff_{key}"] == totals(lines, key)
        assert doc[key] == totals(lines, key) + totals(rules, key)


@settings(max_examples=150, deadline=None)
@given(cases(), money)
def test_a_fixed_payment_covering_every_point_of_delivery_leaves_the_fixed_sum_and_blocks(
    case: tuple, fixed: int
) -> None:
    """Nothing in the variable element: whatever the activity, its plan and the other rules, the contract pays
    the fixed sum and the blocks, in twelfths (the rules' projection of the year equals the statement's)."""
    found, actual, readmitted, as_at = case
    rules = PaymentRules(
        found.rules.readmissions, found.rules.caps, found.rules.marginal_rate, FixedVariable(fixed, ())
    )
    found = Contract(found.provider, found.commissioner, YEAR, found.plan, (), found.blocks, rules)
    doc = document_at(found, actual, readmitted, as_at)
    annual = fixed + sum(block.annual_pence for block in found.blocks)
    to_date = sum(twelfths(fixed)[: as_at.number]) + sum(
        sum(twelfths(b.annual_pence)[: as_at.number]) for b in found.blocks
    )
    assert (doc["annual_plan_pence"], doc["forecast_pence"]) == (annual, annual)
    assert (doc["ytd_plan_pence"], doc["ytd_actual_pence"]) == (to_date, to_date)


def document_at(found: Contract, actual: list[ActualLine], readmitted: list[ActualLine], as_at: FinancialMonth) -> dict:
    lines = statement_lines(found, actual, as_at)
    rules = rule_lines(found, actual, readmitted, as_at)
    return statement_document(
        "RTH",
        "10Q",
        YEAR.label,
        as_at.calendar_label,
        list(lines),
        [],
        {"first_attendances": 0, "consultant_referrals": 0},
        [],
        YEAR.label,
        30,
        list(rules),
    )


# --- end to end: the rules file, the store, the engine's readmissions, the statement ------------------------
#
# AA22C non-elective in 2018/19 is £9,859, times Oxford University Hospitals' (RTH) market forces factor 1.100325:
# 1,084,810p a spell (tests/test_contracts.py works the same figure).

NEL_SPELL = int((Decimal(9_859_00) * Decimal("1.100325")).quantize(Decimal(1), rounding=ROUND_HALF_UP))
SPELL_HEADER = [
    "spell_id",
    "provider",
    "commissioner",
    "practice",
    "patient_id",
    "admission_method",
    "hrg",
    "admission_date",
    "discharge_date",
    "length_of_stay",
    "treatment_function",
    "age",
]
RULES_HEADER = ["provider", "commissioner", "year", "rule", "point_of_delivery", "month", "value", "activity", "rate"]


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def spell(spell_id: str, patient: str, method: str, admitted: date, hrg: str = "AA22C", days: int = 5) -> list[object]:
    return [
        spell_id,
        "RTH",
        "10Q",
        "K84001",
        patient,
        method,
        hrg,
        admitted,
        admitted + timedelta(days=days),
        days,
        "300",
        70,
    ]


def spells() -> list[list[object]]:
    found = [
        spell(f"S{month}{n}", f"p{month}{n}", "non_elective", date(2018, month + 3, 3))
        for month in range(1, 7)
        for n in range(2)
    ]
    return [
        *found,
        spell("A1", "pa", "non_elective", date(2018, 5, 5)),  # discharged 10 May
        spell("A2", "pa", "non_elective", date(2018, 6, 9)),  # admitted 30 days after: a readmission
        spell("B1", "pb", "non_elective", date(2018, 5, 5)),  # discharged 10 May
        spell("B2", "pb", "non_elective", date(2018, 6, 10)),  # 31 days after: not a readmission
        spell("C1", "pc", "elective", date(2018, 7, 1), "ZZ99Z"),  # an elective index spell, discharged 6 July
        spell("C2", "pc", "non_elective", date(2018, 7, 6)),  # the same day: a readmission
        spell("D1", "pd", "non_elective", date(2018, 8, 1)),
        spell("D2", "pd", "elective", date(2018, 8, 20), "ZZ99Z"),  # an elective return is never a readmission
    ]


RULES = [
    ["RTH", "10Q", "2018/19", "readmissions", "", "", "", "", ""],
    ["RTH", "10Q", "2018/19", "cquin", "", "", "", "", "2.5%"],
    ["RTH", "10Q", "2018/19", "cquin_achievement", "", "M06", "", "", "50"],
]


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def workspace(tmp_path: Path, reference_dir: Path) -> Path:
    ws = tmp_path / "ws"
    organisations = write_csv(
        tmp_path / "orgs.csv",
        ["code", "name", "kind", "parent_code"],
        [
            ["Y59", "South East", "region", ""],
            ["10Q", "Oxfordshire", "ccg", "Y59"],
            ["RTH", "Oxford University Hospitals", "provider", ""],
        ],
    )
    plan = write_csv(
        tmp_path / "plan.csv",
        ["provider", "commissioner", "year", "point_of_delivery", "month", "activity", "value"],
        [["RTH", "10Q", "2018/19", "non_elective", f"M{m:02d}", 2, "£20,000"] for m in range(1, 13)],
    )
    rules = write_csv(tmp_path / "rules.csv", RULES_HEADER, RULES)
    apc = write_csv(tmp_path / "apc.csv", SPELL_HEADER, spells())
    for command in (
        ["init", str(ws), "--as-at", "2018-09", "--reference-dir", str(reference_dir)],
        ["-w", str(ws), "orgs", "import", str(organisations)],
        ["-w", str(ws), "contracts", "import", str(plan), "--rules", str(rules)],
        ["-w", str(ws), "contracts", "activity", str(apc), "--kind", "apc"],
    ):
        result = run(*command)
        assert result.exit_code == 0, result.output
    return ws


def statement(workspace: Path) -> dict[str, Any]:
    result = run("-w", str(workspace), "contracts", "statement", "--provider", "RTH", "--format", "json")
    assert result.exit_code == 0, result.output
    (found,) = json.loads(result.stdout)
    return found  # type: ignore[no-any-return]


def test_statement_applies_the_imported_rules_with_readmissions_found_in_the_activity(workspace: Path) -> None:
    doc = statement(workspace)
    readmissions, cquin = doc["payment_rules"]
    # 12 + A1 A2 B1 B2 C2 D1 = 18 non-elective spells to date (C1 and D2 are elective with an HRG not in the
    # tariff: unpriced, but C1 is still an index spell); 2 of them are readmissions (A2 in June, C2 in July).
    (nel,) = doc["lines"]
    assert (nel["ytd_actual_activity"], nel["ytd_actual_pence"]) == (18, 18 * NEL_SPELL)
    assert (readmissions["ytd_actual_activity"], readmissions["ytd_actual_pence"]) == (2, -2 * NEL_SPELL)
    # CQUIN: 2.5% of each month's paid spells (by discharge: Apr 2, May 4, Jun 4 - 1, Jul 3 - 1, Aug 3, Sep 2),
    # September at 50% achievement, each month rounded to the penny.
    paid = [(2, 1), (4, 1), (3, 1), (2, 1), (3, 1), (2, Decimal("0.5"))]
    expected = sum(
        (Decimal(n * NEL_SPELL) * Decimal("0.025") * achieved).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        for n, achieved in paid
    )
    assert expected == 54_241 + 108_481 + 81_361 + 54_241 + 81_361 + 27_120
    assert cquin["ytd_actual_pence"] == expected
    assert doc["tariff_ytd_actual_pence"] == 18 * NEL_SPELL
    assert doc["ytd_actual_pence"] == 18 * NEL_SPELL - 2 * NEL_SPELL + expected
    # The plan: CQUIN in full on £20,000 a month, £500 a month.
    assert (cquin["annual_plan_pence"], doc["annual_plan_pence"]) == (6_000_00, 240_000_00 + 6_000_00)


def test_the_statement_table_shows_each_rule_and_the_contract_value(workspace: Path) -> None:
    result = run("-w", str(workspace), "contracts", "statement", "--provider", "RTH")
    assert result.exit_code == 0, result.output
    for label in (
        "Tariff value",
        "emergency readmissions within 30 days (not paid)",
        "CQUIN: 2.5% of contract value",
        "Contract value",
    ):
        assert label in result.stdout


def test_rules_read_from_a_workbook(workspace: Path, tmp_path: Path) -> None:
    """The same reader takes XLSX: a cap on non-elective spells above 10 a year, not paid, and a marginal rate with
    an annual baseline of £1.2m (£100,000 a month)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(RULES_HEADER)
    sheet.append(["RTH", "10Q", "2018/19", "cap", "non_elective", None, None, 10, 0])
    sheet.append(["RTH", "10Q", "2018/19", "marginal_rate", None, None, 1_200_000, None, "30%"])
    book.save(tmp_path / "rules.xlsx")
    result = run(
        "-w",
        str(workspace),
        "contracts",
        "import",
        str(tmp_path / "plan.csv"),
        "--rules",
        str(tmp_path / "rules.xlsx"),
        "--replace",
    )
    assert result.exit_code == 0, result.output
    cap, marginal = statement(workspace)["payment_rules"]
    # 18 spells to date, all at 1,084,810p: the 8 above the ceiling of 10 are not paid. No month's paid
    # non-elective value reaches the £100,000 baseline, so the marginal rate takes nothing.
    assert (cap["ytd_actual_activity"], cap["ytd_actual_pence"]) == (8, -8 * NEL_SPELL)
    assert marginal["ytd_actual_pence"] == 0


def test_a_bad_rules_file_stores_nothing_and_names_each_fault(workspace: Path, tmp_path: Path) -> None:
    before = statement(workspace)
    plan = tmp_path / "plan.csv"
    bad = write_csv(
        tmp_path / "bad-rules.csv",
        RULES_HEADER,
        [
            ["RTH", "10Q", "2018/19", "marginal_rate", "", "", "£1,000", "", "130"],
            ["RTH", "10Q", "2018/19", "cap", "wards", "", "", "", "0"],
            ["RTH", "10Q", "2018/19", "discount", "", "", "", "", ""],
            ["RTH", "10Q", "2018/19", "variable", "elective", "", "", "", ""],
            ["RTH", "10Q", "2018/19", "readmissions", "", "", "", "", ""],
            ["RTH", "10Q", "2018/19", "readmissions", "", "", "", "", "50"],
        ],
    )
    result = run(
        "-w", str(workspace), "contracts", "import", str(plan), "--rules", str(bad), "--replace", "--format", "json"
    )
    assert result.exit_code == 2, result.output
    problems = {(p["row"], p["column"]): p["reason"] for p in json.loads(result.stdout)["problems"]}
    assert {p["source"] for p in json.loads(result.stdout)["problems"]} == {"bad-rules.csv"}
    assert "from 0 to 100" in problems[(2, "rate")]
    assert "unknown point of delivery 'wards'" in problems[(3, "point_of_delivery")]
    assert "a value is required" in problems[(3, "activity")]
    assert "unknown rule 'discount'" in problems[(4, "rule")]
    assert "needs a fixed row" in problems[(5, "rule")]
    assert "takes no rate" in problems[(7, "rate")]
    assert statement(workspace) == before


def test_new_rules_replace_the_stored_ones_only_when_asked(workspace: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    fixed = write_csv(
        tmp_path / "fixed.csv",
        RULES_HEADER,
        [
            ["RTH", "10Q", "2018/19", "fixed", "", "", "£120,000", "", ""],
            ["RTH", "10Q", "2018/19", "marginal_rate", "", "", "£240,000", "", "30"],
        ],
    )
    refused = run("-w", str(workspace), "contracts", "import", str(plan), "--rules", str(fixed), "--format", "json")
    assert refused.exit_code == 2, refused.output
    assert '"rules_before": 3' in refused.stdout and '"rules_after": 13' in refused.stdout  # 12 monthly baselines
    assert [rule["rule"] for rule in statement(workspace)["payment_rules"]] == ["readmissions", "cquin"]
    replaced = run("-w", str(workspace), "contracts", "import", str(plan), "--rules", str(fixed), "--replace")
    assert replaced.exit_code == 0, replaced.output
    doc = statement(workspace)
    assert [rule["rule"] for rule in doc["payment_rules"]] == ["marginal_rate", "fixed_payment", "outside_variable"]
    # Nothing in the variable element: the contract pays the fixed £120,000 in twelfths, £60,000 to date.
    assert (doc["ytd_actual_pence"], doc["forecast_pence"]) == (60_000_00, 120_000_00)


# --- the engine: readmissions on DuckDB and Spark, against a plain-Python search ----------------------------


def plain_readmissions(rows: list[list[object]]) -> set[str]:
    """Non-elective spells admitted 0-30 days after the same patient's discharge from another spell at the same
    provider (columns as SPELL_HEADER)."""
    spells = [dict(zip(SPELL_HEADER, row, strict=True)) for row in rows]
    return {
        again["spell_id"]
        for again in spells
        if again["admission_method"] == "non_elective" and again["patient_id"]
        for index in spells
        if index is not again
        and (index["provider"], index["patient_id"]) == (again["provider"], again["patient_id"])
        and 0 <= (again["admission_date"] - index["discharge_date"]).days <= 30  # type: ignore[operator]
    }


PRICED_COLUMNS = {
    "point_of_delivery": "string",
    "price_pence": "int64",
    "excess_bed_days": "int64",
    "excess_price_pence": "int64",
    "unpriced_reason": "string",
}


def priced(row: list[object]) -> list[object]:
    """A spell as the pricing engine leaves it: AA22C at NEL_SPELL (its elective price too, for this test), with
    £240 x MFF = 26,408p an excess bed day beyond 5 days; any other HRG unpriced."""
    known = row[6] == "AA22C"
    excess = max(int(str(row[9])) - 5, 0) if known else 0
    return [
        *row,
        row[5],
        NEL_SPELL if known else None,
        excess,
        excess * 26_408 if known else None,
        None if known else "unknown HRG",
    ]


def test_readmissions_agree_on_duckdb_and_spark_and_with_a_plain_search() -> None:
    """The engine's part of the readmissions rule, from spells to readmitted £ by contract and month, on both
    backends; and the rule's lines from each backend's rows, to the penny."""
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (java not on PATH)")
    rows = [
        *spells(),
        spell("E1", "pe", "non_elective", date(2018, 9, 1)),
        spell("E3", "pe", "non_elective", date(2018, 9, 20), days=8),
    ]  # 3 excess bed days, readmitted
    rows.append(
        [
            "E2",
            "RTP",
            "10Q",
            "K84001",
            "pe",
            "non_elective",
            "AA22C",
            date(2018, 9, 10),
            date(2018, 9, 12),
            2,
            "300",
            70,
        ]
    )  # another provider: not a readmission at RTH's, nor at its own
    rows.append(
        [
            "N1",
            "RTH",
            "10Q",
            "K84001",
            None,
            "non_elective",
            "AA22C",
            date(2018, 9, 10),
            date(2018, 9, 12),
            2,
            "300",
            70,
        ]
    )  # no patient id: never a readmission
    schema = {**APC_SCHEMA, **PRICED_COLUMNS}
    table = pa.table(
        {name: [priced(row)[i] for row in rows] for i, name in enumerate(schema)},
        schema=ibis.schema(schema).to_pyarrow(),
    )
    local = pa.table(
        {"provider": [], "commissioner": [], "point_of_delivery": [], "code": [], "price_pence": []},
        schema=ibis.schema(LOCAL_PRICE_SCHEMA).to_pyarrow(),
    )

    def found(backend: Backend) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        apc = backend.table(table)
        units = apply_local_prices(spell_units(readmissions_only(apc)), backend.table(local))
        return (
            backend.to_rows(readmitted_spells(apc).order_by("spell_id")),
            backend.to_rows(contract_actuals(units, year=2018)),
        )

    duck, spark = Backend("duckdb"), Backend("pyspark")
    try:
        on_duckdb, on_spark = found(duck), found(spark)
    finally:
        duck.close()
    assert on_duckdb == on_spark
    assert {row["spell_id"] for row in on_duckdb[0]} == plain_readmissions(rows) == {"A2", "C2", "E3"}
    by_month = {(row["point_of_delivery"], row["month"]): (row["activity"], row["pence"]) for row in on_duckdb[1]}
    assert by_month == {
        ("non_elective", 3): (1, NEL_SPELL),
        ("non_elective", 4): (1, NEL_SPELL),
        ("non_elective", 6): (1, NEL_SPELL),
        ("excess_bed_days", 6): (3, 3 * 26_408),
    }
    readmitted = [
        ActualLine(PointOfDelivery(r["point_of_delivery"]), r["month"], r["activity"], r["pence"]) for r in on_duckdb[1]
    ]
    actual = [ActualLine(NEL, month, 4, 4 * NEL_SPELL) for month in range(1, 7)]
    actual.append(ActualLine(PointOfDelivery.EXCESS_BED_DAYS, 6, 3, 3 * 26_408))
    (line,) = rule_lines(contract(PaymentRules(readmissions=True)), actual, readmitted, AS_AT)
    assert line.ytd_actual_pence == -(3 * NEL_SPELL + 3 * 26_408)
    assert line.ytd_actual_activity == 3  # spells; the excess bed days go with their spell


def test_the_demos_rules_file_reads_back_as_the_rules_it_describes(tmp_path: Path) -> None:
    """Two commissioners (home providers RAA and RBB), a small provider RCC: readmissions and CQUIN on the two
    home contracts, the marginal rate on the larger (RAA x 01A, baseline last year's non-elective by month), fixed
    and variable on RCC's contract: fixed = last year's non-elective £1,000 x 12 plus 2% growth = £12,240."""
    from outturn.demo.contract_rules import write_contract_rules
    from outturn.domain.organisations import Organisation, OrgKind
    from outturn.ingest.contracts import read_contracts

    def rows(provider: str, commissioner: str, pounds: int) -> list[dict[str, object]]:
        return [
            {
                "provider": provider,
                "commissioner": commissioner,
                "point_of_delivery": pod,
                "month": m,
                "activity": 1,
                "pence": pounds * POUND,
            }
            for m in range(1, 13)
            for pod in ("non_elective", "elective")
        ]

    last_year = [
        *rows("RAA", "01A", 5_000),
        *rows("RBB", "02B", 3_000),
        *rows("RAA", "02B", 100),
        *rows("RCC", "01A", 1_000),
    ]
    path = write_contract_rules(tmp_path / "rules.csv", last_year, "2018/19", "0.02")
    plan = write_csv(
        tmp_path / "plan.csv",
        ["provider", "commissioner", "year", "point_of_delivery", "month", "activity", "value"],
        [
            [p, c, "2018/19", "elective", "M01", 1, "£1"]
            for p, c in (("RAA", "01A"), ("RBB", "02B"), ("RAA", "02B"), ("RCC", "01A"))
        ],
    )
    known = {
        code: Organisation(code, code, OrgKind.PROVIDER if code.startswith("R") else OrgKind.SUB_ICB, None)
        for code in ("RAA", "RBB", "RCC", "01A", "02B")
    }
    contracts, problems = read_contracts(plan, known=known, rules_path=path)
    assert problems == []
    rules = {(c.provider, c.commissioner): c.rules for c in contracts}
    assert rules[("RAA", "01A")].readmissions and rules[("RBB", "02B")].readmissions
    assert rules[("RAA", "01A")].cquin == Cquin(Fraction(125, 10_000), ((3, Fraction(60, 100)),))
    assert rules[("RAA", "01A")].marginal_rate == MarginalRate(Fraction(3, 10), (5_000 * POUND,) * 12)
    assert rules[("RBB", "02B")].marginal_rate is None and rules[("RAA", "02B")] == PaymentRules()
    fixed = rules[("RCC", "01A")].fixed_variable
    assert fixed is not None and fixed.fixed_annual_pence == 12_240 * POUND
    assert ELECTIVE in fixed.variable and NEL not in fixed.variable


def test_rules_round_trip_through_the_store(store: Store) -> None:
    """Every kind of rule, with rates that are not whole percentages, stored and read back unchanged; a contract
    imported again without rules loses them."""
    from outturn.store import contracts_repository

    rules = PaymentRules(
        readmissions=True,
        caps=(Cap(FIRST, 1_200, Fraction(1, 3)), Cap(ELECTIVE, 0, Fraction(0))),
        marginal_rate=MarginalRate(Fraction(3, 10), tuple(range(1_000, 13_000, 1_000))),
        fixed_variable=FixedVariable(1_234_567_89, (ELECTIVE, FIRST)),
        cquin=Cquin(Fraction(125, 10_000), ((3, Fraction(60, 100)), (11, Fraction(0)))),
    )
    with store.transaction() as session:
        contracts_repository.replace_contracts(session, [contract(rules)])
    with store.reading() as session:
        (found,) = contracts_repository.load_contracts(session, YEAR)
    assert found.rules == rules
    with store.transaction() as session:
        contracts_repository.replace_contracts(session, [contract(PaymentRules())])
    with store.reading() as session:
        (found,) = contracts_repository.load_contracts(session, YEAR)
    assert found.rules == PaymentRules()
