"""Imports from the browser as background jobs: police.uk files, boundaries and survey exports.

Each handler calls the import service the CLI calls (``crime.service.import_crime``,
``areas.service.import_boundaries``, ``surveys.service.import_survey``) on the files saved by
:mod:`saferstreets.ingest.uploads`, and returns the summary the page shows: per file the rows
read, stored and quarantined, and the first problems (row, field and reason; never a row's
words). A job run again (a retry, a dead worker) imports nothing twice: the services skip a file
whose exact bytes were imported before.

A survey export is removed from the server once its import has run, whether it was stored or
refused: the file holds what the import drops (the respondents' IP addresses, emails, names), and
nothing else keeps it. A refused export is uploaded again, with its corrected mapping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from saferstreets.config import Settings
from saferstreets.ingest.records import ImportSummary
from saferstreets.ingest.uploads import discard_upload, find_upload
from saferstreets.jobs.service import job_kind
from saferstreets.progress import Progress

RESULT_URL = "/staff/imports/{kind}/{upload}"
SHOWN_PROBLEMS = 20


def summary_rows(summaries: list[ImportSummary]) -> list[dict[str, Any]]:
    """What the page shows of each file's import (counts and the first problems)."""
    return [
        {
            "source": Path(s.source.split("!")[-1]).name,
            "kind": s.kind,
            "status": s.status,
            "message": s.message,
            "read": s.rows_read,
            "stored": s.rows_stored,
            "duplicate": s.rows_duplicate,
            "quarantined": s.rows_quarantined,
            "run_id": s.run_id,
            "notes": list(s.notes)[:5],
            "problems": [
                {"row": p.row_number, "field": p.field, "reason": p.reason[:200]}
                for p in s.problems[:SHOWN_PROBLEMS]
            ],
        }
        for s in summaries
    ]


def _result(kind: str, params: dict[str, Any], summaries: list[ImportSummary]) -> dict[str, Any]:
    return {"kind": kind, "upload": params["upload"], "files": summary_rows(summaries)}


@job_kind("import.crime", title="Importing police.uk files", result_url=RESULT_URL)
def import_crime_job(
    *, engine: Engine, settings: Settings, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    from saferstreets.crime.service import import_crime

    upload = find_upload(settings=settings, token=params["upload"], kind="crime")
    summaries = import_crime(
        engine=engine, paths=upload.files, progress=progress, settings=settings
    )
    return _result("crime", params, summaries)


@job_kind("import.boundaries", title="Importing boundaries", result_url=RESULT_URL)
def import_boundaries_job(
    *, engine: Engine, settings: Settings, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    from saferstreets.areas.service import import_boundaries

    upload = find_upload(settings=settings, token=params["upload"], kind="boundaries")
    summary = import_boundaries(
        engine=engine,
        path=upload.files,
        level=params["level"],
        progress=progress,
        replace=bool(params.get("replace")),
        settings=settings,
    )
    return _result("boundaries", params, [summary])


@job_kind("import.survey", title="Importing a survey export", result_url=RESULT_URL)
def import_survey_job(
    *, engine: Engine, settings: Settings, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    from saferstreets.surveys.service import import_survey

    upload = find_upload(settings=settings, token=params["upload"], kind="survey")
    try:
        summary = import_survey(
            engine=engine,
            path=upload.files[0],
            mapping=upload.folder / "_mapping.toml",
            wave_name=params.get("wave") or None,
            min_progress=params.get("min_progress"),
            progress=progress,
        )
    finally:
        discard_upload(upload)  # the export held who answered: kept no longer than the job
    return _result("survey", params, [summary])
