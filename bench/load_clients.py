"""The load generator of ``bench_load``: public reporters and staff, as asyncio tasks.

A reporter fills in the form as a person would (GET the form, POST it) and keeps sending the
same form, with its one-time key, until it is acknowledged (303, then the receipt): after a
connection reset, a 503 (whose page must give her words back) or a 500. Every acknowledged
report is recorded with the unique marker in its text, for the count check. Staff read the
overview and the safeguarding queue and create local issues (acknowledged = 303).

Reporters speak HTTP through ``Browser`` (one keep-alive connection and a cookie jar, on asyncio
streams), staff through httpx: the reporters make nearly all the requests, and httpx cost about
5 ms of the load generator's CPU per report on this 2-core machine, beside the server's.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
KEY = re.compile(r'name="submission_key" value="([^"]+)"')
RECEIPT = re.compile(r'id="receipt-code">([^<]+)<')


@dataclass
class Stats:
    phase: str = "warm-up"
    post_ms: dict[str, list[float]] = field(default_factory=dict)  # by phase, acknowledged POSTs
    statuses: dict[str, Counter] = field(default_factory=dict)  # by phase, every POST /report
    acked: dict[str, int] = field(default_factory=dict)  # by phase
    acked_markers: list[str] = field(default_factory=list)
    receipts: dict[str, str] = field(default_factory=dict)  # marker -> receipt code
    resent_same_receipt: int = 0  # a re-sent form answered with the first receipt
    unsaved_kept_words: int = 0  # 503 pages that gave her words back
    unsaved_lost_words: int = 0  # 503 pages that did not (must stay 0)
    transport_errors: int = 0
    staff_ms: list[float] = field(default_factory=list)
    staff_statuses: Counter = field(default_factory=Counter)
    issues_acked: list[str] = field(default_factory=list)
    client_failures: list[str] = field(default_factory=list)
    unsaved_causes: Counter = field(default_factory=Counter)

    def count(self, status: int | str, ms: float | None = None) -> None:
        self.statuses.setdefault(self.phase, Counter())[str(status)] += 1
        if ms is not None:
            self.post_ms.setdefault(self.phase, []).append(ms)


def _fields(page: str, marker: str, point: tuple[float, float]) -> dict[str, str] | None:
    csrf, key = CSRF.search(page), KEY.search(page)
    if not csrf or not key:
        return None
    return {
        "csrf_token": csrf.group(1),
        "submission_key": key.group(1),
        "action": "send",
        "latitude": f"{point[0]:.6f}",
        "longitude": f"{point[1]:.6f}",
        "occurred_on": time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400)),
        "time_band": "evening",
        "reasons": "poor_lighting",
        "free_text": f"{marker} no lights along the path",
    }


async def _form(client: Browser, stats: Stats, deadline: float) -> str | None:
    while time.monotonic() < deadline:
        try:
            page = await client.get("/report")
            if page.status_code == 200:
                return page.text
        except httpx.HTTPError:
            stats.transport_errors += 1
        await asyncio.sleep(0.2)
    return None


async def _send_until_acknowledged(
    client: Browser, stats: Stats, fields: dict[str, str], marker: str, deadline: float
) -> None:
    tries = 0
    while time.monotonic() < deadline:
        tries += 1
        started = time.perf_counter()
        try:
            answer = await client.post("/report", data=fields)
        except httpx.HTTPError:  # a worker killed under it, the connection reset
            stats.transport_errors += 1
            stats.count("reset")
            await asyncio.sleep(0.2)
            continue
        ms = (time.perf_counter() - started) * 1000
        if answer.status_code == 303:
            stats.count(303, ms)
            try:
                code = RECEIPT.search((await client.get("/report/thanks")).text)
            except httpx.HTTPError:  # acknowledged (303) all the same; the receipt page was lost
                stats.transport_errors += 1
                code = None
            stats.acked[stats.phase] = stats.acked.get(stats.phase, 0) + 1
            stats.acked_markers.append(marker)
            if code:
                stats.receipts[marker] = code.group(1)
            stats.resent_same_receipt += tries > 1
            return
        stats.count(answer.status_code)
        if answer.status_code == 503:
            kept = marker in answer.text and KEY.search(answer.text)
            stats.unsaved_kept_words += bool(kept)
            stats.unsaved_lost_words += not kept
            await asyncio.sleep(min(float(answer.headers.get("retry-after", "1")), 1.0))
            continue
        if answer.status_code >= 500:
            await asyncio.sleep(0.5)
            continue
        return  # 4xx: not expected here; counted in the statuses


@dataclass
class Answer:
    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class Browser:
    """One keep-alive HTTP/1.1 connection with a cookie jar: what a reporter's browser does, at
    a fraction of httpx's CPU per request (the load generator shares the server's two cores).

    It speaks just the HTTP the reporter needs (Content-Length or chunked bodies, no redirects
    followed) and raises ``httpx.ReadError`` when the connection fails, as httpx would; the
    next request opens a new connection.
    """

    def __init__(self, base: str, timeout: float = 30.0, source: str | None = None) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.source = source  # the address it connects from (loopback has all of 127/8)
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._close()

    def _close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None

    async def get(self, path: str) -> Answer:
        return await self._request("GET", path, b"")

    async def post(self, path: str, data: dict[str, str]) -> Answer:
        return await self._request("POST", path, urlencode(data).encode())

    async def _request(self, method: str, path: str, body: bytes) -> Answer:
        try:
            return await asyncio.wait_for(self._exchange(method, path, body), self.timeout)
        except (OSError, EOFError, ValueError, asyncio.IncompleteReadError, TimeoutError) as exc:
            self._close()
            raise httpx.ReadError(f"{method} {path}: {type(exc).__name__}") from exc

    async def _exchange(self, method: str, path: str, body: bytes) -> Answer:
        if self.streams is not None and self.streams[0].at_eof():  # closed by the server when idle
            self._close()
        if self.streams is None:
            local = (self.source, 0) if self.source else None
            self.streams = await asyncio.open_connection(self.host, self.port, local_addr=local)
        reader, writer = self.streams
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if cookie:
            head += f"Cookie: {cookie}\r\n"
        if method == "POST":
            head += "Content-Type: application/x-www-form-urlencoded\r\n"
        writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        answer = await self._read(reader)
        if answer.headers.get("connection", "").lower() == "close":
            self._close()
        return answer

    async def _read(self, reader: asyncio.StreamReader) -> Answer:
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in filter(None, lines[1:]):
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                self._keep(value)
            headers[name] = value
        if headers.get("transfer-encoding", "").lower() == "chunked":
            content = b""
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                content += (await reader.readexactly(size + 2))[:-2]
            await reader.readuntil(b"\r\n")
        else:
            content = await reader.readexactly(int(headers.get("content-length", "0")))
        return Answer(status, headers, content)

    def _keep(self, set_cookie: str) -> None:
        pair, *attributes = set_cookie.split(";")
        name, _, value = pair.strip().partition("=")
        gone = any(a.strip().lower() in ("max-age=0", "max-age=-1") for a in attributes)
        if gone or not value.strip('"'):
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value


def reporter_address(base: str, number: int) -> str | None:
    """On loopback, each reporter connects from an address of its own (127.0.0.2 and on), as
    each phone has one: the server's per-client rate-limit buckets are then one per reporter,
    not one row that every report of the run must lock in turn."""
    if urlsplit(base).hostname != "127.0.0.1":
        return None
    return f"127.0.{number // 250}.{2 + number % 250}"


async def reporter(
    base: str,
    number: int,
    stats: Stats,
    points: list[tuple[float, float]],
    stop: asyncio.Event,
    deadline: float,
) -> None:
    async with Browser(base, source=reporter_address(base, number)) as client:
        n = 0
        while not stop.is_set() and time.monotonic() < deadline:
            page = await _form(client, stats, deadline)
            marker = f"bench-{number}-{n}"
            fields = _fields(page or "", marker, points[(number * 7919 + n) % len(points)])
            if fields is None:
                continue
            await _send_until_acknowledged(client, stats, fields, marker, deadline)
            n += 1


async def staff(
    base: str,
    number: int,
    stats: Stats,
    ward: str,
    stop: asyncio.Event,
    deadline: float,
    writes: bool,
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        if not await _sign_in(client, deadline):
            return
        n = 0
        while not stop.is_set() and time.monotonic() < deadline:
            path = ("/staff/overview", "/staff/safeguarding")[n % 2]
            n += 1
            started = time.perf_counter()
            try:
                page = await client.get(path)
                stats.staff_statuses[f"GET {page.status_code}"] += 1
                stats.staff_ms.append((time.perf_counter() - started) * 1000)
                if writes and n % 2 == 0 and (csrf := CSRF.search(page.text)):
                    await _new_issue(
                        client, stats, csrf.group(1), ward, f"bench-issue-{number}-{n}"
                    )
            except httpx.HTTPError:
                stats.staff_statuses["reset"] += 1
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.05)


async def _sign_in(client: httpx.AsyncClient, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            page = await client.get("/login")
            csrf = CSRF.search(page.text)
            data: dict[str, Any] = {
                "username": "admin",
                "password": "demo-password",
                "csrf_token": csrf.group(1) if csrf else "",
            }
            if (await client.post("/login", data=data)).status_code == 303:
                return True
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)
    return False


async def _new_issue(
    client: httpx.AsyncClient, stats: Stats, csrf: str, ward: str, title: str
) -> None:
    answer = await client.post(
        "/staff/issues", data={"csrf_token": csrf, "ward_code": ward, "title": title}
    )
    stats.staff_statuses[f"POST {answer.status_code}"] += 1
    if answer.status_code == 303:
        stats.issues_acked.append(title)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
