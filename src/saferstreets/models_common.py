"""Column helpers shared by every domain's models (point location columns, timestamps, JSON)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

# JSON that is JSONB on PostgreSQL and JSON text on SQLite.
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class _Listed(ColumnElement[Any]):
    """``listed(column, code)`` as each store answers it (see :func:`listed`)."""

    inherit_cache = True
    # a bare condition, with no "= 1" after it on SQLite (which would hide it from the indexes)
    type: sa.types.TypeEngine[Any] = sa.types.NullType()

    def __init__(self, column: Any, code: str) -> None:
        self.column = column
        self.quoted = f'"{code}"'  # the code as it stands in the list's JSON text

    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy's own name and type: a list)
        ("column", InternalTraversal.dp_clauseelement),
        ("quoted", InternalTraversal.dp_string),
    ]

    @property
    def _from_objects(self) -> list[Any]:
        return list(self.column._from_objects)


def _text(compiler: Any, value: str) -> str:
    """``value`` written into the statement (quoted and escaped): a partial index is chosen
    only when the statement holds its condition as written, never for a bound parameter."""
    return str(compiler.render_literal_value(value, sa.String()))


@compiles(_Listed)
def _listed_text(element: _Listed, compiler: Any, **kw: Any) -> str:
    column = compiler.process(sa.cast(element.column, sa.Text), **kw)
    return f"({column} LIKE {_text(compiler, '%' + element.quoted + '%')})"


@compiles(_Listed, "sqlite")
def _listed_sqlite(element: _Listed, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"(instr({column}, {_text(compiler, element.quoted)}) > 0)"


@compiles(_Listed, "postgresql")
def _listed_postgresql(element: _Listed, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"({column} @> CAST({_text(compiler, f'[{element.quoted}]')} AS JSONB))"


def listed_condition(column: str, code: str, dialect: str) -> str:
    """The SQL text of :func:`listed` on a bare ``column`` name, for a partial index's
    condition (``reports.models``): the same text the queries hold, so the store uses it."""
    quoted = f'"{code}"'.replace("'", "''")
    if dialect == "sqlite":
        return f"instr({column}, '{quoted}') > 0"
    return f"{column} @> CAST('[{quoted}]' AS JSONB)"


def listed(column: Any, code: str) -> Any:
    """A condition: the JSON list ``column`` (reasons, concerns, themes) holds ``code``.

    Taxonomy codes are plain words, so the quoted code found in the list's JSON text is an
    exact match: SQLite's ``instr`` on the text (the former case-blind ``LIKE '%"code"%'`` also
    took ``_`` as a wildcard; instr is a little faster, bench/results/workspace.md run J),
    PostgreSQL's JSONB containment ``@>`` (no cast of every row's JSONB to text), any other
    store's ``LIKE`` on the text."""
    return _Listed(column, code)


def had_text_column() -> Any:
    """A free text's ``had_text``, kept by the store itself (a generated column): the record has
    words of its own now, or had them until retention removed them (``text_removed``). Its
    themes count while this is true (``themes.inforce.had_text``), so theme counts and their
    denominator stay the same after retention; every writer of ``free_text`` keeps it without
    knowing."""
    rule = "(free_text IS NOT NULL AND free_text != '') OR text_removed"
    return mapped_column(sa.Boolean, sa.Computed(rule, persisted=True))


def themes_column() -> Any:
    """A free text's themes in force (taxonomy codes, sorted): the model's, with an analyst's yes
    or no in their place. Written only by ``themes.inforce.refresh_themes``, which every writer
    of ``theme_assignment`` calls in the same transaction; counted as ``reasons`` are."""
    return mapped_column(JSONType, default=list, server_default=sa.text("'[]'"))


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Located:
    """A point (WGS84 lat/lon) and the areas and H3 cell it falls in.

    Area columns hold area codes at each level, filled by ``areas.service.assign_points``; they
    are re-computed whenever boundaries are imported again.
    """

    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    h3_cell: Mapped[str | None] = mapped_column(sa.String(16))
    lsoa_code: Mapped[str | None] = mapped_column(sa.String(32))
    ward_code: Mapped[str | None] = mapped_column(sa.String(32))
    district_code: Mapped[str | None] = mapped_column(sa.String(32))
    town_centre_code: Mapped[str | None] = mapped_column(sa.String(32))


def located_indexes(table: str) -> tuple[sa.Index, ...]:
    """The indexes every table of located points wants (use in ``__table_args__``)."""
    return (
        sa.Index(f"ix_{table}_ward_code", "ward_code"),
        sa.Index(f"ix_{table}_district_code", "district_code"),
        sa.Index(f"ix_{table}_h3_cell", "h3_cell"),
    )


AREA_LEVELS = ("force", "district", "ward", "lsoa", "town_centre")
# The Located column each assignable level fills.
LEVEL_COLUMNS = {
    "lsoa": "lsoa_code",
    "ward": "ward_code",
    "district": "district_code",
    "town_centre": "town_centre_code",
}


def core_table(model: Any) -> sa.Table:
    """A mapped class's table, for Core statements on a hot path: the ORM's bulk DML paths
    (``sa.update(Model)`` through a session) cost about 0.1 ms more a statement."""
    table: sa.Table = model.__table__
    return table
