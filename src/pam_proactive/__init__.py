"""pam-proactive: proactive suggestions computed from travelers' real PostgreSQL data."""

__version__ = "0.1.0"
