"""The partners a local issue can be referred to, and what each is usually asked to do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Partner:
    code: str
    name: str
    typical_request: str


PARTNERS: tuple[Partner, ...] = (
    Partner(
        "council_lighting", "Council street lighting", "Repair, brighten or extend street lighting"
    ),
    Partner(
        "council_cctv",
        "Council CCTV",
        "Add, repair or re-aim CCTV cameras; review footage coverage",
    ),
    Partner(
        "parks",
        "Parks and green spaces",
        "Cut back vegetation, improve sightlines, lock or light paths",
    ),
    Partner(
        "licensing", "Licensing", "Review the premises licence, conditions or a late-night levy"
    ),
    Partner(
        "venue",
        "Pub, bar or club",
        "Ask for Angela, door staff training, welfare and safe taxi points",
    ),
    Partner(
        "transport",
        "Transport operator",
        "Staffing, lighting and help points at stations and stops",
    ),
    Partner(
        "housing",
        "Housing provider",
        "Secure empty buildings, repair entrances and communal lighting",
    ),
    Partner("highways", "Highways", "Underpasses, crossings, footpath layout and signage"),
)
BY_CODE: dict[str, Partner] = {p.code: p for p in PARTNERS}

# Which partner usually answers which environmental theme (used to suggest referrals).
THEME_PARTNER: dict[str, str] = {
    "poor_lighting": "council_lighting",
    "no_cctv": "council_cctv",
    "overgrown": "parks",
    "blind_spots": "highways",
    "rundown": "housing",
    "drink_drugs": "licensing",
    "transport": "transport",
}
