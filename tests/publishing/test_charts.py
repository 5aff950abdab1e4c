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
