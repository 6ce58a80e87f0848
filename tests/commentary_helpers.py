"""A small trial-balance workspace for the commentary tests: one sub-ICB, four lines under three cost centres and
two budget holders, imported as a trial balance through its mapping, as at M02 2025/26 (May 2025), forecast
run-rate (YTD / 2 x 12), and its web accounts.

The lines, worked by hand (£ a month budget; actuals M01, M02; YTD variance; forecast; forecast variance):

| line            | holder      | budget | actuals         | YTD var  | forecast   | fcst var  | needs |
|-----------------|-------------|--------|-----------------|----------|------------|-----------|-------|
| CC300 / 6100    | Alice Acute | 20,000 | 30,000, 30,000  | -20,000  | 360,000    | -120,000  | yes   |
| CC100 / 5100    | Alice Acute | 50,000 | 55,000, 60,000  | -15,000  | 690,000    | -90,000   | yes   |
| CC200 / 5200    | Bob Mental  | 50,000 | 45,000, 45,000  | +10,000  | 540,000    | +60,000   | yes   |
| CC200 / 5210    | Bob Mental  | 10,000 | 10,000, 10,000  | 0        | 120,000    | 0         | no    |

(forecast = (M01 + M02) / 2 x 12; variance = annual budget (12 x monthly) less forecast. Needs commentary: above
£50,000 AND above 5% of the annual budget: 120k of 240k = 50%, 90k of 600k = 15%, 60k of 600k = 10%.)
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from outturn.domain.periods import FinancialYear
from outturn.domain.trial_balance import TrialBalanceLineKey
from outturn.services import users
from outturn.services.imports import import_organisations, import_plans
from outturn.services.trial_balance import import_trial_balance
from outturn.services.users import Role
from outturn.services.workspace import Workspace, init_workspace, open_workspace
from outturn.settings import record_settings

POUND = 100
AS_AT = "2025-05"  # M02 of 2025/26
LAST_MONTH = "2025-04"
YEAR = FinancialYear(2025)
ALICE, BOB = "Alice Acute", "Bob Mental"
ORGANISATIONS = """code,name,kind,parent_code
QXX,Test ICB,icb,
01A,North sub-ICB,sub_icb,QXX
A81001,Riverside Surgery,practice,01A
"""
PLANS = """org_code,year,item,amount,description
01A,2025/26,recurrent_allocation,£10m,
01A,2025/26,control_total,£0,
"""
# cost centre, subjective, monthly budget £, actuals £ M01 and M02
LINES = (
    ("CC100", "5100", 50_000, (55_000, 60_000)),
    ("CC200", "5200", 50_000, (45_000, 45_000)),
    ("CC200", "5210", 10_000, (10_000, 10_000)),
    ("CC300", "6100", 20_000, (30_000, 30_000)),
)
CENTRES = {"CC100": "Acute commissioning", "CC200": "Mental health", "CC300": "Prescribing"}
MAPPING = f"""Cost Centre,Subjective,Category,Subcategory,Budget Holder
CC100,any,acute,Acute contracts,{ALICE}
CC200,5200,mental_health,Mental health services,{BOB}
CC200,5210,mental_health,Mental health staff,{BOB}
CC300,any,prescribing,Drugs,{ALICE}
"""
DRUGS = TrialBalanceLineKey("01A", "CC300", "6100")
ACUTE = TrialBalanceLineKey("01A", "CC100", "5100")
MH_SERVICES = TrialBalanceLineKey("01A", "CC200", "5200")
MH_STAFF = TrialBalanceLineKey("01A", "CC200", "5210")
PASSWORDS = {
    "fiona": "finance-password-1",
    "alice": "alice-password-12",
    "bob": "bob-password-1234",
    "barbara": "board-password-1",
    "pat": "practice-password-1",
}


def trial_balance_csv() -> str:
    """ISFE-style headers; months M01-M12 of 2025/26, actuals in M01-M02 only."""
    rows = ["Entity,Financial Year,Period,Cost Centre,Cost Centre Description,Subjective,Budget,Actual"]
    for month in range(1, 13):
        for centre, subjective, budget, actuals in LINES:
            actual = str(actuals[month - 1]) if month <= len(actuals) else ""
            rows.append(f"01A,2025/26,M{month:02d},{centre},{CENTRES[centre]},{subjective},{budget},{actual}")
    return "\n".join(rows) + "\n"


def build_commentary_workspace(root: Path, store_url: str | None = None) -> Workspace:
    """The workspace in ``root / "ws"`` (its store at ``store_url`` where given), with its accounts (``PASSWORDS``)."""
    root.mkdir(parents=True, exist_ok=True)
    init_workspace(root / "ws", default_org="01A", default_as_at=AS_AT, reference_dir=root, store_url=store_url).close()
    record_settings(root / "ws", {"forecast_method": "run-rate"})
    workspace = open_workspace(root / "ws")
    files = {"organisations.csv": ORGANISATIONS, "plans.csv": PLANS, "tb.csv": trial_balance_csv(), "map.csv": MAPPING}
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    import_organisations(workspace, root / "organisations.csv")
    import_plans(workspace, root / "plans.csv")
    import_trial_balance(workspace, root / "tb.csv", mapping_path=root / "map.csv", who="setup")
    users.add_user(workspace, "fiona", PASSWORDS["fiona"], Role.FINANCE)
    users.add_user(workspace, "alice", PASSWORDS["alice"], Role.BUDGET_HOLDER, budget_holder=ALICE)
    users.add_user(workspace, "bob", PASSWORDS["bob"], Role.BUDGET_HOLDER, budget_holder=BOB)
    users.add_user(workspace, "barbara", PASSWORDS["barbara"], Role.BOARD)
    users.add_user(workspace, "pat", PASSWORDS["pat"], Role.PRACTICE, org_code="A81001")
    return workspace


@pytest.fixture(scope="session")
def commentary_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory where ``build_commentary_workspace`` made its workspace, once a session and closed."""
    root = tmp_path_factory.mktemp("commentary-template")
    with pytest.MonkeyPatch.context() as environment:
        environment.delenv("OUTTURN_REFERENCE_DIR", raising=False)
        build_commentary_workspace(root).close()
    return root


@pytest.fixture
def commentary_workspace(
    commentary_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:
    """A copy of the template's workspace, this test's own."""
    monkeypatch.delenv("OUTTURN_REFERENCE_DIR", raising=False)
    shutil.copytree(commentary_template, tmp_path, dirs_exist_ok=True)
    record_settings(tmp_path / "ws", {"reference_dir": tmp_path.resolve()})
    workspace = open_workspace(tmp_path / "ws")
    yield workspace
    workspace.close()
