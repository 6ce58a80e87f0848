"""Jinja2 pages: the templates directory, money and period filters, and one ``render`` for every page."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from outturn.domain.backtest import method_in_words
from outturn.domain.money import (
    VARIANCE_CONVENTION,
    format_count,
    format_millions,
    format_pounds,
    format_surplus,
    format_thousands,
)
from outturn.domain.year_end import TEMPLATE_LABELS
from outturn.reports.pack import tidy_name
from outturn.services.users import Role, User
from outturn.web.cache import Cached
from outturn.web.security import csrf_token_for, optional_user

TEMPLATES_DIR = Path(__file__).parent / "templates"

NAVIGATION = (
    ("overview", "/", "Overview"),
    ("position", "/position", "Position"),
    ("savings", "/savings", "Savings"),
    ("plan", "/plan", "Plan"),
    ("practices", "/practices", "Practices"),
    ("contracts", "/contracts", "Contracts"),
    ("prescribing", "/prescribing", "Prescribing"),
    ("scenarios", "/scenarios", "Scenarios"),
    ("close", "/close", "Close"),
    ("commentary", "/commentary", "Commentary"),
    ("imports", "/imports", "Imports"),
)
ADMIN_NAVIGATION = (("users", "/users", "Users"),)
PRACTICE_NAVIGATION = (("practices", "/practices", "My practice"), ("prescribing", "/prescribing", "Prescribing"))
BUDGET_HOLDER_NAVIGATION = (("commentary", "/commentary", "My lines"),)


def _percent(value: float | str | None, places: int = 0) -> str:
    """A share as a percentage; a decimal string (a likelihood as the documents carry it) is read exactly."""
    return "–" if value is None else f"{Decimal(str(value)) * 100:.{places}f}%"


def _pounds(pence: int | None) -> str:
    return "–" if pence is None else format_pounds(pence)


UNITS_COOKIE = "outturn_units"
UNITS = {"thousands": "£000", "millions": "£m"}  # the figures switch: its values and the column headings' unit
DEFAULT_UNITS = "thousands"
SWITCHED_PAGES = frozenset({"overview", "position", "contracts", "scenarios", "plan"})  # whose tables follow the switch
ORG_KIND_LABELS = {"icb": "ICB", "sub_icb": "sub-ICB", "pcn": "PCN", "practice": "practice", "region": "region"}


def units_of(request: Request) -> str:
    """The figures' unit this browser chose (the cookie the switch sets), else £000."""
    chosen = request.cookies.get(UNITS_COOKIE, DEFAULT_UNITS)
    return chosen if chosen in UNITS else DEFAULT_UNITS


@pass_context
def _money(context: Context, pence: int | None) -> str:
    """A table's figure in the unit chosen: each rounded once from pence (half away from zero, the domain's rule)."""
    if pence is None:
        return "–"
    if context.get("units") == "millions":
        return format_millions(pence, places=1)
    return format_thousands(pence)


@pass_context
def _money_surplus(context: Context, pence: int) -> str:
    """A surplus or deficit in words, in the unit chosen: ``£6,600k surplus`` or ``£6.6m surplus``, ``break-even``."""
    if pence == 0:
        return "break-even"
    return f"{_money(context, abs(pence))} {'surplus' if pence > 0 else 'deficit'}"


def month_name(text: str | None) -> str:
    """``2025-09`` as ``September 2025``; any other text as it is."""
    try:
        return f"{date.fromisoformat(f'{text}-01'):%B %Y}"
    except (TypeError, ValueError):
        return text or ""


def plain_when(value: datetime | date | str | None) -> str:
    """A date or a time in plain English in the server's zone: ``2 December 2026 at 14:05``, ``2 December 2026``
    (an ISO 8601 text is read first)."""
    if value is None or value == "":
        return ""
    when: datetime | date
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
        except ValueError:
            return value
    else:
        when = value
    if isinstance(when, datetime):
        local = when.astimezone() if when.tzinfo else when
        return f"{local.day} {local:%B %Y} at {local:%H:%M}"
    return f"{when.day} {when:%B %Y}"


def build_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.filters["millions"] = lambda pence, places=1: "–" if pence is None else format_millions(pence, places=places)
    env.filters["thousands"] = lambda pence: "–" if pence is None else format_thousands(pence)
    env.filters["pounds"] = _pounds
    env.filters["surplus"] = format_surplus
    env.filters["whole"] = format_count
    env.globals["variance_convention"] = VARIANCE_CONVENTION
    env.filters["percent"] = _percent
    env.filters["money"] = _money
    env.filters["money_surplus"] = _money_surplus
    env.filters["month_name"] = month_name
    env.filters["tidy_name"] = tidy_name  # a trust's name as the pack writes it, not in capitals
    env.filters["when"] = plain_when
    env.filters["method_in_words"] = method_in_words  # ``auto`` in words
    env.filters["org_kind"] = lambda kind: ORG_KIND_LABELS.get(str(kind), str(kind).replace("_", " "))
    env.filters["pounds_input"] = lambda pence: "" if pence is None else f"{pence / 100:.2f}"
    env.globals["labels"] = TEMPLATE_LABELS
    return templates


def figures_note(cached: Cached[Any]) -> dict[str, Any]:
    """For a page of cached figures: when they were computed (server time) and whether newer ones are coming."""
    return {"figures_as_at": cached.as_at.astimezone().strftime("%H:%M:%S"), "figures_refreshing": cached.refreshing}


def figures_headers(cached: Cached[Any]) -> dict[str, str]:
    """The same for the API: ``X-Figures-As-At`` (ISO 8601, UTC) and ``X-Figures-Refreshing`` (true or false)."""
    return {
        "X-Figures-As-At": cached.as_at.isoformat(timespec="seconds"),
        "X-Figures-Refreshing": "true" if cached.refreshing else "false",
    }


def _navigation(user: User | None) -> tuple[tuple[str, str, str], ...]:
    if user is None:
        return ()
    if user.sees_everything:
        return NAVIGATION + ADMIN_NAVIGATION if user.role is Role.ADMIN else NAVIGATION
    return BUDGET_HOLDER_NAVIGATION if user.budget_holder is not None else PRACTICE_NAVIGATION


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    user = optional_user(request)
    values: dict[str, Any] = {
        "user": user,
        "csrf_token": csrf_token_for(request),
        "navigation": _navigation(user),
        "htmx": request.headers.get("HX-Request") == "true",
        "units": units_of(request),
        "unit_label": UNITS[units_of(request)],
        **(context or {}),
    }
    values.setdefault("figures_switch", values.get("active") in SWITCHED_PAGES)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, values, status_code=status_code)
