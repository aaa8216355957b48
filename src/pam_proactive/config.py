"""Typed settings read from the environment (the seed's variable names).

A wrong value stops startup with a :class:`ConfigurationError` naming the variable or flag.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from pam_proactive.errors import ConfigurationError

PresetName = Literal["seed", "wheels-wins-live"]
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Fields whose values are never echoed in an error message: they may carry a password.
_SECRET_FIELDS = frozenset({"database_url", "webhook_url", "webhook_secret",
                            "operator_webhook_url", "operator_webhook_secret", "api_token",
                            "supabase_jwt_secret", "supabase_jwks"})


# Standard Webhooks secrets: "whsec_" + base64 of 24 to 64 random bytes (as Svix issues them).
WEBHOOK_SECRET_PREFIX = "whsec_"
_SECRET_BYTES = (24, 64)
# Svix's schedule after the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_RETRY_SCHEDULE = "5s,5m,30m,2h,5h,10h,10h"
_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
CHANNEL_NAMES = ("webhook",)  # the push channels the engine knows
OUTBOX_ONLY = "none"  # PAM_CHANNELS value: no push channel, the outbox row is the delivery
# Priorities a daily digest may gather (PAM_DIGEST_PRIORITIES); critical always goes at once.
DIGEST_PRIORITY_LABELS = ("low", "medium", "high")


def parse_levels(text: str) -> tuple[int, int, int]:
    """``"2,3,4"``: the answers for adaptation levels 1, 2 and 3, increasing, 1 to 100."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError("must be three whole numbers such as 2,3,4 (levels 1, 2 and 3)")
    low, mid, high = (int(p) for p in parts)
    if not 1 <= low < mid < high <= 100:
        raise ValueError("must increase from level 1 to 3, between 1 and 100 answers")
    return low, mid, high


def parse_webhook_secret(text: str) -> bytes:
    """The key bytes of one ``whsec_<base64>`` secret; ValueError saying what is wrong (never
    echoing the value)."""
    text = text.strip()
    if not text.startswith(WEBHOOK_SECRET_PREFIX):
        raise ValueError(f"must be a Standard Webhooks secret: {WEBHOOK_SECRET_PREFIX}<base64>")
    try:
        key = base64.b64decode(text.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"is not valid base64 after {WEBHOOK_SECRET_PREFIX}") from None
    low, high = _SECRET_BYTES
    if not low <= len(key) <= high:
        raise ValueError(f"must hold {low} to {high} bytes of key (it holds {len(key)})")
    return key


def parse_webhook_secrets(text: str) -> tuple[bytes, ...]:
    """A comma-separated list of ``whsec_`` secrets: the first is the newest; every one signs
    each request while a rotation is under way."""
    parts = [p for p in (part.strip() for part in text.split(",")) if p]
    if not parts:
        raise ValueError("must hold at least one secret")
    return tuple(parse_webhook_secret(p) for p in parts)


def parse_duration(text: str) -> float:
    """Seconds of a duration written ``<number><s|m|h|d>`` (``5s``, ``30m``, ``2h``)."""
    match = _DURATION_RE.match(text.strip())
    if not match:
        raise ValueError(f"{text.strip()!r} is not a duration such as 5s, 30m or 2h")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def parse_digest_priorities(text: str) -> tuple[str, ...]:
    """The priority labels of a comma list such as ``low,medium``, in rank order."""
    labels = {part.strip().lower() for part in text.split(",") if part.strip()}
    if not labels or not labels <= set(DIGEST_PRIORITY_LABELS):
        raise ValueError("must list one or more of low, medium, high (critical is always sent "
                         "at once)")
    return tuple(p for p in DIGEST_PRIORITY_LABELS if p in labels)


def parse_retry_schedule(text: str) -> tuple[float, ...]:
    """The delays (seconds) before each retry, from a comma list of durations."""
    delays = tuple(parse_duration(part) for part in text.split(",") if part.strip())
    if not delays:
        raise ValueError("must list at least one delay, e.g. 5s,5m,30m,2h,5h,10h,10h")
    if min(delays) <= 0:  # a drain retries nothing at its own `now`: delays must move on
        raise ValueError("every delay must be longer than zero")
    return delays


ROOT_DATA_DIR = Path("/var/lib/pam-proactive/pgdata")


def default_data_dir() -> Path:
    """Directory for the embedded PostgreSQL data: the user's XDG data home, or for root
    /var/lib/pam-proactive. As root the server runs as a system user, which must be able to
    reach the directory: root's home is private, and opening it up is not ours to do."""
    import platformdirs

    if os.name == "posix" and os.geteuid() == 0:
        return ROOT_DATA_DIR
    return Path(platformdirs.user_data_dir("pam-proactive")) / "pgdata"


# Where the watcher's batches are evaluated (PAM_WATCH_EXECUTOR; jobs/watcher/executors.py).
WatchExecutor = Literal["inprocess", "celery"]


class Settings(BaseSettings):
    """Every setting of the engine. Read once at startup with :func:`load_settings`."""

    model_config = SettingsConfigDict(env_prefix="PAM_", extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "SUPABASE_DB_URL", "PAM_DATABASE_URL"),
    )
    preset: PresetName = "seed"
    engine_schema: str = Field(default="pam_proactive", validation_alias="PAM_SCHEMA")
    cache_ttl: float = Field(default=300.0, ge=0, description="seconds")
    cache_max_entries: int = Field(default=100_000, ge=1)
    batch_size: int = Field(default=1000, ge=1, le=50_000)
    query_timeout: float = Field(default=30.0, gt=0, description="seconds")
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=4, ge=1)
    read_concurrency: int = Field(
        default=2, ge=1, le=64, description="column-wise (ADBC) reads running at once in one "
        "process, each on a connection of its own, besides the pool")
    work_mem_mb: int = Field(default=64, ge=1, le=4096)
    data_dir: Path | None = None
    slow_query_seconds: float = Field(default=1.0, gt=0)
    retry_max_seconds: float = Field(
        default=30.0, ge=0, le=600,
        description="seconds a transient database error is retried, with exponential backoff, "
        "counted from the first failure: long enough to ride out a restart; 0 = no retry")
    webhook_url: str | None = None
    webhook_secret: str | None = Field(
        default=None, description="whsec_<base64> secrets, comma-separated during a rotation "
        "(each one signs every request; the first is the newest)")
    # Delivery (suggestions/delivery.py): which channels the engine has, and how they send.
    channels: str | None = Field(
        default=None, description="the engine's push channels ('webhook') or 'none' for "
        "outbox-only; checked against the channels recorded in the database")
    delivery_concurrency: int = Field(
        default=16, ge=1, le=256, description="requests in flight per channel and process")
    delivery_timeout: float = Field(default=10.0, gt=0, le=120, description="seconds per "
                                    "request")
    delivery_retry_schedule: str = Field(
        default=DEFAULT_RETRY_SCHEDULE,
        description="delays before each retry after a failed attempt; dead after the last")
    delivery_jitter: float = Field(
        default=0.1, ge=0, le=0.5, description="each retry delay is scaled by a random factor "
        "in [1 - jitter, 1 + jitter]")
    circuit_failures: int = Field(
        default=10, ge=1, description="consecutive failures that open a channel's circuit")
    circuit_cooldown: float = Field(
        default=60.0, gt=0, description="seconds an open circuit waits before one probe")
    transaction_pooler: bool | None = Field(
        default=None, description="None: detect Supabase's pooler port 6543")
    cooldown_days: float = Field(default=7.0, ge=0, description="days after a dismissal")
    daily_cap: int = Field(default=3, ge=0, description="notifications per user per local day")
    # The daily digest (suggestions/digest.py): the engine-wide defaults of a traveler's choice.
    digest: bool = Field(
        default=True, description="gather non-urgent notifications into one a day (a "
        "traveler's own choice wins)")
    digest_hour: int = Field(default=8, ge=0, le=23, description="local hour of the digest")
    digest_priorities: str = Field(
        default="low,medium", description="priorities the digest gathers: low, medium, high")
    # Per-traveler adaptation from dismissal reasons (suggestions/adaptation.py). The global
    # thresholds themselves never move: only these settings change them.
    adaptation: bool = Field(default=True, description="learn from a traveler's dismissal "
                             "reasons (false: nothing adapts, nothing adapted applies)")
    adapt_window_days: int = Field(default=60, ge=1, le=365, description="days of answers "
                                   "counted for not_useful levels and too_early holds")
    adapt_not_useful_answers: str = Field(
        default="2,3,4", description="not_useful answers within the window for levels 1, 2 "
        "and 3 (longer cooldown, digest only, offer to turn the type off)")
    adapt_cooldown_factor: int = Field(default=2, ge=1, le=8, description="level 1 and up: "
                                       "the cooldown after a dismissal is multiplied by it")
    adapt_hold_step_days: int = Field(default=1, ge=1, le=7, description="days a type's "
                                      "first notification is held per too_early answer")
    adapt_hold_max_days: int = Field(default=7, ge=0, le=30, description="the longest hold")
    adapt_hold_notice_days: int = Field(default=2, ge=0, le=30, description="a hold ends at "
                                        "least this many days before the subject's deadline")
    connect_timeout: int = Field(
        default=5, ge=2, le=300,
        description="seconds to wait for a new connection (libpq connect_timeout)")
    operator_webhook_url: str | None = None  # fleet alerts for the operator
    operator_webhook_secret: str | None = None  # default: PAM_WEBHOOK_SECRET
    fleet_critical_score: float = Field(
        default=60.0, ge=0, le=100, description="vehicles scoring below this are critical")
    # Scheduled jobs (pam_proactive.jobs).
    redis_url: str = Field(default="redis://localhost:6379/0",
                           validation_alias=AliasChoices("REDIS_URL", "PAM_REDIS_URL"))
    job_range_size: int = Field(default=5000, ge=1, description="users per job range")
    job_range_timeout: float = Field(default=600.0, gt=0, description="seconds per range")
    job_max_attempts: int = Field(default=3, ge=1, le=20, description="tries of one range")
    job_history_days: float = Field(default=30.0, gt=0, description="days of job runs kept")
    outbox_retention_days: float = Field(default=30.0, ge=2, description="days of sent or "
                                         "cancelled notifications kept (the daily cap reads them)")
    # HTTP API (secrets are SecretStr: hidden in repr, logs and tracebacks).
    api_token: SecretStr | None = Field(default=None, description="16+ characters")
    supabase_jwt_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SUPABASE_JWT_SECRET", "PAM_SUPABASE_JWT_SECRET"))
    supabase_jwks: str | None = Field(
        default=None, description="a JWKS JSON document (the project's signing keys)",
        validation_alias=AliasChoices("SUPABASE_JWKS", "PAM_SUPABASE_JWKS"))
    supabase_jwks_url: str | None = Field(
        default=None, validation_alias=AliasChoices("SUPABASE_JWKS_URL", "PAM_SUPABASE_JWKS_URL"))
    jwt_audience: str = "authenticated"
    rate_limit_per_minute: float = Field(default=120.0, ge=0, description="0 turns it off")
    rate_limit_burst: int = Field(default=30, ge=1)
    stream_poll_seconds: float = Field(default=0.5, gt=0, le=10, description="seconds")
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0, description="seconds")
    stream_max_per_user: int = Field(
        default=5, ge=1, le=1000, description="concurrent streams of one traveler per API "
        "process; one more is refused with 429")
    # Incremental sweeps and the watcher (jobs/pipeline/state.py, jobs/watcher/watch.py).
    full_sweep_hours: float = Field(
        default=24.0, gt=0, le=24 * 31,
        description="hours between full passes: the bound on noticing deletes")
    change_overlap_seconds: float = Field(
        default=300.0, ge=0, le=86_400,
        description="seconds each change poll re-reads: longer than any writing transaction")
    expiry_refresh_minutes: float = Field(
        default=60.0, gt=0, description="re-evaluate this long before a rolling expiry")
    watch_interval: float = Field(default=1.0, gt=0, le=3600, description="seconds")
    watch_debounce: float = Field(
        default=0.1, ge=0, le=60, description="seconds of quiet before a traveler is evaluated")
    watch_executor: WatchExecutor = Field(
        default="inprocess",
        description="where the watcher's batches are evaluated: in its process, or as Celery "
        "tasks on the pam.events queue")

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        from psycopg.conninfo import conninfo_to_dict

        if not value.startswith(("postgresql://", "postgres://")) and "=" not in value:
            raise ValueError("should be a postgresql:// URL or a libpq key=value string")
        try:
            conninfo_to_dict(value)
        except Exception:  # libpq's message quotes the string, which may hold a password
            raise ValueError("is not a valid PostgreSQL URL: check its spelling") from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// URL, e.g. redis://localhost:6379/0")
        return value

    @field_validator("engine_schema")
    @classmethod
    def _check_schema(cls, value: str) -> str:
        if not _SCHEMA_RE.match(value):
            raise ValueError("should be a lower-case SQL identifier such as pam_proactive")
        return value

    @field_validator("api_token", "supabase_jwt_secret", mode="before")
    @classmethod
    def _blank_secret(cls, value: object) -> object:
        return None if isinstance(value, str) and value.strip() == "" else value

    @field_validator("api_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (a random secret)")
        return value

    @field_validator("supabase_jwks")
    @classmethod
    def _check_jwks(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        import json

        try:
            keys = json.loads(value).get("keys")
        except (ValueError, AttributeError):
            keys = None
        if not isinstance(keys, list) or not keys:
            raise ValueError('must be a JWKS JSON document: {"keys": [...]}')
        return value

    @field_validator("supabase_jwks_url")
    @classmethod
    def _check_jwks_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        if not value.startswith("https://"):
            raise ValueError("must be an https:// URL")
        return value

    @field_validator("webhook_secret", "operator_webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        parse_webhook_secrets(value)
        return value

    @field_validator("adapt_not_useful_answers")
    @classmethod
    def _check_levels(cls, value: str) -> str:
        parse_levels(value)
        return value

    @field_validator("delivery_retry_schedule")
    @classmethod
    def _check_schedule(cls, value: str) -> str:
        parse_retry_schedule(value)
        return value

    @field_validator("digest_priorities")
    @classmethod
    def _check_digest_priorities(cls, value: str) -> str:
        parse_digest_priorities(value)
        return value

    @field_validator("channels")
    @classmethod
    def _check_channels(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        names = channel_list(value)
        unknown = [n for n in names if n not in CHANNEL_NAMES]
        if unknown:
            raise ValueError(f"unknown channel {unknown[0]!r}: use "
                             f"{', '.join(CHANNEL_NAMES)} or {OUTBOX_ONLY!r} (outbox only)")
        return value

    @property
    def declared_channels(self) -> tuple[str, ...] | None:
        """PAM_CHANNELS as names (empty: outbox only), or None when unset."""
        return None if self.channels is None else channel_list(self.channels)

    @property
    def retry_delays(self) -> tuple[float, ...]:
        """PAM_DELIVERY_RETRY_SCHEDULE in seconds."""
        return parse_retry_schedule(self.delivery_retry_schedule)

    @model_validator(mode="after")
    def _check_webhook(self) -> Settings:
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("PAM_WEBHOOK_SECRET is required when PAM_WEBHOOK_URL is set")
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise ValueError("PAM_WEBHOOK_URL must be an http(s) URL")
        return self

    @model_validator(mode="after")
    def _check_operator_webhook(self) -> Settings:
        url = self.operator_webhook_url
        if url and not url.startswith(("http://", "https://")):
            raise ValueError("PAM_OPERATOR_WEBHOOK_URL must be an http(s) URL")
        if url and not self.operator_secret:
            raise ValueError("PAM_OPERATOR_WEBHOOK_SECRET (or PAM_WEBHOOK_SECRET) is required "
                             "when PAM_OPERATOR_WEBHOOK_URL is set")
        return self

    @property
    def operator_secret(self) -> str | None:
        """The operator webhook's signing secret: its own, else PAM_WEBHOOK_SECRET."""
        return self.operator_webhook_secret or self.webhook_secret

    @cached_property
    def uses_transaction_pooler(self) -> bool:
        """True behind a transaction-mode pooler (PAM_TRANSACTION_POOLER, else Supabase's port
        6543): no prepared statements, no session settings."""
        if self.transaction_pooler is not None:
            return self.transaction_pooler
        url = self.database_url or ""
        return ":6543" in url or "port=6543" in url

    def resolved_data_dir(self) -> Path:
        """Directory of the embedded server's data."""
        return self.data_dir or default_data_dir()


def channel_list(text: str) -> tuple[str, ...]:
    """Channel names of a PAM_CHANNELS value, sorted; ``none`` is the empty list."""
    names = sorted({p.strip().lower() for p in text.split(",") if p.strip()})
    if names == [OUTBOX_ONLY]:
        return ()
    if OUTBOX_ONLY in names:
        raise ValueError(f"{OUTBOX_ONLY!r} (outbox only) cannot be combined with channels")
    return tuple(names)


def env_names(field: str) -> tuple[str, ...]:
    """The environment variables that set ``field``, in the order they are read."""
    info = Settings.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(choice) for choice in alias.choices)
    if isinstance(alias, str):
        return (alias,)
    return ("PAM_" + field.upper(),)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides winning (None = unset).

    Raises :class:`ConfigurationError` with one line per problem naming what the user typed:
    the environment variable or the keyword argument.
    """
    return load_settings_with_flags(overrides, {})


def load_settings_with_flags(overrides: Mapping[str, object], flags: Mapping[str, str]
                             ) -> Settings:
    """:func:`load_settings` for a command line: ``flags`` maps an override's field to the
    flag the user typed (``{"preset": "--preset"}``), so that an error names the flag."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    replaced = [f"{old} is no longer read: {new}" for old, new in _REPLACED.items()
                if _env_has(old)]
    if replaced:
        raise ConfigurationError("; ".join(replaced))
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = [_describe(err, clean, flags) for err in exc.errors()]
        raise ConfigurationError("; ".join(problems)) from None


# Variables an earlier version read, with what replaced them: set, they stop startup rather
# than be silently ignored.
_REPLACED = {
    "PAM_MAX_RETRIES": "transient errors are retried for PAM_RETRY_MAX_SECONDS (default 30) "
                       "from the first failure; unset PAM_MAX_RETRIES",
}

_PLAIN_MESSAGES = {
    "int_parsing": "should be a whole number",
    "int_from_float": "should be a whole number",
    "float_parsing": "should be a number",
    "bool_parsing": "should be true or false",
}


def _describe(err: Any, overrides: Mapping[str, object], flags: Mapping[str, str]) -> str:
    """One problem as ``<what the user typed>: <what is wrong> (<what to do>)``."""
    message = _PLAIN_MESSAGES.get(err["type"]) or str(err["msg"])
    message = message.removeprefix("Value error, ").removeprefix("Input ")
    if not err["loc"]:  # a rule across fields: its message names the variables
        return message
    field = _field_of(str(err["loc"][0]))
    shown = "" if field in _SECRET_FIELDS else f"={err.get('input')}"
    if field in overrides:
        if field in flags:
            return f"{flags[field]}{shown.replace('=', ' ', 1)}: {message}"
        return f"{field}{shown}: {message}"
    variable = next((n for n in env_names(field) if _env_has(n)), env_names(field)[0])
    default = Settings.model_fields[field].default
    if default is None:
        hint = f"fix or unset {variable}"
    else:
        shown_default = f"{default:g}" if isinstance(default, float) else str(default)
        hint = f"unset {variable} for the default, {shown_default}"
    return f"{variable}{shown}: {message} ({hint})"


def _field_of(name: str) -> str:
    """The field an error location names: the field itself or one of its aliases."""
    if name in Settings.model_fields:
        return name
    return next((f for f in Settings.model_fields if name.upper() in env_names(f)), name)


def _env_has(name: str) -> bool:
    # pydantic-settings reads variable names case-insensitively
    return any(key.upper() == name.upper() for key in os.environ)
