"""Long tables: the prescribing page's practices sorted, filtered and paged on the server (works without
JavaScript), and the paging rule itself; tables.js's enhancement of short tables is checked in the browser
(tests/test_web_browser.py).

The prescribing fixture (tests/web_helpers.py): A81001 10 items costing £26.00; A81002 10 items, £143.00 (generic
rate 50%); A81003 20 items, £104.00.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from outturn.web.paging import TableQuery, table_page
from web_helpers import shared_client, shared_workspace, sign_in

__all__ = ["shared_client", "shared_workspace"]

ROWS = [{"code": f"P{number:03d}", "value": (number * 37) % 101 if number % 10 else None} for number in range(1, 251)]
SORTS = {"code": lambda row: row["code"], "value": lambda row: row["value"]}


def _practices(html: str) -> list[str]:
    return re.findall(r'<tr id="rx-([A-Z0-9]+)">', html)


def test_a_page_is_a_hundred_rows_and_the_last_holds_the_rest() -> None:
    """250 rows: pages of 100, 100 and 50; page 3's first row is the 201st; a page past the end shows the last."""
    third = table_page(ROWS, TableQuery(page=3), SORTS, lambda row: row["code"])
    assert (third.page, third.pages, third.total, third.first, len(third.rows)) == (3, 3, 250, 201, 50)
    assert third.rows[0]["code"] == "P201"
    assert table_page(ROWS, TableQuery(page=99), SORTS, lambda row: row["code"]).page == 3
    assert table_page(ROWS, TableQuery(page=0), SORTS, lambda row: row["code"]).page == 1


def test_sorting_puts_missing_values_last_either_way() -> None:
    """Every tenth row has no value (25 of them); the other 225 sort by value, and the 25 follow in both
    directions."""
    for descending in (False, True):
        everything = table_page(ROWS, TableQuery(sort="value", descending=descending), SORTS, str, size=1_000).rows
        values = [row["value"] for row in everything]
        present = sorted((row["value"] for row in ROWS if row["value"] is not None), reverse=descending)
        assert values == present + [None] * 25


def test_a_filter_keeps_matching_rows_and_counts_them() -> None:
    """ "19" is in P019, P119, P190 to P199 and P219 (13 rows, in their order); "p19", ignoring case, is in P190 to
    P199 only (10)."""
    found = table_page(ROWS, TableQuery(q="19"), SORTS, lambda row: row["code"])
    assert [row["code"] for row in found.rows] == [
        "P019",
        "P119",
        *(f"P{number}" for number in range(190, 200)),
        "P219",
    ]
    assert (found.total, found.pages, found.first) == (13, 1, 1)
    assert table_page(ROWS, TableQuery(q="p19"), SORTS, lambda row: row["code"]).total == 10
    nothing = table_page(ROWS, TableQuery(q="zzz"), SORTS, lambda row: row["code"])
    assert (nothing.rows, nothing.total, nothing.first, nothing.pages) == ([], 0, 0, 1)


def test_the_query_link_keeps_the_sort_and_starts_a_new_sort_at_page_one() -> None:
    query = TableQuery(q="hill", sort="items", descending=True, page=3)
    assert query.link(page=4) == "q=hill&sort=items&dir=desc&page=4"
    assert query.link(sort="cost", dir="") == "q=hill&sort=cost"


def test_prescribing_practices_sorted_on_the_server(shared_client: TestClient) -> None:
    sign_in(shared_client, "bob")
    # by actual cost: A81001 £26.00 < A81003 £104.00 < A81002 £143.00
    assert _practices(shared_client.get("/prescribing?sort=cost").text) == ["A81001", "A81003", "A81002"]
    assert _practices(shared_client.get("/prescribing?sort=cost&dir=desc").text) == ["A81002", "A81003", "A81001"]
    # by generic rate, highest first: A81001 and A81003 at 100% (in their order), then A81002 at 50%
    assert _practices(shared_client.get("/prescribing?sort=generic&dir=desc").text)[-1] == "A81002"
    # an unknown column leaves the order alone rather than failing
    assert _practices(shared_client.get("/prescribing?sort=nonsense").text) == ["A81001", "A81002", "A81003"]


def test_prescribing_practices_filtered_by_code_or_name(shared_client: TestClient) -> None:
    sign_in(shared_client, "bob")
    page = shared_client.get("/prescribing?q=hill").text
    assert _practices(page) == ["A81002"]
    assert "Practices 1 to 1 of 1 matching “hill”." in page
    assert _practices(shared_client.get("/prescribing?q=a8100").text) == ["A81001", "A81002", "A81003"]
    assert "No practice matches “zzz”" in shared_client.get("/prescribing?q=zzz").text


def test_the_tables_a_browser_enhances_are_marked(shared_client: TestClient) -> None:
    sign_in(shared_client, "bob")
    assert '<table class="nhsuk-table" id="categories" data-enhance>' in shared_client.get("/position").text
    assert '<table class="nhsuk-table" id="contracts" data-enhance>' in shared_client.get("/contracts").text
    assert 'src="/static/outturn/outturn.js"' in shared_client.get("/position").text
    script = shared_client.get("/static/outturn/tables.js")
    assert script.status_code == 200 and "export function enhanceTables" in script.text
