"""The commissioner's ledger: budget and actual by organisation, cost category and month."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from outturn.domain.labels import look_up, normalise_key
from outturn.domain.money import Pence
from outturn.domain.periods import FinancialYear


class CostCategory(StrEnum):
    ACUTE = "acute"
    MENTAL_HEALTH = "mental_health"
    COMMUNITY = "community"
    CONTINUING_HEALTHCARE = "continuing_healthcare"
    PRIMARY_CARE_DELEGATED = "primary_care_delegated"
    PRESCRIBING = "prescribing"
    OTHER_PROGRAMME = "other_programme"
    RUNNING_COSTS = "running_costs"
    RESERVES_CONTINGENCY = "reserves_contingency"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @classmethod
    def parse(cls, text: str) -> CostCategory:
        return look_up(_ALIASES, text, "cost category", (category.value for category in cls))


CategoryLineKey = tuple[str, CostCategory, str]  # a ledger line by organisation, category, subcategory


_LABELS: Mapping[CostCategory, str] = MappingProxyType(
    {
        CostCategory.ACUTE: "Acute",
        CostCategory.MENTAL_HEALTH: "Mental health",
        CostCategory.COMMUNITY: "Community",
        CostCategory.CONTINUING_HEALTHCARE: "Continuing healthcare",
        CostCategory.PRIMARY_CARE_DELEGATED: "Primary care (delegated)",
        CostCategory.PRESCRIBING: "Prescribing",
        CostCategory.OTHER_PROGRAMME: "Other programme",
        CostCategory.RUNNING_COSTS: "Running costs",
        CostCategory.RESERVES_CONTINGENCY: "Reserves and contingency",
    }
)


_ALIASES: Mapping[str, CostCategory] = MappingProxyType(
    {
        **{category.value: category for category in CostCategory},
        **{normalise_key(label): category for category, label in _LABELS.items()},
        "acute_services": CostCategory.ACUTE,
        "mh": CostCategory.MENTAL_HEALTH,
        "mental_health_services": CostCategory.MENTAL_HEALTH,
        "community_health_services": CostCategory.COMMUNITY,
        "community_services": CostCategory.COMMUNITY,
        "chc": CostCategory.CONTINUING_HEALTHCARE,
        "continuing_care": CostCategory.CONTINUING_HEALTHCARE,
        "continuing_health_care": CostCategory.CONTINUING_HEALTHCARE,
        "primary_care": CostCategory.PRIMARY_CARE_DELEGATED,
        "delegated_primary_care": CostCategory.PRIMARY_CARE_DELEGATED,
        "primary_care_delegated_commissioning": CostCategory.PRIMARY_CARE_DELEGATED,
        "primary_care_prescribing": CostCategory.PRESCRIBING,
        "other": CostCategory.OTHER_PROGRAMME,
        "other_programme_services": CostCategory.OTHER_PROGRAMME,
        "running_cost": CostCategory.RUNNING_COSTS,
        "admin": CostCategory.RUNNING_COSTS,
        "reserves": CostCategory.RESERVES_CONTINGENCY,
        "contingency": CostCategory.RESERVES_CONTINGENCY,
        "reserves_and_contingency": CostCategory.RESERVES_CONTINGENCY,
    }
)


@dataclass(frozen=True)
class LedgerLine:
    """One organisation's budget and actual for one ledger line in one month.

    ``subcategory`` splits a category into lines (a provider, a service); ``actual_pence`` is ``None`` for
    months not yet reported; ``one_off_pence`` is the part of the actual known to be non-recurring, which
    forecasts do not extrapolate.
    """

    org_code: str
    year: FinancialYear
    month: int
    category: CostCategory
    subcategory: str
    budget_pence: Pence
    actual_pence: Pence | None
    one_off_pence: Pence = 0
    note: str = ""
    cost_centre: str = ""  # a trial balance's line: its cost centre and subjective code ("" at category level)
    subjective_code: str = ""

    @property
    def key(self) -> tuple[str, int, int, str, str, str, str]:
        return (
            self.org_code,
            self.year.start_year,
            self.month,
            self.category.value,
            self.subcategory,
            self.cost_centre,
            self.subjective_code,
        )
