"""Messy traveler data through the real data layer, on both presets: what the engine does
with dates, values outside their domain and records an app duplicated.

Each case is its own traveler planted in the preset's own tables; contexts are read by the
real loader (the views, the batch statements, the assembly) and the detectors run on them.
``NOW`` is Thursday 2026-12-03 19:00 UTC: 09:00 Thu Dec 3 in Honolulu, 12:00 in Denver,
06:00 Fri Dec 4 in Sydney.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from conftest import PRESETS, MakeDatabase, settings_for
from pam_proactive.analysis.fuel import UNKNOWN_FILL_SINCE, all_intervals, analyze_fuel
from pam_proactive.cli.contexts import context_lines
from pam_proactive.context import UserContext
from pam_proactive.engine import Engine, open_engine
from pam_proactive.suggestions.detectors import run_detectors
from pam_proactive.suggestions.models import Candidate
from planting import Planter

NOW = datetime(2026, 12, 3, 19, 0, tzinfo=UTC)
DENVER = {"lat": 39.7392, "lng": -104.9903}
ZONES = {"honolulu": "Pacific/Honolulu", "denver": "America/Denver", "sydney": "Australia/Sydney"}
SATURDAY = date(2026, 12, 5)
ALL_DAY = datetime.combine(SATURDAY, time.min, tzinfo=UTC)  # how calendars store all-day
BAD_ZONES = {"tz_mars": "Mars/Olympus_Mons", "tz_path": "../../etc/passwd", "tz_empty": "",
             "tz_huge": "A" * 10_000_000}


@dataclass
class Mess:
    preset: str
    engine: Engine
    users: dict[str, UUID]

    async def ctx(self, name: str, now: datetime = NOW) -> UserContext:
        uid = self.users[name]
        return (await self.engine.data.get_contexts([uid], now, use_cache=False))[uid]

    async def found(self, name: str, now: datetime = NOW) -> list[Candidate]:
        ctx = await self.ctx(name, now)
        return list(run_detectors(ctx, now, self.engine.detector_settings).candidates)


def _located(p: Planter, timezone: str | None = "America/Denver") -> UUID:
    """A traveler whose last (completed) trip ended in Denver."""
    uid = p.user(timezone=timezone)
    p.trip(uid, "Austin, TX", "Denver, CO", date(2026, 11, 1), date(2026, 11, 3), 900,
           status="completed",
           route_data={"origin": {"lat": 30.27, "lng": -97.74}, "destination": DENVER})
    return uid


def plant(p: Planter) -> dict[str, UUID]:
    u: dict[str, UUID] = {}
    # --- dates: an all-day rally on Sat Dec 5 and a timed one at 00:30 local on Sun Dec 6 ---
    for name, zone in ZONES.items():
        uid = u[f"allday_{name}"] = _located(p, zone)
        p.event(uid, "Xscapers convergence", ALL_DAY, ends_at=ALL_DAY + timedelta(days=1),
                location="Quartzsite, AZ", all_day=True)
        uid = u[f"timed_{name}"] = _located(p, zone)
        starts = datetime.combine(SATURDAY + timedelta(days=1), time(0, 30), ZoneInfo(zone))
        p.event(uid, "Swap meet", starts, ends_at=starts + timedelta(hours=3),
                location="Quartzsite, AZ")
    # --- values outside their domain ---------------------------------------------------------
    for name, category in (("budget_blank", ""), ("budget_spaces", "   ")):
        uid = u[name] = p.user()
        p.budget(uid, category, 100, period="yearly")
        p.expense(uid, 500, "food", date(2026, 12, 1))
    uid = u["budget_total"] = p.user()  # the schema's own word for "all categories"
    p.budget(uid, "total", 100)
    p.expense(uid, 500, "food", date(2026, 12, 1))
    for name, zone in BAD_ZONES.items():
        u[name] = p.user(timezone=zone)
    u["tz_missing"] = p.user(timezone=None)
    uid = u["odo_lone"] = p.user()
    p.vehicle(uid, tank_gallons=50, odometer_miles=2_147_483_647)
    uid = u["trip_typo"] = p.user()
    p.trip(uid, "Denver, CO", "Moab, UT", date(2026, 12, 4), date(2026, 12, 6), 3_500_000)
    # --- records an app duplicated ---------------------------------------------------------
    uid = u["dup_event"] = _located(p)
    for title, place in (("Quartzsite RV Show", "Quartzsite, AZ"),
                         ("Quartzsite RV Show", "Quartzsite, AZ"),  # re-imported
                         ("quartzsite  RV show", "QUARTZSITE, AZ")):  # the same, re-typed
        p.event(uid, title, ALL_DAY, location=place, all_day=True)
    p.event(uid, "Quartzsite RV Show", ALL_DAY + timedelta(days=1), location="Quartzsite, AZ",
            all_day=True)  # the next day: another event
    uid = u["dup_fill"] = p.user()
    p.vehicle(uid, tank_gallons=50, odometer_miles=10_400)
    p.fill(uid, date(2026, 11, 1), 30, 10_000)
    p.fill(uid, date(2026, 11, 10), 30, 10_300)
    p.fill(uid, date(2026, 11, 10), 30, 10_300)  # submitted twice
    uid = u["dup_expense"] = p.user()
    for day, base in zip(range(1, 6), (20, 22, 24, 26, 28), strict=True):
        p.expense(uid, base, "food", date(2026, 10, day))
    for _ in range(2):  # one 300 dinner entered twice
        p.expense(uid, 300, "food", date(2026, 12, 1), description="Anniversary dinner")
    p.expense(uid, 20, "food", date(2026, 12, 2), description="Coffee")
    p.expense(uid, 20, "food", date(2026, 12, 2), description="Groceries")  # not a copy
    # --- classes users of fuel-log and budget apps report ------------------------------------
    # A decimal comma read as a thousands separator ("15,65" -> 1565): an unusable volume
    # between two full fills, after the last full fill, and re-entered correctly that day.
    uid = u["fill_typo_between"] = p.user()
    p.vehicle(uid, tank_gallons=50, odometer_miles=10_650)
    p.fill(uid, date(2026, 11, 1), 30, 10_000)
    p.fill(uid, date(2026, 11, 10), 1565, 10_300)
    p.fill(uid, date(2026, 11, 20), 30, 10_600)
    uid = u["fill_typo_last"] = p.user()
    p.vehicle(uid, tank_gallons=50, odometer_miles=10_700)
    p.fill(uid, date(2026, 11, 1), 30, 10_000)
    p.fill(uid, date(2026, 11, 10), 30, 10_300)
    p.fill(uid, date(2026, 11, 20), 2000, 10_500)
    uid = u["fill_retyped"] = p.user()
    p.vehicle(uid, tank_gallons=50, odometer_miles=10_400)
    p.fill(uid, date(2026, 11, 1), 30, 10_000)
    p.fill(uid, date(2026, 11, 10), 1565, 10_300)
    p.fill(uid, date(2026, 11, 10), 15.65, 10_300)
    # Fill-ups logged out of order (an old receipt entered last) read as in date order.
    uid = u["fills_late_entry"] = p.user()
    p.vehicle(uid, tank_gallons=50, odometer_miles=10_700)
    for day, odo in ((20, 10_600), (1, 10_000), (10, 10_300)):
        p.fill(uid, date(2026, 11, day), 30, odo)
    # A fill-up dated in the future (a typo of the year): skipped and counted, not ignored.
    uid = u["fill_future"] = p.user()
    p.fill(uid, date(2026, 11, 1), 30, 10_000)
    p.fill(uid, date(2062, 11, 20), 30, 10_300)
    p.fill(uid, date(2026, 12, 4), 30, 10_300)  # tomorrow: not yet either
    # A service record whose next due date or mileage lies before the service itself.
    uid = u["maint_typo"] = p.user()
    p.vehicle(uid, tank_gallons=50, odometer_miles=30_500)
    p.maintenance(uid, "oil change", date(2026, 11, 1), 30_000,
                  next_due_date=date(2026, 10, 1), next_due_mileage=25_000)
    # A refund entered as a negative expense is not spending: skipped and counted.
    uid = u["refund"] = p.user()
    p.budget(uid, "food", 100)
    p.expense(uid, 90, "food", date(2026, 12, 1))
    p.expense(uid, -90, "food", date(2026, 12, 2))
    return u


@pytest.fixture(scope="module", params=PRESETS)
async def mess(request: pytest.FixtureRequest, make_database: MakeDatabase
               ) -> AsyncIterator[Mess]:
    preset: str = request.param
    uri = await make_database(preset)
    with Planter(uri, preset) as p:
        users = plant(p)
    async with open_engine(settings_for(preset), conninfo=uri) as engine:
        yield Mess(preset, engine, users)


def _events(found: list[Candidate]) -> list[Candidate]:
    return [c for c in found if c.type == "event_travel_planning"]


@pytest.mark.parametrize(("name", "away"), [("honolulu", "(in 2 days)"),
                                            ("denver", "(in 2 days)"),
                                            ("sydney", "(tomorrow)")])
async def test_an_all_day_event_is_its_own_date_everywhere(mess: Mess, name: str,
                                                           away: str) -> None:
    [found] = _events(await mess.found(f"allday_{name}"))
    assert f"starts Sat Dec 5 {away} in Quartzsite" in found.message, found.message
    assert found.data["starts_on"] == "2026-12-05"
    zone = ZoneInfo(ZONES[name])
    assert found.expires_at == datetime.combine(SATURDAY, time.min, tzinfo=zone)
    # `context` prints the same date as the suggestion.
    ctx = await mess.ctx(f"allday_{name}")
    assert "Sat 2026-12-05, all day: Xscapers convergence" in "\n".join(context_lines(ctx))
    [event] = ctx.calendar.events
    assert event.starts_on == SATURDAY and event.starts_at.isoformat().startswith("2026-12-05")


@pytest.mark.parametrize("name", list(ZONES))
async def test_around_local_midnight(mess: Mess, name: str) -> None:
    """A minute before the traveler's local midnight the rally is two days away; a minute
    after, tomorrow; a minute into Saturday it has started and is no longer suggested."""
    zone = ZoneInfo(ZONES[name])
    for day, minute, away in ((date(2026, 12, 3), time(23, 59), "(in 2 days)"),
                              (date(2026, 12, 4), time(0, 1), "(tomorrow)"),
                              (date(2026, 12, 4), time(23, 59), "(tomorrow)")):
        now = datetime.combine(day, minute, tzinfo=zone).astimezone(UTC)
        [found] = _events(await mess.found(f"allday_{name}", now))
        assert f"starts Sat Dec 5 {away}" in found.message, (now, found.message)
    started = datetime.combine(SATURDAY, time(0, 1), tzinfo=zone).astimezone(UTC)
    assert _events(await mess.found(f"allday_{name}", started)) == []


@pytest.mark.parametrize("name", list(ZONES))
async def test_a_timed_event_is_shown_in_local_time(mess: Mess, name: str) -> None:
    [found] = _events(await mess.found(f"timed_{name}"))
    assert "starts Sun Dec 6 at 12:30 AM" in found.message, found.message
    assert found.data["starts_on"] == "2026-12-06"
    ctx = await mess.ctx(f"timed_{name}")
    assert "Sun 2026-12-06 00:30" in "\n".join(context_lines(ctx))
    # JSON outputs (the API's context, `context --json`) print the same local date.
    [event] = ctx.calendar.events
    assert event.starts_on == date(2026, 12, 6)
    assert event.starts_at.isoformat().startswith("2026-12-06T00:30:00")


@pytest.mark.parametrize("name", ["budget_blank", "budget_spaces"])
async def test_a_budget_without_a_category_is_skipped_not_read_as_all_spending(
    mess: Mess, name: str
) -> None:
    ctx = await mess.ctx(name)
    assert ctx.financial.budgets == ()
    assert ctx.data_quality.skipped_rows["budget_category_invalid"] == 1
    assert not [c for c in await mess.found(name) if c.type.startswith("budget")]


async def test_a_total_budget_still_counts_every_category(mess: Mess) -> None:
    ctx = await mess.ctx("budget_total")
    [budget] = ctx.financial.budgets
    assert budget.category is None and budget.spent == 500
    assert "budget_category_invalid" not in ctx.data_quality.skipped_rows


@pytest.mark.parametrize("name", list(BAD_ZONES))
async def test_an_invalid_time_zone_is_counted_as_invalid_and_utc_is_said(mess: Mess,
                                                                          name: str) -> None:
    ctx = await mess.ctx(name)
    q = ctx.data_quality
    assert ctx.profile.timezone == "UTC" and ctx.today == date(2026, 12, 3)
    assert q.skipped_rows["timezone_invalid"] == 1
    assert "timezone" not in q.missing_sources  # invalid, not missing
    assert q.assumptions["timezone"].startswith("UTC")
    assert "quiet hours" in q.assumptions["timezone"]
    assert "assumed: timezone UTC" in "\n".join(context_lines(ctx))


async def test_a_missing_time_zone_is_missing_and_utc_is_said(mess: Mess) -> None:
    q = (await mess.ctx("tz_missing")).data_quality
    assert "timezone" in q.missing_sources and "timezone_invalid" not in q.skipped_rows
    assert q.assumptions["timezone"].startswith("UTC")


async def test_a_lone_impossible_odometer_is_not_the_vehicles(mess: Mess) -> None:
    ctx = await mess.ctx("odo_lone")
    assert ctx.vehicle.primary is not None and ctx.vehicle.primary.odometer_miles is None
    assert ctx.vehicle.max_odometer_miles is None
    assert ctx.data_quality.skipped_rows["odometer_implausible"] == 1


async def test_an_impossible_trip_distance_is_skipped(mess: Mess) -> None:
    ctx = await mess.ctx("trip_typo")
    [trip] = ctx.travel.trips
    assert trip.distance_miles is None
    assert ctx.data_quality.skipped_rows["trip_distance_implausible"] == 1


async def test_an_event_imported_twice_counts_once(mess: Mess) -> None:
    ctx = await mess.ctx("dup_event")
    assert len(ctx.calendar.events) == 2  # the show and the next day's, once each
    assert ctx.data_quality.skipped_rows["event_duplicate"] == 2
    found = _events(await mess.found("dup_event"))
    assert sorted(c.data["starts_on"] for c in found) == ["2026-12-05", "2026-12-06"]


async def test_a_fill_up_submitted_twice_counts_once(mess: Mess) -> None:
    ctx = await mess.ctx("dup_fill")
    assert [f.filled_on for f in ctx.vehicle.fills] == [date(2026, 11, 1), date(2026, 11, 10)]
    assert [round(f.odometer_miles or 0) for f in ctx.vehicle.fills] == [10_000, 10_300]
    assert ctx.data_quality.skipped_rows["fuel_fill_duplicate"] == 1


async def test_an_expense_entered_twice_counts_once(mess: Mess) -> None:
    ctx = await mess.ctx("dup_expense")
    food = ctx.financial.categories["food"]
    assert food.spent_month == 340  # 300 once, and both different 20s of Dec 2
    assert ctx.data_quality.skipped_rows["expense_duplicate"] == 1
    assert len(ctx.financial.recent_expenses) == 3
    anomalies = [c for c in await mess.found("dup_expense") if c.type == "spending_anomaly"]
    assert len(anomalies) == 1 and anomalies[0].data["amount"] == 300


async def test_an_unusable_fill_volume_breaks_the_chain_instead_of_vanishing(mess: Mess) -> None:
    """Dropped silently, the 1565-gallon typo would make Nov 1 -> Nov 20 one interval of
    600 miles on 30 gallons (20 mpg, twice the truth)."""
    ctx = await mess.ctx("fill_typo_between")
    assert ctx.data_quality.skipped_rows["fuel_volume_invalid"] == 1
    assert ctx.vehicle.unusable_fill_days == (date(2026, 11, 10),)
    assert all_intervals(ctx, mess.engine.detector_settings) == []
    # The level counts from the Nov 20 full fill, after the gap: 50 miles at an unknown
    # economy; nothing spans the gap.
    state = analyze_fuel(ctx, mess.engine.detector_settings).state
    assert state is not None and state.last_full_fill.filled_on == date(2026, 11, 20)


async def test_an_unusable_fill_after_the_last_full_one_leaves_the_level_unknown(
    mess: Mess,
) -> None:
    ctx = await mess.ctx("fill_typo_last")
    result = analyze_fuel(ctx, mess.engine.detector_settings)
    assert result.state is None and result.reason == UNKNOWN_FILL_SINCE
    assert not [c for c in await mess.found("fill_typo_last") if c.type == "fuel_low"]


async def test_a_fill_retyped_the_same_day_is_no_gap(mess: Mess) -> None:
    ctx = await mess.ctx("fill_retyped")
    assert ctx.vehicle.unusable_fill_days == ()
    assert ctx.data_quality.skipped_rows["fuel_volume_invalid"] == 1
    [interval] = all_intervals(ctx, mess.engine.detector_settings)
    assert interval.miles == pytest.approx(300, abs=0.01)


async def test_fill_ups_entered_out_of_order_read_in_date_order(mess: Mess) -> None:
    ctx = await mess.ctx("fills_late_entry")
    assert [f.filled_on.day for f in ctx.vehicle.fills] == [1, 10, 20]
    intervals = all_intervals(ctx, mess.engine.detector_settings)
    assert [round(i.mpg, 6) for i in intervals] == [10.0, 10.0]
    assert "odometer_backwards" not in ctx.data_quality.repaired_rows


async def test_a_refund_entered_as_a_negative_expense_is_skipped_and_counted(mess: Mess) -> None:
    ctx = await mess.ctx("refund")
    assert ctx.data_quality.skipped_rows["expense_amount_invalid"] == 1
    [budget] = ctx.financial.budgets
    assert budget.spent == 90  # the refund is neither spending nor netted silently


async def test_a_fill_up_dated_in_the_future_is_skipped_and_counted(mess: Mess) -> None:
    ctx = await mess.ctx("fill_future")
    assert [f.filled_on for f in ctx.vehicle.fills] == [date(2026, 11, 1)]
    assert ctx.data_quality.skipped_rows["fuel_date_future"] == 2
    # Replayed on Dec 4 (local), Dec 4's fill counts; the 2062 one still does not.
    later = await mess.ctx("fill_future", NOW + timedelta(days=1))
    assert [f.filled_on for f in later.vehicle.fills] == [date(2026, 11, 1), date(2026, 12, 4)]
    assert later.data_quality.skipped_rows["fuel_date_future"] == 1


async def test_a_service_due_before_it_was_done_is_a_typo_not_overdue(mess: Mess) -> None:
    ctx = await mess.ctx("maint_typo")
    [item] = ctx.vehicle.maintenance
    assert (item.next_due_date, item.next_due_mileage_miles) == (None, None)
    assert ctx.data_quality.skipped_rows["maintenance_due_before_service"] == 2
    assert not [c for c in await mess.found("maint_typo") if c.type.startswith("maintenance")]
