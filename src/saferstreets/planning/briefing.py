"""One-page team briefings: an SVG map (the streets and their names from the basemap archive,
ward boundaries, hotspot cells, the base and its reach, and a key), the hotspots and the week's
visit times; as an HTML page and as a PDF (WeasyPrint)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from saferstreets.basemap.draw import LEGEND as STREET_LEGEND
from saferstreets.basemap.draw import basemap_svg
from saferstreets.documents import render
from saferstreets.errors import NotFound
from saferstreets.planning.models import PlanTeam
from saferstreets.planning.service import WEEKDAY_NAMES, hhmm, long_date, plan_detail

CSS_PATH = Path(__file__).resolve().parents[1] / "web" / "static" / "css" / "plans.css"


def plan_teams(*, session: Session, plan_id: int) -> list[int]:
    """Ids of a plan's teams, in order."""
    return list(
        session.scalars(
            sa.select(PlanTeam.id).where(PlanTeam.plan_id == plan_id).order_by(PlanTeam.id)
        )
    )


def _rings(geometry: dict) -> list[list[list[float]]]:
    if geometry.get("type") == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry.get("type") == "MultiPolygon":
        return [poly[0] for poly in geometry["coordinates"]]
    return []


def _legend(width: int, streets: bool) -> list[str]:
    """The map's key, top right: what each mark drawn means."""
    items = [
        ("square", "#1b1a33", "Team base"),
        ("outline", "#3d3a6b", "Base's reach"),
        ("fill", "#c0392b", "Hot spot (numbered)"),
        ("outline", "#8e88c9", "Ward boundary"),
    ]
    if streets:
        items += STREET_LEGEND
    x0, row = width - 168, 16
    parts = [
        f'<rect x="{x0 - 8}" y="6" width="170" height="{12 + row * len(items)}" fill="#ffffff" '
        'fill-opacity="0.92" stroke="#8a8799"/>'
    ]
    for k, (shape, colour, text) in enumerate(items):
        y = 20 + k * row
        if shape == "square":
            parts.append(f'<rect x="{x0 + 4}" y="{y - 6}" width="10" height="10" fill="{colour}"/>')
        elif shape == "line":
            parts.append(
                f'<line x1="{x0}" y1="{y - 1}" x2="{x0 + 18}" y2="{y - 1}" stroke="{colour}" '
                'stroke-width="4"/>'
            )
        else:
            fill = colour if shape == "fill" else "none"
            dash = ' stroke-dasharray="4 3"' if text == "Base's reach" else ""
            parts.append(
                f'<rect x="{x0}" y="{y - 7}" width="18" height="12" fill="{fill}" '
                f'fill-opacity="0.6" stroke="{colour}"{dash}/>'
            )
        parts.append(
            f'<text x="{x0 + 24}" y="{y + 3}" font-size="11" font-family="sans-serif">'
            f"{escape(text)}</text>"
        )
    return parts


def team_map_svg(
    *,
    session: Session,
    team: dict[str, Any],
    radius: float,
    width: int = 640,
    height: int = 420,
    basemap: Path | None = None,
) -> Markup:
    """An SVG map of one team's area: streets and their names from the ``basemap`` archive (if
    any), ward boundaries, hotspot cells, the base and its reach, and a key."""
    import h3

    from saferstreets.areas.models import Area

    lat0, lon0 = team["lat"], team["lon"]
    kx = 111_320.0 * math.cos(math.radians(lat0))
    ky = 110_540.0
    pts = [(lon0, lat0)] + [(h["lon"], h["lat"]) for h in team["hotspots"]]
    half_x = max(radius * 1.25, max(abs(p[0] - lon0) * kx for p in pts) + 300)
    half_y = max(radius * 1.25, max(abs(p[1] - lat0) * ky for p in pts) + 300)
    scale = min(width / (2 * half_x), height / (2 * half_y))

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return width / 2 + (lon - lon0) * kx * scale, height / 2 - (lat - lat0) * ky * scale

    dlon, dlat = half_x / kx, half_y / ky
    wards = session.execute(
        sa.select(Area.name, Area.geometry).where(
            Area.kind == "ward",
            Area.max_lon >= lon0 - dlon,
            Area.min_lon <= lon0 + dlon,
            Area.max_lat >= lat0 - dlat,
            Area.min_lat <= lat0 + dlat,
        )
    ).all()
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="team-map" role="img" aria-label="Map of {escape(team["name"])}">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f3f1ec"/>',
    ]
    bbox = (lon0 - dlon, lat0 - dlat, lon0 + dlon, lat0 + dlat)
    streets = basemap_svg(basemap, bbox, xy)
    parts.extend(streets)
    for name, geom in wards:
        for ring in _rings(geom or {}):
            d = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(p[0], p[1]) for p in ring))
            parts.append(
                f'<polygon points="{d}" fill="none" stroke="#8e88c9" stroke-width="1">'
                f"<title>{escape(name)}</title></polygon>"
            )
    cx, cy = xy(lon0, lat0)
    parts.append(
        f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius * scale:.1f}" fill="#3d3a6b" '
        'fill-opacity="0.08" stroke="#3d3a6b" stroke-dasharray="4 3"/>'
    )
    for k, h in enumerate(team["hotspots"], start=1):
        boundary = h3.cell_to_boundary(h["cell"])
        d = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(lon, lat) for lat, lon in boundary))
        hx, hy = xy(h["lon"], h["lat"])
        parts.append(f'<polygon points="{d}" fill="#c0392b" fill-opacity="0.55" stroke="#7b241c"/>')
        parts.append(
            f'<text x="{hx + 6:.1f}" y="{hy - 6:.1f}" font-size="13" font-weight="bold" '
            f'fill="#7b241c">{k}</text>'
        )
    parts.append(f'<rect x="{cx - 6:.1f}" y="{cy - 6:.1f}" width="12" height="12" fill="#1b1a33"/>')
    parts.append(
        f'<text x="{cx + 9:.1f}" y="{cy + 4:.1f}" font-size="12" fill="#1b1a33">base</text>'
    )
    bar_m = 500 if half_x < 3000 else 1000
    parts.append(
        f'<line x1="12" y1="{height - 14}" x2="{12 + bar_m * scale:.1f}" y2="{height - 14}" '
        'stroke="#1b1a33" stroke-width="3"/>'
    )
    parts.append(f'<text x="12" y="{height - 20}" font-size="11">{bar_m} m</text>')
    parts.extend(_legend(width, bool(streets)))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text inside is escaped above


def briefing_context(
    *, session: Session, plan_id: int, team_id: int, basemap: Path | None = None
) -> dict[str, Any]:
    """What the briefing page and PDF show for one team (streets from the ``basemap`` archive)."""
    detail = plan_detail(session=session, plan_id=plan_id)
    team = next((t for t in detail["teams"] if t["id"] == team_id), None)
    if team is None:
        raise NotFound(f"Plan {plan_id} has no team {team_id}")
    index = {h["cell"]: k for k, h in enumerate(team["hotspots"], start=1)}
    days = [
        {
            "name": WEEKDAY_NAMES[d],
            "visits": [
                {
                    "start": hhmm(v["start_minute"]),
                    "end": hhmm((v["start_minute"] + v["minutes"]) % 1440),
                    "minutes": v["minutes"],
                    "hotspot": index.get(v["place"], "?"),
                }
                for v in team["visits"]
                if v["weekday"] == d
            ],
        }
        for d in range(7)
    ]
    return {
        "plan": detail,
        "team": team,
        "days": days,
        "starts": long_date(team["phase_start"]),
        "map_svg": team_map_svg(
            session=session, team=team, radius=detail["params"]["radius"], basemap=basemap
        ),
    }


def briefing_html(
    *,
    session: Session,
    plan_id: int,
    team_id: int,
    for_pdf: bool = False,
    basemap: Path | None = None,
) -> str:
    """The briefing as a standalone HTML document."""
    ctx = briefing_context(session=session, plan_id=plan_id, team_id=team_id, basemap=basemap)
    return render("staff/plans_briefing_doc.html", **ctx, for_pdf=for_pdf)


def briefing_pdf(
    *, session: Session, plan_id: int, team_id: int, basemap: Path | None = None
) -> bytes:
    """The briefing as a one-page A4 PDF."""
    return briefing_pdf_of(
        briefing_html(
            session=session, plan_id=plan_id, team_id=team_id, for_pdf=True, basemap=basemap
        )
    )


def briefing_pdf_of(html: str) -> bytes:
    """The briefing's HTML (``briefing_html(..., for_pdf=True)``) as PDF; needs no store."""
    from weasyprint import CSS, HTML

    css = CSS(filename=str(CSS_PATH)) if CSS_PATH.exists() else None
    return bytes(HTML(string=html).write_pdf(stylesheets=[css] if css else None))
