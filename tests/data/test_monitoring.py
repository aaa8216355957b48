"""get_active_users_for_monitoring: the seed's name for "users with recent activity"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from conftest import PRESETS, MakeDatabase, settings_for
from pam_proactive.data.integration import MonitoredUser, ProactiveDataIntegrator
from pam_proactive.db.connection import Database
from planting import Planter

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


@pytest.fixture(params=PRESETS)
async def planted(request: pytest.FixtureRequest, make_database: MakeDatabase
                  ) -> AsyncIterator[tuple[ProactiveDataIntegrator, dict[str, UUID]]]:
    preset: str = request.param
    uri = await make_database(preset)
    with Planter(uri, preset) as p:
        users = {name: p.user() for name in ("spender", "traveler", "attendee", "idle")}
        users["opted_out"] = p.user(opted_out=True)
        users["inactive"] = p.user(status="inactive")
        p.expense(users["spender"], 40, "food", date(2026, 11, 20))
        p.expense(users["idle"], 40, "food", date(2026, 9, 1))  # older than 30 days
        p.trip(users["traveler"], "Denver, CO", "Moab, UT", date(2026, 12, 10),
               date(2026, 12, 12), 350)
        p.event(users["attendee"], "Rally", datetime(2026, 12, 5, 16, tzinfo=UTC),
                location="Quartzsite, AZ")
        for name in ("opted_out", "inactive"):
            p.expense(users[name], 40, "food", date(2026, 11, 20))
    settings = settings_for(preset, batch_size=2)
    db = Database(uri, settings)
    await db.open()
    try:
        yield ProactiveDataIntegrator(db, settings), users
    finally:
        await db.close()


async def test_users_with_recent_activity_as_records(
        planted: tuple[ProactiveDataIntegrator, dict[str, UUID]]) -> None:
    api, users = planted
    found = await api.get_active_users_for_monitoring(NOW, limit=100)
    expected = sorted(users[n] for n in ("spender", "traveler", "attendee"))
    assert found == [MonitoredUser(uid) for uid in expected]  # in id order, across pages
    assert [user.id for user in found] == await api.get_users_for_monitoring(NOW)
    assert await api.get_active_users_for_monitoring(NOW, limit=2) == found[:2]
    wider = await api.get_active_users_for_monitoring(NOW, activity_days=120, limit=None)
    assert [u.id for u in wider] == sorted([*expected, users["idle"]])
