"""An analyst's theme corrections from the browser: texts to read with their themes in force,
one text's ticks saved as analyst labels, and when the model was last trained from them.

The labels are the same rows ``saferstreets themes label`` writes (:func:`saferstreets.themes.
service.label`, ``source='analyst'``), so the next ``themes train`` / ``assess`` learns from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.config import Settings
from saferstreets.errors import NotFound, ValidationFailed
from saferstreets.models_common import listed
from saferstreets.themes.models import ThemeAssignment
from saferstreets.themes.scrub import scrub
from saferstreets.themes.service import OWNER_MODELS, default_model_path, label
from saferstreets.themes.taxonomy import BY_CODE, THEME_CODES

PAGE_SIZE = 20


@dataclass(frozen=True)
class TextThemes:
    """One free text (scrubbed) and its themes in force, each with who decided it."""

    owner_kind: str
    owner_id: int
    text: str
    themes: dict[str, str]  # theme -> "model" or "analyst" (only themes in force)
    said_no: frozenset[str]  # themes an analyst removed


@dataclass(frozen=True)
class ModelStatus:
    trained_at: datetime | None  # when the store's theme model file was last written
    labels: int  # analyst labels now
    labels_since: int  # analyst labels saved after that


def _check_owner(owner_kind: str) -> Any:
    if owner_kind not in OWNER_MODELS:
        raise NotFound(f"There is no kind of text {owner_kind!r}")
    return OWNER_MODELS[owner_kind]


def _themes_of(session: Session, owners: list[tuple[str, int]]) -> dict[tuple[str, int], Any]:
    rows: dict[tuple[str, int], dict[str, tuple[str, bool]]] = {}
    t = ThemeAssignment
    kinds = {k for k, _ in owners}
    for kind in kinds:
        ids = [i for k, i in owners if k == kind]
        for oid, theme, source, present in session.execute(
            sa.select(t.owner_id, t.theme, t.source, t.present).where(
                t.owner_kind == kind, t.owner_id.in_(ids)
            )
        ):
            mine = rows.setdefault((kind, int(oid)), {})
            if theme not in mine or source == "analyst":
                mine[theme] = (source, bool(present))
    return rows


def _text_themes(kind: str, oid: int, text: str, found: dict[str, tuple[str, bool]]) -> TextThemes:
    themes = {th: src for th, (src, yes) in found.items() if yes}
    said_no = frozenset(th for th, (src, yes) in found.items() if src == "analyst" and not yes)
    return TextThemes(kind, oid, scrub(text), themes, said_no)


def texts_to_read(
    *, session: Session, owner_kind: str = "report", theme: str = "", page: int = 1
) -> tuple[list[TextThemes], int]:
    """A page of free texts (newest first), optionally those with ``theme`` in force; the total."""
    model = _check_owner(owner_kind)
    if theme and theme not in BY_CODE:
        raise ValidationFailed("Not a theme", field_errors={"theme": "one of the taxonomy's"})
    where = [model.free_text.is_not(None), model.free_text != ""]
    if theme:
        where.append(listed(model.themes, theme))
    total = int(session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0)
    rows = session.execute(
        sa.select(model.id, model.free_text)
        .where(*where)
        .order_by(model.id.desc())
        .limit(PAGE_SIZE)
        .offset(PAGE_SIZE * (max(page, 1) - 1))
    ).all()
    found = _themes_of(session, [(owner_kind, int(i)) for i, _ in rows])
    texts = [
        _text_themes(owner_kind, int(i), str(t), found.get((owner_kind, int(i)), {}))
        for i, t in rows
    ]
    return texts, total


def text_themes(*, session: Session, owner_kind: str, owner_id: int) -> TextThemes:
    """One text and its themes in force (404 if there is no such text with words)."""
    model = _check_owner(owner_kind)
    text = session.scalar(sa.select(model.free_text).where(model.id == owner_id))
    if not (text or "").strip():
        raise NotFound(f"There is no {owner_kind.replace('_', ' ')} {owner_id} with free text")
    found = _themes_of(session, [(owner_kind, owner_id)]).get((owner_kind, owner_id), {})
    return _text_themes(owner_kind, owner_id, str(text), found)


def save_corrections(
    *, session: Session, owner_kind: str, owner_id: int, ticked: set[str]
) -> dict[str, list[str]]:
    """Make the text's themes in force exactly ``ticked``: each theme that changes gets an
    analyst label (yes or no); return what was added and removed (for the audit trail)."""
    unknown = sorted(ticked - set(THEME_CODES))
    if unknown:
        raise ValidationFailed(
            f"Not themes: {', '.join(unknown)[:200]}", field_errors={"themes": "unknown theme"}
        )
    now = text_themes(session=session, owner_kind=owner_kind, owner_id=owner_id)
    added = sorted(ticked - set(now.themes))
    removed = sorted(set(now.themes) - ticked)
    t = ThemeAssignment
    for theme, present in [(th, True) for th in added] + [(th, False) for th in removed]:
        # an analyst's earlier label is replaced by a new row (not changed in place), so the
        # assessment page's cache key (newest id and row count) sees the change
        session.execute(
            sa.delete(t).where(
                t.owner_kind == owner_kind,
                t.owner_id == owner_id,
                t.theme == theme,
                t.source == "analyst",
            )
        )
        label(
            session=session, owner_kind=owner_kind, owner_id=owner_id, theme=theme, present=present
        )
    return {"added": added, "removed": removed}


def model_status(*, session: Session, settings: Settings) -> ModelStatus:
    """When the theme model was last trained (its file's time) and the labels since."""
    path = default_model_path(settings)
    trained = (
        datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).replace(tzinfo=None)
        if path.exists()
        else None
    )
    t = ThemeAssignment
    labels = int(session.scalar(sa.select(sa.func.count()).where(t.source == "analyst")) or 0)
    since = labels
    if trained is not None:
        later = sa.select(sa.func.count()).where(t.source == "analyst", t.created_at > trained)
        since = int(session.scalar(later) or 0)
    return ModelStatus(trained, labels, since)
