"""The main job: a demo workspace from one real ICB and a SYNTHETIC ledger calibrated to its weighted population."""

from __future__ import annotations

import csv
import json
import re
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from outturn.cli import app
from outturn.demo.acute_ledger import ContractSpend, acute_lines, contract_map, short_trust_name
from outturn.demo.ledger import SyntheticEconomy, synthetic_economy
from outturn.domain.ledger import LedgerLine
from outturn.domain.periods import FinancialYear
from outturn.domain.populations import PopulationTotals
from outturn.services.contracts import ContractStatement
from outturn.services.demo import DemoResult

ALLOCATION_FILE = Path("allocations") / "aif_tool_gp_practice_wp_2022_2023.csv"
# The demo's stated calibration (£ per weighted head, by the allocation component that drives each category).
# Continuing healthcare (100), other programme (65), running costs (22) and reserves (15) follow the final WP.
RATES = [("G&A WP", 930), ("MH WP", 215), ("CS WP", 175), ("Prescr WP", 160), ("Primary Medical Care WP", 175),
         ("Final WP", 100), ("Final WP", 65), ("Final WP", 22), ("Final WP", 15)]
LEDGER_LINES = 28  # lines per sub-ICB location (12 acute); each split of a category budget rounds to the penny


@pytest.fixture(scope="module")
def demo(small_demo: DemoResult, reference_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """``outturn demo --format json`` at ICB scale (the contracts' calibration needs it), built in place over a copy
    of the session's small demo (tests/conftest.py's ``small_demo``) without its board pack (test_pack's part)."""
    out = tmp_path_factory.mktemp("demo") / "ws"
    shutil.copytree(small_demo.workspace, out)
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--no-pack", "--format", "json"],
                                env={"OUTTURN_REFERENCE_DIR": str(reference_dir)})
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(result.stdout)
    return document


def test_demo_reports_the_real_icb_built_from_its_sub_icb_locations(demo: dict[str, object]) -> None:
    position = demo["position"]
    assert isinstance(position, dict)
    assert demo["synthetic"] is True
    assert position["org_code"] == "QU9"
    assert position["members"] == ["10Q", "14Y", "15A"]  # Oxfordshire, Buckinghamshire, Berkshire West
    assert (position["financial_year"], position["month"]) == ("2025/26", "M08")


def test_demo_allocation_is_calibrated_to_the_weighted_population(
    demo: dict[str, object], reference_dir: Path
) -> None:
    """Recompute the allocation from the raw CSV: per sub-ICB, per category, £ per head × weighted population."""
    totals: dict[str, dict[str, Decimal]] = {}
    with (reference_dir / ALLOCATION_FILE).open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["ICS22"] == "QU9":
                by_column = totals.setdefault(row["LOC22"], {})
                for column in {column for column, _rate in RATES}:
                    by_column[column] = by_column.get(column, Decimal(0)) + Decimal(row[column] or "0")
    position = demo["position"]
    assert isinstance(position, dict)
    expected_pence = sum(
        (Decimal(rate * 100) * sub_icb[column]).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        for sub_icb in totals.values()
        for column, rate in RATES
    )
    # Each category's budget is split into ledger lines rounded to the penny: allow a penny a line.
    assert len(totals) == 3
    assert abs(position["allocation_pence"] - int(expected_pence)) <= 3 * LEDGER_LINES
    assert position["annual_budget_pence"] == position["allocation_pence"]  # break-even plans


def test_demo_is_in_deficit_with_a_bridge_that_reconciles(demo: dict[str, object]) -> None:
    position = demo["position"]
    assert isinstance(position, dict)
    assert position["forecast_surplus_pence"] < 0
    gap = position["control_total_pence"] - position["forecast_surplus_pence"]
    assert position["gap_to_control_total_pence"] == gap
    steps = position["bridge"]
    assert sum(step["pence"] for step in steps if step["kind"] in ("start", "step")) == steps[-1]["running_pence"]
    assert steps[-1]["running_pence"] == position["risk"]["likely_surplus_pence"]


def test_demo_can_be_rebuilt_in_place_and_keeps_its_budgets(demo: dict[str, object], small_demo: DemoResult) -> None:
    """The module's demo was rebuilt in place over a copy of the session's, whose hospital activity is at 3% of
    ICB scale: the budgets do not depend on the activity (the acute category is its £ per weighted head, the
    contracts carved out of it), so the allocation and budget are the same; the acute actuals follow each build's
    priced activity."""
    first = small_demo.position
    second = demo["position"]
    assert isinstance(second, dict)
    assert second["allocation_pence"] == first.allocation_pence
    assert second["annual_budget_pence"] == first.annual_budget_pence


def test_demo_has_a_forecast_history_from_m01_to_m08(demo: dict[str, object]) -> None:
    """M01-M06 are recorded from the ledger as imported at M07, M07 and M08 by their closes; the M08 record is the
    position the demo reports (the same ledger, the same method)."""
    result = CliRunner().invoke(
        app, ["position", "history", "--workspace", str(demo["workspace"]), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    months = json.loads(result.stdout)["months"]
    assert [month["month"] for month in months] == [f"M{number:02d}" for number in range(1, 9)]
    position = demo["position"]
    assert isinstance(position, dict)
    assert months[-1]["forecast_outturn_pence"] == position["forecast_outturn_pence"]
    assert months[-1]["forecast_surplus_pence"] == position["forecast_surplus_pence"]


def test_demo_labels_its_synthetic_inputs(demo: dict[str, object]) -> None:
    workspace = Path(str(demo["workspace"]))
    assert "SYNTHETIC" in (workspace / "inputs" / "plan.csv").read_text()
    assert "SYNTHETIC" in (workspace / "inputs" / "ledger.csv").read_text()


def test_demo_includes_a_synthetic_savings_plan_that_reconciles(demo: dict[str, object]) -> None:
    savings = demo["savings"]
    assert isinstance(savings, dict)
    assert savings["code"] == "QU9"
    assert savings["schemes"] == 3 * 9
    assert savings["plan_pence"] == savings["forecast_pence"] + savings["shortfall_pence"]
    assert 0 < savings["risk_adjusted_pence"] <= savings["forecast_pence"]
    # Targets are 2.5% of each sub-ICB's allocation; 85% identified: 15% unidentified, to a penny a scheme.
    position = demo["position"]
    assert isinstance(position, dict)
    target = savings["target_pence"]
    assert abs(target - position["allocation_pence"] * 25 // 1000) <= 3
    assert abs(savings["unidentified_pence"] - target * 15 // 100) <= 3 * 9


def test_demo_monitors_the_main_acute_contract_from_synthetic_activity(demo: dict[str, object]) -> None:
    """Plans are last year's priced outturn plus 2%; this year's SYNTHETIC activity is 4.5% higher."""
    statements = demo["contracts"]
    assert isinstance(statements, list)
    assert [(s["provider"], s["commissioner"]) for s in statements] == [("RTH", "10Q"), ("RTH", "14Y"), ("RTH", "15A")]
    # RTH is Oxfordshire's (10Q) home hospital: its contract over-performs by about 2.5%. Berkshire West's and
    # Buckinghamshire's patients mostly go elsewhere, so their small RTH contracts are noisy; together they all
    # over-perform.
    # Activity at tariff (before the SYNTHETIC payment rules, demo/contract_rules.py). A contract that does not pay
    # for emergency readmissions is planned on last year's activity less its readmissions (what it paid for), so
    # its over-performance is measured on this year's activity less the readmissions (the rule's adjustment).
    main = statements[0]
    assert main["tariff_ytd_actual_pence"] > main["tariff_ytd_plan_pence"] * 1.01
    assert sum(s["tariff_ytd_actual_pence"] for s in statements) > sum(s["tariff_ytd_plan_pence"] for s in statements)
    rules_of = [{rule["rule"]: rule["ytd_actual_pence"] for rule in s["payment_rules"]} for s in statements]
    assert set(rules_of[0]) == {"readmissions", "marginal_rate", "cquin"}  # the largest home contract
    assert rules_of[0]["readmissions"] < 0 and rules_of[0]["marginal_rate"] < 0 < rules_of[0]["cquin"]
    for statement, rules_found in zip(statements, rules_of, strict=True):
        paid = statement["tariff_ytd_actual_pence"] + rules_found.get("readmissions", 0)
        assert abs(paid / statement["tariff_ytd_plan_pence"] - 1.025) < 0.03
        assert statement["over_performance_pence"] == statement["forecast_pence"] - statement["annual_plan_pence"]
        assert sum(line["ytd_actual_pence"] for line in statement["lines"]) == statement["tariff_ytd_actual_pence"]
        rules = sum(rule["ytd_actual_pence"] for rule in statement["payment_rules"])
        assert statement["ytd_actual_pence"] == statement["tariff_ytd_actual_pence"] + rules
        assert 0.1 < statement["consultant_referral_share"] < 0.3


def _pence(text: str) -> int:
    return int((Decimal(text.replace("£", "").replace(",", "")) * 100).to_integral_value())


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def statements(demo: dict[str, object]) -> dict[tuple[str, str], ContractStatement]:
    """Every contract's statement on the full demo at M08, by (provider, commissioner)."""
    from outturn.domain.periods import FinancialMonth
    from outturn.services.contracts import contract_statements
    from outturn.services.workspace import open_workspace

    with open_workspace(Path(str(demo["workspace"]))) as workspace:
        found = contract_statements(workspace, None, FinancialMonth.parse_as_at("2025-11"))
    return {(s.contract.provider, s.contract.commissioner): s for s in found}


def _contract_ledger(demo: dict[str, object], column: str) -> dict[tuple[str, str], int]:
    """This year's ``column`` (budget or actual, M01-M07 in ledger.csv, M08 in ledger-M08.csv) of each contract's
    mapped line, by (provider, commissioner)."""
    inputs = Path(str(demo["workspace"])) / "inputs"
    lines = {(row["commissioner"], row["line"]): row["provider"] for row in _csv(inputs / "contract-map.csv")
             if row["element"] == "contract"}
    found: dict[tuple[str, str], int] = {}
    for name in ("ledger.csv", "ledger-M08.csv"):
        for row in _csv(inputs / name):
            provider = lines.get((row["org_code"], row["subcategory"]))
            if row["year"] == "2025/26" and provider is not None and row[column]:
                if column == "budget" and name != "ledger.csv":
                    continue  # ledger.csv holds the whole year's budget
                key = (provider, row["org_code"])
                found[key] = found.get(key, 0) + _pence(row[column])
    return found


def test_demo_ledger_carries_each_contract_value_on_its_mapped_line(
    demo: dict[str, object], statements: dict[tuple[str, str], ContractStatement]
) -> None:
    """Every contract in the contract file has one map row for its ledger line (named with the provider code as a
    whole word), and that line's budget for the year is the contract's plan after its payment rules (the
    statement's ``annual_plan_pence``) to the penny: the tariff plan of contracts.csv plus each rule's adjustment
    on the plan (CQUIN at full achievement, the fixed payment for the activity outside the variable element);
    each main provider's drugs and devices line is mapped too, and every mapped line is in the ledger."""
    inputs = Path(str(demo["workspace"])) / "inputs"
    plans: dict[tuple[str, str], int] = {}
    for row in _csv(inputs / "contracts.csv"):
        key = (row["provider"], row["commissioner"])
        plans[key] = plans.get(key, 0) + _pence(row["value"])
    budgets = _contract_ledger(demo, "budget")
    mapping = _csv(inputs / "contract-map.csv")
    assert list(mapping[0]) == ["provider", "commissioner", "category", "line", "element"]
    contract_rows = {(row["provider"], row["commissioner"]): row for row in mapping if row["element"] == "contract"}
    assert len(plans) == 18 and set(contract_rows) == set(plans) == set(budgets)  # 6 providers × 3 sub-ICB locations
    with_rules = {(row["provider"], row["commissioner"]) for row in _csv(inputs / "contract-rules.csv")}
    assert len(with_rules) == 4  # three home contracts (one with the marginal rate) and one fixed and variable
    for key, plan in plans.items():
        assert re.search(rf"\b{key[0]}\b", contract_rows[key]["line"]), contract_rows[key]
        statement = statements[key]
        assert budgets[key] == statement.annual_plan_pence, key
        rules = sum(rule.annual_plan_pence for rule in statement.rule_lines)
        assert statement.annual_plan_pence == plan + rules
        if key not in with_rules:
            assert budgets[key] == plan, key  # at tariff: the contract file's plan
        else:
            assert rules != 0, key
    # CQUIN at 1.25% of the planned value on the three home contracts (no readmissions are planned), rounded month
    # by month (at most 6p from the annual figure): Buckinghamshire's RXQ, plan / 80; Oxfordshire's RTH, the
    # largest, (plan + the marginal rate's adjustment, non-elective plan above last year's paid at 30%) / 80.
    for key in (("RXQ", "14Y"), ("RTH", "10Q")):
        found = {rule.rule: rule.annual_plan_pence for rule in statements[key].rule_lines}
        assert abs(found["cquin"] - (plans[key] + found.get("marginal_rate", 0)) / 80) <= 6, key
    assert found["marginal_rate"] < 0
    drugs = [row for row in mapping if row["element"] == "drugs and devices outside tariff"]
    assert {row["provider"] for row in drugs} == {"RTH", "RXQ", "RHW"}  # the three sub-ICB locations' home trusts
    ledger = {(row["org_code"], row["subcategory"]) for row in _csv(inputs / "ledger.csv")}
    assert all((row["commissioner"], row["line"]) in ledger and row["category"] == "acute" for row in mapping)


def test_demo_ledger_accrues_the_contract_value_to_date(
    demo: dict[str, object], statements: dict[tuple[str, str], ContractStatement]
) -> None:
    """Each contract line's actual to M08 is within 1% of the contract's value to date as its statement states it
    (priced activity after the payment rules: readmissions not paid, the marginal rate, CQUIN at the month's
    achievement), the accrual with its monthly difference of 0.4% (one standard deviation: eight months within
    1% is more than five standard deviations of the total). Where rules apply, the value after them is well away
    from the tariff value, so the ledger follows the rules, not the tariff."""
    ledger = _contract_ledger(demo, "actual")
    assert set(ledger) == set(statements) and len(ledger) == 18
    for key, actual in ledger.items():
        statement = statements[key]
        after = statement.ytd_actual_pence
        assert abs(actual - after) <= after * 0.01, (key, actual / after)
        tariff = sum(line.ytd_actual_pence for line in statement.lines)
        if any(rule.rule == "readmissions" for rule in statement.rule_lines):
            assert abs(after / tariff - 1) > 0.01, key  # readmissions alone are several per cent of the value


def test_demo_reconciliation_differences_are_all_explained(demo: dict[str, object]) -> None:
    """``outturn contracts reconcile`` on the demo: every contract's plan matches its ledger budget to the penny,
    nothing is flagged (year to date and forecast differences are the accrual's noise), the payment rules are
    rows of their own, and the drugs and devices outside tariff are non-contract rows."""
    result = CliRunner().invoke(app, ["-w", str(demo["workspace"]), "contracts", "reconcile", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    contracts = document["contracts"]
    assert len(contracts) == 18 and document["total"]["flagged"] == 0
    for item in contracts:
        assert item["mapped"] and not item["difference"]["flagged"], item
        assert item["difference"]["annual_pence"] == 0, item
        assert abs(item["difference"]["ytd_pence"]) <= item["contract"]["ytd_pence"] * 0.01, item
    labels = {element["label"] for item in contracts for element in item["elements"]}
    assert any(label.startswith("emergency readmissions") for label in labels), labels
    assert any(label.startswith("CQUIN") for label in labels) and any(label.startswith("marginal") for label in labels)
    # The three home trusts' drugs and devices outside tariff, a line for each of the three commissioners.
    assert sum(1 for item in contracts if item["non_contract_lines"]) == 9
    assert document["total"]["difference"]["annual_pence"] == 0


def test_demo_has_one_account_per_role_for_the_web_application(demo: dict[str, object]) -> None:
    from outturn.services.demo import DEMO_PASSWORD
    from outturn.services.users import LoginRefused, sign_in
    from outturn.services.workspace import open_workspace

    accounts = demo["accounts"]
    assert isinstance(accounts, list)
    roles = {"finance", "board", "admin", "practice", "budget_holder"}
    assert {account["role"] for account in accounts} == roles
    (holder_account,) = (account for account in accounts if account["role"] == "budget_holder")
    with open_workspace(Path(str(demo["workspace"]))) as workspace:
        signed_in = sign_in(workspace, "finance", DEMO_PASSWORD, "127.0.0.1")
        assert signed_in.user.role.value == "finance"
        with pytest.raises(LoginRefused):
            sign_in(workspace, "board", "not the password", "127.0.0.1")
        holder = sign_in(workspace, holder_account["user"], DEMO_PASSWORD, "127.0.0.1").user
        assert holder.budget_holder == holder_account["budget_holder"] and holder.budget_holder


def test_demo_commentary_is_synthetic_on_the_largest_variances(demo: dict[str, object]) -> None:
    """Three SYNTHETIC notes, on the three lines above the commentary threshold with the largest forecast variances
    (either way; ranked here from the list's own figures), none elsewhere; the budget holder account's holder is
    the largest one's."""
    from outturn.services.commentary import commentary_list
    from outturn.services.workspace import open_workspace

    with open_workspace(Path(str(demo["workspace"]))) as workspace:
        lines = commentary_list(workspace, org_code="QU9")["lines"]
    material = sorted((line for line in lines if line["needs_commentary"]),
                      key=lambda line: -abs(line["forecast_variance_pence"]))
    largest = material[:3]
    assert len(largest) == 3
    commented = [line for line in lines if line["commentary"] is not None]
    key = ("org_code", "cost_centre", "subjective_code")
    assert sorted(tuple(line[k] for k in key) for line in commented) == sorted(
        tuple(line[k] for k in key) for line in largest
    )
    assert all(line["commentary"]["text"].startswith("SYNTHETIC demo commentary.") for line in commented)
    accounts = demo["accounts"]
    assert isinstance(accounts, list)
    assert [a["budget_holder"] for a in accounts if a["role"] == "budget_holder"] == [largest[0]["budget_holder"]]


def test_the_demo_pack_quotes_its_synthetic_commentary(small_demo: DemoResult) -> None:
    assert small_demo.pack is not None
    quoted = [sentence for sentence in small_demo.pack.narrative if "SYNTHETIC demo commentary." in sentence]
    assert len(quoted) == 3 and all("(budget holder) writes:" in sentence for sentence in quoted)


def _small_economy() -> SyntheticEconomy:
    """Two sub-ICB locations of about half a million weighted people each (no reference data needed)."""
    people = Decimal(500_000)
    population = PopulationTotals(10, None, people, people, people, people, people, people, people, people, people)
    return synthetic_economy({"AAA": population, "BBB": population}, FinancialYear(2025), 8, seed=7)


def _totals(lines: list[LedgerLine], value: str) -> dict[tuple[int, int], int]:
    """Sum of ``value`` (budget_pence or actual_pence) by (start year, month)."""
    found: dict[tuple[int, int], int] = {}
    for line in lines:
        amount = getattr(line, value)
        if amount is not None:
            key = (line.year.start_year, line.month)
            found[key] = found.get(key, 0) + amount
    return found


def test_demo_ledger_holds_two_complete_prior_years_and_this_year_to_the_month() -> None:
    ledger = list(_small_economy().ledger)
    lines_by_year: dict[int, set[tuple[str, str, str]]] = {}
    months_with_actual: dict[tuple[int, str, str, str], set[int]] = {}
    for line in ledger:
        key = (line.org_code, line.category.value, line.subcategory)
        lines_by_year.setdefault(line.year.start_year, set()).add(key)
        if line.actual_pence is not None:
            months_with_actual.setdefault((line.year.start_year, *key), set()).add(line.month)
    assert sorted(lines_by_year) == [2023, 2024, 2025]
    assert lines_by_year[2023] == lines_by_year[2024] == lines_by_year[2025]
    # Lines of each category, two orgs; with no contracts acute has its three lines named for no provider.
    assert len(lines_by_year[2025]) == 2 * (3 + 2 + 2 + 3 + 2 + 2 + 2 + 2 + 1)
    for year, months in ((2023, set(range(1, 13))), (2024, set(range(1, 13))), (2025, set(range(1, 9)))):
        for key in lines_by_year[year]:
            assert months_with_actual[(year, *key)] == months, (year, key)


def test_demo_ledger_grows_a_few_per_cent_a_year() -> None:
    budgets = _totals(list(_small_economy().ledger), "budget_pence")
    by_year = {year: sum(v for (y, _m), v in budgets.items() if y == year) for year in (2023, 2024, 2025)}
    for earlier, later in ((2023, 2024), (2024, 2025)):
        growth = Decimal(by_year[later]) / by_year[earlier] - 1
        assert Decimal("0.03") <= growth <= Decimal("0.06"), (earlier, growth)


@pytest.mark.parametrize("category", ["acute", "continuing_healthcare", "prescribing"])
def test_demo_spend_peaks_in_winter(category: str) -> None:
    """December to February spend runs above June to August spend in every year held, by more than the noise."""
    lines = [line for line in _small_economy().ledger if line.category.value == category]
    actual = _totals(lines, "actual_pence")
    for year in (2023, 2024):
        winter = sum(actual[(year, month)] for month in (9, 10, 11)) / 3
        summer = sum(actual[(year, month)] for month in (3, 4, 5)) / 3
        assert winter > summer * 1.02, (year, winter / summer)
    this_year_summer = sum(actual[(2025, month)] for month in (3, 4)) / 2  # August holds this year's CHC one-off
    assert actual[(2025, 8)] > this_year_summer  # November already above June and July


def test_demo_ledger_has_a_march_year_end_spike() -> None:
    """M12 (March) spend exceeds the average of M01-M11 by a few per cent, as NHS year-end accruals do."""
    actual = _totals(list(_small_economy().ledger), "actual_pence")
    for year in (2023, 2024):
        rest = sum(actual[(year, month)] for month in range(1, 12)) / 11
        assert actual[(year, 12)] > rest * 1.025, (year, actual[(year, 12)] / rest)


# --- the acute ledger made consistent with the contracts (demo/acute_ledger.py) ---------------------------------

PLAN_MONTH = 100_000_000  # £1m a month: £12m a year
PRICED_MONTH = 102_500_000  # priced activity 2.5% above plan


def _contracts() -> tuple[ContractSpend, ...]:
    """AAA's main provider RTH (£12m) and a small contract with RXQ (£1.2m); BBB's main provider RXQ (£12m)."""
    def spend(provider: str, name: str, commissioner: str, month_pence: int) -> ContractSpend:
        priced = round(month_pence * Decimal("1.025"))
        return ContractSpend(provider, name, commissioner, (month_pence,) * 12, (priced,) * 12, (month_pence,) * 12)

    return (
        spend("RTH", "Oxford University Hospitals", "AAA", PLAN_MONTH),
        spend("RXQ", "Buckinghamshire Healthcare", "AAA", PLAN_MONTH // 10),
        spend("RXQ", "Buckinghamshire Healthcare", "BBB", PLAN_MONTH),
    )


def _contract_economy() -> SyntheticEconomy:
    people = Decimal(500_000)
    population = PopulationTotals(10, None, people, people, people, people, people, people, people, people, people)
    return synthetic_economy({"AAA": population, "BBB": population}, FinancialYear(2025), 8, 7, _contracts())


def _acute(ledger: tuple[LedgerLine, ...], org: str, year: int) -> dict[str, list[LedgerLine]]:
    lines: dict[str, list[LedgerLine]] = {}
    for line in ledger:
        if line.org_code == org and line.year.start_year == year and line.category.value == "acute":
            lines.setdefault(line.subcategory, []).append(line)
    return lines


def test_acute_contract_lines_carry_each_contract_plan_to_the_penny() -> None:
    economy = _contract_economy()
    acute = _acute(economy.ledger, "AAA", 2025)
    # Both RTH and RXQ are main providers (each the largest contract of a commissioner): AAA has a drugs and devices
    # line for each; then the three lines named for no provider.
    assert sorted(acute) == sorted([
        "RTH Oxford University Hospitals: contract", "RTH drugs and devices outside tariff",
        "RXQ Buckinghamshire Healthcare: contract", "RXQ drugs and devices outside tariff",
        "Independent sector", "Non-contracted activity", "Other NHS acute",
    ])
    assert [line.budget_pence for line in acute["RTH Oxford University Hospitals: contract"]] == [PLAN_MONTH] * 12
    assert [line.budget_pence for line in acute["RXQ Buckinghamshire Healthcare: contract"]] == [PLAN_MONTH // 10] * 12
    # Drugs and devices: 12% of the plan: £1,440,000.00 and £144,000.00 a year.
    assert sum(line.budget_pence for line in acute["RTH drugs and devices outside tariff"]) == 144_000_000
    assert sum(line.budget_pence for line in acute["RXQ drugs and devices outside tariff"]) == 14_400_000
    # Independent sector 9% and non-contracted activity 6% of the acute budget (£930 × 500,000 = £465m), the rest on
    # Other NHS acute: 465m - 12m - 1.2m - 1.44m - 0.144m - 41.85m - 27.9m = £380,466,000.
    annual = {name: sum(line.budget_pence for line in lines) for name, lines in acute.items()}
    assert annual["Independent sector"] == 4_185_000_000
    assert annual["Non-contracted activity"] == 2_790_000_000
    assert annual["Other NHS acute"] == 38_046_600_000
    assert sum(annual.values()) == 46_500_000_000


def test_acute_contract_lines_accrue_the_priced_activity_of_the_month() -> None:
    """Actual = the month's priced activity (£1.025m) with an accrual difference of 0.4% (one standard deviation):
    each month within 2%, the eight months to M08 within 1% of £8.2m; months after M08 not yet reported."""
    acute = _acute(_contract_economy().ledger, "AAA", 2025)
    lines = acute["RTH Oxford University Hospitals: contract"]
    reported = [line.actual_pence for line in lines if line.actual_pence is not None]
    assert len(reported) == 8
    assert all(abs(actual - PRICED_MONTH) <= PRICED_MONTH * 0.02 for actual in reported)
    assert abs(sum(reported) - 8 * PRICED_MONTH) <= 8 * PRICED_MONTH * 0.01
    assert all(line.actual_pence is None for line in lines[8:])


def test_prior_years_hold_the_same_acute_lines_last_year_at_its_priced_activity() -> None:
    ledger = _contract_economy().ledger
    names = {year: set(_acute(ledger, "BBB", year)) for year in (2023, 2024, 2025)}
    assert names[2023] == names[2024] == names[2025]
    last_year = _acute(ledger, "AAA", 2024)["RTH Oxford University Hospitals: contract"]
    # Last year's actuals follow last year's priced activity (£1m a month here); budgets 4.5% lower than this year's.
    assert all(abs(line.actual_pence - PLAN_MONTH) <= PLAN_MONTH * 0.02 for line in last_year if line.actual_pence)
    assert abs(sum(line.budget_pence for line in last_year) - round(12 * PLAN_MONTH / Decimal("1.045"))) <= 1


def test_contract_map_names_the_line_of_each_contract_and_its_drugs() -> None:
    rows = [(row.provider, row.commissioner, row.category.value, row.line, row.element) for row in contract_map(
        _contracts())]
    assert rows == [
        ("RTH", "AAA", "acute", "RTH Oxford University Hospitals: contract", "contract"),
        ("RTH", "AAA", "acute", "RTH drugs and devices outside tariff", "drugs and devices outside tariff"),
        ("RXQ", "AAA", "acute", "RXQ Buckinghamshire Healthcare: contract", "contract"),
        ("RXQ", "AAA", "acute", "RXQ drugs and devices outside tariff", "drugs and devices outside tariff"),
        ("RXQ", "BBB", "acute", "RXQ Buckinghamshire Healthcare: contract", "contract"),
        ("RXQ", "BBB", "acute", "RXQ drugs and devices outside tariff", "drugs and devices outside tariff"),
    ]
    assert short_trust_name("OXFORD UNIVERSITY HOSPITALS NHS FOUNDATION TRUST") == "Oxford University Hospitals"
    assert short_trust_name("BUCKINGHAMSHIRE HEALTHCARE NHS TRUST") == "Buckinghamshire Healthcare"


@given(
    plans=st.lists(st.lists(st.integers(0, 10**9), min_size=12, max_size=12), min_size=0, max_size=6),
    headroom=st.integers(0, 10**12),
)
@settings(max_examples=60, deadline=None)
def test_acute_lines_add_up_to_the_acute_budget(plans: list[list[int]], headroom: int) -> None:
    """Whatever the contracts, each contract line is its plan month by month and the acute lines add up to the
    acute budget, while the contracts and their drugs and devices fit in it."""
    contracts = [
        ContractSpend(f"R{number:02d}", "", "AAA", tuple(plan), tuple(plan)) for number, plan in enumerate(plans)
    ]
    carved = sum(sum(plan) for plan in plans) * 2  # contracts and at most 12% more, with room to spare
    budget = carved + headroom
    lines = list(acute_lines("AAA", budget, contracts, (Decimal(1),) * 12, Decimal(1)))
    for contract in contracts:
        (line,) = [line for line in lines if line.subcategory == contract.contract_line]
        assert line.budget == contract.plan_pence
    assert all(len(line.budget) == 12 for line in lines)
    assert sum(sum(line.budget) for line in lines) == budget


def test_contract_value_after_rules_is_the_plan_and_priced_activity_under_the_contract_rules() -> None:
    """The demo's ledger carries each contract at its value after the payment rules (services/demo.py). A home
    contract: £1m a month planned, £1.025m priced, £20,000 of readmissions in M01 not paid, CQUIN 1.25% of the
    value achieved in full but for 60% in M03. Plan: £1m + £1m / 80 = £1,012,500 a month (CQUIN in full).
    Actual: M01 (£1,025,000 - £20,000) × 81/80 = £1,017,562.50; M03 £1,025,000 + £1,025,000 / 80 × 0.6 =
    £1,032,687.50; other months £1,025,000 × 81/80 = £1,037,812.50."""
    from fractions import Fraction

    from outturn.domain.activity import PointOfDelivery
    from outturn.domain.contract_rules import Cquin, PaymentRules
    from outturn.domain.contracts import Contract, PlanLine
    from outturn.services.demo import _after_rules

    nel = PointOfDelivery.NON_ELECTIVE
    rules = PaymentRules(readmissions=True, cquin=Cquin(Fraction(1, 80), ((3, Fraction(3, 5)),)))
    plan = tuple(PlanLine(nel, month, 100, PLAN_MONTH) for month in range(1, 13))
    contract = Contract("RTH", "AAA", FinancialYear(2025), plan, rules=rules)
    key = {"provider": "RTH", "commissioner": "AAA", "point_of_delivery": nel.value}
    priced = [{**key, "month": month, "activity": 102, "pence": PRICED_MONTH} for month in range(1, 13)]
    priced.append({**key, "commissioner": "BBB", "month": 1, "activity": 5, "pence": 5_000_000})  # not this contract
    readmitted = [{**key, "month": 1, "activity": 2, "pence": 2_000_000}]
    budget, actual = _after_rules(contract, priced, readmitted)
    assert budget == (101_250_000,) * 12
    assert actual == (101_756_250, 103_781_250, 103_268_750, *(103_781_250,) * 9)
    # Without rules the value is the tariff value.
    assert _after_rules(Contract("RTH", "AAA", FinancialYear(2025), plan), priced, readmitted) == (
        (PLAN_MONTH,) * 12, (PRICED_MONTH,) * 12
    )
