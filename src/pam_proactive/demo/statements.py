"""The demo's own reads of the engine's tables (named, parameterized statements)."""

from __future__ import annotations

from pam_proactive.db.connection import Statement, StatementSet


class DemoStatements(StatementSet):
    """The demo's statements; ``DemoStatements.for_schema(schema)`` binds them for one engine
    schema."""

    # Travelers with at least one notification (an outbox row not cancelled), and those with
    # three or more: on the demo's fresh database, what its one sweep told them.
    told = Statement(
        "demo.told",
        "SELECT count(*), count(*) FILTER (WHERE n >= 3) FROM ("
        " SELECT user_id, count(*) AS n FROM {s}.outbox"
        " WHERE cancelled_at IS NULL GROUP BY user_id) per_user",
    )
