"""The two ways an alert reaches a person: an email to the duty inbox and a signed webhook.

Each channel takes an ``AlertMessage`` (what an alert may say: never a report's words or point)
and either returns or raises ``DeliveryError`` with a short reason fit for the status page.

The webhook is signed as Stripe and GitHub sign theirs: the HMAC-SHA256, keyed with the shared
secret, of ``"<timestamp>." + body`` (the exact bytes sent), in hex, sent as
``X-Saferstreets-Signature: sha256=<hex>`` beside ``X-Saferstreets-Timestamp: <unix seconds>``
and ``X-Saferstreets-Alert-Id``. The receiver recomputes it, compares in constant time and
refuses a timestamp more than five minutes from its clock, so a captured request cannot be
replayed later; the alert id lets it drop a repeat (delivery is at least once).
"""

from __future__ import annotations

import hmac
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol

from saferstreets.config import Settings

SIGNATURE_HEADER = "X-Saferstreets-Signature"
TIMESTAMP_HEADER = "X-Saferstreets-Timestamp"
ALERT_ID_HEADER = "X-Saferstreets-Alert-Id"
REPLAY_WINDOW_SECONDS = 300


class DeliveryError(Exception):
    """A channel could not deliver; the message is short and holds nothing from the report."""


@dataclass(frozen=True)
class AlertMessage:
    """Everything an alert says. Built from the outbox row, so it cannot carry the report."""

    alert_id: str
    urgency: str
    reasons: list[str]
    ward: str | None
    district: str | None
    received_hour: str  # ISO, UTC, to the hour
    link: str

    @property
    def area(self) -> str:
        """ "Castle ward, North district", or what is known of it."""
        parts = [
            f"{self.ward} ward" if self.ward else "",
            f"{self.district} district" if self.district else "",
        ]
        return ", ".join(p for p in parts if p) or "area not known"

    def as_json(self) -> bytes:
        """The webhook body: compact JSON, keys sorted, so the signed bytes are stable."""
        body = {
            "alert_id": self.alert_id,
            "kind": "saferstreets.urgent_report",
            "urgency": self.urgency,
            "reasons": self.reasons,
            "area": {"ward": self.ward, "district": self.district},
            "received_hour": self.received_hour,
            "link": self.link,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def email_text(self) -> str:
        return (
            "An urgent public report needs a person to read it now.\n\n"
            f"Urgency: {self.urgency}\n"
            f"Why it was flagged: {'; '.join(self.reasons) or self.urgency}\n"
            f"Area: {self.area}\n"
            f"Received: {self.received_hour.replace('T', ' ')[:16]} UTC (to the hour)\n\n"
            f"Read it in the safeguarding queue (sign in first):\n{self.link}\n\n"
            "This message holds none of the report's words and no place finer than the ward.\n"
            f"Alert {self.alert_id}\n"
        )


class Channel(Protocol):
    name: str

    def send(self, message: AlertMessage) -> None: ...


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 keyed with ``secret`` over ``timestamp + "." + body``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, "sha256")
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float,
    window: int = REPLAY_WINDOW_SECONDS,
) -> bool:
    """The receiver's check (documented in docs/alerts.md and used by the tests' receiver)."""
    try:
        age = abs(now - int(timestamp))
    except ValueError:
        return False
    return age <= window and hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass
class EmailChannel:
    """An email to the duty inbox over SMTP (STARTTLS unless turned off; implicit TLS on 465)."""

    settings: Settings
    name: str = "email"

    def send(self, message: AlertMessage) -> None:
        s = self.settings
        mail = EmailMessage()
        mail["Subject"] = f"Urgent report: {message.urgency}, {message.area}"
        mail["From"] = s.alert_email_from
        mail["To"] = s.alert_email_to or ""
        mail["Message-ID"] = make_msgid(idstring=message.alert_id)
        mail["X-Saferstreets-Alert-Id"] = message.alert_id
        mail.set_content(message.email_text())
        try:
            with _smtp(s) as smtp:
                if s.alert_smtp_starttls and s.alert_smtp_port != 465:
                    smtp.starttls(context=ssl.create_default_context())
                if s.alert_smtp_username and s.alert_smtp_password:
                    smtp.login(s.alert_smtp_username, s.alert_smtp_password.get_secret_value())
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"email: {type(exc).__name__}: {str(exc)[:160]}") from None


def _smtp(s: Settings) -> smtplib.SMTP:
    host = s.alert_smtp_host or ""
    if s.alert_smtp_port == 465:
        return smtplib.SMTP_SSL(
            host, s.alert_smtp_port, timeout=s.alert_timeout_seconds,
            context=ssl.create_default_context(),
        )  # fmt: skip
    return smtplib.SMTP(host, s.alert_smtp_port, timeout=s.alert_timeout_seconds)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A signed alert goes to the configured URL or nowhere: a redirect is a failure."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class WebhookChannel:
    """A signed JSON POST to the control room's endpoint; any 2xx answer is delivery."""

    settings: Settings
    name: str = "webhook"
    clock: Any = None  # returns unix seconds; time.time unless a test injects one

    def send(self, message: AlertMessage) -> None:
        import time

        s = self.settings
        secret = s.alert_webhook_secret.get_secret_value() if s.alert_webhook_secret else ""
        body = message.as_json()
        timestamp = str(int((self.clock or time.time)()))
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's, http(s) only
            s.alert_webhook_url or "",
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "saferstreets-alerts/1",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: sign(secret, timestamp, body),
                ALERT_ID_HEADER: message.alert_id,
            },
        )
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=s.alert_timeout_seconds) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"webhook: HTTP {exc.code}") from None
        except (OSError, ValueError) as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}: {str(exc)[:160]}") from None
        if not 200 <= status < 300:
            raise DeliveryError(f"webhook: HTTP {status}")


def configured_channels(settings: Settings) -> list[Channel]:
    """The channels the settings turn on (an SMTP host; a webhook URL), email first."""
    found: list[Channel] = []
    if settings.alert_smtp_host and settings.alert_email_to:
        found.append(EmailChannel(settings))
    if settings.alert_webhook_url and settings.alert_webhook_secret:
        found.append(WebhookChannel(settings))
    return found
