"""``outturn populations`` (list sizes, weighted populations) and ``outturn budgets`` (indicative practice
budgets, distance from target, the incentive scheme)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from outturn.cli._common import cell, console, emit, emit_rows, pounds_cell, print_plain, print_warnings, workspace_from
from outturn.cli.command import command
from outturn.cli.options import OutputFormat
from outturn.domain.budgets import IncentiveTerms
from outturn.domain.errors import BadInput
from outturn.domain.ledger import CostCategory
from outturn.domain.money import VARIANCE_CONVENTION, format_pounds, parse_money
from outturn.domain.periods import FinancialYear
from outturn.domain.plans import parse_share
from outturn.domain.populations import WP_COMPONENTS, Level, Weighting
from outturn.services import budgets, populations

LevelOption = Annotated[str, typer.Option("--level", help="practice, pcn, sub-icb or icb")]
UnderOption = Annotated[str | None, typer.Option("--under", help="Only the practices at or under this code")]
ComponentOption = Annotated[
    str,
    typer.Option(
        "--component",
        help="Weighted population to share by: final, general_acute, community, mental_health, maternity, "
        "health_inequalities, prescribing, primary_medical_care; or astro_pu, list_size",
    ),
]


_CODE_COLUMN = ("Code", lambda row: row["code"] or "(none)")  # an organisation's code; practices in no PCN have none


def _money(pence: int | None) -> str:
    return "" if pence is None else format_pounds(pence)


def _number(value: float | int | None) -> str:
    return "" if value is None else f"{value:,.0f}"


# look-alike of ledger_import's signature (cli/ledger.py): Typer option declarations, one per command.
@command()
def populations_import(
    ctx: typer.Context,
    allocation: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="NHS England practice weighted-population file")
    ] = None,
    list_sizes: Annotated[
        list[Path] | None,
        typer.Option(
            "--list-sizes",
            exists=True,
            dir_okay=False,
            help="Current list sizes by age and sex (repeat): their totals are the list sizes. "
            "Left out: the reference data's older lists give the age profile only",
        ),
    ] = None,
    no_list_sizes: Annotated[bool, typer.Option(help="Import no age/sex lists: list size from the file")] = False,
    weights: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="HSCIC prescribing-units workbook")
    ] = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Replace the workspace's practice populations: NHS England's weighted populations, each practice's latest
    list by age and sex, its ASTRO-PU and STAR-PUs. Files left out come from the reference data."""
    with workspace_from(ctx) as opened:
        result = populations.import_populations(opened, allocation, [] if no_list_sizes else list_sizes, weights)
    document = asdict(result)

    def render() -> None:
        console.print(
            f"{result.practices:,} practices from {result.allocation_file}; {result.practices_with_list:,} with an "
            f"age/sex list ({', '.join(result.list_dates or ('none',))}), {result.practices_with_astro_pu:,} with "
            f"an ASTRO-PU, {result.practices_with_target:,} with a target allocation",
            highlight=False,
        )

    emit(fmt, document, render)


def totals_document(named: populations.NamedTotals) -> dict[str, Any]:
    totals = named.totals
    return {
        "level": totals.level.value,
        "code": totals.code,
        "name": named.name,
        "practices": totals.practices,
        "list_size": totals.list_size,
        "list_size_practices": totals.list_size_practices,
        "astro_pu": totals.astro_pu,
        "astro_pu_practices": totals.astro_pu_practices,
        **{component.column: totals.weighted[component.value] for component in WP_COMPONENTS},
    }


@command()
def populations_show(
    ctx: typer.Context,
    level: LevelOption = "practice",
    under: UnderOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Populations per practice, PCN, sub-ICB or ICB: list size, ASTRO-PU and each weighted population."""
    with workspace_from(ctx) as opened:
        found = populations.population_totals(opened, Level.parse(level), under)
    rows = [totals_document(named) for named in found]
    emit_rows(
        fmt,
        rows,
        [
            _CODE_COLUMN,
            ("Name", cell("name")),
            ("Practices", cell("practices")),
            ("List size", lambda row: _number(row["list_size"])),
            ("ASTRO-PU", lambda row: _number(row["astro_pu"])),
            ("G&A WP", lambda row: _number(row["wp_general_acute"])),
            ("Prescribing WP", lambda row: _number(row["wp_prescribing"])),
            ("Final WP", lambda row: _number(row["wp_final"])),
        ],
    )


def _spend_source(spend: Path | None, ledger_year: str | None, category: str | None) -> budgets.SpendSource:
    if spend is not None and ledger_year is not None:
        raise BadInput("give spend from a file or from the ledger (--ledger-year), not both")
    if category is not None and ledger_year is None:
        raise BadInput("--category picks ledger lines: give --ledger-year too")
    return budgets.SpendSource(
        file=spend,
        ledger_year=FinancialYear.parse(ledger_year) if ledger_year else None,
        ledger_category=CostCategory.parse(category) if category else None,
    )


SpendOption = Annotated[
    Path | None, typer.Option(exists=True, dir_okay=False, help="Practice file: practice, spend_pence (or spend £)")
]
LedgerYearOption = Annotated[
    str | None, typer.Option("--ledger-year", help="Take spend from the ledger's actuals for this year (2025/26)")
]
CategoryOption = Annotated[str | None, typer.Option(help="Only this ledger cost category (e.g. prescribing)")]


@command()
def budgets_indicative(
    ctx: typer.Context,
    budget: Annotated[str, typer.Option(help="The commissioning budget to share, e.g. £12.5m")],
    component: ComponentOption = "final",
    level: LevelOption = "practice",
    under: UnderOption = None,
    spend: SpendOption = None,
    ledger_year: LedgerYearOption = None,
    category: CategoryOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Indicative budgets: each practice's weighted-capitation share of a commissioning budget, to the penny
    (largest remainder), summed to PCN, sub-ICB or ICB; with spend, the variance (budget − spend)."""
    with workspace_from(ctx) as opened:
        result = budgets.indicative(
            opened,
            parse_money(budget),
            Weighting.parse(component),
            Level.parse(level),
            under,
            _spend_source(spend, ledger_year, category),
        )
    total_weight = sum(budget.weight for budget in result.practices)
    lines = [
        {
            "level": line.level.value,
            "code": line.code,
            "name": result.names.get(line.code or ""),
            "practices": line.practices,
            "weight": line.weight,
            "share": line.weight / total_weight,
            "budget_pence": line.budget_pence,
            "practices_with_spend": line.practices_with_spend,
            "spend_pence": line.spend_pence,
            "variance_pence": line.variance_pence,
            "variance_pct": line.variance_pct,
        }
        for line in result.lines
    ]
    document = {
        "budget_pence": result.budget_pence,
        "component": result.weighting.value,
        "level": result.level.value,
        "practices": len(result.practices),
        "total_weight": total_weight,
        "lines": lines,
        "warnings": list(result.warnings),
    }

    def render() -> None:
        emit_rows(
            OutputFormat.TABLE,
            lines,
            [
                _CODE_COLUMN,
                ("Name", cell("name")),
                ("Share", lambda row: f"{row['share']:.3%}"),
                ("Budget", pounds_cell("budget_pence")),
                ("Spend", pounds_cell("spend_pence")),
                ("Variance", pounds_cell("variance_pence")),
                ("%", cell("variance_pct")),
            ],
        )
        if any(line["spend_pence"] is not None for line in lines):
            print_plain(VARIANCE_CONVENTION)
        print_warnings(result.warnings)

    emit(fmt, document, render)


# look-alike of the budget-setting document's lines above: declarative, each line's fields.
@command()
def budgets_distance(
    ctx: typer.Context,
    level: LevelOption = "practice",
    component: ComponentOption = "final",
    basis: Annotated[
        budgets.TargetBasis, typer.Option(help="share: the parent's actual shared by need; absolute: the file's target")
    ] = budgets.TargetBasis.SHARE,
    actual: SpendOption = None,
    ledger_year: LedgerYearOption = None,
    category: CategoryOption = None,
    plans_year: Annotated[
        str | None, typer.Option("--plans-year", help="Actual = the recurrent allocation of each plan for this year")
    ] = None,
    include_remote: Annotated[bool, typer.Option(help="Absolute targets including the remoteness adjustment")] = False,
    under: UnderOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """Distance from target allocation, (actual − target) ÷ target, for practices, PCNs, sub-ICBs or ICBs."""
    with workspace_from(ctx) as opened:
        result = budgets.distance(
            opened,
            Level.parse(level),
            Weighting.parse(component),
            basis=basis,
            actual=_spend_source(actual, ledger_year, category),
            plans_year=FinancialYear.parse(plans_year) if plans_year else None,
            include_remote=include_remote,
            under=under,
        )
    lines = [
        {
            "code": line.code,
            "name": result.names.get(line.code),
            "parent": line.parent,
            "weight": line.weight,
            "actual_pence": line.actual_pence,
            "target_pence": line.target_pence,
            "distance_pence": line.distance_pence,
            "distance_pct": line.distance_pct,
        }
        for line in result.lines
    ]
    document = {
        "level": result.level.value,
        "component": result.weighting.value,
        "basis": result.basis.value,
        "actual_from": result.actual_from,
        "lines": lines,
        "warnings": list(result.warnings),
    }

    def render() -> None:
        emit_rows(
            OutputFormat.TABLE,
            lines,
            [
                ("Code", cell("code")),
                ("Name", cell("name")),
                ("Parent", cell("parent")),
                ("Actual", pounds_cell("actual_pence")),
                ("Target", pounds_cell("target_pence")),
                ("Distance", pounds_cell("distance_pence")),
                ("%", cell("distance_pct")),
            ],
        )
        print_warnings(result.warnings, limit=20)

    emit(fmt, document, render)


# look-alike of commentary_list's render (cli/commentary.py): declarative, a table's columns and a summary line.
@command()
def budgets_incentive(
    ctx: typer.Context,
    budget: Annotated[str, typer.Option(help="The commissioning budget the indicative budgets share, e.g. £12.5m")],
    practices: Annotated[
        Path,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="practice, spend (or spend_pence); optional enhanced_services (£) and signed_up (yes/no)",
        ),
    ],
    pot: Annotated[
        str | None, typer.Option(help="Enhanced-service payments to share by the component where the file has none")
    ] = None,
    set_aside: Annotated[str, typer.Option(help="Share of enhanced-service payments held back")] = "25%",
    aspiration: Annotated[str, typer.Option(help="Share of the set-aside paid on signing up")] = "50%",
    savings_target: Annotated[str, typer.Option(help="Savings target as a share of the indicative budget")] = "2%",
    component: ComponentOption = "final",
    level: Annotated[str, typer.Option("--level", help="Totals by practice, pcn, sub-icb or icb")] = "pcn",
    under: UnderOption = None,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """The practice-based commissioning incentive: a set-aside of enhanced-service payments, an aspiration payment
    on signing up, an achievement payment for savings against the indicative budget (capped); the rest retained."""
    terms = IncentiveTerms(parse_share(set_aside), parse_share(aspiration), parse_share(savings_target))
    with workspace_from(ctx) as opened:
        result = budgets.incentive(
            opened,
            parse_money(budget),
            practices,
            terms,
            weighting=Weighting.parse(component),
            pot_pence=parse_money(pot) if pot else None,
            level=Level.parse(level),
            under=under,
        )
    rows = [
        {"practice": record.practice, "pcn": record.pcn, "signed_up": payment.signed_up}
        | {name: getattr(payment, name) for name in budgets.TOTAL_FIELDS}
        for record, payment in result.practices
    ]
    totals = [{"code": code} | values for code, values in result.totals.items()]
    overall = {name: sum(row[name] for row in rows) for name in budgets.TOTAL_FIELDS}
    document = {
        "terms": {key: str(value) for key, value in asdict(terms).items()},
        "budget_pence": result.budget_pence,
        "component": result.weighting.value,
        "level": result.level.value,
        "practices": rows,
        "totals": totals,
        "total": {"practices": len(rows)} | overall,
        "warnings": list(result.warnings),
    }

    def render() -> None:
        emit_rows(
            OutputFormat.TABLE,
            totals,
            [
                _CODE_COLUMN,
                ("Practices", cell("practices")),
                ("Set-aside", pounds_cell("set_aside_pence")),
                ("Aspiration", pounds_cell("aspiration_pence")),
                ("Savings", pounds_cell("savings_pence")),
                ("Achievement", pounds_cell("achievement_pence")),
                ("Retained", pounds_cell("retained_pence")),
            ],
        )
        console.print(
            f"set aside {_money(overall['set_aside_pence'])}: aspiration {_money(overall['aspiration_pence'])}, "
            f"achievement {_money(overall['achievement_pence'])}, retained {_money(overall['retained_pence'])}",
            highlight=False,
        )

    emit(fmt, document, render)
