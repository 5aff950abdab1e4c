"""The public rate limit: a sliding window per client, counted in the store (every worker and
server together), keyed by an HMAC under a random key that the store replaces every hour."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import sqlalchemy as sa

from saferstreets.accounts import rate_limits
from saferstreets.accounts.models import RateBucket, RateLimitKey
from saferstreets.db import session_factory

START = datetime(2026, 11, 30, 9, 0, 5)


def _hit(engine, client: str, at: datetime, *, limit: int = 3, window: float = 60):  # type: ignore[no-untyped-def]
    with session_factory(engine)() as session:
        wait = rate_limits.hit(session=session, name="report", client=client, limit=limit,
                               window=window, now=at)  # fmt: skip
        session.commit()
        return wait


def test_sliding_window_per_client(engine) -> None:  # type: ignore[no-untyped-def]
    assert [_hit(engine, "a", START) for _ in range(3)] == [None, None, None]
    wait = _hit(engine, "a", START)
    assert wait is not None and 59 <= wait <= 60
    assert _hit(engine, "b", START) is None  # another client has its own count
    assert _hit(engine, "a", START + timedelta(seconds=30)) is not None
    # refused requests did not extend the window: 61 s after the first three, room again
    assert _hit(engine, "a", START + timedelta(seconds=61)) is None


def test_counts_follow_a_client_across_one_key_change_then_are_forgotten(engine) -> None:  # type: ignore[no-untyped-def]
    hour = timedelta(hours=1)
    assert _hit(engine, "a", START, limit=2, window=3600) is None
    late = START + timedelta(minutes=50)
    assert _hit(engine, "a", late, limit=2, window=3600) is None
    after = START + timedelta(minutes=61)  # the next hour's key; the first hit is out of window
    assert _hit(engine, "a", after, limit=2, window=3600) is None
    assert _hit(engine, "a", after, limit=2, window=3600) is not None  # two within the hour
    rate_limits._keys.clear()  # another process, knowing no key yet, counts the same
    assert _hit(engine, "a", after, limit=2, window=3600) is not None
    assert _hit(engine, "a", START + 3 * hour, limit=2, window=3600) is None
    with session_factory(engine)() as session:
        epochs = session.scalars(sa.select(RateLimitKey.epoch)).all()
    assert len(epochs) <= 2  # keys older than the previous hour are deleted


def test_nothing_stored_contains_the_address(engine) -> None:  # type: ignore[no-untyped-def]
    _hit(engine, "203.0.113.77", START)
    with engine.connect() as conn:
        rows = [
            repr(tuple(row))
            for table in (RateBucket.__table__, RateLimitKey.__table__)
            for row in conn.execute(sa.select(table))
        ]
    assert rows and not any("203.0.113" in row for row in rows)


def test_concurrent_hits_let_exactly_the_limit_through(engine) -> None:  # type: ignore[no-untyped-def]
    """Twenty threads (each its own connection, as workers would be) against a limit of 10."""
    _hit(engine, "warm-up", START)  # the hour's key exists before the race
    results: list[float | None] = []
    lock = threading.Lock()

    def one() -> None:
        from saferstreets.db import with_retries

        with session_factory(engine)() as session:

            def count() -> float | None:
                wait = rate_limits.hit(session=session, name="report", client="c", limit=10,
                                       window=3600, now=START)  # fmt: skip
                session.commit()
                return wait

            wait = with_retries(count, session=session, attempts=5, budget_s=20)
        with lock:
            results.append(wait)

    threads = [threading.Thread(target=one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 20
    assert sum(r is None for r in results) == 10


def test_a_request_within_the_limit_is_counted_in_one_statement(engine) -> None:  # type: ignore[no-untyped-def]
    """Taking the bucket and counting the request are one upsert (the report form's round trip
    per statement is what bounds intake: bench/results/intake.md); a refused request costs a
    second statement, which takes it out again."""
    _hit(engine, "warm-up", START)  # the hour's key made and known; the purge gate passed
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    assert _hit(engine, "d", START, limit=2) is None
    assert _hit(engine, "d", START, limit=2) is None
    assert len(statements) == 2 and all("ON CONFLICT" in s for s in statements)
    assert _hit(engine, "d", START, limit=2) is not None
    assert len(statements) == 4
    with session_factory(engine)() as session:
        stamps = session.scalars(sa.select(RateBucket.stamps)).all()
    assert sorted(len(s) for s in stamps) == [1, 2]  # the refused one was not kept
