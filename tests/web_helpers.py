"""A small workspace for the web tests, its accounts, and signing in through the login form.

The figures are chosen to be worked by hand (see each test): NHS Test sub-ICB 01A has £13m allocation and a
£0.5m surplus control total; its one ledger line has a £1m monthly budget and £1.1m monthly actuals to M06.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from outturn.domain.periods import FinancialYear
from outturn.domain.savings import SavingsTarget, Scheme, SchemeStatus, Workstream
from outturn.reports.savings_workbook import write_savings_workbook
from outturn.services import savings, users
from outturn.services.imports import import_ledger, import_organisations, import_plans, import_risks
from outturn.services.users import Role
from outturn.services.workspace import Workspace, init_workspace
from outturn.web import WebConfig, create_app

YEAR = FinancialYear(2025)
POUND = 100
ORGANISATIONS = """code,name,kind,parent_code
QXX,Test ICB,icb,
01A,NHS Test sub-ICB,sub_icb,QXX
P1,North PCN,pcn,01A
P2,South PCN,pcn,01A
A81001,Riverside Surgery,practice,P1
A81002,Hill Practice,practice,P1
A81003,Meadow Practice,practice,P2
"""
PLAN = """org_code,year,item,amount,description
01A,2025/26,recurrent_allocation,£13m,
01A,2025/26,control_total,£0.5m,
"""
RISKS = """org_code,year,kind,description,value,likelihood,category
01A,2025/26,risk,Winter pressures,£400k,50%,acute
01A,2025/26,risk,CHC claims,£1m,10%,continuing_healthcare
01A,2025/26,risk,Drug prices,£300k,90%,prescribing
01A,2025/26,mitigation,Estates disposal,£100k,50%,
"""
PASSWORDS = {
    "fiona": "finance-password-1",
    "bob": "board-password-1",
    "pat": "practice-password-1",
    "ada": "admin-password-1",
}


def ledger_csv() -> str:
    rows = ["org_code,year,month,category,subcategory,budget,actual"]
    for month in range(1, 13):
        actual = "1100000" if month <= 6 else ""
        rows.append(f"01A,2025/26,M{month:02d},acute,Trust A,1000000,{actual}")
    return "\n".join(rows) + "\n"


def scheme(reference: str, monthly_pounds: int, delivered_share: Decimal, status: SchemeStatus) -> Scheme:
    monthly = monthly_pounds * POUND
    delivered = tuple(int(monthly * delivered_share) if month <= 6 else None for month in range(1, 13))
    return Scheme(
        reference,
        f"Scheme {reference}",
        "01A",
        YEAR,
        Workstream.PRESCRIBING,
        planned=(monthly,) * 12,
        delivered=delivered,
        status=status,
        confidence=Decimal("0.9"),
    )


# S1 delivers its plan, S2 half of it: plan £120k + £240k, delivered to M06 £60k + £60k
SCHEMES = (
    scheme("S1", 10_000, Decimal(1), SchemeStatus.IN_DELIVERY),
    scheme("S2", 20_000, Decimal("0.5"), SchemeStatus.IN_DELIVERY),
)


def build_workspace(root: Path, store_url: str | None = None) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    workspace = init_workspace(
        root / "ws", reference_dir=root, default_org="01A", default_as_at="2025-09", store_url=store_url
    )
    for name, text, importer in (
        ("orgs.csv", ORGANISATIONS, import_organisations),
        ("plan.csv", PLAN, import_plans),
        ("ledger.csv", ledger_csv(), import_ledger),
        ("risks.csv", RISKS, import_risks),
    ):
        (root / name).write_text(text, encoding="utf-8")
        importer(workspace, root / name)
    workbook = write_savings_workbook(root / "plan.xlsx", list(SCHEMES), [SavingsTarget("01A", YEAR, 500_000 * POUND)])
    savings.import_workbook(workspace, workbook, "setup")
    users.add_user(workspace, "fiona", PASSWORDS["fiona"], Role.FINANCE, display_name="Fiona Finance")
    users.add_user(workspace, "bob", PASSWORDS["bob"], Role.BOARD)
    users.add_user(workspace, "pat", PASSWORDS["pat"], Role.PRACTICE, org_code="A81001")
    users.add_user(workspace, "ada", PASSWORDS["ada"], Role.ADMIN)
    return workspace


@pytest.fixture
def web_workspace(tmp_path: Path) -> Iterator[Workspace]:
    workspace = build_workspace(tmp_path)
    yield workspace
    workspace.close()


@pytest.fixture
def app_client(web_workspace: Workspace) -> Iterator[TestClient]:
    app = create_app(web_workspace.settings, WebConfig(stamp_seconds=0.0))
    with TestClient(app) as client:
        yield client


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str | None = None) -> str:
    """Sign in through the login form; returns the session's CSRF token."""
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": password or PASSWORDS[username], "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    session_token: str = client.get("/api/session").json()["csrf_token"]
    return session_token
