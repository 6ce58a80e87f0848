"""The board pack's narrative on budget holders' commentary, by rule (``domain.commentary.pack_digest`` chooses
the lines):

- **Quoted**: the commentary on each of the largest variances above the threshold that has one, largest first,
  attributed to the line and its budget holder, with the forecast variance (display rounding as the rest of the
  narrative: ``narrative.amount``); a long commentary is cut at ``QUOTE_CHARACTERS`` with an ellipsis.
- **Missing**: the lines above the threshold with no commentary, largest first, each with its holder and forecast
  variance; past the ones named, how many more.
"""

from __future__ import annotations

from outturn.domain.commentary import CommentaryDigest, CommentedLine
from outturn.domain.trial_balance import BudgetHolderLine
from outturn.reports.narrative import amount

QUOTE_CHARACTERS = 400


def line_label(line: BudgetHolderLine) -> str:
    """``Acute commissioning / Clinical services (01A)``: the descriptions where held, else the codes."""
    key = line.key
    centre = line.cost_centre_description or key.cost_centre
    subjective = line.subjective_description or key.subjective_code
    return f"{centre} / {subjective} ({key.org_code})" if subjective else f"{centre} ({key.org_code})"


def _holder(line: BudgetHolderLine) -> str:
    return line.budget_holder or "no budget holder"


def _variance(line: BudgetHolderLine) -> str:
    variance = line.forecast_variance_pence
    if variance == 0:
        return "forecast on budget"
    return f"forecast {'underspend' if variance > 0 else 'overspend'} {amount(variance)}"


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE_CHARACTERS else flat[: QUOTE_CHARACTERS - 1].rstrip() + "…"


def _quoted_sentence(item: CommentedLine) -> str:
    line, written = item.line, item.commentary
    assert written is not None
    return (
        f"On {line_label(line)}, {_variance(line)}, {_holder(line)} (budget holder) writes: "
        f"\u201c{_quote(written.text)}\u201d"
    )


def commentary_sentences(digest: CommentaryDigest | None) -> tuple[str, ...]:
    """The quoted commentary, one sentence each, then one sentence listing the lines with none."""
    if digest is None:
        return ()
    sentences = [_quoted_sentence(item) for item in digest.quoted]
    if digest.missing_count:
        named = [f"{line_label(item.line)} ({_holder(item.line)}, {_variance(item.line)})" for item in digest.missing]
        count = digest.missing_count
        noun = "line above the commentary threshold has" if count == 1 else "lines above the commentary threshold have"
        more = count - len(named)
        listed = "; ".join(named) + (f"; and {more} more" if more > 0 else "")
        sentences.append(f"{count} {noun} no commentary: {listed}.")
    return tuple(sentences)
