"""Practice list sizes held by period: a month's per-1,000 rate uses that month's list (the latest held up to it;
the earliest when the month is before every list), a year's the mean of its twelve months' lists."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from outturn.domain.list_periods import ListChoice, list_for_month, list_for_months, year_months
from outturn.domain.periods import FinancialYear
from outturn.domain.populations import PRACTICE_POPULATIONS_SCHEMA
from outturn.services.populations import (
    earliest_list_note,
    import_populations,
    period_list_sizes,
    practice_populations,
)
from outturn.services.workspace import Workspace, init_workspace

E2E = Path("openprescribing") / "e2e"
SEPTEMBER = E2E / "data-1__patient_list_size__2017_09__gp-reg-pat-prac-quin-age.csv"
OCTOBER = E2E / "data-2__patient_list_size__2017_10__gp-reg-pat-prac-quin-age.csv"
EPD_SEPTEMBER = E2E / "data-1__prescribing_v2__2017_09__epd_201709.csv"
EPD_OCTOBER = E2E / "data-2__prescribing_v2__2017_10__epd_201710.csv"
WEIGHTS = E2E / "data-1__patient_list_weightings__2013_01__prescribing_units.xlsx"
# B85010's ALL/ALL rows: 6,939 patients as at 01SEP2017 and 6,951 as at 01OCT2017.
B85010_SEPTEMBER, B85010_OCTOBER = 6939, 6951

# --- which list is a month's -----------------------------------------------------------------------------------

HELD = {"2017-09": B85010_SEPTEMBER, "2017-10": B85010_OCTOBER}


def test_a_month_uses_the_latest_list_held_up_to_it_and_before_them_all_the_earliest() -> None:
    assert list_for_month(HELD, "2017-09") == ListChoice(6939, "2017-09", before_first=False)
    assert list_for_month(HELD, "2017-10") == ListChoice(6951, "2017-10", before_first=False)
    assert list_for_month(HELD, "2018-01") == ListChoice(6951, "2017-10", before_first=False)
    assert list_for_month(HELD, "2017-08") == ListChoice(6939, "2017-09", before_first=True)
    assert list_for_month({}, "2017-09") is None


def test_a_years_list_is_the_mean_of_its_months_lists() -> None:
    months = year_months(FinancialYear(2017))
    assert (months[0], months[-1], len(months)) == ("2017-04", "2018-03", 12)
    # April-August before every list (5 x the earliest, 6,939), September 6,939, October-March 6 x 6,951:
    # (6 x 6,939 + 6 x 6,951) / 12 = 6,945.
    assert list_for_months(HELD, months) == (6945, True)
    # 2018/19 lies wholly after October 2017: October's list every month.
    assert list_for_months(HELD, year_months(FinancialYear(2018))) == (6951, False)
    # a mean of 6,939.5 rounds half up
    assert list_for_months(HELD, ["2017-09", "2017-10"]) == (6945, False)
    assert list_for_months({"2017-09": 10, "2017-10": 11}, ["2017-09", "2017-10"]) == (11, False)


# --- the workspace ---------------------------------------------------------------------------------------------

ALLOCATION_HEADER = ["Practice_Code", "GP_Practice_Name", "PCN_Code", "PCN_Name", "LOC22", "LOC22name", "ICS22",
                     "ICS22name", "R22", "Region22", "Patients", "pop 2022/23", "G&A WP", "CS WP", "MH WP", "Mat WP",
                     "Health Ineq WP", "Prescr WP", "Final WP", "Primary Medical Care WP"]  # fmt: skip


def write_allocation(path: Path) -> Path:
    """B85010 (7,000 patients in the file) and K00001 (1,000, no age/sex list)."""
    rows = [
        [code, f"Practice {code}", "U1", "PCN U1", "03A", "Sub-ICB 03A", "QWO", "ICB QWO", "Y59", "South East",
         str(patients), str(patients), *[str(patients)] * 8]
        for code, patients in (("B85010", 7000), ("K00001", 1000))
    ]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([ALLOCATION_HEADER, *rows])
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    opened = init_workspace(tmp_path / "ws", reference_dir=tmp_path / "no-reference-data")
    yield opened
    opened.close()


def list_sizes(workspace: Workspace, **period: object) -> dict[str, int]:
    table = practice_populations(workspace, **period)  # type: ignore[arg-type]
    return {row["practice"]: row["list_size"] for row in workspace.backend.to_rows(table)}


def test_two_list_files_are_both_held_and_each_month_uses_its_own(
    reference_dir: Path, tmp_path: Path, workspace: Workspace
) -> None:
    allocation = write_allocation(tmp_path / "alloc.csv")
    import_populations(
        workspace, allocation, [reference_dir / SEPTEMBER, reference_dir / OCTOBER], reference_dir / WEIGHTS
    )
    assert list_sizes(workspace) == {"B85010": B85010_OCTOBER, "K00001": 1000}  # no period: the latest, as before
    assert list_sizes(workspace, month="2017-09") == {"B85010": B85010_SEPTEMBER, "K00001": 1000}
    assert list_sizes(workspace, month="2017-10") == {"B85010": B85010_OCTOBER, "K00001": 1000}
    assert list_sizes(workspace, month="2017-07")["B85010"] == B85010_SEPTEMBER  # before them all: the earliest
    assert list_sizes(workspace, year=FinancialYear(2017))["B85010"] == 6945  # worked above
    note = earliest_list_note(period_list_sizes(workspace, month="2017-07"))
    assert note == "no list held as early as the period for 1 practice(s) (B85010): their earliest list is used"
    assert earliest_list_note(period_list_sizes(workspace, month="2017-09")) is None


def test_list_files_imported_one_at_a_time_are_all_kept(
    reference_dir: Path, tmp_path: Path, workspace: Workspace
) -> None:
    allocation = write_allocation(tmp_path / "alloc.csv")
    import_populations(workspace, allocation, [reference_dir / SEPTEMBER], reference_dir / WEIGHTS)
    import_populations(workspace, allocation, [reference_dir / OCTOBER], reference_dir / WEIGHTS)
    assert list_sizes(workspace, month="2017-09")["B85010"] == B85010_SEPTEMBER
    assert list_sizes(workspace, month="2017-10")["B85010"] == B85010_OCTOBER
    import_populations(
        workspace, allocation, [reference_dir / OCTOBER], reference_dir / WEIGHTS
    )  # the same list again changes nothing
    assert list_sizes(workspace, month="2017-09")["B85010"] == B85010_SEPTEMBER


def test_a_workspace_from_before_lists_by_period_keeps_its_one_list_size(workspace: Workspace) -> None:
    row = dict.fromkeys(PRACTICE_POPULATIONS_SCHEMA) | {"practice": "B85010", "list_size": 7000}
    schema = ibis.schema(dict(PRACTICE_POPULATIONS_SCHEMA)).to_pyarrow()
    workspace.backend.store_table("practice_populations", pa.Table.from_pylist([row], schema=schema))
    assert not workspace.backend.has_table("practice_list_sizes")
    assert list_sizes(workspace, month="2017-09") == list_sizes(workspace) == {"B85010": 7000}
    assert list_sizes(workspace, year=FinancialYear(2017)) == {"B85010": 7000}


def test_a_past_months_prescribing_rate_uses_that_months_list(
    reference_dir: Path, tmp_path: Path, workspace: Workspace
) -> None:
    from outturn.services.prescribing import import_prescribing, prescribing_measures

    import_populations(
        workspace,
        write_allocation(tmp_path / "alloc.csv"),
        [reference_dir / SEPTEMBER, reference_dir / OCTOBER],
        reference_dir / WEIGHTS,
    )
    for path in (EPD_SEPTEMBER, EPD_OCTOBER):
        import_prescribing(workspace, reference_dir / path)
    items = {"2017-09": 0, "2017-10": 0}
    for month, name in (("2017-09", EPD_SEPTEMBER), ("2017-10", EPD_OCTOBER)):
        with (reference_dir / name).open(newline="", encoding="utf-8") as handle:
            items[month] = sum(int(row["ITEMS"]) for row in csv.DictReader(handle) if row["PRACTICE_CODE"] == "B85010")
    for month, patients in (("2017-09", B85010_SEPTEMBER), ("2017-10", B85010_OCTOBER)):
        rows = [row for row in prescribing_measures(workspace, month=month)["rows"] if row["org"] == "B85010"]
        assert {row["denominator"] for row in rows} == {patients}
        assert sum(row["items"] for row in rows) == items[month]
        total_rate = sum(row["items_per_1000"] for row in rows)
        assert total_rate == pytest.approx(items[month] * 1000 / patients)
