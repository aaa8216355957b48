"""Supabase's primitives on the embedded PostgreSQL, and the Data API's way of acting.

``fixtures/supabase.sql`` defines the roles ``anon``, ``authenticated`` and ``service_role``,
``auth.uid()``/``auth.jwt()`` reading ``request.jwt.claims``, the ``supabase_realtime``
publication and ``realtime.broadcast_changes`` as a stub recording its calls in
``realtime.messages``. :func:`acting` does what PostgREST does for each request: in a
transaction, ``SET LOCAL ROLE`` and the request's claims as a transaction-local setting.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg

FIXTURES = Path(__file__).parent / "fixtures"
SUPABASE_SQL = FIXTURES / "supabase.sql"


def install_supabase(uri: str) -> None:
    """Give the database at ``uri`` Supabase's primitives (idempotent)."""
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(SUPABASE_SQL.read_text().encode())


def claims_for(user: UUID | None, role: str = "authenticated") -> dict[str, object]:
    """A JWT's claims as Supabase Auth issues them (without ``sub`` when ``user`` is None)."""
    claims: dict[str, object] = {"role": role, "aud": role}
    if user is not None:
        claims["sub"] = str(user)
    return claims


@contextmanager
def acting(conn: psycopg.Connection[Any], role: str,
           claims: dict[str, object] | None = None, *, topic: str | None = None,
           commit: bool = False) -> Iterator[psycopg.Cursor[Any]]:
    """A transaction as the Data API runs a request: ``role`` and ``claims`` set locally
    (``topic``: the Realtime channel being authorised). Rolled back at the end unless
    ``commit``."""
    # On a connection already in a transaction this would be a savepoint, whose SET LOCAL
    # outlives it: the Data API's transaction is always a top-level one.
    assert conn.autocommit, "act on an autocommit connection: one transaction per request"
    with conn.transaction(force_rollback=not commit), conn.cursor() as cur:
        cur.execute(f"SET LOCAL ROLE {role}")  # a fixed role name, never user input
        if claims is not None:
            cur.execute("SELECT set_config('request.jwt.claims', %s, true)",
                        (json.dumps(claims),))
        if topic is not None:
            cur.execute("SELECT set_config('realtime.topic', %s, true)", (topic,))
        yield cur
