"""Two ILLUSTRATIVE recovery scenarios for the demo's board pack, written for whichever ICB the demo builds.

``Recovery plan`` carries the levers of ``examples/scenarios/recovery-2025-26.toml`` (referral cuts, follow-up
ratios, procedures of limited clinical value, generic prescribing, a contract cut, vacancy control, a bed closure,
a one-off disposal) with the ICB's own codes; ``Demand management only`` keeps its activity levers, so the pack
can compare them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomli_w

from outturn.domain.periods import MONTHS_IN_YEAR, FinancialMonth

PLCV_HRGS = ["HN45A", "CA60B"]  # minor hand procedures; children's tonsillectomy


def _demand_levers(local: str, as_at: FinancialMonth) -> list[dict[str, Any]]:
    levers: list[dict[str, Any]] = [{"type": "gp_referral_cut", "percent": 10}]
    if as_at.number + 2 <= MONTHS_IN_YEAR:
        levers.append(
            {
                "type": "gp_referral_cut",
                "label": f"Musculoskeletal triage, {local} practices (5% more)",
                "percent": 5,
                "practices": [local],
                "treatment_functions": ["110"],
                "start_month": f"M{as_at.number + 2:02d}",
            }
        )
    levers.append({"type": "follow_up_ratio"})
    levers.append({"type": "plcv_threshold", "hrgs": PLCV_HRGS, "percent": 50})
    return levers


def recovery_scenarios(
    org: str, as_at: FinancialMonth, local: str, provider: str, commissioner: str
) -> dict[str, dict[str, Any]]:
    """File name -> scenario (as TOML data) for ``org`` at ``as_at``; ``local`` is a sub-ICB location whose
    practices get an extra referral cut, ``provider`` × ``commissioner`` the contract cut."""
    recovery = [
        *_demand_levers(local, as_at),
        {"type": "generic_prescribing", "target_percent": 90},
        {"type": "contract_value_cut", "provider": provider, "commissioner": commissioner, "amount": "£2m"},
        {"type": "vacancy_control", "monthly_saving": "£60k"},
        {
            "type": "bed_closure",
            "label": "Community hospital ward closed",
            "beds": 12,
            "cost_per_bed_day": "£350",
            "occupancy_percent": 92,
            "reprovision_percent": 30,
        },
    ]
    if as_at.number < MONTHS_IN_YEAR:
        one_off = min(as_at.number + 3, MONTHS_IN_YEAR)
        recovery.append(
            {
                "type": "non_recurrent",
                "label": "Estates disposal",
                "amount": "£1.5m",
                "month": f"M{one_off:02d}",
                "category": "other_programme",
            }
        )
    header = {"org": org, "as_at": as_at.calendar_label}
    return {
        "recovery-plan.toml": {
            "name": f"Recovery plan {as_at.year.label}",
            "description": "Demand management, contract and running-cost levers (ILLUSTRATIVE)",
            **header,
            "levers": recovery,
        },
        "demand-management.toml": {
            "name": "Demand management only",
            "description": "Referral, follow-up and procedures-of-limited-value levers alone (ILLUSTRATIVE)",
            **header,
            "levers": _demand_levers(local, as_at),
        },
    }


def write_scenarios(folder: Path, scenarios: dict[str, dict[str, Any]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, scenario in scenarios.items():
        path = folder / name
        path.write_text(
            "# SYNTHETIC demo workspace: an ILLUSTRATIVE recovery scenario written by outturn demo\n"
            + tomli_w.dumps(scenario),
            encoding="utf-8",
        )
        paths.append(path)
    return paths
