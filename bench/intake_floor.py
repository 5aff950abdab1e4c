"""The floor under intake: a report's store work through a one-layer server, for comparison.

``bench_intake`` times ``saferstreets serve``; this module answers the same three requests
(the form, the POST, the receipt) with as little as possible between the socket and the store,
so that the table can say how much of a report's cost is the store's work and how much is the
stack on top of it (uvicorn's protocol, Starlette and FastAPI, the middlewares, the ORM, the
thread hand-overs, Jinja2). It is **not** a server of the product and must never serve anyone:
it has no rate-limit logic, no area look-up, no error pages and no retries.

What it keeps of the real thing, so that the comparison is fair:
- the pages are the real app's pages, rendered once by it, with the CSRF token, the one-time key
  and the receipt code filled into their slots per request;
- the POST runs the real validator (``reports.schemas.parse_submission``) and the real sealing
  and hashing (``accounts.sessions``), then **the same SQL statements the real app sent** for a
  report (captured from it in this process through SQLAlchemy's events, with fresh unique values
  for the keys), in one transaction, as one pipeline of psycopg's asynchronous connection;
- the receipt page runs the real app's DELETE ... RETURNING for the receipt token.

Run by ``bench_intake``: ``python -m bench.intake_floor PORT WORKERS DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

SECRET = secrets.token_bytes(32)
CONNECTIONS = 15  # as the real app's pool (db.POOL_SIZE)
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


@dataclass
class Replay:
    """What the real app sent and answered for one report, ready to be filled in again."""

    form_page: str  # with {csrf} and {key} slots
    thanks_page: str  # with a {code} slot
    headers: list[tuple[bytes, bytes]]  # the real app's security headers
    post_statements: list[tuple[str, dict[str, Any]]]
    thanks_statement: str
    thanks_param: str  # the name of its one parameter, the receipt token's hash


def _slots(page: str, **values: str) -> str:
    page = page.replace("{", "{{").replace("}", "}}")
    for slot, value in values.items():
        page = page.replace(value, "{" + slot + "}")
    return page


def _split(statements: list[tuple[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """One statement per entry (a pipeline takes no multi-statement string)."""
    out: list[tuple[str, dict[str, Any]]] = []
    for text, params in statements:
        if not params and ";" in text:
            out += [(part, {}) for part in map(str.strip, text.split(";")) if part]
        else:
            out.append((text, dict(params or {})))
    return out


def capture(url: str) -> Replay:
    """Send three reports through the real app in this process and keep the last one's pages
    and statements."""
    from sqlalchemy import event

    from bench import load_clients as lc
    from bench.bench_intake import PHASES, in_process_client, send_report
    from bench.bench_load import _points_and_ward

    points, _ = _points_and_ward(url)
    client = in_process_client(url)
    sent: dict[str, list[tuple[str, Any]]] = {}  # by phase, for the last report
    phase = [""]

    def keep(_conn: Any, _cursor: Any, text: str, params: Any, *_: Any) -> None:
        sent.setdefault(phase[0], []).append((text, params))

    def at(now: str) -> None:
        phase[0] = now

    event.listen(client.app.state.engine, "before_cursor_execute", keep)
    with client:
        for n in range(3):
            sent.clear()
            form, fields, thanks = send_report(client, f"floor-{n}", points[n % len(points)], at)
    post, receipt = sent[PHASES[1]], sent.get(PHASES[2], [])
    found = lc.RECEIPT.search(thanks.text)
    assert found and len(receipt) == 1 and len(receipt[0][1]) == 1, "one statement, one value"
    skip = ("content-length", "set-cookie", "date", "server")
    return Replay(
        form_page=_slots(form.text, csrf=fields["csrf_token"], key=fields["submission_key"]),
        thanks_page=_slots(thanks.text, code=found.group(1)),
        headers=[(k.encode(), v.encode()) for k, v in form.headers.items() if k not in skip],
        post_statements=_split(post),
        thanks_statement=receipt[0][0],
        thanks_param=next(iter(receipt[0][1])),
    )


def _csrf(binding: str) -> str:
    return hmac.new(SECRET, binding.encode(), hashlib.sha256).hexdigest()


def _cookies(scope: dict[str, Any]) -> dict[str, str]:
    jar: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                jar[key] = val
    return jar


class Floor:
    """The one-layer ASGI app."""

    def __init__(self, url: str, replay: Replay) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self.replay = replay
        self.pool: asyncio.Queue[Any] = asyncio.Queue()

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        jar, route = _cookies(scope), (scope["method"], scope["path"])
        if route == ("GET", "/report"):
            await self._form(jar, send)
        elif route == ("POST", "/report"):
            await self._post(jar, await _body(receive), send)
        elif route == ("GET", "/report/thanks"):
            await self._thanks(jar, send)
        else:
            await self._answer(send, 404, b"", [])

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        import psycopg

        while (await receive())["type"] == "lifespan.startup":
            for _ in range(CONNECTIONS):
                conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
                self.pool.put_nowait(conn)
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})

    async def _form(self, jar: dict[str, str], send: Send) -> None:
        binding = jar.get("b") or secrets.token_urlsafe(16)
        page = self.replay.form_page.format(csrf=_csrf(binding), key=secrets.token_urlsafe(24))
        cookie = f"b={binding}; HttpOnly; SameSite=Lax; Path=/"
        await self._answer(send, 200, page.encode(), [(b"set-cookie", cookie.encode())])

    async def _post(self, jar: dict[str, str], body: bytes, send: Send) -> None:
        from saferstreets.accounts.sessions import seal_code, token_hash
        from saferstreets.reports.schemas import parse_submission

        form: dict[str, Any] = {"reasons": []}  # the reasons ticked: a list, as in the app
        for name, value in parse_qsl(body.decode()):
            if name == "reasons":
                form[name].append(value)
            else:
                form[name] = value
        if not hmac.compare_digest(_csrf(jar.get("b", "")), form.get("csrf_token", "")):
            await self._answer(send, 403, b"", [])
            return
        key, token, code = form["submission_key"], secrets.token_urlsafe(24), secrets.token_hex(6)
        hidden = ("csrf_token", "submission_key", "action")
        parse_submission({k: v for k, v in form.items() if k not in hidden})
        bucket = "report:" + secrets.token_hex(16)
        fresh = {"public_id": str(uuid.uuid4()), "receipt": seal_code(key, code),
                 "receipt_hash": hashlib.sha256(code.encode()).hexdigest(),
                 "key": bucket, "key_1": bucket}  # fmt: skip
        conn = await self.pool.get()
        try:
            async with conn.transaction(), conn.pipeline():
                for text, params in self.replay.post_statements:
                    values = {k: fresh.get(k, v) for k, v in params.items()}
                    # the receipt's row is keyed by its cookie token, the others by the form's key
                    own = token if text.lstrip().startswith("INSERT INTO web_session") else key
                    for name in ("id_hash", "id_hash_1"):
                        if name in values:
                            values[name] = token_hash(own)
                    await conn.execute(text, values or None)
        finally:
            self.pool.put_nowait(conn)
        cookie = f"r={token}; HttpOnly; SameSite=Lax; Path=/"
        headers = [(b"location", b"/report/thanks"), (b"set-cookie", cookie.encode())]
        await self._answer(send, 303, b"", headers)

    async def _thanks(self, jar: dict[str, str], send: Send) -> None:
        from saferstreets.accounts.sessions import token_hash

        conn = await self.pool.get()
        try:
            params = {self.replay.thanks_param: token_hash(jar.get("r", ""))}
            row = await (await conn.execute(self.replay.thanks_statement, params)).fetchone()
        finally:
            self.pool.put_nowait(conn)
        page = self.replay.thanks_page.format(code="FOUND" if row else "GONE")
        await self._answer(send, 200, page.encode(), [(b"set-cookie", b"r=; Max-Age=0; Path=/")])

    async def _answer(
        self, send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]
    ) -> None:
        length = [(b"content-length", str(len(body)).encode())]
        headers = self.replay.headers + extra + length
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def app() -> Floor:
    """uvicorn's factory: each worker captures its own replay from the real app."""
    url = os.environ["SAFERSTREETS_BENCH_FLOOR_URL"]
    return Floor(url, capture(url))


def main(port: int, workers: int, url: str) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from saferstreets.web.serving import tcp_listener

    os.environ["SAFERSTREETS_BENCH_FLOOR_URL"] = url
    config = uvicorn.Config("bench.intake_floor:app", factory=True, host="127.0.0.1", port=port,
                            workers=workers, access_log=False, log_level="warning")  # fmt: skip
    if workers <= 1:
        uvicorn.Server(config).run()
        return
    sock = tcp_listener(config.bind_socket())  # TCP_NODELAY kept, as `saferstreets serve`
    Multiprocess(config, sockets=[sock]).run()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
