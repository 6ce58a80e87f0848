"""Prescribing ingest: EPD and PDPI files of the same month agree, totals match a plain sum of the CSV, bad rows
are problems naming file, row, column and reason, and an import lands whole or not at all. Also the BNF code rules
of ``outturn.domain.prescribing`` against hand-worked examples, and the engine's column version of them."""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outturn.domain.prescribing import (
    PRESCRIBING_TABLE,
    FormulationSwap,
    counts_for_generic_rate,
    generic_equivalent,
    groups_from_pairs,
    is_generic,
    month_in_name,
    substitution_groups,
    year_month,
)
from outturn.domain.problems import ProblemsError
from outturn.engine import prescribing as engine
from outturn.engine.backends import Backend
from outturn.ingest.prescribing import Layout, read_prescribing
from outturn.services.imports import ReplaceRequired
from outturn.services.prescribing import import_prescribing
from outturn.services.workspace import init_workspace

E2E = Path("openprescribing") / "e2e"
EPD = {
    "2017-09": "data-1__prescribing_v2__2017_09__epd_201709.csv",
    "2017-10": "data-2__prescribing_v2__2017_10__epd_201710.csv",
}
PDPI = {
    "2017-09": "data-1__prescribing__2017_09__20171115_1510735567868_Detailed_Prescribing_Information.csv",
    "2017-10": "data-2__prescribing__2017_10__20171217_1513507724667_Detailed_Prescribing_Information.csv",
}
EPD_HEADER = (
    "YEAR_MONTH,PRACTICE_NAME,PRACTICE_CODE,BNF_CODE,BNF_DESCRIPTION,QUANTITY,ITEMS,TOTAL_QUANTITY,NIC,ACTUAL_COST"
)


def _key(row: dict[str, object]) -> tuple[object, ...]:
    return (row["year_month"], row["practice"], row["bnf_code"])


def _sorted_rows(table: pa.Table) -> list[dict[str, object]]:
    return sorted(table.to_pylist(), key=_key)


# Real files -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("month", sorted(EPD))
def test_epd_and_pdpi_of_the_same_month_give_identical_rows(reference_dir: Path, month: str) -> None:
    epd = read_prescribing(reference_dir / E2E / EPD[month])
    pdpi = read_prescribing(reference_dir / E2E / PDPI[month])
    assert (epd.layout, pdpi.layout) == (Layout.EPD, Layout.PDPI)
    assert epd.months == pdpi.months == (month,)
    assert _sorted_rows(epd.table) == _sorted_rows(pdpi.table)  # items, quantity, NIC and actual cost, row by row


def _plain_totals(path: Path, quantity_columns: tuple[str, ...], names: dict[str, str]) -> dict[tuple[str, str], list]:
    """(practice, BNF chapter) -> [items, quantity, NIC pence, actual cost pence], with the csv module and Decimal:
    money summed exactly per practice x presentation, rounded to the penny (half up) once, then summed."""
    per_presentation: dict[tuple[str, str], list] = defaultdict(lambda: [0, Decimal(0), Decimal(0), Decimal(0)])
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            entry = per_presentation[(row[names["practice"]], row[names["bnf_code"]])]
            items = int(row[names["items"]])
            quantity = Decimal(row[quantity_columns[0]])
            if len(quantity_columns) == 1:
                entry[1] += quantity
            else:  # the PDPI detailed layout gives the quantity of one item
                entry[1] += quantity * items
            entry[0] += items
            entry[2] += Decimal(row[names["nic"]])
            entry[3] += Decimal(row[names["actual_cost"]])
    totals: dict[tuple[str, str], list] = defaultdict(lambda: [0, Decimal(0), 0, 0])
    for (practice, code), (items, quantity, nic, actual) in per_presentation.items():
        total = totals[(practice, code[:2])]
        total[0] += items
        total[1] += quantity
        total[2] += int((nic * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        total[3] += int((actual * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return totals


def _our_totals(table: pa.Table) -> dict[tuple[str, str], list]:
    totals: dict[tuple[str, str], list] = defaultdict(lambda: [0, Decimal(0), 0, 0])
    for row in table.to_pylist():
        total = totals[(row["practice"], row["bnf_code"][:2])]
        total[0] += row["items"]
        total[1] += Decimal(repr(row["quantity"]))
        total[2] += row["nic_pence"]
        total[3] += row["actual_cost_pence"]
    return totals


@pytest.mark.parametrize("month", sorted(EPD))
def test_totals_by_practice_and_chapter_match_a_plain_sum_of_the_csv(reference_dir: Path, month: str) -> None:
    epd_names = {"practice": "PRACTICE_CODE", "bnf_code": "BNF_CODE", "items": "ITEMS", "nic": "NIC"}
    epd_names["actual_cost"] = "ACTUAL_COST"
    pdpi_names = {"practice": "Practice Code", "bnf_code": "BNF Code", "items": "Items", "nic": "NIC"}
    pdpi_names["actual_cost"] = "Actual Cost"
    epd_expected = _plain_totals(reference_dir / E2E / EPD[month], ("TOTAL_QUANTITY",), epd_names)
    pdpi_expected = _plain_totals(reference_dir / E2E / PDPI[month], ("Quantity", "per item"), pdpi_names)
    assert epd_expected == pdpi_expected  # the two layouts hold the same prescribing
    assert len(epd_expected) > 60  # four practices, about twenty chapters each
    assert _our_totals(read_prescribing(reference_dir / E2E / EPD[month]).table) == epd_expected
    assert _our_totals(read_prescribing(reference_dir / E2E / PDPI[month]).table) == epd_expected


# Bad files --------------------------------------------------------------------------------------------------------


def _epd(tmp_path: Path, *rows: str, header: str = EPD_HEADER, name: str = "epd_201710.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


GOOD = "201710,A SURGERY,B85010,0212000B0AAABAB,Atorvastatin_Tab 10mg,28.0,2,56.0,1.68,1.55321"


def _problems(path: Path, **options: object) -> list[str]:
    with pytest.raises(ProblemsError) as raised:
        read_prescribing(path, **options)  # type: ignore[arg-type]
    return [str(problem) for problem in raised.value.problems]


def test_each_kind_of_bad_row_is_a_problem_naming_file_row_column_and_reason(tmp_path: Path) -> None:
    path = _epd(
        tmp_path,
        GOOD,
        "201710,A SURGERY,B85010,0212000B0AAABAB,Atorvastatin_Tab 10mg,28.0,two,56.0,1.68,1.55",
        "201710,A SURGERY,B85010,0212000B0,Atorvastatin,28.0,2,56.0,1.68,1.55",
        "201710,A SURGERY,,0212000B0AAABAB,Atorvastatin_Tab 10mg,28.0,2,56.0,1.68,1.55",
        "201710,A SURGERY,B85010,0212000B0AAABAB,Atorvastatin_Tab 10mg,28.0,2,lots,1.6812345,1.55",
        "2017-13,A SURGERY,B85010,0212000B0AAABAB,Atorvastatin_Tab 10mg,28.0,2,56.0,1.68,1.55",
    )
    problems = _problems(path)
    expected = [
        ("column 'items'", "row 3: 'two'", "not a whole number"),
        ("column 'bnf_code'", "row 4: '0212000B0'", "not a BNF code"),
        ("column 'practice_code'", "row 5", "blank practice code"),
        ("column 'total_quantity'", "row 6: 'lots'", "not a number"),
        ("column 'nic'", "row 6: '1.6812345'", "not an amount in pounds"),
        ("column 'year_month'", "row 7: '2017-13'", "not a month"),
    ]
    for column, where, reason in expected:
        assert any(
            problem.startswith("epd_201710.csv") and column in problem and where in problem and reason in problem
            for problem in problems
        ), (column, problems)
    assert len(problems) == len(expected)


def test_a_wrong_header_is_one_problem_on_row_1(tmp_path: Path) -> None:
    path = _epd(tmp_path, "a,b,c", header="PRACTICE,DRUG,COST")
    (problem,) = _problems(path)
    assert "row 1" in problem and "wrong header" in problem
    path = _epd(tmp_path, GOOD, header=EPD_HEADER.replace("ACTUAL_COST", "COST"), name="missing.csv")
    (problem,) = _problems(path)
    assert "missing actual_cost" in problem and "row 1" in problem


def test_a_large_bad_file_counts_its_bad_rows_with_examples(tmp_path: Path) -> None:
    bad = GOOD.replace(",2,56.0,", ",x,56.0,")
    path = _epd(tmp_path, *([GOOD] * 10 + [bad] * 1_234))
    (problem,) = _problems(path)
    assert "1,234 rows: not a whole number of items (e.g. row 12: 'x'; row 13: 'x'" in problem
    assert problem.count("row ") == 5  # five examples, no more


def test_pdpi_takes_its_month_from_the_name_or_the_caller(tmp_path: Path) -> None:
    header = "Practice Code,Practice Name,BNF Code,BNF Description,Items,Quantity,NIC,Actual Cost"
    row = "B85010,A SURGERY,0212000B0AAABAB,Atorvastatin_Tab 10mg,2,28,1.68,1.55321"
    unnamed = _epd(tmp_path, row, header=header, name="Detailed_Prescribing_Information.csv")
    (problem,) = _problems(unnamed)
    assert "--month" in problem
    read = read_prescribing(unnamed, month="2017-10")
    assert read.months == ("2017-10",)
    assert read.table.to_pylist()[0]["quantity"] == 56.0  # 2 items of 28
    assert read.table.to_pylist()[0]["actual_cost_pence"] == 155
    named = _epd(tmp_path, row, header=header, name="T201709_Detailed_Prescribing_Information.csv")
    assert read_prescribing(named).months == ("2017-09",)


def test_classic_hscic_pdpi_has_a_total_quantity_and_a_period(tmp_path: Path) -> None:
    header = " SHA,PCT,PRACTICE,BNF CODE,BNF NAME                                    ,ITEMS  ,NIC        ,ACT COST   ,"
    header += "QUANTITY,PERIOD,"
    row = "Q52,03A,B85010,0212000B0AAABAB,Atorvastatin_Tab 10mg                       ,0000002,00000001.68,"
    row += "00000001.55,0000056,201710,"
    read = read_prescribing(_epd(tmp_path, row, header=header, name="T201710PDPI BNFT.CSV.csv"))
    assert read.layout is Layout.PDPI
    assert read.table.to_pylist() == [
        {
            "year_month": "2017-10",
            "practice": "B85010",
            "practice_name": None,
            "bnf_code": "0212000B0AAABAB",
            "bnf_name": "Atorvastatin_Tab 10mg",
            "items": 2,
            "quantity": 56.0,
            "nic_pence": 168,
            "actual_cost_pence": 155,
        }
    ]


def test_an_import_replaces_its_month_and_a_bad_file_stores_nothing(tmp_path: Path) -> None:
    with init_workspace(tmp_path / "ws", reference_dir=tmp_path) as workspace:
        first = import_prescribing(workspace, _epd(tmp_path, GOOD, GOOD.replace("0212000B0AAABAB", "0212000B0BBAAAB")))
        assert (first.rows, first.replaced_rows, first.items, first.nic_pence) == (2, 0, 4, 336)
        other = _epd(tmp_path, GOOD.replace("201710", "201709"), name="sept.csv")
        import_prescribing(workspace, other)
        again_file = _epd(tmp_path, GOOD, GOOD, name="again.csv")  # a duplicate row sums
        with pytest.raises(ReplaceRequired):  # October is stored, from another file: replacing it is explicit
            import_prescribing(workspace, again_file)
        again = import_prescribing(workspace, again_file, replace=True)
        assert (again.rows, again.replaced_rows, again.items) == (1, 2, 4)
        bad = _epd(tmp_path, GOOD, GOOD.replace(",2,56.0,", ",x,56.0,"), name="bad.csv")
        with pytest.raises(ProblemsError):
            import_prescribing(workspace, bad)
        stored = workspace.backend.to_arrow(workspace.backend.stored_table(PRESCRIBING_TABLE))
        rows = _sorted_rows(stored)
        assert [(row["year_month"], row["bnf_code"], row["items"], row["nic_pence"]) for row in rows] == [
            ("2017-09", "0212000B0AAABAB", 2, 168),
            ("2017-10", "0212000B0AAABAB", 4, 336),
        ]


# BNF codes --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "generic"),
    [
        ("0212000B0BBAAAB", "0212000B0AAABAB"),  # Lipitor 10mg -> atorvastatin 10mg tablets
        ("0212000B0AAABAB", "0212000B0AAABAB"),  # a generic is its own equivalent
        ("0105010B0BIAAAS", "0105010B0AAASAS"),  # Octasa MR 800mg -> mesalazine gastro-resistant 800mg
        ("0501013K0BBAAA0", None),  # a brand with no generic equivalent (A0)
        ("0601060D0BBCEA0", "0601060D0AAA0A0"),  # blood glucose strips: one "generic chemical" group
        ("0904010H0AAAAAA", None),  # excluded by OpenPrescribing (price-per-dose issue 9)
        ("0302000C0BEAABE", None),  # excluded (issue 10)
        ("21010900725", None),  # an appliance's 11-digit code
    ],
)
def test_generic_equivalent_follows_openprescribing(code: str, generic: str | None) -> None:
    assert generic_equivalent(code) == generic


def test_generic_and_eligible_presentations() -> None:
    assert is_generic("0212000B0AAABAB") and not is_generic("0212000B0BBAAAB") and not is_generic("21010900725")
    assert counts_for_generic_rate("0212000B0BBAAAB") and counts_for_generic_rate("0212000B0AAABAB")
    assert not counts_for_generic_rate("0501013K0BBAAA0")  # no generic exists
    assert not counts_for_generic_rate("0601060D0BBCEA0")  # a price group, not a generic
    assert not counts_for_generic_rate("2101090072500AA")  # chapter 21: appliances


def test_months() -> None:
    assert year_month("2017_09") == year_month("201709") == year_month("2017-09") == "2017-09"
    with pytest.raises(ValueError):
        year_month("2017-13")
    assert month_in_name("data-1__prescribing__2017_09__20171115_1510735567868_Detailed.csv") == "2017-09"
    assert month_in_name("T201709PDPI BNFT.CSV") == "2017-09"
    assert month_in_name("Detailed_Prescribing_Information.csv") is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), max_size=15))
def test_groups_from_pairs_are_the_connected_components(pairs: list[tuple[int, int]]) -> None:
    named = [(f"c{a:02d}", f"c{b:02d}") for a, b in pairs]
    groups = groups_from_pairs(named)
    members = [member for group in groups for member in group]
    assert len(members) == len(set(members)) == len({code for pair in named for code in pair})  # a partition
    where = {member: index for index, group in enumerate(groups) for member in group}
    assert all(where[a] == where[b] for a, b in named)  # each pair together
    # and no group joins what the pairs do not: grow each group from its first member by the pairs alone
    for group in groups:
        reached, frontier = {group[0]}, [group[0]]
        while frontier:
            current = frontier.pop()
            for a, b in named:
                for here, there in ((a, b), (b, a)):
                    if here == current and there not in reached:
                        reached.add(there)
                        frontier.append(there)
        assert reached == set(group)


def test_substitution_groups_are_named_by_their_smallest_code() -> None:
    swaps = [
        FormulationSwap("040702040AAAHAH", "040702040AAACAC", "Cap", "Tab"),
        FormulationSwap("040702040AAACAC", "040702040AAAJAJ", "Tab", "Sol"),
    ]
    (group,) = substitution_groups(swaps)
    assert group.code == "040702040AAACAC"
    assert group.members == ("040702040AAACAC", "040702040AAAHAH", "040702040AAAJAJ")
    assert group.description == "Cap / Sol / Tab"
    with pytest.raises(ValueError, match="not a generic"):
        substitution_groups([FormulationSwap("040702040BBAAAH", "040702040AAACAC")])


def test_the_engine_applies_the_same_rules_as_the_domain(reference_dir: Path) -> None:
    codes = sorted(
        {
            row["bnf_code"]
            for month in EPD
            for row in read_prescribing(reference_dir / E2E / EPD[month]).table.to_pylist()
        }
        | {"0904010H0AAAAAA", "0302000C0BEAABE", "0601060D0BBCEA0", "2101090072500AA"}
    )
    swaps = [FormulationSwap("0212000B0AAABAB", "0212000B0AAAAAA", "Tab", "Cap")]
    backend = Backend()
    table = backend.table(pa.table({"bnf_code": codes}))
    rows = backend.to_rows(engine.presentation_attributes(table, engine.group_members(substitution_groups(swaps))))
    assert len(rows) == len(codes)
    for row in rows:
        code = row["bnf_code"]
        generic = generic_equivalent(code)
        assert row["generic_code"] == generic, code
        expected_set = "0212000B0AAAAAA" if generic in {"0212000B0AAABAB", "0212000B0AAAAAA"} else generic
        assert row["set_code"] == expected_set, code
        assert row["is_generic"] == is_generic(code), code
        assert row["counts_for_generic_rate"] == counts_for_generic_rate(code), code
