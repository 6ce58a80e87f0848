"""Funnel and SPC charts: SVG that parses and holds every point, PNG that is a PNG of a sensible size, and
self-contained interactive HTML (the data inside, plotly.js embedded, no script fetched from the web)."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outturn.cli import app
from outturn.reports.charts import write_funnel_chart, write_spc_chart
from outturn.stats.funnel import FunnelGroup, FunnelKind, FunnelResult, funnel
from outturn.stats.spc import SpcResult, spc
from outturn.stats.spc_rules import ImprovementDirection, PointType

SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def funnel_result() -> FunnelResult:
    groups = [FunnelGroup(f"P{index:02d}", 20 + (index % 5), 100 + 10 * index) for index in range(20)]
    groups.append(FunnelGroup("HIGH", 90, 150))  # far above the rest
    return funnel(groups, FunnelKind.PROPORTION, overdispersion=False)


@pytest.fixture(scope="module")
def spc_result() -> SpcResult:
    values = [float(v) for v in (10, 11, 9, 10, 12, 9, 11, 10, 30, 10, 9, 11, 10, 12, 2, 10, 11, 9, 10)]
    periods = [f"2024-{month:02d}" for month in range(1, 13)] + [f"2025-{month:02d}" for month in range(1, 8)]
    return spc(periods, values, improvement_direction=ImprovementDirection.DECREASE, target=12.0)


def points_in_group(svg: Path, group_id: str) -> int:
    """Markers matplotlib drew in the group with this id (each point is one <use> of the marker path)."""
    root = ET.parse(svg).getroot()
    groups = [element for element in root.iter(f"{SVG}g") if element.get("id") == group_id]
    return sum(len(list(group.iter(f"{SVG}use"))) for group in groups)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_funnel_svg_holds_every_point_and_labels_outliers(tmp_path: Path, funnel_result: FunnelResult) -> None:
    svg = write_funnel_chart(funnel_result, tmp_path / "funnel.svg", title="Referrals")
    outliers = [point for point in funnel_result.points if point.outlier is not None]
    assert [point.group for point in outliers] == ["HIGH"]
    assert points_in_group(svg, "funnel-points") == len(funnel_result.points) - 1
    assert points_in_group(svg, "funnel-outliers") == 1
    texts = "".join(element.text or "" for element in ET.parse(svg).getroot().iter(f"{SVG}text"))
    assert "HIGH" in texts and "Referrals" in texts


def test_spc_svg_colours_points_by_variation(tmp_path: Path, spc_result: SpcResult) -> None:
    svg = write_spc_chart(spc_result, tmp_path / "spc.svg")
    counts = {kind: points_in_group(svg, f"spc-{kind.value}") for kind in PointType}
    expected = {kind: sum(1 for p in spc_result.points if p.point_type is kind) for kind in PointType}
    assert counts == expected
    assert sum(counts.values()) == len(spc_result.points)
    # decrease is better: the spike to 30 is a concern, the drop to 2 an improvement, the rest common cause
    assert (counts[PointType.CONCERN], counts[PointType.IMPROVEMENT], counts[PointType.COMMON_CAUSE]) == (1, 1, 17)
    assert "#fab428" in svg.read_text().lower()  # concern is orange


@pytest.mark.parametrize("which", ["funnel", "spc"])
def test_png_is_a_png_of_a_sensible_size(
    tmp_path: Path, which: str, funnel_result: FunnelResult, spc_result: SpcResult
) -> None:
    path = tmp_path / f"{which}.png"
    if which == "funnel":
        write_funnel_chart(funnel_result, path)
    else:
        write_spc_chart(spc_result, path)
    width, height = png_size(path)
    assert 800 <= width <= 3000 and 400 <= height <= 2000
    assert path.stat().st_size > 10_000


@pytest.mark.parametrize("which", ["funnel", "spc"])
def test_html_is_self_contained_with_the_data(
    tmp_path: Path, which: str, funnel_result: FunnelResult, spc_result: SpcResult
) -> None:
    path = tmp_path / f"{which}.html"
    if which == "funnel":
        write_funnel_chart(funnel_result, path)
        expected = ["HIGH", "P07"]
    else:
        write_spc_chart(spc_result, path)
        expected = ["2024-10", "2025-07"]
    html = path.read_text()
    assert all(text in html for text in expected)
    assert not re.search(r"<script[^>]+src=[\"']?(https?:)?//", html, re.IGNORECASE)
    assert "Plotly.newPlot" in html and len(html) > 1_000_000  # plotly.js is written into the page


def test_commands_write_the_chart(tmp_path: Path) -> None:
    funnel_csv = tmp_path / "groups.csv"
    funnel_csv.write_text("group,numerator,denominator\na,10,100\nb,30,120\nc,12,90\n")
    chart = tmp_path / "out" / "funnel.svg"
    result = CliRunner().invoke(app, ["funnel", "--input", str(funnel_csv), "--type", "rate", "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    assert points_in_group(chart, "funnel-points") + points_in_group(chart, "funnel-outliers") == 3
    series_csv = tmp_path / "series.csv"
    series_csv.write_text("period,value\n" + "".join(f"2024-{m:02d},{m % 3}\n" for m in range(1, 13)))
    chart = tmp_path / "spc.png"
    result = CliRunner().invoke(app, ["spc", "--input", str(series_csv), "--chart", str(chart), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert png_size(chart)[0] > 0


def test_an_unknown_suffix_is_refused(tmp_path: Path, spc_result: SpcResult) -> None:
    with pytest.raises(ValueError, match=r"\.svg, \.png or \.html"):
        write_spc_chart(spc_result, tmp_path / "chart.pdf")
