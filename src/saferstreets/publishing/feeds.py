"""Atom feeds (RFC 4287) of an area's public updates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from xml.etree import ElementTree as ET

from saferstreets.actions.models import PublicUpdate
from saferstreets.areas.models import Area

ATOM = "http://www.w3.org/2005/Atom"


def _stamp(day: object) -> str:
    moment = datetime.combine(day, time(12, 0), tzinfo=UTC)  # type: ignore[arg-type]
    return moment.isoformat().replace("+00:00", "Z")


def _changed_on(update: PublicUpdate) -> date:
    """When an update last changed for its readers: its correction, else its publication."""
    return update.corrected_on or update.published_on or datetime.now(UTC).date()


def area_feed(
    *, area: Area, updates: Sequence[PublicUpdate], base_url: str, force_name: str
) -> bytes:
    """The Atom document for an area: one entry per public update, newest first."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    page = f"{base_url}/areas/{area.code}"
    ET.SubElement(feed, f"{{{ATOM}}}title").text = f"You said, we did: {area.name}"
    ET.SubElement(
        feed, f"{{{ATOM}}}subtitle"
    ).text = f"What {force_name} and partners did in {area.name}"
    ET.SubElement(feed, f"{{{ATOM}}}id").text = page
    ET.SubElement(feed, f"{{{ATOM}}}link", href=page)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=f"{page}/feed.atom")
    newest = max((_changed_on(u) for u in updates), default=None)
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = (
        _stamp(newest) if newest else _stamp(datetime.now(UTC).date())
    )
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = force_name
    for update in updates:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}title").text = update.title
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"{page}#update-{update.id}"
        ET.SubElement(entry, f"{{{ATOM}}}link", href=f"{page}#update-{update.id}")
        ET.SubElement(entry, f"{{{ATOM}}}published").text = _stamp(update.published_on)
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = _stamp(_changed_on(update))
        body = update.body
        if update.corrected_on:
            body = f"Updated {update.corrected_on:%-d %B %Y}. {body}"
        ET.SubElement(entry, f"{{{ATOM}}}content", type="text").text = body
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")
