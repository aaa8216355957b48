"""The demo's own reads of the engine's tables (named, parameterized statements)."""

from __future__ import annotations

from pam_proactive.db.connection import Statement, StatementSet


class DemoStatements(StatementSet):
    """The demo's statements; ``DemoStatements.for_schema(schema)`` binds them for one engine
    schema."""

    # Travelers with at least one notification (an outbox row not cancelled), those with three
    # or more (a daily digest counts as one, whatever it gathers), those with a notification
    # of their own (sent at once or after quiet hours) and those with a digest (its items): on
    # the demo's fresh database, what its one sweep told them.
    told = Statement(
        "demo.told",
        "SELECT count(*), count(*) FILTER (WHERE singles + digest >= 3),"
        " count(*) FILTER (WHERE singles > 0), count(*) FILTER (WHERE digest = 1) FROM ("
        " SELECT user_id, count(*) FILTER (WHERE NOT digest_item AND event <> 'digest')"
        " AS singles, bool_or(digest_item)::int AS digest FROM {s}.outbox"
        " WHERE cancelled_at IS NULL GROUP BY user_id) per_user",
    )
