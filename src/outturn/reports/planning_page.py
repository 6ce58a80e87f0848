"""The plan page's figures, read from the bridge document (``reports.planning.bridge_document``, the one the CLI
and the API give): one plan (the total, or an organisation), its years side by side, and each year as the
waterfall the pack draws (``reports.pack_charts.waterfall_svg``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from outturn.domain.errors import NotFound
from outturn.domain.position import BridgeStep
from outturn.reports.planning import basis_text, requirement_percent

UNDERLYING = "underlying_position"
UNDERLYING_LABEL = "Underlying position"
EXIT_POSITION = "exit_position"
NON_RECURRENT_ITEMS = "non_recurrent_items"
REQUIREMENT_LABEL = "Gap before savings (the savings requirement)"


@dataclass(frozen=True)
class SideBySideRow:
    """One step of the plan across its years: the pence of each year (None where the year has no such step); a
    subtotal row is a running position (the underlying position each year starts from), not a step."""

    label: str
    pence: tuple[int | None, ...]
    subtotal: bool = False


@dataclass(frozen=True)
class PlanPage:
    plan: dict[str, Any]  # the chosen plan of the bridge document (``organisations`` item or ``total``)
    choices: tuple[tuple[str, str], ...]  # (org code or "", name): the total first where there is one
    rows: tuple[SideBySideRow, ...]
    bases: dict[tuple[str, str], str]  # (year, label) -> "2.5% of the allocation (£1,000.0m)"
    percents: tuple[str, ...]  # each year's requirement as a % of its allocation


def choose_plan(document: dict[str, Any], org: str | None) -> dict[str, Any]:
    """The organisation's plan, else the total, else the only organisation's."""
    if org:
        plans: list[dict[str, Any]] = document["organisations"]
        for plan in plans:
            if plan["org_code"] == org.strip().upper():
                return plan
        raise NotFound(f"no plan for {org.strip().upper()!r}")
    total: dict[str, Any] | None = document["total"]
    first: dict[str, Any] = document["organisations"][0]
    return total if total is not None else first


def underlying_position(year: dict[str, Any]) -> int:
    """The underlying position a year starts from: the first year's exit position less its one-off items (the
    running position after them), a later year's position brought forward."""
    running: int = year["steps"][0]["running_pence"]
    for step in year["steps"][1:]:
        if step["kind"] != NON_RECURRENT_ITEMS:
            break
        running = step["running_pence"]
    return running


def _side_by_side(plan: dict[str, Any]) -> tuple[SideBySideRow, ...]:
    """The first year's opening steps, the underlying position of every year as a subtotal, then the steps."""
    opening = (EXIT_POSITION, NON_RECURRENT_ITEMS)
    by_year = [
        {(step["label"], step["kind"] in opening): 0 for step in year["steps"] if step["kind"] != UNDERLYING}
        for year in plan["years"]
    ]
    labels: list[tuple[str, bool]] = []
    for found, year in zip(by_year, plan["years"], strict=True):
        for step in year["steps"]:
            if step["kind"] == UNDERLYING:
                continue
            key = (step["label"], step["kind"] in opening)
            found[key] += step["pence"]
            if key not in labels:
                labels.append(key)
    rows = [
        SideBySideRow(label, tuple(found.get((label, True)) for found in by_year)) for label, first in labels if first
    ]
    rows.append(SideBySideRow(UNDERLYING_LABEL, tuple(underlying_position(year) for year in plan["years"]), True))
    rows.extend(
        SideBySideRow(label, tuple(found.get((label, False)) for found in by_year))
        for label, first in labels
        if not first
    )
    return tuple(rows)


def plan_page(document: dict[str, Any], org: str | None) -> PlanPage:
    plan = choose_plan(document, org)
    choices = tuple((item["org_code"], item["name"]) for item in document["organisations"])
    if document["total"] is not None:
        choices = (("", "All organisations (total)"), *choices)
    bases = {
        (year["year"], step["label"]): text
        for year in plan["years"]
        for step in year["steps"]
        if (text := basis_text(step))
    }
    percents = tuple(requirement_percent(year) for year in plan["years"])
    return PlanPage(plan, choices, _side_by_side(plan), bases, percents)


def _plain(label: str) -> str:
    """A label matplotlib draws as written: a ``$`` would start its maths notation."""
    return label.replace("$", r"\$")


def waterfall_steps(year: dict[str, Any]) -> tuple[BridgeStep, ...]:
    """A year of the bridge as the pack's waterfall: the starting position as a bar from zero, the one-off items
    removed then the underlying position as a subtotal (first year), each step floating, and the gap the savings
    must close as the last bar (the requirement, shown as the deficit it closes)."""
    steps = year["steps"]
    bars = [BridgeStep(_plain(steps[0]["label"]), steps[0]["pence"], "start", steps[0]["running_pence"])]
    for step in steps[1:]:
        bars.append(BridgeStep(_plain(step["label"]), step["pence"], "step", step["running_pence"]))
        if step["kind"] == NON_RECURRENT_ITEMS:
            bars.append(BridgeStep(UNDERLYING_LABEL, 0, "subtotal", step["running_pence"]))
    end = -year["savings_requirement_pence"]
    bars.append(BridgeStep(REQUIREMENT_LABEL, end, "end", end))
    return tuple(bars)
