"""A small workspace for the web tests, its accounts, and signing in through the login form.

The figures are chosen to be worked by hand (see each test): NHS Test sub-ICB 01A has £13m allocation and a
£0.5m surplus control total; its one ledger line has a £1m monthly budget and £1.1m monthly actuals to M06.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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
from outturn.services.workspace import Workspace, init_workspace, open_workspace
from outturn.settings import record_settings
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
# Plan assumptions for 01A (tests/test_web_plan.py; the default month is 2025-09, so the plan starts in 2026/27).
# 2026/27: exit -200,000; one-off benefit 100,000 removed -> -300,000; growth +390,000 -> 90,000; tariff
#   inflation 2.5% of the £13,390,000 allocation = 334,750 -> -244,750; demography 100,000 -> -344,750; control
#   total surplus 100,000 -> -444,750: a requirement of £444,750, 444,750 / 13,390,000 = 3.32%.
#   Carried forward: the recurrent steps (all but the control total) -344,750 + the £444,750 saved = 100,000.
# 2027/28: 100,000; growth 3% of the £13,390,000 brought forward = 401,700 -> 501,700 (allocation 13,791,700);
#   inflation 2.5% of 13,791,700 = 344,792.50 -> 156,907.50; demography 300,000 -> -143,092.50; no control
#   total (a 0% required surplus): a requirement of £143,092.50, 143,092.50 / 13,791,700 = 1.04%.
PLAN_ASSUMPTIONS = """org_code,year,assumption,amount,description
01A,2026/27,exit_position,-£200000,
01A,2026/27,non_recurrent_items,£100000,
01A,2026/27,allocation,£13390000,
01A,2026/27,allocation_growth,£390000,
01A,2026/27,tariff_inflation,2.5%,
01A,2026/27,demographic_growth,£100000,<script>alert(1)</script> growth
01A,2026/27,control_total,£100000,
01A,2027/28,allocation_growth,3%,
01A,2027/28,tariff_inflation,2.5%,
01A,2027/28,demographic_growth,£300000,Demographic growth
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


@contextmanager
def warehouse_held_elsewhere(warehouse: Path) -> Iterator[None]:
    """While inside, another process holds the DuckDB file ``warehouse`` open for writing."""
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(warehouse)!r}); print('open'); "
         "sys.stdout.flush(); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        yield
    finally:
        holder.communicate("")


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


def copy_workspace(template: Path, root: Path) -> Workspace:
    """A copy in ``root`` of the closed workspace that ``build_workspace(template)`` made (its ``ws`` and the input
    and reference files beside it), opened; its settings name its own reference directory, ``root``."""
    shutil.copytree(template, root, dirs_exist_ok=True)
    record_settings(root / "ws", {"reference_dir": root.resolve()})
    return open_workspace(root / "ws")


@pytest.fixture
def web_workspace(web_workspace_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A workspace of this test's own in ``tmp_path``: a copy of ``build_workspace``'s, made once a session
    (tests/conftest.py's ``web_workspace_template``)."""
    # the workspace's reference data is the fixture's (prices worked by hand); OUTTURN_REFERENCE_DIR, which beats
    # the workspace file, must not swap in the real tariff
    monkeypatch.delenv("OUTTURN_REFERENCE_DIR", raising=False)
    workspace = copy_workspace(web_workspace_template, tmp_path)
    yield workspace
    workspace.close()


# Tests see every change at once: the store is asked on every request, and no page serves figures a change has
# overtaken (tests/test_web_cache.py covers stale-while-revalidate itself).
AT_ONCE = WebConfig(stamp_seconds=0.0, stale_seconds=0.0)


@pytest.fixture
def app_client(web_workspace: Workspace) -> Iterator[TestClient]:
    app = create_app(web_workspace.settings, AT_ONCE)
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


# --- contracts: a provider, a hand-made 2018/19 tariff (four rows) and six months of activity -------------------
# The tariff holds only what the activity uses, at the published 2018/19 prices (AA22C non-elective £9,859; general
# surgery first attendance £163, follow-up £70; A&E VB03Z £216) with a market forces factor of exactly 1.
TARIFF_FILES = {
    "nt1819_apc_oproc.csv": "HRG code,HRG name,Outpatient procedure tariff (£),"
    "Combined day case / ordinary elective spell tariff (£),Day case spell tariff (£),"
    "Ordinary elective spell tariff (£),Ordinary elective long stay trim point (days),"
    "Non-elective spell tariff (£),Non-elective long stay trim point (days),"
    "Per day long stay payment (for days exceeding trim point) (£),"
    "Reduced short stay emergency tariff  applicable?,Reduced short stay emergency tariff (£)\n"
    "AA22C,Cerebrovascular Accident,-,8285,-,-,117,9859,98,240,No,-\n",
    "nt1819_op_attendances.csv": "Treatment function code,Treatment function description,"
    "WF01B First Attendance - Single Professional,WF02B First Attendance - Multi Professional,"
    "WF01A Follow Up Attendance - Single Professional,WF02A Follow Up Attendance - Multi Professional\n"
    "100,General Surgery,163,206,70,104\n",
    "nt1819_ae.csv": "HRG code,HRG name,Type 1 and 2 Departments,Type 3 Departments\nVB03Z,Emergency Medicine,216,63\n",
    "nt1719_mff_values.csv": "Provider Code,Provider Name,Payment index value for 2016-17\n"
    "RXX,TEST HOSPITALS,1.000000\n",
}
# The plan: 10 non-elective spells (£98,590) and 5 first attendances (£815) a month with RXX, 2025/26.
# The activity, April to September 2025: 12 non-elective spells a month; 4 first attendances (1 referred by a
# consultant) and 10 follow-ups a month in general surgery (100); two A&E type 1 arrivals a month. The first
# attendances are A81001's (3 a month, the consultant's referral among them) and A81002's (1): GP referrals to date
# A81001 12, A81002 6, A81003 none.
CONTRACT_PLAN = "provider,commissioner,year,point_of_delivery,month,activity,value,description\n" + "".join(
    f"RXX,01A,2025/26,non_elective,M{m:02d},10,£98590,\nRXX,01A,2025/26,op_first,M{m:02d},5,£815,\n"
    for m in range(1, 13)
)


def _activity_csvs() -> dict[str, str]:
    apc = [
        "spell_id,provider,commissioner,practice,patient_id,admission_method,hrg,admission_date,discharge_date,"
        "length_of_stay,treatment_function,age"
    ]
    op = [
        "attendance_id,provider,commissioner,practice,patient_id,attendance_date,attendance_type,"
        "treatment_function,procedure_hrg,referral_source,age"
    ]
    ae = ["attendance_id,provider,commissioner,practice,patient_id,arrival_date,department_type,hrg,age"]
    for month in range(4, 10):  # April to September 2025
        for n in range(12):
            apc.append(
                f"S{month}-{n},RXX,01A,A81001,p{n},non_elective,AA22C,2025-{month:02d}-10,2025-{month:02d}-15,5,300,70"
            )
        for n in range(4):
            source = "consultant" if n == 0 else "gp"
            practice = "A81001" if n < 3 else "A81002"
            op.append(f"F{month}-{n},RXX,01A,{practice},q{n},2025-{month:02d}-15,first,100,,{source},50")
        for n in range(10):
            op.append(f"U{month}-{n},RXX,01A,A81002,q{n},2025-{month:02d}-15,follow_up,100,,gp,50")
        for n in range(2):
            ae.append(f"E{month}-{n},RXX,01A,A81003,r{n},2025-{month:02d}-15,1,VB03Z,30")
    return {"apc": "\n".join(apc) + "\n", "op": "\n".join(op) + "\n", "ae": "\n".join(ae) + "\n"}


def add_contracts(workspace: Workspace) -> None:
    """The provider RXX, its contract with 01A for 2025/26, the tariff and the year's activity to September."""
    from outturn.domain.activity import ActivityKind
    from outturn.services.contracts import import_contracts
    from outturn.services.pricing import import_activity

    root = workspace.settings.reference_dir
    assert root is not None
    for name, text in TARIFF_FILES.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "provider.csv").write_text("code,name,kind,parent_code\nRXX,Test Hospitals,provider,\n", encoding="utf-8")
    import_organisations(workspace, root / "provider.csv")
    (root / "contract.csv").write_text(CONTRACT_PLAN, encoding="utf-8")
    import_contracts(workspace, root / "contract.csv")
    for kind, text in _activity_csvs().items():
        path = root / f"activity_{kind}.csv"
        path.write_text(text, encoding="utf-8")
        import_activity(workspace, path, ActivityKind(kind))


# Practice populations (list size; general and acute weighted population): A81001 10,000 and 8,000, A81002 8,000 and
# 10,000, A81003 6,000 and 6,000 — so GP referrals per 1,000 weighted are 1.5, 0.6 and 0.
# ASTRO-PU (for prescribing rates): 20,000, 16,000 and 15,000.
ASTRO_PU = {"A81001": 20_000.0, "A81002": 16_000.0, "A81003": 15_000.0}
POPULATIONS = (("A81001", "P1", 10_000, 8_000.0), ("A81002", "P1", 8_000, 10_000.0), ("A81003", "P2", 6_000, 6_000.0))


def add_populations(workspace: Workspace) -> None:
    import ibis
    import pyarrow as pa

    from outturn.domain.populations import PRACTICE_POPULATIONS_SCHEMA, PRACTICE_POPULATIONS_TABLE

    names = {"A81001": "Riverside Surgery", "A81002": "Hill Practice", "A81003": "Meadow Practice"}
    rows = [
        {
            "practice": code,
            "practice_name": names[code],
            "pcn": pcn,
            "sub_icb": "01A",
            "icb": "QXX",
            "list_size": size,
            "astro_pu": ASTRO_PU[code],
            "wp_general_acute": weighted,
        }
        for code, pcn, size, weighted in POPULATIONS
    ]
    schema = ibis.schema(dict(PRACTICE_POPULATIONS_SCHEMA)).to_pyarrow()
    table = pa.table({name: [row.get(name) for row in rows] for name in PRACTICE_POPULATIONS_SCHEMA}, schema=schema)
    workspace.backend.store_table(PRACTICE_POPULATIONS_TABLE, table)


# Prescribing, August 2025, atorvastatin 10mg (one group of equivalent presentations): (practice, BNF code, items,
# quantity, NIC pence, actual cost pence). A81002 writes half its items as the brand Lipitor (100p a tablet).
GENERIC, BRAND = "0212000B0AAABAB", "0212000B0BBAAAB"
PRESCRIBING = (
    ("A81001", GENERIC, 10, 280.0, 2_800, 2_600),
    ("A81002", GENERIC, 5, 140.0, 1_400, 1_300),
    ("A81002", BRAND, 5, 140.0, 14_000, 13_000),
    ("A81003", GENERIC, 20, 560.0, 11_200, 10_400),
)


def add_prescribing(workspace: Workspace) -> None:
    import pyarrow as pa

    from outturn.domain.prescribing import PRESCRIBING_SCHEMA, PRESCRIBING_TABLE

    names = {"A81001": "RIVERSIDE SURGERY", "A81002": "HILL PRACTICE", "A81003": "MEADOW PRACTICE"}
    bnf_names = {GENERIC: "Atorvastatin 10mg tablets", BRAND: "Lipitor 10mg tablets"}
    rows = [
        {
            "year_month": "2025-08",
            "practice": practice,
            "practice_name": names[practice],
            "bnf_code": code,
            "bnf_name": bnf_names[code],
            "items": items,
            "quantity": quantity,
            "nic_pence": nic,
            "actual_cost_pence": actual,
        }
        for practice, code, items, quantity, nic, actual in PRESCRIBING
    ]
    types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}
    schema = pa.schema([(name, types[kind]) for name, kind in PRESCRIBING_SCHEMA.items()])
    workspace.backend.store_table(PRESCRIBING_TABLE, pa.Table.from_pylist(rows, schema=schema))


def build_shared_workspace(root: Path) -> Workspace:
    """``build_workspace``'s, plus the contract with RXX and its activity, practice populations and prescribing."""
    workspace = build_workspace(root)
    add_contracts(workspace)
    add_populations(workspace)
    add_prescribing(workspace)
    return workspace


@pytest.fixture(scope="module")
def shared_workspace(shared_workspace_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One workspace for a module's tests that only read (and those that change what no other test reads): the
    fixture's organisations, ledger, risks and savings, plus the contract with RXX and its activity; a copy of
    ``build_shared_workspace``'s, made once a session (tests/conftest.py's ``shared_workspace_template``)."""
    with pytest.MonkeyPatch.context() as environment:
        environment.delenv("OUTTURN_REFERENCE_DIR", raising=False)  # as in web_workspace
        workspace = copy_workspace(shared_workspace_template, tmp_path_factory.mktemp("web"))
        yield workspace
        workspace.close()


@pytest.fixture
def shared_client(shared_workspace: Workspace) -> Iterator[TestClient]:
    app = create_app(shared_workspace.settings, AT_ONCE)
    with TestClient(app) as client:
        yield client
