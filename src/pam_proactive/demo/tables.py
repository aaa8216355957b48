"""COPY text of each table from the generated arrays, and of the engine's preferences."""

from __future__ import annotations

from collections import Counter

import numpy as np

from pam_proactive.demo.encoding import (
    DAY,
    NULL,
    BytesArr,
    Clock,
    IntArr,
    Rng,
    ascii_array,
    block,
    const,
    date_texts,
    glue,
    ints,
    money,
    or_null,
    row_ids,
    stamps,
)
from pam_proactive.demo.generate.arrays import (
    created_at_seconds,
)
from pam_proactive.demo.generate.events import (
    Events,
)
from pam_proactive.demo.generate.spending import (
    BUDGET_CATEGORY,
    PERIODS,
    Budgets,
    Spending,
)
from pam_proactive.demo.generate.travelers import (
    DONE,
    NO_TRIP,
    PLANNED,
    STATUS_TEXT,
    Trips,
    Users,
)
from pam_proactive.demo.generate.vehicles import (
    Fuel,
    Service,
)
from pam_proactive.demo.reference import (
    CATEGORIES,
    CLASS_NAMES,
    EVENT_TYPES,
    FIFTH,
    FIRST_NAMES,
    LAST_NAMES,
    TASK_NOTES,
    TASKS,
    TOADS,
    TOWN_NAMES,
    TOWN_POINT,
    TOWN_REGION,
    TOWN_ZONE,
    TRAILER,
    TRIP_NOTES,
    VEHICLE_ROW_TYPE,
)


def _town(place: IntArr) -> BytesArr:
    """'City, ST' of town indices, NULL where -1."""
    return or_null(TOWN_NAMES[np.maximum(place, 0)], place < 0)


def profiles_text(rng: Rng, clock: Clock, seed: int, users: Users, trips: Trips) -> bytes:
    """profiles: ~95% active, mostly imperial units, towing text for toads and trailers."""
    n = users.n
    number = ints(users.first + np.arange(n, dtype=np.int64))
    email = np.strings.add(np.strings.add(b"user", number), f"-{seed}@example.com".encode())
    first = ascii_array(FIRST_NAMES)[rng.integers(0, len(FIRST_NAMES), n)]
    full_name = np.strings.add(
        np.strings.add(first, b" "), ascii_array(LAST_NAMES)[rng.integers(0, len(LAST_NAMES), n)]
    )
    trailer = (users.vclass == FIFTH) | (users.vclass == TRAILER)
    toad = ascii_array(TOADS)[rng.integers(0, len(TOADS), n)]
    # Trailers are always towed by a truck; an empty string also means "not towing".
    towing = np.where(trailer, users.tow_truck, np.where(users.toad, toad, b""))
    towing = or_null(towing, (towing == b"") & (rng.random(n) < 0.8))
    created = clock.now_s - rng.integers(460 * DAY, 1_500 * DAY, n)
    updated = clock.now_s - rng.integers(0, 30 * DAY, n)
    return block(
        [
            users.ids,
            email,
            full_name,
            or_null(first, rng.random(n) < 0.5),
            ascii_array(CLASS_NAMES)[users.vclass],
            users.make_model,
            np.where(users.diesel, b"diesel", b"gasoline"),
            towing,
            TOWN_REGION[trips.here],
            const(b"user", n),
            np.where(rng.random(n) < 0.95, b"active", b"inactive"),
            np.where(rng.random(n) < 0.88, b"imperial", b"metric"),
            stamps(clock, created),
            stamps(clock, updated),
        ]
    )


def _expiry(rng: Rng, clock: Clock, n: int) -> BytesArr:
    """Registration/insurance expiry: ~0.4% lapsed, ~0.8% within 30 days, ~8% unknown (most
    renew ahead, so the date on file is months away)."""
    draw = rng.random(n)
    offset = np.where(
        draw < 0.004,
        -rng.integers(1, 61, n),
        np.where(draw < 0.012, rng.integers(0, 31, n), rng.integers(31, 366, n)),
    )
    return or_null(date_texts(clock, clock.today + offset), rng.random(n) < 0.08)


def vehicles_text(rng: Rng, clock: Clock, users: Users, fuel: Fuel) -> tuple[bytes, int, int]:
    """One primary vehicle for ~90% of users; text, rows, rows without a known tank."""
    n = users.n
    has = np.flatnonzero(rng.random(n) < 0.9)
    k = len(has)
    vclass = users.vclass[has]
    trailer = (vclass == FIFTH) | (vclass == TRAILER)
    # Some trailer owners register the trailer itself: no engine, no tank, no odometer.
    the_trailer = trailer & (rng.random(k) < 0.2)
    kind = np.where(the_trailer, ascii_array(CLASS_NAMES)[vclass],
                    VEHICLE_ROW_TYPE.pick(rng, vclass))
    name = np.where(trailer & ~the_trailer, users.tow_truck[has], users.make_model[has])
    fuel_type = or_null(np.where(users.diesel[has], b"diesel", b"gasoline"), the_trailer)
    no_tank = the_trailer | (rng.random(k) < 0.25)
    tank = or_null(money(np.rint(users.tank[has] * 100).astype(np.int64)), no_tank)
    # Often the odometer was last typed in at the last fill-up, before the latest trips.
    stale = rng.random(k) < 0.4
    odometer = np.rint(np.where(stale, fuel.last_odo[has], fuel.odo_now[has])).astype(np.int64)
    text = block(
        [
            row_ids(rng, clock, users.first, n, k),
            users.ids[has],
            name,
            kind,
            fuel_type,
            tank,
            or_null(ints(odometer), the_trailer),
            _expiry(rng, clock, k),
            _expiry(rng, clock, k),
            const(b"t", k),
        ]
    )
    return text, k, int(no_tank.sum())


def _route_data(rng: Rng, origin: IntArr, destination: IntArr) -> tuple[BytesArr, Counter[str]]:
    """route_data: coordinates (~85%), NULL (~14%), JSON-in-a-string (~0.5%), junk (~0.2%)."""
    m = len(origin)
    good = np.strings.add(
        np.strings.add(np.strings.add(b'{"origin": ', TOWN_POINT[origin]), b', "destination": '),
        np.strings.add(TOWN_POINT[destination], b"}"),
    )
    draw = rng.random(m)
    route = or_null(good, draw < 0.14).astype(object)
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


def trips_text(
    rng: Rng, clock: Clock, users: Users, trips: Trips
) -> tuple[bytes, int, Counter[str]]:
    """trips: one row per used slot; costs in dollars, distances in miles."""
    owner, slot = np.nonzero(trips.status != NO_TRIP)
    m = len(owner)
    status = trips.status[owner, slot]
    origin, destination = trips.places[owner, slot], trips.places[owner, slot + 1]
    miles = trips.miles[owner, slot]
    start, end = trips.start[owner, slot], trips.end[owner, slot]
    fuel_cost = miles / users.mpg[owner] * rng.uniform(3.6, 4.4, m)
    estimated = np.rint(fuel_cost * rng.uniform(1.0, 1.3, m) * 100).astype(np.int64)
    actual = np.rint(estimated * rng.uniform(0.85, 1.25, m)).astype(np.int64)
    notes = ascii_array(TRIP_NOTES)[rng.integers(0, len(TRIP_NOTES), m)]
    route, planted = _route_data(rng, origin, destination)
    planned = status == PLANNED
    created = np.where(
        planned,
        clock.now_s - rng.integers(3_600, 40 * DAY, m),
        start * DAY - rng.integers(DAY, 30 * DAY, m),
    )
    updated = np.where(
        status == DONE,
        np.minimum(end * DAY + rng.integers(12 * 3600, 30 * 3600, m), clock.now_s - 60),
        created,
    )
    text = block(
        [
            glue(row_ids(rng, clock, users.first, users.n, m), users.ids[owner]),
            TOWN_NAMES[origin],
            TOWN_NAMES[destination],
            glue(date_texts(clock, start), date_texts(clock, end)),
            money(np.rint(miles * 100).astype(np.int64)),
            money(estimated),
            or_null(money(actual), status != DONE),
            STATUS_TEXT[status],
            or_null(notes, rng.random(m) < 0.8),
            route,
            glue(stamps(clock, created), stamps(clock, np.maximum(updated, created))),
        ]
    )
    return text, m, planted


def events_text(rng: Rng, clock: Clock, users: Users, events: Events) -> bytes:
    """calendar_events."""
    m = len(events.owner)
    description = or_null(np.full(m, b"Added from the trip planner"), rng.random(m) < 0.85)
    # A video meeting's location is empty, or names the app: never a town.
    location = np.where(events.remote & (rng.random(m) < 0.3), b"Zoom", _town(events.place))
    created = stamps(clock, events.created_s)
    return block(
        [
            glue(row_ids(rng, clock, users.first, users.n, m), users.ids[events.owner]),
            events.title,
            description,
            glue(stamps(clock, events.start_s), stamps(clock, events.end_s)),
            np.where(events.all_day, b"t", b"f"),
            ascii_array(EVENT_TYPES)[events.kind],
            location,
            events.reminder,
            glue(created, created),
        ]
    )


def fuel_text(rng: Rng, clock: Clock, users: Users, fuel: Fuel) -> bytes:
    """fuel_log: gallons (US), cost (dollars), odometer (miles), mpg as entered."""
    m = len(fuel.owner)
    return block(
        [
            glue(
                row_ids(rng, clock, users.first, users.n, m),
                users.ids[fuel.owner],
                date_texts(clock, fuel.day),
            ),
            money(fuel.centigallons),
            money(fuel.cost_cents),
            _town(fuel.place),
            ints(fuel.odometer),
            or_null(money(fuel.mpg_centi), fuel.mpg_centi < 0),
            stamps(clock, created_at_seconds(rng, clock, fuel.day)),
        ]
    )


def maintenance_text(rng: Rng, clock: Clock, users: Users, service: Service) -> bytes:
    """maintenance_records: mileage and next_due_mileage are odometers in miles."""
    m = len(service.owner)
    created = stamps(clock, created_at_seconds(rng, clock, service.day))
    return block(
        [
            glue(row_ids(rng, clock, users.first, users.n, m), users.ids[service.owner]),
            ascii_array(TASKS)[service.task],
            date_texts(clock, service.day),
            ints(service.mileage),
            money(service.cost_cents),
            _town(service.place),
            or_null(ascii_array(TASK_NOTES)[np.maximum(service.note, 0)], service.note < 0),
            date_texts(clock, service.due_day),
            or_null(ints(service.due_miles), service.due_miles < 0),
            glue(created, created),
        ]
    )


def expenses_text(rng: Rng, clock: Clock, users: Users, spent: Spending) -> bytes:
    """expenses: amounts in dollars."""
    m = len(spent.owner)
    # Rows dated ahead (planted) were still typed in before now.
    created = created_at_seconds(rng, clock, np.minimum(spent.day, clock.today))
    stamp = stamps(clock, created)
    return block(
        [
            glue(row_ids(rng, clock, users.first, users.n, m), users.ids[spent.owner]),
            money(spent.cents),
            ascii_array(CATEGORIES)[spent.category],
            spent.text,
            date_texts(clock, spent.day),
            _town(spent.place),
            glue(np.full(m, NULL), stamp, stamp),
        ]
    )


def budgets_text(rng: Rng, clock: Clock, users: Users, budgets: Budgets) -> bytes:
    """budgets: limits in dollars per period."""
    m = len(budgets.owner)
    created = stamps(
        clock, np.minimum(budgets.start_day * DAY + rng.integers(0, DAY, m), clock.now_s - 60)
    )
    return block(
        [
            glue(row_ids(rng, clock, users.first, users.n, m), users.ids[budgets.owner]),
            BUDGET_CATEGORY[budgets.category],
            money(budgets.cents),
            PERIODS[budgets.period],
            date_texts(clock, budgets.start_day),
            or_null(date_texts(clock, np.maximum(budgets.end_day, clock.today)),
                    budgets.end_day < 0),
            glue(created, created),
        ]
    )


# --------------------------------------------------------------------------------------------
# Chunks and the public entry point




PREFERENCE_COLUMNS = ("user_id", "opted_out", "disabled_types", "timezone", "quiet_start",
                      "quiet_end", "daily_cap")
_DISABLED_CHOICES = ascii_array(("{spending_anomaly}", "{group:budget}", "{fuel_economy_drop}",
                        "{spending_anomaly,fuel_economy_drop}"))
_QUIET_STARTS = ascii_array(("22:00:00", "21:00:00", "23:00:00"))
_QUIET_ENDS = ascii_array(("07:00:00", "06:30:00", "08:00:00"))


def preferences_text(rng: Rng, users: Users, trips: Trips) -> tuple[bytes, int]:
    """Engine preferences of the travelers who set any: ~90% a time zone (that of the state
    they are in), ~30% quiet hours, ~4% some types switched off, ~5% their own daily cap, ~2%
    opted out of suggestions altogether. Returns the COPY text and its row count."""
    n = users.n
    zone = or_null(TOWN_ZONE[trips.here], rng.random(n) >= 0.9)
    quiet = rng.random(n) < 0.3
    window = rng.integers(0, len(_QUIET_STARTS), n)
    disabled = np.where(rng.random(n) < 0.04,
                        _DISABLED_CHOICES[rng.integers(0, len(_DISABLED_CHOICES), n)], b"{}")
    cap = or_null(np.where(rng.random(n) < 0.5, b"1", b"5"), rng.random(n) >= 0.05)
    opted_out = rng.random(n) < 0.02
    keep = (zone != NULL) | quiet | (disabled != b"{}") | (cap != NULL) | opted_out
    columns = [
        users.ids,
        np.where(opted_out, b"t", b"f"),
        disabled,
        zone,
        or_null(_QUIET_STARTS[window], ~quiet),
        or_null(_QUIET_ENDS[window], ~quiet),
        cap,
    ]
    return block([c[keep] for c in columns]), int(keep.sum())
