"""Every detector against the real database: planted positive cases and near-miss negatives.

Each case is its own user, planted with :class:`Planter` in either preset's own tables (the
wheels-wins-live ones in km and litres for metric users), then the real sweep runs at a fixed
``NOW`` and the test asserts exactly which types and priorities each user gets, plus the key
numbers computed by hand.

``NOW`` is Wednesday 2026-11-25 18:00 UTC = 11:00 in Denver, where every user lives: today is
Nov 25, the month has 25 days elapsed and 5 left, tomorrow's local midnight is 13 h away.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from conftest import PRESETS, MakeDatabase, settings_for
from pam_proactive.analysis.fuel import UNLOGGED_FILL
from pam_proactive.analysis.geo import EARTH_RADIUS_MILES, resolve_place
from pam_proactive.context import UserContext
from pam_proactive.engine import Engine, open_engine
from pam_proactive.jobs.pipeline.evaluate import Evaluation, SweepReport, SweptSuggestion
from pam_proactive.jobs.pipeline.selection import Given
from pam_proactive.jobs.pipeline.sweeps import sweep
from pam_proactive.suggestions.detectors import Detection, Note, run_detectors
from pam_proactive.suggestions.models import Candidate
from planting import EPOCH, Planter

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
PAST = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)  # before the Nov 20 expense and fill existed
LATE_ROW = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # created_at of the rows of Nov 20

# Real-world coordinates (lat, lng) for the hand-computed great-circle distances.
DENVER = (39.7392, -104.9903)
DENVER_ZONE = ZoneInfo("America/Denver")  # the planted travelers' zone
QUARTZSITE = (33.6639, -114.2299)
MOAB = (38.5733, -109.5498)
BEND = (44.0582, -121.3153)
DENVER_ROUTE = {"origin": {"lat": 30.27, "lng": -97.74},
                "destination": {"lat": DENVER[0], "lng": DENVER[1]}}


def great_circle_miles(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2)
    return 2 * 3958.76 * math.asin(math.sqrt(h))


@dataclass
class World:
    preset: str
    engine: Engine
    report: SweepReport
    users: dict[str, UUID]
    found: dict[str, list[SweptSuggestion]] = field(default_factory=dict)

    def kinds(self, name: str) -> list[tuple[str, str]]:
        """Sorted (type, priority) of everything the sweep found for the user."""
        return sorted((s.candidate.type, s.candidate.priority.label)
                      for s in self.found.get(str(self.users[name]), []))

    def one(self, name: str, kind: str) -> Candidate:
        (match,) = [s.candidate for s in self.found[str(self.users[name])]
                    if s.candidate.type == kind]
        return match


def plant_fuel(p: Planter, odometer_now: float, *, units: str = "imperial") -> UUID:
    """50-gallon tank; fills at 10,000 and 10,300 miles with 30 gallons = 10 mpg; the vehicle's
    odometer says how far it went since the last full fill."""
    uid = p.user(units=units)
    p.vehicle(uid, tank_gallons=50, odometer_miles=int(odometer_now))
    p.fill(uid, date(2026, 11, 1), 30, 10_000)
    p.fill(uid, date(2026, 11, 10), 30, 10_300)
    return uid


def plant_budget(p: Planter, *amounts: tuple[int, float]) -> UUID:
    """A monthly food budget of 1,000 and food expenses (day of November, amount)."""
    uid = p.user()
    p.budget(uid, "food", 1000)
    for day, amount in amounts:
        p.expense(uid, amount, "food", date(2026, 11, day))
    return uid


def plant_anomaly(p: Planter, amount: float) -> UUID:
    """Baseline Oct 1-5: 20..28 (median 24, MAD 2): the bar is max(3 x 24, 24 + 5 x 2) = 72."""
    uid = p.user()
    for day, base in zip(range(1, 6), (20, 22, 24, 26, 28), strict=True):
        p.expense(uid, base, "food", date(2026, 10, day))
    p.expense(uid, amount, "food", date(2026, 11, 22))
    return uid


def located(p: Planter, where: tuple[float, float] = DENVER) -> UUID:
    """A user whose last (completed) trip ended at ``where``."""
    uid = p.user()
    route = {"origin": DENVER_ROUTE["origin"], "destination": {"lat": where[0], "lng": where[1]}}
    p.trip(uid, "Austin, TX", "Home", date(2026, 11, 1), date(2026, 11, 3), 900,
           status="completed", route_data=route)
    return uid


def plant_economy(p: Planter, recent_miles: float) -> UUID:
    """Ten full fills 10 days apart: six 300-mile intervals on 30 gallons (10 mpg), then three
    of ``recent_miles`` on 30 gallons. The last fill (Nov 20) was logged on Nov 20."""
    uid = p.user()
    odo, day = 10_000.0, date(2026, 8, 22).toordinal()
    p.fill(uid, date.fromordinal(day), 30, odo)
    for i in range(9):
        odo += 300 if i < 6 else recent_miles
        day += 10
        filled = date.fromordinal(day)
        p.fill(uid, filled, 30, odo, created_at=LATE_ROW if i == 8 else EPOCH)
    return uid


def plant_all(p: Planter) -> dict[str, UUID]:
    u: dict[str, UUID] = {}
    # --- fuel_low (10 mpg, 50 gal): level = 50 - miles since 10,300 / 10 ---------------------
    u["fuel_medium"] = plant_fuel(p, 10_700)  # 40 gal used: 10 left = 20 %
    u["fuel_high"] = plant_fuel(p, 10_750)  # 5 left = 10 %
    u["fuel_near"] = plant_fuel(p, 10_670)  # 13 left = 26 %
    u["fuel_metric"] = plant_fuel(p, 10_700, units="metric")  # litres and km on wheels-wins-live
    u["fuel_trip"] = plant_fuel(p, 10_550)  # 25 left = 50 %, 250 miles of range
    p.trip(u["fuel_trip"], "Denver, CO", "Moab, UT", date(2026, 11, 26), date(2026, 11, 28), 300)
    u["fuel_trip_near"] = plant_fuel(p, 10_550)  # same, but the trip leaves in 3 days
    p.trip(u["fuel_trip_near"], "Denver, CO", "Moab, UT", date(2026, 11, 28),
           date(2026, 11, 30), 300)
    # --- budgets: 1,000 monthly; projection = spent x 30 / 25 --------------------------------
    u["budget_exceeded"] = plant_budget(p, (2, 400), (10, 350))
    p.expense(u["budget_exceeded"], 300, "food", date(2026, 11, 20), created_at=LATE_ROW)
    u["budget_forecast"] = plant_budget(p, (3, 500), (12, 450))  # 950 -> 1,140 projected
    u["budget_threshold"] = plant_budget(p, (3, 500), (12, 350))  # 850 -> 1,020 projected
    u["budget_near"] = plant_budget(p, (3, 500), (12, 290))  # 790 = 79 %
    # --- spending_anomaly --------------------------------------------------------------------
    u["anomaly"] = plant_anomaly(p, 120)
    u["anomaly_near"] = plant_anomaly(p, 72)  # exactly the bar: not above it
    # --- event_travel_planning: the traveler is in Denver -------------------------------------
    u["events"] = located(p)
    p.event(u["events"], "Rally", datetime(2026, 11, 28, 16, tzinfo=UTC),
            location="Quartzsite, AZ")  # 70 h
    p.event(u["events"], "Meetup", datetime(2026, 12, 1, 16, tzinfo=UTC),
            location="Moab, UT")  # 142 h
    p.event(u["events"], "Show", datetime(2026, 12, 5, 16, tzinfo=UTC),
            location="Bend, OR")  # 238 h
    q = resolve_place("Quartzsite, AZ")
    assert q is not None
    north_80 = (q.lat + 80 / (EARTH_RADIUS_MILES * math.pi / 180), q.lng)
    u["event_80_miles"] = located(p, north_80)
    p.event(u["event_80_miles"], "Rally", datetime(2026, 11, 28, 16, tzinfo=UTC),
            location="Quartzsite, AZ")
    u["event_covered"] = located(p)
    p.event(u["event_covered"], "Rally", datetime(2026, 12, 2, 16, tzinfo=UTC),
            location="Quartzsite, AZ")
    p.trip(u["event_covered"], "Denver, CO", "Blythe, CA", date(2026, 11, 29),
           date(2026, 12, 1), 800)  # Blythe is about 22 miles from Quartzsite
    u["event_unresolved"] = located(p)
    p.event(u["event_unresolved"], "Rally", datetime(2026, 11, 28, 16, tzinfo=UTC),
            location="Xyzzyville Nowhere")
    # --- departure_reminder ------------------------------------------------------------------
    u["departures"] = p.user()
    p.budget(u["departures"], "total", 1000)
    p.expense(u["departures"], 200, "food", date(2026, 11, 5))
    p.trip(u["departures"], "Denver, CO", "Moab, UT", date(2026, 11, 26), date(2026, 11, 26),
           350, cost=600)  # local midnight of Nov 26 is 13 h away
    p.trip(u["departures"], "Moab, UT", "Bend, OR", date(2026, 11, 27), date(2026, 11, 28),
           800)  # 37 h away
    u["departure_near"] = p.user()
    p.trip(u["departure_near"], "Denver, CO", "Moab, UT", date(2026, 11, 28),
           date(2026, 11, 28), 350, cost=600)  # 61 h away
    # --- maintenance -------------------------------------------------------------------------
    u["maint_overdue"] = p.user()
    p.maintenance(u["maint_overdue"], "oil change", date(2026, 6, 1), 8_000,
                  next_due_date=date(2026, 11, 1))
    u["maint_soon"] = p.user()
    p.maintenance(u["maint_soon"], "oil change", date(2026, 6, 1), 9_400,
                  next_due_date=date(2026, 12, 25))  # 30 days
    u["maint_soon_metric"] = p.user(units="metric")
    p.maintenance(u["maint_soon_metric"], "tire rotation", date(2026, 6, 1), 9_600,
                  next_due_mileage=10_000)  # 400 miles, stored in km on wheels-wins-live
    u["maint_near"] = p.user()
    p.maintenance(u["maint_near"], "oil change", date(2026, 6, 1), 9_400,
                  next_due_date=date(2026, 12, 26), next_due_mileage=10_000)  # 31 d, 600 mi
    # --- document_expiring -------------------------------------------------------------------
    u["documents"] = p.user()
    p.vehicle(u["documents"], name="Big Bertha", registration_expires=date(2026, 12, 10),
              insurance_expires=date(2026, 11, 20))
    u["documents_near"] = p.user()
    p.vehicle(u["documents_near"], registration_expires=date(2026, 12, 26),
              insurance_expires=date(2026, 8, 26))  # 31 days ahead; 91 days ago = stale
    # --- fuel_economy_drop -------------------------------------------------------------------
    u["economy"] = plant_economy(p, 240)  # 8 mpg: 20 % worse
    u["economy_near"] = plant_economy(p, 258)  # 8.6 mpg: 14 % worse
    plant_messy(p, u)
    return u


REMOTE_OR_TODO = (  # (title, location, event_type): none of them needs a trip
    ("Video call with team", "Quartzsite, AZ", "meeting"),
    ("Call with accountant", "Phoenix, AZ", "personal"),
    ("Pay insurance", "Bend, OR", "personal"),
    ("Renew registration", "Moab, UT", "personal"),
    ("Team sync", "Zoom", "meeting"),
    ("Planning session", "online", "meeting"),
    ("Dentist", "Bend, OR", "reminder"),
)


def plant_messy(p: Planter, u: dict[str, UUID]) -> None:
    """Rows a new user's data really holds: remote meetings and to-dos with far-away places,
    a fill-up nobody logged, an odometer typo, budgets outside the schema's domain, and a
    long trip tomorrow on a full tank."""
    u["remote"] = located(p)
    for title, place, kind in REMOTE_OR_TODO:
        p.event(u["remote"], title, datetime(2026, 11, 28, 16, tzinfo=UTC), location=place,
                event_type=kind)
    p.event(u["remote"], "Rally", datetime(2026, 11, 28, 16, tzinfo=UTC),
            location="Quartzsite, AZ")
    # 27-gallon tank at 15.7 mpg (314 miles on 20 gallons) = 424 miles; 443 driven since.
    u["fuel_unlogged"] = p.user()
    p.vehicle(u["fuel_unlogged"], tank_gallons=27, odometer_miles=20_314 + 443)
    p.fill(u["fuel_unlogged"], date(2026, 11, 1), 20, 20_000)
    p.fill(u["fuel_unlogged"], date(2026, 11, 10), 20, 20_314)
    # The vehicle's odometer says 1,010,700 (a typo); a service on Nov 20 read 10,700.
    u["odometer_typo"] = plant_fuel(p, 1_010_700)
    p.maintenance(u["odometer_typo"], "tire rotation", date(2026, 11, 20), 10_700)
    u["budget_zero"] = p.user()
    p.budget(u["budget_zero"], "food", 0)
    p.expense(u["budget_zero"], 100, "food", date(2026, 11, 5))
    if p.preset == "seed":  # wheels-wins-live budgets have no period column (monthly)
        u["budget_daily"] = p.user()
        p.budget(u["budget_daily"], "food", 10, period="daily")
        p.expense(u["budget_daily"], 100, "food", date(2026, 11, 5))
    u["departure_full"] = plant_fuel(p, 10_300)  # just filled: 500 miles of range
    p.trip(u["departure_full"], "Denver, CO", "Bend, OR", date(2026, 11, 26),
           date(2026, 11, 27), 1_000)


@pytest.fixture(scope="module", params=PRESETS)
async def world(request: pytest.FixtureRequest, make_database: MakeDatabase
                ) -> AsyncIterator[World]:
    preset: str = request.param
    uri = await make_database(preset)
    with Planter(uri, preset) as p:
        users = plant_all(p)
    async with open_engine(settings_for(preset), conninfo=uri) as engine:
        run = Evaluation(engine, NOW, Given(list(users.values())))
        collected = await run.collect()
        report = run.report
        w = World(preset, engine, report, users)
        for item in collected:
            w.found.setdefault(item.candidate.user_id, []).append(item)
        yield w


async def test_the_sweep_covers_every_user_and_stores_what_it_found(world: World) -> None:
    assert world.report.users == len(world.users)
    stored = [s for items in world.found.values() for s in items]
    assert stored and {s.status for s in stored} == {"open"}
    assert world.report.lifecycle["created"] == len(stored)


async def test_fuel_low_medium_and_high(world: World) -> None:
    assert world.kinds("fuel_medium") == [("fuel_low", "medium")]
    assert world.kinds("fuel_high") == [("fuel_low", "high")]
    assert world.kinds("fuel_near") == []
    medium = world.one("fuel_medium", "fuel_low").data
    # 10,000 -> 10,300 miles on 30 gallons = 10 mpg; 400 miles since = 40 of 50 gallons used.
    assert (medium["mpg"], medium["mpg_source"]) == (10.0, "own_fills")
    assert (medium["tank_gallons"], medium["tank_source"]) == (50.0, "vehicle")
    assert medium["miles_since_fill"] == 400.0
    assert (medium["gallons_left"], medium["level_pct"], medium["range_miles"]) == (
        10.0, 20.0, 100.0)
    assert medium["last_full_fill_date"] == "2026-11-10"
    high = world.one("fuel_high", "fuel_low")
    assert high.data["level_pct"] == 10.0 and high.title == "Fuel low: about 10% left"


async def test_fuel_low_metric_user_converted_from_litres_and_km(world: World) -> None:
    assert world.kinds("fuel_metric") == [("fuel_low", "medium")]
    found = world.one("fuel_metric", "fuel_low")
    # On wheels-wins-live the fills are 113.56 L at 16,093 and 16,576 km: the same 10 mpg.
    assert found.data["mpg"] == pytest.approx(10.0, abs=0.01)
    assert found.data["level_pct"] == pytest.approx(20.0, abs=0.1)
    assert found.data["miles_since_fill"] == pytest.approx(400.0, abs=0.5)
    # The message speaks the user's units: 10 gallons left = about 38 litres, 100 mi = 161 km.
    assert "38 litres" in found.message and "161 km" in found.message
    assert "gallon" not in found.message


async def test_fuel_low_refuel_before_a_trip_within_48_hours(world: World) -> None:
    assert world.kinds("fuel_trip") == [("departure_reminder", "high"), ("fuel_low", "high")]
    fuel = world.one("fuel_trip", "fuel_low")
    assert fuel.title == "Refuel before you leave"
    assert (fuel.data["level_pct"], fuel.data["range_miles"]) == (50.0, 250.0)
    # 300 miles + 50 reserve at 10 mpg = 35 gallons; 25 in the tank: buy 10.
    assert fuel.data["trip"]["miles_needed"] == pytest.approx(300.0, abs=0.05)
    assert fuel.data["trip"]["gallons_to_buy"] == pytest.approx(10.0, abs=0.05)
    assert fuel.data["trip"]["active"] is False
    departure = world.one("fuel_trip", "departure_reminder")
    assert departure.data["fuel"]["covered"] is False
    assert departure.data["fuel"]["gallons_to_buy"] == pytest.approx(10.0, abs=0.05)
    # Three days out: no fuel alert at 50 %, no departure reminder yet.
    assert world.kinds("fuel_trip_near") == []


async def test_budgets_exceeded_forecast_threshold(world: World) -> None:
    assert world.kinds("budget_exceeded") == [("budget_exceeded", "high")]
    assert world.kinds("budget_forecast") == [("budget_forecast_overspend", "medium")]
    assert world.kinds("budget_threshold") == [("budget_threshold", "low")]
    assert world.kinds("budget_near") == []
    exceeded = world.one("budget_exceeded", "budget_exceeded").data
    assert (exceeded["spent"], exceeded["limit"], exceeded["spent_pct"]) == (1050.0, 1000.0,
                                                                           105.0)
    assert (exceeded["period_start"], exceeded["period_end"]) == ("2026-11-01", "2026-11-30")
    assert (exceeded["days_elapsed"], exceeded["days_left"]) == (25, 5)
    forecast = world.one("budget_forecast", "budget_forecast_overspend").data
    # 950 in 25 days = 38 a day; 5 days left: 950 + 190 = 1,140 >= 110 % of 1,000.
    assert (forecast["spent_pct"], forecast["typical_daily"], forecast["projected"]) == (
        95.0, 38.0, 1140.0)
    threshold = world.one("budget_threshold", "budget_threshold").data
    assert (threshold["spent_pct"], threshold["projected"]) == (85.0, 1020.0)
    assert threshold["thresholds"]["alert_pct"] == 80.0


async def test_spending_anomaly(world: World) -> None:
    assert world.kinds("anomaly") == [("spending_anomaly", "low")]
    assert world.kinds("anomaly_near") == []
    data = world.one("anomaly", "spending_anomaly").data
    assert (data["amount"], data["spent_on"]) == (120.0, "2026-11-22")
    assert (data["baseline_count"], data["baseline_median"], data["baseline_mad"]) == (5, 24.0,
                                                                                      2.0)
    assert (data["bar"], data["ratio_to_median"]) == (72.0, 5.0)


async def test_event_travel_planning_by_days_until_the_event(world: World) -> None:
    assert world.kinds("events") == [("event_travel_planning", "high"),
                                     ("event_travel_planning", "low"),
                                     ("event_travel_planning", "medium")]
    by_title = {s.candidate.data["event_title"]: s.candidate.data
                for s in world.found[str(world.users["events"])]}
    for title, place, days in (("Rally", QUARTZSITE, 2.9), ("Meetup", MOAB, 5.9),
                               ("Show", BEND, 9.9)):
        data = by_title[title]
        assert data["distance_miles"] == pytest.approx(great_circle_miles(DENVER, place), abs=5)
        starts = datetime.fromisoformat(data["starts_at"])
        assert (starts - NOW).total_seconds() / 86400 == pytest.approx(days, abs=0.05)
        assert data["starts_on"] == starts.astimezone(DENVER_ZONE).date().isoformat()
    assert by_title["Rally"]["distance_miles"] == pytest.approx(661, abs=5)


async def test_event_travel_planning_near_misses(world: World) -> None:
    assert world.kinds("event_80_miles") == []
    assert world.kinds("event_covered") == []
    assert world.kinds("event_unresolved") == []


async def test_unresolved_event_place_is_counted_as_data_quality(world: World) -> None:
    uid = world.users["event_unresolved"]
    report = await sweep(world.engine, NOW, user_ids=[uid], dry_run=True)
    assert report.rows_skipped == 1 and report.silent_notes["event_travel_planning"] == 1
    ctx = (await world.engine.data.get_contexts([uid], NOW, use_cache=False))[uid]
    found = run_detectors(ctx, NOW, world.engine.detector_settings)
    assert found.candidates == ()
    assert dict(found.skipped) == {"event_location_unresolved": 1}
    assert Note("event_travel_planning", "event location not resolved") in found.notes


# --- messy data --------------------------------------------------------------------------


async def _detect(world: World, name: str) -> tuple[UserContext, Detection]:
    uid = world.users[name]
    ctx = (await world.engine.data.get_contexts([uid], NOW, use_cache=False))[uid]
    return ctx, run_detectors(ctx, NOW, world.engine.detector_settings)


async def test_remote_meetings_and_to_dos_never_need_a_trip(world: World) -> None:
    assert world.kinds("remote") == [("event_travel_planning", "high")]
    assert world.one("remote", "event_travel_planning").data["event_title"] == "Rally"
    _, found = await _detect(world, "remote")
    assert dict(found.skipped) == {"event_needs_no_travel": len(REMOTE_OR_TODO)}
    assert Note("event_travel_planning", "remote meeting or to-do: needs no travel") in (
        found.notes)


async def test_more_miles_than_a_tank_holds_is_an_unlogged_fill_not_an_empty_tank(
    world: World,
) -> None:
    assert world.kinds("fuel_unlogged") == []
    _, found = await _detect(world, "fuel_unlogged")
    assert Note("fuel_low", UNLOGGED_FILL) in found.notes


async def test_an_odometer_typo_is_not_the_vehicles_odometer(world: World) -> None:
    ctx, _ = await _detect(world, "odometer_typo")
    assert ctx.data_quality.skipped_rows["odometer_outlier"] == 1
    assert ctx.vehicle.primary is not None and ctx.vehicle.primary.odometer_miles is None
    assert ctx.vehicle.max_odometer_miles == pytest.approx(10_700, abs=0.01)
    # 400 miles since the 10,300 fill at 10 mpg: 10 of 50 gallons left, not "unlogged fill".
    assert world.kinds("odometer_typo") == [("fuel_low", "medium")]
    assert world.one("odometer_typo", "fuel_low").data["level_pct"] == pytest.approx(20, abs=0.1)


async def test_budgets_outside_the_schema_domain_are_skipped_not_reinterpreted(
    world: World,
) -> None:
    ctx, _ = await _detect(world, "budget_zero")
    assert world.kinds("budget_zero") == [] and ctx.financial.budgets == ()
    assert ctx.data_quality.skipped_rows["budget_limit_invalid"] == 1
    if world.preset == "seed":
        ctx, _ = await _detect(world, "budget_daily")
        assert world.kinds("budget_daily") == [] and ctx.financial.budgets == ()
        assert ctx.data_quality.skipped_rows["budget_period_invalid"] == 1
        assert "budget_period_assumed_monthly" not in ctx.data_quality.repaired_rows


async def test_departure_on_a_full_tank_never_says_buy_zero_gallons(world: World) -> None:
    found = world.one("departure_full", "departure_reminder")
    assert "buy about" not in found.message and "0 gallons" not in found.message
    assert "plan a fuel stop on the way: a full tank (about 500 miles)" in found.message
    fuel = found.data["fuel"]
    assert fuel["fuel_stop_needed"] and "gallons_to_buy" not in fuel
    assert fuel["fuel"]["level_pct"] == 100.0


async def test_departure_reminder(world: World) -> None:
    assert world.kinds("departures") == [("departure_reminder", "high"),
                                         ("departure_reminder", "medium")]
    assert world.kinds("departure_near") == []
    by_start = sorted((s.candidate for s in world.found[str(world.users["departures"])]),
                      key=lambda c: c.data["start_date"])
    first, second = by_start
    # The local midnights the 48 h window is measured to, 13 h and 37 h after NOW.
    assert (first.data["starts_at"], second.data["starts_at"]) == (
        (NOW + timedelta(hours=13)).astimezone(DENVER_ZONE).isoformat(),
        (NOW + timedelta(hours=37)).astimezone(DENVER_ZONE).isoformat())
    assert first.data["start_date"] == "2026-11-26"
    assert first.data["distance_miles"] == pytest.approx(350.0, abs=0.05)
    # 600 of estimated cost against the 1,000 all-spending budget with 200 spent.
    assert first.data["budget"]["estimated_cost"] == 600.0
    assert first.data["budget"]["budget_remaining"] == 800.0
    assert first.data["budget"]["over_budget"] is False
    assert second.data["budget"] == {} and second.data["fuel"] == {}


async def test_maintenance_overdue_and_due_soon(world: World) -> None:
    assert world.kinds("maint_overdue") == [("maintenance_overdue", "high")]
    assert world.kinds("maint_soon") == [("maintenance_due_soon", "medium")]
    assert world.kinds("maint_near") == []
    overdue = world.one("maint_overdue", "maintenance_overdue").data
    assert (overdue["next_due_date"], overdue["days_left"]) == ("2026-11-01", -24)
    assert overdue["odometer_miles"] == 8000.0
    assert world.one("maint_soon", "maintenance_due_soon").data["days_left"] == 30


async def test_maintenance_due_by_mileage_metric_user(world: World) -> None:
    assert world.kinds("maint_soon_metric") == [("maintenance_due_soon", "medium")]
    data = world.one("maint_soon_metric", "maintenance_due_soon").data
    # Stored as 15,450 and 16,093 km on wheels-wins-live; the detector sees miles.
    assert data["odometer_miles"] == pytest.approx(9600.0, abs=0.5)
    assert data["next_due_mileage_miles"] == pytest.approx(10_000.0, abs=0.5)
    assert data["miles_left"] == pytest.approx(400.0, abs=0.5)
    assert data["days_left"] is None


async def test_document_expiring(world: World) -> None:
    assert world.kinds("documents") == [("document_expiring", "high"),
                                        ("document_expiring", "medium")]
    assert world.kinds("documents_near") == []
    docs = {s.candidate.data["document"]: s.candidate
            for s in world.found[str(world.users["documents"])]}
    assert docs["registration"].data["days_left"] == 15
    assert docs["registration"].title == "Registration expires in 15 days"
    assert docs["insurance"].data["days_left"] == -5
    assert docs["insurance"].title == "Insurance expired"
    assert docs["insurance"].message.startswith("Big Bertha's insurance expired on")


async def test_fuel_economy_drop(world: World) -> None:
    assert world.kinds("economy") == [("fuel_economy_drop", "medium")]
    assert world.kinds("economy_near") == []
    data = world.one("economy", "fuel_economy_drop").data
    assert (data["recent_mpg"], data["baseline_mpg"], data["drop_pct"]) == (8.0, 10.0, 20.0)
    assert data["baseline_count"] == 6
    assert [i["miles"] for i in data["recent_intervals"]] == [240.0, 240.0, 240.0]


async def test_replay_at_an_earlier_now_gives_the_earlier_answer(world: World) -> None:
    budget, economy = world.users["budget_exceeded"], world.users["economy"]
    run = Evaluation(world.engine, PAST, Given([budget, economy]), dry_run=True)
    collected = await run.collect()
    report = run.report
    assert report.users == 2 and not report.lifecycle
    # On Nov 18 the 300 of Nov 20 did not exist: 750 spent in 18 days, 12 days left at
    # 41.67 a day = 1,250 projected: on pace to overspend, not exceeded yet.
    (only,) = collected
    assert (only.candidate.user_id, only.candidate.type) == (str(budget),
                                                             "budget_forecast_overspend")
    assert only.status == "candidate"
    data = only.candidate.data
    assert (data["spent"], data["days_elapsed"], data["days_left"]) == (750.0, 18, 12)
    assert data["projected"] == 1250.0
    # Before the Nov 20 fill the economy detector had only 5 baseline intervals: silent.
