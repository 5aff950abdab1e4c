"""Publishing's background jobs: the report as a PDF (``report.pdf``) and the scheduled
publication of public figures (``publishing.publish``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from saferstreets.config import Settings
from saferstreets.db import get_engine, session_scope
from saferstreets.jobs.service import enqueue_once, job_kind, save_file
from saferstreets.models_common import utcnow
from saferstreets.progress import Progress

REPORT_PDF = "report.pdf"
PUBLISH = "publishing.publish"


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


@job_kind(PUBLISH, title="Publishing the day's public figures")
def publish_batch(
    *, engine: Engine, settings: Settings, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Publish a batch of public figures if one is due (as ``saferstreets publish --if-due``)."""
    from saferstreets.publishing.batch import is_due, publish

    now = utcnow()
    with session_scope(engine) as session:
        if not is_due(session=session, settings=settings, now=now):
            since = f"{settings.publish_hour:02d}:00"
            return {"published": False, "why": f"a batch was published since {since}"}
        progress("counting and suppressing")
        batch = publish(session=session, settings=settings, now=now)
        return {
            "published": True,
            "batch": batch.id,
            "areas moved": batch.units_moved,
            "figures shown": batch.figures_shown,
            "figures suppressed": batch.figures_hidden,
        }


def publish_if_due(*, settings: Settings) -> int | None:
    """Queue the publication when a batch is due (checked every hour); the job's id, if queued."""
    from saferstreets.publishing.batch import is_due

    engine = get_engine(settings)
    with session_scope(engine) as session:
        if not is_due(session=session, settings=settings, now=utcnow()):
            return None
    return enqueue_once(engine=engine, kind=PUBLISH, settings=settings)
