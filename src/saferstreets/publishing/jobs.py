"""The chief officer's report as a PDF, made in the background (``report.pdf``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from saferstreets.config import Settings
from saferstreets.db import session_scope
from saferstreets.jobs.service import job_kind, save_file
from saferstreets.progress import Progress

REPORT_PDF = "report.pdf"


@job_kind(REPORT_PDF, title="Making the assessment report (PDF)")
def report_pdf(
    *,
    engine: Engine,
    settings: Settings,
    params: dict[str, Any],
    progress: Progress,
    job_id: int,
) -> dict[str, Any]:
    """Render the report from the latest findings and keep the PDF for download."""
    from saferstreets.publishing.report import pdf_of, report_html

    quoted: list[dict[str, Any]] = []
    progress("reading the latest findings")
    with session_scope(engine) as session:
        html = report_html(session=session, settings=settings, quoted=quoted)
    progress("laying out the PDF")
    pdf = pdf_of(html)
    save_file(
        engine=engine,
        job_id=job_id,
        filename="saferstreets-assessment.pdf",
        media_type="application/pdf",
        content=pdf,
        detail={"object_kind": "report", "format": "pdf", "quoted": quoted},
    )
    return {"size_kb": round(len(pdf) / 1024), "quotes": len(quoted)}
