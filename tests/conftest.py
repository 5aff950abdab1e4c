"""Fixtures: real SQLite and PostgreSQL stores (migrated, clean per test), settings, app client.

Tests that take ``db_url``/``engine``/``session``/``settings``/``client`` run twice: on SQLite and
on PostgreSQL (marked ``postgres``). PostgreSQL is the server named by
``SAFERSTREETS_TEST_POSTGRES_URL`` (default: the local server); each pytest run makes its own
database and drops it at the end. Where no server answers the PostgreSQL runs skip, except under
``CI=true``, where that is a failure. The same rule holds for ``../shared/data``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from saferstreets.areas import lookup
from saferstreets.config import Settings
from saferstreets.db import Base, dispose_engines, make_engine, session_factory
from saferstreets.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _absent(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must be present)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: skip where absent (a user's clone), fail where absent in CI."""
    if not SHARED_DATA.is_dir():
        _absent(f"{SHARED_DATA} is not here")
    return SHARED_DATA


def _pg_admin_url() -> str:
    url = os.environ.get("SAFERSTREETS_TEST_POSTGRES_URL", DEFAULT_PG)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _pg_database() -> Iterator[str]:
    admin_url = _pg_admin_url()
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        _absent(f"PostgreSQL at {admin_url} does not answer: {str(exc.orig).splitlines()[0]}")
    name = f"saferstreets_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate_all(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty store: a fresh SQLite file, or a truncated PostgreSQL database."""
    import saferstreets.all_models  # noqa: F401 - every table in Base.metadata

    if request.param == "sqlite":
        path = tmp_path / "store.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("_pg_database")
        _truncate_all(url)
        lookup.forget()  # the same store's address, emptied: what was read from it is gone
    yield url
    dispose_engines()


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[sa.orm.Session]:
    with session_factory(engine)() as sess:
        yield sess


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        database_url=db_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-not-for-production",
    )


@pytest.fixture
def app_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the CLI (which reads the environment) at the test store."""
    monkeypatch.setenv("SAFERSTREETS_DATABASE_URL", settings.database_url or "")
    monkeypatch.setenv("SAFERSTREETS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SAFERSTREETS_ENV", "test")
    monkeypatch.setenv("SAFERSTREETS_SECRET_KEY", settings.secret_key)
    from saferstreets.config import get_settings

    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


@pytest.fixture
def client(settings: Settings):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from saferstreets.web.app import create_app

    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


class JobWorker:
    """A real ``saferstreets worker`` process on the test store (huey's consumer, SQLite queue
    in the test's data folder): start it, kill it with SIGKILL, wait for a job."""

    def __init__(self, settings: Settings, *, env: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log = settings.data_dir / "worker.log"

    def start(self, *, preload: str | None = None) -> JobWorker:
        """Start a worker; ``preload`` names a test module that registers extra job kinds.
        One already running is kept (a second would outlive :meth:`stop`)."""
        if self.process is not None and self.process.poll() is None:
            return self
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        env = (
            os.environ
            | {
                "SAFERSTREETS_DATABASE_URL": self.settings.database_url or "",
                "SAFERSTREETS_DATA_DIR": str(self.settings.data_dir),
                "SAFERSTREETS_ENV": "test",
                "SAFERSTREETS_SECRET_KEY": self.settings.secret_key,
                "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
            }
            | self.extra_env
        )
        code = (f"import {preload}; " if preload else "") + (
            "from saferstreets.cli.main import main; main()"
        )
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code, "worker"], env=env, stdout=log, stderr=log
            )
        return self

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-job, with no chance to clean up."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def wait_for(
        self, job_id: int, statuses: tuple[str, ...] = ("done", "failed"), timeout: float = 90
    ) -> dict[str, object]:
        """Poll the store until the job reaches one of ``statuses``; its row as a dict."""
        from saferstreets.jobs.models import Job

        engine = make_engine(self.settings.sqlalchemy_url)
        deadline = time.monotonic() + timeout
        try:
            while True:
                with session_factory(engine)() as session:
                    job = session.get(Job, job_id)
                    row = (
                        {c.name: getattr(job, c.name) for c in Job.__table__.columns} if job else {}
                    )
                if row.get("status") in statuses:
                    return row
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"job {job_id} still {row.get('status')} after {timeout} s; worker log:\n"
                        + self.log.read_text(errors="replace")[-3000:]
                    )
                if self.process is not None and self.process.poll() is not None:
                    raise AssertionError("the worker died:\n" + self.log.read_text()[-3000:])
                time.sleep(0.2)
        finally:
            engine.dispose()


@pytest.fixture
def job_worker(settings: Settings) -> Iterator[JobWorker]:
    """A real worker process on the test store, stopped at the end (start it with .start())."""
    worker = JobWorker(settings)
    yield worker
    worker.stop()
