"""The figures switch: tables in £000 or £m, remembered for this browser by a cookie (``outturn_units``) and
applied by the server (``web.templating``'s ``money`` filter: each figure rounded once from pence). The switch is a
form on every page of figures, so it works without JavaScript; it returns to the page it was on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from outturn.domain.errors import BadInput
from outturn.web.security import CurrentUser, cookie_secure
from outturn.web.templating import UNITS, UNITS_COOKIE

router = APIRouter()
REMEMBER_SECONDS = 365 * 24 * 60 * 60


def _back_to(path: str) -> str:
    """Only a path of this site (never another site's address) is returned to; otherwise the overview."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


@router.post("/units", include_in_schema=False)
async def choose_units(
    request: Request, _user: CurrentUser, units: Annotated[str, Form()], back: Annotated[str, Form()] = "/"
) -> Response:
    if units not in UNITS:
        raise BadInput(f"figures are shown in one of: {', '.join(UNITS)} (got {units!r})")
    response = RedirectResponse(_back_to(back), status_code=303)
    response.set_cookie(
        UNITS_COOKIE,
        units,
        max_age=REMEMBER_SECONDS,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
    )
    return response
