"""Which forecast method each ledger line uses: stored settings per category or per line, and the rule between them.

Precedence, most specific first:

1. a setting for the line (organisation, category, subcategory);
2. a setting for the line's category;
3. a method chosen for the category by the caller (``MethodPlan.by_category``: e.g. the back-test's ``auto`` pick);
4. the method requested (``--method``, else the workspace's ``forecast_method``).

A setting made on an organisation applies to the lines of every organisation under it; where settings of the same
scope are made at several levels, the one nearest the line's own organisation wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from outturn.domain.forecast import ForecastMethod, LineFigures
from outturn.domain.ledger import CostCategory


class MethodScope(StrEnum):
    CATEGORY = "category"
    LINE = "line"


@dataclass(frozen=True)
class MethodSetting:
    """A standing choice of forecast method for one organisation's category, or for one of its ledger lines."""

    org_code: str
    category: CostCategory
    method: ForecastMethod
    subcategory: str | None = None  # None: every line in the category
    reason: str = ""

    @property
    def scope(self) -> MethodScope:
        return MethodScope.CATEGORY if self.subcategory is None else MethodScope.LINE

    @property
    def key(self) -> tuple[str, CostCategory, MethodScope, str]:
        return self.org_code, self.category, self.scope, self.subcategory or ""

    def describe(self) -> str:
        where = f"{self.org_code} {self.category.value}" + (
            f" / {self.subcategory}" if self.subcategory is not None else ""
        )
        return f"{where}: {self.method.value}"


@dataclass(frozen=True)
class MethodPlan:
    """How each line is to be forecast: the requested method, per-category picks, and the stored settings.

    ``lineage`` maps an organisation to itself and its ancestors, nearest first; an organisation missing from it
    is its own only ancestor."""

    default: ForecastMethod
    by_category: Mapping[CostCategory, ForecastMethod] = field(default_factory=dict)
    settings: Sequence[MethodSetting] = ()
    lineage: Mapping[str, Sequence[str]] = field(default_factory=dict)
    by_org_category: Mapping[tuple[str, CostCategory], ForecastMethod] = field(default_factory=dict)

    def method_for(self, figures: LineFigures) -> ForecastMethod:
        """A stored setting, else a pick for the line's organisation and category, else for its category, else
        the default."""
        chosen = self.setting_for(figures)
        if chosen is not None:
            return chosen.method
        picked = self.by_org_category.get((figures.org_code, figures.category))
        return picked if picked is not None else self.by_category.get(figures.category, self.default)

    def setting_for(self, figures: LineFigures) -> MethodSetting | None:
        """The stored setting that decides the line's method, or None when none applies."""
        orgs = tuple(self.lineage.get(figures.org_code, (figures.org_code,)))
        applicable = [
            setting
            for setting in self.settings
            if setting.category is figures.category
            and setting.org_code in orgs
            and setting.subcategory in (None, figures.subcategory)
        ]
        if not applicable:
            return None
        return min(applicable, key=lambda item: (item.scope is MethodScope.CATEGORY, orgs.index(item.org_code)))
