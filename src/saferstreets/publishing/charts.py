"""One chart path for pages and reports: matplotlib draws SVG, embedded as a data URI image.

Every function returns SVG text. ``as_img`` wraps it as ``<img src="data:...">`` with alt text,
which
works in the app (no inline script or style, so the strict CSP holds) and in WeasyPrint PDFs.
Charts are deterministic (fixed hash salt, no date metadata): the same results, the same bytes.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.collections import PatchCollection
from matplotlib.patches import Polygon as MplPolygon

INK = "#1b1a2e"
MUTED = "#4a4860"
BRAND = "#3d3a6b"
ACCENT = "#005ea5"
DANGER = "#b10e1e"
GRID = "#d9d7e6"
# ArcGIS-style hot/cold classes: -3 .. 3
HOTSPOT_COLOURS = {
    3: "#b2182b",
    2: "#ef8a62",
    1: "#fddbc7",
    0: "#f0f0f0",
    -1: "#d1e5f0",
    -2: "#67a9cf",
    -3: "#2166ac",
}
HOTSPOT_LABELS = {
    3: "Hot spot, 99%",
    2: "Hot spot, 95%",
    1: "Hot spot, 90%",
    0: "Not significant",
    -1: "Cold spot, 90%",
    -2: "Cold spot, 95%",
    -3: "Cold spot, 99%",
}

plt.rcParams.update(
    {
        "svg.hashsalt": "saferstreets",
        "svg.fonttype": "none",
        "font.family": "DejaVu Sans",
        "font.size": 10,
        "axes.edgecolor": MUTED,
        "axes.labelcolor": INK,
        "xtick.color": INK,
        "ytick.color": INK,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return buffer.getvalue()


def as_img(svg: str, alt: str, css_class: str = "chart-img") -> str:
    """An ``<img>`` tag holding the SVG as a data URI, with alt text for screen readers."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    src = f"data:image/svg+xml;base64,{data}"
    return f'<img class="{escape(css_class)}" alt="{escape(alt)}" src="{src}">'


def bar_intervals(
    labels: Sequence[str],
    values: Sequence[float],
    lows: Sequence[float] | None = None,
    highs: Sequence[float] | None = None,
    *,
    title: str = "",
    xlabel: str = "",
    percent: bool = True,
    highlight: int | None = 0,
) -> str:
    """Horizontal bars, largest at the top, with interval whiskers (e.g. Wilson 95%)."""
    n = len(labels)
    # 0.28 in a bar: twelve bars fit the report's 80 mm tall figure with labels printed at 7.5 pt
    fig, ax = plt.subplots(figsize=(7.5, 0.28 * max(n, 2) + 0.8))
    scale = 100.0 if percent else 1.0
    ys = list(range(n))[::-1]
    colours = [DANGER if i == highlight else BRAND for i in range(n)]
    ax.barh(ys, [v * scale for v in values], color=colours, height=0.62)
    if lows is not None and highs is not None:
        err = [
            [(v - lo) * scale for v, lo in zip(values, lows, strict=True)],
            [(hi - v) * scale for v, hi in zip(values, highs, strict=True)],
        ]
        ax.errorbar(
            [v * scale for v in values], ys, xerr=err, fmt="none", ecolor=INK, capsize=3, lw=1
        )
    ax.set_yticks(ys, labels)
    ax.set_xlabel(xlabel or ("% of respondents who answered" if percent else ""))
    ax.grid(axis="x", color=GRID, lw=0.8)
    ax.set_axisbelow(True)
    if percent:
        top = max(
            [(h if highs is not None else v) for v, h in zip(values, highs or values, strict=True)]
            + [0.01]
        )
        ax.set_xlim(0, min(100, math.ceil(top * scale / 10) * 10 + 5))
    if title:
        ax.set_title(title, loc="left", color=INK, fontsize=11, fontweight="bold")
    return _svg(fig)


def heatmap(
    matrix: Sequence[Sequence[float]],
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    title: str = "",
    colorbar_label: str = "",
    outline: Sequence[tuple[int, int]] = (),
) -> str:
    """A grid such as weekday × hour; ``outline`` cells (row, col) get a box (the NTE window)."""
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(row_labels) + 1.4))
    image = ax.imshow(matrix, aspect="auto", cmap="Purples")
    ax.set_yticks(range(len(row_labels)), row_labels)
    step = 2 if len(col_labels) > 12 else 1
    ax.set_xticks(
        range(0, len(col_labels), step), [col_labels[i] for i in range(0, len(col_labels), step)]
    )
    for r, c in outline:
        ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec=DANGER, lw=1.2))
    bar = fig.colorbar(image, ax=ax, fraction=0.025, pad=0.01)
    if colorbar_label:
        bar.set_label(colorbar_label)
    if title:
        ax.set_title(title, loc="left", color=INK, fontsize=11, fontweight="bold")
    return _svg(fig)


def lines(
    x_labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str = "",
    ylabel: str = "",
    bands: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    note: str = "",
) -> str:
    """Lines over an ordered axis (months, waves), with optional interval bands per series; a
    value of None has no figure (not 0): the line breaks there, and ``note`` says why."""
    fig, ax = plt.subplots(figsize=(8, 3.4))
    palette = [BRAND, DANGER, ACCENT, "#00703c", "#f47738", MUTED]
    xs = list(range(len(x_labels)))
    for i, (name, given) in enumerate(series.items()):
        colour = palette[i % len(palette)]
        values = [math.nan if v is None else v for v in given]
        ax.plot(xs, values, color=colour, lw=2, marker="o", ms=3, label=name)
        if bands and name in bands:
            lo, hi = bands[name]
            ax.fill_between(xs, lo, hi, color=colour, alpha=0.15, lw=0)
    step = max(1, math.ceil(len(x_labels) / 8))
    ax.set_xticks(xs[::step], list(x_labels)[::step], rotation=0)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", color=GRID, lw=0.8)
    # counts and shares start at zero, so that a dip is drawn at its true size
    if all(v >= 0 for values in series.values() for v in values if v is not None):
        ax.set_ylim(bottom=0)
    if note:
        ax.annotate(
            note,
            (0, 0),
            (0, -30),
            xycoords="axes fraction",
            textcoords="offset points",
            va="top",
            fontsize=8,
            color=MUTED,
        )
    if len(series) > 1:
        ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    if title:
        ax.set_title(title, loc="left", color=INK, fontsize=11, fontweight="bold")
    return _svg(fig)


def _rings(geometry: Mapping[str, Any]) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry["type"] == "MultiPolygon":
        return [poly[0] for poly in geometry["coordinates"]]
    return []


def area_map(
    features: Sequence[Mapping[str, Any]],
    *,
    colours: Sequence[str] | None = None,
    title: str = "",
    legend: Mapping[str, str] | None = None,
    points: Sequence[tuple[float, float, str]] = (),
    circles: Sequence[tuple[float, float, float]] = (),
    labels: Sequence[tuple[float, float, str]] = (),
) -> str:
    """Polygons (GeoJSON geometries in lon/lat) filled with ``colours``; no tiles needed.

    ``points`` are (lon, lat, colour); ``circles`` are (lon, lat, radius in metres) outlines;
    the aspect is corrected for latitude so the county is not stretched.
    """
    # At most 3.6 in tall whatever the county's shape: drawn at most 80 mm tall in the report,
    # its 9 pt legend still prints at 7.5 pt or more
    fig, ax = plt.subplots(figsize=(6, 3.6))
    patches, facecolours = [], []
    lats: list[float] = []
    for i, feature in enumerate(features):
        for ring in _rings(feature.get("geometry", feature)):
            patches.append(MplPolygon(ring, closed=True))
            facecolours.append(colours[i] if colours else "#e8e6f3")
            lats.extend(p[1] for p in ring[:: max(1, len(ring) // 20)])
    collection = PatchCollection(patches, facecolor=facecolours, edgecolor="#a9a5c4", linewidth=0.4)
    ax.add_collection(collection)
    mean_lat = sum(lats) / len(lats) if lats else 52.0
    for lon, lat, radius in circles:
        r_lat = radius / 111_320
        r_lon = r_lat / math.cos(math.radians(mean_lat))
        ax.add_patch(
            matplotlib.patches.Ellipse(
                (lon, lat), 2 * r_lon, 2 * r_lat, fill=False, ec=INK, lw=1, ls="--"
            )
        )
    for lon, lat, colour in points:
        ax.plot(lon, lat, marker="o", ms=6, mec="#ffffff", mfc=colour, mew=1)
    for lon, lat, text in labels:
        ax.annotate(
            text, (lon, lat), xytext=(4, 4), textcoords="offset points", fontsize=8, color=INK
        )
    ax.autoscale_view()
    ax.set_aspect(1 / math.cos(math.radians(mean_lat)))
    ax.set_axis_off()
    if legend:
        handles = [matplotlib.patches.Patch(color=c, label=name) for name, c in legend.items()]
        ax.legend(
            handles=handles, frameon=False, loc="upper left", bbox_to_anchor=(1, 1), fontsize=9
        )
    if title:
        ax.set_title(title, loc="left", color=INK, fontsize=11, fontweight="bold")
    return _svg(fig)


def sequential_colours(values: Sequence[float], cmap: str = "Purples") -> list[str]:
    """Map values to hex colours on a sequential scale (0 → lightest)."""
    colormap = matplotlib.colormaps[cmap]
    top = max(values) if values and max(values) > 0 else 1.0
    return [matplotlib.colors.to_hex(colormap(0.08 + 0.85 * (v / top))) for v in values]
