"""Themes in force, as SQL: an analyst's yes or no overrides the model's for that text and theme.

The same rule as :func:`saferstreets.themes.service.effective_themes`, written as conditions the
store evaluates, so pages that count or filter by theme never read assignments one by one.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from saferstreets.themes.models import ThemeAssignment


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
    and its denominator stay the same after retention (``text_removed``)."""
    return sa.or_(has_words(model), model.text_removed.is_(True))


def themed_owners(owner_kind: str, theme: str) -> Any:
    """Ids of the texts of ``owner_kind`` (report, survey_response) with ``theme`` in force."""
    t = ThemeAssignment
    return sa.select(t.owner_id).where(t.owner_kind == owner_kind, t.theme == theme, in_force())
