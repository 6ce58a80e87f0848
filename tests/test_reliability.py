"""Reliability: ``kill -9`` during every kind of import and a month-end close, on SQLite and PostgreSQL, and a full
disk, leave the workspace in its old state or the complete new one — never a partial one — and still usable.

Each case starts from a fresh copy of one prepared workspace (web_helpers' hand-worked fixture with a contract,
activity and prescribing), runs the real command line (``outturn.cli.main`` in a forked process, see
tests/cli_forkserver.py, or the ``outturn`` script itself) and kills it with SIGKILL: just before chosen SQL
statements of the store, just after each store commit, and after timed delays spread over the run. Afterwards the
workspace must open, and the store's and the warehouse's tables, hashed row by row (tests/reliability_helpers.py)
once it has been opened as the next command would open it, must equal those before the run or those after a clean
run (fingerprinted the same way); re-running the command must reach the clean run's state. Opening is part of the
judgement because it completes the import log: an import into the warehouse records itself there, in its data's
transaction, before the store's log; a kill between the two is made good when the workspace is next opened.
The default run places a few kill points per kind; ``-m slow`` places one before every write and many timed ones.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from conftest import POSTGRES_URL_VARIABLE, _fresh_postgres_database
from outturn.domain.savings import SavingsTarget
from outturn.reports.savings_workbook import write_savings_workbook
from reliability_helpers import (
    CliRunner,
    Fingerprint,
    Run,
    WorkspaceCopies,
    cli_environment,
    differences,
    fingerprint,
    outturn_command,
    spread,
)
from web_helpers import (
    CONTRACT_PLAN,
    ORGANISATIONS,
    RISKS,
    SCHEMES,
    YEAR,
    _activity_csvs,
    add_contracts,
    add_prescribing,
    build_workspace,
)

POUND = 100

# --- the inputs: each kind of import, and a close -------------------------------------------------------------

LEDGER_MONTH = """org_code,year,month,category,subcategory,budget,actual
01A,2025/26,M07,acute,Trust A,1000000,1250000
01A,2025/26,M07,acute,Trust B,50000,61000
"""
PLAN = """org_code,year,item,amount,description
01A,2025/26,recurrent_allocation,£13.2m,
01A,2025/26,control_total,£0.6m,
"""
NEW_RISK = "01A,2025/26,risk,Agency staffing,£250k,40%,acute\n"
NEW_PRACTICE = "A81004,Valley Practice,practice,P2\n"
EPD = (
    "YEAR_MONTH,PRACTICE_NAME,PRACTICE_CODE,BNF_CODE,BNF_DESCRIPTION,QUANTITY,ITEMS,TOTAL_QUANTITY,NIC,ACTUAL_COST\n"
    "202509,RIVERSIDE SURGERY,A81001,0212000B0AAABAB,Atorvastatin_Tab 10mg,28.0,12,336.0,3.36,3.12\n"
    "202509,HILL PRACTICE,A81002,0212000B0AAABAB,Atorvastatin_Tab 10mg,28.0,6,168.0,1.68,1.55\n"
)


def _savings_workbook(path: Path) -> Path:
    changed = replace(SCHEMES[1], confidence=Decimal("0.6"))
    extra = replace(SCHEMES[0], reference="S3", title="Scheme S3")
    return write_savings_workbook(path, [SCHEMES[0], changed, extra], [SavingsTarget("01A", YEAR, 520_000 * POUND)])


def _write_inputs(root: Path) -> dict[str, list[str]]:
    """Write each kind's input file into ``root``; return each kind's command (after ``--workspace DIR``)."""
    apc = _activity_csvs()["apc"] + "".join(
        f"S9-x{n},RXX,01A,A81001,p{n},non_elective,AA22C,2025-09-20,2025-09-22,2,300,70\n" for n in range(3)
    )
    files = {
        "ledger.csv": LEDGER_MONTH,
        "plan.csv": PLAN,
        "risks.csv": RISKS + NEW_RISK,
        "orgs.csv": ORGANISATIONS + NEW_PRACTICE,
        "contract.csv": CONTRACT_PLAN.replace("non_elective,M07,10,£98590", "non_elective,M07,11,£108449"),
        "contract-rules.csv": "provider,commissioner,year,rule,month,value,rate\n"
        + "RXX,01A,2025/26,readmissions,,,\nRXX,01A,2025/26,cquin,,,2.5\nRXX,01A,2025/26,marginal_rate,,£1m,30\n",
        "apc.csv": apc,
        "epd_202509.csv": EPD,
    }
    for name, content in files.items():
        (root / name).write_text(content, encoding="utf-8")
    workbook = _savings_workbook(root / "savings.xlsx")
    return {
        "ledger": ["ledger", "import", str(root / "ledger.csv")],
        "plan": ["plan", "import", str(root / "plan.csv")],
        "risks": ["risks", "import", str(root / "risks.csv")],
        "organisations": ["orgs", "import", str(root / "orgs.csv")],
        "contracts": [
            "contracts", "import", str(root / "contract.csv"), "--rules", str(root / "contract-rules.csv"), "--replace"
        ],
        "savings": ["savings", "import", str(workbook)],
        "activity": ["contracts", "activity", str(root / "apc.csv"), "--kind", "apc", "--replace"],
        "prescribing": ["prescribing", "import", str(root / "epd_202509.csv")],
        "close": ["savings", "close-month", "--as-at", "2025-09"],
    }


KINDS = ("ledger", "plan", "risks", "organisations", "contracts", "savings", "activity", "prescribing", "close")


@dataclass(frozen=True)
class Prepared:
    workspace: Path
    commands: dict[str, list[str]]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def prepared(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prepared]:
    """The web tests' workspace with a contract, activity and prescribing, on each database as ``store_url`` makes
    one (a SQLite file, or a fresh PostgreSQL database), built once per module (building takes seconds): every case
    works on a copy of it."""
    root = tmp_path_factory.mktemp(f"prepared-{request.param}")
    databases: Iterator[str] | None = None
    store_url = None
    if request.param == "postgresql":
        base_url = os.environ.get(POSTGRES_URL_VARIABLE, "").strip()
        if not base_url:
            pytest.skip(f"PostgreSQL reliability tests need {POSTGRES_URL_VARIABLE} (see tests/conftest.py)")
        databases = _fresh_postgres_database(base_url)
        store_url = next(databases)
    try:
        workspace = build_workspace(root, store_url)
        add_contracts(workspace)
        add_prescribing(workspace)
        workspace.close()
        yield Prepared(workspace.path, _write_inputs(root))
    finally:
        if databases is not None:
            databases.close()


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRunner]:
    runner = CliRunner(tmp_path_factory.mktemp("cli"))
    yield runner
    runner.close()


@pytest.fixture
def copies(prepared: Prepared, tmp_path: Path) -> Iterator[WorkspaceCopies]:
    made = WorkspaceCopies(prepared.workspace, tmp_path)
    yield made
    made.drop()


# --- kill -9 --------------------------------------------------------------------------------------------------


def _kill_points(clean: Run, thorough: bool) -> list[dict[str, Any]]:
    """Where to kill: before statements spread over the writes, after commits, and after timed delays. The default
    run kills before the middle write, after any commit that is not the last, and at 60% of the clean run's time."""
    assert clean.statements is not None and clean.commits is not None
    first = clean.first_write or 1
    statements = spread(first, clean.statements, 40) if thorough else [(first + clean.statements + 1) // 2]
    commits = range(1, clean.commits + 1) if thorough else range(1, clean.commits)  # default: between commits
    fractions = [n / 10 for n in range(1, 11)] if thorough else [0.6]
    return (
        [{"kill_before_statement": number} for number in statements]
        + [{"kill_after_commit": number} for number in commits]
        + [{"kill_after_seconds": round(clean.seconds * fraction, 3)} for fraction in fractions]
    )


def _describe(state: Fingerprint, before: Fingerprint, after: Fingerprint) -> str:
    return f"neither the old nor the new state; differs from old {differences(state, before)}, from new " + str(
        differences(state, after)
    )


def _check_kills(prepared: Prepared, cli: CliRunner, copies: WorkspaceCopies, kind: str, thorough: bool) -> None:
    command = prepared.commands[kind]
    before = fingerprint(prepared.workspace)
    reference = copies.copy()
    clean = cli.run(["--workspace", str(reference), *command])
    assert clean.returncode == 0, clean.stdout + clean.stderr
    after = fingerprint(reference)
    assert differences(after, before), f"the clean {kind} run changed nothing, so the test could not fail"
    after_without_ids = fingerprint(reference, ignore_ids=True)
    for point in _kill_points(clean, thorough):
        workspace = copies.copy()
        run = cli.run(["--workspace", str(workspace), *command], **point)
        assert run.returncode in (-9, 0), (point, run.stdout, run.stderr)
        state = fingerprint(workspace)  # the workspace opens
        assert state in (before, after), f"{kind} killed at {point}: {_describe(state, before, after)}"
        assert run.killed or state == after, f"{kind} ended before the kill at {point} but stored nothing"
        if state == before:
            again = cli.run(["--workspace", str(workspace), *command])
            assert again.returncode == 0, (point, again.stdout, again.stderr)
            assert fingerprint(workspace, ignore_ids=True) == after_without_ids, point


@pytest.mark.parametrize("kind", KINDS)
def test_kill_9_during_an_import_or_close_leaves_the_old_or_the_complete_new_state(
    prepared: Prepared, cli: CliRunner, copies: WorkspaceCopies, kind: str
) -> None:
    _check_kills(prepared, cli, copies, kind, thorough=False)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_kill_9_at_many_statements_commits_and_times_leaves_the_old_or_the_complete_new_state(
    prepared: Prepared, cli: CliRunner, copies: WorkspaceCopies, kind: str
) -> None:
    _check_kills(prepared, cli, copies, kind, thorough=True)


def _script_run(workspace: Path, command: list[str], kill_after: float | None) -> tuple[int, float]:
    started = time.monotonic()
    process = subprocess.Popen(
        [*outturn_command(), "--workspace", str(workspace), *command],
        env=cli_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        process.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        process.kill()  # SIGKILL; Popen knows whether the process has already ended
        process.wait()
    assert process.stderr is not None
    process.stderr.close()
    return process.returncode, time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ledger", "savings", "prescribing"])
def test_kill_9_of_the_outturn_script_itself_leaves_the_old_or_the_complete_new_state(
    prepared: Prepared, copies: WorkspaceCopies, kind: str
) -> None:
    """The same check through the installed ``outturn`` script in a fresh interpreter, killed late in its run (most
    of a fresh run is Python importing; the work comes at the end)."""
    command = prepared.commands[kind]
    before = fingerprint(prepared.workspace)
    reference = copies.copy()
    returncode, seconds = _script_run(reference, command, None)
    assert returncode == 0
    after = fingerprint(reference)
    for fraction in (0.8, 0.9, 0.95):
        workspace = copies.copy()
        returncode, _ = _script_run(workspace, command, seconds * fraction)
        assert returncode in (-9, 0)
        state = fingerprint(workspace)
        assert state in (before, after), f"killed at {fraction:.0%}: {_describe(state, before, after)}"


# --- a full disk ----------------------------------------------------------------------------------------------

TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s+File \".*\", line \d+", re.MULTILINE)
SQL_PARAMETERS = re.compile(r"\[parameters: |\[SQL: ", re.MULTILINE)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs (needs root or CAP_SYS_ADMIN; skips otherwise), unmounted afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
        check=False,
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root or CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(directory: Path, leave_bytes: int) -> None:
    """Fill the file system holding ``directory`` until about ``leave_bytes`` remain."""
    free = os.statvfs(directory).f_bavail * os.statvfs(directory).f_frsize
    with open(directory / "filler", "wb") as handle:
        handle.write(b"\0" * max(0, free - leave_bytes))


def _big_ledger(path: Path) -> Path:
    """A year's ledger for 01A with many subcategories: a few MiB to store (more than the disk has left)."""
    rows = ["org_code,year,month,category,subcategory,budget,actual"]
    rows += [
        f"01A,2025/26,M{month:02d},acute,Trust {number:05d} {'x' * 60},1000,{900 + number % 200}"
        for month in range(1, 13)
        for number in range(1500)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _big_activity(path: Path) -> Path:
    """200,000 distinct spells for the warehouse: a few MiB to store even compressed."""
    rows = [_activity_csvs()["apc"].splitlines()[0]]
    rows += [
        f"S{number:07d},RXX,01A,A81001,patient{number:07d},non_elective,AA22C,2025-{4 + number % 6:02d}-10,"
        f"2025-{4 + number % 6:02d}-{11 + number % 17:02d},{1 + number % 17},300,{number % 90}"
        for number in range(200_000)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class DiskFullResult:
    output: str
    returncode: int
    unchanged: bool
    detail: str


@pytest.fixture(params=["ledger", "activity"])
def disk_full_import(
    request: pytest.FixtureRequest, small_disk: Path, cli: CliRunner, tmp_path: Path
) -> DiskFullResult:
    """A SQLite workspace on the small disk, nearly full, then an import too big for what is left: a ledger (the
    store) or an activity extract (the DuckDB warehouse)."""
    workspace = build_workspace(small_disk)
    add_contracts(workspace)
    workspace.close()
    if request.param == "ledger":
        command = ["ledger", "import", str(_big_ledger(tmp_path / "big-ledger.csv")), "--replace"]
    else:
        command = ["contracts", "activity", str(_big_activity(tmp_path / "big-apc.csv")), "--kind", "apc", "--replace"]
    before = fingerprint(workspace.path)
    _fill(small_disk, 64 * 1024)
    run = cli.run(["--workspace", str(workspace.path), *command])
    (small_disk / "filler").unlink()
    state = fingerprint(workspace.path)
    return DiskFullResult(run.stdout + run.stderr, run.returncode, state == before, str(differences(state, before)))


def test_a_full_disk_fails_the_import_and_leaves_the_store_unchanged(disk_full_import: DiskFullResult) -> None:
    assert disk_full_import.returncode not in (0, -9), disk_full_import.output
    assert disk_full_import.unchanged, disk_full_import.detail


def test_a_full_disk_says_so_without_a_traceback_or_sql_parameters(disk_full_import: DiskFullResult) -> None:
    assert disk_full_import.returncode == 2, disk_full_import.output
    assert not TRACEBACK.search(disk_full_import.output), disk_full_import.output
    assert not SQL_PARAMETERS.search(disk_full_import.output), disk_full_import.output
    assert re.search(r"disk|space|full", disk_full_import.output, re.IGNORECASE), disk_full_import.output
