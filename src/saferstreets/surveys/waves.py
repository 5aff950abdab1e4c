"""A survey wave as a unit to manage: list the waves, show one, delete one (to undo an import)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.errors import AppError
from saferstreets.ingest.models import ImportRun, QuarantinedRow
from saferstreets.surveys.models import SurveyResponse, SurveyWave
from saferstreets.surveys.service import KIND
from saferstreets.themes.models import ThemeAssignment, ThemeScored


@dataclass(frozen=True)
class WaveInfo:
    id: int
    name: str
    period_start: date | None
    period_end: date | None
    source: str | None
    imported_at: datetime
    responses: int
    first_answer: date | None
    last_answer: date | None
    outside_period: int
    runs: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for k in ("period_start", "period_end", "imported_at", "first_answer", "last_answer"):
            out[k] = out[k].isoformat() if out[k] is not None else None
        out["runs"] = list(self.runs)
        return out


def _runs_of(session: Session, wave_id: int) -> list[ImportRun]:
    runs = session.scalars(sa.select(ImportRun).where(ImportRun.kind == KIND)).all()
    return [
        r
        for r in runs
        if (r.details or {}).get("wave_id") == wave_id and not (r.details or {}).get("wave_deleted")
    ]


def _info(session: Session, wave: SurveyWave) -> WaveInfo:
    r = SurveyResponse
    n, first, last = session.execute(
        sa.select(
            sa.func.count(r.id), sa.func.min(r.answered_on), sa.func.max(r.answered_on)
        ).where(r.wave_id == wave.id)
    ).one()
    bounds: list[sa.ColumnElement[bool]] = [sa.false()]
    if wave.period_start is not None:
        bounds.append(r.answered_on < wave.period_start)
    if wave.period_end is not None:
        bounds.append(r.answered_on > wave.period_end)
    outside = sa.or_(*bounds)
    n_out = session.scalar(sa.select(sa.func.count(r.id)).where(r.wave_id == wave.id, outside))
    return WaveInfo(
        wave.id,
        wave.name,
        wave.period_start,
        wave.period_end,
        wave.source,
        wave.imported_at,
        int(n or 0),
        first,
        last,
        int(n_out or 0),
        tuple(run.id for run in _runs_of(session, wave.id)),
    )


def list_waves(*, session: Session) -> list[WaveInfo]:
    """Every wave, oldest period first, with its responses counted."""
    waves = session.scalars(sa.select(SurveyWave).order_by(SurveyWave.id)).all()
    infos = [_info(session, w) for w in waves]
    return sorted(infos, key=lambda w: (w.period_start or date.min, w.id))


def find_wave(*, session: Session, wave: str) -> SurveyWave:
    """A wave by name or id; a clear error naming the waves there are when none matches."""
    found = session.scalar(sa.select(SurveyWave).where(SurveyWave.name == wave))
    if found is None and wave.isdigit():
        found = session.get(SurveyWave, int(wave))
    if found is None:
        names = session.scalars(sa.select(SurveyWave.name).order_by(SurveyWave.id)).all()
        raise AppError(
            f"No survey wave '{wave}'",
            hint=("waves: " + ", ".join(names)) if names else "no waves are imported yet",
        )
    return found


def show_wave(*, session: Session, wave: str) -> WaveInfo:
    return _info(session, find_wave(session=session, wave=wave))


def delete_wave(*, session: Session, wave: str) -> WaveInfo:
    """Delete a wave, its responses, their themes (the model's and the analysts') and its
    quarantined rows; its import runs say it was deleted (so the same file can be imported
    again). Themes go too, or a later response given a deleted one's id would inherit them."""
    found = find_wave(session=session, wave=wave)
    info = _info(session, found)
    runs = _runs_of(session, found.id)
    run_ids = [run.id for run in runs]
    if run_ids:
        session.execute(sa.delete(QuarantinedRow).where(QuarantinedRow.import_run_id.in_(run_ids)))
    ids = sa.select(SurveyResponse.id).where(SurveyResponse.wave_id == found.id).scalar_subquery()
    for model in (ThemeAssignment, ThemeScored):
        session.execute(
            sa.delete(model).where(model.owner_kind == "survey_response", model.owner_id.in_(ids))
        )
    session.execute(sa.delete(SurveyResponse).where(SurveyResponse.wave_id == found.id))
    for run in runs:
        run.details = {**(run.details or {}), "wave_deleted": True}
    session.delete(found)
    session.flush()
    return info
