"""``outturn patients high-intensity``: patients flagged for high use of urgent care, how late the data came, and
how much of their fall in use is regression to the mean."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from outturn.cli._common import console, emit, print_plain, workspace_from
from outturn.cli.command import command
from outturn.cli.options import OutputFormat
from outturn.domain.high_intensity import DEFAULT_AE_ATTENDANCES, DEFAULT_NON_ELECTIVE_ADMISSIONS, Thresholds
from outturn.domain.money import format_thousands
from outturn.domain.periods import FinancialMonth
from outturn.reports.patients import high_intensity_document
from outturn.services.patients import high_intensity_users


# look-alike of cli/contract_reconciliation.py's signature: Typer option declarations, one per command.
@command()
def patients_high_intensity(
    ctx: typer.Context,
    as_at: Annotated[
        str | None, typer.Option("--as-at", help="Month, YYYY-MM (default: the latest month the activity reaches)")
    ] = None,
    practice: Annotated[str | None, typer.Option(help="Only this practice's patients, listed (pseudonymised)")] = None,
    ae_attendances: Annotated[
        int, typer.Option(help="Flag at this many A&E attendances in the rolling 12 months")
    ] = DEFAULT_AE_ATTENDANCES,
    non_elective_admissions: Annotated[
        int, typer.Option(help="Flag at this many non-elective admissions in the rolling 12 months")
    ] = DEFAULT_NON_ELECTIVE_ADMISSIONS,
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """High-intensity users of urgent care: patients with 5 or more A&E attendances or 3 or more non-elective
    admissions in the 12 months to the as-at month, their activity at tariff by practice and PCN; how many days
    after the qualifying attendance the data arrived; and each past cohort's activity before and after flagging
    beside a matched comparison group (regression to the mean)."""
    thresholds = Thresholds(ae_attendances, non_elective_admissions)
    month = FinancialMonth.parse_as_at(as_at) if as_at else None
    with workspace_from(ctx, read_only=True) as opened:
        found = high_intensity_users(opened, month, practice=practice, thresholds=thresholds)
    document = high_intensity_document(found)
    emit(fmt, document, lambda: _render(document))


# look-alike of the render above: declarative, one printed line per part of the document.
def _render(document: dict[str, Any]) -> None:
    flagged = document["flagged"]
    print_plain(
        f"High-intensity users as at {document['as_at']}: {flagged['patients']:,} patient(s), "
        f"{format_thousands(flagged['value_pence'])} at {document['tariff_year']} tariff"
    )
    table = Table("Practice", "PCN", "Patients", "A&E", "Non-elective", "£000")
    for row in document["by_practice"]:
        table.add_row(
            row["practice"] or "",
            row["pcn"] or "",
            str(row["patients"]),
            str(row["ae_attendances"]),
            str(row["non_elective_admissions"]),
            format_thousands(row["value_pence"]),
        )
    console.print(table)
    timely = document["timeliness"]["flagged"]
    print_plain(
        f"Days from the qualifying attendance to the data: median {timely['median_days']}, "
        f"longest {timely['longest_days']}. {document['timeliness']['measured_against']}"
    )
    cohorts = Table("Cohort", "Flagged", "Matched", "Months after", "Flagged change £000", "Comparison change £000")
    for cohort in document["regression_to_the_mean"]["cohorts"]:
        cohorts.add_row(
            cohort["cohort_month"],
            str(cohort["flagged_patients"]),
            str(cohort["matched_patients"]),
            str(cohort["months_after"]),
            format_thousands(cohort["flagged_change_pence"]),
            format_thousands(cohort["comparison_change_pence"]),
        )
    console.print(cohorts)
    for patient in document.get("patients", []):
        print_plain(
            f"{patient['patient_id']}  A&E {patient['ae_attendances']}  non-elective "
            f"{patient['non_elective_admissions']}  {format_thousands(patient['value_pence'])}"
        )
