"""Themes in the store: assign them to every free text, take analysts' corrections, show quotes.

Ticked reasons on a report are data and stay on the report; themes found in free text are model
output and live in ``theme_assignment`` with ``source='model'``. An analyst's assignment
(``source='analyst'``, ``present`` true or false) is kept through every re-run and overrides
the model's for that text and theme.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from saferstreets.config import Settings, get_settings
from saferstreets.db import session_scope
from saferstreets.errors import NotFound, ValidationFailed
from saferstreets.models_common import utcnow
from saferstreets.progress import Progress
from saferstreets.themes.classifier import TextClassifier, evaluate_predictions
from saferstreets.themes.inforce import OWNER_MODELS, refresh_themes
from saferstreets.themes.models import ThemeAssignment, ThemeScored
from saferstreets.themes.scrub import scrub
from saferstreets.themes.taxonomy import BY_CODE, THEME_CODES
from saferstreets.themes.zeroshot import ZeroShotThemer

OWNER_KINDS = tuple(OWNER_MODELS)
WEAK_LABEL_WEIGHT = 0.3  # zero-shot labels that fill the gaps between an analyst's labels
BATCH = 500
QUOTE_MAX_CHARS = 280
QUOTE_MIN_CHARS = 15


@dataclass(frozen=True)
class OwnedText:
    owner_kind: str
    owner_id: int
    text: str


def model_dir(settings: Settings | None = None) -> Path:
    """Where trained models live by default: ``data_dir/models``."""
    return (settings or get_settings()).data_dir / "models"


def default_model_path(settings: Settings | None = None) -> Path:
    """The store's own theme model, trained from analysts' labels."""
    return model_dir(settings) / "themes.npz"


def free_texts(*, session: Session) -> list[OwnedText]:
    """Every non-empty free text of reports and survey responses, in a stable order."""
    out: list[OwnedText] = []
    for kind, model in OWNER_MODELS.items():
        rows = session.execute(
            sa.select(model.id, model.free_text)
            .where(model.free_text.is_not(None), sa.func.length(sa.func.trim(model.free_text)) > 0)
            .order_by(model.id)
        )
        out.extend(OwnedText(kind, int(i), str(t)) for i, t in rows)
    return out


# --------------------------------------------------------------------------- analyst labels


def _check_theme(theme: str) -> None:
    if theme not in BY_CODE:
        raise ValidationFailed(
            f"{theme!r} is not a theme",
            field_errors={"theme": f"one of: {', '.join(THEME_CODES)}"},
        )


def label(
    *, session: Session, owner_kind: str, owner_id: int, theme: str, present: bool = True
) -> ThemeAssignment:
    """Record an analyst's judgement that a text does (or does not) speak of a theme."""
    if owner_kind not in OWNER_MODELS:
        raise ValidationFailed(
            f"{owner_kind!r} is not a kind of text",
            field_errors={"owner_kind": f"one of: {', '.join(OWNER_KINDS)}"},
        )
    _check_theme(theme)
    owner = session.get(OWNER_MODELS[owner_kind], owner_id)
    if owner is None:
        raise NotFound(
            f"There is no {owner_kind.replace('_', ' ')} {owner_id}",
            hint="saferstreets status shows what the store holds",
        )
    if not (owner.free_text or "").strip():
        raise ValidationFailed(
            f"{owner_kind.replace('_', ' ')} {owner_id} has no free text to label"
        )
    row = session.scalar(
        sa.select(ThemeAssignment).where(
            ThemeAssignment.owner_kind == owner_kind,
            ThemeAssignment.owner_id == owner_id,
            ThemeAssignment.theme == theme,
            ThemeAssignment.source == "analyst",
        )
    )
    if row is None:
        row = ThemeAssignment(
            owner_kind=owner_kind, owner_id=owner_id, theme=theme, source="analyst"
        )
        session.add(row)
    row.present = present
    row.confidence = 1.0
    row.model_version = None
    row.created_at = utcnow()
    session.flush()
    refresh_themes(session=session, owner_kind=owner_kind, ids=[owner_id])
    return row


def analyst_label_count(*, session: Session) -> int:
    return int(
        session.scalar(
            sa.select(sa.func.count())
            .select_from(ThemeAssignment)
            .where(ThemeAssignment.source == "analyst")
        )
        or 0
    )


def _analyst_matrix(*, session: Session) -> tuple[list[OwnedText], np.ndarray, np.ndarray]:
    """Texts with any analyst label; labels (-1 where the analyst said nothing) per theme."""
    rows = session.execute(
        sa.select(
            ThemeAssignment.owner_kind,
            ThemeAssignment.owner_id,
            ThemeAssignment.theme,
            ThemeAssignment.present,
        ).where(ThemeAssignment.source == "analyst")
    ).all()
    by_owner: dict[tuple[str, int], dict[str, bool]] = {}
    for kind, oid, theme, present in rows:
        if theme in BY_CODE:
            by_owner.setdefault((kind, int(oid)), {})[theme] = bool(present)
    texts = {(t.owner_kind, t.owner_id): t for t in free_texts(session=session)}
    owned = [texts[key] for key in sorted(by_owner) if key in texts]
    known = np.full((len(owned), len(THEME_CODES)), -1, dtype=np.int8)
    for i, t in enumerate(owned):
        for theme, present in by_owner[(t.owner_kind, t.owner_id)].items():
            known[i, THEME_CODES.index(theme)] = int(present)
    return owned, known, np.array([t.text for t in owned], dtype=object)


def train_from_store(*, session: Session, settings: Settings | None = None) -> TextClassifier:
    """Train a theme model on analysts' labels, the gaps filled with zero-shot labels.

    Where an analyst said whether a theme applies, that label counts in full; for the other
    themes of the same text the zero-shot model's decision counts with weight 0.3. Thresholds
    maximise F1 in cross-validation (themes are rare, so accuracy would favour silence).
    """
    settings = settings or get_settings()
    n_labels = analyst_label_count(session=session)
    if n_labels < settings.themes_min_labels:
        raise ValidationFailed(
            f"There are {n_labels} analyst labels; training needs at least "
            f"{settings.themes_min_labels}",
            hint="label more texts with: saferstreets themes label OWNER_KIND OWNER_ID THEME "
            "[--absent], or lower SAFERSTREETS_THEMES_MIN_LABELS",
        )
    owned, known, texts = _analyst_matrix(session=session)
    weak = ZeroShotThemer().predict(list(texts))
    Y = np.where(known >= 0, known, weak)
    W = np.where(known >= 0, 1.0, WEAK_LABEL_WEIGHT)
    model = TextClassifier(cv=min(5, len(owned)), threshold_metric="f1")
    return model.fit(list(texts), Y, labels=list(THEME_CODES), sample_weight=W)


# --------------------------------------------------------------------------- assignment


class _Assigner:
    """A zero-shot or trained theme model behind one interface: (confidence, present) per theme."""

    def __init__(self, model: TextClassifier | None) -> None:
        self.model = model
        self.zero_shot = ZeroShotThemer() if model is None else None
        self.version = model.version_ if model is not None else self.zero_shot.version  # type: ignore[union-attr]
        self.themes: list[str] = list(model.labels_) if model is not None else list(THEME_CODES)

    def __call__(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        if self.model is not None:
            return self.model.predict_proba(texts), self.model.predict(texts).astype(bool)
        assert self.zero_shot is not None
        conf = self.zero_shot.score(texts)
        return conf, conf >= self.zero_shot.threshold


def load_theme_model(path: Path) -> TextClassifier:
    """A saved model whose labels are theme codes (a model of other labels is refused)."""
    model = TextClassifier.load(path)
    unknown = [lab for lab in model.labels_ if lab not in BY_CODE]
    if unknown or model.kind_ != "multilabel":
        raise ValidationFailed(
            f"{path} is not a theme model: its labels ({', '.join(model.labels_[:5])}) are not "
            "theme codes",
            hint="train one from analysts' labels with: saferstreets themes train",
        )
    return model


def choose_model(
    *, session: Session, model_path: Path | None, settings: Settings
) -> TextClassifier | None:
    """The model in use: the one named, else one trained from enough analyst labels, else None."""
    if model_path is not None:
        return load_theme_model(model_path)
    if analyst_label_count(session=session) >= settings.themes_min_labels:
        model = train_from_store(session=session, settings=settings)
        model.save(default_model_path(settings))
        return model
    return None


@dataclass(frozen=True)
class ThemeRun:
    """What ``assign_all`` did: texts held, texts scored now, model assignments written now."""

    texts: int
    scored: int
    assignments: int


def assign_all(
    *,
    engine: Engine,
    model_path: Path | None = None,
    progress: Progress | None = None,
    settings: Settings | None = None,
    everything: bool = False,
) -> ThemeRun:
    """Assign themes to the free texts that need it; say how many were scored and assigned.

    A text is scored when it is new, when its words changed, or when the model in use is not the
    one that scored it (``theme_scored`` remembers which model scored which version of each
    text); ``everything`` scores every text again. A text's previous model assignments are
    replaced, so running twice gives the same rows; analysts' assignments are left alone. With no
    ``model_path`` a model is trained from analysts' labels when there are at least
    ``settings.themes_min_labels``, else the zero-shot model is used.
    """
    settings = settings or get_settings()
    with session_scope(engine) as session:
        texts = free_texts(session=session)
        model = choose_model(session=session, model_path=model_path, settings=settings)
        scored = {
            (kind, owner_id): (version, sha)
            for kind, owner_id, version, sha in session.execute(
                sa.select(
                    ThemeScored.owner_kind,
                    ThemeScored.owner_id,
                    ThemeScored.model_version,
                    ThemeScored.text_sha,
                )
            )
        }
    assigner = _Assigner(model)
    current = {(t.owner_kind, t.owner_id): _text_sha(t.text) for t in texts}
    todo = [
        t
        for t in texts
        if everything
        or scored.get((t.owner_kind, t.owner_id))
        != (assigner.version, current[t.owner_kind, t.owner_id])
    ]
    gone = [owner for owner in scored if owner not in current]  # texts emptied or deleted
    rows: list[dict[str, Any]] = []
    now = utcnow()
    total = len(todo)
    if progress:
        progress("assigning themes to free text", 0, total)
    for start in range(0, total, BATCH):
        batch = todo[start : start + BATCH]
        conf, present = assigner([t.text for t in batch])
        for i, owned in enumerate(batch):
            for j in np.flatnonzero(present[i]):
                rows.append(
                    {
                        "owner_kind": owned.owner_kind,
                        "owner_id": owned.owner_id,
                        "theme": assigner.themes[j],
                        "confidence": round(float(conf[i, j]), 4),
                        "source": "model",
                        "model_version": assigner.version,
                        "present": True,
                        "created_at": now,
                    }
                )
        if progress:
            progress("assigning themes to free text", min(start + BATCH, total), total)
    with session_scope(engine) as session:
        if len(todo) == len(texts):  # every text scored again: clear in two statements
            # Only the assignments of scored texts: a text whose words retention removed has
            # no marker and keeps the themes found in it (saferstreets.retention).
            marked = sa.select(ThemeScored.owner_id).where(
                ThemeScored.owner_kind == ThemeAssignment.owner_kind,
                ThemeScored.owner_id == ThemeAssignment.owner_id,
            )
            session.execute(
                sa.delete(ThemeAssignment).where(
                    ThemeAssignment.source == "model", sa.exists(marked)
                )
            )
            session.execute(sa.delete(ThemeScored))
        else:
            _forget_model_assignments(session, [(t.owner_kind, t.owner_id) for t in todo] + gone)
        for start in range(0, len(rows), 5000):
            session.execute(sa.insert(ThemeAssignment), rows[start : start + 5000])
        markers = [
            {
                "owner_kind": t.owner_kind,
                "owner_id": t.owner_id,
                "model_version": assigner.version,
                "text_sha": current[t.owner_kind, t.owner_id],
                "scored_at": now,
            }
            for t in todo
        ]
        for start in range(0, len(markers), 5000):
            session.execute(sa.insert(ThemeScored), markers[start : start + 5000])
        _refresh(session, todo, gone, every=len(todo) == len(texts))
    return ThemeRun(texts=len(texts), scored=len(todo), assignments=len(rows))


def _refresh(
    session: Session, todo: Sequence[OwnedText], gone: Sequence[tuple[str, int]], *, every: bool
) -> None:
    """The themes in force of the texts scored now and of those gone, in the same transaction."""
    for kind in OWNER_KINDS:
        if every:
            refresh_themes(session=session, owner_kind=kind)
            continue
        ids = [t.owner_id for t in todo if t.owner_kind == kind]
        ids += [owner_id for k, owner_id in gone if k == kind]
        if ids:
            refresh_themes(session=session, owner_kind=kind, ids=sorted(set(ids)))


def _text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _forget_model_assignments(session: Session, owners: Sequence[tuple[str, int]]) -> None:
    """Delete the model's assignments and the scored markers of these texts."""
    by_kind: dict[str, list[int]] = {}
    for kind, owner_id in owners:
        by_kind.setdefault(kind, []).append(owner_id)
    for kind, ids in by_kind.items():
        for start in range(0, len(ids), 900):  # within SQLite's limit on bound parameters
            chunk = ids[start : start + 900]
            session.execute(
                sa.delete(ThemeAssignment).where(
                    ThemeAssignment.source == "model",
                    ThemeAssignment.owner_kind == kind,
                    ThemeAssignment.owner_id.in_(chunk),
                )
            )
            session.execute(
                sa.delete(ThemeScored).where(
                    ThemeScored.owner_kind == kind, ThemeScored.owner_id.in_(chunk)
                )
            )


# --------------------------------------------------------------------------- reading themes


@dataclass(frozen=True)
class EffectiveTheme:
    owner_kind: str
    owner_id: int
    theme: str
    confidence: float
    source: str  # analyst or model


def effective_themes(*, session: Session, theme: str | None = None) -> list[EffectiveTheme]:
    """Themes in force: an analyst's yes or no overrides the model's for that text and theme."""
    query = sa.select(ThemeAssignment)
    if theme is not None:
        query = query.where(ThemeAssignment.theme == theme)
    best: dict[tuple[str, int, str], ThemeAssignment] = {}
    for row in session.scalars(query):
        key = (row.owner_kind, row.owner_id, row.theme)
        if key not in best or row.source == "analyst":
            best[key] = row
    return [
        EffectiveTheme(r.owner_kind, r.owner_id, r.theme, float(r.confidence), r.source)
        for r in best.values()
        if r.present
    ]


def theme_counts(*, session: Session) -> dict[str, int]:
    """How many texts speak of each theme (analysts' corrections applied), every theme listed."""
    counts = dict.fromkeys(THEME_CODES, 0)
    for item in effective_themes(session=session):
        if item.theme in counts:
            counts[item.theme] += 1
    return counts


def _shorten(text: str, limit: int = QUOTE_MAX_CHARS) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    if end >= limit // 2:
        return cut[: end + 1]
    return cut[: cut.rfind(" ")].rstrip(",;:") + "…"


def quotes_for_theme(
    *, session: Session, theme: str, limit: int = 3, sources: list[dict[str, Any]] | None = None
) -> list[str]:
    """Representative quotes for a theme: most confident first, short, distinct, scrubbed.

    ``sources``, if given, gets the record each quote comes from ({"kind", "id"}), for the audit
    trail of who read which reporter's words."""
    _check_theme(theme)
    items = effective_themes(session=session, theme=theme)
    if not items:
        return []
    wanted: dict[str, set[int]] = {}
    for item in items:
        wanted.setdefault(item.owner_kind, set()).add(item.owner_id)
    texts: dict[tuple[str, int], str] = {}
    for kind, ids in wanted.items():
        model = OWNER_MODELS[kind]
        id_list = sorted(ids)
        for start in range(0, len(id_list), 1000):
            chunk = id_list[start : start + 1000]
            for oid, text in session.execute(
                sa.select(model.id, model.free_text).where(model.id.in_(chunk))
            ):
                if text:
                    texts[(kind, int(oid))] = text

    def rank(item: EffectiveTheme) -> tuple[float, int, int]:
        text = texts.get((item.owner_kind, item.owner_id), "")
        too_long = int(len(text) > QUOTE_MAX_CHARS)
        return (-item.confidence - (1.0 if item.source == "analyst" else 0.0), too_long, len(text))

    quotes: list[str] = []
    seen: set[str] = set()
    for item in sorted(items, key=rank):
        text = texts.get((item.owner_kind, item.owner_id), "")
        if len(text.strip()) < QUOTE_MIN_CHARS:
            continue
        quote = scrub(_shorten(text))
        key = re.sub(r"[^a-z0-9]+", " ", quote.lower()).strip()
        if key in seen:
            continue
        seen.add(key)
        quotes.append(quote)
        if sources is not None:
            sources.append({"kind": item.owner_kind, "id": item.owner_id})
        if len(quotes) >= limit:
            break
    return quotes


def evaluate_store(*, session: Session) -> dict[str, Any]:
    """Zero-shot themes scored against analysts' labels (only where an analyst said yes or no)."""
    owned, known, texts = _analyst_matrix(session=session)
    if not owned:
        raise ValidationFailed(
            "There are no analyst labels to evaluate against",
            hint="saferstreets themes label OWNER_KIND OWNER_ID THEME [--absent]",
        )
    pred = ZeroShotThemer().predict(list(texts))
    per_theme = {}
    for j, code in enumerate(THEME_CODES):
        mask = known[:, j] >= 0
        if mask.any():
            result = evaluate_predictions(
                known[mask, j : j + 1], pred[mask, j : j + 1], labels=[code]
            )
            per_theme[code] = result["per_label"][code]
    mask = known >= 0
    micro = evaluate_predictions(known[mask][:, None], pred[mask][:, None], labels=["all"])
    return {
        "texts": len(owned),
        "labels": int(mask.sum()),
        "zero_shot_micro_f1": micro["micro_f1"],
        "per_theme": per_theme,
    }
