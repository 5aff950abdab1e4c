"""The skeleton: settings, store, migrations, CLI behaviour on good and bad input."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pydantic import ValidationError
from typer.testing import CliRunner

from saferstreets.cli import app
from saferstreets.config import DEV_SECRET, Settings
from saferstreets.db import Base

runner = CliRunner()


def test_migrations_match_models(engine: sa.Engine) -> None:
    import saferstreets.all_models  # noqa: F401

    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == [], f"models and migrations disagree; run 'make migration': {diff}"


def test_production_refuses_default_secret() -> None:
    with pytest.raises(ValidationError, match="SAFERSTREETS_SECRET_KEY"):
        Settings(env="production", secret_key=DEV_SECRET)
    assert Settings(env="production", secret_key="x" * 40).secret_key == "x" * 40


def test_sqlite_is_the_default_store(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path.resolve() / 'saferstreets.db'}"
    assert Settings(database_url="postgresql://u@h/db").sqlalchemy_url.startswith(
        "postgresql+psycopg://"
    )


def test_status_json_counts_an_empty_store(app_env: Settings) -> None:
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    assert '"crimes": 0' in result.output
    assert '"ward": 0' in result.output


def test_unmigrated_store_is_refused_with_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saferstreets.config import get_settings

    monkeypatch.setenv("SAFERSTREETS_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    result = runner.invoke(app, ["status"])
    get_settings.cache_clear()
    assert result.exit_code == 1
    assert "never migrated" in result.output
    assert "saferstreets db upgrade" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "is not valid"),
        ("postgresql://nobody@127.0.0.1:9/none", "Cannot open the database"),
        ("mysql://u@h/db", "Unsupported database"),
    ],
)
def test_bad_database_url_is_one_clear_line(
    url: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saferstreets.config import get_settings

    monkeypatch.setenv("SAFERSTREETS_DATABASE_URL", url)
    get_settings.cache_clear()
    result = runner.invoke(app, ["status"])
    get_settings.cache_clear()
    assert result.exit_code == 1
    assert expected in result.output
    assert "Traceback" not in result.output


def test_unwritable_data_dir_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from saferstreets.config import get_settings

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.delenv("SAFERSTREETS_DATABASE_URL", raising=False)
    monkeypatch.setenv("SAFERSTREETS_DATA_DIR", str(blocker / "sub"))
    get_settings.cache_clear()
    result = runner.invoke(app, ["db", "upgrade"])
    get_settings.cache_clear()
    assert result.exit_code == 1
    assert "Cannot create the data folder" in result.output


def test_db_upgrade_is_repeatable(app_env: Settings) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_serve_refuses_a_port_in_use(app_env: Settings) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = runner.invoke(app, ["serve", "--port", str(port)])
    assert result.exit_code == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in result.output


def test_help_lists_every_command_with_a_description() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "serve", "status", "db", "import"):
        assert command in result.output


@pytest.mark.postgres
def test_postgresql_connections_outlive_bursts_of_requests(_pg_database: str) -> None:
    """A worker's pool keeps the connections a burst opened. With SQLAlchemy's default pool (5
    kept, 10 more opened and closed as needed) every burst of more than 5 requests at once
    opened new PostgreSQL connections and closed them again: under 50 reporters a new backend
    every second to fourth report, each costing PostgreSQL a fork and cold caches: two workers
    acknowledged 72-86 reports/s against 106-107 with the pool kept (bench/results/intake.md,
    session 11)."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from saferstreets.db import make_engine

    engine = make_engine(_pg_database)
    opened: list[int] = []
    sa.event.listen(engine.pool, "connect", lambda *_: opened.append(1))
    burst = 12  # more than the old pool kept, fewer than a worker may hold at once
    meet = Barrier(burst)

    def hold_one(_: int) -> int:
        with engine.connect() as conn:
            meet.wait(timeout=10)  # all twelve hold a connection at the same moment
            return conn.execute(sa.text("SELECT 1")).scalar_one()

    try:
        with ThreadPoolExecutor(burst) as threads:
            for _ in range(5):
                assert list(threads.map(hold_one, range(burst))) == [1] * burst
        assert len(opened) == burst, f"{len(opened)} connections opened for 5 bursts of {burst}"
    finally:
        engine.dispose()
