"""Charts are valid, deterministic SVG that can be embedded as images."""

from __future__ import annotations

import base64
from xml.etree import ElementTree as ET

from saferstreets.publishing import charts


def test_bar_chart_is_deterministic_svg() -> None:
    args = (["Poor lighting", "Isolated"], [0.48, 0.31], [0.46, 0.29], [0.50, 0.33])
    one = charts.bar_intervals(*args, title="Main concerns")
    two = charts.bar_intervals(*args, title="Main concerns")
    assert one == two
    root = ET.fromstring(one)
    assert root.tag.endswith("svg")
    assert "Poor lighting" in one


def test_img_tag_escapes_alt_and_embeds_svg() -> None:
    svg = charts.lines(["Jan", "Feb"], {"Reports": [3, 5]})
    tag = charts.as_img(svg, alt='Reports "rose"')
    assert 'alt="Reports &quot;rose&quot;"' in tag
    payload = tag.split("base64,")[1].split('"')[0]
    assert base64.b64decode(payload).decode() == svg


def test_area_map_draws_every_polygon() -> None:
    square = {
        "type": "Polygon",
        "coordinates": [[[0, 51], [0.1, 51], [0.1, 51.1], [0, 51.1], [0, 51]]],
    }
    multi = {
        "type": "MultiPolygon",
        "coordinates": [square["coordinates"], [[[1, 51], [1.1, 51], [1.1, 51.1], [1, 51]]]],
    }
    svg = charts.area_map(
        [{"geometry": square}, {"geometry": multi}],
        colours=["#ff0000", "#00ff00"],
        circles=[(0.05, 51.05, 800)],
    )
    assert svg.count("#ff0000") >= 1 and svg.count("#00ff00") >= 2


def _texts(svg: str) -> list[str]:
    """The text of every label in an SVG (charts keep text as text: svg.fonttype none)."""
    return [(t.text or "").strip() for t in ET.fromstring(svg).iter() if t.tag.endswith("text")]


def test_counts_and_shares_start_at_zero() -> None:
    # a month-by-month count that never goes below 1,751 is still drawn from 0
    months = ["Oct 21", "Nov 21", "Dec 21", "Jan 22", "Feb 22"]
    counts = [2150, 2180, 1950, 1751, 1760]
    assert "0" in _texts(charts.lines(months, {"crimes": counts}, ylabel="crimes"))
    # shares all well above zero: the bar axis still starts at 0%
    bars = charts.bar_intervals(
        ["A", "B"], [0.78, 0.53], [0.77, 0.52], [0.79, 0.54], xlabel="% of the 9,312 who answered"
    )
    texts = _texts(bars)
    assert "0" in texts and "% of the 9,312 who answered" in texts


def _printed_scale(svg: str) -> float:
    """How much the report shrinks a figure: to the A4 text width (210 mm less 2 x 16 mm of
    margin) and the figure height report.css allows, whichever binds."""
    import re

    from saferstreets.publishing.report import report_css

    max_mm = float(re.search(r"figure\.chart img \{[^}]*max-height: (\d+)mm", report_css())[1])  # type: ignore[index]
    root = ET.fromstring(svg)
    width, height = (float(root.get(a, "0").removesuffix("pt")) for a in ("width", "height"))
    points = 72 / 25.4
    return min(1.0, (210 - 32) * points / width, max_mm * points / height)


def test_the_report_prints_chart_labels_and_map_legends_at_7_points_or_more() -> None:
    """Twelve bars once drew 5.5 in tall and printed their 10 pt labels at 5.8 pt in an 80 mm
    figure; a map's 8 pt legend printed at 5.6 pt."""
    labels = [
        "Verbal harassment by a person or group",
        "Overgrown or blocked sightlines",
        *[f"Reason number {i}" for i in range(10)],
    ]
    shares = [0.5 - 0.03 * i for i in range(12)]
    lows, highs = [s - 0.02 for s in shares], [s + 0.02 for s in shares]
    bars = charts.bar_intervals(labels, shares, lows, highs, title="Reasons ticked in reports")
    assert 10 * _printed_scale(bars) >= 7  # tick labels are matplotlib's 10 pt
    ring = [[-1.5, 52.0], [-0.9, 52.0], [-0.9, 52.3], [-1.5, 52.3], [-1.5, 52.0]]
    county = {"type": "Polygon", "coordinates": [ring]}  # wider than tall, as counties are
    legend = {charts.HOTSPOT_LABELS[k]: charts.HOTSPOT_COLOURS[k] for k in (3, 2, 1, -1, -2, -3)}
    drawn = charts.area_map([county], title="Hot and cold spots of reports", legend=legend)
    assert 9 * _printed_scale(drawn) >= 7  # the legend is 9 pt
