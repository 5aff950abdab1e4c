"""Staff accounts, roles and the audit trail."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saferstreets.db import Base
from saferstreets.models_common import JSONType, utcnow

ROLES = ("admin", "analyst", "supervisor", "ward_officer", "partner")


class User(Base):
    """A staff or partner account. Ward officers are scoped to wards, partners to a partner name."""

    __tablename__ = "user_account"
    __table_args__ = (sa.UniqueConstraint("username", name="uq_user_account_username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64))
    display_name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16))
    wards: Mapped[list] = mapped_column(JSONType, default=list)
    partner: Mapped[str | None] = mapped_column(sa.String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Every view or change of a sensitive record: who, what, when."""

    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_event_object", "object_kind", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(sa.String(32))  # view, create, update, delete, export
    object_kind: Mapped[str] = mapped_column(sa.String(32))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    detail: Mapped[dict | None] = mapped_column(JSONType)


class WebSession(Base):
    """A server-side session. The browser's cookie holds a random token; only its SHA-256 is here.

    ``user_id`` is set for a signed-in account; an anonymous session (no user) exists only to
    show a reporter her receipt code once, sealed under the token (see ``accounts.sessions``).
    """

    __tablename__ = "web_session"
    __table_args__ = (
        sa.Index("ix_web_session_user_id", "user_id"),
        sa.Index("ix_web_session_expires_at", "expires_at"),
    )

    id_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()  # the absolute end, whatever the activity
    data: Mapped[dict | None] = mapped_column(JSONType)


class SigninFailure(Base):
    """One failed sign-in, counted against a keyed digest of the account and of the client.

    ``key`` is ``a:`` or ``c:`` and an HMAC (under a key derived from the secret key) of the
    username typed or of the client address: neither is stored. Rows older than the counting
    window are deleted as new failures arrive.
    """

    __tablename__ = "signin_failure"
    __table_args__ = (
        sa.Index("ix_signin_failure_key_at", "key", "at"),
        sa.Index("ix_signin_failure_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(66))
    at: Mapped[datetime] = mapped_column()


class PasswordReset(Base):
    """A one-time link an admin gives a user to set her own password.

    Only the SHA-256 of the link's token is kept. It works once (``used_at``), until
    ``expires_at``, and only while it is the account's latest link (an admin who makes a new
    one, or a use, ends the others).
    """

    __tablename__ = "password_reset"
    __table_args__ = (sa.Index("ix_password_reset_user_id", "user_id"),)

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class RateLimitKey(Base):
    """The random key under which client addresses are digested for rate limits, one per hour.

    Shared by every worker and server through the store, and deleted once it is two hours old:
    after that nothing links a bucket's digest to an address (``accounts.rate_limits``).
    """

    __tablename__ = "rate_limit_key"

    epoch: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(sa.String(64))  # hex of 32 random bytes


class RateBucket(Base):
    """One client's recent requests against one limit: ``name:`` and an HMAC of its address
    under the hour's ``RateLimitKey``, with the times (Unix seconds) of requests let through."""

    __tablename__ = "rate_bucket"
    __table_args__ = (sa.Index("ix_rate_bucket_updated_at", "updated_at"),)

    key: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    stamps: Mapped[list] = mapped_column(JSONType, default=list)
    updated_at: Mapped[datetime] = mapped_column()
