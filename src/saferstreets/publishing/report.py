"""The chief officer's report: the stored assessment as one HTML document and as PDF."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from saferstreets.areas.service import force_name
from saferstreets.assessment.models import AnalysisRun
from saferstreets.config import Settings
from saferstreets.documents import STATIC_DIR, documents
from saferstreets.publishing.actions import actions
from saferstreets.publishing.findings import Context, build_sections
from saferstreets.publishing.sentences import area_km2
from saferstreets.status import store_status


@functools.cache
def report_css() -> str:
    """The report's styles, which the HTML carries inline so that it stands alone as a file
    (read once: the page's security policy hashes the same text the document carries)."""
    return (STATIC_DIR / "css" / "report.css").read_text()


def report_html(
    *, session: Session, settings: Settings, quoted: list[dict[str, Any]] | None = None
) -> str:
    """The whole report as a standalone HTML document (styles inline from report.css);
    ``quoted`` gets the records its quotes come from."""
    sections, results = build_sections(session=session, quoted=quoted)
    stored = {kind: run.result for kind, run in results.items()}
    ctx = Context(session=session)
    template = documents.get_template("report/report.html")
    return template.render(
        sections=sections,
        actions=actions(stored, ctx.cell_names, ctx.area_name, _quote(session, quoted)),
        sources=sources(results, store_status(session=session)["counts"]),
        force_name=force_name(session=session, settings=settings),
        today=date.today(),
        css=report_css(),
        resolution=(res := _resolution(results)),
        resolution_area=area_km2(res) if res else "",
    )


def _quote(session: Session, quoted: list[dict[str, Any]] | None) -> Any:
    from saferstreets.themes.service import quotes_for_theme

    def quote(theme: str) -> str:
        found = quotes_for_theme(session=session, theme=theme, limit=1, sources=quoted)
        return found[0] if found else ""

    return quote


def _resolution(results: dict[str, AnalysisRun]) -> int | None:
    for kind in ("hotspots_reports", "hotspots_crime"):
        if kind in results and (res := (results[kind].params or {}).get("resolution")):
            return int(res)
    return None


def sources(results: dict[str, AnalysisRun], now: dict[str, int]) -> dict[str, Any]:
    """What the findings were computed from, read from the findings themselves (one source for
    every number), and what the store has gained since (``now``: the store's counts today)."""
    res = {kind: run.result for kind, run in results.items()}
    waves = res.get("waves") or {}
    responses = (res.get("concerns") or {}).get("n_respondents")
    reports = ((res.get("concerns") or {}).get("reports") or {}).get("n")
    if reports is None and res.get("when_reports"):
        reports = res["when_reports"].get("n_timed", 0) + res["when_reports"].get("n_untimed", 0)
    out = {
        "survey_responses": responses,
        "survey_waves": 2 if waves.get("previous") else (1 if responses else 0),
        "reports": reports,
        "crimes": sum((res.get("when_crime") or {}).get("counts") or []) or None,
        "outcomes": ((res.get("outcomes") or {}).get("overall") or {}).get("n"),
        "assessed": max((r.created_at for r in results.values()), default=None),
    }
    out["new_reports"] = max(0, now.get("reports", 0) - (reports or 0)) if reports else 0
    return out


def report_pdf(
    *, session: Session, settings: Settings, quoted: list[dict[str, Any]] | None = None
) -> bytes:
    """The report as PDF; ``quoted`` gets the records its quotes come from."""
    return pdf_of(report_html(session=session, settings=settings, quoted=quoted))


def pdf_of(html: str) -> bytes:
    """The report's HTML (from :func:`report_html`) as PDF; needs no store."""
    from weasyprint import HTML

    return bytes(HTML(string=html, base_url=str(STATIC_DIR)).write_pdf())


def write_report(*, session: Session, settings: Settings, out: Path) -> Path:
    """Write the report to ``out``: PDF for a .pdf name, else HTML."""
    if out.suffix.lower() == ".pdf":
        out.write_bytes(report_pdf(session=session, settings=settings))
    else:
        out.write_text(report_html(session=session, settings=settings), encoding="utf-8")
    return out
