"""The demo reads like a real population, whatever its date: the real sweep (stored and
delivered) over 1,000 seeded demo travelers tells a minority something, rarely three things,
finds every suggestion type except those the demo says its rules rule out on that date, and
the events it asks travelers to plan a drive for are drivable before they start."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import psycopg
import pytest

from conftest import MakeDatabase, settings_for
from pam_proactive.demo import seed_demo_data
from pam_proactive.demo.summary import demo_ruled_out, told
from pam_proactive.engine import open_engine
from pam_proactive.jobs.pipeline.evaluate import Evaluation
from pam_proactive.jobs.pipeline.selection import Everyone
from pam_proactive.suggestions.detectors.budget import FORECAST, THRESHOLD

TYPES = {
    "fuel_low", "budget_exceeded", "budget_forecast_overspend", "budget_threshold",
    "spending_anomaly", "event_travel_planning", "departure_reminder", "maintenance_overdue",
    "maintenance_due_soon", "document_expiring", "fuel_economy_drop",
}
USERS = 1_000
DRIVE_PER_DAY = 500  # miles: farther than this per day until the event is not a plan


@pytest.mark.parametrize("now", [
    datetime(2026, 1, 2, 15, 0, tzinfo=UTC),  # early January, a Friday
    datetime(2026, 6, 1, 15, 0, tzinfo=UTC),  # a month's first day (a Monday)
    datetime(2026, 9, 30, 23, 30, tzinfo=UTC),  # a month's last day, late
    datetime(2026, 12, 3, 15, 0, tzinfo=UTC),  # no budget forecast possible (README)
    # Friday evening across the US, Saturday in UTC: the rows follow the travelers' calendar
    # (dated by UTC, departures and fills a day off doubled fuel_low and departure reminders).
    datetime(2026, 12, 5, 3, 0, tzinfo=UTC),
], ids=lambda d: d.date().isoformat())
async def test_a_realistic_population_on_any_date(make_database: MakeDatabase,
                                                  now: datetime) -> None:
    uri = await make_database("seed")
    settings = settings_for("seed", batch_size=250)
    async with await psycopg.AsyncConnection.connect(uri) as conn:
        await seed_demo_data(conn, users=USERS, seed=42, now=now,  # the demo's default
                             engine_schema=settings.engine_schema)
    async with open_engine(settings, conninfo=uri) as engine:
        run = Evaluation(engine, now, Everyone())
        found = await run.collect()
        report = run.report
        result = await told(engine, report.users)
    assert report.users >= 0.9 * USERS

    # Most travelers are told nothing today; very few get three things or more.
    assert 0.10 <= result.share <= 0.30, result
    assert result.told_three_or_more <= 0.015 * report.users, result
    per_traveler = Counter(s.candidate.user_id for s in found)
    assert sum(n >= 3 for n in per_traveler.values()) <= 0.02 * report.users

    # Every type occurs, except those the demo says its rules rule out on this date; a
    # forecast it rules out never occurs.
    ruled = demo_ruled_out(now, set(report.by_type), engine.detector_settings)
    missing = TYPES - set(report.by_type)
    assert missing <= set(ruled), f"no {sorted(missing - set(ruled))} on {now:%Y-%m-%d}"
    assert set(ruled) <= {FORECAST, THRESHOLD}
    if now.date() == date(2026, 12, 3):
        assert FORECAST in ruled and FORECAST not in report.by_type
    assert max(report.by_type.values()) < 0.08 * report.users, dict(report.by_type)

    # An event to plan a drive for is one the traveler can drive to before it starts.
    events = [s.candidate for s in found if s.candidate.type == "event_travel_planning"]
    assert events
    for c in events:
        days = (date.fromisoformat(str(c.data["starts_on"])) - now.date()).days
        assert c.data["distance_miles"] <= DRIVE_PER_DAY * max(days, 1), c.message
