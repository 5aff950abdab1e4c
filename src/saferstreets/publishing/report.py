"""The chief officer's report: the stored assessment as one HTML document and as PDF."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from saferstreets.config import Settings
from saferstreets.documents import STATIC_DIR, documents
from saferstreets.publishing.findings import build_sections
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
    css = report_css()
    template = documents.get_template("report/report.html")
    return template.render(
        sections=sections,
        status=store_status(session=session),
        force_name=settings.force_name,
        today=date.today(),
        css=css,
        params=next(iter(results.values())).params if results else {},
    )


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
