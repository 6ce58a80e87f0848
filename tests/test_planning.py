"""The planning bridge: underlying position -> savings requirement, to the penny, with the seeds' worked examples."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from outturn.cli import app as cli
from outturn.domain.errors import BadInput, NotFound
from outturn.domain.money import pounds
from outturn.domain.periods import FinancialYear
from outturn.domain.planning import Assumption, AssumptionKind, combined, plan_bridge
from outturn.domain.problems import ProblemsError
from outturn.domain.savings import SavingsTarget, Scheme, Workstream
from outturn.domain.savings_programmes import programme_rollup
from outturn.services.imports import import_organisations
from outturn.services.planning import bridge, import_plan_assumptions
from outturn.services.workspace import init_workspace

K = AssumptionKind
Y26 = FinancialYear(2026)


def m(amount: str) -> int:
    """£ millions as pence."""
    return pounds(str(Decimal(amount) * 1_000_000))


def rows(org: str, year: FinancialYear, **amounts: str) -> list[Assumption]:
    out = []
    for name, amount in amounts.items():
        kind = K(name)
        if kind is K.REQUIRED_SURPLUS:
            out.append(Assumption(org, year, kind, share=Decimal(amount)))
        else:
            out.append(Assumption(org, year, kind, m(amount)))
    return out


# --- the two county PCTs: £90m = 8% of a combined £1,125m, cut to £56m by the regulator's control total --------

COUNTY_A = {
    "exit_position": "-20", "allocation": "625", "allocation_growth": "35", "deficit_repaid": "10",
    "tariff_inflation": "15", "demographic_growth": "12", "non_demographic_growth": "18", "new_commitment": "5",
    "investment": "5",
}  # fmt: skip
COUNTY_B = {
    "exit_position": "-11.75", "allocation": "500", "allocation_growth": "28", "top_slice": "5",
    "tariff_inflation": "12", "demographic_growth": "10", "non_demographic_growth": "10", "new_commitment": "4",
    "investment": "4",
}  # fmt: skip


def test_two_county_pcts_need_90m_which_is_8_percent_of_1125m() -> None:
    # A: -(-20 + 35 - 10 - (15+12+18+5+5) - 1% x 625) = 20 - 35 + 10 + 55 + 6.25 = £56.25m
    # B: -(-11.75 + 28 - 5 - (12+10+10+4+4) - 1% x 500) = 11.75 - 28 + 5 + 40 + 5 = £33.75m
    # together £90m of £1,125m = 8%
    plan = rows("A", Y26, **COUNTY_A, required_surplus="0.01") + rows("B", Y26, **COUNTY_B, required_surplus="0.01")
    a, b = plan_bridge("A", plan, Y26), plan_bridge("B", plan, Y26)
    assert a.years[0].savings_requirement_pence == m("56.25")
    assert b.years[0].savings_requirement_pence == m("33.75")
    both = combined("ALL", [a, b]).years[0]
    assert both.allocation_pence == m("1125")
    assert both.savings_requirement_pence == m("90")
    assert both.requirement_share == Decimal("0.0800")
    assert both.steps[-1].running_pence == -m("90")


def test_the_regulators_control_total_cuts_the_requirement_to_56m() -> None:
    # agreed deficits replace the 1% surpluses: A -£14m, B -£8.75m
    # A: 20 - 35 + 10 + 55 - 14 = £36m; B: 11.75 - 28 + 5 + 40 - 8.75 = £20m; together £56m (4.98% of £1,125m)
    plan = rows("A", Y26, **COUNTY_A, control_total="-14") + rows("B", Y26, **COUNTY_B, control_total="-8.75")
    both = combined("ALL", [plan_bridge("A", plan, Y26), plan_bridge("B", plan, Y26)]).years[0]
    assert both.savings_requirement_pence == m("56")
    assert both.requirement_share == Decimal("0.0498")
    labels = [step.label for step in both.steps]
    assert labels[0] == "Forecast exit run rate" and labels[-1] == "Control total"


# --- the £335m four-year programme: £206m + £129m -------------------------------------------------------------


def _four_year_programme() -> list[Assumption]:
    y = [FinancialYear(2026 + offset) for offset in range(4)]
    big = (
        rows("BIG", y[0], exit_position="-20", non_recurrent_items="6", allocation="800", allocation_growth="24",
             deficit_repaid="4", tariff_inflation="20", tariff_efficiency="8", demographic_growth="16",
             non_demographic_growth="12", new_commitment="4", investment="2")
        + rows("BIG", y[1], allocation_growth="20", tariff_inflation="25", tariff_efficiency="10",
               demographic_growth="18", non_demographic_growth="15", new_commitment="10", investment="6",
               non_recurrent_savings="10")
        + rows("BIG", y[2], allocation_growth="22", tariff_inflation="26", tariff_efficiency="10",
               demographic_growth="19", non_demographic_growth="15", new_commitment="8", investment="4")
        + rows("BIG", y[3], allocation_growth="20", tariff_inflation="30", tariff_efficiency="12",
               demographic_growth="22", non_demographic_growth="20", new_commitment="14", investment="10")
    )  # fmt: skip
    small = (
        rows("SMALL", y[0], exit_position="-10", allocation="500", allocation_growth="15", tariff_inflation="14",
             tariff_efficiency="6", demographic_growth="12", non_demographic_growth="12", new_commitment="5",
             investment="3", control_total="5")
        + rows("SMALL", y[1], allocation_growth="16", tariff_inflation="30", demographic_growth="20", control_total="5")
        + rows("SMALL", y[2], allocation_growth="17", tariff_inflation="27", demographic_growth="18", control_total="5")
        + rows("SMALL", y[3], allocation_growth="18", tariff_inflation="25", demographic_growth="20", control_total="5")
    )  # fmt: skip
    return big + small


def test_the_335m_four_year_programme_is_206m_plus_129m() -> None:
    plan = _four_year_programme()
    big, small = plan_bridge("BIG", plan, Y26, years=4), plan_bridge("SMALL", plan, Y26, years=4)
    # BIG, break-even each year:
    # Y1 underlying -20 - 6 = -26; R = 26 - 24 + 4 + (20 - 8 + 16 + 12 + 4 + 2) = £52m;
    #    carried = recurrent steps (-26 + 24 - 46) + 52 = +£4m (the one-off £4m deficit repayment drops out)
    # Y2 R = -(4 + 20 - (25 - 10 + 18 + 15 + 10 + 6)) = -(4 + 20 - 64) = £40m, £10m of it one-off;
    #    carried = -40 + 30 = -£10m (the one-off £10m savings must be found again)
    # Y3 R = -(-10 + 22 - 62) = £50m, carried 0; Y4 R = -(0 + 20 - 84) = £64m. 52 + 40 + 50 + 64 = £206m
    assert [year.savings_requirement_pence for year in big.years] == [m("52"), m("40"), m("50"), m("64")]
    assert [year.carried_forward_pence for year in big.years[:3]] == [m("4"), -m("10"), 0]
    assert big.years[1].non_recurrent_savings_pence == m("10")
    assert big.years[3].allocation_pence == m("800") + m("20") + m("22") + m("20")
    # SMALL, a £5m surplus each year: Y1 -(-10 + 15 - 40 - 5) = £40m; each later year starts at the £5m surplus:
    # Y2 -(5 + 16 - 50 - 5) = £34m; Y3 -(5 + 17 - 45 - 5) = £28m; Y4 -(5 + 18 - 45 - 5) = £27m: £129m
    assert [year.savings_requirement_pence for year in small.years] == [m("40"), m("34"), m("28"), m("27")]
    assert big.total_requirement_pence == m("206")
    assert small.total_requirement_pence == m("129")
    assert combined("ALL", [big, small]).total_requirement_pence == m("335")


# --- every bridge sums to the penny ---------------------------------------------------------------------------

_NOT_STEPS = (K.EXIT_POSITION, K.NON_RECURRENT_ITEMS, K.ALLOCATION, K.REQUIRED_SURPLUS, K.CONTROL_TOTAL)
_STEP_KINDS = [kind for kind in K if kind not in (*_NOT_STEPS, K.NON_RECURRENT_SAVINGS)]
_money = st.integers(min_value=0, max_value=10**12)


@st.composite
def _plans(draw: st.DrawFn) -> tuple[list[Assumption], int]:
    years = draw(st.integers(min_value=1, max_value=5))
    items = [
        Assumption("X", Y26, K.EXIT_POSITION, draw(st.integers(min_value=-(10**12), max_value=10**12))),
        Assumption("X", Y26, K.NON_RECURRENT_ITEMS, draw(st.integers(min_value=-(10**11), max_value=10**11))),
        Assumption("X", Y26, K.ALLOCATION, draw(st.integers(min_value=1, max_value=10**13))),
    ]
    for offset in range(years):
        year = FinancialYear(2026 + offset)
        for kind in draw(st.lists(st.sampled_from(_STEP_KINDS), max_size=6)):
            items.append(Assumption("X", year, kind, draw(_money), recurrent=draw(st.none() | st.booleans())))
        if draw(st.booleans()):
            items.append(Assumption("X", year, K.REQUIRED_SURPLUS, share=Decimal(draw(st.integers(0, 300))) / 10000))
        items.append(Assumption("X", year, K.NON_RECURRENT_SAVINGS, draw(_money)))
    return items, years


@given(_plans())
def test_every_bridge_sums_to_the_penny(plan: tuple[list[Assumption], int]) -> None:
    items, years = plan
    bridge = plan_bridge("X", items, Y26, years=years)
    previous_carried = None
    for year in bridge.years:
        assert year.start_pence + sum(step.pence for step in year.steps[1:]) == -year.savings_requirement_pence
        assert year.steps[-1].running_pence == -year.savings_requirement_pence
        assert year.recurrent_savings_pence + year.non_recurrent_savings_pence == max(year.savings_requirement_pence, 0)
        if previous_carried is not None:
            assert year.start_pence == previous_carried
        recurrent = sum(step.pence for step in year.steps if step.recurrent)
        assert year.carried_forward_pence == recurrent + year.recurrent_savings_pence
        previous_carried = year.carried_forward_pence


def test_bad_plans_are_refused_with_the_reason() -> None:
    with pytest.raises(BadInput, match="first year needs the forecast exit position"):
        plan_bridge("A", rows("A", Y26, allocation="10"), Y26)
    with pytest.raises(BadInput, match="1 to 5 years"):
        plan_bridge("A", rows("A", Y26, exit_position="0", allocation="10"), Y26, years=6)
    with pytest.raises(BadInput, match="positive amount"):
        Assumption("A", Y26, K.INVESTMENT, -1)
    with pytest.raises(BadInput, match="given 2 times"):
        plan_bridge("A", rows("A", Y26, exit_position="0", allocation="10") + rows("A", Y26, allocation="5"), Y26)


# --- the file, the store, the command and its JSON ----------------------------------------------------------

ORGS = "code,name,kind,parent_code\nQXX,Test ICB,icb,\nA,County A PCT,sub_icb,QXX\nB,County B PCT,sub_icb,QXX\n"
COUNTY_FILE = """org_code,year,assumption,amount,description,recurrent
A,2026/27,exit_position,-£20m,,
A,2026/27,allocation,£625m,,
A,2026/27,allocation_growth,£35m,,
A,2026/27,deficit_repaid,£10m,,
A,2026/27,tariff_inflation,£15m,,
A,2026/27,demographic_growth,£12m,Weighted population growth,
A,2026/27,non_demographic_growth,£18m,,
A,2026/27,new_commitment,£5m,,
A,2026/27,investment,£5m,,no
A,2026/27,control_total,(£14m),Regulator's control total,
B,2026/27,exit_position,-£11.75m,,
B,2026/27,allocation,£500m,,
B,2026/27,allocation_growth,£28m,,
B,2026/27,top_slice,£5m,,
B,2026/27,tariff_inflation,£12m,,
B,2026/27,demographic_growth,£10m,Weighted population growth,
B,2026/27,non_demographic_growth,£10m,,
B,2026/27,new_commitment,£4m,,
B,2026/27,investment,£4m,,no
B,2026/27,control_total,-£8.75m,Regulator's control total,
"""


def _cli(workspace: Path, *arguments: str) -> Any:
    result = CliRunner().invoke(cli, ["--workspace", str(workspace), *arguments, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_plan_bridge_from_an_imported_file_gives_56m_to_the_penny(tmp_path: Path) -> None:
    workspace = init_workspace(tmp_path / "ws", default_as_at="2025-09")
    (tmp_path / "orgs.csv").write_text(ORGS, encoding="utf-8")
    import_organisations(workspace, tmp_path / "orgs.csv")
    workspace.close()
    (tmp_path / "plan.csv").write_text(COUNTY_FILE, encoding="utf-8")
    imported = _cli(tmp_path / "ws", "plan", "import-assumptions", str(tmp_path / "plan.csv"))
    assert imported["rows"] == 20
    document = _cli(tmp_path / "ws", "plan", "bridge", "--year", "2026/27")
    assert document["year"] == "2026/27"
    a, b = document["organisations"]
    assert (a["name"], a["years"][0]["savings_requirement_pence"]) == ("County A PCT", m("36"))
    assert b["years"][0]["savings_requirement_pence"] == m("20")
    total = document["total"]["years"][0]
    assert (total["savings_requirement_pence"], total["allocation_pence"]) == (m("56"), m("1125"))
    assert total["savings_requirement_share"] == "0.0498"
    assert sum(step["pence"] for step in total["steps"]) == -m("56")
    # the investments are one-off (recurrent: no): A's recurrent position is -20 + 35 - 15 - 12 - 18 - 5 = -35,
    # plus its £36m of recurrent savings = +£1m carried into 2027/28
    assert a["years"][0]["carried_forward_pence"] == m("1")
    only_b = _cli(tmp_path / "ws", "plan", "bridge", "--year", "2026/27", "--org", "b")
    assert only_b["total"] is None and only_b["organisations"] == [b]
    under_the_icb = _cli(tmp_path / "ws", "plan", "bridge", "--year", "2026/27", "--org", "QXX")
    assert under_the_icb == document


def test_a_bad_assumption_row_stores_nothing_and_names_the_row(tmp_path: Path) -> None:
    workspace = init_workspace(tmp_path / "ws")
    (tmp_path / "orgs.csv").write_text(ORGS, encoding="utf-8")
    import_organisations(workspace, tmp_path / "orgs.csv")
    (tmp_path / "bad.csv").write_text(
        "org_code,year,assumption,amount\nA,2026/27,allocation,£1m\nA,2026/27,magic,£1m\nZ,2026/27,allocation,£1m\n"
        "A,2026/27,investment,-£1m\n",
        encoding="utf-8",
    )
    with pytest.raises(ProblemsError) as raised:
        import_plan_assumptions(workspace, tmp_path / "bad.csv")
    reasons = {(problem.row, problem.column): problem.reason for problem in raised.value.problems}
    assert "unknown assumption 'magic'" in reasons[(3, "assumption")]
    assert "unknown organisation 'Z'" in reasons[(4, "org_code")]
    assert "positive amount" in reasons[(5, "amount")]
    with pytest.raises(NotFound, match="no plan assumptions"):
        bridge(workspace, "2026/27")
    workspace.close()


def _csv_of(items: list[Assumption]) -> str:
    lines = ["org_code,year,assumption,amount"]
    for item in items:
        amount = f"{item.share}" if item.share is not None else f"{Decimal(item.pence) / 100:.2f}"
        lines.append(f"{item.org_code},{item.year.label},{item.kind.value},{amount}")
    return "\n".join(lines) + "\n"


def test_the_programmes_targets_come_from_the_plan_and_roll_up_to_335m(tmp_path: Path) -> None:
    workspace = init_workspace(tmp_path / "ws", default_as_at="2025-09")
    orgs = "code,name,kind,parent_code\nQXX,Cluster,icb,\nBIG,Big PCT,sub_icb,QXX\nSMALL,Small PCT,sub_icb,QXX\n"
    (tmp_path / "orgs.csv").write_text(orgs, encoding="utf-8")
    import_organisations(workspace, tmp_path / "orgs.csv")
    workspace.close()
    (tmp_path / "plan.csv").write_text(_csv_of(_four_year_programme()), encoding="utf-8")
    _cli(tmp_path / "ws", "plan", "import-assumptions", str(tmp_path / "plan.csv"))
    targets = _cli(
        tmp_path / "ws", "plan", "targets", "--programme", "Cluster QIPP", "--year", "2026/27", "--years", "4"
    )
    assert [(row["org_code"], row["year"], row["target_pence"]) for row in targets][:4] == [
        ("BIG", "2026/27", m("52")), ("BIG", "2027/28", m("40")),
        ("BIG", "2028/29", m("50")), ("BIG", "2029/30", m("64")),
    ]  # fmt: skip
    (row,) = _cli(tmp_path / "ws", "savings", "rollup", "--level", "programme")
    # no schemes yet: all £206m + £129m = £335m is unidentified; 2026/27 is 52 + 40 = £92m
    assert (row["programme"], row["org_codes"]) == ("Cluster QIPP", ["BIG", "SMALL"])
    assert (row["target_pence"], row["identified_pence"], row["unidentified_pence"]) == (m("335"), 0, m("335"))
    assert [year["target_pence"] for year in row["years"]] == [m("92"), m("74"), m("78"), m("91")]


def test_a_programmes_identified_savings_never_hide_another_organisations_gap() -> None:
    y27 = FinancialYear(2027)
    targets = [
        SavingsTarget("BIG", Y26, m("52"), "Cluster QIPP"),
        SavingsTarget("SMALL", Y26, m("40"), "Cluster QIPP"),
        SavingsTarget("BIG", y27, m("40"), "Cluster QIPP"),
        SavingsTarget("OTHER", Y26, m("1"), ""),
    ]
    schemes = [
        _scheme("S1", "BIG", Y26, m("60")),  # over-identified by £8m: BIG 2026/27 has nothing unidentified
        _scheme("S2", "SMALL", Y26, m("30")),  # £10m short
        _scheme("S3", "BIG", y27, m("15")),  # £25m short
        _scheme("S4", "SMALL", y27, m("5")),  # SMALL has no 2027/28 target: not in the programme
    ]
    cluster, none = programme_rollup(schemes, targets)
    assert (none.programme, none.unidentified_pence) == ("(no programme)", m("1"))
    assert [(year.target_pence, year.identified_pence, year.unidentified_pence) for year in cluster.years] == [
        (m("92"), m("90"), m("10")),  # 0 + 10, not 92 - 90 = 2
        (m("40"), m("15"), m("25")),
    ]
    assert (cluster.target_pence, cluster.identified_pence, cluster.unidentified_pence) == (m("132"), m("105"), m("35"))


def _scheme(reference: str, org: str, year: FinancialYear, pence: int) -> Scheme:
    planned = (pence // 12,) * 11 + (pence - 11 * (pence // 12),)
    return Scheme(reference, reference, org, year, Workstream.ELECTIVE, planned)
