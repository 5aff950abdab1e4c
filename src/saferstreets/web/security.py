"""CSRF tokens, security headers and rate limits. No client address is logged or stored.

Rate limits need to tell clients apart without keeping anything that identifies them. The
client address is read only to compute an HMAC under a random key that lives in this process's
memory, is replaced every hour and is never written anywhere; the limiter keeps those digests
with a few monotonic timestamps, in memory, for at most the window. After two key rotations
nothing links a digest to an address, even for someone holding a memory dump.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from saferstreets.errors import AppError


def content_security_policy(tile_url: str | None, *, inline_styles: Sequence[str] = ()) -> str:
    """Only our own origin, plus the configured tile server's origin for map images.

    ``inline_styles``: the text of ``<style>`` elements a page carries (a standalone document,
    such as the printable report); each is allowed by its SHA-256 hash and nothing else inline is.
    """
    img_src = "'self' data:"
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "a"))
        if parts.scheme in ("http", "https") and parts.netloc:
            img_src += f" {parts.scheme}://{parts.netloc.replace('a.', '*.', 1)}"
    style_src = "'self'" + "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()}'"
        for css in inline_styles
    )
    return (
        f"default-src 'self'; img-src {img_src}; style-src {style_src}; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


class CSRFError(AppError):
    status = 403
    title = "This form has expired"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def check_csrf(request: Request, submitted: str | None) -> None:
    """Raise unless ``submitted`` equals the session's token (constant-time comparison)."""
    expected = request.session.get("csrf")
    if not expected or not submitted or not hmac.compare_digest(str(expected), str(submitted)):
        raise CSRFError(
            "This form has expired or was sent from elsewhere. "
            "Please reload the page and try again."
        )


class SecurityHeadersMiddleware(BaseHTTPMiddleware):
    """Strict headers on every response: no third-party code, framing, referrer or page caching."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        return add_security_headers(request, await call_next(request))


def add_security_headers(request: Request, response: Response) -> Response:
    """The strict headers, where the response does not set its own. The middleware calls this
    for every response; the 500 handler calls it too, because Starlette answers an unhandled
    error outside every middleware."""
    settings = request.app.state.settings
    response.headers.setdefault(
        "Content-Security-Policy", content_security_policy(settings.tile_url)
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault(
        "Permissions-Policy", "camera=(), microphone=(), interest-cohort=()"
    )
    if not request.url.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


class RateLimiter:
    """A sliding-window limit per client, keyed by an HMAC of the client address.

    ``limit`` requests per ``window`` seconds. The HMAC key is random, held only in memory and
    replaced every ``rotate_every`` seconds; a client's recent count follows it across one
    rotation (its entry is moved to the new key's digest on its next request), so the window
    stays honest. Counts are per process: with N workers a client may get up to N times the
    limit (see docs/public-reporting.md); keep the limit low enough that this does not matter.
    """

    def __init__(
        self,
        *,
        limit: int,
        window: float = 3600.0,
        rotate_every: float = 3600.0,
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.rotate_every = rotate_every
        self.max_clients = max_clients
        self._clock = clock
        self._lock = threading.Lock()
        self._key = secrets.token_bytes(32)
        self._old_key: bytes | None = None
        self._key_born = clock()
        self._hits: dict[bytes, deque[float]] = {}
        self._old_hits: dict[bytes, deque[float]] = {}

    def _digest(self, key: bytes, client: str) -> bytes:
        return hmac.new(key, client.encode("utf-8", "replace"), hashlib.sha256).digest()[:16]

    def _rotate(self, now: float) -> None:
        if now - self._key_born < self.rotate_every:
            return
        self._old_key, self._old_hits = self._key, self._hits
        if now - self._key_born >= 2 * self.rotate_every:
            self._old_key, self._old_hits = None, {}
        self._key, self._hits, self._key_born = secrets.token_bytes(32), {}, now

    def hit(self, client: str) -> float | None:
        """Count one request from ``client``; None if allowed, else seconds until it would be."""
        now = self._clock()
        with self._lock:
            self._rotate(now)
            digest = self._digest(self._key, client)
            stamps = self._hits.get(digest)
            if stamps is None and self._old_key is not None:
                stamps = self._old_hits.pop(self._digest(self._old_key, client), None)
            if stamps is None:
                if len(self._hits) >= self.max_clients:
                    self._prune(now)
                stamps = deque()
            self._hits[digest] = stamps
            while stamps and now - stamps[0] >= self.window:
                stamps.popleft()
            if len(stamps) >= self.limit:
                return max(1.0, self.window - (now - stamps[0]))
            stamps.append(now)
            return None

    def _prune(self, now: float) -> None:
        for digest in [d for d, s in self._hits.items() if not s or now - s[-1] >= self.window]:
            del self._hits[digest]
        if len(self._hits) >= self.max_clients:  # still full: forget the oldest half
            oldest = sorted(self._hits, key=lambda d: self._hits[d][-1])
            for digest in oldest[: len(oldest) // 2]:
                del self._hits[digest]

    def reset(self) -> None:
        """Forget every count (tests)."""
        with self._lock:
            self._hits.clear()
            self._old_hits.clear()


def client_address(request: Request) -> str:
    """The client's address, for rate limiting only: never log or store it.

    Behind a reverse proxy, run uvicorn with ``--proxy-headers --forwarded-allow-ips`` set to
    the proxy's address so that this is the real client, not the proxy.
    """
    return request.client.host if request.client else "unknown"


def rate_limit(request: Request, name: str, limit: int, window: float = 3600.0) -> None:
    """Count this request against the app's ``name`` limiter; a 429 page if over the limit."""
    limiters: dict[str, RateLimiter] | None = getattr(request.app.state, "rate_limiters", None)
    if limiters is None:
        limiters = request.app.state.rate_limiters = {}
    limiter = limiters.get(name)
    if limiter is None or limiter.limit != limit or limiter.window != window:
        limiter = limiters[name] = RateLimiter(limit=limit, window=window)
    retry_after = limiter.hit(client_address(request))
    if retry_after is not None:
        minutes = max(1, math.ceil(retry_after / 60))
        raise HTTPException(
            429,
            f"Too many requests from your connection in a short time. Please try again in about "
            f"{minutes} minute{'s' if minutes != 1 else ''}. If you are in danger now, call 999.",
            headers={"Retry-After": str(math.ceil(retry_after))},
        )
