"""Challenges on the contracts pages: finance raises and changes them (CSRF-checked forms), board users see but
cannot change them, a case-mix drift cell is raised as a coding challenge in one step, and the statement and the
API show the same figures as the service's one builder.

The fixture is tests/web_helpers.py's contract RXX x 01A (2025/26, as at 2025-09 = M06, market forces factor 1),
with the first quarter's non-elective spells made partly cheaper: in April, May and June 3 of each month's 12 spells
are AA22D at £7,000 (a tariff row added here), the rest AA22C at £9,859. Case mix, non-elective, treatment function
300: the baseline (M01-M03) 36 spells for 9 x £7,000 + 27 x £9,859 = £329,193 (mean £9,144.25); now (M04-M06) 36
spells at £9,859 = £354,924 (mean £9,859). The challenge: (£9,859 - £9,144.25) x 36 = £714.75 x 36 = £25,731.00.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from outturn.domain.activity import ActivityKind
from outturn.domain.periods import FinancialYear
from outturn.services import challenges
from outturn.services.pricing import import_activity
from outturn.services.workspace import Workspace
from outturn.web.app import create_app
from web_helpers import AT_ONCE, TARIFF_FILES, _activity_csvs, add_contracts, sign_in, web_workspace

__all__ = ["web_workspace"]
YEAR = FinancialYear(2025)
DRIFT_PENCE = (9_859_00 - 9_144_25) * 36  # 2,573,100p


@pytest.fixture
def client(web_workspace: Workspace) -> Iterator[TestClient]:
    add_contracts(web_workspace)
    root = web_workspace.settings.reference_dir
    assert root is not None
    tariff = root / "nt1819_apc_oproc.csv"
    tariff.write_text(tariff.read_text() + "AA22D,Test Stroke,-,6000,-,-,117,7000,98,240,No,-\n", encoding="utf-8")
    lines = _activity_csvs()["apc"].splitlines()
    cheaper = [re.sub(r"AA22C(?=,2025-0[456])", "AA22D", line) if re.match(r"S[456]-[012],", line) else line
               for line in lines]  # fmt: skip
    assert sum("AA22D" in line for line in cheaper) == 9
    path: Path = root / "activity_apc_drift.csv"
    path.write_text("\n".join(cheaper) + "\n", encoding="utf-8")
    import_activity(web_workspace, path, ActivityKind.APC, replace=True)
    assert TARIFF_FILES  # the rows above extend the fixture's tariff
    with TestClient(create_app(web_workspace.settings, AT_ONCE)) as found:
        yield found


def post(client: TestClient, url: str, token: str | None, **fields: str) -> int:
    data = {"as_at": "2025-09", "commissioner": "01A", **fields}
    if token is not None:
        data["csrf_token"] = token
    return client.post(url, data=data, follow_redirects=False).status_code


def statement(client: TestClient) -> dict[str, object]:
    [document] = client.get("/api/contracts/RXX").json()
    return document  # type: ignore[no-any-return]


def test_finance_raises_and_agrees_a_challenge_and_the_statement_counts_it(
    client: TestClient, web_workspace: Workspace
) -> None:
    token = sign_in(client, "fiona")
    before = statement(client)
    assert post(client, "/contracts/RXX/challenges", token, category="counting", value="1,000.00",
                months="M05,M06", notes="duplicate spells") == 303  # fmt: skip
    log = client.get("/api/contracts/RXX/challenges").json()
    assert log == challenges.challenge_log(web_workspace, YEAR, "RXX")  # the CLI's document (one builder)
    [raised] = log["challenges"]
    assert (raised["reference"], raised["status"], raised["value_pence"], raised["months"]) == (
        "CH-2025-0001",
        "open",
        100_000,
        [5, 6],
    )
    assert statement(client)["challenges"]["open_expected_pence"] == 50_000  # type: ignore[index]  # £1,000 x 50%
    assert post(client, "/contracts/RXX/challenges/CH-2025-0001", token, version="1", status="agreed",
                agreed="800") == 303  # fmt: skip
    after = statement(client)
    # agreed £800 over M05-M06, both to date as at M06: £800 off the forecast and off the actual to date
    assert after["forecast_pence"] == before["forecast_pence"] - 80_000  # type: ignore[operator]
    assert after["ytd_actual_pence"] == before["ytd_actual_pence"] - 80_000  # type: ignore[operator]
    page = client.get("/contracts/RXX").text
    assert 'id="challenge-CH-2025-0001"' in page and "Raise the challenge" in page
    trail = client.get("/api/challenges/CH-2025-0001").json()
    assert [(entry["action"], entry["who"]) for entry in trail["history"]] == [("add", "fiona"), ("update", "fiona")]


def test_a_change_from_an_old_version_is_a_conflict(client: TestClient) -> None:
    token = sign_in(client, "fiona")
    post(client, "/contracts/RXX/challenges", token, category="coding", value="50")
    assert post(client, "/contracts/RXX/challenges/CH-2025-0001", token, version="1", notes="first") == 303
    response = client.post(
        "/contracts/RXX/challenges/CH-2025-0001",
        data={"csrf_token": token, "version": "1", "status": "withdrawn", "as_at": "2025-09"},
    )
    assert response.status_code == 409 and "it is now version 2" in response.text
    [stored] = client.get("/api/contracts/RXX/challenges").json()["challenges"]
    assert (stored["status"], stored["notes"], stored["version"]) == ("open", "first", 2)


def test_board_users_see_challenges_but_cannot_change_them(client: TestClient) -> None:
    token = sign_in(client, "fiona")
    post(client, "/contracts/RXX/challenges", token, category="coding", value="50")
    client.post("/logout", data={"csrf_token": token})
    board = sign_in(client, "bob")
    page = client.get("/contracts/RXX").text
    assert 'id="challenge-CH-2025-0001"' in page
    assert "Raise the challenge" not in page and "Raise a challenge" not in page and "Change CH-2025-0001" not in page
    assert post(client, "/contracts/RXX/challenges", board, category="coding", value="50") == 403
    assert post(client, "/contracts/RXX/challenges/CH-2025-0001", board, version="1", status="withdrawn") == 403
    assert post(client, "/contracts/RXX/drift-challenge", board, point_of_delivery="non_elective",
                treatment_function="300") == 403  # fmt: skip
    assert len(client.get("/api/contracts/RXX/challenges").json()["challenges"]) == 1


def test_a_form_without_its_csrf_token_is_refused(client: TestClient) -> None:
    sign_in(client, "fiona")
    assert post(client, "/contracts/RXX/challenges", None, category="coding", value="50") == 403
    assert post(client, "/contracts/RXX/challenges", "forged", category="coding", value="50") == 403
    assert client.get("/api/contracts/RXX/challenges").json()["challenges"] == []


@pytest.mark.parametrize(
    ("fields", "status", "why"),
    [
        ({"category": "coding", "value": "-5"}, 422, "more than zero"),
        ({"category": "upcoding", "value": "5"}, 422, "not one of coding"),
        ({"category": "coding", "value": "5", "months": "M13"}, 422, "outside the financial year"),
        ({"category": "coding", "value": "5", "commissioner": "99Z"}, 404, "no contract"),
    ],
)
def test_bad_input_is_a_clear_error(client: TestClient, fields: dict[str, str], status: int, why: str) -> None:
    token = sign_in(client, "fiona")
    response = client.post(
        "/contracts/RXX/challenges", data={"as_at": "2025-09", "commissioner": "01A", "csrf_token": token, **fields}
    )
    assert response.status_code == status and why in response.text
    if status == 422:  # the page again, saying why
        assert 'id="challenge-error"' in response.text and 'id="statement-01A"' in response.text


def test_a_drift_cell_is_raised_as_a_coding_challenge_in_one_step(client: TestClient) -> None:
    token = sign_in(client, "fiona")
    [cell] = [row for row in statement(client)["case_mix_drift"] if row["treatment_function"] == "300"]  # type: ignore[attr-defined]
    assert cell["drift_pence"] == DRIFT_PENCE
    assert "Raise a challenge" in client.get("/contracts/RXX").text
    assert post(client, "/contracts/RXX/drift-challenge", token, point_of_delivery="non_elective",
                treatment_function="300") == 303  # fmt: skip
    [raised] = client.get("/api/contracts/RXX/challenges").json()["challenges"]
    assert (raised["category"], raised["value_pence"], raised["point_of_delivery"], raised["treatment_function"]) == (
        "coding",
        DRIFT_PENCE,
        "non_elective",
        "300",
    )
    assert raised["months"] == [4, 5, 6] and raised["raised_by"] == "fiona"
    assert "£9,859.00" in raised["notes"] and "£9,144.25" in raised["notes"] and "= £25,731.00" in raised["notes"]
