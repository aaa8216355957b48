"""The demo contains every suggestion type, whatever its date: the real sweep over seeded
demo travelers finds each of the 11 types on dates spread over the year."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from conftest import MakeDatabase, settings_for
from pam_proactive.demo import seed_demo_data
from pam_proactive.engine import open_engine
from pam_proactive.jobs.sweep import sweep

TYPES = {
    "fuel_low", "budget_exceeded", "budget_forecast_overspend", "budget_threshold",
    "spending_anomaly", "event_travel_planning", "departure_reminder", "maintenance_overdue",
    "maintenance_due_soon", "document_expiring", "fuel_economy_drop",
}
USERS = 300


@pytest.mark.parametrize("now", [
    datetime(2026, 1, 2, 15, 0, tzinfo=UTC),  # early January, a Friday
    datetime(2026, 6, 1, 15, 0, tzinfo=UTC),  # a month's first day (a Monday)
    datetime(2026, 9, 30, 23, 30, tzinfo=UTC),  # a month's last day, late
], ids=lambda d: d.date().isoformat())
async def test_every_suggestion_type_on_any_date(make_database: MakeDatabase,
                                                 now: datetime) -> None:
    uri = await make_database("seed")
    settings = settings_for("seed", batch_size=150)
    async with await psycopg.AsyncConnection.connect(uri) as conn:
        await seed_demo_data(conn, users=USERS, seed=3, now=now,
                             engine_schema=settings.engine_schema)
    async with open_engine(settings, conninfo=uri) as engine:
        report = await sweep(engine, now, dry_run=True)
    assert report.users >= 0.9 * USERS
    missing = TYPES - set(report.by_type)
    assert not missing, f"no {sorted(missing)} on {now:%Y-%m-%d}"
    # Each condition is a share of travelers, not everyone: none fires for most of them.
    assert max(report.by_type.values()) < 0.6 * report.users, dict(report.by_type)
