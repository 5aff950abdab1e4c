"""Public reports: save first, process later.

Intake reads as named steps (FixMyStreet's pattern): validate → locate → triage → save. The
report is stored before anything else happens to it; theme detection, linking to local issues
and publishing come later, from the store. The reporter gets a receipt code, shown once; only
its SHA-256 is kept, and nothing else links the report to her.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached

from saferstreets.alerts.service import enqueue_for_report
from saferstreets.config import Settings, get_settings
from saferstreets.errors import NotFound, ValidationFailed
from saferstreets.models_common import LEVEL_COLUMNS, core_table, utcnow
from saferstreets.progress import Progress, silent
from saferstreets.reports.models import Report
from saferstreets.reports.redact import redact_contact_details
from saferstreets.reports.schemas import HOUR_BANDS, ReportSubmission
from saferstreets.reports.triage import triage

# Crockford's base 32: no I, L, O or U, so a code read aloud or copied by hand survives.
RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECEIPT_GROUPS = 4
RECEIPT_GROUP_LEN = 4
RECEIPT_BITS = RECEIPT_GROUPS * RECEIPT_GROUP_LEN * 5  # 80
_RECEIPT_LEN = RECEIPT_GROUPS * RECEIPT_GROUP_LEN
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})
OLDEST_DAYS = 5 * 366  # reports of places more than about five years ago are refused

PUBLIC_STATUS = {
    "new": "Received. It is waiting to be read by the team.",
    "triaged": "Read by the team. It will be looked at with other reports from the same area.",
    "linked": "Part of a local issue that officers and partners are working on.",
    "closed": "Closed: the local issue it was part of has been dealt with.",
}


# --- receipt codes ---------------------------------------------------------------------------


def new_receipt_code() -> str:
    """A fresh receipt code: 4 groups of 4 characters, 80 random bits, e.g. ``7K2M-QX9D-…``."""
    chars = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(_RECEIPT_LEN))
    return "-".join(
        chars[i : i + RECEIPT_GROUP_LEN] for i in range(0, _RECEIPT_LEN, RECEIPT_GROUP_LEN)
    )


def normalise_receipt(text: str) -> str | None:
    """The 16 characters of a code as typed (any case, spaces or dashes), or None if not one."""
    cleaned = re.sub(r"[\s\-–—_.]", "", (text or "")[:64]).upper().translate(_READ_AS)
    if len(cleaned) != _RECEIPT_LEN or any(c not in RECEIPT_ALPHABET for c in cleaned):
        return None
    return cleaned


def receipt_hash(code: str) -> str:
    """The SHA-256 (hex) of a code's normalised characters: all that the store keeps."""
    normal = normalise_receipt(code)
    if normal is None:
        raise ValueError("not a receipt code")
    return hashlib.sha256(normal.encode("ascii")).hexdigest()


# --- intake ----------------------------------------------------------------------------------


@dataclass
class ReportPlace:
    """Where a report is: its point (if any) and the code of each area level it falls in."""

    latitude: float | None
    longitude: float | None
    codes: dict[str, str | None]
    h3_cell: str | None


def hour_of(moment: datetime | None) -> datetime:
    """``moment`` (or now) in UTC, without time zone, truncated to the hour."""
    if moment is None:
        moment = datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(minute=0, second=0, microsecond=0)


def _check_when(
    submission: ReportSubmission, received: datetime, occurred_hour: int | None
) -> None:
    errors: dict[str, str] = {}
    if submission.occurred_on is not None:
        today = received.date()
        if submission.occurred_on > today + timedelta(days=1):
            errors["occurred_on"] = "The date is in the future; choose the day it happened"
        elif submission.occurred_on < today - timedelta(days=OLDEST_DAYS):
            errors["occurred_on"] = "Choose a date in the last five years"
    elif not submission.happens_regularly:
        errors["occurred_on"] = "Give the date it happened, or tick 'It happens regularly'"
    if occurred_hour is not None and not 0 <= occurred_hour <= 23:
        errors["occurred_hour"] = "must be an hour from 0 to 23"
    if errors:
        raise ValidationFailed(
            "Some answers need another look before the report can be sent.", field_errors=errors
        )


#: Seconds a report uses the area index without asking the store whether its areas changed
#: (``areas.lookup.cached_area_index``): one round trip fewer a report.
AREAS_FRESH_S = 1.0


def _area_index(session: Session) -> Any:
    from saferstreets.areas.lookup import cached_area_index

    return cached_area_index(session=session, fresh_within=AREAS_FRESH_S)


def locate_submission(
    *,
    session: Session,
    submission: ReportSubmission,
    resolution: int,
    area_index: Any = None,
    force_name: str = "",
) -> ReportPlace:
    """Find the areas a submission falls in (and its H3 cell at ``resolution``); refuse a place
    outside the force area."""
    from saferstreets.areas.models import Area

    codes: dict[str, str | None] = dict.fromkeys(LEVEL_COLUMNS)
    outside = ValidationFailed(
        "This place is outside the area we cover.",
        field_errors={
            "location": (
                f"That place is outside the area {force_name or 'this police force'} covers. "
                "Please tell the police force for that area, or check the place you chose"
            )
        },
    )
    if submission.latitude is not None and submission.longitude is not None:
        index = area_index if area_index is not None else _area_index(session)
        found = index.locate_point(submission.latitude, submission.longitude)
        top = next((lv for lv in ("force", "district", "ward") if lv in index.levels), None)
        if top is not None and found.get(top) is None:
            raise outside
        for level in LEVEL_COLUMNS:
            codes[level] = found.get(level)
        import h3

        cell = h3.latlng_to_cell(submission.latitude, submission.longitude, resolution)
        return ReportPlace(submission.latitude, submission.longitude, codes, cell)
    area = session.scalar(
        sa.select(Area)
        .where(Area.code == submission.area_code)
        .order_by((Area.kind == "force").asc(), Area.id)  # a force shares no code, normally
        .limit(1)
    )
    if area is None:
        raise ValidationFailed(
            "The place chosen is not one we know.",
            field_errors={"location": "Search for the place again and choose it from the list"},
        )
    # The chosen area and its ancestors fill the area columns.
    seen: set[str] = set()
    node: Any = area
    while node is not None and node.code not in seen:
        seen.add(node.code)
        if node.kind in LEVEL_COLUMNS and codes[node.kind] is None:
            codes[node.kind] = node.code
        if not node.parent_code:
            break
        node = session.scalar(
            sa.select(Area).where(Area.code == node.parent_code).order_by(Area.id).limit(1)
        )
    return ReportPlace(None, None, codes, None)


def create_report(
    *,
    session: Session,
    submission: ReportSubmission,
    source: str = "web",
    received_at: datetime | None = None,
    occurred_hour: int | None = None,
    area_index: Any = None,
    force_name: str = "",
    settings: Settings | None = None,
) -> tuple[Report, str]:
    """Validate, locate, triage and save one report; return it and its receipt code (shown once).

    ``received_at`` is kept only to the hour. ``area_index`` (an ``areas.lookup.AreaIndex``)
    saves rebuilding the index when many reports are created in a row. The report's H3 cell is
    at ``settings.h3_resolution`` (the process's settings when none are given).
    """
    received = hour_of(received_at)
    _check_when(submission, received, occurred_hour)
    where = locate_submission(
        session=session,
        submission=submission,
        resolution=(settings or get_settings()).h3_resolution,
        area_index=area_index,
        force_name=force_name,
    )
    flag = triage(
        free_text=submission.free_text,
        other_reason=submission.other_reason,
        reasons=submission.reasons,
        age_band=submission.age_band,
    )
    code = new_receipt_code()
    time_band: str | None = submission.time_band
    if time_band is None and occurred_hour is not None:
        time_band = HOUR_BANDS[occurred_hour]
    report = _save(
        session,
        public_id=str(uuid.uuid4()),
        receipt_hash=receipt_hash(code),
        source=source[:16],
        received_hour=received,
        occurred_on=submission.occurred_on,
        time_band=time_band,
        occurred_hour=occurred_hour,
        happens_regularly=submission.happens_regularly,
        place_text=submission.place_text,
        reasons=list(submission.reasons),
        other_reason=submission.other_reason,
        free_text=submission.free_text,
        text_removed=False,
        themes=[],
        age_band=submission.age_band,
        for_self=submission.for_self,
        status="new",
        urgent=flag.urgent,
        urgent_reason=flag.reason,
        urgency=flag.urgency,
        latitude=where.latitude,
        longitude=where.longitude,
        h3_cell=where.h3_cell,
        tallied=False,  # not tallied: the workspace counts it live until reports.tally.fold
        **{column: where.codes.get(level) for level, column in LEVEL_COLUMNS.items()},
    )
    # danger now: outbox and its delivery job, in the same transaction
    enqueue_for_report(session=session, report=report, settings=settings)
    return report, code


#: A report's INSERT, built once with its values passed as parameters.
_INSERT_REPORT = sa.insert(core_table(Report)).returning(core_table(Report).c.id)


def _save(session: Session, **row: Any) -> Report:
    """Insert one report (Core: one statement, nothing for the ORM's unit of work to sort out)
    and return it as the session's persistent object, as a flush would have left it; ``had_text``
    (a generated column) is read when first asked for. Through ``session.add`` and a flush a
    report cost 5% more instructions (``python -m bench intake_cost``: 11.31 against 10.72
    million, 2026-12-05)."""
    report = Report(id=session.execute(_INSERT_REPORT, row).scalar_one(), **row)
    make_transient_to_detached(report)
    # A report of a rolled-back try stays in the session under its id (a rollback forgets only
    # what the session itself inserted), and SQLite gives a rolled-back id again: forget it.
    key = sa.inspect(report).key  # set by make_transient_to_detached
    if key is not None and (stale := session.identity_map.get(key)) is not None:
        session.expunge(stale)
    session.add(report)
    return report


# --- the reporter's own view -----------------------------------------------------------------


def report_for_receipt(*, session: Session, code: str) -> Report:
    """The report this receipt code belongs to, or a NotFound saying what to check."""
    normal = normalise_receipt(code)
    report = None
    if normal is not None:
        report = session.scalar(
            sa.select(Report).where(Report.receipt_hash == receipt_hash(normal))
        )
    if report is None:
        raise NotFound(
            "No report has that receipt code. Check it against what you wrote down: it has "
            "16 letters and numbers in four groups. A deleted report cannot be found.",
            field_errors={"code": "No report has this code"},
        )
    return report


def public_view(*, session: Session, report: Report) -> dict[str, Any]:
    """What the reporter sees of her report: her answers (contact details removed) and status."""
    from saferstreets.reports.schemas import AGE_BANDS, TIME_BANDS
    from saferstreets.themes.taxonomy import label

    return {
        "received": report.received_hour.date(),
        "status": report.status,
        "status_text": PUBLIC_STATUS.get(report.status, report.status),
        "place": _place_name(session=session, report=report),
        "occurred_on": report.occurred_on,
        "time_band": dict(TIME_BANDS).get(report.time_band or "", None),
        "happens_regularly": report.happens_regularly,
        "reasons": [label(code) for code in report.reasons or []],
        "other_reason": redact_contact_details(report.other_reason or "") or None,
        "free_text": redact_contact_details(report.free_text or "") or None,
        "age_band": dict(AGE_BANDS).get(report.age_band or "", None),
        "urgent": report.urgent,
        "updates": area_updates(session=session, report=report),
    }


def _place_name(*, session: Session, report: Report) -> str | None:
    from saferstreets.areas.models import Area

    for code in (report.town_centre_code, report.ward_code, report.district_code):
        if code:
            name = session.scalar(sa.select(Area.name).where(Area.code == code).limit(1))
            if name:
                return str(name)
    return redact_contact_details(report.place_text) if report.place_text else None


def area_updates(*, session: Session, report: Report, limit: int = 5) -> list[dict[str, Any]]:
    """The latest public updates ("you said, we did") for the areas the report is in."""
    from saferstreets.actions.updates import published_updates

    codes = [c for c in (report.town_centre_code, report.ward_code, report.district_code) if c]
    if not codes:
        return []
    rows = published_updates(session=session, area_codes=codes, limit=limit)
    return [
        {"title": u.title, "body": redact_contact_details(u.body), "published_on": u.published_on}
        for u in rows
    ]


def delete_report(*, session: Session, code: str) -> None:
    """Delete the report with this receipt code, and everything derived from it (see
    :func:`saferstreets.retention.service.erase_report`)."""
    from saferstreets.retention.service import erase_report

    report = report_for_receipt(session=session, code=code)
    erase_report(session=session, report=report)
    session.expunge(report)


# --- staff ----------------------------------------------------------------------------------


def area_names(*, session: Session, codes: set[str]) -> dict[str, str]:
    """The names of the areas with these codes."""
    from saferstreets.areas.models import Area

    if not codes:
        return {}
    rows = session.execute(sa.select(Area.code, Area.name).where(Area.code.in_(sorted(codes))))
    return {code: name for code, name in rows}


def received_today() -> date:
    """Today's date in UTC (the form's default date)."""
    return utcnow().date()


# --- reports from files (other channels, the demo) -------------------------------------------


class _Prelocated:
    """Stands in for an ``AreaIndex``, answering from one vectorised lookup made up front."""

    def __init__(self, index: Any, lats: list[Any], lons: list[Any]) -> None:
        self.levels = index.levels
        found = index.locate_arrays(lats, lons) if lats else {}
        self._answers = {
            (lat, lon): {level: found[level][i] for level in found}
            for i, (lat, lon) in enumerate(zip(lats, lons, strict=True))
        }

    def locate_point(self, lat: float, lon: float) -> dict[str, Any]:
        row = self._answers[(lat, lon)]
        return {level: row.get(level) for level in self.levels}


def import_reports(
    *,
    engine: Any,
    path: Any,
    source: str = "import",
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> Any:
    """Import reports from a JSON Lines file: one submission per line, plus optional
    ``received_at`` (ISO date-time) and ``occurred_hour`` (0-23). Bad lines are quarantined
    with the line number and field; the good ones are stored in one transaction.
    """
    settings = settings or get_settings()
    import json
    from pathlib import Path

    from pydantic import ValidationError

    from saferstreets.areas.lookup import AreaIndex
    from saferstreets.db import session_scope
    from saferstreets.errors import AppError, InputFileError
    from saferstreets.ingest.service import (
        MAX_PROBLEMS_SHOWN,
        ImportSummary,
        Problem,
        decode_text,
        finish_run,
        quarantine,
        sha256_bytes,
        start_run,
    )
    from saferstreets.reports.schemas import field_errors

    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "does not exist or is not a file", hint="check the path")
    data = path.read_bytes()
    text = decode_text(data, str(path))
    lines = text.splitlines()
    summary = ImportSummary(kind="reports", source=str(path))
    problems: list[Problem] = []
    notify = progress or silent
    with session_scope(engine) as session:
        run = start_run(
            session=session, kind="reports", source=str(path), sha256=sha256_bytes(data)
        )
        index = AreaIndex.from_session(session)
        pending: list[
            tuple[int, dict[str, Any], ReportSubmission, datetime | None, int | None]
        ] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            summary.rows_read += 1
            try:
                raw = json.loads(line)
                if not isinstance(raw, dict):
                    raise ValueError("each line must be a JSON object")
            except ValueError as exc:
                problems.append(
                    Problem(
                        str(path), number, None, f"not a JSON object: {exc}", {"line": line[:500]}
                    )
                )
                continue
            fields = dict(raw)
            received_text = fields.pop("received_at", None)
            occurred_hour = fields.pop("occurred_hour", None)
            try:
                received_at = datetime.fromisoformat(received_text) if received_text else None
            except (TypeError, ValueError):
                problems.append(
                    Problem(
                        str(path),
                        number,
                        "received_at",
                        "is not an ISO date-time such as 2021-06-05T22:00:00",
                        raw,
                    )
                )
                continue
            if occurred_hour is not None and (
                not isinstance(occurred_hour, int) or isinstance(occurred_hour, bool)
            ):
                problems.append(
                    Problem(
                        str(path), number, "occurred_hour", "must be a whole hour from 0 to 23", raw
                    )
                )
                continue
            try:
                submission = ReportSubmission.model_validate(fields)
            except ValidationError as exc:
                for name, message in field_errors(exc).items():
                    problems.append(Problem(str(path), number, name, message, raw))
                    break
                continue
            pending.append((number, raw, submission, received_at, occurred_hour))
        # One vectorised point-in-area lookup for the whole file, then save line by line.
        pinned = [p[2] for p in pending if p[2].latitude is not None]
        answers = _Prelocated(index, [s.latitude for s in pinned], [s.longitude for s in pinned])
        for done, (number, raw, submission, received_at, occurred_hour) in enumerate(pending, 1):
            try:
                # create_report refuses a report before it writes anything: no savepoint needed.
                create_report(
                    session=session,
                    submission=submission,
                    source=source,
                    received_at=received_at,
                    occurred_hour=occurred_hour,
                    area_index=answers,
                    settings=settings,
                )
            except AppError as exc:
                field: str | None = next(iter(exc.field_errors), None)
                message = exc.field_errors[field] if field else exc.message
                problems.append(Problem(str(path), number, field, message, raw))
                continue
            summary.rows_stored += 1
            if done % 250 == 0:
                notify("Importing reports", done, len(pending))
        summary.rows_quarantined = quarantine(
            session=session, run=run, kind="reports", problems=problems
        )
        summary.problems = problems[:MAX_PROBLEMS_SHOWN]
        finish_run(session=session, run=run, summary=summary)
        notify("Importing reports", len(pending), len(pending))
    return summary
