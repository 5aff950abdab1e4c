"""Schema migrations: apply them, and refuse to run against a database that is behind."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from saferstreets.db import MIGRATIONS_DIR, ensure_indexes
from saferstreets.errors import StoreError


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except sa.exc.OperationalError as exc:
        raise StoreError(
            f"Cannot open the database at {engine.url.render_as_string(hide_password=True)}: "
            f"{_first_line(exc)}",
            hint="check SAFERSTREETS_DATABASE_URL and that the server is running",
        ) from exc


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Apply every pending migration; return (revision before, revision after)."""
    before = current_revision(engine)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    ensure_indexes(engine)  # indexes a bulk load dropped and did not live to build again
    return before, current_revision(engine)


def require_current(engine: Engine) -> None:
    """Raise a StoreError telling the user what to run unless the schema is at head."""
    current = current_revision(engine)
    head = head_revision()
    if current != head:
        state = "empty (never migrated)" if current is None else f"at revision {current}"
        raise StoreError(
            f"The database is {state}; this version of saferstreets needs revision {head}",
            hint="run: saferstreets db upgrade",
        )


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", exc)) or exc.__class__.__name__
    return text.strip().splitlines()[0]
