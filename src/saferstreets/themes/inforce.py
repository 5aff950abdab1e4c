"""Themes in force: an analyst's yes or no overrides the model's for that text and theme.

The same rule as :func:`saferstreets.themes.service.effective_themes`, written as a condition the
store evaluates (:func:`in_force`), and kept per text in its ``themes`` column by
:func:`refresh_themes`, so pages that count or filter by theme count that column as they count
reasons ticked, and never read assignments one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from saferstreets.reports import tally
from saferstreets.reports.models import Report
from saferstreets.surveys.models import SurveyResponse
from saferstreets.themes.models import ThemeAssignment

OWNER_MODELS: dict[str, Any] = {"report": Report, "survey_response": SurveyResponse}
_CHUNK = 900  # ids per statement: within SQLite's limit on bound parameters


def in_force() -> Any:
    """A condition on ``theme_assignment`` rows: this row is a theme in force."""
    t = ThemeAssignment
    analyst = aliased(ThemeAssignment)
    overridden = (
        sa.select(analyst.id)
        .where(
            analyst.owner_kind == t.owner_kind,
            analyst.owner_id == t.owner_id,
            analyst.theme == t.theme,
            analyst.source == "analyst",
        )
        .exists()
    )
    return sa.or_(
        sa.and_(t.source == "analyst", t.present.is_(True)),
        sa.and_(t.source != "analyst", t.present.is_(True), ~overridden),
    )


def has_words(model: Any) -> Any:
    """A condition on reports or survey responses: its free text holds words now."""
    return sa.and_(model.free_text.is_not(None), model.free_text != "")


def had_text(model: Any) -> Any:
    """A condition on reports or survey responses: this one has (or had) words of its own. A
    text whose words retention removed keeps its themes and still counts, so every theme count
    and its denominator stay the same after retention (``text_removed``). The store keeps it
    as the generated column ``had_text`` (``models_common.had_text_column``)."""
    return model.had_text.is_(True)


def _found(session: Session, owner_kind: str, ids: Sequence[int] | None) -> dict[int, list[str]]:
    """The themes in force of these texts (of every text when ``ids`` is None), by id."""
    t = ThemeAssignment
    query = sa.select(t.owner_id, t.theme).where(t.owner_kind == owner_kind, in_force())
    if ids is not None:
        query = query.where(t.owner_id.in_(list(ids)))
    found: dict[int, set[str]] = {}
    for oid, theme in session.execute(query):
        found.setdefault(int(oid), set()).add(str(theme))
    return {oid: sorted(codes) for oid, codes in found.items()}


def _write(session: Session, model: Any, themes: dict[int, list[str]]) -> None:
    table = model.__table__
    statement = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("oid"))
        .values(themes=sa.bindparam("found", type_=table.c.themes.type))
    )
    rows = [{"oid": oid, "found": codes} for oid, codes in themes.items()]
    for start in range(0, len(rows), 5000):
        session.execute(statement, rows[start : start + 5000])


def refresh_themes(*, session: Session, owner_kind: str, ids: Sequence[int] | None = None) -> None:
    """Write the themes in force of these texts (every text when ``ids`` is None) into their
    ``themes`` column, in the caller's transaction; the report tally follows (``reports.tally``).

    Every writer of ``theme_assignment`` calls this after its change: ``themes.service.label``
    (the analyst's labels, from the browser or the CLI) and ``themes.service.assign_all`` (the
    model's). A text whose assignments were all removed gets an empty list.
    """
    model = OWNER_MODELS[owner_kind]
    if ids is None:
        table = model.__table__
        emptied = sa.cast(table.c.themes, sa.Text) != "[]"  # rows already empty stay untouched
        session.execute(sa.update(table).where(emptied).values(themes=[]))
        _write(session, model, _found(session, owner_kind, None))
        if model is Report:
            tally.rebuild(session)
        else:
            tally.changed(session)
        return
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        found = _found(session, owner_kind, chunk)
        themes = {oid: found.get(oid, []) for oid in chunk}
        if model is Report:
            with tally.recounted(session, chunk):
                _write(session, model, themes)
        else:
            tally.changed(session)
            _write(session, model, themes)
