"""SYNTHETIC hospital activity — admitted spells, outpatient and A&E attendances — calibrated to real reference data.

No public source publishes patient-level activity, so the demo and the benchmarks generate it. Every record is
synthetic; the mix is drawn from the real files in the reference-data directory, one module per kind of activity:

- ``population.py``: ages from the registered population's age bands (Patient List Size file) times a utilisation
  rate by point of delivery; providers: a handful of real trusts from the market forces factor file (Oxford,
  Buckinghamshire, Royal Berkshire and neighbours at ICB scale; every trust with a type 1 A&E, weighted by its
  attendances, at national scale); each commissioner sends most of its activity to one "home" provider;
- ``admitted.py``: elective, day-case and non-elective spells, HRG mix and shares from the National Cost
  Collection, lengths of stay around the tariff's trim points; emergency readmissions: about 12% of ordinary
  (elective and non-elective) spells are followed by a non-elective spell of the same patient at the same provider
  within 30 days of discharge, against the national indicator's 13.8% to any hospital (NHS Digital, NHS Outcomes
  Framework 3b, 2017/18; see ``readmissions.py``);
- ``outpatients.py``: treatment functions from the outpatient tariff with their first:follow-up ratios, outpatient
  procedure HRGs, referral sources;
- ``ae.py``: A&E HRGs by Cost Collection activity, department types per provider from NHS England's monthly A&E
  attendances of the year;
- ``financial_year.py``: the days of the year, planned care on weekdays, emergency care with a winter peak;
- ``draws.py``: what every kind shares (code mixes, unpriced rows, columns).

About 0.5% of spells and attendances carry a missing or unknown HRG or treatment function, so pricing has
unpriced activity to report.

Files (``writing.py``): ``apc.parquet``, ``op.parquet`` and ``ae.parquet`` in the output directory, each one Parquet
file in exactly the domain layout (``outturn.domain.activity``), written one row group per chunk so national scale
never holds more than one chunk in memory, and labelled synthetic in the file metadata (key ``outturn``). Each file
is written under a temporary name and renamed when complete. Output is a function of the parameters alone: the same
seed, scale, year, organisations and chunk size give identical files (``generator.py`` puts it together).
"""

from outturn.demo.activity.draws import UNKNOWN_HRG, UNPRICED_SHARE
from outturn.demo.activity.generator import generate_activity, target_rows
from outturn.demo.activity.population import ICB_PROVIDERS, SCALES, ActivityScale
from outturn.demo.activity.writing import (
    PARAMETERS_METADATA_KEY,
    SYNTHETIC_METADATA_KEY,
    SYNTHETIC_METADATA_VALUE,
    Progress,
    activity_path,
    arrow_schema,
)

__all__ = [
    "ICB_PROVIDERS",
    "PARAMETERS_METADATA_KEY",
    "SCALES",
    "SYNTHETIC_METADATA_KEY",
    "SYNTHETIC_METADATA_VALUE",
    "UNKNOWN_HRG",
    "UNPRICED_SHARE",
    "ActivityScale",
    "Progress",
    "activity_path",
    "arrow_schema",
    "generate_activity",
    "target_rows",
]
