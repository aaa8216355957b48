"""The one exception hierarchy of pam-proactive.

Every error says what to do next. Messages never carry traveler data (no emails, names,
amounts or locations): ids and setting names only.
"""

from __future__ import annotations


class PamError(Exception):
    """Base class of every error raised by pam-proactive."""


class ConfigurationError(PamError):
    """A setting is missing or invalid. The message names the setting."""


class DataSourceError(PamError):
    """The traveler database could not answer."""


class TransientDataSourceError(DataSourceError):
    """A failure worth retrying: connection lost, serialization failure, pool timeout."""


class DatabaseUnavailableError(TransientDataSourceError):
    """The database cannot be reached and no cached value could stand in."""


class SchemaError(DataSourceError):
    """The database does not match the chosen preset. Run `pam-proactive doctor`."""


class InvalidUserIdError(PamError, ValueError):
    """A user id is not a UUID."""


class InvalidPreferencesError(PamError, ValueError):
    """A traveler's preference change was refused; the message names the field and why."""


class MigrationError(PamError):
    """A migration failed or was changed after it was applied."""


class PresetMismatchError(MigrationError):
    """The traveler tables do not fit the chosen preset; the message names the preset they
    look like, or how to create the reference tables or write a preset. Nothing was changed."""


class EmbeddedDatabaseError(PamError):
    """The embedded PostgreSQL server could not be started."""


class DeliveryError(PamError):
    """A delivery channel failed after its retries."""


class UnknownUserError(PamError, LookupError):
    """No traveler with this id in the database (or not visible to the engine's role)."""


class DatabaseUnreachableError(DataSourceError):
    """A first connection was refused or timed out: the server is not there (wrong URL, down,
    firewalled). Not retried: retries are for transient errors in the middle of work."""


class SeedConflictError(PamError):
    """Demo travelers of this seed are already in the database: seed again with another."""


class BrokerUnavailableError(PamError):
    """The Celery broker (Redis) did not accept a task. Check ``REDIS_URL`` and that Redis is
    up; the watcher keeps what it was sending and retries with backoff."""
