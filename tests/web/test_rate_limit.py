"""The rate limiter: a sliding window per client, keyed by an HMAC under a key rotated hourly."""

from __future__ import annotations

from saferstreets.web.security import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_per_client() -> None:
    clock = Clock()
    limiter = RateLimiter(limit=3, window=60, rotate_every=3600, clock=clock)
    assert [limiter.hit("a") for _ in range(3)] == [None, None, None]
    wait = limiter.hit("a")
    assert wait is not None and 59 <= wait <= 60
    assert limiter.hit("b") is None  # another client has its own count
    clock.now += 30
    assert limiter.hit("a") is not None  # refused requests do not extend the window
    clock.now += 31
    assert limiter.hit("a") is None


def test_counts_follow_a_client_across_one_key_rotation_then_are_forgotten() -> None:
    clock = Clock()
    limiter = RateLimiter(limit=2, window=3600, rotate_every=3600, clock=clock)
    limiter.hit("a")
    clock.now += 3000
    limiter.hit("a")
    clock.now += 700  # the key has rotated; the first hit is now outside the window
    assert limiter.hit("a") is None
    assert limiter.hit("a") is not None  # two hits within the last hour, across the rotation
    clock.now += 3 * 3600
    assert limiter.hit("a") is None


def test_nothing_held_contains_the_address() -> None:
    limiter = RateLimiter(limit=5)
    limiter.hit("203.0.113.77")
    held = repr(limiter.__dict__).encode() + b"".join(limiter._hits)
    assert b"203.0.113.77" not in held
    assert all(len(digest) == 16 for digest in limiter._hits)


def test_memory_is_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(limit=5, window=60, max_clients=100, clock=clock)
    for i in range(1000):
        clock.now += 0.001
        limiter.hit(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter._hits) <= 100
