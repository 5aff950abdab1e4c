"""What the store holds, for ``saferstreets status`` and the staff overview."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.areas.models import Area
from saferstreets.crime.models import Crime, Outcome, StopSearch
from saferstreets.ingest.models import ImportRun, QuarantinedRow
from saferstreets.models_common import AREA_LEVELS
from saferstreets.reports.models import Report
from saferstreets.surveys.models import SurveyResponse, SurveyWave


def store_status(*, session: Session) -> dict[str, Any]:
    """Counts of each kind of record, areas by level, open quarantine, and the last import of each kind."""

    def count(model: Any) -> int:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)

    counts = {
        "crimes": count(Crime),
        "outcomes": count(Outcome),
        "stop_and_search": count(StopSearch),
        "reports": count(Report),
        "survey_waves": count(SurveyWave),
        "survey_responses": count(SurveyResponse),
    }
    by_level = dict(session.execute(sa.select(Area.kind, sa.func.count()).group_by(Area.kind)).all())
    areas = {level: int(by_level.get(level, 0)) for level in AREA_LEVELS}
    quarantined_open = int(
        session.scalar(
            sa.select(sa.func.count()).select_from(QuarantinedRow).where(QuarantinedRow.status == "open")
        )
        or 0
    )
    last_ids = sa.select(sa.func.max(ImportRun.id)).group_by(ImportRun.kind)
    last_imports = {
        run.kind: {
            "source": run.source,
            "finished_at": run.finished_at,
            "status": run.status,
            "rows_read": run.rows_read,
            "rows_stored": run.rows_stored,
            "rows_duplicate": run.rows_duplicate,
            "rows_quarantined": run.rows_quarantined,
        }
        for run in session.scalars(sa.select(ImportRun).where(ImportRun.id.in_(last_ids)))
    }
    return {
        "counts": counts,
        "areas": areas,
        "quarantined_open": quarantined_open,
        "last_imports": last_imports,
    }
