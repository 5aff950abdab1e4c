"""The production queue: huey on Redis (``job_queue_url``), with a real worker process. Skipped
where no Redis server answers on 127.0.0.1:6379."""

from __future__ import annotations

import pytest
from tests.conftest import JobWorker

from saferstreets.db import session_scope
from saferstreets.jobs import service

REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def redis_settings(settings):  # type: ignore[no-untyped-def]
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    return settings.model_copy(update={"job_queue_url": REDIS_URL})


def test_a_job_queued_on_redis_is_run_by_a_worker_on_redis(engine, redis_settings) -> None:  # type: ignore[no-untyped-def]
    import tests.jobs.kinds  # noqa: F401 - registers test.steps here too

    from saferstreets.jobs.queue import get_queue

    huey = get_queue(redis_settings)
    assert type(huey).__name__ == "RedisHuey"
    with session_scope(engine) as session:
        job_id = service.enqueue(session=session, kind="test.steps", params={"steps": 3},
                                 user=None, settings=redis_settings).id  # fmt: skip
    worker = JobWorker(redis_settings, env={"SAFERSTREETS_JOB_QUEUE_URL": REDIS_URL})
    worker.start(preload="tests.jobs.kinds")
    try:
        row = worker.wait_for(job_id, timeout=60)
    finally:
        worker.stop()
    assert row["status"] == "done" and row["result"] == {"steps": 3}
    assert not (redis_settings.data_dir / "jobs-queue.db").exists()  # nothing went to SQLite
