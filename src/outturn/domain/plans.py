"""A commissioner's financial plan for a year, its risks and mitigations, and forecast overrides."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from outturn.domain.errors import BadInput
from outturn.domain.ledger import CostCategory
from outturn.domain.money import Pence, scale
from outturn.domain.periods import FinancialYear


@dataclass(frozen=True)
class Deduction:
    """An amount taken off this year's allocation: a brought-forward deficit repaid, a top-slice."""

    description: str
    pence: Pence


class _Allocated(Protocol):
    @property
    def recurrent_allocation_pence(self) -> Pence: ...

    @property
    def non_recurrent_allocation_pence(self) -> Pence: ...

    @property
    def deductions(self) -> tuple[Deduction, ...]: ...

    @property
    def allocation_pence(self) -> Pence: ...

    @property
    def deductions_pence(self) -> Pence: ...


class ResourceFigures:
    """Allocation, deductions and the resource left to spend, of a plan and of the position built on it: one rule."""

    @property
    def allocation_pence(self: _Allocated) -> Pence:
        return self.recurrent_allocation_pence + self.non_recurrent_allocation_pence

    @property
    def deductions_pence(self: _Allocated) -> Pence:
        return sum(deduction.pence for deduction in self.deductions)

    @property
    def resource_pence(self: _Allocated) -> Pence:
        """What is left to spend this year: allocation less deductions."""
        return self.allocation_pence - self.deductions_pence


@dataclass(frozen=True)
class FinancialPlan(ResourceFigures):
    """Allocation, deductions and the surplus the regulator requires or agrees.

    ``control_total_pence`` is the planned surplus (positive) or deficit (negative) agreed with the
    regulator. Where none is agreed, the control total is the required surplus: ``required_surplus_share``
    (e.g. ``Decimal("0.01")`` for 1%) of the allocation.
    """

    org_code: str
    year: FinancialYear
    recurrent_allocation_pence: Pence
    non_recurrent_allocation_pence: Pence = 0
    brought_forward_deficit_pence: Pence = 0
    other_deductions: tuple[Deduction, ...] = ()
    required_surplus_share: Decimal = Decimal(0)
    control_total_pence: Pence | None = None

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.required_surplus_share < Decimal(1):
            raise BadInput(f"required surplus share {self.required_surplus_share} must be between 0 and 1")
        if self.brought_forward_deficit_pence < 0:
            raise BadInput("a brought-forward deficit is entered as a positive amount to repay")

    @property
    def deductions(self) -> tuple[Deduction, ...]:
        repayment = (
            (Deduction("Brought-forward deficit repaid", self.brought_forward_deficit_pence),)
            if self.brought_forward_deficit_pence
            else ()
        )
        return repayment + self.other_deductions

    @property
    def required_surplus_pence(self) -> Pence:
        return scale(self.allocation_pence, self.required_surplus_share)

    @property
    def effective_control_total_pence(self) -> Pence:
        if self.control_total_pence is not None:
            return self.control_total_pence
        return self.required_surplus_pence


# look-alike of domain/forecast_methods.py:MethodScope (shape only): declarative, an enumeration's members.
class RiskKind(StrEnum):
    RISK = "risk"
    MITIGATION = "mitigation"


@dataclass(frozen=True)
class RiskItem:
    """A risk (a cost that may land) or a mitigation (a saving that may be found), with its likelihood."""

    org_code: str
    year: FinancialYear
    kind: RiskKind
    description: str
    value_pence: Pence
    likelihood: Decimal
    category: CostCategory | None = None

    def __post_init__(self) -> None:
        if self.value_pence < 0:
            raise BadInput("a risk or mitigation value is a positive amount")
        if not Decimal(0) <= self.likelihood <= Decimal(1):
            raise BadInput(f"likelihood {self.likelihood} must be between 0 and 1")

    @property
    def expected_pence(self) -> Pence:
        return scale(self.value_pence, self.likelihood)


@dataclass(frozen=True)
class ForecastOverride:
    """A finance lead's forecast for one ledger line, replacing the method's, with the reason recorded."""

    org_code: str
    year: FinancialYear
    category: CostCategory
    subcategory: str
    forecast_pence: Pence
    reason: str

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise BadInput("a forecast override needs a reason")


SHARE_PLACES = 6  # the store keeps a share to six places (Numeric(9, 6): 0.025556 is 2.5556%)


def stored_share(share: Decimal, text: str) -> Decimal:
    """``share`` as the store will keep it, refused where it is finer: the figures are worked from the stored share,
    so a finer one would be rounded unseen (2.555555% would become 2.5556%)."""
    if share.normalize().as_tuple().exponent < -SHARE_PLACES:  # type: ignore[operator]
        raise BadInput(
            f"{text.strip()!r} is finer than outturn keeps: at most {SHARE_PLACES - 2} decimal places in a percentage"
            f" ({SHARE_PLACES} in a share)"
        )
    return share


def parse_share(text: str) -> Decimal:
    """A share as finance sheets write it: ``1%``, ``0.5%``, ``0.01``, ``50 %``; between 0 and 1."""
    cleaned = text.strip().replace(" ", "")
    try:
        share = Decimal(cleaned[:-1]) / 100 if cleaned.endswith("%") else Decimal(cleaned)
    except ArithmeticError:
        raise BadInput(f"not a percentage or share: {text!r} (expected e.g. 1% or 0.01)") from None
    if not share.is_finite() or not Decimal(0) <= share <= Decimal(1):
        raise BadInput(f"{text!r} must be between 0% and 100%")
    return share
