"""CSRF tokens and security headers. No client address is read, logged or stored."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from saferstreets.errors import AppError

def content_security_policy(tile_url: str | None) -> str:
    """Only our own origin, plus the configured tile server's origin for map images."""
    img_src = "'self' data:"
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "a"))
        if parts.scheme in ("http", "https") and parts.netloc:
            img_src += f" {parts.scheme}://{parts.netloc.replace('a.', '*.', 1)}"
    return (
        f"default-src 'self'; img-src {img_src}; style-src 'self'; script-src 'self'; "
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
        raise CSRFError("This form has expired or was sent from elsewhere. Please reload the page and try again.")


class SecurityHeadersMiddleware(BaseHTTPMiddleware):
    """Strict headers on every response: no third-party code, no framing, no referrer, no caching of pages."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        settings = request.app.state.settings
        response.headers.setdefault(
            "Content-Security-Policy", content_security_policy(settings.tile_url)
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), interest-cohort=()")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
