"""Names to show instead of codes where the workspace holds them: organisations (the store's tree, the allocation
file and the practice populations: ``populations.organisation_names``) and treatment functions (the national
tariff's outpatient table for the contract year). A code with no name held is shown as it is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from outturn.domain.errors import OutturnError
from outturn.domain.periods import FinancialYear
from outturn.domain.problems import ProblemsError
from outturn.services.populations import organisation_names
from outturn.services.pricing import contract_tariff
from outturn.services.workspace import Workspace


@dataclass(frozen=True)
class DisplayNames:
    organisations: Mapping[str, str]
    treatment_functions: Mapping[str, str]

    def organisation(self, code: str | None) -> str:
        """``NHS Test sub-ICB (01A)``; the name alone where it holds the code; the code alone where no name is
        held."""
        if not code:
            return ""
        name = self.organisations.get(code)
        if not name:
            return code
        return name if code in name else f"{name} ({code})"  # a name that holds its code already says it

    def treatment_function(self, code: str | None) -> str:
        """``100 General Surgery``, or the code alone."""
        if not code:
            return ""
        name = self.treatment_functions.get(code)
        return f"{code} {name}" if name else code


def treatment_function_names(workspace: Workspace, year: FinancialYear) -> dict[str, str]:
    """Treatment function code -> description, from the tariff the contract year is priced at (none if the
    workspace holds no tariff)."""
    try:
        tariff = contract_tariff(workspace, year)
    except (OutturnError, ProblemsError):
        return {}
    rows = tariff.op.select(["treatment_function", "treatment_function_name"]).to_pylist()
    return {row["treatment_function"]: row["treatment_function_name"] for row in rows if row["treatment_function_name"]}


def display_names(workspace: Workspace, year: FinancialYear) -> DisplayNames:
    return DisplayNames(organisation_names(workspace), treatment_function_names(workspace, year))
