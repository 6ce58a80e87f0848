"""The board pack as one self-contained HTML page (Jinja2; print CSS for A4; charts as inline SVG).

The same HTML is what WeasyPrint turns into the PDF (``pack_pdf``): nothing is fetched from a network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from outturn.domain.activity import POINT_OF_DELIVERY_LABELS
from outturn.domain.backtest import method_in_words
from outturn.domain.money import VARIANCE_CONVENTION, format_millions, format_surplus, format_thousands
from outturn.domain.savings_rollup import Movement
from outturn.domain.year_end import CONTROL_TOTAL, FORECAST_SURPLUS, P10, P50, P90, TEMPLATE_LABELS
from outturn.reports.contract_reconciliation import table_rows
from outturn.reports.contracts import STATEMENT_MONEY
from outturn.reports.narrative import percent
from outturn.reports.pack import BoardPack, category_changes, workstream_rag
from outturn.reports.pack_charts import (
    backtest_chart,
    drift_chart,
    fan_svg,
    funnel_svg,
    spc_svg,
    tornado_svg,
    waterfall_svg,
)
from outturn.reports.pack_documents import PackDocuments, pack_documents
from outturn.stats.spc import SpcResult
from outturn.stats.spc_rules import PointType

TEMPLATES = Path(__file__).parent / "templates"
TOP_PRACTICES = 10
TOP_MOVEMENTS = 10
TOP_DRIFT = 10
SYNTHETIC_NOTE = "SYNTHETIC"
SUMMARY_ROWS = (
    ("Allocation", "allocation_pence"),
    ("Resource (allocation less deductions)", "resource_pence"),
    (CONTROL_TOTAL, "control_total_pence"),
    ("Annual budget", "annual_budget_pence"),
    ("Year-to-date budget", "ytd_budget_pence"),
    ("Year-to-date actual", "ytd_actual_pence"),
    ("Year-to-date variance (budget less actual)", "ytd_variance_pence"),
    ("Forecast outturn (spend)", "forecast_outturn_pence"),
    (FORECAST_SURPLUS, "forecast_surplus_pence"),
    ("Gap to control total", "gap_to_control_total_pence"),
)
_VARIATION_WORDS = {
    PointType.COMMON_CAUSE: "common cause only in the latest week",
    PointType.IMPROVEMENT: "special cause: improvement in the latest week",
    PointType.CONCERN: "special cause: concern in the latest week",
    PointType.NEUTRAL_HIGH: "special cause (high) in the latest week",
    PointType.NEUTRAL_LOW: "special cause (low) in the latest week",
}


def short_trust(name: str) -> str:
    """``Oxford University Hospitals NHS Foundation Trust`` as ``Oxford University Hospitals``, for narrow tables."""
    for suffix in (" NHS Foundation Trust", " NHS Trust", " Foundation Trust"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html", "j2")),
        undefined=StrictUndefined,
        trim_blocks=False,
    )
    environment.filters.update(
        m=format_millions,
        m2=lambda pence: "—" if pence is None else format_millions(pence, places=2),
        k=format_thousands,
        surplus=format_surplus,
        pct=percent,
        pct_text=lambda text: percent(Decimal(str(text))),
        sign=lambda pence: "adverse" if pence is not None and pence < 0 else "",
        short_trust=short_trust,
        method_in_words=method_in_words,
    )
    environment.globals["variance_convention"] = VARIANCE_CONVENTION
    environment.globals["labels"] = TEMPLATE_LABELS
    return environment


def _pod_lines(contracts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every contract's lines summed by point of delivery, in the statement's order (block elements last)."""
    keys = (
        "ytd_plan_activity",
        "ytd_actual_activity",
        "ytd_plan_pence",
        "ytd_actual_pence",
        "forecast_pence",
        "forecast_variance_favourable_pence",
    )
    totals: dict[str, dict[str, Any]] = {}
    for contract in contracts:
        for line in contract["lines"]:
            pod = line["point_of_delivery"]
            into = totals.setdefault(pod, {"label": POINT_OF_DELIVERY_LABELS.get(pod, pod), **dict.fromkeys(keys, 0)})
            for key in keys:
                into[key] += line[key]
    order = {pod: index for index, pod in enumerate(POINT_OF_DELIVERY_LABELS)}
    return [totals[pod] for pod in sorted(totals, key=lambda pod: (order.get(pod, len(order)), pod))]


def _contract_totals(contracts: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    totals = {key: sum(contract[key] for contract in contracts) for key in STATEMENT_MONEY}
    for key in ("agreed_pence", "open_pence", "open_expected_pence"):  # the statements' challenges blocks
        totals[f"challenges_{key}"] = sum(contract["challenges"][key] for contract in contracts)
    return totals


def _drift(contracts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = [
        {
            "provider": contract["provider"],
            "commissioner": contract["commissioner"],
            "min_spells": contract["case_mix_min_spells"],
            **row,
        }
        for contract in contracts
        for row in contract["case_mix_drift"]
        if row["significant_998"]  # only cells tested, on their Holm-adjusted p-value
    ]
    return sorted(rows, key=lambda row: -abs(row["drift_pence"]))[:TOP_DRIFT]


def _top_practices(pack: BoardPack) -> list[list[Mapping[str, Any]]]:
    return [
        sorted(section.rows, key=lambda row: (-(row["opportunity_activity"] or 0), row["org_code"]))[:TOP_PRACTICES]
        for section in pack.benchmarks
    ]


def _movements(pack: BoardPack) -> list[Movement]:
    if pack.savings_movement is None:
        return []
    items = pack.savings_movement.items
    changed = [item for item in items if item.forecast_change_pence or item.delivered_change_pence]
    return sorted(changed, key=lambda item: (-abs(item.forecast_change_pence), item.reference))[:TOP_MOVEMENTS]


def _spc_words(result: SpcResult) -> str:
    words = _VARIATION_WORDS[result.variation]
    return f"{words}; fewer than 12 points, so read with care" if result.latest_segment.short else words


def charts(pack: BoardPack, docs: PackDocuments) -> dict[str, Any]:
    """Every chart of the pack as inline SVG markup."""
    head, risk = pack.headline, docs.risk
    found: dict[str, Any] = {
        "waterfall": Markup(
            waterfall_svg(
                pack.position.bridge, f"From control total to forecast, {head.month} {head.financial_year} (£m)"
            )
        ),
        "funnels": [
            Markup(funnel_svg(section.funnel, f"{section.measure.description}: per 1,000 weighted population"))
            if section.funnel is not None
            else None
            for section in pack.benchmarks
        ],
        "extra_funnels": [Markup(funnel_svg(section.result, section.title)) for section in pack.funnels],
        "spc": [Markup(spc_svg(chart.result, chart.title)) for chart in pack.spc],
        "fan": None,
        "tornado": None,
        "backtest": None,
        "drift": None,
    }
    if docs.backtest is not None:
        drawn = backtest_chart(docs.backtest, synthetic=bool(synthetic_note(pack)))
        found["backtest"] = Markup(drawn) if drawn else None
    if docs.forecast_history is not None and (drift := drift_chart(docs.forecast_history)):
        found["drift"] = Markup(drift)
    if risk is not None:
        found["fan"] = Markup(
            fan_svg(
                risk["fan"],
                risk["control_total_pence"],
                risk["forecast_surplus_pence"],
                f"Simulated year-end as the months resolve: {P10}, {P50}, {P90} (£m)",
            )
        )
        found["tornado"] = Markup(tornado_svg(risk["tornado"], "P50 with each driver at its P10 and P90 (£m)"))
    return found


def synthetic_note(pack: BoardPack) -> str:
    return " ".join(note for note in pack.notes if SYNTHETIC_NOTE in note)


def render_html(pack: BoardPack, docs: PackDocuments | None = None) -> str:
    """The whole pack as one HTML document (styles and charts inline); each section's figures are its command's
    JSON document (``pack_documents``: built here unless given)."""
    environment = _environment()
    template = environment.get_template("board_pack.html.j2")
    docs = docs or pack_documents(pack)
    return template.render(
        pack=pack,
        docs=docs,
        css=Markup((TEMPLATES / "board_pack.css").read_text(encoding="utf-8")),
        charts=charts(pack, docs),
        prev=docs.previous_position,
        summary_rows=SUMMARY_ROWS,
        category_changes=category_changes(pack.position, pack.previous_position),
        savings_rag=workstream_rag(pack.savings_total.figures) if pack.savings_total else "green",
        movements=_movements(pack),
        contract_totals=_contract_totals(docs.contracts),
        pod_lines=_pod_lines(docs.contracts),
        rule_contracts=[contract for contract in docs.contracts if contract["payment_rules"]],
        drift=_drift(docs.contracts),
        reconciliation=docs.contract_reconciliation,
        reconciliation_rows=table_rows(docs.contract_reconciliation) if docs.contract_reconciliation else [],
        top_practices=_top_practices(pack),
        extra_funnels=list(pack.funnels),
        spc_words=[_spc_words(chart.result) for chart in pack.spc],
        synthetic=synthetic_note(pack),
    )


def write_html(pack: BoardPack, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(pack), encoding="utf-8")
    return path
