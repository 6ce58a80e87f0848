"""Organisations and practice populations read from NHS reference files and from a user's CSV.

Real-file tests compare the readers with a plain ``csv`` reading of the same file done here, and with facts
known by hand (42 ICBs, 6,554 practices and 61.19m registered patients in NHS England's 2022/23 file).
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from outturn.domain.errors import NotFound
from outturn.domain.organisations import ALLOWED_PARENTS, Organisation, OrgKind, OrgTree
from outturn.domain.populations import PopulationTotals, PracticePopulation, population_of, total_of
from outturn.domain.problems import Problem, ProblemsError
from outturn.ingest.organisations import (
    find_allocation_file,
    read_allocation_hierarchy,
    read_ods_practice_map,
    read_ods_trusts,
    read_organisations_csv,
)

FILE_2022 = "aif_tool_gp_practice_wp_2022_2023.csv"
Rows = list[dict[str, str]]
Allocation = tuple[list[Organisation], list[PracticePopulation], OrgTree]
WP_COLUMNS = {
    "general_acute": "G&A WP",
    "community": "CS WP",
    "mental_health": "MH WP",
    "maternity": "Mat WP",
    "health_inequalities": "Health Ineq WP",
    "prescribing": "Prescr WP",
    "final": "Final WP",
    "primary_medical_care": "Primary Medical Care WP",
}


def plain_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def plain_sum(rows: list[dict[str, str]], column: str) -> Decimal:
    return sum((Decimal(row[column] or "0") for row in rows), Decimal(0))


def kinds(organisations: list[Organisation]) -> Counter[OrgKind]:
    return Counter(org.kind for org in organisations)


def assert_well_formed(organisations: list[Organisation]) -> OrgTree:
    """Unique codes, no dangling parents, every parent of an allowed kind."""
    tree = OrgTree.build(organisations)
    assert len(tree.by_code) == len(organisations)
    for org in organisations:
        if org.parent_code is not None:
            assert tree.get(org.parent_code).kind in ALLOWED_PARENTS[org.kind], org
    return tree


@pytest.fixture(scope="module")
def rows_2022(reference_dir: Path) -> Rows:
    return plain_rows(reference_dir / "allocations" / FILE_2022)


@pytest.fixture(scope="module")
def allocation_2022(reference_dir: Path) -> Allocation:
    organisations, populations = read_allocation_hierarchy(find_allocation_file(reference_dir))
    return organisations, populations, assert_well_formed(organisations)


# --- NHS England 2022/23 practice weighted populations -------------------------------------------------


def test_find_allocation_file(reference_dir: Path, tmp_path: Path) -> None:
    assert find_allocation_file(reference_dir).name == FILE_2022
    with pytest.raises(FileNotFoundError, match="2022/23 practice weighted-population file"):
        find_allocation_file(tmp_path)


def test_2022_counts_match_plain_reading(allocation_2022: Allocation, rows_2022: Rows) -> None:
    organisations, populations, _ = allocation_2022
    counted = kinds(organisations)
    assert counted[OrgKind.REGION] == len({row["R22"] for row in rows_2022}) == 7
    assert counted[OrgKind.ICB] == len({row["ICS22"] for row in rows_2022}) == 42
    assert counted[OrgKind.SUB_ICB] == len({row["LOC22"] for row in rows_2022}) == 106
    assert counted[OrgKind.PCN] == len({row["PCN_Code"] for row in rows_2022} - {"U"})
    assert counted[OrgKind.PRACTICE] == len(populations) == len(rows_2022) == 6554


def test_2022_total_patients_is_61_19_million(allocation_2022: Allocation, rows_2022: Rows) -> None:
    _, populations, _ = allocation_2022
    total = sum((p.list_size or Decimal(0) for p in populations), Decimal(0))
    assert total == plain_sum(rows_2022, "Patients") == 61_194_033
    assert round(total / 1_000_000, 2) == Decimal("61.19")


def test_qu9_buckinghamshire_oxfordshire_berkshire_west(allocation_2022: Allocation, rows_2022: Rows) -> None:
    _, _, tree = allocation_2022
    icb = tree.get("QU9")
    assert icb.name == "NHS Buckinghamshire, Oxfordshire and Berkshire West ICB"
    below = kinds(list(tree.descendants("QU9")))
    mine = [row for row in rows_2022 if row["ICS22"] == "QU9"]
    assert below[OrgKind.SUB_ICB] == len({row["LOC22"] for row in mine}) == 3
    assert below[OrgKind.PRACTICE] == len(mine) == 159
    # The file gives 49 PCN codes in QU9, one of them "U" (Unallocated), which is no PCN.
    assert len({row["PCN_Code"] for row in mine}) == 49
    assert below[OrgKind.PCN] == 48
    assert tree.get(icb.parent_code or "").kind is OrgKind.REGION


def test_qu9_weighted_populations_equal_plain_sums(allocation_2022: Allocation, rows_2022: Rows) -> None:
    _, populations, tree = allocation_2022
    mine = [row for row in rows_2022 if row["ICS22"] == "QU9"]
    totals = population_of(populations, tree, "QU9")
    assert totals.practices == 159
    assert totals.list_size == plain_sum(mine, "Patients")
    assert totals.population == plain_sum(mine, "pop 2022/23")
    for field, column in WP_COLUMNS.items():
        assert getattr(totals, field) == plain_sum(mine, column), field


def test_every_sub_icb_total_matches_the_file(allocation_2022: Allocation, rows_2022: Rows) -> None:
    """Holds even where a PCN spans two sub-ICBs: the minority practices hang under their own sub-ICB."""
    _, populations, tree = allocation_2022
    by_sub_icb: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows_2022:
        by_sub_icb[row["LOC22"]].append(row)
    for code, rows in by_sub_icb.items():
        totals = population_of(populations, tree, code)
        assert (totals.practices, totals.final) == (len(rows), plain_sum(rows, "Final WP")), code


def test_pcn_spanning_two_sub_icbs(allocation_2022: Allocation, rows_2022: Rows) -> None:
    _, _, tree = allocation_2022
    homes: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows_2022:
        homes[row["PCN_Code"]][row["LOC22"]] += 1
    spanning = sorted(code for code, places in homes.items() if len(places) > 1 and code != "U")
    assert spanning, "the 2022/23 file has PCNs whose practices sit in two sub-ICBs"
    pcn = spanning[0]
    majority = homes[pcn].most_common(1)[0][0]
    assert tree.get(pcn).parent_code == majority
    for row in rows_2022:
        if row["PCN_Code"] == pcn:
            expected = pcn if row["LOC22"] == majority else row["LOC22"]
            assert tree.get(row["Practice_Code"]).parent_code == expected


def test_unallocated_practices_sit_under_their_sub_icb(allocation_2022: Allocation, rows_2022: Rows) -> None:
    _, _, tree = allocation_2022
    assert "U" not in tree
    unallocated = [row for row in rows_2022 if row["PCN_Code"] == "U"]
    assert unallocated
    for row in unallocated:
        assert tree.get(row["Practice_Code"]).parent_code == row["LOC22"]


def test_names_and_blank_maternity(allocation_2022: Allocation) -> None:
    _, populations, tree = allocation_2022
    assert tree.get("A81001") == Organisation("A81001", "The Densham Surgery", OrgKind.PRACTICE, "U89141")
    assert [org.code for org in tree.ancestors("A81001")] == ["U89141", "16C", "QHM", "Y63"]
    chelsea = next(p for p in populations if p.practice_code == "E87711")  # Royal Hospital Chelsea
    assert chelsea.maternity == 0
    assert chelsea.list_size == 270


@pytest.mark.parametrize(
    ("name", "population_column", "region_column"),
    [
        ("icb_tool_gp_practice_wp_2024_2025.csv", "pop 2022/23", "R22"),
        ("icb_tool_gp_practice_wp_2025_2026.csv", "Population", "Rcode"),
    ],
)
def test_later_files_hang_practices_under_icbs(
    reference_dir: Path, name: str, population_column: str, region_column: str
) -> None:
    path = reference_dir / "allocations" / name
    rows = plain_rows(path)
    icb_column = "ICS22" if region_column == "R22" else "ICB"
    organisations, populations = read_allocation_hierarchy(path)
    tree = assert_well_formed(organisations)
    assert len({row[icb_column] for row in rows}) == 42
    assert kinds(organisations) == {
        OrgKind.REGION: len({row[region_column] for row in rows}),
        OrgKind.ICB: 42,
        OrgKind.PRACTICE: len(rows),
    }
    first = rows[0]
    assert tree.get(first["Practice_Code"]).parent_code == first[icb_column]
    assert all(p.list_size is None for p in populations)  # "Patients" is blank in these files
    totals = population_of(populations, tree, "QU9")
    mine = [row for row in rows if row[icb_column] == "QU9"]
    assert (totals.list_size, totals.population) == (None, plain_sum(mine, population_column))
    assert totals.final == plain_sum(mine, "Final WP")


# --- ODS ------------------------------------------------------------------------------------------------


def test_ods_practice_map(reference_dir: Path) -> None:
    path = reference_dir / "ods" / "gp-reg-pat-prac-map_2022-01.csv"
    rows = plain_rows(path)
    organisations = read_ods_practice_map(path)
    tree = assert_well_formed(organisations)
    assert kinds(organisations) == {
        OrgKind.REGION: len({row["COMM_REGION_CODE"] for row in rows}),
        OrgKind.ICB: len({row["STP_CODE"] for row in rows}),
        OrgKind.SUB_ICB: len({row["CCG_CODE"] for row in rows}),
        OrgKind.PCN: len({row["PCN_CODE"] for row in rows} - {"U"}),
        OrgKind.PRACTICE: len(rows),
    }
    assert [org.code for org in tree.ancestors("A81001")] == ["U89141", "16C", "QHM", "Y63"]
    assert tree.get("16C").name == "NHS Tees Valley CCG"


def test_ods_trusts(reference_dir: Path) -> None:
    path = reference_dir / "ods" / "etr_2022.csv"
    with path.open(newline="") as handle:
        plain = [row for row in csv.reader(handle) if row]
    providers = read_ods_trusts(path)
    assert len(providers) == len(plain) == len({row[0] for row in plain})
    assert {(org.kind, org.parent_code) for org in providers} == {(OrgKind.PROVIDER, None)}
    assert providers[0] == Organisation("R0A", "MANCHESTER UNIVERSITY NHS FOUNDATION TRUST", OrgKind.PROVIDER, None)


def test_ods_trusts_refuses_a_header_row(tmp_path: Path) -> None:
    path = tmp_path / "etr.csv"
    path.write_text('Organisation Code,Name\n"R0A","MANCHESTER"\n"R0A","AGAIN"\n', encoding="utf-8")
    with pytest.raises(ProblemsError) as caught:
        read_ods_trusts(path)
    assert [(p.row, p.column) for p in caught.value.problems] == [(1, "code"), (3, "code")]
    assert "duplicate of row 2" in caught.value.problems[1].reason


# --- bad allocation files -------------------------------------------------------------------------------

HEADER_2022 = [
    "Practice_Code", "GP_Practice_Name", "PCN_Code", "PCN_Name", "LOC22", "LOC22name", "ICS22",
    "ICS22name", "R22", "Region22", "Patients", "pop 2022/23", *WP_COLUMNS.values(),
]  # fmt: skip


def allocation_row(code: str, patients: str = "100", population: str = "101.5") -> list[str]:
    place = ["U00001", "A PCN", "10Q", "A sub-ICB", "QU9", "An ICB", "Y59", "South East"]
    return [code, f"Practice {code}", *place, patients, population, *["1.25"] * len(WP_COLUMNS)]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        csv.writer(handle).writerows(rows)
    return path


def problems_of(call: Callable[[Path], object], path: Path) -> list[Problem]:
    with pytest.raises(ProblemsError) as caught:
        call(path)
    return list(caught.value.problems)


def test_small_allocation_file_reads(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [HEADER_2022, allocation_row("K00001"), allocation_row("K00002")])
    organisations, populations = read_allocation_hierarchy(path)
    tree = assert_well_formed(organisations)
    assert tree.get("K00001").parent_code == "U00001"
    assert populations[0].list_size == 100
    assert populations[0].population == Decimal("101.5")
    totals = population_of(populations, tree, "10Q")
    assert (totals.practices, totals.list_size, totals.final) == (2, Decimal(200), Decimal("2.50"))


def test_allocation_file_of_unknown_layout(tmp_path: Path) -> None:
    header = [column for column in HEADER_2022 if column not in ("GP_Practice_Name", "Final WP")]
    problems = problems_of(read_allocation_hierarchy, write_csv(tmp_path / "a.csv", [header]))
    assert len(problems) == 1
    assert (problems[0].source, problems[0].row) == ("a.csv", 1)
    assert "missing column(s) GP_Practice_Name, Final WP" in problems[0].reason


def test_allocation_file_empty(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("", encoding="utf-8")
    [problem] = problems_of(read_allocation_hierarchy, tmp_path / "a.csv")
    assert problem.reason == "the file is empty"


def test_allocation_row_faults_are_collected(tmp_path: Path) -> None:
    rows = [
        HEADER_2022,
        allocation_row("K00001", population="lots"),
        allocation_row(""),
        allocation_row("K00003", patients="-4"),
        allocation_row("K00003"),
    ]
    problems = problems_of(read_allocation_hierarchy, write_csv(tmp_path / "a.csv", rows))
    assert [(p.row, p.column) for p in problems] == [
        (2, "pop 2022/23"),
        (3, "Practice_Code"),
        (4, "Patients"),
        (5, "Practice_Code"),
    ]
    assert problems[0].reason == "not a number: 'lots'"
    assert problems[1].reason == "a code is required"
    assert "zero or more" in problems[2].reason
    assert problems[3].reason == "practice K00003 already appears in row 4"


# --- a user's own organisations -------------------------------------------------------------------------


def organisations_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orgs.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_organisations_csv_reads_old_and_new_words(tmp_path: Path) -> None:
    path = organisations_file(
        tmp_path,
        "code,name,kind,parent_code\n"
        "Q35,South Central,region,\n"
        "QU9,Oxfordshire and Bucks cluster,cluster,Q35\n"
        "5QE,Oxfordshire PCT,pct,qu9\n"
        "K84001,A practice,practice,5QE\n"
        "10Q,Oxfordshire CCG,ccg,EXISTING\n",
    )
    organisations = read_organisations_csv(path, known={"EXISTING": Organisation("EXISTING", "An ICB", OrgKind.ICB)})
    assert organisations[2] == Organisation("5QE", "Oxfordshire PCT", OrgKind.SUB_ICB, "QU9")
    assert [org.kind for org in organisations] == [
        OrgKind.REGION, OrgKind.ICB, OrgKind.SUB_ICB, OrgKind.PRACTICE, OrgKind.SUB_ICB,
    ]  # fmt: skip


def test_organisations_csv_missing_columns(tmp_path: Path) -> None:
    [problem] = problems_of(read_organisations_csv, organisations_file(tmp_path, "code,name\nQ35,South\n"))
    assert (problem.source, problem.row) == ("orgs.csv", 1)
    assert "missing column(s): kind" in problem.reason


def test_organisations_csv_empty(tmp_path: Path) -> None:
    [problem] = problems_of(read_organisations_csv, organisations_file(tmp_path, ""))
    assert problem.reason == "the file is empty"


@pytest.mark.parametrize(
    ("rows", "row", "column", "reason"),
    [
        ("Q35,South,county,\n", 2, "kind", "unknown organisation kind 'county'"),
        ("Q35,South,region,\nQ35,North,region,\n", 3, "code", "duplicate of row 2"),
        ("5QE,Oxfordshire PCT,pct,NOWHERE\n", 2, "parent_code", "unknown parent 'NOWHERE'"),
        ("Q35,South,region,\nK84001,A practice,practice,Q35\n", 3, "parent_code", "a practice cannot sit under Q35"),
        ("Q35,South,region,Q35\n", 2, "parent_code", "cannot be its own parent"),
        (",South,region,\n", 2, "code", "a code is required"),
        ("Q35,,region,\n", 2, "name", "a name is required"),
    ],
)
def test_organisations_csv_faults(tmp_path: Path, rows: str, row: int, column: str, reason: str) -> None:
    [problem] = problems_of(read_organisations_csv, organisations_file(tmp_path, "code,name,kind,parent_code\n" + rows))
    assert (problem.source, problem.row, problem.column) == ("orgs.csv", row, column)
    assert reason in problem.reason


def test_organisations_csv_collects_every_fault(tmp_path: Path) -> None:
    text = "code,name,kind,parent_code\nQ35,South,moon,\nQ35,South,region,\nX1,Pract,practice,NOWHERE\n"
    problems = problems_of(read_organisations_csv, organisations_file(tmp_path, text))
    assert [(p.row, p.column) for p in problems] == [(2, "kind"), (3, "code"), (4, "parent_code")]


# --- population totals ----------------------------------------------------------------------------------


def practice_population(code: str, list_size: Decimal | None, final: str) -> PracticePopulation:
    weights = dict.fromkeys(WP_COLUMNS, Decimal(final))
    return PracticePopulation(practice_code=code, list_size=list_size, population=Decimal(final), **weights)


def test_population_of_sums_practices_below_an_organisation() -> None:
    tree = OrgTree.build(
        [
            Organisation("QU9", "ICB", OrgKind.ICB),
            Organisation("10Q", "Sub-ICB", OrgKind.SUB_ICB, "QU9"),
            Organisation("P1", "One", OrgKind.PRACTICE, "10Q"),
            Organisation("P2", "Two", OrgKind.PRACTICE, "QU9"),
        ]
    )
    populations = [practice_population("P1", Decimal(10), "1.10"), practice_population("P2", None, "2.20")]
    assert population_of(populations, tree, "10Q").final == Decimal("1.10")
    assert population_of(populations, tree, "P1").practices == 1
    whole = population_of(populations, tree, "QU9")
    assert (whole.practices, whole.list_size, whole.final) == (2, None, Decimal("3.30"))
    assert total_of([]) == PopulationTotals(0, Decimal(0), *[Decimal(0)] * 9)
    with pytest.raises(NotFound, match="unknown organisation 'NOPE'"):
        population_of(populations, tree, "NOPE")


def test_load_reference_fills_the_store_and_lists_an_icbs_sub_icb_locations(
    reference_dir: Path, tmp_path: Path
) -> None:
    import json

    from typer.testing import CliRunner

    from outturn.cli import app

    runner = CliRunner()
    workspace = str(tmp_path / "ws")
    assert runner.invoke(app, ["init", workspace, "--reference-dir", str(reference_dir)]).exit_code == 0
    loaded = runner.invoke(app, ["-w", workspace, "orgs", "load-reference", "--format", "json"])
    assert loaded.exit_code == 0, loaded.output
    assert json.loads(loaded.stdout) == {"region": 7, "icb": 42, "sub_icb": 106, "pcn": 1255, "practice": 6554,
                                         "provider": 218}
    listed = runner.invoke(app, ["-w", workspace, "orgs", "list", "--under", "QU9", "--kind", "sub_icb", "-f", "json"])
    assert listed.exit_code == 0, listed.output
    assert sorted(org["code"] for org in json.loads(listed.stdout)) == ["10Q", "14Y", "15A"]
    ods_map = reference_dir / "ods" / "gp-reg-pat-prac-map_2022-01.csv"
    from_map = runner.invoke(app, ["-w", workspace, "orgs", "load-reference", "--file", str(ods_map), "-f", "json"])
    assert from_map.exit_code == 0, from_map.output
    assert json.loads(from_map.stdout)["practice"] == 6527  # rows in the January 2022 mapping file
