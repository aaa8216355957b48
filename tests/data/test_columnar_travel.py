"""The column-wise profile, travel and calendar sections against the per-object builders
(``tests/oracle/per_object.py``, the oracle) on hand-written rows: every trip status and date
case, route JSON as object, text and garbage, coordinates out of range, duplicate events
differing in case and blanks, all-day and timed events across DST changes, out-of-range
instants, invalid zones, long texts and an empty batch (pure: no database)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import pytest

from oracle.per_object import BatchRows, assemble_rows, frames_from_rows
from pam_proactive.analysis.bounds import TEXT_MAX_CHARS, cut_text
from pam_proactive.analysis.outliers import OutlierRule
from pam_proactive.context import UserContext
from pam_proactive.data.assemble import local_today
from pam_proactive.data.columnar.contexts import build_contexts
from pam_proactive.data.rows import TripRow, UserRow

NOW = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)  # New York's DST ends at 06:00 UTC
RULE = OutlierRule()
LONG = "Quartzsite " * 30  # 330 characters: cut to TEXT_MAX_CHARS
EDGE = "x" * TEXT_MAX_CHARS  # exactly the bound: kept


def user(n: int, timezone: str | None = "America/New_York", **fields: Any) -> UserRow:
    base: dict[str, Any] = dict(
        user_id=UUID(int=n), status="active", units="imperial", timezone=timezone,
        currency="USD", region="US", vehicle_type="class_a", fuel_type="diesel",
        towing=None, latitude=None, longitude=None, opted_out=False, disabled_types=None,
        quiet_start=None, quiet_end=None, daily_cap=None)
    base.update(fields)
    return UserRow(**base)


def trip(i: int, tid: str, status: str | None, start: date | None, end: date | None, *,
         miles: Any = 100.0, cost: Any = 50.0, origin: str | None = "Moab, UT",
         destination: str | None = "Bend, OR",
         route: tuple[Any, Any, Any, Any, str | None, str | None] = (
             "38.57", "-109.55", "44.06", "-121.31", None, "object")) -> TripRow:
    return TripRow(i, tid, status, origin, destination, start, end, miles, cost, *route)


def event(i: int, eid: str, title: str | None, starts: datetime, ends: datetime | None,
          all_day: bool | None = False, kind: str | None = "meeting",
          place: str | None = "Moab, UT") -> tuple[Any, ...]:
    return (i, eid, title, starts, ends, all_day, kind, place)


def both(users: Sequence[UserRow], trips: Sequence[TripRow] = (),
         events: Sequence[tuple[Any, ...]] = (), now: datetime = NOW,
         ) -> tuple[dict[UUID, UserContext], dict[UUID, UserContext]]:
    """(per-object contexts, column-wise contexts) of one batch; asserts they are the same
    profiles, travel and calendar sections and data quality, field by field and as
    printed (``repr`` tells -0.0 from 0.0, a fold and a zone apart)."""
    todays = [local_today(u.timezone, now) for u in users]
    fetched: dict[str, Sequence[tuple[Any, ...]]] = {
        "expenses": [], "budgets": [], "trips": list(trips), "events": list(events),
        "fuel": [], "maintenance": [], "vehicles": [], "after_now": []}
    old = assemble_rows(BatchRows(list(users), todays, fetched), now, RULE)
    new = build_contexts(frames_from_rows(users, todays, now, fetched), RULE)
    assert list(old) == list(new)
    for uid, ctx in old.items():
        got = new[uid]
        for part in ("today", "profile", "travel", "calendar", "data_quality"):
            assert getattr(ctx, part) == getattr(got, part), (uid, part)
        assert repr(ctx.travel) == repr(got.travel)
        assert [(e.starts_at.isoformat(), e.ends_at.isoformat(), e.starts_at.fold,
                 e.ends_at.fold) for e in ctx.calendar.events] == [
            (e.starts_at.isoformat(), e.ends_at.isoformat(), e.starts_at.fold, e.ends_at.fold)
            for e in got.calendar.events]
    return old, new


def counts(ctx: UserContext) -> tuple[dict[str, int], dict[str, int]]:
    return dict(ctx.data_quality.skipped), dict(ctx.data_quality.repaired)


TODAY = date(2026, 11, 1)  # NOW in New York
DAY = timedelta(days=1)


def test_every_status_and_date_case() -> None:
    rows = [trip(1, f"t{k:02}", status, start, end) for k, (status, start, end) in enumerate([
        (s, None, None) for s in ("planned", "active", "completed", "cancelled", "bogus", None)
    ] + [
        ("cancelled", TODAY - DAY, TODAY + DAY),  # cancelled stays cancelled
        ("completed", TODAY + DAY, None),  # starts later: planned
        ("planned", TODAY, None),  # starts today: active
        ("planned", TODAY - 3 * DAY, TODAY),  # ends today: active
        ("active", TODAY - 3 * DAY, TODAY - DAY),  # ended: completed
        ("active", TODAY - 3 * DAY, None),  # a day trip in the past: completed
        ("planned", TODAY + 5 * DAY, TODAY + 2 * DAY),  # end before start: repaired
        ("completed", TODAY - DAY, TODAY - 9 * DAY),  # end before start, then completed
        (None, TODAY - DAY, TODAY + DAY),
    ])]
    _old, new = both([user(1)], rows)
    ctx = new[UUID(int=1)]
    assert [t.status for t in ctx.travel.trips] == [
        "planned", "active", "completed", "cancelled", "planned", "planned", "cancelled",
        "planned", "active", "active", "completed", "completed", "planned", "completed",
        "active"]
    assert counts(ctx)[1]["trip_end_before_start"] == 2


def test_distances_costs_and_location_sources() -> None:
    rows = [
        trip(1, "a", "completed", TODAY - 9 * DAY, TODAY - 8 * DAY, miles=-5.0),
        trip(1, "b", "completed", TODAY - 9 * DAY, TODAY - 8 * DAY, miles=30_000.0,
             cost=math.nan),
        trip(1, "c", "completed", TODAY - 20 * DAY, None, miles=25_000.0, cost=math.inf,
             destination="Tie, AZ"),
        trip(1, "d", "completed", TODAY - 30 * DAY, TODAY - 8 * DAY, miles=math.nan,
             destination="Latest, AZ"),
        trip(1, "e", "planned", TODAY + DAY, None, miles=-0.0, cost=None),
        trip(1, "f", "planned", None, None, miles=None),
        # Two active trips: the last one is where the traveler is.
        trip(2, "a", "active", TODAY - DAY, TODAY + DAY, destination="First"),
        trip(2, "b", "active", TODAY - DAY, TODAY + DAY, destination="Second",
             route=(None, None, None, None, None, None)),
        trip(3, "z", "active", TODAY - DAY, TODAY + DAY),  # profile coordinates win
        trip(5, "b", "completed", TODAY - 9 * DAY, TODAY - 2 * DAY, destination="B"),
        trip(5, "a", "completed", TODAY - 7 * DAY, TODAY - 2 * DAY, destination="A"),
        # The same point with zeros and negative zeros: never one shared object.
        trip(6, "a", "planned", None, None, route=("0", "0.0", "0", "0", None, "object")),
        trip(6, "b", "planned", None, None, route=("-0", "-0.0", "-0", "0", None, "object")),
    ]
    users = [user(1), user(2), user(3, latitude=36.1, longitude="-115.2"), user(4),
             user(5, latitude=91.0, longitude=0.0), user(6)]
    _old, new = both(users, rows)
    one, two, three, four, five, six = (new[UUID(int=n)] for n in range(1, 7))
    assert [t.distance_miles for t in one.travel.trips] == [None, None, 25_000.0, None, -0.0,
                                                            None]
    negative_zero = one.travel.trips[4].distance_miles
    assert negative_zero is not None and math.copysign(1, negative_zero) == -1
    assert [t.estimated_cost for t in one.travel.trips][1:3] == [None, None]
    skipped, repaired = counts(one)
    assert skipped["trip_distance_implausible"] == 1 and repaired["trip_distance_negative"] == 1
    assert one.travel.location is not None
    assert one.travel.location.place_name == "Latest, AZ"  # end date wins, then the id
    assert two.travel.location is not None and two.travel.location.place_name == "Second"
    assert two.travel.location.coordinates is None
    assert three.travel.location is not None and three.travel.location.source == "profile"
    assert four.travel.trips == () and four.travel.location is None
    assert five.travel.location is not None and five.travel.location.place_name == "B"
    assert repr(six.travel.trips[1].origin_coordinates) == "Coordinates(lat=-0.0, lng=-0.0)"


@pytest.mark.parametrize("route", [
    ("90", "-180", "-90", "180", None, "object"),  # the bounds are in range
    ("90.0001", "0", "0", "180.5", None, "object"),  # out of range: no points
    ("1e1", " 12.5", "NaN", "-inf", None, "object"),  # not plain decimals: Python reads
    ("-0", "-0.0", "0", "1_0", None, "object"),
    ("+5", ".5", "١٢", "12.5 ", None, "object"),  # Python reads these; Polars not all
    ("abc", "{\"x\": 1}", "true", None, None, "object"),
    ("12.5", None, None, "7", None, "object"),  # one side missing
    (None, None, None, None, '{"origin": {"lat": 1, "lng": 2}, "destination": 3}', "string"),
    (None, None, None, None, '{"destination": {"lat": "45.5", "lng": -122.6}}', "string"),
    (None, None, None, None, "not json", "string"),
    (None, None, None, None, "[1, 2]", "string"),
    (None, None, None, None, None, "string"),
    (None, None, None, None, None, "array"),
    (None, None, None, None, None, "number"),
    (None, None, None, None, None, "null"),
    ("1", "2", "3", "4", None, None),
], ids=repr)
def test_route_data(route: tuple[Any, Any, Any, Any, str | None, str | None]) -> None:
    _old, new = both([user(1)], [trip(1, "t", "active", TODAY, None, route=route)])
    ctx = new[UUID(int=1)]
    skipped, repaired = counts(ctx)
    text, kind = route[4], route[5]
    if kind == "string":
        assert ("route_data_malformed" in skipped) != ("route_data_text_encoded" in repaired)
    assert ("route_data_malformed" in skipped) == (
        kind not in (None, "object", "null", "string")
        or (kind == "string" and not (text or "").startswith("{")))


def test_texts_are_cut_and_counted() -> None:
    users = [user(1, region=LONG, vehicle_type=LONG, fuel_type=EDGE), user(2, region=EDGE)]
    rows = [trip(1, "t", "planned", TODAY + DAY, None, origin=LONG, destination=EDGE),
            trip(1, "u", "planned", TODAY + DAY, None, origin=None, destination=LONG + "é")]
    starts = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
    events = [event(1, "e1", LONG, starts, None, kind=LONG, place=LONG),
              # The same long title and place cut: a copy of e1.
              event(1, "e2", LONG + "more", starts, None, kind=None, place=LONG + "  ")]
    _old, new = both(users, rows, events)
    ctx = new[UUID(int=1)]
    assert counts(ctx)[1]["text_cut"] == 2 + 2 + 3 + 2  # profile, trips, both events
    assert ctx.profile.region == cut_text(LONG) and len(ctx.profile.region) == TEXT_MAX_CHARS
    assert ctx.travel.trips[0].destination == EDGE
    assert [e.event_id for e in ctx.calendar.events] == ["e1"]
    assert counts(ctx)[0]["event_duplicate"] == 1
    assert "text_cut" not in counts(new[UUID(int=2)])[1]


def test_duplicate_events_and_end_repairs() -> None:
    at = datetime(2026, 11, 4, 17, 0, tzinfo=UTC)
    events = [
        event(1, "a", "Dinner at  Joe's", at, at + timedelta(hours=2)),
        event(1, "b", " dinner AT joe's ", at, at - timedelta(hours=1), place="moab,  ut"),
        event(1, "c", "Dinner at Joe's", at, None, place="Bend, OR"),  # another place
        event(1, "d", "STRASSE", at, None, place=None),
        event(1, "e", "straße", at, None, place="  "),  # casefold: the same title
        event(1, "f", "Later", at + DAY, at, kind=None, place="   "),  # end before start
        event(1, "g", None, at + 2 * DAY, None, kind=None),
        event(1, "h", "No all-day flag: timed", at + 3 * DAY, None, all_day=None),
        event(2, "a", "Dinner at Joe's", at, None),  # another traveler: not a copy
    ]
    _old, new = both([user(1), user(2)], events=events)
    ctx = new[UUID(int=1)]
    assert [e.event_id for e in ctx.calendar.events] == ["a", "c", "d", "f", "g", "h"]
    skipped, repaired = counts(ctx)
    assert skipped["event_duplicate"] == 2 and repaired["event_end_before_start"] == 1
    f, g, h = ctx.calendar.events[3:]
    assert h.all_day is False and h.starts_at.utcoffset() == timedelta(hours=-5)
    assert f.ends_at == f.starts_at and f.location_name is None
    assert f.event_type == "personal" and g.title == ""
    assert len(new[UUID(int=2)].calendar.events) == 1


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Lord_Howe", "Asia/Tokyo",
                                  "Pacific/Kiritimati", "UTC", None, "Mars/Olympus_Mons", ""])
def test_all_day_and_timed_events_across_dst(zone: str | None) -> None:
    instants = [
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 01:30 EDT (first pass)
        datetime(2026, 11, 1, 6, 30, tzinfo=UTC),  # 01:30 EST (second pass: fold=1)
        datetime(2026, 3, 8, 7, 30, tzinfo=UTC),  # just after the spring gap
        datetime(2026, 10, 4, 15, 45, tzinfo=UTC),  # Lord Howe's half-hour change
        datetime(2026, 11, 2, 0, 0, tzinfo=UTC),  # midnight UTC: an all-day date
        datetime(2026, 11, 2, 5, 0, tzinfo=UTC),  # New York's midnight, stored as such
        datetime(9999, 12, 31, 22, 30, tzinfo=UTC),  # out of range east of UTC
        datetime(1, 1, 1, 1, 0, tzinfo=UTC),  # out of range west of UTC
    ]
    events = [event(1, f"{k}{kind}", f"E{k}{kind}", at, at + timedelta(hours=1), all_day=all_day)
              for k, at in enumerate(instants)
              for kind, all_day in (("d", True), ("t", False))]
    events.append(event(1, "x", "Spans the year end", datetime(9999, 12, 31, 20, tzinfo=UTC),
                        datetime(9999, 12, 31, 23, 59, tzinfo=UTC)))
    _old, new = both([user(1, timezone=zone)], events=events)
    ctx = new[UUID(int=1)]
    days = {e.event_id: e.starts_on for e in ctx.calendar.events}
    assert days["4d"] == date(2026, 11, 2)  # midnight UTC is the date, in every zone
    if zone == "America/New_York":
        assert [ctx.calendar.events[k].starts_at.fold for k in (1, 3)] == [0, 1]
        assert days["5d"] == date(2026, 11, 2) and days["7t"] is None
    if zone in (None, "Mars/Olympus_Mons", ""):
        assert ctx.profile.timezone == "UTC"
        assert ("timezone_invalid" in counts(ctx)[0]) == (zone is not None)
        assert dict(ctx.data_quality.assumed)["timezone"].startswith("UTC")


def test_profiles() -> None:
    users = [user(1, currency="eur", latitude="36.1", longitude=-115.2),
             user(2, currency="EURO", timezone=None, status=None, units=None),
             user(3, currency="", vehicle_type="5th wheel", towing="jeep"),
             user(4, currency=None, timezone="Not/AZone", latitude=math.nan, longitude=1),
             user(5, currency=" cad ", daily_cap=-1, quiet_start=time(22), quiet_end="7",
                  disabled_types=["fuel"])]
    _old, new = both(users)
    assert [new[UUID(int=n)].profile.currency for n in range(1, 6)] == [
        "EUR", "USD", "USD", "USD", "CAD"]
    assert counts(new[UUID(int=2)])[1] == {"currency_defaulted": 1}
    # An invalid zone is counted as skipped, so not also called missing; no zone is missing.
    assert "timezone" not in new[UUID(int=4)].data_quality.missing_sources
    assert counts(new[UUID(int=4)])[0] == {"timezone_invalid": 1}
    assert "timezone" in new[UUID(int=2)].data_quality.missing_sources
    assert new[UUID(int=3)].profile.towing and new[UUID(int=5)].profile.daily_cap is None


def test_empty_batch_and_travelers_without_rows() -> None:
    assert both([]) == ({}, {})
    _old, new = both([user(1), user(2, latitude=1.5, longitude=2.5)])
    assert new[UUID(int=1)].travel.trips == () and new[UUID(int=1)].calendar.events == ()
    assert new[UUID(int=2)].travel.location is not None


def test_a_profile_repair_alone_stays_with_its_traveler() -> None:
    # The currency is the only finding of travelers 1 and 3: each gets a builder of their
    # own (build_profile writes into a spare one first), and 2 and 4 record nothing.
    _old, new = both([user(1, currency="EURO"), user(2), user(3, currency="??"), user(4)])
    assert [counts(new[UUID(int=n)])[1] for n in range(1, 5)] == [
        {"currency_defaulted": 1}, {}, {"currency_defaulted": 1}, {}]
