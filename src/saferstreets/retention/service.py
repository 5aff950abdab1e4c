"""Keeping reporters' words and points no longer than needed, and erasing a report everywhere.

Two services:

- :func:`apply_retention` (``saferstreets retention apply``, and the scheduled retention job):
  reports received more than ``Settings.report_retention_days`` ago lose their words (free text,
  other reason, the place she typed) and their exact point; survey responses answered more than
  ``Settings.survey_retention_days`` ago lose their free text, their raw row, their exact point,
  and their postcode is cut to its sector. What every count is made of stays: the reasons
  ticked, the dates and time bands, the areas and the H3 cell (about 0.1 km² at the default
  resolution), the themes found in the words, so public figures, ward and cell counts and theme
  counts are the same after as before. Survey exports uploaded in the browser over a day ago
  and never imported are removed from ``data_dir/uploads``. The audit log gets what was
  removed, as counts.
- :func:`erase_report` (deletion by receipt code): the report and everything derived from it.

Both take the caller's session. :func:`erase_report` never commits (the caller owns the
transaction); :func:`apply_retention` calls its ``settle`` hook between chunks of at most
``_CHUNK`` records, where the scheduled job commits and leaves SQLite's write lock free a moment
(``db.let_writers_in``), so that a report posted meanwhile is not kept waiting. Its audit event
is written with the first chunk and brought up to date with every one (``finished`` false until
the end), so a run cut short has audited what it committed; the next run finishes the rest.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.config import Settings
from saferstreets.ingest.uploads import stale_survey_uploads
from saferstreets.progress import Progress, silent
from saferstreets.reports import tally
from saferstreets.reports.models import Report, SafeguardingReview
from saferstreets.surveys.models import SurveyResponse, SurveyWave
from saferstreets.themes.inforce import has_words
from saferstreets.themes.models import ThemeAssignment, ThemeScored

__all__ = ["RetentionResult", "apply_retention", "erase_report", "postcode_sector"]

_CHUNK = 900  # ids per statement: within SQLite's limit on bound parameters


@dataclass
class RetentionResult:
    """What one run removed (or, with ``dry_run``, would remove): counts, never content."""

    dry_run: bool
    report_cutoff: datetime
    survey_cutoff: date
    reports: int = 0  # reports generalised
    report_free_texts: int = 0
    report_points: int = 0
    report_place_texts: int = 0
    reports_held: int = 0  # urgent and not yet reviewed: the safeguarding queue loses nothing
    survey_responses: int = 0
    survey_free_texts: int = 0
    survey_raw_rows: int = 0
    survey_points: int = 0
    survey_postcodes: int = 0
    text_markers: int = 0  # theme_scored rows (a hash of the words) removed
    survey_uploads: int = 0  # survey exports uploaded over a day ago and never imported
    report_ids: list[int] = field(default_factory=list, repr=False)

    def as_detail(self) -> dict[str, Any]:
        """The audit event's detail: the counts and cut-offs, no ids, no content."""
        detail = asdict(self)
        detail.pop("report_ids")
        detail["report_cutoff"] = self.report_cutoff.isoformat()
        detail["survey_cutoff"] = self.survey_cutoff.isoformat()
        return detail


def apply_retention(
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    progress: Progress | None = None,
    dry_run: bool = False,
    settle: Callable[[], None] | None = None,
) -> RetentionResult:
    """Generalise the reports and survey responses older than the retention periods.

    Idempotent: a record already generalised is not counted again. With ``dry_run`` nothing is
    changed and nothing audited; the result says what would be removed. ``settle`` is called
    after each chunk of changes (a caller may commit there).
    """

    notify = progress or silent
    now = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now  # naive UTC
    result = RetentionResult(
        dry_run=dry_run,
        report_cutoff=now - timedelta(days=settings.report_retention_days),
        survey_cutoff=(now - timedelta(days=settings.survey_retention_days)).date(),
    )
    notify("Finding reports past their retention period")
    between = _AuditedChunks(session=session, result=result, now=now, settle=settle)
    _reports(session=session, result=result, settle=between)
    notify("Finding survey responses past their retention period")
    _surveys(session=session, result=result, settle=between)
    stale = stale_survey_uploads(settings=settings, now=now)
    result.survey_uploads = len(stale)
    for folder in stale if not dry_run else []:
        shutil.rmtree(folder, ignore_errors=True)
    if not dry_run:
        result.text_markers = _forget_text_markers(session=session, result=result, settle=between)
        if result.reports or result.survey_responses or result.survey_uploads:
            between.record(finished=True)
        session.flush()
    notify("Retention applied" if not dry_run else "Retention: dry run, nothing changed")
    return result


class _AuditedChunks:
    """The step between chunks of retention's changes: the run's audit event is brought up to
    date in the chunk's own transaction, then the caller's ``settle`` (which may commit) runs.
    So whatever has been committed is audited, even if the run is cut short after it."""

    def __init__(
        self,
        *,
        session: Session,
        result: RetentionResult,
        now: datetime,
        settle: Callable[[], None] | None,
    ) -> None:
        self.session, self.result, self.now = session, result, now
        self.settle = settle or (lambda: None)
        self.generalised = 0
        self.event: Any = None

    def __call__(self, records: int) -> None:
        self.generalised += records
        self.record(finished=False)
        self.settle()

    def record(self, *, finished: bool) -> None:
        """Write or update the run's one audit event: the planned counts, how many records are
        generalised so far, and whether the run has finished."""
        from saferstreets.accounts.service import audit

        detail = {
            **self.result.as_detail(),
            "records_generalised": self.generalised,
            "finished": finished,
        }
        if self.event is None:
            self.event = audit(
                session=self.session, user=None, action="retention", object_kind="store",
                detail=detail, at=self.now,
            )  # fmt: skip
        else:
            self.event.detail = detail  # a new dict: the JSON column sees the change


def _reports(*, session: Session, result: RetentionResult, settle: Callable[[int], None]) -> None:
    r = Report
    old = sa.and_(
        r.received_hour < result.report_cutoff,
        sa.or_(
            r.free_text.is_not(None),
            r.other_reason.is_not(None),
            r.place_text.is_not(None),
            r.latitude.is_not(None),
            r.longitude.is_not(None),
        ),
    )
    reviewed = sa.select(SafeguardingReview.id).where(SafeguardingReview.report_id == r.id)
    waiting = sa.and_(r.urgent.is_(True), ~sa.exists(reviewed))
    rows = session.execute(
        sa.select(
            r.id,
            r.free_text.is_not(None),
            r.place_text.is_not(None),
            r.latitude.is_not(None),
            waiting,
        ).where(old)
    ).all()
    for rid, has_text, has_place, has_point, is_waiting in rows:
        if is_waiting:
            result.reports_held += 1
            continue
        result.report_ids.append(int(rid))
        result.report_free_texts += bool(has_text)
        result.report_place_texts += bool(has_place)
        result.report_points += bool(has_point)
    result.reports = len(result.report_ids)
    if result.dry_run:
        return
    cleared = {
        "free_text": None,
        "other_reason": None,
        "place_text": None,
        "latitude": None,
        "longitude": None,
    }
    for chunk in _chunks(result.report_ids):
        session.execute(
            sa.update(Report)
            .where(Report.id.in_(chunk))
            .values(text_removed=_text_removed(Report), **cleared)
        )
        settle(len(chunk))


def _text_removed(model: Any) -> Any:
    """The ``text_removed`` a record takes as its words are removed: marked if it has words, so
    its themes still count once they are gone (``themes.inforce.had_text``)."""
    return sa.case((has_words(model), sa.true()), else_=model.text_removed)


def _surveys(*, session: Session, result: RetentionResult, settle: Callable[[int], None]) -> None:
    s = SurveyResponse
    rows = session.execute(
        sa.select(
            s.id,
            s.free_text.is_not(None),
            s.raw.is_not(None),
            s.latitude.is_not(None),
            s.postcode,
            s.answered_on,
            SurveyWave.period_end,
            SurveyWave.imported_at,
        )
        .join(SurveyWave, SurveyWave.id == s.wave_id)
        .where(
            sa.or_(
                s.free_text.is_not(None),
                s.raw.is_not(None),
                s.latitude.is_not(None),
                s.longitude.is_not(None),
                s.postcode.is_not(None),
            ),
        )
    ).all()
    sectors: dict[str | None, list[int]] = {}
    for sid, has_text, has_raw, has_point, postcode, answered, period_end, imported in rows:
        # Its age: the day it was answered, else the wave's last day, else the day imported.
        if (answered or period_end or imported.date()) >= result.survey_cutoff:
            continue
        sector = postcode_sector(postcode)
        if not (has_text or has_raw or has_point or sector != postcode):
            continue  # already generalised: its postcode is a sector
        result.survey_responses += 1
        result.survey_free_texts += bool(has_text)
        result.survey_raw_rows += bool(has_raw)
        result.survey_points += bool(has_point)
        result.survey_postcodes += sector != postcode
        sectors.setdefault(sector, []).append(int(sid))
    if result.dry_run:
        return
    for sector, ids in sectors.items():
        for chunk in _chunks(ids):
            session.execute(
                sa.update(SurveyResponse)
                .where(SurveyResponse.id.in_(chunk))
                .values(
                    text_removed=_text_removed(SurveyResponse),
                    free_text=None,
                    raw=sa.null(),
                    latitude=None,
                    longitude=None,
                    postcode=sector,
                )
            )
            settle(len(chunk))


def postcode_sector(postcode: str | None) -> str | None:
    """A postcode as stored (``surveys.normalise.postcode``: ``AL1 3AB``, ``AL1 3`` or ``AL1``)
    cut to its sector (``AL1 3``); a sector or an outward code stays as it is.

    About 3,000 addresses share a sector, against about 15 a full postcode.
    """
    if not postcode:
        return postcode
    outward, _, inward = " ".join(postcode.upper().split()).partition(" ")
    return f"{outward} {inward[:1]}" if inward else outward


def _forget_text_markers(
    *, session: Session, result: RetentionResult, settle: Callable[[int], None]
) -> int:
    """Remove the hash of each generalised report's words (``theme_scored``), keeping its themes.

    ``themes.service.assign_all`` scores texts again only where a marker exists, so the themes
    found before the words went are kept as they are.
    """
    removed = 0
    for chunk in _chunks(result.report_ids):
        outcome = session.execute(
            sa.delete(ThemeScored).where(
                ThemeScored.owner_kind == "report", ThemeScored.owner_id.in_(chunk)
            )
        )
        removed += int(getattr(outcome, "rowcount", 0) or 0)
        settle(0)
    if result.survey_free_texts:
        emptied = sa.select(SurveyResponse.id).where(SurveyResponse.free_text.is_(None))
        outcome = session.execute(
            sa.delete(ThemeScored).where(
                ThemeScored.owner_kind == "survey_response", ThemeScored.owner_id.in_(emptied)
            )
        )
        removed += int(getattr(outcome, "rowcount", 0) or 0)
    return removed


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + _CHUNK] for start in range(0, len(ids), _CHUNK)]


# --- erasing one report everywhere ----------------------------------------------------------


def erase_report(*, session: Session, report: Report) -> dict[str, int]:
    """Delete the report and everything derived from it; return what went, as counts.

    Removed: its counts in the workspace's tally, its safeguarding reviews, its themes and the
    hash of its words, its links to local issues (an issue whose place was derived from its
    reports is placed again without hers), the report's id in its danger-now alert (the alert
    itself still goes), and its id in the private state behind the published figures (the
    published counts move with the next batch that moves its ward, as every removal does).
    Audited with the counts, never the report's words, point or receipt.
    """
    from saferstreets.accounts.service import audit
    from saferstreets.alerts.models import Alert
    from saferstreets.publishing.models import PublishedUnit

    rid, public_id = report.id, report.public_id

    def gone(statement: Any) -> int:
        return int(getattr(session.execute(statement), "rowcount", 0) or 0)

    counts = {
        "safeguarding_reviews": gone(
            sa.delete(SafeguardingReview).where(SafeguardingReview.report_id == rid)
        ),
        "themes": gone(
            sa.delete(ThemeAssignment).where(
                ThemeAssignment.owner_kind == "report", ThemeAssignment.owner_id == rid
            )
        ),
        "text_markers": gone(
            sa.delete(ThemeScored).where(
                ThemeScored.owner_kind == "report", ThemeScored.owner_id == rid
            )
        ),
        "issue_links": _unlink_issues(session=session, report_id=rid),
        # The danger-now alert still goes (docs/alerts.md: a deletion, perhaps by whoever holds
        # her phone, must not silence it; it holds nothing of hers) but no longer names her
        # report: its link points at an id that belongs to nothing.
        "alerts_unlinked": gone(
            sa.update(Alert)
            .where(Alert.report_public_id == public_id)
            .values(report_public_id=str(uuid.uuid4()))
        ),
        "published_units": 0,
    }
    for unit in session.scalars(sa.select(PublishedUnit)):
        if rid in (unit.report_ids or []):
            unit.report_ids = [i for i in unit.report_ids if i != rid]
            counts["published_units"] += 1
    tally.uncount(session, [rid])  # out of the workspace's counts, in the same transaction
    session.execute(sa.delete(Report).where(Report.id == rid))
    audit(
        session=session,
        user=None,
        action="delete",
        object_kind="report",
        detail={"by": "receipt code", **counts},
    )
    session.flush()
    return counts


def _unlink_issues(*, session: Session, report_id: int) -> int:
    """Unlink the report from its local issues, and place each issue again without it: a place
    derived from the reports is derived anew from those still linked (and cleared, with the
    issue's point, when they no longer hold three reports a cell); a drawn place stays."""
    from saferstreets.actions.models import IssueReport, LocalIssue
    from saferstreets.actions.place import derive_place

    issue_ids = list(
        session.scalars(sa.select(IssueReport.issue_id).where(IssueReport.report_id == report_id))
    )
    session.execute(sa.delete(IssueReport).where(IssueReport.report_id == report_id))
    for issue in session.scalars(sa.select(LocalIssue).where(LocalIssue.id.in_(issue_ids))):
        if issue.place_source in (None, "reports"):
            derive_place(session=session, issue=issue)
    return len(issue_ids)
