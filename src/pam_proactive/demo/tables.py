"""COPY text of each table from the generated arrays, and of the engine's preferences."""

from __future__ import annotations

from collections import Counter

import numpy as np

from pam_proactive.demo.encoding import (
    _DAY,
    _NULL,
    BytesArr,
    IntArr,
    Rng,
    _block,
    _Clock,
    _const,
    _dates,
    _glue,
    _ints,
    _money,
    _or_null,
    _row_ids,
    _s,
    _stamps,
)
from pam_proactive.demo.generate.arrays import (
    _created,
)
from pam_proactive.demo.generate.events import (
    _Events,
)
from pam_proactive.demo.generate.spending import (
    _BUDGET_CATEGORY,
    _PERIODS,
    _Budgets,
    _Spending,
)
from pam_proactive.demo.generate.travelers import (
    _DONE,
    _NO_TRIP,
    _PLANNED,
    _STATUS_TEXT,
    _Trips,
    _Users,
)
from pam_proactive.demo.generate.vehicles import (
    _Fuel,
    _Service,
)
from pam_proactive.demo.reference import (
    _CATEGORIES,
    _CLASS_NAMES,
    _EVENT_TYPES,
    _FIFTH,
    _FIRST_NAMES,
    _LAST_NAMES,
    _TASK_NOTES,
    _TASKS,
    _TOADS,
    _TOWN_NAMES,
    _TOWN_POINT,
    _TOWN_REGION,
    _TOWN_ZONE,
    _TRAILER,
    _TRIP_NOTES,
    _VEHICLE_ROW_TYPE,
)


def _town(place: IntArr) -> BytesArr:
    """'City, ST' of town indices, NULL where -1."""
    return _or_null(_TOWN_NAMES[np.maximum(place, 0)], place < 0)


def _profiles_text(rng: Rng, clock: _Clock, seed: int, users: _Users, trips: _Trips) -> bytes:
    """profiles: ~95% active, mostly imperial units, towing text for toads and trailers."""
    n = users.n
    number = _ints(users.first + np.arange(n, dtype=np.int64))
    email = np.strings.add(np.strings.add(b"user", number), f"-{seed}@example.com".encode())
    first = _s(_FIRST_NAMES)[rng.integers(0, len(_FIRST_NAMES), n)]
    full_name = np.strings.add(
        np.strings.add(first, b" "), _s(_LAST_NAMES)[rng.integers(0, len(_LAST_NAMES), n)]
    )
    trailer = (users.vclass == _FIFTH) | (users.vclass == _TRAILER)
    toad = _s(_TOADS)[rng.integers(0, len(_TOADS), n)]
    # Trailers are always towed by a truck; an empty string also means "not towing".
    towing = np.where(trailer, users.tow_truck, np.where(users.toad, toad, b""))
    towing = _or_null(towing, (towing == b"") & (rng.random(n) < 0.8))
    created = clock.now_s - rng.integers(460 * _DAY, 1_500 * _DAY, n)
    updated = clock.now_s - rng.integers(0, 30 * _DAY, n)
    return _block(
        [
            users.ids,
            email,
            full_name,
            _or_null(first, rng.random(n) < 0.5),
            _s(_CLASS_NAMES)[users.vclass],
            users.make_model,
            np.where(users.diesel, b"diesel", b"gasoline"),
            towing,
            _TOWN_REGION[trips.here],
            _const(b"user", n),
            np.where(rng.random(n) < 0.95, b"active", b"inactive"),
            np.where(rng.random(n) < 0.88, b"imperial", b"metric"),
            _stamps(clock, created),
            _stamps(clock, updated),
        ]
    )


def _expiry(rng: Rng, clock: _Clock, n: int) -> BytesArr:
    """Registration/insurance expiry: ~0.4% lapsed, ~0.8% within 30 days, ~8% unknown (most
    renew ahead, so the date on file is months away)."""
    draw = rng.random(n)
    offset = np.where(
        draw < 0.004,
        -rng.integers(1, 61, n),
        np.where(draw < 0.012, rng.integers(0, 31, n), rng.integers(31, 366, n)),
    )
    return _or_null(_dates(clock, clock.today + offset), rng.random(n) < 0.08)


def _vehicles_text(rng: Rng, clock: _Clock, users: _Users, fuel: _Fuel) -> tuple[bytes, int, int]:
    """One primary vehicle for ~90% of users; text, rows, rows without a known tank."""
    n = users.n
    has = np.flatnonzero(rng.random(n) < 0.9)
    k = len(has)
    vclass = users.vclass[has]
    trailer = (vclass == _FIFTH) | (vclass == _TRAILER)
    # Some trailer owners register the trailer itself: no engine, no tank, no odometer.
    the_trailer = trailer & (rng.random(k) < 0.2)
    kind = np.where(the_trailer, _s(_CLASS_NAMES)[vclass], _VEHICLE_ROW_TYPE.pick(rng, vclass))
    name = np.where(trailer & ~the_trailer, users.tow_truck[has], users.make_model[has])
    fuel_type = _or_null(np.where(users.diesel[has], b"diesel", b"gasoline"), the_trailer)
    no_tank = the_trailer | (rng.random(k) < 0.25)
    tank = _or_null(_money(np.rint(users.tank[has] * 100).astype(np.int64)), no_tank)
    # Often the odometer was last typed in at the last fill-up, before the latest trips.
    stale = rng.random(k) < 0.4
    odometer = np.rint(np.where(stale, fuel.last_odo[has], fuel.odo_now[has])).astype(np.int64)
    text = _block(
        [
            _row_ids(rng, clock, users.first, n, k),
            users.ids[has],
            name,
            kind,
            fuel_type,
            tank,
            _or_null(_ints(odometer), the_trailer),
            _expiry(rng, clock, k),
            _expiry(rng, clock, k),
            _const(b"t", k),
        ]
    )
    return text, k, int(no_tank.sum())


def _route_data(rng: Rng, origin: IntArr, destination: IntArr) -> tuple[BytesArr, Counter[str]]:
    """route_data: coordinates (~85%), NULL (~14%), JSON-in-a-string (~0.5%), junk (~0.2%)."""
    m = len(origin)
    good = np.strings.add(
        np.strings.add(np.strings.add(b'{"origin": ', _TOWN_POINT[origin]), b', "destination": '),
        np.strings.add(_TOWN_POINT[destination], b"}"),
    )
    draw = rng.random(m)
    route = _or_null(good, draw < 0.14).astype(object)
    as_string = np.flatnonzero((draw >= 0.14) & (draw < 0.145))
    junk = np.flatnonzero((draw >= 0.145) & (draw < 0.147))
    for i in as_string:
        # A jsonb string holding JSON text; COPY text needs its backslashes doubled.
        inner = bytes(good[i]).replace(b'"', b'\\"')
        route[i] = (b'"' + inner + b'"').replace(b"\\", b"\\\\")
    for i in junk:
        route[i] = (b'"not json"', b'"{origin: Moab"', b'"null"')[i % 3]
    planted = Counter(route_data_json_strings=len(as_string), route_data_garbage=len(junk))
    return route.astype(np.bytes_), planted


def _trips_text(
    rng: Rng, clock: _Clock, users: _Users, trips: _Trips
) -> tuple[bytes, int, Counter[str]]:
    """trips: one row per used slot; costs in dollars, distances in miles."""
    owner, slot = np.nonzero(trips.status != _NO_TRIP)
    m = len(owner)
    status = trips.status[owner, slot]
    origin, destination = trips.places[owner, slot], trips.places[owner, slot + 1]
    miles = trips.miles[owner, slot]
    start, end = trips.start[owner, slot], trips.end[owner, slot]
    fuel_cost = miles / users.mpg[owner] * rng.uniform(3.6, 4.4, m)
    estimated = np.rint(fuel_cost * rng.uniform(1.0, 1.3, m) * 100).astype(np.int64)
    actual = np.rint(estimated * rng.uniform(0.85, 1.25, m)).astype(np.int64)
    notes = _s(_TRIP_NOTES)[rng.integers(0, len(_TRIP_NOTES), m)]
    route, planted = _route_data(rng, origin, destination)
    planned = status == _PLANNED
    created = np.where(
        planned,
        clock.now_s - rng.integers(3_600, 40 * _DAY, m),
        start * _DAY - rng.integers(_DAY, 30 * _DAY, m),
    )
    updated = np.where(
        status == _DONE,
        np.minimum(end * _DAY + rng.integers(12 * 3600, 30 * 3600, m), clock.now_s - 60),
        created,
    )
    text = _block(
        [
            _glue(_row_ids(rng, clock, users.first, users.n, m), users.ids[owner]),
            _TOWN_NAMES[origin],
            _TOWN_NAMES[destination],
            _glue(_dates(clock, start), _dates(clock, end)),
            _money(np.rint(miles * 100).astype(np.int64)),
            _money(estimated),
            _or_null(_money(actual), status != _DONE),
            _STATUS_TEXT[status],
            _or_null(notes, rng.random(m) < 0.8),
            route,
            _glue(_stamps(clock, created), _stamps(clock, np.maximum(updated, created))),
        ]
    )
    return text, m, planted


def _events_text(rng: Rng, clock: _Clock, users: _Users, events: _Events) -> bytes:
    """calendar_events."""
    m = len(events.owner)
    description = _or_null(np.full(m, b"Added from the trip planner"), rng.random(m) < 0.85)
    # A video meeting's location is empty, or names the app: never a town.
    location = np.where(events.remote & (rng.random(m) < 0.3), b"Zoom", _town(events.place))
    created = _stamps(clock, events.created_s)
    return _block(
        [
            _glue(_row_ids(rng, clock, users.first, users.n, m), users.ids[events.owner]),
            events.title,
            description,
            _glue(_stamps(clock, events.start_s), _stamps(clock, events.end_s)),
            np.where(events.all_day, b"t", b"f"),
            _s(_EVENT_TYPES)[events.kind],
            location,
            events.reminder,
            _glue(created, created),
        ]
    )


def _fuel_text(rng: Rng, clock: _Clock, users: _Users, fuel: _Fuel) -> bytes:
    """fuel_log: gallons (US), cost (dollars), odometer (miles), mpg as entered."""
    m = len(fuel.owner)
    return _block(
        [
            _glue(
                _row_ids(rng, clock, users.first, users.n, m),
                users.ids[fuel.owner],
                _dates(clock, fuel.day),
            ),
            _money(fuel.centigallons),
            _money(fuel.cost_cents),
            _town(fuel.place),
            _ints(fuel.odometer),
            _or_null(_money(fuel.mpg_centi), fuel.mpg_centi < 0),
            _stamps(clock, _created(rng, clock, fuel.day)),
        ]
    )


def _maintenance_text(rng: Rng, clock: _Clock, users: _Users, service: _Service) -> bytes:
    """maintenance_records: mileage and next_due_mileage are odometers in miles."""
    m = len(service.owner)
    created = _stamps(clock, _created(rng, clock, service.day))
    return _block(
        [
            _glue(_row_ids(rng, clock, users.first, users.n, m), users.ids[service.owner]),
            _s(_TASKS)[service.task],
            _dates(clock, service.day),
            _ints(service.mileage),
            _money(service.cost_cents),
            _town(service.place),
            _or_null(_s(_TASK_NOTES)[np.maximum(service.note, 0)], service.note < 0),
            _dates(clock, service.due_day),
            _or_null(_ints(service.due_miles), service.due_miles < 0),
            _glue(created, created),
        ]
    )


def _expenses_text(rng: Rng, clock: _Clock, users: _Users, spent: _Spending) -> bytes:
    """expenses: amounts in dollars."""
    m = len(spent.owner)
    # Rows dated ahead (planted) were still typed in before now.
    created = _created(rng, clock, np.minimum(spent.day, clock.today))
    stamp = _stamps(clock, created)
    return _block(
        [
            _glue(_row_ids(rng, clock, users.first, users.n, m), users.ids[spent.owner]),
            _money(spent.cents),
            _s(_CATEGORIES)[spent.category],
            spent.text,
            _dates(clock, spent.day),
            _town(spent.place),
            _glue(np.full(m, _NULL), stamp, stamp),
        ]
    )


def _budgets_text(rng: Rng, clock: _Clock, users: _Users, budgets: _Budgets) -> bytes:
    """budgets: limits in dollars per period."""
    m = len(budgets.owner)
    created = _stamps(
        clock, np.minimum(budgets.start_day * _DAY + rng.integers(0, _DAY, m), clock.now_s - 60)
    )
    return _block(
        [
            _glue(_row_ids(rng, clock, users.first, users.n, m), users.ids[budgets.owner]),
            _BUDGET_CATEGORY[budgets.category],
            _money(budgets.cents),
            _PERIODS[budgets.period],
            _dates(clock, budgets.start_day),
            _or_null(_dates(clock, np.maximum(budgets.end_day, clock.today)), budgets.end_day < 0),
            _glue(created, created),
        ]
    )


# --------------------------------------------------------------------------------------------
# Chunks and the public entry point




PREFERENCE_COLUMNS = ("user_id", "opted_out", "disabled_types", "timezone", "quiet_start",
                      "quiet_end", "daily_cap")
_DISABLED_CHOICES = _s(("{spending_anomaly}", "{group:budget}", "{fuel_economy_drop}",
                        "{spending_anomaly,fuel_economy_drop}"))
_QUIET_STARTS = _s(("22:00:00", "21:00:00", "23:00:00"))
_QUIET_ENDS = _s(("07:00:00", "06:30:00", "08:00:00"))


def _preferences_text(rng: Rng, users: _Users, trips: _Trips) -> tuple[bytes, int]:
    """Engine preferences of the travelers who set any: ~90% a time zone (that of the state
    they are in), ~30% quiet hours, ~4% some types switched off, ~5% their own daily cap, ~2%
    opted out of suggestions altogether. Returns the COPY text and its row count."""
    n = users.n
    zone = _or_null(_TOWN_ZONE[trips.here], rng.random(n) >= 0.9)
    quiet = rng.random(n) < 0.3
    window = rng.integers(0, len(_QUIET_STARTS), n)
    disabled = np.where(rng.random(n) < 0.04,
                        _DISABLED_CHOICES[rng.integers(0, len(_DISABLED_CHOICES), n)], b"{}")
    cap = _or_null(np.where(rng.random(n) < 0.5, b"1", b"5"), rng.random(n) >= 0.05)
    opted_out = rng.random(n) < 0.02
    keep = (zone != _NULL) | quiet | (disabled != b"{}") | (cap != _NULL) | opted_out
    columns = [
        users.ids,
        np.where(opted_out, b"t", b"f"),
        disabled,
        zone,
        _or_null(_QUIET_STARTS[window], ~quiet),
        _or_null(_QUIET_ENDS[window], ~quiet),
        cap,
    ]
    return _block([c[keep] for c in columns]), int(keep.sum())
