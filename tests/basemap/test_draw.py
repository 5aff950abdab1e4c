"""Printed maps draw the same streets as the browser: decoded from the archive, projected,
labelled and escaped."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

from shapely.geometry import LineString, Point

from saferstreets.basemap.draw import basemap_svg
from saferstreets.basemap.tiles import Feature, write_archive

BBOX = (-1.30, 52.08, -1.20, 52.14)


def test_streets_and_labels_in_the_svg(tmp_path: Path) -> None:
    path = tmp_path / "b.pmtiles"
    layers = {
        "roads": [
            Feature(
                LineString([(-1.29, 52.10), (-1.21, 52.12)]),
                {"kind": "minor_road", "name": "Mill <Lane>"},
                12,
            ),
            Feature(
                LineString([(-1.29, 52.09), (-1.21, 52.09)]),
                {"kind": "major_road", "name": "A411"},
                6,
            ),
        ],
        "pois": [Feature(Point(-1.25, 52.11), {"kind": "station", "name": "Ulfield station"}, 12)],
    }
    write_archive(path, layers, bbox=BBOX, min_zoom=8, max_zoom=14, attribution="t", name="t")
    width, height = 600.0, 400.0

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (lon - BBOX[0]) / (BBOX[2] - BBOX[0]) * width, (BBOX[3] - lat) / (
            BBOX[3] - BBOX[1]
        ) * height

    parts = basemap_svg(path, BBOX, xy)
    svg = f'<svg xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    root = ElementTree.fromstring(svg)  # well-formed: the name's "<" is escaped
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert {"Mill <Lane>", "A411", "Ulfield station"} <= set(texts)
    paths = [p.get("d", "") for p in root.iter("{http://www.w3.org/2000/svg}path")]
    assert len(paths) >= 3  # casing and fill for each road
    # Mill Lane starts at (-1.29, 52.10): x = 0.01 / 0.1 * 600 = 60 px, y = 0.04 / 0.06 * 400.
    starts = [d[1:].split()[0].split(",") for d in paths if d]
    assert any(abs(float(x) - 60) < 0.3 and abs(float(y) - 266.67) < 0.3 for x, y in starts)
    assert basemap_svg(None, BBOX, xy) == []
