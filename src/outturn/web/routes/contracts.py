"""Provider contracts: the contracts held for the year, and each provider's monthly contract statement (plan
against priced actual activity and £ by point of delivery, year to date, forecast outturn, over-performance,
follow-up ratios, consultant-to-consultant referrals and case-mix drift), as ``outturn contracts statement``.

Contracts are held between a provider and a commissioner (a sub-ICB location or ICB): finance, board and admin
read them; practice users do not (a contract is not a practice's).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from outturn.domain.errors import BadInput, NotFound
from outturn.domain.periods import FinancialMonth
from outturn.reports.contract_reconciliation import DIFFERENCE_CONVENTION, table_rows
from outturn.reports.contracts import statement_documents
from outturn.services import contracts
from outturn.services.contract_reconciliation import reconciliation_json
from outturn.services.names import DisplayNames, display_names
from outturn.services.web import ContractSummary, contract_summaries
from outturn.services.workspace import Workspace
from outturn.web.cache import NOT_SAVINGS
from outturn.web.routes.savings import as_at_month
from outturn.web.security import Reader, WorkspaceDep
from outturn.web.templating import render

router = APIRouter()


def _summary_document(summary: ContractSummary) -> dict[str, Any]:
    return {
        "provider": summary.provider,
        "provider_name": summary.provider_name,
        "commissioner": summary.commissioner,
        "annual_plan_activity": summary.annual_plan_activity,
        "annual_plan_pence": summary.annual_plan_pence,
        "block_pence": summary.block_pence,
    }


async def contract_list(request: Request, workspace: Workspace, month: FinancialMonth) -> list[dict[str, Any]]:
    def compute() -> list[dict[str, Any]]:
        return [_summary_document(found) for found in contract_summaries(workspace, month.year)]

    rows: list[dict[str, Any]] = await request.app.state.cache.get_async(
        ("contracts", str(month.year)), compute, NOT_SAVINGS
    )
    return rows


async def statements(
    request: Request, workspace: Workspace, provider: str, month: FinancialMonth
) -> list[dict[str, Any]]:
    """The provider's statements (one per commissioner) as ``outturn contracts statement --format json``."""
    provider = provider.upper()
    if provider not in {row["provider"] for row in await contract_list(request, workspace, month)}:
        raise NotFound(f"no contract with provider {provider} in {month.year}")

    def compute() -> list[dict[str, Any]]:
        return statement_documents(contracts.contract_statements(workspace, provider, month))

    documents: list[dict[str, Any]] = await request.app.state.cache.get_async(
        ("contract-statement", provider, str(month)), compute, NOT_SAVINGS
    )
    return documents


async def names_of(request: Request, workspace: Workspace, month: FinancialMonth) -> DisplayNames:
    """Organisation and treatment function names to show beside their codes (``services.names``)."""
    found: DisplayNames = await request.app.state.cache.get_async(
        ("display-names", str(month.year)), lambda: display_names(workspace, month.year), NOT_SAVINGS
    )
    return found


async def reconciliation(request: Request, workspace: Workspace, month: FinancialMonth) -> dict[str, Any]:
    """Every contract against the ledger as at ``month``, as ``outturn contracts reconcile --format json``."""
    document: dict[str, Any] = await request.app.state.cache.get_async(
        ("contract-reconciliation", str(month)), lambda: reconciliation_json(workspace, month), NOT_SAVINGS
    )
    return document


@router.get("/contracts", include_in_schema=False)
async def contracts_page(
    request: Request, _user: Reader, workspace: WorkspaceDep, as_at: str | None = None
) -> Response:
    month = as_at_month(workspace, as_at)
    rows = await contract_list(request, workspace, month)
    context: dict[str, Any] = {"active": "contracts", "month": month, "rows": rows, "reconciliation": None}
    context["names"] = await names_of(request, workspace, month)
    if rows:
        try:
            document = await reconciliation(request, workspace, month)
            context["reconciliation"] = {**document, "rows": table_rows(document)}
        except BadInput as error:
            context["reconciliation_error"] = str(error)
    context["difference_convention"] = DIFFERENCE_CONVENTION
    return render(request, "contracts/list.html", context)


async def provider_context(
    request: Request, workspace: Workspace, provider: str, month: FinancialMonth
) -> dict[str, Any]:
    """What the provider's page shows (also when a challenge form on it is refused and the page is shown again)."""
    documents = await statements(request, workspace, provider, month)
    names = {row["provider"]: row["provider_name"] for row in await contract_list(request, workspace, month)}
    return {
        "active": "contracts",
        "month": month,
        "provider": provider.upper(),
        "provider_name": names.get(provider.upper()),
        "documents": documents,
        "names": await names_of(request, workspace, month),
    }


@router.get("/contracts/{provider}", include_in_schema=False)
async def provider_page(
    request: Request, _user: Reader, workspace: WorkspaceDep, provider: str, as_at: str | None = None
) -> Response:
    context = await provider_context(request, workspace, provider, as_at_month(workspace, as_at))
    return render(request, "contracts/provider.html", context)


@router.get("/api/contracts", tags=["contracts"])
async def contracts_api(
    request: Request, _user: Reader, workspace: WorkspaceDep, as_at: str | None = None
) -> dict[str, Any]:
    """The contracts held for the year of ``as_at`` (default: the workspace's month): provider, commissioner,
    annual planned activity and pence, block pence. Finance, board and admin only."""
    month = as_at_month(workspace, as_at)
    return {"financial_year": month.year.label, "contracts": await contract_list(request, workspace, month)}


@router.get("/api/contracts/reconcile", tags=["contracts"])
async def reconcile_api(
    request: Request, _user: Reader, workspace: WorkspaceDep, as_at: str | None = None
) -> dict[str, Any]:
    """Every contract against the ledger lines that account for it, as ``outturn contracts reconcile --format
    json`` (default thresholds): per contract ``contract`` (annual plan, priced activity to date, forecast),
    ``elements``, ``ledger_lines``, ``ledger``, ``difference`` (ledger less contract, each figure flagged or not),
    ``non_contract_lines``; and the ``total``. Money in pence."""
    return await reconciliation(request, workspace, as_at_month(workspace, as_at))


@router.get("/api/contracts/{provider}", tags=["contracts"])
async def provider_api(
    request: Request, _user: Reader, workspace: WorkspaceDep, provider: str, as_at: str | None = None
) -> list[dict[str, Any]]:
    """The provider's contract statements as at ``as_at``, one per commissioner, as ``outturn contracts statement
    --format json``: ``lines`` by point of delivery at tariff (totals ``tariff_*_pence``), ``payment_rules`` (each
    rule's adjustment), the contract's totals (tariff plus rules), ``ytd_variance_favourable_pence`` and
    ``forecast_variance_favourable_pence`` (plan less actual or forecast: negative is over-performance, adverse),
    ``over_performance_pence`` (forecast less annual plan), ``follow_up_ratios``,
    ``consultant_referral_share``, ``case_mix_drift``. 404 when no contract with the provider is held."""
    return await statements(request, workspace, provider, as_at_month(workspace, as_at))
