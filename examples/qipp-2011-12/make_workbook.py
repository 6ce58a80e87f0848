"""How savings.xlsx was made: the published totals, spread over illustrative schemes.

Published (2011/12 public reporting): Sussex cluster plan £111.78m, forecast £72.82m; Oxfordshire £5.4m short
(26% of its year's target), Buckinghamshire £6.3m short (24%), within a £335m four-year programme split £129m
and £206m; a cluster confident of "at least 80% (circa £9m)"; £879k of next year's savings not yet identified.
How the totals split into schemes and organisations is illustrative. Run: python make_workbook.py
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from outturn.domain.money import pounds
from outturn.domain.periods import FinancialYear
from outturn.domain.savings import SavingsTarget, Scheme, SchemeStatus, Workstream
from outturn.reports.savings_workbook import write_savings_workbook

Y2011, Y2012 = FinancialYear(2011), FinancialYear(2012)
AS_AT_MONTH = 9  # December 2011
WORKSTREAMS = (Workstream.NON_ELECTIVE, Workstream.PRESCRIBING, Workstream.OUTPATIENTS)
SHARES = (Decimal("0.5"), Decimal("0.3"), Decimal("0.2"))


def spread(total: int, parts: int = 12) -> list[int]:
    each = [total // parts] * parts
    each[-1] += total - sum(each)
    return each


def scheme(reference: str, org: str, workstream: Workstream, plan: int, forecast: int) -> Scheme:
    """Planned evenly; delivered M01-M09 and forecast M10-M12 in proportion, summing exactly to ``forecast``."""
    planned = spread(plan)
    outturn = [value * forecast // plan for value in planned]
    outturn[-1] += forecast - sum(outturn)
    return Scheme(
        reference, f"{workstream.label} ({org})", org, Y2011, workstream, planned=tuple(planned),
        delivered=tuple(outturn[:AS_AT_MONTH]) + (None,) * (12 - AS_AT_MONTH),
        forecast=(None,) * AS_AT_MONTH + tuple(outturn[AS_AT_MONTH:]),
        status=SchemeStatus.IN_DELIVERY, confidence=Decimal("0.9"), lead="QIPP lead",
    )


def organisation_schemes(org: str, plan_pounds: str, forecast_pounds: str) -> list[Scheme]:
    plan, forecast = pounds(plan_pounds), pounds(forecast_pounds)
    plans = [plan * share // 1 for share in SHARES[:-1]]
    forecasts = [forecast * share // 1 for share in SHARES[:-1]]
    plans.append(plan - sum(plans))
    forecasts.append(forecast - sum(forecasts))
    return [
        scheme(f"{org}-{number:02d}", org, workstream, int(p), int(f))
        for number, (workstream, p, f) in enumerate(zip(WORKSTREAMS, plans, forecasts, strict=True), start=1)
    ]


def main() -> None:
    schemes = [
        *organisation_schemes("5P9", "45000000", "29400000"),
        *organisation_schemes("5P7", "25000000", "16100000"),
        *organisation_schemes("5LQ", "24000000", "15920000"),
        *organisation_schemes("5QA", "17780000", "11400000"),
        *organisation_schemes("5QC", "20770000", "15370000"),
        *organisation_schemes("5QD", "26250000", "19950000"),
    ]
    next_year = [
        Scheme(f"P3A-N{number}", title, "P3A", Y2012, workstream, planned=tuple(spread(pounds(amount))),
               delivered=(spread(pounds(amount))[0],) + (None,) * 11,  # April delivered as planned
               status=SchemeStatus.IN_DELIVERY, confidence=Decimal("0.8"), lead="Director of finance")
        for number, (title, workstream, amount) in enumerate(
            (("Acute contract demand management", Workstream.NON_ELECTIVE, "6250000"),
             ("Prescribing: generics and waste", Workstream.PRESCRIBING, "3000000"),
             ("Outpatient follow-up reduction", Workstream.OUTPATIENTS, "2000000")),
            start=1,
        )
    ]
    programme = "BOB QIPP 2011-15 (£335m)"
    targets = [
        SavingsTarget("5QC", Y2011, pounds("20770000"), programme),
        SavingsTarget("5QD", Y2011, pounds("26250000"), programme),
        *(SavingsTarget("5QC", FinancialYear(year), pounds(amount), programme)
          for year, amount in ((2012, "60000000"), (2013, "62000000"), (2014, "63230000"))),
        *(SavingsTarget("5QD", FinancialYear(year), pounds(amount), programme)
          for year, amount in ((2012, "34000000"), (2013, "34000000"), (2014, "34750000"))),
        SavingsTarget("P3A", Y2012, pounds("12129000")),
    ]
    write_savings_workbook(Path(__file__).with_name("savings.xlsx"), [*schemes, *next_year], targets)


if __name__ == "__main__":
    main()
