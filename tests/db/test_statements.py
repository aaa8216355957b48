"""Statement modules compose their texts for one engine schema through one helper."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import pytest
from psycopg import sql

from pam_proactive.api.statements import ApiStatements
from pam_proactive.data.queries import Statements
from pam_proactive.db.connection import in_schema, schema_statements
from pam_proactive.reports.statements import ReportStatements

PING = "SELECT 1 FROM {s}.ping"


@dataclass(frozen=True, slots=True)
class _Pair:
    ping: sql.Composed


@dataclass(frozen=True, slots=True)
class _Orphan:
    ping: sql.Composed
    pong: sql.Composed


def test_in_schema_quotes_the_schema() -> None:
    assert in_schema(PING, 'odd "name"').as_string(None) == 'SELECT 1 FROM "odd ""name""".ping'


def test_each_field_gets_the_text_named_after_it() -> None:
    pair = schema_statements(_Pair, "engine", {"PING": PING})
    assert pair.ping.as_string(None) == 'SELECT 1 FROM "engine".ping'


def test_a_field_without_a_text_fails_at_composition() -> None:
    with pytest.raises(TypeError, match=r"_Orphan\.pong: no statement text PONG"):
        schema_statements(_Orphan, "engine", {"PING": PING})


@pytest.mark.parametrize("cls", [Statements, ApiStatements, ReportStatements])
def test_every_module_statement_names_the_schema(cls: Any) -> None:
    composed = cls.for_schema("eng_x")
    texts = [getattr(composed, f.name).as_string(None) for f in fields(cls)]
    assert texts and all("{s}" not in t for t in texts)
    assert any('"eng_x".' in t for t in texts)
