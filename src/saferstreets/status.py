"""What the store holds, for ``saferstreets status`` and the staff overview."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.alerts.service import alert_trouble
from saferstreets.areas.lsoa_lookup import lsoa_vintages
from saferstreets.areas.models import Area
from saferstreets.crime.models import Crime, Outcome, StopSearch
from saferstreets.ingest.models import ImportRun, QuarantinedRow
from saferstreets.models_common import AREA_LEVELS
from saferstreets.reports.models import Report
from saferstreets.surveys.models import SurveyResponse, SurveyWave


def store_status(*, session: Session) -> dict[str, Any]:
    """Counts of each kind of record, areas by level, open quarantine, last imports, alerts."""

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
    by_level = dict(
        session.execute(sa.select(Area.kind, sa.func.count()).group_by(Area.kind)).all()
    )
    areas = {level: int(by_level.get(level, 0)) for level in AREA_LEVELS}
    quarantined_open = int(
        session.scalar(
            sa.select(sa.func.count())
            .select_from(QuarantinedRow)
            .where(QuarantinedRow.status == "open")
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
            **_dropped(run),
        }
        for run in session.scalars(sa.select(ImportRun).where(ImportRun.id.in_(last_ids)))
    }
    return {
        "counts": counts,
        "areas": areas,
        "lsoa_vintages": lsoa_vintages(session=session),
        "quarantined_open": quarantined_open,
        "last_imports": last_imports,
        "alerts": alert_trouble(session=session),
    }


def _dropped(run: ImportRun) -> dict[str, Any]:
    """The personal columns a survey import dropped (names and counts, never values)."""
    dropped = (run.details or {}).get("dropped_columns")
    return {"dropped_columns": dropped} if dropped is not None else {}


def counts_by_district(*, session: Session) -> list[dict[str, Any]]:
    """Crimes, reports and survey responses in each district (and those in none)."""
    names = dict(
        session.execute(sa.select(Area.code, Area.name).where(Area.kind == "district")).all()
    )
    rows: dict[str | None, dict[str, Any]] = {}
    for key, model in (
        ("crimes", Crime),
        ("reports", Report),
        ("survey_responses", SurveyResponse),
    ):
        for code, n in session.execute(
            sa.select(model.district_code, sa.func.count()).group_by(model.district_code)
        ):
            row = rows.setdefault(
                code,
                {
                    "code": code,
                    "name": names.get(code, code) if code else "No district",
                    "crimes": 0,
                    "reports": 0,
                    "survey_responses": 0,
                },
            )
            row[key] = int(n)
    for code, name in names.items():
        rows.setdefault(
            code, {"code": code, "name": name, "crimes": 0, "reports": 0, "survey_responses": 0}
        )
    return sorted(rows.values(), key=lambda r: (r["code"] is None, r["name"]))
