"""A bound on every request body, however it is sent (Content-Length or chunked).

Starlette reads a form body to the end before a route sees it, and a chunked request declares no
length, so a check of the ``Content-Length`` header alone lets any size through. This ASGI
middleware counts the bytes as they arrive: a declared length over the limit is refused before
anything is read, and a stream that passes the limit stops the route's read with
``BodyTooLarge`` and is answered with the one error page (413). Public pages get a small limit,
staff pages (long issue notes, corrections) a larger one.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from saferstreets.errors import AppError


class BodyTooLarge(AppError):
    status = 413
    title = "Too much was sent"


class BodyLimitMiddleware:
    """Refuse (413) any request whose body passes ``limit`` bytes (``staff_limit`` on /staff)."""

    def __init__(self, app: ASGIApp, *, limit: int, staff_limit: int) -> None:
        self.app = app
        self.limit = limit
        self.staff_limit = staff_limit

    def limit_for(self, scope: Scope) -> int:
        return self.staff_limit if str(scope.get("path", "")).startswith("/staff") else self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(scope, receive, send, limit)
            return
        state = {"received": 0, "over": False, "started": False, "replaced": False}

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["over"] = True
                    raise BodyTooLarge(_message(limit))
            return message

        async def guarded_send(message: Message) -> None:
            # Whatever the route made of the interrupted read (FastAPI turns it into a 400),
            # the answer is the 413 page.
            if message["type"] == "http.response.start" and state["over"]:
                state["replaced"] = True
                await _refuse(scope, receive, send, limit)
            if state["replaced"]:
                return
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            if state["started"] or state["replaced"]:
                raise
            await _refuse(scope, receive, send, limit)


def _message(limit: int) -> str:
    return (
        f"What was sent was larger than {limit // 1024} kB, so none of it was kept. "
        "If you wrote a lot in your own words, shorten it and send it again."
    )


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    from saferstreets.web.app import error_response

    request: Any = Request(scope, receive)
    response = error_response(request, 413, BodyTooLarge.title, _message(limit))
    response.headers["Connection"] = "close"
    await response(scope, receive, send)
