"""Practice prescribing: import EPD/PDPI months into the warehouse, measures, and price-per-unit savings.

The warehouse table ``prescribing`` holds one row per month x practice x BNF presentation. Importing a file
replaces the months it holds, in one statement: a file with any problem, or a failed write, leaves the table as it
was. Measures and savings read one month (the latest held unless one is asked for). Denominators (list size,
ASTRO-PU) and the practice -> PCN -> sub-ICB map come from the ``practice_populations`` table
(``outturn populations import``). Groups of equivalent presentations join generics by OpenPrescribing's curated
formulation swaps (``openprescribing/formulation_swaps.csv`` in the reference-data directory) where present.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa

from outturn.demo.prescribing import generate_prescribing as generate_month
from outturn.domain.errors import BadInput
from outturn.domain.prescribing import (
    PRESCRIBING_TABLE,
    RATE_BASE,
    BnfGrouping,
    Denominator,
    OrgLevel,
    SavingsRules,
    SubstitutionGroup,
    substitution_groups,
    year_month,
)
from outturn.engine import prescribing as engine
from outturn.ingest.prescribing import Layout, read_formulation_swaps, read_prescribing
from outturn.services import imports
from outturn.services.workspace import Workspace
from outturn.settings import default_reference_dir

__all__ = [
    "SWAPS_FILE",
    "GeneratedPrescribing",
    "Layout",
    "PrescribingImport",
    "generate_prescribing",
    "import_prescribing",
    "prescribing_measures",
    "prescribing_savings",
    "stored_months",
]

SWAPS_FILE = Path("openprescribing") / "formulation_swaps.csv"


@dataclass(frozen=True)
class PrescribingImport:
    source: str
    layout: str
    months: tuple[str, ...]
    source_rows: int
    rows: int
    replaced_rows: int
    practices: int
    items: int
    quantity: float
    nic_pence: int
    actual_cost_pence: int


def _replaced_totals(backend: Any, matching: ir.Table) -> dict[str, int]:
    (found,) = backend.to_rows(
        matching.aggregate(
            rows=matching.count(),
            nic_pence=matching.nic_pence.sum(),
            actual_cost_pence=matching.actual_cost_pence.sum(),
        )
    )
    return {name: int(found[name] or 0) for name in ("rows", "nic_pence", "actual_cost_pence")}


def import_prescribing(
    workspace: Workspace,
    path: Path,
    *,
    layout: Layout | str = Layout.AUTO,
    month: str | None = None,
    replace: bool = False,
    who: str = "",
) -> PrescribingImport:
    """Validate ``path`` and make its months the warehouse's prescribing for those months; a file that would
    replace stored months (other than by importing the same file again) needs ``replace``."""
    sha256 = imports.sha256_of(path)
    read = read_prescribing(path, layout, month)
    backend = workspace.backend
    table = read.table
    combined, before = table, {"rows": 0, "nic_pence": 0, "actual_cost_pence": 0}
    if backend.has_table(PRESCRIBING_TABLE):
        stored = backend.stored_table(PRESCRIBING_TABLE)
        same = stored.year_month.isin(list(read.months))
        before = _replaced_totals(backend, stored.filter(same))
        kept = backend.to_arrow(stored.filter(~same)).cast(table.schema)
        combined = pa.concat_tables([kept, table])
    after = {
        "nic_pence": int(pa.compute.sum(table["nic_pence"]).as_py() or 0),
        "actual_cost_pence": int(pa.compute.sum(table["actual_cost_pence"]).as_py() or 0),
    }
    replaces = {
        "rows_before": before["rows"],
        "rows_after": table.num_rows,
        **{f"{name.removesuffix('_pence')}_before_pence": before[name] for name in after},
        **{f"{name.removesuffix('_pence')}_after_pence": pence for name, pence in after.items()},
    }
    imports.refuse_unless_replace(
        path,
        sha256,
        f"{before['rows']:,} stored prescribing row(s) of {', '.join(read.months)}",
        replaces,
        removes=before["rows"] > 0 and not imports.is_last_import(workspace, "prescribing", sha256),
        replace=replace,
    )
    replaced = before["rows"]
    imports.store_warehouse_import(
        workspace,
        {PRESCRIBING_TABLE: combined},
        "prescribing",
        path,
        sha256,
        table.num_rows,
        who=who,
        replaced_rows=replaced,
        totals=after,
        replaced_totals={name: before[name] for name in after},
    )
    return PrescribingImport(
        source=Path(path).name,
        layout=read.layout.value,
        months=read.months,
        source_rows=read.source_rows,
        rows=table.num_rows,
        replaced_rows=replaced,
        practices=len(set(table["practice"].to_pylist())),
        items=int(pa.compute.sum(table["items"]).as_py() or 0),
        quantity=float(pa.compute.sum(table["quantity"]).as_py() or 0.0),
        nic_pence=int(pa.compute.sum(table["nic_pence"]).as_py() or 0),
        actual_cost_pence=int(pa.compute.sum(table["actual_cost_pence"]).as_py() or 0),
    )


def stored_months(workspace: Workspace) -> list[str]:
    backend = workspace.backend
    if not backend.has_table(PRESCRIBING_TABLE):
        return []
    stored = backend.stored_table(PRESCRIBING_TABLE)
    return [row["year_month"] for row in backend.to_rows(stored.select("year_month").distinct().order_by("year_month"))]


def _month(workspace: Workspace, month: str | None) -> tuple[ir.Table, str]:
    months = stored_months(workspace)
    if not months:
        raise BadInput("no prescribing loaded", needs="prescribing")
    chosen = year_month(month) if month else months[-1]
    if chosen not in months:
        raise BadInput(f"no prescribing for {chosen} (held: {', '.join(months)})")
    stored = workspace.backend.stored_table(PRESCRIBING_TABLE)
    return stored.filter(stored.year_month == chosen), chosen


def _swaps_path(workspace: Workspace) -> Path | None:
    reference = workspace.settings.reference_dir or default_reference_dir()
    path = reference / SWAPS_FILE if reference else None
    return path if path is not None and path.is_file() else None


def _groups(path: Path | None) -> tuple[SubstitutionGroup, ...]:
    return substitution_groups(read_formulation_swaps(path)) if path else ()


def _populations(workspace: Workspace, month: str | None = None) -> ir.Table:
    """The practice populations, with each practice's list of ``month`` where lists are held by period."""
    from outturn.services.populations import practice_populations  # written alongside this service

    return practice_populations(workspace, month=month)


def prescribing_measures(
    workspace: Workspace,
    *,
    level: OrgLevel = OrgLevel.PRACTICE,
    grouping: BnfGrouping = BnfGrouping.CHAPTER,
    denominator: Denominator = Denominator.LIST,
    month: str | None = None,
) -> dict[str, Any]:
    """Items, quantity and costs by organisation and BNF group, per 1,000 patients or ASTRO-PU, generic rate."""
    rx, chosen = _month(workspace, month)
    populations = _populations(workspace, chosen)
    swaps = _swaps_path(workspace)
    attributes = engine.presentation_attributes(rx, engine.group_members(_groups(swaps)))
    backend = workspace.backend
    rows = backend.to_rows(
        engine.prescribing_measures(
            rx, attributes, populations, level=level, grouping=grouping, denominator=denominator
        ).order_by(["year_month", "org", "bnf_group"])
    )
    unplaced = [row["practice"] for row in backend.to_rows(engine.unplaced_practices(rx, populations, level))]
    return {
        "month": chosen,
        "level": level.value,
        "by": grouping.value,
        "per": denominator.value,
        "rate_base": RATE_BASE,
        "rows": [{key: value for key, value in row.items() if key != "year_month"} for row in rows],
        "unplaced_practices": unplaced,
    }


def prescribing_savings(
    workspace: Workspace,
    *,
    level: OrgLevel = OrgLevel.PRACTICE,
    floor_pence: int | None = None,
    practice_floor_pence: int | None = None,
    min_quantity: float = 0.0,
    month: str | None = None,
    limit: int | None = 50,
) -> dict[str, Any]:
    """Price-per-unit savings by organisation and group of equivalent presentations (OpenPrescribing's method)."""
    rules = SavingsRules.for_level(level, org_floor_pence=floor_pence, min_quantity=min_quantity)
    if practice_floor_pence is not None:
        rules = SavingsRules(level, rules.org_floor_pence, practice_floor_pence, min_quantity)
    rx, chosen = _month(workspace, month)
    swaps = _swaps_path(workspace)
    attributes = engine.presentation_attributes(rx, engine.group_members(_groups(swaps)))
    populations = None if level is OrgLevel.PRACTICE else _populations(workspace)
    per_practice = engine.practice_price_per_unit(rx, attributes, rules)
    savings = engine.organisation_savings(per_practice, populations, rules)
    named = savings.left_join(engine.set_names(rx, attributes), "set_code").drop("set_code_right")
    ordered = named.order_by([named.savings_pence.desc(), "org", "set_code"])
    backend = workspace.backend
    shown = backend.to_rows(ordered if limit is None else ordered.limit(limit))
    by_org = savings.group_by("org").aggregate(
        savings_pence=savings.savings_pence.sum().cast("int64"), groups=savings.count()
    )
    organisations = backend.to_rows(by_org.order_by([by_org.savings_pence.desc(), "org"]))
    return {
        "month": chosen,
        "level": level.value,
        "centile": rules.centile,
        "quantile": "linear interpolation (QUANTILE_CONT; numpy percentile 'linear')",
        "org_floor_pence": rules.org_floor_pence,
        "practice_floor_pence": rules.practice_floor_pence,
        "min_quantity": rules.min_quantity,
        "formulation_swaps": str(swaps) if swaps else None,
        "total_savings_pence": sum(entry["savings_pence"] for entry in organisations),
        "organisations": organisations,
        "savings": [
            {
                "org": row["org"],
                "set_code": row["set_code"],
                "name": row["name"],
                "formulation_swap": row["formulation_swap"],
                "practices": row["practices"],
                "quantity": row["quantity"],
                "nic_pence": row["nic_pence"],
                "price_per_unit_pence": row["price_per_unit_pence"],
                "target_price_per_unit_pence": row["target_price_per_unit_pence"],
                "savings_pence": row["savings_pence"],
            }
            for row in shown
        ],
    }


@dataclass(frozen=True)
class GeneratedPrescribing:
    out_dir: Path
    rows: int
    practices: int
    presentations: int
    seed: int
    month: str
    files: dict[str, Path]


# look-alike of services/activity.py's generation call: declarative, the generator's own keyword options.
def generate_prescribing(
    out_dir: Path,
    *,
    rows: int = 18_000_000,
    practices: int = 6_500,
    seed: int = 2017,
    month: str = "2017-10",
    reference_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GeneratedPrescribing:
    """A SYNTHETIC national month of prescribing (``outturn.demo.prescribing``); bad input is a ``ValueError``."""
    reference = reference_dir or default_reference_dir()
    if reference is None or not reference.is_dir():
        raise BadInput("generating prescribing needs the reference data", needs="reference-data")
    if rows < 1 or practices < 1:
        raise BadInput("rows and practices must be positive")
    try:
        counts = generate_month(
            out_dir,
            reference_dir=reference,
            rows=rows,
            practices=practices,
            seed=seed,
            month=month,
            progress=progress,
        )
    except FileNotFoundError as error:
        raise BadInput(str(error)) from error
    return GeneratedPrescribing(
        out_dir.resolve(),
        counts["rows"],
        counts["practices"],
        counts["presentations"],
        seed,
        year_month(month),
        {name: (out_dir / f"{name}.parquet").resolve() for name in ("prescribing", "practices")},
    )
