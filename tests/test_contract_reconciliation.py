"""Contracts reconciled to the ledger: the mapping of contracts to ledger lines (a file, or the default by the
provider's code in the line's name), ``outturn contracts reconcile`` and the ``contract`` forecast method.

The workspace is ``web_helpers``' shared one: the contract RXX x 01A for 2025/26 and its activity to September
(M06), priced at the 2018/19 tariff with a market forces factor of 1. Its statement, worked by hand:

- non-elective: plan 10 spells a month at £9,859 = £98,590 a month, £1,183,080 a year, £591,540 to M06; actual 12
  spells a month = £118,308, £709,848 to M06; forecast £709,848 + £591,540 x 709,848 / 591,540 = £1,419,696.
- first attendances: plan 5 a month at £163 = £815, £9,780 a year, £4,890 to M06; actual 4 a month = £652, £3,912
  to M06; forecast £3,912 x 2 = £7,824.
- follow-ups (10 a month at £70 = £700) and A&E (2 a month at £216 = £432): no plan, so the run rate:
  £4,200 and £2,592 to M06, forecasts £8,400 and £5,184.

Contract totals: annual plan £1,192,860; priced activity to M06 £720,552; forecast £1,441,104.

The ledger this module adds for 01A (acute, each month of 2025/26, actuals to M06):
- ``RXX Test Hospitals: contract``: budget £100,000 a month (£1,200,000 a year), actual £120,000 a month (£720,000
  to M06); the workspace forecasts by ``auto``, which with no past year is budget-phased: £720,000 + £600,000 x
  720,000 / 600,000 = £1,440,000.
- ``RXX drugs outside tariff``: budget £5,000 a month (£60,000), actual £6,000 (£36,000 to M06), forecast £72,000.
- ``Trust A`` as before: budget £1,000,000 a month, actual £1,100,000 to M06, forecast £13,200,000.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from outturn.cli import app
from outturn.domain.contract_ledger import Figures, Threshold, difference, names_code
from outturn.domain.contract_reconciliation import PRICED_ACTIVITY, ContractReconciliation, ElementRow, LedgerRow
from outturn.domain.errors import BadInput
from outturn.domain.forecast import ForecastMethod
from outturn.domain.forecast_methods import MethodSetting
from outturn.domain.ledger import CostCategory
from outturn.domain.periods import FinancialMonth, FinancialYear
from outturn.domain.problems import ProblemsError
from outturn.reports.contract_reconciliation import reconciliation_document
from outturn.services.contract_ledger import import_contract_map
from outturn.services.contract_reconciliation import reconcile_contracts
from outturn.services.forecast_methods import set_method
from outturn.services.imports import ReplaceRequired, import_ledger
from outturn.services.position import PositionError, compute_position
from outturn.services.workspace import Workspace
from outturn.store.database import Store
from web_helpers import copy_workspace

POUND = 100
AS_AT = FinancialMonth(FinancialYear(2025), 6)
CONTRACT_LINE = "RXX Test Hospitals: contract"
DRUGS_LINE = "RXX drugs outside tariff"
CONTRACT = Figures(1_192_860 * POUND, 720_552 * POUND, 1_441_104 * POUND)
LEDGER = Figures(1_200_000 * POUND, 720_000 * POUND, 1_440_000 * POUND)
DRUGS = Figures(60_000 * POUND, 36_000 * POUND, 72_000 * POUND)


def _ledger(root: Path, lines: dict[str, tuple[int, int]]) -> Path:
    """01A's ledger for 2025/26: ``Trust A`` as the fixture has it, and each line (monthly budget, actual £)."""
    rows = ["org_code,year,month,category,subcategory,budget,actual"]
    every = {"Trust A": (1_000_000, 1_100_000), **lines}
    for month in range(1, 13):
        for name, (budget, actual) in every.items():
            rows.append(f"01A,2025/26,M{month:02d},acute,{name},{budget},{actual if month <= 6 else ''}")
    path = root / "ledger-contracts.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.write_text(text, encoding="utf-8")
    return path


MAP = (
    "provider,commissioner,category,line,element\n"
    f"RXX,01A,acute,{CONTRACT_LINE},contract\n"
    f"RXX,01A,acute,{DRUGS_LINE},drugs and devices outside tariff\n"
)


@pytest.fixture(scope="module")
def template(shared_workspace_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared workspace with the module's ledger (contract and drugs lines) and no mapping, closed."""
    root = tmp_path_factory.mktemp("reconcile-template")
    with pytest.MonkeyPatch.context() as environment:
        environment.delenv("OUTTURN_REFERENCE_DIR", raising=False)
        workspace = copy_workspace(shared_workspace_template, root)
        import_ledger(
            workspace, _ledger(root, {CONTRACT_LINE: (100_000, 120_000), DRUGS_LINE: (5_000, 6_000)}), replace=True
        )
        workspace.close()
    return root


@pytest.fixture
def workspace(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.delenv("OUTTURN_REFERENCE_DIR", raising=False)
    found = copy_workspace(template, tmp_path)
    yield found
    found.close()


def test_reconciliation_by_hand(workspace: Workspace, tmp_path: Path) -> None:
    import_contract_map(workspace, _write(tmp_path, "map.csv", MAP))
    found = reconcile_contracts(workspace, AS_AT)
    (item,) = found.contracts
    assert (item.provider, item.commissioner, item.mapped) == ("RXX", "01A", True)
    assert item.contract == CONTRACT
    assert item.elements == (ElementRow(PRICED_ACTIVITY, CONTRACT),)  # no block: all of it is priced activity
    assert [(row.line, row.figures) for row in item.contract_lines] == [(CONTRACT_LINE, LEDGER)]
    assert [(row.line, row.element, row.figures) for row in item.other_lines] == [
        (DRUGS_LINE, "drugs and devices outside tariff", DRUGS)
    ]
    # Ledger less contract: £1,200,000 - £1,192,860; £720,000 - £720,552; £1,440,000 - £1,441,104. The drugs line
    # is not in it.
    assert item.difference is not None
    assert item.difference.figures == Figures(7_140 * POUND, -552 * POUND, -1_104 * POUND)
    assert not item.difference.flagged  # far below £250,000
    document = reconciliation_document(found)
    assert document["total"]["difference"]["annual_pence"] == 7_140 * POUND
    assert document["total"]["non_contract"] == {
        "annual_pence": 6_000_000,
        "ytd_pence": 3_600_000,
        "forecast_pence": 7_200_000,
    }
    assert document["contracts"][0]["ledger_lines"][0]["method"] == "budget-phased"


def test_a_difference_is_flagged_above_both_thresholds(workspace: Workspace, tmp_path: Path) -> None:
    import_contract_map(workspace, _write(tmp_path, "map.csv", MAP))
    # £1,000 and 0.5%: the plan's £7,140 is 0.599% of £1,192,860 (flagged); to date £552 is under £1,000; the
    # forecast's £1,104 is over £1,000 but only 0.077% of £1,441,104.
    (item,) = reconcile_contracts(workspace, AS_AT, threshold=Threshold(1_000, Fraction(1, 2))).contracts
    assert item.difference is not None
    assert (item.difference.annual_flagged, item.difference.ytd_flagged, item.difference.forecast_flagged) == (
        True,
        False,
        False,
    )


def test_default_mapping_is_the_one_line_naming_the_provider(workspace: Workspace, tmp_path: Path) -> None:
    import_ledger(workspace, _ledger(tmp_path, {CONTRACT_LINE: (100_000, 120_000)}), replace=True)
    (item,) = reconcile_contracts(workspace, AS_AT).contracts
    assert [(row.line, row.default) for row in item.contract_lines] == [(CONTRACT_LINE, True)]
    assert item.difference is not None and item.difference.figures == Figures(
        7_140 * POUND, -552 * POUND, -1_104 * POUND
    )
    assert (
        reconciliation_document(reconcile_contracts(workspace, AS_AT))["contracts"][0]["ledger_lines"][0]["mapping"]
        == "default"
    )


def test_several_lines_naming_the_provider_are_not_guessed(workspace: Workspace) -> None:
    (item,) = reconcile_contracts(workspace, AS_AT).contracts
    assert not item.mapped and item.difference is None
    assert "2 ledger lines of 01A's name RXX" in item.note and CONTRACT_LINE in item.note and DRUGS_LINE in item.note
    found = reconcile_contracts(workspace, AS_AT)
    assert found.unmapped_contract == CONTRACT and found.contract == Figures(0, 0, 0)


def test_the_provider_code_must_be_a_whole_word() -> None:
    assert names_code("RXX Test Hospitals: contract", "RXX")
    assert names_code("main acute (rxx)", "RXX")
    assert not names_code("RXXY Hospitals", "RXX")
    assert not names_code("ARXX", "RXX")


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ("RYY,01A,acute,Trust A,contract\n", "no contract between RYY and 01A is held"),
        ("RXX,01A,acute,No such line,contract\n", "01A has no ledger line acute / 'No such line'"),
        ("RXX,01A,mental_health,Trust A,contract\n", "01A has no ledger line mental_health / 'Trust A'"),
        ("RXX,01A,acute,Trust A,\nRXX,01A,acute,trust  a,other\n", "already mapped on row 2"),
        (f"RXX,01A,acute,Trust A,\nRXX,01A,acute,{CONTRACT_LINE},contract\n", "already has its contract line on row 2"),
        ("RXX,01A,nonsense,Trust A,\n", "cost category"),
    ],
)
def test_bad_mapping_files_store_nothing(workspace: Workspace, tmp_path: Path, rows: str, reason: str) -> None:
    path = _write(tmp_path, "bad.csv", "provider,commissioner,category,line,element\n" + rows)
    with pytest.raises(ProblemsError) as raised:
        import_contract_map(workspace, path)
    assert any(reason in problem.reason for problem in raised.value.problems), raised.value.problems
    (item,) = reconcile_contracts(workspace, AS_AT).contracts
    assert not item.mapped  # nothing stored


def test_a_reimport_that_changes_the_mapping_needs_replace(workspace: Workspace, tmp_path: Path) -> None:
    import_contract_map(workspace, _write(tmp_path, "map.csv", MAP))
    changed = _write(
        tmp_path, "map2.csv", f"provider,commissioner,category,line,element\nRXX,01A,acute,{CONTRACT_LINE},\n"
    )
    with pytest.raises(ReplaceRequired) as refused:
        import_contract_map(workspace, changed)
    assert refused.value.replaces == {
        "commissioners": 1,
        "links_before": 2,
        "links_after": 1,
        "links_removed_or_changed": 1,
    }
    summary = import_contract_map(workspace, changed, replace=True)
    assert (summary.rows, summary.replaced_rows) == (1, 2)
    (item,) = reconcile_contracts(workspace, AS_AT).contracts
    assert item.other_lines == ()


def test_the_contract_method_forecasts_the_line_at_the_contracts_forecast(workspace: Workspace, tmp_path: Path) -> None:
    import_contract_map(workspace, _write(tmp_path, "map.csv", MAP))
    before = compute_position(workspace, "01A", "2025-09")
    set_method(workspace, MethodSetting("01A", CostCategory.ACUTE, ForecastMethod.CONTRACT, CONTRACT_LINE), "fiona")
    after = compute_position(workspace, "01A", "2025-09")
    acute = {row.category: row.forecast_outturn_pence for row in after.by_category}[CostCategory.ACUTE]
    # Trust A £13,200,000 (budget-phased: 6,600,000 x 2), the contract line at the contract's £1,441,104, drugs
    # £72,000 by its own method.
    assert acute == (13_200_000 + 1_441_104 + 72_000) * POUND
    assert after.forecast_outturn_pence - before.forecast_outturn_pence == (1_441_104 - 1_440_000) * POUND
    (item,) = reconcile_contracts(workspace, AS_AT).contracts
    assert item.contract_lines[0].method == "contract"
    assert item.difference is not None and item.difference.figures.forecast_pence == 0


def test_the_contract_method_on_a_line_with_no_contract_is_an_error(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="01A acute / Trust A carries no contract's value"):
        set_method(workspace, MethodSetting("01A", CostCategory.ACUTE, ForecastMethod.CONTRACT, "Trust A"), "fiona")
    with pytest.raises(BadInput, match="set per ledger line, not for a whole category"):
        set_method(workspace, MethodSetting("01A", CostCategory.ACUTE, ForecastMethod.CONTRACT), "fiona")
    import_contract_map(workspace, _write(tmp_path, "map.csv", MAP))
    set_method(workspace, MethodSetting("01A", CostCategory.ACUTE, ForecastMethod.CONTRACT, CONTRACT_LINE), "fiona")
    # The mapping changes: the line no longer carries the contract (the drugs line is mapped; the contract, with
    # two lines naming RXX, is left unmapped), and the position says why it cannot forecast the line.
    only_drugs = f"provider,commissioner,category,line,element\nRXX,01A,acute,{DRUGS_LINE},drugs\n"
    import_contract_map(workspace, _write(tmp_path, "map2.csv", only_drugs), replace=True)
    with pytest.raises(BadInput, match=f"{CONTRACT_LINE} is set to the contract forecast method, but no contract"):
        compute_position(workspace, "01A", "2025-09")


def test_the_contract_method_is_not_a_method_for_the_whole_position(workspace: Workspace) -> None:
    with pytest.raises(PositionError, match="contract method forecasts only the ledger lines"):
        compute_position(workspace, "01A", "2025-09", "contract")


def test_cli_json_and_the_table(workspace: Workspace, tmp_path: Path) -> None:
    path = str(workspace.path)
    runner = CliRunner()
    mapped = runner.invoke(app, ["contracts", "map", str(_write(tmp_path, "map.csv", MAP)), "--workspace", path])
    assert mapped.exit_code == 0, mapped.output
    result = runner.invoke(
        app, ["contracts", "reconcile", "--as-at", "2025-09", "--workspace", path, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["contracts"][0]["difference"]["forecast_pence"] == -1_104 * POUND
    assert document["threshold_pounds"] == 250_000
    table = runner.invoke(
        app, ["contracts", "reconcile", "--workspace", path, "--threshold-pounds", "1000", "--threshold-percent", "0.5"]
    )
    assert table.exit_code == 0, table.output
    assert "(£1k)" in table.output and "│ plan " in table.output  # the plan's difference is flagged


@given(
    st.lists(st.tuples(*(st.integers(-(10**10), 10**10),) * 3), max_size=4),
    st.tuples(*(st.integers(-(10**10), 10**10),) * 3),
    st.tuples(*(st.integers(-(10**10), 10**10),) * 3),
)
def test_elements_sum_to_the_contract_and_the_difference_is_ledger_less_contract(
    blocks: list[tuple[int, int, int]], contract: tuple[int, int, int], ledger: tuple[int, int, int]
) -> None:
    item = ContractReconciliation(
        "RXX",
        "01A",
        Figures(*contract),
        tuple(ElementRow(f"block {n}", Figures(*figures)) for n, figures in enumerate(blocks)),
        (LedgerRow(CostCategory.ACUTE, "line", "contract", Figures(*ledger), "run-rate"),),
        (),
        Threshold(),
    )
    summed = [
        sum(getattr(row.figures, key) for row in item.elements)
        for key in ("annual_pence", "ytd_pence", "forecast_pence")
    ]
    assert tuple(summed) == contract
    assert item.difference is not None
    assert item.difference.figures == Figures(*(a - b for a, b in zip(ledger, contract, strict=True)))


def test_threshold_by_hand() -> None:
    threshold = Threshold(250_000, Fraction(2))
    assert not threshold.flags(250_000 * POUND, 1_000_000 * POUND)  # not above £250,000
    assert threshold.flags(250_001 * POUND, 1_000_000 * POUND)  # 25% of the contract
    assert not threshold.flags(-5_000_000 * POUND, 349_700_000 * POUND)  # 1.43%: large, but not material
    assert threshold.flags(-62_800_000 * POUND, 349_700_000 * POUND)  # the issue's £412.5m budget: 17.96%
    assert threshold.flags(300_000 * POUND, 0)  # against nothing at all
    assert difference(Figures(3, 2, 1), Figures(1, 2, 3), threshold).figures == Figures(2, 0, -2)


def test_the_api_and_the_page_show_the_cli_json(workspace: Workspace, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from outturn.web import create_app
    from web_helpers import AT_ONCE, sign_in

    import_contract_map(workspace, _write(tmp_path, "map.csv", MAP))
    result = CliRunner().invoke(app, ["contracts", "reconcile", "--workspace", str(workspace.path), "--format", "json"])
    assert result.exit_code == 0, result.output
    with TestClient(create_app(workspace.settings, AT_ONCE)) as client:
        sign_in(client, "fiona")
        assert client.get("/api/contracts/reconcile").json() == json.loads(result.output)
        page = client.get("/contracts")
        assert page.status_code == 200
        assert 'id="contract-reconciliation"' in page.text
        assert "ledger: RXX Test Hospitals: contract" in page.text
        assert "non-contract: drugs and devices outside tariff (RXX drugs outside tariff)" in page.text
        assert "(£1k)" in page.text  # the forecast difference, -£1,104
        sign_in(client, "pat")
        assert client.get("/api/contracts/reconcile").status_code == 403


def test_the_board_pack_shows_the_reconciliation(workspace: Workspace, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from outturn.reports.contract_reconciliation import table_rows
    from outturn.services.pack import PackRequest, build_pack

    import_contract_map(workspace, _write(tmp_path, "map.csv", MAP))
    pack, files = build_pack(workspace, tmp_path / "pack", PackRequest(trials=200), formats=("html", "xlsx"))
    assert pack.contract_reconciliation == reconcile_contracts(workspace, AS_AT)
    document = reconciliation_document(reconcile_contracts(workspace, AS_AT))
    assert files.html is not None and files.xlsx is not None
    html = files.html.read_text(encoding="utf-8")
    assert 'id="contract-reconciliation"' in html and "ledger: RXX Test Hospitals: contract" in html
    sheet = load_workbook(files.xlsx)["Contract reconciliation"]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = next(index for index, row in enumerate(values) if row[0] == "Contract")
    rows = table_rows(document)
    pence = values[header].index("forecast_pence")
    assert [row[pence] for row in values[header + 1 : header + 1 + len(rows)]] == [
        row["forecast_pence"] for row in rows
    ]


def test_every_statement_is_kept_until_the_data_it_reads_change(workspace: Workspace, tmp_path: Path) -> None:
    from outturn.services.contract_ledger import every_statement
    from outturn.services.contracts import import_contracts

    first = every_statement(workspace, AS_AT)
    assert every_statement(workspace, AS_AT) is first  # nothing changed: not priced again
    (statement,) = first
    assert statement.annual_plan_pence == CONTRACT.annual_pence
    # A block of £120,000 a year added to the contract: the statement is made again, with the block.
    plan = (workspace.settings.reference_dir or tmp_path) / "contract.csv"
    with_block = _write(
        tmp_path, "contract.csv", plan.read_text(encoding="utf-8") + "RXX,01A,2025/26,block,,,£120000,Community\n"
    )
    import_contracts(workspace, with_block, replace=True)
    (changed,) = every_statement(workspace, AS_AT)
    assert changed.annual_plan_pence == CONTRACT.annual_pence + 120_000 * POUND
    # to date: six twelfths of the block, £60,000
    assert changed.ytd_actual_pence == CONTRACT.ytd_pence + 60_000 * POUND
    (item,) = reconcile_contracts(workspace, AS_AT).contracts
    assert [(row.label, row.figures) for row in item.elements] == [
        (PRICED_ACTIVITY, CONTRACT),
        ("block: Community", Figures(120_000 * POUND, 60_000 * POUND, 120_000 * POUND)),
    ]


def test_the_mapping_round_trips_through_the_store(store: Store) -> None:
    from sqlalchemy import text

    from outturn.domain.contract_ledger import LedgerLink
    from outturn.store import contracts_repository

    with store.transaction() as session:
        session.execute(
            text("INSERT INTO organisations (code, name, kind, parent_code, source) VALUES (:c, 'N', :k, NULL, 't')"),
            [{"c": "01A", "k": "sub_icb"}, {"c": "02B", "k": "sub_icb"}, {"c": "RXX", "k": "provider"}],
        )
    first = [
        LedgerLink("RXX", "01A", CostCategory.ACUTE, CONTRACT_LINE),
        LedgerLink("RXX", "01A", CostCategory.ACUTE, DRUGS_LINE, "drugs outside tariff"),
        LedgerLink("RXX", "02B", CostCategory.ACUTE, "RXX — £ contract"),
    ]
    with store.transaction() as session:
        contracts_repository.replace_ledger_links(session, first)
    # 01A's mapping replaced whole by one link; 02B's untouched
    again = [LedgerLink("RXX", "01A", CostCategory.ACUTE, DRUGS_LINE)]
    with store.transaction() as session:
        contracts_repository.replace_ledger_links(session, again)
    with store.reading() as session:
        assert contracts_repository.load_ledger_links(session) == [*again, first[2]]
        assert contracts_repository.load_ledger_links(session, ["02B"]) == [first[2]]


def test_the_default_skips_lines_mapped_to_another_contract_and_other_commissioners_lines() -> None:
    from outturn.domain.contract_ledger import LedgerLink, resolve_links

    acute = CostCategory.ACUTE
    stored = [LedgerLink("RXX", "01A", acute, "RXX and RYY joint line")]
    lines = [
        ("01A", acute, "RXX and RYY joint line"),
        ("01A", acute, "RYY main"),
        ("02B", acute, "RZZ"),
        ("01A", acute, "RZZ"),
    ]
    found = {
        (item.provider, item.commissioner): item
        for item in resolve_links([("RXX", "01A"), ("RYY", "01A"), ("RZZ", "02B")], stored, lines)
    }
    assert found[("RXX", "01A")].links == tuple(stored)
    assert [(link.line, link.default) for link in found[("RYY", "01A")].links] == [("RYY main", True)]
    assert [(link.line, link.default) for link in found[("RZZ", "02B")].links] == [("RZZ", True)]
