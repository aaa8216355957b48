"""Typed settings read from the environment (the seed's variable names).

A wrong value stops startup with a :class:`ConfigurationError` naming the variable.
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pam_proactive.errors import ConfigurationError

PresetName = Literal["seed", "wheels-wins-live"]
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Environment variable name for each field, used to name the culprit in error messages.
_ENV_NAMES = {
    "database_url": "DATABASE_URL (or SUPABASE_DB_URL)",
    "preset": "PAM_PRESET",
    "engine_schema": "PAM_SCHEMA",
    "cache_ttl": "PAM_CACHE_TTL",
    "cache_max_entries": "PAM_CACHE_MAX_ENTRIES",
    "batch_size": "PAM_BATCH_SIZE",
    "query_timeout": "PAM_QUERY_TIMEOUT",
    "pool_min_size": "PAM_POOL_MIN_SIZE",
    "pool_max_size": "PAM_POOL_MAX_SIZE",
    "work_mem_mb": "PAM_WORK_MEM_MB",
    "data_dir": "PAM_DATA_DIR",
    "slow_query_seconds": "PAM_SLOW_QUERY_SECONDS",
    "max_retries": "PAM_MAX_RETRIES",
    "webhook_url": "PAM_WEBHOOK_URL",
    "webhook_secret": "PAM_WEBHOOK_SECRET",
    "cooldown_days": "PAM_COOLDOWN_DAYS",
    "daily_cap": "PAM_DAILY_CAP",
    "transaction_pooler": "PAM_TRANSACTION_POOLER",
    "full_sweep_hours": "PAM_FULL_SWEEP_HOURS",
    "change_overlap_seconds": "PAM_CHANGE_OVERLAP_SECONDS",
    "expiry_refresh_minutes": "PAM_EXPIRY_REFRESH_MINUTES",
    "watch_interval": "PAM_WATCH_INTERVAL",
    "watch_debounce": "PAM_WATCH_DEBOUNCE",
}


ROOT_DATA_DIR = Path("/var/lib/pam-proactive/pgdata")


def default_data_dir() -> Path:
    """Directory for the embedded PostgreSQL data: the user's XDG data home, or for root
    /var/lib/pam-proactive. As root the server runs as a system user, which must be able to
    reach the directory: root's home is private, and opening it up is not ours to do."""
    import platformdirs

    if os.name == "posix" and os.geteuid() == 0:
        return ROOT_DATA_DIR
    return Path(platformdirs.user_data_dir("pam-proactive")) / "pgdata"


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
    work_mem_mb: int = Field(default=64, ge=1, le=4096)
    data_dir: Path | None = None
    slow_query_seconds: float = Field(default=1.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    transaction_pooler: bool | None = Field(
        default=None, description="None: detect Supabase's pooler port 6543")
    cooldown_days: float = Field(default=7.0, ge=0, description="days after a dismissal")
    daily_cap: int = Field(default=3, ge=0, description="notifications per user per local day")
    # Incremental sweeps and the watcher (jobs/incremental.py, jobs/watch.py).
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

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        if not value.startswith(("postgresql://", "postgres://")) and "=" not in value:
            raise ValueError("must be a postgresql:// URL or a libpq key=value string")
        return value

    @field_validator("engine_schema")
    @classmethod
    def _check_schema(cls, value: str) -> str:
        if not _SCHEMA_RE.match(value):
            raise ValueError("must be a lower-case SQL identifier such as pam_proactive")
        return value

    @model_validator(mode="after")
    def _check_webhook(self) -> Settings:
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("PAM_WEBHOOK_SECRET is required when PAM_WEBHOOK_URL is set")
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise ValueError("PAM_WEBHOOK_URL must be an http(s) URL")
        return self

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


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides (CLI flags) winning.

    Raises :class:`ConfigurationError` naming the offending variable.
    """
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            if err["loc"]:
                field = str(err["loc"][0])
                problems.append(f"{_ENV_NAMES.get(field, field)}: {err['msg']}")
            else:  # a rule across fields: its message names the variables
                problems.append(str(err["msg"]).removeprefix("Value error, "))
        raise ConfigurationError(
            "invalid configuration: " + "; ".join(problems) + ". Fix the variable and restart."
        ) from None
