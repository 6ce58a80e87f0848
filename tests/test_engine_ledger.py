"""Ledger reductions on the engine (Ibis over DuckDB): one row per line with the figures forecasts need.

Each output column is checked against two independent references: the same reduction written by hand as plain
SQL and run in an in-memory SQLite database, and a plain-Python loop over the rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outturn.engine.backends import Backend, memtable
from outturn.engine.ledger import (
    LEDGER_SCHEMA,
    LINE_KEYS,
    last_year_profile,
    line_figures,
    line_figures_with_last_year,
)

YEAR = 2025
PROPERTY = settings(max_examples=40, deadline=None)

THIS_YEAR_COLUMNS = (
    "annual_budget_pence",
    "ytd_budget_pence",
    "ytd_actual_pence",
    "ytd_one_off_pence",
    "months_reported",
    "sum_month_times_recurring",
    "exit_recurring_pence",
)
LAST_YEAR_COLUMNS = (
    "last_year_ytd_recurring_pence",
    "last_year_total_recurring_pence",
    "last_year_exit_recurring_pence",
)
JOINED_COLUMNS = (*LINE_KEYS, *THIS_YEAR_COLUMNS, *LAST_YEAR_COLUMNS)

Row = dict[str, Any]


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    engine = Backend()
    yield engine
    engine.close()


# --- the references -------------------------------------------------------------------------------------------

_SQL_THIS_YEAR = """
SELECT org_code, category, subcategory,
       SUM(budget_pence) AS annual_budget_pence,
       SUM(CASE WHEN month <= :as_at THEN budget_pence ELSE 0 END) AS ytd_budget_pence,
       SUM(CASE WHEN month <= :as_at THEN COALESCE(actual_pence, 0) ELSE 0 END) AS ytd_actual_pence,
       SUM(CASE WHEN month <= :as_at THEN one_off_pence ELSE 0 END) AS ytd_one_off_pence,
       SUM(CASE WHEN month <= :as_at AND actual_pence IS NOT NULL THEN 1 ELSE 0 END) AS months_reported,
       SUM(CASE WHEN month <= :as_at THEN month * (COALESCE(actual_pence, 0) - one_off_pence) ELSE 0 END)
           AS sum_month_times_recurring,
       SUM(CASE WHEN month BETWEEN :as_at - 2 AND :as_at THEN COALESCE(actual_pence, 0) - one_off_pence ELSE 0 END)
           AS exit_recurring_pence
FROM ledger WHERE year = :year
GROUP BY org_code, category, subcategory
"""

_SQL_LAST_YEAR = """
SELECT org_code, category, subcategory,
       SUM(CASE WHEN month <= :as_at THEN COALESCE(actual_pence, 0) - one_off_pence ELSE 0 END)
           AS last_year_ytd_recurring_pence,
       SUM(COALESCE(actual_pence, 0) - one_off_pence) AS last_year_total_recurring_pence,
       SUM(CASE WHEN month BETWEEN :as_at - 2 AND :as_at THEN COALESCE(actual_pence, 0) - one_off_pence ELSE 0 END)
           AS last_year_exit_recurring_pence
FROM ledger WHERE year = :year - 1
GROUP BY org_code, category, subcategory
"""

_SQL_JOINED = f"""
WITH this_year AS ({_SQL_THIS_YEAR}), last_year AS ({_SQL_LAST_YEAR})
SELECT t.org_code, t.category, t.subcategory,
       t.annual_budget_pence, t.ytd_budget_pence, t.ytd_actual_pence, t.ytd_one_off_pence,
       t.months_reported, t.sum_month_times_recurring, t.exit_recurring_pence,
       l.last_year_ytd_recurring_pence, l.last_year_total_recurring_pence, l.last_year_exit_recurring_pence
FROM this_year AS t
LEFT JOIN last_year AS l
  ON l.org_code = t.org_code AND l.category = t.category AND l.subcategory = t.subcategory
ORDER BY t.org_code, t.category, t.subcategory
"""


def sqlite_query(rows: Sequence[Row], sql: str, *, year: int, as_at_month: int) -> list[Row]:
    """Run hand-written SQL over the ledger rows in a throwaway in-memory SQLite database."""
    connection = sqlite3.connect(":memory:")
    try:
        connection.row_factory = sqlite3.Row
        connection.execute(
            "CREATE TABLE ledger (org_code TEXT, year INTEGER, month INTEGER, category TEXT, subcategory TEXT, "
            "budget_pence INTEGER, actual_pence INTEGER, one_off_pence INTEGER)"
        )
        connection.executemany(
            "INSERT INTO ledger VALUES (:org_code, :year, :month, :category, :subcategory, "
            ":budget_pence, :actual_pence, :one_off_pence)",
            rows,
        )
        result = connection.execute(sql, {"year": year, "as_at": as_at_month}).fetchall()
        return [dict(row) for row in result]
    finally:
        connection.close()


def python_reference(rows: Sequence[Row], *, year: int, as_at_month: int) -> list[Row]:
    """The joined reduction as a plain loop: this year's lines, with last year's profile where it existed."""
    this_year: dict[tuple[str, str, str], Row] = {}
    last_year: dict[tuple[str, str, str], Row] = {}
    for row in rows:
        key = (row["org_code"], row["category"], row["subcategory"])
        actual = row["actual_pence"] if row["actual_pence"] is not None else 0
        recurring = actual - row["one_off_pence"]
        to_date = row["month"] <= as_at_month
        in_exit_window = as_at_month - 2 <= row["month"] <= as_at_month  # the last three months to date
        if row["year"] == year:
            line = this_year.setdefault(key, dict.fromkeys(THIS_YEAR_COLUMNS, 0))
            line["annual_budget_pence"] += row["budget_pence"]
            if to_date:
                line["ytd_budget_pence"] += row["budget_pence"]
                line["ytd_actual_pence"] += actual
                line["ytd_one_off_pence"] += row["one_off_pence"]
                line["months_reported"] += row["actual_pence"] is not None
                line["sum_month_times_recurring"] += row["month"] * recurring
                line["exit_recurring_pence"] += recurring if in_exit_window else 0
        elif row["year"] == year - 1:
            profile = last_year.setdefault(key, dict.fromkeys(LAST_YEAR_COLUMNS, 0))
            profile["last_year_total_recurring_pence"] += recurring
            if to_date:
                profile["last_year_ytd_recurring_pence"] += recurring
            if in_exit_window:
                profile["last_year_exit_recurring_pence"] += recurring
    return [
        {
            **dict(zip(LINE_KEYS, key, strict=True)),
            **this_year[key],
            **last_year.get(key, dict.fromkeys(LAST_YEAR_COLUMNS)),
        }
        for key in sorted(this_year)
    ]


def by_key(rows: Sequence[Row]) -> dict[tuple[str, str, str], Row]:
    return {(row["org_code"], row["category"], row["subcategory"]): row for row in rows}


# --- generated ledgers ----------------------------------------------------------------------------------------

_PENCE = st.integers(min_value=-5_000_000_000, max_value=5_000_000_000)


@st.composite
def ledgers(draw: st.DrawFn) -> list[Row]:
    """Several organisations, categories and subcategories over this year, last year and a year to ignore."""
    orgs = draw(st.lists(st.sampled_from(["01A", "02B", "03C", "99Z"]), min_size=1, max_size=3, unique=True))
    categories = st.sampled_from(["acute", "prescribing", "community", "running_costs"])
    subcategories = st.sampled_from(["", "Trust A", "Trust B", "GP"])
    years = st.sampled_from([YEAR, YEAR, YEAR - 1, YEAR - 2, YEAR + 1])
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from(orgs), years, st.integers(1, 12), categories, subcategories),
            max_size=60,
            unique=True,
        )
    )
    rows = []
    for org_code, year, month, category, subcategory in keys:
        actual = draw(st.none() | _PENCE)
        one_off = 0 if actual is None else draw(st.just(0) | _PENCE)
        rows.append(
            {
                "org_code": org_code,
                "year": year,
                "month": month,
                "category": category,
                "subcategory": subcategory,
                "budget_pence": draw(_PENCE),
                "actual_pence": actual,
                "one_off_pence": one_off,
            }
        )
    return rows


def run(backend: Backend, rows: Sequence[Row], *, as_at_month: int) -> list[Row]:
    ledger = memtable(rows, LEDGER_SCHEMA)
    return backend.to_rows(line_figures_with_last_year(ledger, year=YEAR, as_at_month=as_at_month))


@PROPERTY
@given(rows=ledgers(), as_at_month=st.integers(1, 12))
def test_joined_line_figures_match_plain_sql_and_python(backend: Backend, rows: list[Row], as_at_month: int) -> None:
    result = run(backend, rows, as_at_month=as_at_month)
    assert [tuple(row) for row in result] == [JOINED_COLUMNS] * len(result)
    assert result == sqlite_query(rows, _SQL_JOINED, year=YEAR, as_at_month=as_at_month)
    assert result == python_reference(rows, year=YEAR, as_at_month=as_at_month)


@PROPERTY
@given(rows=ledgers(), as_at_month=st.integers(1, 12))
def test_line_figures_and_last_year_profile_match_plain_sql(
    backend: Backend, rows: list[Row], as_at_month: int
) -> None:
    ledger = memtable(rows, LEDGER_SCHEMA)
    this_year = backend.to_rows(line_figures(ledger, year=YEAR, as_at_month=as_at_month))
    profile = backend.to_rows(last_year_profile(ledger, year=YEAR, as_at_month=as_at_month))
    assert by_key(this_year) == by_key(sqlite_query(rows, _SQL_THIS_YEAR, year=YEAR, as_at_month=as_at_month))
    assert by_key(profile) == by_key(sqlite_query(rows, _SQL_LAST_YEAR, year=YEAR, as_at_month=as_at_month))
    assert len(by_key(this_year)) == len(this_year)


# --- hand-worked cases ----------------------------------------------------------------------------------------


def ledger_row(
    year: int,
    month: int,
    budget: int,
    actual: int | None,
    one_off: int = 0,
    *,
    org_code: str = "01A",
    category: str = "acute",
    subcategory: str = "Trust A",
) -> Row:
    return {
        "org_code": org_code,
        "year": year,
        "month": month,
        "category": category,
        "subcategory": subcategory,
        "budget_pence": budget,
        "actual_pence": actual,
        "one_off_pence": one_off,
    }


def test_empty_ledger_keeps_the_schema_and_has_no_rows(backend: Backend) -> None:
    expression = line_figures_with_last_year(memtable([], LEDGER_SCHEMA), year=YEAR, as_at_month=8)
    assert tuple(expression.schema().names) == JOINED_COLUMNS
    assert {name: str(dtype) for name, dtype in expression.schema().items()} == {
        "org_code": "string",
        "category": "string",
        "subcategory": "string",
        **dict.fromkeys(THIS_YEAR_COLUMNS, "int64"),
        **dict.fromkeys(LAST_YEAR_COLUMNS, "int64"),
    }
    table = backend.to_arrow(expression)
    assert table.num_rows == 0
    assert tuple(table.column_names) == JOINED_COLUMNS
    assert backend.to_rows(expression) == []


def test_line_new_this_year_has_no_last_year_figures(backend: Backend) -> None:
    rows = [
        ledger_row(YEAR, 1, 1_000, 900),
        ledger_row(YEAR, 2, 1_000, 1_300, 200),
        ledger_row(YEAR, 3, 1_000, None),
        ledger_row(YEAR, 4, 1_000, 5_000),  # after the as-at month: budget counts to the year only
    ]
    (line,) = run(backend, rows, as_at_month=3)
    assert line == {
        "org_code": "01A",
        "category": "acute",
        "subcategory": "Trust A",
        "annual_budget_pence": 4_000,
        "ytd_budget_pence": 3_000,
        "ytd_actual_pence": 2_200,
        "ytd_one_off_pence": 200,
        "months_reported": 2,
        "sum_month_times_recurring": 1 * 900 + 2 * (1_300 - 200),
        "exit_recurring_pence": 900 + (1_300 - 200) + 0,  # M01..M03, before M03 only what there is
        "last_year_ytd_recurring_pence": None,
        "last_year_total_recurring_pence": None,
        "last_year_exit_recurring_pence": None,
    }


def test_line_only_last_year_is_absent_and_last_year_joins_on_the_whole_key(backend: Backend) -> None:
    rows = [
        ledger_row(YEAR, 1, 100, 110),
        ledger_row(YEAR - 1, 1, 100, 70),
        ledger_row(YEAR - 1, 2, 100, 80, 30),
        ledger_row(YEAR - 1, 12, 100, 90),
        ledger_row(YEAR - 1, 1, 100, 999, subcategory="Trust B"),  # closed last year: no row this year
        ledger_row(YEAR - 1, 1, 100, 555, org_code="02B"),  # another organisation's line of the same name
        ledger_row(YEAR - 2, 1, 100, 12_345),  # two years back: ignored
    ]
    result = run(backend, rows, as_at_month=2)
    assert [(row["org_code"], row["subcategory"]) for row in result] == [("01A", "Trust A")]
    assert result[0]["last_year_ytd_recurring_pence"] == 70 + (80 - 30)
    assert result[0]["last_year_total_recurring_pence"] == 70 + (80 - 30) + 90
    assert result == python_reference(rows, year=YEAR, as_at_month=2)


def test_exit_window_is_the_last_three_months_to_date_this_year_and_last(backend: Backend) -> None:
    rows = [ledger_row(YEAR, month, 0, 100 * month) for month in range(1, 8)]  # 100, 200, ..., 700
    rows[3] = ledger_row(YEAR, 4, 0, 400, 150)  # a £1.50 one-off in M04 stays out of the exit window
    rows += [ledger_row(YEAR - 1, month, 0, 10 * month) for month in range(1, 13)]  # 10, 20, ..., 120
    (at_m05,) = run(backend, rows, as_at_month=5)
    assert at_m05["exit_recurring_pence"] == 300 + (400 - 150) + 500  # M03, M04, M05; M06 on is after the month
    assert at_m05["last_year_exit_recurring_pence"] == 30 + 40 + 50
    (at_m02,) = run(backend, rows, as_at_month=2)
    assert at_m02["exit_recurring_pence"] == 100 + 200  # only two months to date
    assert at_m02["last_year_exit_recurring_pence"] == 10 + 20


def test_output_is_ordered_by_org_category_subcategory(backend: Backend) -> None:
    rows = [
        ledger_row(YEAR, 1, 1, 1, org_code=org, category=category, subcategory=sub)
        for org in ("02B", "01A")
        for category in ("prescribing", "acute")
        for sub in ("Trust B", "", "Trust A")
    ]
    keys = [tuple(row[key] for key in LINE_KEYS) for row in run(backend, rows, as_at_month=1)]
    assert keys == sorted(keys)
    assert len(keys) == 12
