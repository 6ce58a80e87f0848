"""The year-end simulation's results as ``risk simulate`` and the board pack's risk page report them.

The services compute these from the trials (percentiles, the distribution, the fan, the tornado, the reconciliation
to the likely), every simulated amount in whole pence by the one rule (``money.div_round``, half away from zero);
JSON is built from them only at the edge (``reports/risk.py``). Shares and standard deviations stay floats, as
the trials give them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from outturn.domain.money import Pence
from outturn.domain.position import Position
from outturn.domain.reconciliation import Reconciliation
from outturn.domain.risk_model import RiskModel


# look-alike of the other small records (reports/narrative.py, stats/funnel.py; shape only): declarative fields.
@dataclass(frozen=True)
class DistributionBin:
    """One bar of the histogram of simulated year-ends: the trials from ``from_pence`` to ``to_pence``."""

    from_pence: Pence
    to_pence: Pence
    trials: int


@dataclass(frozen=True)
class FanMonth:
    """A simulated month's percentiles of the year-end surplus: (percentile, pence), lowest percentile first."""

    month: int
    percentiles: tuple[tuple[int, Pence], ...]


# look-alike of domain/forecast.py:LineFigures (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class DriverSwing:
    """A tornado bar: the P50 of the year-end with one driver held at its own P10 and at its P90, in pence.
    ``driver`` is the label shown; ``kind`` savings, risks, mitigations or spend; ``workstream`` a savings bar's."""

    driver: str
    kind: str
    p50_low_pence: Pence
    p50_high_pence: Pence
    variance_share: float  # to 4 decimal places
    workstream: str | None = None

    @property
    def swing_pence(self) -> Pence:
        return self.p50_high_pence - self.p50_low_pence


# look-alike of domain/forecast.py's and domain/position.py's records (shape only): declarative fields.
@dataclass(frozen=True)
class SimulatedInputs:
    """What the simulation drew from: the schemes, risks and mitigations counted and their expected effects."""

    schemes: int
    savings_remaining_pence: Pence
    savings_expected_shortfall_pence: Pence
    risks: int
    risks_expected_pence: Pence
    mitigations: int
    mitigations_expected_pence: Pence


@dataclass(frozen=True)
class SimulatedYearEnd:
    """One simulation of the year-end position from ``position`` (``model`` is what was simulated)."""

    position: Position
    model: RiskModel
    pbr_share: Decimal | None  # None: no contracts held, all acute spend counted as activity-based
    backend: str
    trials: int
    seed: int
    expected_surplus_pence: Pence  # in closed form
    mean_surplus_pence: Pence
    sd_surplus_pence: Pence
    p_meet_control_total: float
    p_meet_standard_error: float
    p10_pence: Pence
    p50_pence: Pence
    p90_pence: Pence
    inputs: SimulatedInputs
    distribution: tuple[DistributionBin, ...]
    reconciliation: Reconciliation
    fan: tuple[FanMonth, ...]
    tornado: tuple[DriverSwing, ...]  # widest swing first
    notes: tuple[str, ...] = ()
    evidenced_schemes: tuple[str, ...] = ()  # simulated at their evidenced delivery
