"""The basemap as SVG, for printed maps (team briefings): streets, parks, railways and labels
decoded from the same PMTiles archive the browser draws, under whatever the caller draws on top.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from markupsafe import escape
from shapely.geometry.base import BaseGeometry

from saferstreets.basemap.tiles import read_features

Project = Callable[[float, float], tuple[float, float]]

#: (stroke, width) by road kind, drawn widest last so main roads sit on top
ROAD_STYLE = {
    "path": ("#b9a98f", 1.0),
    "rail": ("#8a8a8a", 1.5),
    "minor_road": ("#ffffff", 3.0),
    "major_road": ("#f3d28a", 4.5),
    "highway": ("#e8a25f", 5.5),
}
LABELLED_POIS = {"station", "bus_station", "mall"}
#: what the printed key says for what is drawn
LEGEND = [
    ("line", "#f3d28a", "Main road"),
    ("line", "#d9d6cc", "Street"),
    ("fill", "#cde6c3", "Park"),
]


def _path(geom: BaseGeometry, xy: Project, close: bool) -> str:
    parts = []
    for g in getattr(geom, "geoms", [geom]):
        rings = [g.exterior, *g.interiors] if g.geom_type == "Polygon" else [g]
        for ring in rings:
            pts = [xy(x, y) for x, y in ring.coords]
            if len(pts) < 2:
                continue
            d = "M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in pts)
            parts.append(d + (" Z" if close else ""))
    return " ".join(parts)


def _label(x: float, y: float, text: str, size: int, fill: str, weight: str = "normal") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" fill="{fill}" '
        f'stroke="#ffffff" stroke-width="3" paint-order="stroke" font-family="sans-serif">'
        f"{escape(text)}</text>"
    )


class _Placed:
    """Label boxes already placed, so no label is drawn over another (greedy, first wins)."""

    def __init__(self) -> None:
        self.boxes: list[tuple[float, float, float, float]] = []

    def take(self, x: float, y: float, text: str, size: int) -> bool:
        """Claim the box of ``text`` drawn at (x, y) (its baseline start); False if taken."""
        w, h = 0.56 * size * len(text), 1.1 * size
        box = (x - 2, y - h, x + w + 2, y + 3)
        if any(
            b[0] < box[2] and box[0] < b[2] and b[1] < box[3] and box[1] < b[3] for b in self.boxes
        ):
            return False
        self.boxes.append(box)
        return True


def _street_labels(
    roads: list[tuple[BaseGeometry, dict[str, Any]]], xy: Project, placed: _Placed
) -> list[str]:
    """One label per street name, centred on the middle of its longest drawn piece, main roads
    first, then the longest streets; a label that would overlap another is left out."""
    longest: dict[str, tuple[BaseGeometry, bool]] = {}
    for geom, props in roads:
        name = str(props.get("name") or "")
        if not name or props.get("kind") not in ("minor_road", "major_road", "highway"):
            continue
        if name not in longest or geom.length > longest[name][0].length:
            longest[name] = (geom, props.get("kind") != "minor_road")
    ranked = sorted(longest.items(), key=lambda item: (not item[1][1], -item[1][0].length, item[0]))
    out = []
    for name, (geom, _major) in ranked:
        mid = geom.interpolate(0.5, normalized=True)
        x, y = xy(mid.x, mid.y)
        x -= 0.56 * 10 * len(name) / 2
        if placed.take(x, y, name, 10):
            out.append(_label(x, y, name, 10, "#4a4858"))
    return out


def basemap_svg(
    path: Path | None, bbox: tuple[float, float, float, float], xy: Project, *, zoom: int = 14
) -> list[str]:
    """SVG elements drawing the archive's parks, roads and labels inside the lon/lat ``bbox``,
    projected by ``xy``; none when there is no archive."""
    if path is None:
        return []
    layers = read_features(path, bbox, zoom)
    parts = ['<g class="basemap">']
    for geom, props in layers.get("landuse", []):
        if props.get("kind") == "park":
            parts.append(f'<path d="{_path(geom, xy, True)}" fill="#cde6c3" stroke="none"/>')
    roads = layers.get("roads", [])
    for kind, (stroke, width) in ROAD_STYLE.items():
        casing = kind in ("minor_road", "major_road", "highway")
        for geom, props in roads:
            if props.get("kind") != kind:
                continue
            d = _path(geom, xy, False)
            if not d:
                continue
            if casing:
                parts.append(
                    f'<path d="{d}" fill="none" stroke="#d9d6cc" stroke-width="{width + 1.5}" '
                    'stroke-linecap="round"/>'
                )
            dash = ' stroke-dasharray="3 2"' if kind in ("path", "rail") else ""
            parts.append(
                f'<path d="{d}" fill="none" stroke="{stroke}" stroke-width="{width}"'
                f' stroke-linecap="round"{dash}/>'
            )
    placed = _Placed()
    for geom, props in layers.get("pois", []):
        if props.get("kind") in LABELLED_POIS:
            x, y = xy(geom.x, geom.y)
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#1d1a4b"/>')
            name = str(props.get("name", ""))
            if placed.take(x + 6, y + 4, name, 11):
                parts.append(_label(x + 6, y + 4, name, 11, "#1d1a4b", "bold"))
    parts.extend(_street_labels(roads, xy, placed))
    parts.append("</g>")
    return parts
