"""Server-side sorting, filtering and paging of a long table's rows (a national month of prescribing is thousands of
practices): the page shows one page of the rows sorted and filtered as the query asks, and links to the others,
without JavaScript. ``tables.js`` enhances the short tables in the browser instead."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

PAGE_SIZE = 100

Row = Mapping[str, Any]
T = TypeVar("T")


@dataclass(frozen=True)
class TableQuery:
    """What the reader asked for: a text filter, a sort column (one of the table's keys) and direction, a page."""

    q: str = ""
    sort: str = ""
    descending: bool = False
    page: int = 1

    def link(self, **changes: Any) -> str:
        """This query with ``changes``, as a query string (a new sort or filter starts at page 1)."""
        values = {"q": self.q, "sort": self.sort, "dir": "desc" if self.descending else "", "page": self.page}
        values.update(changes)
        if "sort" in changes or "q" in changes:
            values["page"] = changes.get("page", 1)
        return urlencode({key: value for key, value in values.items() if value not in ("", None, 1)})


@dataclass(frozen=True)
class Paged:
    rows: list[Row]
    page: int
    pages: int
    total: int  # rows after filtering
    first: int  # the number of the first row shown, from 1 (0 when none)


def _ordered(value: Any) -> tuple[int, Any]:
    """None sorts last whichever the direction (the direction reverses only the values present)."""
    return (0, value) if value is not None else (1, 0)


def page_of(items: list[T], page: int, size: int) -> tuple[list[T], int, int]:
    """Page ``page`` (from 1, clamped to the pages there are) of ``items`` in pages of ``size``: (the page's items,
    the page, the number of pages, at least 1)."""
    pages = max(1, -(-len(items) // size))
    page = min(max(page, 1), pages)
    return items[(page - 1) * size : page * size], page, pages


def table_page(
    rows: Sequence[Row],
    query: TableQuery,
    sort_keys: Mapping[str, Callable[[Row], Any]],
    searched: Callable[[Row], str],
    size: int = PAGE_SIZE,
) -> Paged:
    """``rows`` filtered (``query.q`` in ``searched(row)``, ignoring case), sorted by ``sort_keys[query.sort]``
    (unknown keys leave the order alone) and cut to ``query.page`` (clamped to the pages there are)."""
    needle = query.q.strip().casefold()
    kept = [row for row in rows if needle in searched(row).casefold()] if needle else list(rows)
    key = sort_keys.get(query.sort)
    if key is not None:
        present = [row for row in kept if key(row) is not None]
        absent = [row for row in kept if key(row) is None]
        kept = sorted(present, key=lambda row: _ordered(key(row)), reverse=query.descending) + absent
    shown, page, pages = page_of(kept, query.page, size)
    return Paged(shown, page, pages, len(kept), (page - 1) * size + 1 if shown else 0)
