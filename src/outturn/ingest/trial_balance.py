"""A trial balance and its mapping from CSV or XLSX.

Trial balance columns (case, spacing and punctuation do not matter; ISFE-style names accepted):

- organisation: ``org_code``, ``entity``, ``entity_code``, ``organisation``, ``organisation_code``, ``org``,
  ``company``
- ``year`` (2025/26): ``financial_year``, ``fy``
- ``month`` (M08, 8, Nov or a date): ``period``, ``month``, ``period_number``, ``accounting_period``
- ``cost_centre``: ``cost_centre_code``, ``cost_center``, ``cost_center_code``, ``cc``, ``cost_centre_no``
- ``subjective_code``: ``subjective``, ``subjective_code``, ``account``, ``account_code``, ``expense_code``,
  ``natural_account``, ``nominal``, ``nominal_code``
- ``budget``: ``budget_in_month``, ``in_month_budget``, ``month_budget``, ``current_budget``, ``budget_gbp``
- ``actual`` (blank for months not yet reported): ``actuals``, ``actual_in_month``, ``in_month_actual``,
  ``month_actual``, ``actual_gbp``
- optional descriptions: ``cost_centre_description`` (``cost_centre_name``, ``cost_center_description``,
  ``cc_description``), ``subjective_description`` (``subjective_name``, ``account_description``,
  ``account_name``, ``expense_description``); optional ``one_off`` and ``note`` as in the category ledger.

Mapping columns: ``category`` (an outturn category), and ``cost_centre`` and/or ``subjective_code`` (a code, a
pattern with ``*``/``?``, or ``any``; a column left out is ``any``); optional ``subcategory`` (``line``,
``ledger_line``), ``budget_holder`` (``holder``, ``budget_manager``, ``budget_holder_name``) and ``parent``
(``parent_cost_centre``, ``parent_code``: the cost centre's parent in the tree).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from types import MappingProxyType

from outturn.domain.ledger import CostCategory
from outturn.domain.ledger_mapping import ANY, LedgerMapping, MappingRule, normalise_pattern
from outturn.domain.periods import FinancialYear
from outturn.domain.problems import Problem
from outturn.domain.trial_balance import TrialBalanceRow
from outturn.ingest.tables import RawTable, RowReader, earlier_row, file_fault, organisation_parser, read_table, text_of

REQUIRED_COLUMNS = ("org_code", "year", "month", "cost_centre", "subjective_code", "budget", "actual")
OPTIONAL_COLUMNS = ("cost_centre_description", "subjective_description", "one_off", "note")
COLUMN_ALIASES = MappingProxyType(
    {
        **dict.fromkeys(
            ("entity", "entity_code", "organisation", "organisation_code", "org", "company", "code"), "org_code"
        ),
        **dict.fromkeys(("financial_year", "fy"), "year"),
        **dict.fromkeys(("period", "period_number", "accounting_period", "month_number"), "month"),
        **dict.fromkeys(
            ("cost_centre_code", "cost_center", "cost_center_code", "cc", "cost_centre_no", "costcentre"),
            "cost_centre",
        ),
        **dict.fromkeys(
            ("subjective", "account", "account_code", "expense_code", "natural_account", "nominal", "nominal_code"),
            "subjective_code",
        ),
        **dict.fromkeys(
            ("budget_in_month", "in_month_budget", "month_budget", "current_budget", "budget_gbp"), "budget"
        ),
        **dict.fromkeys(("actuals", "actual_in_month", "in_month_actual", "month_actual", "actual_gbp"), "actual"),
        **dict.fromkeys(
            ("cost_centre_name", "cost_center_description", "cost_center_name", "cc_description"),
            "cost_centre_description",
        ),
        **dict.fromkeys(
            ("subjective_name", "account_description", "account_name", "expense_description"),
            "subjective_description",
        ),
        "non_recurrent": "one_off",
    }
)

MAPPING_REQUIRED = ("category",)
MAPPING_OPTIONAL = ("cost_centre", "subjective_code", "subcategory", "budget_holder", "parent")
MAPPING_ALIASES = MappingProxyType(
    {
        **{alias: "cost_centre" for alias in COLUMN_ALIASES if COLUMN_ALIASES[alias] == "cost_centre"},
        **{alias: "subjective_code" for alias in COLUMN_ALIASES if COLUMN_ALIASES[alias] == "subjective_code"},
        "cost_category": "category",
        "outturn_category": "category",
        **dict.fromkeys(("line", "ledger_line"), "subcategory"),
        **dict.fromkeys(("holder", "budget_manager", "budget_holder_name"), "budget_holder"),
        **dict.fromkeys(("parent_cost_centre", "parent_code", "parent_cost_center"), "parent"),
    }
)


def _code(reader: RowReader, column: str) -> str:
    code = reader.text(column).upper()
    if not code:
        reader.fault("a code is required", column)
    return code


def _row(
    table: RawTable, number: int, cells: dict[str, object], known: Collection[str], memo: dict[tuple[str, str], object]
) -> tuple[TrialBalanceRow | None, list[Problem]]:
    reader = RowReader(table, number, cells, memo)
    org_code = reader.parse("org_code", organisation_parser(known))
    year = reader.parse("year", FinancialYear.parse)
    month = reader.month("month", year)
    cost_centre = _code(reader, "cost_centre")
    subjective = _code(reader, "subjective_code")
    budget = reader.money("budget", required=True)
    actual = reader.money("actual", required=False)
    one_off = reader.money("one_off", required=False) or 0
    if one_off and actual is None:
        reader.fault("a one-off amount needs an actual in the same row", "one_off")
    if reader.problems or org_code is None or year is None or month is None or budget is None:
        return None, reader.problems
    row = TrialBalanceRow(
        org_code=org_code,
        year=year,
        month=month,
        cost_centre=cost_centre,
        subjective_code=subjective,
        budget_pence=budget,
        actual_pence=actual,
        one_off_pence=one_off,
        note=reader.text("note"),
        cost_centre_description=reader.text("cost_centre_description"),
        subjective_description=reader.text("subjective_description"),
        row=number,
    )
    return row, []


# look-alike of read_ledger (ingest/ledger.py): declarative, read_table with this file's own columns, and the loop's
# own row type and key.
def read_trial_balance(
    path: Path, *, known_org_codes: Collection[str], sheet: str | None = None, header_row: int | None = None
) -> tuple[list[TrialBalanceRow], list[Problem]]:
    """Every valid row, and every problem (row, column, reason); the caller stores nothing if any."""
    table = read_table(
        path,
        required=REQUIRED_COLUMNS,
        optional=OPTIONAL_COLUMNS,
        aliases=COLUMN_ALIASES,
        sheet=sheet,
        header_row=header_row,
    )
    rows: list[TrialBalanceRow] = []
    problems: list[Problem] = []
    first_row_of: dict[tuple[str, int, int, str, str], int] = {}
    memo: dict[tuple[str, str], object] = {}
    for number, cells in table.rows:
        row, row_problems = _row(table, number, dict(cells), known_org_codes, memo)
        problems.extend(row_problems)
        if row is None:
            continue
        earlier = earlier_row(first_row_of, row.key, number)
        if earlier is not None:
            problems.append(
                table.problem(
                    f"duplicate of row {earlier}: {row.org_code} {row.year} M{row.month:02d} "
                    f"cost centre {row.cost_centre} subjective {row.subjective_code}",
                    number,
                )
            )
            continue
        rows.append(row)
    return rows, problems


def _rule(table: RawTable, number: int, cells: dict[str, object]) -> tuple[MappingRule | None, str, list[Problem]]:
    reader = RowReader(table, number, cells)
    category = reader.parse("category", CostCategory.parse)
    cost_centre = normalise_pattern(reader.text("cost_centre"))
    subjective = normalise_pattern(reader.text("subjective_code"))
    if category is None:
        return None, "", reader.problems
    rule = MappingRule(
        cost_centre=cost_centre,
        subjective_code=subjective,
        category=category,
        subcategory=" ".join(reader.text("subcategory").split()),
        budget_holder=" ".join(reader.text("budget_holder").split()),
        row=number,
    )
    return rule, text_of(cells.get("parent")).upper(), reader.problems


def read_mapping(
    path: Path, *, sheet: str | None = None, header_row: int | None = None
) -> tuple[LedgerMapping, dict[str, str], list[Problem]]:
    """The mapping's rules in file order, each exact cost centre's parent (where given), and every problem."""
    table = read_table(
        path,
        required=MAPPING_REQUIRED,
        optional=MAPPING_OPTIONAL,
        aliases=MAPPING_ALIASES,
        sheet=sheet,
        header_row=header_row,
    )
    if "cost_centre" not in table.columns and "subjective_code" not in table.columns:
        raise file_fault(
            path.name, "a mapping needs a cost_centre or a subjective_code column (or both)", row=table.header_row
        )
    rules: list[MappingRule] = []
    parents: dict[str, str] = {}
    problems: list[Problem] = []
    first_row_of: dict[tuple[str, str], int] = {}
    for number, cells in table.rows:
        rule, parent, rule_problems = _rule(table, number, dict(cells))
        problems.extend(rule_problems)
        if rule is None:
            continue
        earlier = earlier_row(first_row_of, (rule.cost_centre, rule.subjective_code), number)
        if earlier is not None:
            problems.append(table.problem(f"duplicate of row {earlier}: {rule.describe}", number))
            continue
        if parent and rule.cost_centre != ANY:
            parents[rule.cost_centre] = parent
        rules.append(rule)
    return LedgerMapping(tuple(rules)), parents, problems
