"""A SYNTHETIC trial balance: the demo's category ledger split into cost centres and subjective codes.

Each ledger line of the demo (an organisation's category and subcategory) is a cost centre of its own, numbered the
same in every organisation (``1CCNNN``: the category's number and the line's within it; the category's own
``1CC000`` is its parent), under one of eight budget holders. Each cost centre's monthly budget and actual are split
over two to four ISFE-like subjective codes by fixed shares, to the penny (largest remainder), the known one-off and
its note kept on the first; so the trial balance rolls up to the category ledger exactly, every organisation and
month, and every figure the demo shows from the category ledger stays as it is. The mapping maps each cost centre
(any subjective code) to its category, subcategory, budget holder and parent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from outturn.demo.files import write_csv
from outturn.domain.budgets import apportion
from outturn.domain.ledger import CostCategory, LedgerLine
from outturn.domain.money import format_pounds
from outturn.domain.trial_balance import TrialBalanceRow

# Who answers for each category's cost centres (SYNTHETIC roles).
BUDGET_HOLDERS: dict[CostCategory, str] = {
    CostCategory.ACUTE: "Director of Acute Commissioning",
    CostCategory.MENTAL_HEALTH: "Head of Mental Health Commissioning",
    CostCategory.COMMUNITY: "Head of Community Services",
    CostCategory.CONTINUING_HEALTHCARE: "Head of Continuing Healthcare",
    CostCategory.PRIMARY_CARE_DELEGATED: "Head of Primary Care",
    CostCategory.PRESCRIBING: "Head of Medicines Optimisation",
    CostCategory.OTHER_PROGRAMME: "Director of Strategy and Transformation",
    CostCategory.RUNNING_COSTS: "Chief Finance Officer",
    CostCategory.RESERVES_CONTINGENCY: "Chief Finance Officer",
}

Subjective = tuple[str, str, str]  # code, description, share of the cost centre's figures

NHS_HEALTHCARE = ("52131000", "Purchase of healthcare from NHS bodies")
NON_NHS_HEALTHCARE = ("52132000", "Purchase of healthcare from non-NHS bodies")
SUBJECTIVES: dict[CostCategory, tuple[Subjective, ...]] = {
    CostCategory.ACUTE: (
        (*NHS_HEALTHCARE, "0.86"),
        ("52133000", "Healthcare - high cost drugs and devices", "0.08"),
        ("52134000", "Healthcare - CQUIN", "0.06"),
    ),
    CostCategory.MENTAL_HEALTH: ((*NHS_HEALTHCARE, "0.78"), (*NON_NHS_HEALTHCARE, "0.22")),
    CostCategory.COMMUNITY: (
        (*NHS_HEALTHCARE, "0.70"),
        (*NON_NHS_HEALTHCARE, "0.18"),
        ("52136000", "Voluntary sector grants", "0.12"),
    ),
    CostCategory.CONTINUING_HEALTHCARE: (
        ("52160000", "Continuing care - residential packages", "0.62"),
        ("52161000", "Continuing care - domiciliary packages", "0.30"),
        ("52162000", "Continuing care - personal health budgets", "0.08"),
    ),
    CostCategory.PRIMARY_CARE_DELEGATED: (
        ("52170000", "Primary care - global sum and contract payments", "0.80"),
        ("52171000", "Primary care - premises reimbursements", "0.12"),
        ("52172000", "Primary care - QOF and enhanced services", "0.08"),
    ),
    CostCategory.PRESCRIBING: (
        ("52140000", "Prescribing - drugs", "0.93"),
        ("52141000", "Prescribing - appliances and dressings", "0.05"),
        ("52142000", "Prescribing - oxygen", "0.02"),
    ),
    CostCategory.OTHER_PROGRAMME: ((*NHS_HEALTHCARE, "0.75"), ("52180000", "Other programme services", "0.25")),
    CostCategory.RUNNING_COSTS: (
        ("51110000", "Salaries and wages", "0.58"),
        ("51150000", "Employer's National Insurance", "0.07"),
        ("51160000", "Employer's pension contributions", "0.10"),
        ("53110000", "Premises costs", "0.13"),
        ("53150000", "IT and supplies", "0.12"),
    ),
    CostCategory.RESERVES_CONTINGENCY: (("58100000", "Contingency reserve", "1"),),
}


@dataclass(frozen=True)
class DemoCostCentre:
    code: str
    parent: str
    description: str
    category: CostCategory
    subcategory: str

    @property
    def budget_holder(self) -> str:
        return BUDGET_HOLDERS[self.category]


def cost_centres(lines: Iterable[LedgerLine]) -> dict[tuple[CostCategory, str], DemoCostCentre]:
    """One cost centre per (category, subcategory) the ledger holds, numbered the same in every organisation."""
    found: dict[CostCategory, list[str]] = {}
    for line in lines:
        subcategories = found.setdefault(line.category, [])
        if line.subcategory not in subcategories:
            subcategories.append(line.subcategory)
    centres: dict[tuple[CostCategory, str], DemoCostCentre] = {}
    for number, category in enumerate(CostCategory, start=1):
        for index, subcategory in enumerate(sorted(found.get(category, [])), start=1):
            description = f"{category.label} - {subcategory}" if subcategory else category.label
            centres[(category, subcategory)] = DemoCostCentre(
                f"1{number:02d}{index:03d}", f"1{number:02d}000", description, category, subcategory
            )
    return centres


def _split(amount: int, weights: Sequence[Fraction]) -> list[int]:
    return apportion(amount, weights)


def trial_balance_rows(
    lines: Sequence[LedgerLine], centres: dict[tuple[CostCategory, str], DemoCostCentre]
) -> Iterator[TrialBalanceRow]:
    """Each ledger line as its cost centre's rows, one per subjective code, summing to it to the penny."""
    for line in lines:
        centre = centres[(line.category, line.subcategory)]
        subjectives = SUBJECTIVES[line.category]
        weights = [Fraction(share) for _code, _description, share in subjectives]
        budgets = _split(line.budget_pence, weights)
        actuals: list[int | None] = (
            [None] * len(weights) if line.actual_pence is None else list(_split(line.actual_pence, weights))
        )
        for index, (code, description, _share) in enumerate(subjectives):
            yield TrialBalanceRow(
                org_code=line.org_code,
                year=line.year,
                month=line.month,
                cost_centre=centre.code,
                subjective_code=code,
                budget_pence=budgets[index],
                actual_pence=actuals[index],
                one_off_pence=line.one_off_pence if index == 0 else 0,
                note=line.note if index == 0 else "",
                cost_centre_description=centre.description,
                subjective_description=description,
            )


TRIAL_BALANCE_HEADER = (
    "Entity",
    "Financial Year",
    "Period",
    "Cost Centre",
    "Cost Centre Description",
    "Subjective",
    "Subjective Description",
    "Budget",
    "Actual",
    "One Off",
    "Note",
)
MAPPING_HEADER = ("Cost Centre", "Subjective", "Category", "Subcategory", "Budget Holder", "Parent")


def trial_balance_table(rows: Iterable[TrialBalanceRow]) -> Iterator[tuple[object, ...]]:
    for row in rows:
        yield (
            row.org_code,
            row.year.label,
            f"M{row.month:02d}",
            row.cost_centre,
            row.cost_centre_description,
            row.subjective_code,
            row.subjective_description,
            format_pounds(row.budget_pence),
            "" if row.actual_pence is None else format_pounds(row.actual_pence),
            format_pounds(row.one_off_pence) if row.one_off_pence else "",
            row.note,
        )


def mapping_table(centres: dict[tuple[CostCategory, str], DemoCostCentre]) -> Iterator[tuple[object, ...]]:
    for centre in sorted(centres.values(), key=lambda item: item.code):
        yield (centre.code, "any", centre.category.value, centre.subcategory, centre.budget_holder, centre.parent)


def write_trial_balance(path: Path, rows: Iterable[TrialBalanceRow]) -> Path:
    return write_csv(path, TRIAL_BALANCE_HEADER, trial_balance_table(rows))


def write_mapping(path: Path, centres: dict[tuple[CostCategory, str], DemoCostCentre]) -> Path:
    return write_csv(path, MAPPING_HEADER, mapping_table(centres))
