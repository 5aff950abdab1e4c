"""Real receivers for alerts: an SMTP server (aiosmtpd) and an HTTP endpoint that checks the
signature the way docs/alerts.md tells a control room to, both on 127.0.0.1, started per test."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from tests.reports.county import import_tiny_county

from saferstreets.config import Settings

SECRET = "control-room-shared-secret-0123456789"
DUTY = "duty@force.example"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """aiosmtpd handler keeping each message received."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "data": envelope.content.decode("utf-8", "replace"),
            }
        )
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """An SMTP server on a fixed local port that a test can start and stop."""

    port: int
    inbox: Inbox = field(default_factory=Inbox)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A running SMTP server (``smtp.stop()``/``start()`` to take it down and up)."""
    server = SmtpServer(port=free_port())
    server.start()
    yield server
    server.stop()


def verify_like_a_control_room(headers: Any, body: bytes, secret: str = SECRET) -> bool:
    """The recipe in docs/alerts.md, written out independently of saferstreets' own code."""
    timestamp = headers.get("X-Saferstreets-Timestamp", "")
    signature = headers.get("X-Saferstreets-Signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest("sha256=" + expected.hexdigest(), signature)


@dataclass
class Receiver:
    """An HTTP endpoint that records each POST, checks its signature and answers as told."""

    url: str
    answers: list[int]  # status codes to give in turn; the last one repeats
    received: list[dict[str, Any]] = field(default_factory=list)

    def next_status(self) -> int:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    @property
    def accepted(self) -> list[dict[str, Any]]:
        return [r for r in self.received if r["status"] == 200]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A control room's webhook endpoint on 127.0.0.1; 401 for a bad signature."""
    box = Receiver(url="", answers=[200])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            signed = verify_like_a_control_room(self.headers, body)
            status = box.next_status() if signed else 401
            box.received.append(
                {"headers": dict(self.headers), "body": body, "signed": signed, "status": status}
            )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box
    server.shutdown()
    server.server_close()


@pytest.fixture
def county(engine: sa.Engine, tmp_path: Path) -> sa.Engine:
    import_tiny_county(engine, tmp_path / "county")
    return engine


@pytest.fixture
def alert_settings(settings: Settings, smtp: SmtpServer, receiver: Receiver) -> Settings:
    """The test store's settings with both channels pointed at the local receivers."""
    return Settings(
        **{
            **settings.model_dump(),
            "public_base_url": "https://saferstreets.force.example",
            "alert_smtp_host": "127.0.0.1",
            "alert_smtp_port": smtp.port,
            "alert_smtp_starttls": False,
            "alert_email_from": "alerts@force.example",
            "alert_email_to": DUTY,
            "alert_webhook_url": receiver.url,
            "alert_webhook_secret": SECRET,
            "alert_retry_seconds": 30,
            "alert_max_attempts": 3,
            "alert_timeout_seconds": 5,
        }
    )


def webhook_json(record: dict[str, Any]) -> dict[str, Any]:
    return json.loads(record["body"])
