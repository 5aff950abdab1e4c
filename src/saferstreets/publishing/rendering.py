"""The stored findings drawn once per assessment run and kept in the store, so that every worker
and every server shows the assessment page's findings ready-made.

Drawing the findings (ten matplotlib charts, the hot-spot maps, the quotes) takes seconds; the
findings change only when an assessment run is stored. So the drawing is done once, by the
assessment job as soon as it has stored its findings (or by the first page that finds none), and
kept in ``findings_rendering`` under the id of the newest ``analysis_run``. A new run has a new
id, so it is drawn afresh; the old drawing goes with its run.

The quotes are drawn with the rest, each with the record it comes from. Each page checks them
against the store before showing them (a few indexed look-ups): a record deleted since, or a text
an analyst has since said is not of that theme, is not quoted.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from saferstreets.assessment.cache import assessment_stamp, remember
from saferstreets.assessment.models import AnalysisRun, FindingsRendering
from saferstreets.publishing.findings import Section, Table, build_sections
from saferstreets.publishing.wording import Finding
from saferstreets.themes.taxonomy import label


def _quote_themes(results: dict[str, Any]) -> dict[str, str]:
    """Theme label -> code for the quoted themes (the themes section's label of each)."""
    run = results.get("themes")
    ranked = ((run.result or {}).get("report") or {}).get("ranked") or [] if run else []
    return {(r.get("label") or label(r["code"])): r["code"] for r in ranked}


def _as_json(section: Section, sources: list[dict[str, Any]], codes: dict[str, str]) -> Any:
    data = asdict(section)
    quotes: dict[str, list[dict[str, Any]]] = {}
    for theme, texts in section.quotes.items():
        quotes[theme] = []
        for text in texts:
            source = sources.pop(0)
            quotes[theme].append({"text": text, "theme": codes.get(theme), **source})
    data["quotes"] = quotes
    return data


def draw(*, session: Session) -> tuple[list[dict[str, Any]], datetime | None]:
    """The stored findings drawn as sections (plain JSON), and the newest finding's time."""
    quoted: list[dict[str, Any]] = []
    sections, results = build_sections(session=session, quoted=quoted)
    codes = _quote_themes(results)
    drawn = [_as_json(s, quoted, codes) for s in sections]
    latest = max((r.created_at for r in results.values()), default=None)
    return drawn, latest


def store_rendering(*, session: Session) -> FindingsRendering | None:
    """Draw the newest run's findings and keep them (once: a drawing already kept is kept)."""
    run_id = assessment_stamp(session=session)
    if not run_id:
        return None
    kept = session.get(FindingsRendering, run_id)
    if kept is not None:
        return kept
    sections, latest = draw(session=session)
    rendering = FindingsRendering(run_id=run_id, sections=sections, latest=latest)
    try:
        with session.begin_nested():  # another worker may be drawing the same run
            session.add(rendering)
    except IntegrityError:
        return session.get(FindingsRendering, run_id)
    return rendering


def _kept(session: Session, run_id: int) -> tuple[list[dict[str, Any]], datetime | None]:
    rendering = session.get(FindingsRendering, run_id) or store_rendering(session=session)
    if rendering is None:
        return [], None
    return list(rendering.sections), rendering.latest


def _live(session: Session, quotes: list[dict[str, Any]]) -> set[tuple[str, int]]:
    """The quoted (kind, id) whose record is still there and whose theme is still in force."""
    from saferstreets.themes.inforce import OWNER_MODELS, in_force
    from saferstreets.themes.models import ThemeAssignment

    live: set[tuple[str, int]] = set()
    by_kind: dict[str, set[int]] = {}
    for q in quotes:
        by_kind.setdefault(q["kind"], set()).add(int(q["id"]))
    for kind, ids in by_kind.items():
        model = OWNER_MODELS.get(kind)
        if model is None:
            continue
        t = ThemeAssignment
        there = sa.select(model.id).where(model.id.in_(ids))
        found = {
            (int(oid), str(theme))
            for oid, theme in session.execute(
                sa.select(t.owner_id, t.theme).where(
                    t.owner_kind == kind, t.owner_id.in_(there), in_force()
                )
            )
        }
        for q in quotes:
            if q["kind"] == kind and (int(q["id"]), q["theme"]) in found:
                live.add((kind, int(q["id"])))
    return live


def _section(data: dict[str, Any], live: set[tuple[str, int]], quoted: list[Any]) -> Section:
    quotes: dict[str, list[str]] = {}
    for theme, items in (data.get("quotes") or {}).items():
        shown = [q for q in items if (q["kind"], int(q["id"])) in live]
        quoted.extend({"kind": q["kind"], "id": int(q["id"])} for q in shown)
        if shown:
            quotes[theme] = [q["text"] for q in shown]
    return Section(
        key=data["key"],
        title=data["title"],
        sentence=data["sentence"],
        figures=list(data["figures"]),
        tables=[Table(t["caption"], t["headers"], t["rows"]) for t in data["tables"]],
        notes=list(data["notes"]),
        quotes=quotes,
        finding=Finding(**data["finding"]) if data.get("finding") else None,
    )


def stored_findings(
    *, session: Session
) -> tuple[list[Section], list[dict[str, Any]], datetime | None]:
    """The newest run's findings as the page shows them: (sections, the records quoted, the
    newest finding's time). Read from the store (kept in each worker too); drawn if absent."""
    newest = session.execute(
        sa.select(AnalysisRun.id, AnalysisRun.created_at).order_by(AnalysisRun.id.desc()).limit(1)
    ).first()
    if newest is None:
        return [], [], None
    run_id = int(newest.id)  # with its time: a store rebuilt under a running server reuses ids
    drawn, latest = remember(
        ("rendering", run_id, str(newest.created_at)), lambda: _kept(session, run_id)
    )
    quotes = [q for s in drawn for items in (s.get("quotes") or {}).values() for q in items]
    live = _live(session, quotes) if quotes else set()
    quoted: list[dict[str, Any]] = []
    return [_section(s, live, quoted) for s in drawn], quoted, latest
