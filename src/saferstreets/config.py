"""Settings: one pydantic-settings class, from SAFERSTREETS_* variables and optional TOML."""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from saferstreets.crime.offences import HARM_WEIGHTS, WOMENS_SAFETY_TYPES
from saferstreets.errors import ConfigError

DEV_SECRET = "dev-only-insecure-secret-change-me"  # noqa: S105 - refused outside development


class SupportService(BaseModel):
    """A support service the urgent thank-you page signposts: name, phone number, who it is for."""

    name: str = Field(min_length=1, max_length=120)
    phone: str = Field(
        pattern=r"^[0-9 ]{3,20}$", description="Digits and spaces, e.g. 0808 2000 247"
    )
    detail: str = Field(default="", max_length=300)

    @property
    def tel(self) -> str:
        """The number for a ``tel:`` link (digits only)."""
        return self.phone.replace(" ", "")


# National services in England and Wales, free to call, as each describes itself (checked
# 2026-12-02). A force sets its own list (local services, Wales, Scotland) with
# SAFERSTREETS_SUPPORT_SERVICES, a JSON list of {"name", "phone", "detail"}.
DEFAULT_SUPPORT_SERVICES = [
    SupportService(
        name="National Domestic Abuse Helpline (Refuge)",
        phone="0808 2000 247",
        detail="Free, confidential, 24 hours a day.",
    ),
    SupportService(
        name="Rape Crisis 24/7 Rape & Sexual Abuse Support Line",
        phone="0808 500 2222",
        detail="Free, 24 hours a day, for anyone aged 16 or over affected by sexual violence.",
    ),
    SupportService(
        name="Victim Support Supportline",
        phone="0808 168 9111",
        detail="Free and confidential, 24 hours a day, whether or not you told the police.",
    ),
    SupportService(
        name="Childline", phone="0800 1111", detail="Free, for children and young people."
    ),
    SupportService(
        name="Samaritans", phone="116 123", detail="Free, any time, if you need someone to talk to."
    ),
]


class Settings(BaseSettings):
    """Everything a deployment can change, with the defaults a development machine wants.

    Values come, highest first, from keyword arguments, ``SAFERSTREETS_*`` environment
    variables, and the TOML file named by ``SAFERSTREETS_CONFIG`` (if any).
    """

    model_config = SettingsConfigDict(env_prefix="SAFERSTREETS_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(
        default=Path("var"), description="Where the SQLite store and files live."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is SQLite in data_dir/saferstreets.db."
    )
    secret_key: str = Field(default=DEV_SECRET, description="Signs cookies and CSRF tokens.")
    host: str = "127.0.0.1"
    port: int = 8000
    force_name: str = Field(default="Demo County Police", description="Shown on public pages.")
    tile_url: str | None = Field(
        default=None, description="Map tile URL template; none means boundaries are the base map."
    )
    tile_attribution: str = ""
    h3_resolution: int = Field(
        default=9, ge=5, le=12, description="H3 resolution stored with points."
    )
    public_min_count: int = Field(default=10, ge=1, description="Counts below this are suppressed.")
    themes_min_labels: int = Field(
        default=30, ge=1, description="Analyst theme labels needed before a theme model is trained."
    )
    nte_nights: list[int] = Field(
        default=[4, 5], description="Night-time-economy nights (Monday = 0): Friday and Saturday."
    )
    womens_safety_crime_types: list[str] = Field(
        default_factory=lambda: list(WOMENS_SAFETY_TYPES),
        min_length=1,
        description="police.uk crime types counted as women's safety (assessment and plans).",
    )
    harm_weights: dict[str, float] = Field(
        default_factory=lambda: dict(HARM_WEIGHTS),
        description="Harm weight of each police.uk crime type in plan demand and ward need.",
    )
    nte_start_hour: int = Field(default=20, ge=0, le=23, description="NTE window opens (hour).")
    nte_end_hour: int = Field(default=4, ge=0, le=23, description="NTE window closes next morning.")
    quick_exit_url: str = Field(
        default="https://www.bbc.co.uk/weather",
        pattern=r"^https://",
        description="The neutral site the quick-exit button and the Escape key go to.",
    )
    report_rate_limit: int = Field(
        default=10, ge=1, description="Public reports accepted per client per hour (per worker)."
    )
    max_body_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        description="Largest request body a public page accepts, in bytes, chunked or not.",
    )
    max_staff_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body a staff page (/staff) accepts, in bytes.",
    )
    lookup_rate_limit: int = Field(
        default=30,
        ge=1,
        description="Receipt-code look-ups and place searches per client per hour.",
    )
    # --- staff sessions and sign-in (docs/guide-admin.md, "Sessions and sign-in") ---
    session_idle_minutes: int = Field(
        default=30, ge=1, description="A staff session ends after this long without a request."
    )
    session_lifetime_hours: float = Field(
        default=8, gt=0, description="A staff session ends this long after sign-in, whatever use."
    )
    signin_free_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins (per account and per client) before delays."
    )
    signin_lockout_failures: int = Field(
        default=10,
        ge=2,
        description="Failed sign-ins within the window that lock the account or client.",
    )
    signin_lockout_minutes: int = Field(
        default=15, ge=1, description="How long a lock lasts after the last failed sign-in."
    )
    signin_window_minutes: int = Field(
        default=60, ge=1, description="Failed sign-ins are counted over this many minutes."
    )
    signin_hash_concurrency: int = Field(
        default=2,
        ge=1,
        description="Password checks run at once per process (each Argon2 check uses 64 MiB).",
    )
    # Public figures move in published batches (``saferstreets publish``), never live.
    publish_hour: int = Field(
        default=6,
        ge=0,
        le=23,
        description="Hour of the day (UTC) from which `saferstreets publish --if-due` publishes.",
    )
    publish_min_new_reports: int = Field(
        default=10,
        ge=1,
        description="Reports added or removed in a ward before its public figures move.",
    )

    # --- safeguarding: the urgent thank-you page ---------------------------------------------
    support_services: list[SupportService] = Field(
        default_factory=lambda: list(DEFAULT_SUPPORT_SERVICES),
        max_length=12,
        description="Support services signposted after an urgent report (JSON list of name, "
        "phone, detail); 999 and 101 are always shown first.",
    )

    # --- danger-now alerts (docs/alerts.md) ---
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        pattern=r"^https?://[^/\s]+",
        description="The app's address as staff reach it; alert links start with it.",
    )
    alert_smtp_host: str | None = Field(
        default=None, description="SMTP server for alert emails; none means no email channel."
    )
    alert_smtp_port: int = Field(default=587, ge=1, le=65535)
    alert_smtp_starttls: bool = Field(default=True, description="Upgrade to TLS before login.")
    alert_smtp_username: str | None = None
    alert_smtp_password: SecretStr | None = None
    alert_email_from: str = "saferstreets@localhost"
    alert_email_to: str | None = Field(
        default=None, description="The duty inbox (comma-separated for several)."
    )
    alert_webhook_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="The control room's endpoint for signed alerts; none means no webhook.",
    )
    alert_webhook_secret: SecretStr | None = Field(
        default=None, description="Shared secret for the webhook's HMAC-SHA256 signature."
    )
    alert_max_attempts: int = Field(default=6, ge=1, le=50)
    alert_retry_seconds: float = Field(
        default=30.0, ge=0, description="First retry delay; it doubles at each attempt."
    )
    alert_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    alert_poll_seconds: float = Field(default=5.0, gt=0, le=3600)
    alert_worker: bool = Field(
        default=True, description="Deliver alerts from a loop inside each app process."
    )
    job_queue_url: str | None = Field(
        default=None,
        description="Where the job queue (huey) keeps its messages: none for a SQLite file in "
        "data_dir, or redis://host:port/db for several servers.",
    )
    job_worker_threads: int = Field(default=2, ge=1, le=32, description="Jobs run at once.")
    job_heartbeat_seconds: float = Field(
        default=5.0, gt=0, le=600, description="How often a running job says it is alive."
    )
    job_stale_seconds: float = Field(
        default=60.0, gt=0, le=86400, description="A running job silent this long is re-run."
    )

    @field_validator("job_queue_url")
    @classmethod
    def _job_queue_is_known(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("use redis://host:port/db, or leave it unset for SQLite")
        return value or None

    @model_validator(mode="after")
    def _job_heartbeats_before_stale(self) -> Settings:
        if self.job_stale_seconds < 2 * self.job_heartbeat_seconds:
            raise ValueError(
                "SAFERSTREETS_JOB_STALE_SECONDS must be at least twice "
                "SAFERSTREETS_JOB_HEARTBEAT_SECONDS, or live jobs would be taken for dead"
            )
        return self

    @model_validator(mode="after")
    def _alert_channels_complete(self) -> Settings:
        if self.alert_smtp_host and not self.alert_email_to:
            raise ValueError(
                "SAFERSTREETS_ALERT_EMAIL_TO: set the duty inbox that alert emails go to"
            )
        if self.alert_webhook_url and not (
            self.alert_webhook_secret and len(self.alert_webhook_secret.get_secret_value()) >= 16
        ):
            raise ValueError(
                "SAFERSTREETS_ALERT_WEBHOOK_SECRET: a webhook needs a shared secret of at least "
                "16 characters to sign its alerts"
            )
        return self

    @field_validator("harm_weights")
    @classmethod
    def _harm_weights_are_weights(cls, value: dict[str, float]) -> dict[str, float]:
        bad = sorted(k for k, v in value.items() if not math.isfinite(v) or v < 0)
        if bad:
            raise ValueError(f"harm weights must be 0 or more: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.env == "production" and self.secret_key == DEV_SECRET:
            raise ValueError(
                "SAFERSTREETS_SECRET_KEY is still the development default; set a long random "
                "value before running in production"
            )
        if self.env == "production" and len(self.secret_key) < 32:
            raise ValueError(
                "SAFERSTREETS_SECRET_KEY is too short for production; use at least 32 random "
                "characters, for example from: "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL in effect (SQLite in the data directory unless one is given)."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{(self.data_dir / 'saferstreets.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[Any] = [init_settings, env_settings]
        toml_path = os.environ.get("SAFERSTREETS_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_path)))
        return tuple(sources)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings``).

    An invalid setting is a ``ConfigError`` naming the variable, never a validation traceback.
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"])
            variable = f"SAFERSTREETS_{name.upper()}" if name else "settings"
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(message if not name else f"{variable}: {message}")
        raise ConfigError(
            "; ".join(problems), hint="see docs/operating.md for every setting"
        ) from None
