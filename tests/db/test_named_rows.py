"""Rows read by name: a NamedTuple row type whose fields must be the statement's columns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import NamedTuple

import pytest

from conftest import MakeDatabase, settings_for
from pam_proactive.config import Settings
from pam_proactive.data.queries import BatchStatements
from pam_proactive.data.rows import TripRow, UserRow
from pam_proactive.db.connection import Database

OpenDatabase = Callable[[str, Settings], Awaitable[Database]]


class _Pair(NamedTuple):
    a: int
    b: str


async def test_rows_come_back_as_the_row_type_and_a_reordered_select_fails(
        make_database: MakeDatabase, open_database: OpenDatabase) -> None:
    uri = await make_database("seed")
    db = await open_database(uri, settings_for(database_url=uri))
    rows = await db.fetch("test.pair", "SELECT 1 AS a, 'x' AS b", row_type=_Pair)
    assert rows == [_Pair(1, "x")] and rows[0].b == "x"
    with pytest.raises(TypeError, match=r"_Pair: the statement returns columns \('b', 'a'\)"):
        await db.fetch("test.pair", "SELECT 'x' AS b, 1 AS a", row_type=_Pair)


@pytest.mark.parametrize("preset", ["seed", "wheels-wins-live"])
async def test_the_batch_statements_select_their_row_types_fields(
        make_database: MakeDatabase, open_database: OpenDatabase, preset: str) -> None:
    uri = await make_database(preset)
    settings = settings_for(preset, database_url=uri)
    db = await open_database(uri, settings)
    st = BatchStatements.for_schema(settings.engine_schema)
    nobody = {"ids": "{}", "today": "{}", "lo": None, "hi": None, "now": None}
    # No rows, but the columns are checked against the fields all the same.
    assert await db.fetch(*st.users_by_id, {"ids": "{}"}, row_type=UserRow) == []
    assert await db.fetch(*st.trips, nobody, row_type=TripRow) == []
