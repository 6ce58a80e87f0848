"""Recovery scenarios as data: a scenario is a list of levers, each a pydantic model with a JSON Schema.

A scenario file (TOML or JSON) names the organisation and month it starts from and the levers to pull, in
order. The models here only describe and validate the levers; what each lever does to the forecast outturn and
to each contract is worked out in ``scenario_effects`` (pure arithmetic on integer pence).

Conventions in the files: percentages are written in per cent (``10`` is 10%); money is written as finance
sheets write it (``1500000``, ``"£1.5m"``, ``"£45k"``) and held as integer pence; months are financial months
(``"M09"`` or ``9``: December). A lever acts from ``start_month`` (default: the month after the as-at month) to
M12, unless ``full_year = true``, when its in-year effect is its full-year effect.

A scenario holds at most ``MAX_LEVERS`` levers and a lever's lists at most ``MAX_CODES`` codes, so one file cannot
ask for unbounded work. Every fault in a file is reported in one pass: a lever's rules that relate two settings
(``raw_faults``) are checked even when another of its settings is wrong.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal, Self, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from outturn.domain.activity import PointOfDelivery
from outturn.domain.errors import BadInput
from outturn.domain.ledger import CostCategory
from outturn.domain.money import Pence, format_pounds, parse_money
from outturn.domain.periods import FinancialMonth, parse_month_number

MAX_LEVERS = 20  # levers in one scenario
MAX_CODES = 500  # codes in one of a lever's lists (practices, providers, HRGs, treatment functions)


def _pence(value: object) -> object:
    """Pounds as written in a file (``1500000``, ``"£1.5m"``) to integer pence; pydantic reports the reason."""
    if isinstance(value, bool):
        raise BadInput(f"not a money amount: {value!r}")
    if isinstance(value, int | float | str | Decimal):
        return parse_money(value)
    return value


def _month(value: object) -> object:
    if isinstance(value, int | str) and not isinstance(value, bool):
        return parse_month_number(value)
    return value


def _category(value: object) -> object:
    return CostCategory.parse(value) if isinstance(value, str) else value


def _code(value: str) -> str:
    cleaned = value.strip().upper()
    if not cleaned:
        raise BadInput("an empty code")
    return cleaned


def _treatment_function(value: str) -> str:
    cleaned = value.strip()
    if not cleaned.isdigit():
        raise BadInput(f"not a treatment function code: {value!r} (three digits, e.g. '110')")
    return cleaned


def _cut_percent(value: Decimal) -> Decimal:
    if value < 0:
        raise BadInput("a negative percentage: a cut is written as a positive per cent (10 = 10%)")
    if value == 0:
        raise BadInput("a cut of 0% does nothing")
    if value > 100:
        raise BadInput("more than 100% cannot be cut")
    return value


def _share_percent(value: Decimal) -> Decimal:
    if not 0 <= value <= 100:
        raise BadInput(f"a percentage between 0 and 100 is required, not {value}")
    return value


def _signed_percent(value: Decimal) -> Decimal:
    if not -100 < value <= 100:
        raise BadInput(f"a change between -100% (exclusive) and +100% is required, not {value}")
    return value


def _as_at(value: str) -> str:
    FinancialMonth.parse_as_at(value)  # a PeriodError (a ValueError) names what is wrong
    return value


def _positive_money(value: Pence) -> Pence:
    if value <= 0:
        raise BadInput("a positive amount is required")
    return value


_MONEY_SCHEMA = WithJsonSchema(
    {"type": ["number", "string"], "description": "pounds: 1500000, '£1.5m', '£45k' or '(£2,000.00)'"}
)
Money = Annotated[int, BeforeValidator(_pence), _MONEY_SCHEMA]
PositiveMoney = Annotated[int, BeforeValidator(_pence), AfterValidator(_positive_money), _MONEY_SCHEMA]
Month = Annotated[
    int,
    BeforeValidator(_month),
    WithJsonSchema({"type": ["string", "integer"], "description": "financial month: 'M09' or 9 (December)"}),
]
Category = Annotated[CostCategory, BeforeValidator(_category)]
Code = Annotated[str, AfterValidator(_code)]
TreatmentFunction = Annotated[str, AfterValidator(_treatment_function)]
Codes = Annotated[tuple[Code, ...], Field(max_length=MAX_CODES)]
TreatmentFunctions = Annotated[tuple[TreatmentFunction, ...], Field(max_length=MAX_CODES)]
_PERCENT_RANGE = {"minimum": 0, "maximum": 100}
CutPercent = Annotated[Decimal, AfterValidator(_cut_percent), Field(json_schema_extra={"exclusiveMinimum": 0})]
SharePercent = Annotated[Decimal, AfterValidator(_share_percent), Field(json_schema_extra=_PERCENT_RANGE)]
SignedPercent = Annotated[
    Decimal, AfterValidator(_signed_percent), Field(json_schema_extra={"exclusiveMinimum": -100, "maximum": 100})
]
Rate = Annotated[Decimal, Field(ge=0)]

DEFAULT_POPULATION_CATEGORIES = tuple(
    category
    for category in CostCategory
    if category not in (CostCategory.RUNNING_COSTS, CostCategory.RESERVES_CONTINGENCY)
)


class _Lever(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str | None = Field(None, description="What the lever is called in reports (default: a description)")
    start_month: Month | None = Field(
        None, description="First month the lever acts (default: the month after the as-at month)"
    )
    full_year: bool = Field(False, description="In-year effect = full-year effect (as if in place all year)")

    @model_validator(mode="wrap")
    @classmethod
    def _every_fault(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Self:
        """The settings' faults and ``raw_faults`` together (pydantic alone skips a model's own checks when a
        setting fails)."""
        faults = cls.raw_faults(data) if isinstance(data, dict) else []
        try:
            lever: Self = handler(data)
        except ValidationError as error:
            if not faults:
                raise
            found = [*cast(list[InitErrorDetails], error.errors()), *(_value_error(fault, data) for fault in faults)]
            raise ValidationError.from_exception_data(error.title, found) from None
        if faults:
            raise BadInput("; ".join(faults))
        return lever

    @classmethod
    def raw_faults(cls, data: dict[str, Any]) -> list[str]:
        """Faults of the lever as a whole, found in the file's settings before they are read."""
        return []

    def describe(self) -> str:
        return self.label or self.default_label()

    def default_label(self) -> str:  # pragma: no cover - every lever overrides it
        raise NotImplementedError


def _value_error(reason: str, data: Any) -> InitErrorDetails:
    return InitErrorDetails(
        type=PydanticCustomError("value_error", "Value error, {reason}", {"reason": reason}), loc=(), input=data
    )


class _ActivityLever(_Lever):
    providers: Codes = Field((), description="Only these providers' contracts (default: all)")


def _scope(providers: tuple[str, ...], extra: str = "") -> str:
    where = f" at {', '.join(providers)}" if providers else ""
    return f"{where}{extra}"


class GpReferralCut(_ActivityLever):
    """A cut of ``percent`` in GP-referred first outpatient attendances, flowing to follow-ups and spells."""

    type: Literal["gp_referral_cut"]
    percent: CutPercent = Field(description="Per cent of GP-referred first attendances removed (10 = 10%)")
    practices: Codes = Field((), description="Practice group: practice, PCN or sub-ICB codes (default: every practice)")
    treatment_functions: TreatmentFunctions = Field((), description="Specialties (default: all)")
    conversion_rate: Rate | None = Field(
        None, description="Elective and day-case spells per first attendance (default: measured)"
    )
    follow_up_ratio: Rate | None = Field(None, description="Follow-ups per first attendance (default: measured)")

    def default_label(self) -> str:
        group = f" from {', '.join(self.practices)}" if self.practices else ""
        specialties = f" in TF {', '.join(self.treatment_functions)}" if self.treatment_functions else ""
        return f"{self.percent}% fewer GP referrals{group}{specialties}{_scope(self.providers)}"


class FollowUpRatio(_ActivityLever):
    """Follow-ups above ``ratio`` x first attendances removed, by contract and treatment function."""

    type: Literal["follow_up_ratio"]
    ratio: Rate | None = Field(
        None, description="Benchmark follow-ups per first attendance (default: all providers' ratio by specialty)"
    )
    treatment_functions: TreatmentFunctions = Field((), description="Specialties (default: all)")

    def default_label(self) -> str:
        target = f"{self.ratio}" if self.ratio is not None else "the peer ratio"
        return f"Follow-up ratios moved to {target}{_scope(self.providers)}"


class GenericPrescribing(_Lever):
    """Generic prescribing moved from ``current_percent`` to ``target_percent`` of items that have a generic."""

    type: Literal["generic_prescribing"]
    target_percent: SharePercent = Field(description="Target generic prescribing rate, per cent")
    current_percent: SharePercent | None = Field(None, description="Current rate (default: from prescribing data)")
    annual_items: int | None = Field(
        None, ge=0, description="Items a year that could be generic (default: from prescribing data)"
    )
    generic_item_cost: Money | None = Field(None, description="Average cost of a generic item")
    branded_item_cost: Money | None = Field(None, description="Average cost of a branded item")
    practices: Codes = Field((), description="Practice group for the prescribing data (default: all)")

    def default_label(self) -> str:
        return f"Generic prescribing to {self.target_percent}%"


class PlcvThreshold(_ActivityLever):
    """A threshold for procedures of limited clinical value: ``percent`` of the named HRGs' spells stopped."""

    type: Literal["plcv_threshold"]
    hrgs: Codes = Field(min_length=1, description="HRG codes of the procedures")
    percent: CutPercent = Field(description="Per cent of their spells stopped")
    points_of_delivery: tuple[Literal["elective", "day_case"], ...] = Field(
        ("elective", "day_case"), min_length=1, description="Which spells"
    )

    def default_label(self) -> str:
        return f"PLCV threshold: {self.percent}% of {', '.join(self.hrgs)} stopped{_scope(self.providers)}"


class ContractValueCut(_Lever):
    """A cut in a provider's contract value: an annual ``amount`` or a ``percent`` of the forecast."""

    type: Literal["contract_value_cut"]
    provider: Code = Field(description="Provider (trust) code")
    commissioner: Code | None = Field(None, description="One commissioner's contract (default: all in scope)")
    amount: PositiveMoney | None = Field(None, description="Annual cut in pounds")
    percent: CutPercent | None = Field(None, description="Per cent of the contract's forecast")

    @classmethod
    def raw_faults(cls, data: dict[str, Any]) -> list[str]:
        if (data.get("amount") is None) == (data.get("percent") is None):
            return ["give exactly one of amount or percent"]
        return []

    def default_label(self) -> str:
        size = f"{self.percent}%" if self.amount is None else format_pounds(self.amount)
        return f"Contract value cut at {self.provider}: {size}"


class VacancyControl(_Lever):
    """Vacancy and recruitment control: ``monthly_saving`` in a pay category from the start month."""

    type: Literal["vacancy_control"]
    monthly_saving: PositiveMoney = Field(description="Pounds saved a month")
    category: Category = Field(CostCategory.RUNNING_COSTS, description="Where the pay sits")

    def default_label(self) -> str:
        return f"Vacancy and recruitment control: {format_pounds(self.monthly_saving)} a month"


class BedClosure(_Lever):
    """Beds closed: beds x cost per bed-day x occupancy x days, less what must be re-provided elsewhere."""

    type: Literal["bed_closure"]
    beds: int = Field(gt=0)
    cost_per_bed_day: PositiveMoney = Field(description="Pounds per occupied bed-day")
    occupancy_percent: SharePercent = Field(Decimal(85), description="Per cent of days a bed is occupied")
    reprovision_percent: SharePercent = Field(Decimal(0), description="Per cent of the cost re-provided elsewhere")
    category: Category = Field(CostCategory.COMMUNITY)
    provider: Code | None = Field(None, description="The provider whose beds close (for the report only)")

    def default_label(self) -> str:
        return f"{self.beds} beds closed" + (f" at {self.provider}" if self.provider else "")


class AgeBand(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    band: str = Field(description="e.g. '0-4', '65-74', '85+'")
    share_percent: SharePercent = Field(description="Per cent of the new population in the band")
    cost_index: Rate = Field(Decimal(1), description="Spend per head in the band relative to the average (1 = average)")


class PopulationGrowth(_Lever):
    """A new town of ``people``: per-capita spend, weighted by the age profile, for the rest of the year."""

    type: Literal["population_growth"]
    people: int = Field(gt=0)
    age_profile: tuple[AgeBand, ...] = Field((), description="Age bands (default: the average profile)")
    base_population: int | None = Field(
        None, gt=0, description="Registered population the spend is divided by (default: from the workspace)"
    )
    categories: tuple[Category, ...] = Field(DEFAULT_POPULATION_CATEGORIES, min_length=1)

    @field_validator("age_profile")
    @classmethod
    def _shares_add_up(cls, age_profile: tuple[AgeBand, ...]) -> tuple[AgeBand, ...]:
        total = sum((band.share_percent for band in age_profile), Decimal(0))
        if age_profile and abs(total - 100) > Decimal("0.01"):
            raise BadInput(f"the age profile's shares add up to {total}%, not 100%")
        return age_profile

    def default_label(self) -> str:
        return f"Population growth: {self.people:,} people"


class TariffChange(_ActivityLever):
    """A change of ``percent`` in national prices; locally priced activity and block elements do not move."""

    type: Literal["tariff_change"]
    percent: SignedPercent = Field(description="Change in national prices, per cent (-1.1 = a 1.1% cut)")
    points_of_delivery: tuple[PointOfDelivery, ...] = Field((), description="Default: every point of delivery")

    def default_label(self) -> str:
        return f"Tariff change of {self.percent}%{_scope(self.providers)}"


class NonRecurrent(_Lever):
    """A one-off saving (a negative amount: a one-off cost) in ``month``; excluded from the full-year effect."""

    type: Literal["non_recurrent"]
    amount: Money = Field(description="Pounds saved once (negative: a one-off cost)")
    month: Month
    category: Category

    def default_label(self) -> str:
        return f"Non-recurrent measure in M{self.month:02d}"


Lever = Annotated[
    GpReferralCut
    | FollowUpRatio
    | GenericPrescribing
    | PlcvThreshold
    | ContractValueCut
    | VacancyControl
    | BedClosure
    | PopulationGrowth
    | TariffChange
    | NonRecurrent,
    Field(discriminator="type"),
]
LEVER_TYPES = (
    "gp_referral_cut",
    "follow_up_ratio",
    "generic_prescribing",
    "plcv_threshold",
    "contract_value_cut",
    "vacancy_control",
    "bed_closure",
    "population_growth",
    "tariff_change",
    "non_recurrent",
)
ACTIVITY_LEVER_TYPES = ("gp_referral_cut", "follow_up_ratio", "plcv_threshold", "tariff_change")  # act on cells


class Scenario(BaseModel):
    """A recovery scenario: where it starts from and the levers, applied in this order."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="outturn recovery scenario")

    name: str = Field(min_length=1)
    description: str = ""
    org: Code | None = Field(None, description="Organisation (default: the workspace's)")
    as_at: Annotated[str, AfterValidator(_as_at)] | None = Field(
        None, description="Month the forecast is as at, YYYY-MM (default: the workspace's)"
    )
    method: Literal["run-rate", "seasonal", "trend"] | None = Field(None, description="Forecast method")
    levers: tuple[Lever, ...] = Field(min_length=1, max_length=MAX_LEVERS)


def scenario_json_schema() -> dict[str, Any]:
    schema = Scenario.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
