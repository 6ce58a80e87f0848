"""A scheme edit as the page's form or the API's JSON sends it, parsed into the service's ``SchemeChanges``.

The form names each remaining month's forecast ``forecast_M09`` (pounds as finance writes them: ``£10k``,
``12,500``; blank means "as planned"), the RAG override ``rag_override`` (blank: leave, ``clear``: remove) with
``rag_override_reason``, ``status`` and ``version`` (the version the person started from).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from outturn.domain.errors import BadInput
from outturn.domain.money import MoneyError, Pence, format_pounds, parse_money
from outturn.domain.periods import MONTHS_IN_YEAR
from outturn.domain.savings import Rag, Scheme, SchemeStatus
from outturn.domain.savings_rules import SchemeFault
from outturn.services.savings import SchemeChanges

CLEAR = "clear"


@dataclass(frozen=True)
class SchemeEdit:
    version: int
    changes: SchemeChanges
    entered: Mapping[str, str]  # what was typed, to show again beside errors or a conflict


class EditErrors(Exception):
    def __init__(self, errors: Mapping[str, str], entered: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in errors.items()))
        self.errors = dict(errors)
        self.entered = dict(entered)


def month_field(month: int) -> str:
    return f"forecast_M{month:02d}"


def form_field(fault: SchemeFault) -> str:
    """The form's name for a field the scheme rules refuse (``forecast_M09``), to show the reason beside it."""
    return fault.field if fault.month is None else f"{fault.field}_M{fault.month:02d}"


def _forecasts(form: Mapping[str, str], months: range, errors: dict[str, str]) -> dict[int, Pence | None]:
    values: dict[int, Pence | None] = {}
    for month in months:
        name = month_field(month)
        if name not in form:
            continue
        text = form[name].strip()
        try:
            values[month] = parse_money(text) if text else None
        except MoneyError as error:
            errors[name] = str(error)
    return values


def _rag(form: Mapping[str, str], errors: dict[str, str]) -> tuple[Rag | None, str | None, bool]:
    chosen = form.get("rag_override", "").strip().lower()
    reason = form.get("rag_override_reason", "").strip()
    if not chosen:
        return None, None, False
    if chosen == CLEAR:
        return None, None, True
    try:
        rag = Rag.parse(chosen)
    except BadInput as error:
        errors["rag_override"] = str(error)
        return None, None, False
    if not reason:
        errors["rag_override_reason"] = "a RAG override needs a reason"
    return rag, reason, False


def parse_scheme_edit(form: Mapping[str, str], after_month: int) -> SchemeEdit:
    """The edit in ``form``; forecasts are accepted only for months after the as-at month (later months)."""
    entered = {key: value for key, value in form.items() if key != "csrf_token"}
    errors: dict[str, str] = {}
    try:
        version = int(form.get("version", ""))
    except ValueError:
        version = 0
        errors["version"] = "missing: reload the scheme and edit again"
    forecast = _forecasts(form, range(after_month + 1, MONTHS_IN_YEAR + 1), errors)
    rag, reason, clear = _rag(form, errors)
    status_text = form.get("status", "").strip()
    status = None
    if status_text:
        try:
            status = SchemeStatus.parse(status_text)
        except BadInput as error:
            errors["status"] = str(error)
    if errors:
        raise EditErrors(errors, entered)
    changes = SchemeChanges(
        status=status, forecast=forecast, rag_override=rag, rag_override_reason=reason, clear_rag_override=clear
    )
    return SchemeEdit(version, changes, entered)


def differences(mine: Scheme, theirs: Scheme) -> list[tuple[str, str, str]]:
    """(field, my value, their value) for each field the two versions of a scheme disagree on."""
    rows: list[tuple[str, str, str]] = []
    for label, attribute in (("Status", "status"), ("RAG override", "rag_override"), ("Reason", "rag_override_reason")):
        left, right = getattr(mine, attribute), getattr(theirs, attribute)
        if left != right:
            rows.append((label, "" if left is None else str(left), "" if right is None else str(right)))
    for month in range(1, MONTHS_IN_YEAR + 1):
        left_pence, right_pence = mine.forecast[month - 1], theirs.forecast[month - 1]
        if left_pence != right_pence:
            rows.append((f"Forecast M{month:02d}", _money(left_pence), _money(right_pence)))
    return rows


def _money(pence: Pence | None) -> str:
    return "as planned" if pence is None else format_pounds(pence)
