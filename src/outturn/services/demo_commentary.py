"""The demo's SYNTHETIC commentary: a few budget holders' notes on the month's largest variances, so the board
pack's narrative has some to quote (``services.commentary.pack_commentary``) and the demo's budget holder account
has lines with commentary to read.

Each note says it is SYNTHETIC and is written through ``services.commentary.write_commentary`` (audited, by
``demo``), on the lines above the commentary threshold with the largest forecast variances.
"""

from __future__ import annotations

from outturn.domain.ledger import CostCategory
from outturn.domain.money import format_thousands
from outturn.domain.trial_balance import BudgetHolderLine
from outturn.services.commentary import commented_lines, write_commentary
from outturn.services.workspace import Workspace

DEMO_COMMENTARY_LINES = 3  # the pack quotes up to its own number of these (domain.commentary.PACK_QUOTES)
SYNTHETIC_PREFIX = "SYNTHETIC demo commentary."
_OVERSPEND = (
    "Activity is running above plan and the forecast carries the year-to-date rate forward; a recovery plan "
    "with the providers is being agreed and the forecast will be revisited at the next month-end."
)
_UNDERSPEND = (
    "Spend is below the phased budget because schemes started later than planned; the slippage is expected to "
    "continue and has been offered as a non-recurrent benefit to the system."
)

# what a budget holder would say where the general reasons read wrong: a reserve is held, not spent on schemes
_BY_CATEGORY = {
    (CostCategory.RESERVES_CONTINGENCY, False): (
        "The reserve is held uncommitted to offset the forecast overspends elsewhere in the position; it is "
        "released to the position at the month-end as the risks it covers crystallise or fall away."
    ),
    (CostCategory.CONTINUING_HEALTHCARE, True): (
        "Fully funded packages are running above plan, with more complex packages at higher weekly rates; the "
        "forecast carries the current caseload to the year-end and a review of the highest-cost packages is under way."
    ),
    (CostCategory.PRESCRIBING, True): (
        "Items and price per item are both above plan, with category M price concessions adding cost; the "
        "medicines optimisation team is targeting the switches in the savings plan."
    ),
}


def synthetic_text(line: BudgetHolderLine) -> str:
    """A note on the line, labelled SYNTHETIC, naming its forecast variance (budget less forecast)."""
    variance = line.forecast_variance_pence
    direction = "overspend" if variance < 0 else "underspend"
    general = _OVERSPEND if variance < 0 else _UNDERSPEND
    reason = _BY_CATEGORY.get((line.category, variance < 0), general)
    return f"{SYNTHETIC_PREFIX} {line.subcategory}: forecast {direction} of {format_thousands(abs(variance))}. {reason}"


def write_demo_commentary(
    workspace: Workspace, org_code: str, as_at: str, lines: int = DEMO_COMMENTARY_LINES
) -> tuple[BudgetHolderLine, ...]:
    """Commentary on the organisation's ``lines`` largest variances above the threshold, as at ``as_at``; the
    lines written on, largest first."""
    _month, items = commented_lines(workspace, as_at, None, org_code)
    chosen = tuple(item.line for item in items if item.line.needs_commentary and item.commentary is None)[:lines]
    for line in chosen:
        write_commentary(workspace, line.key, as_at, synthetic_text(line), 0, "demo")
    return chosen
