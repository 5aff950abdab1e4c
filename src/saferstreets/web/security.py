"""CSRF tokens, security headers and rate limits. No client address is logged or stored.

Rate limits need to tell clients apart without keeping anything that identifies them. The
client address is read only to compute an HMAC under a random key that is replaced every hour;
the counts and the key are in the store, so that every worker and server counts together, and a
key is deleted once it is two hours old (``accounts.rate_limits``). After two key rotations
nothing links a digest to an address, even for someone holding a copy of the store.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import math
import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def _csrf_binding(request: Request, *, create: bool) -> str | None:
    """What this visitor's CSRF token is bound to: her session's cookie token if she has one,
    else a random cookie of her own (set on first need; no store row for anonymous visitors)."""
    from saferstreets.web import sessions as cookies

    if token := cookies.read_cookie(request, cookies.SESSION):
        return "s:" + token
    anonymous = cookies.read_cookie(request, cookies.CSRF) or getattr(
        request.state, "csrf_anonymous", None
    )
    if not anonymous and create:
        anonymous = request.state.csrf_anonymous = secrets.token_urlsafe(32)
        cookies.set_cookie(request, cookies.CSRF, anonymous)
    return "a:" + anonymous if anonymous else None


def _csrf_for(request: Request, binding: str) -> str:
    secret = request.app.state.settings.secret_key.encode()
    return hmac.new(secret, b"csrf:" + binding.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The CSRF token for this visitor's forms: an HMAC of the cookie it is bound to."""
    binding = _csrf_binding(request, create=True)
    assert binding is not None
    return _csrf_for(request, binding)


def check_csrf(request: Request, submitted: str | None) -> None:
    """Raise unless ``submitted`` is this visitor's token (constant-time comparison)."""
    binding = _csrf_binding(request, create=False)
    expected = _csrf_for(request, binding) if binding else None
    if not expected or not submitted or not hmac.compare_digest(expected, str(submitted)):
        raise CSRFError(
            "This form has expired or was sent from elsewhere. "
            "Please reload the page and try again."
        )


class SecurityHeadersMiddleware:
    """Strict headers on every response (no third-party code, framing, referrer or page caching),
    and the cookies the request queued (``web.sessions.set_cookie``), added as it starts.

    One plain ASGI layer for both, its headers worked out once per tile server and kind of path.
    (Starlette's ``BaseHTTPMiddleware`` ran each request's app in a task group of its own with
    memory streams between them; a second layer for the cookies wrapped every message again.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from saferstreets.web.sessions import queued_cookies

        strict = _strict_raw(scope["app"].state.settings.tile_url, _static(scope["path"]))
        state = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message["headers"] = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers += [pair for pair in strict if pair[0] not in present]
                headers += [(b"set-cookie", v.encode("latin-1")) for v in queued_cookies(state)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _static(path: str) -> bool:
    return path.startswith("/static/")


@functools.lru_cache(maxsize=16)
def _strict_raw(tile_url: str | None, static: bool) -> tuple[tuple[bytes, bytes], ...]:
    """The strict headers as raw (lower-case name, value) pairs, for a response that has none."""
    headers = MutableHeaders()
    _strict_headers(headers, tile_url, "/static/" if static else "/")
    return tuple((name.lower(), value) for name, value in headers.raw)


def add_security_headers(request: Request, response: Response) -> Response:
    """The strict headers, where the response does not set its own. The middleware adds them to
    every response; the 500 handler calls this too, because Starlette answers an unhandled
    error outside every middleware."""
    _strict_headers(response.headers, request.app.state.settings.tile_url, request.url.path)
    return response


def _strict_headers(headers: MutableHeaders, tile_url: str | None, path: str) -> None:
    headers.setdefault("Content-Security-Policy", content_security_policy(tile_url))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), interest-cohort=()")
    if not _static(path):
        headers.setdefault("Cache-Control", "no-store")


def client_key(host: str) -> str:
    """Who counts as one client: an IPv4 address, or an IPv6 address's /64 network.

    One IPv6 subscriber is normally given a whole /64 and can use any of its 2**64 addresses,
    so counting each address would let one phone send without limit. An IPv4-mapped IPv6
    address (``::ffff:192.0.2.1``, as a dual-stack socket reports IPv4 clients) counts as the
    IPv4 address it carries. Anything that is not an address is its own client.
    """
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_address(request: Request) -> str:
    """The client, as ``client_key`` counts it, for rate limiting only: never log or store it.

    Behind a reverse proxy, run uvicorn with ``--proxy-headers --forwarded-allow-ips`` set to
    the proxy's address so that this is the real client, not the proxy.
    """
    return client_key(request.client.host) if request.client else "unknown"


def rate_limit(
    request: Request,
    name: str,
    limit: int,
    window: float = 3600.0,
    *,
    session: Session,
    own_transaction: bool = True,
) -> None:
    """Count this request against the ``name`` limit, in the store (every worker and server
    counts together; ``accounts.rate_limits``); a 429 page if over the limit.

    The count is made in the request's own ``session`` and committed at once, before the route
    goes on (a route calls this before it writes anything): a request refused later (a form
    with mistakes) still counts. One session means one pooled connection per request: counting
    in a second session while the request's held a connection made each of a worker's 40
    threads hold one connection and wait for another, so under load the pool (15) ran dry and
    requests waited out the pool timeout (10 s) for a 503 (bench/results/intake.md).
    Call it from a plain ``def`` route: it waits on the store.

    With ``own_transaction=False`` the count joins the caller's open transaction instead, which
    the caller commits (and runs again as a whole on a retry): the report form counts, stores
    the report and commits once. Count first in that transaction: the client's bucket stays
    locked until the commit, so only that client's other requests wait, and a refused request
    has written nothing. A caller whose transaction is rolled back (a form with mistakes)
    counts again in a transaction of its own.
    """
    from saferstreets.accounts.rate_limits import hit
    from saferstreets.db import with_retries
    from saferstreets.web.sessions import now

    client = client_address(request)

    def count() -> float | None:
        wait = hit(session=session, name=name, client=client, limit=limit, window=window,
                   now=now(request))  # fmt: skip
        if own_transaction:
            session.commit()
        return wait

    retry_after = with_retries(count, session=session) if own_transaction else count()
    if retry_after is not None:
        minutes = max(1, math.ceil(retry_after / 60))
        raise HTTPException(
            429,
            f"Too many requests from your connection in a short time. Please try again in about "
            f"{minutes} minute{'s' if minutes != 1 else ''}. If you are in danger now, call 999.",
            headers={"Retry-After": str(math.ceil(retry_after))},
        )
