"""Plant known traveler data into a real database, in either preset's own tables.

The same call writes the seed schema's rows or the wheels-wins-live ones (bigint ids, trips as
user_trips + trip_routes in km, fuel in litres and km for metric users, settings in jsonb), so
one test can assert the same hand-computed values on both presets.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

KM_PER_MILE = 1.609344
LITRES_PER_GALLON = 3.785411784
EPOCH = datetime.fromisoformat("2020-01-01T00:00:00+00:00")  # created_at of planted rows


class Planter:
    """Writes planted rows; ``preset`` is 'seed' or 'wheels-wins-live'."""

    def __init__(self, uri: str, preset: str) -> None:
        self.conn = psycopg.connect(uri, autocommit=True)
        self.preset = preset
        self.wwl = preset == "wheels-wins-live"
        self.metric: dict[UUID, bool] = {}

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Planter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _x(self, query: str, params: Any = ()) -> Any:
        return self.conn.execute(query.encode(), params)

    def user(self, *, units: str = "imperial", timezone: str | None = "America/Denver",
             vehicle_type: str | None = "class_c", fuel_type: str | None = "gasoline",
             towing: str | None = None, status: str | None = "active",
             lat: float | None = None, lng: float | None = None, opted_out: bool = False,
             disabled_types: tuple[str, ...] = (), quiet: tuple[time, time] | None = None,
             daily_cap: int | None = None, currency: str | None = None,
             user_id: UUID | None = None) -> UUID:
        uid = user_id or uuid.uuid4()
        self.metric[uid] = units == "metric"
        if self.wwl:
            self._x("INSERT INTO auth.users (id) VALUES (%s)", (uid,))
            self._x("INSERT INTO profiles (id, email, status, region, vehicle_type, fuel_type,"
                    " towing, current_latitude, current_longitude) VALUES"
                    " (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (uid, f"{uid}@example.com", status,
                     "United States" if units == "imperial" else "Australia",
                     vehicle_type, fuel_type, towing, lat, lng))
            groups = {g.split(":", 1)[1] for g in disabled_types if g.startswith("group:")}
            notif = {"trip_reminders": "trip" not in groups,
                     "maintenance_alerts": "maintenance" not in groups,
                     "budget_alerts": "budget" not in groups}
            regional = {"units": units, **({"timezone": timezone} if timezone is not None else {}),
                        **({"currency": currency} if currency else {})}
            self._x("INSERT INTO user_settings (user_id, notification_preferences,"
                    " regional_preferences, pam_preferences) VALUES (%s, %s, %s, %s)",
                    (uid, Jsonb(notif), Jsonb(regional),
                     Jsonb({"proactive_suggestions": not opted_out})))
            types = [t for t in disabled_types if not t.startswith("group:")]
            self._prefs(uid, False, types, None, quiet, daily_cap, None)
        else:
            self._x("INSERT INTO profiles (id, email, vehicle_type, fuel_type, towing, status,"
                    " preferred_units) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (uid, f"{uid}@example.com", vehicle_type, fuel_type, towing,
                     status or "active", units))
            self._prefs(uid, opted_out, list(disabled_types), timezone, quiet, daily_cap,
                        currency)
        return uid

    def _prefs(self, uid: UUID, opted_out: bool, types: list[str], timezone: str | None,
               quiet: tuple[time, time] | None, cap: int | None, currency: str | None) -> None:
        self._x("INSERT INTO pam_proactive.user_preferences (user_id, opted_out, disabled_types,"
                " timezone, currency, quiet_start, quiet_end, daily_cap)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (uid, opted_out, types, timezone, currency,
                 quiet[0] if quiet else None, quiet[1] if quiet else None, cap))

    def expense(self, uid: UUID, amount: float | None, category: str, day: date,
                created_at: datetime = EPOCH, *, description: str | None = None) -> str:
        row = self._x("INSERT INTO expenses (user_id, amount, category, date, created_at,"
                      " description) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id::text",
                      (uid, amount, category, day, created_at, description)).fetchone()
        return str(row[0])

    def budget(self, uid: UUID, category: str, limit: float, *, period: str = "monthly",
               start: date = date(2020, 1, 1), end: date | None = None,
               threshold: float | None = None) -> str:
        if self.wwl:
            row = self._x("INSERT INTO budgets (user_id, name, category, monthly_limit,"
                          " alert_threshold, start_date, end_date) VALUES"
                          " (%s, %s, %s, %s, %s, %s, %s) RETURNING id::text",
                          (uid, category, category, limit, threshold, start,
                           end or date(2099, 12, 31))).fetchone()
        else:
            row = self._x("INSERT INTO budgets (user_id, category, amount, period, start_date,"
                          " end_date, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                          " RETURNING id::text",
                          (uid, category, limit, period, start, end, EPOCH)).fetchone()
        return str(row[0])

    def near_budget(self) -> UUID:
        """A new traveler who spent $850 of a $1,000 monthly food budget on 2026-11-03: one
        ``budget_threshold`` candidate through November 2026, nothing else."""
        uid = self.user()
        self.expense(uid, 850, "food", date(2026, 11, 3))
        self.budget(uid, "food", 1000)
        return uid

    def trip(self, uid: UUID, origin: str, destination: str, start: date | None,
             end: date | None, miles: float | None, *, status: str = "planned",
             cost: float | None = None, route_data: Any = None,
             created_at: datetime = EPOCH) -> str:
        if self.wwl:
            row = self._x("INSERT INTO user_trips (user_id, title, start_date, end_date, status,"
                          " total_budget, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                          " RETURNING id",
                          (uid, f"{origin} to {destination}", start, end,
                           "planning" if status == "planned" else status, cost,
                           created_at)).fetchone()
            self._x("INSERT INTO trip_routes (trip_id, user_id, route_order, start_location,"
                    " end_location, distance_km, route_data) VALUES (%s, %s, 1, %s, %s, %s, %s)",
                    (row[0], uid, origin, destination,
                     None if miles is None else miles * KM_PER_MILE, _json(route_data)))
            return str(row[0])
        row = self._x("INSERT INTO trips (user_id, origin, destination, start_date, end_date,"
                      " distance_miles, estimated_cost, status, route_data, created_at)"
                      " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id::text",
                      (uid, origin, destination, start, end, miles, cost, status,
                       _json(route_data), created_at)).fetchone()
        return str(row[0])

    def event(self, uid: UUID, title: str, starts_at: datetime, *,
              ends_at: datetime | None = None, location: str | None = None,
              event_type: str = "personal", created_at: datetime = EPOCH,
              all_day: bool = False) -> str:
        row = self._x("INSERT INTO calendar_events (user_id, title, start_date, end_date,"
                      " all_day, event_type, location_name, created_at)"
                      " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id::text",
                      (uid, title, starts_at, ends_at or starts_at, all_day, event_type,
                       location, created_at)).fetchone()
        return str(row[0])

    def fill(self, uid: UUID, day: date, gallons: float | None, odometer_miles: float | None,
             *, cost: float | None = None, full: bool | None = True,
             created_at: datetime = EPOCH) -> str:
        cost = cost if cost is not None else round((gallons or 0) * 4.0, 2)
        if self.wwl:
            metric = self.metric.get(uid, False)
            volume = None if gallons is None else (
                gallons * LITRES_PER_GALLON if metric else gallons)
            odo = None if odometer_miles is None else (
                odometer_miles * KM_PER_MILE if metric else odometer_miles)
            row = self._x("INSERT INTO fuel_log (user_id, date, odometer, volume, total,"
                          " filled_to_top, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                          " RETURNING id::text",
                          (uid, day, odo, volume, cost, full, created_at)).fetchone()
        else:
            row = self._x("INSERT INTO fuel_log (user_id, date, gallons, cost, odometer,"
                          " created_at) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id::text",
                          (uid, day, gallons, cost, odometer_miles, created_at)).fetchone()
        return str(row[0])

    def maintenance(self, uid: UUID, task: str, day: date, mileage: float | None, *,
                    next_due_date: date | None = None, next_due_mileage: float | None = None,
                    status: str | None = None) -> str:
        if self.wwl:
            metric = self.metric.get(uid, False)
            k = KM_PER_MILE if metric else 1.0
            row = self._x("INSERT INTO maintenance_records (user_id, task, date, mileage,"
                          " next_due_date, next_due_mileage, status) VALUES"
                          " (%s, %s, %s, %s, %s, %s, %s) RETURNING id::text",
                          (uid, task, day, (mileage or 0) * k, next_due_date,
                           None if next_due_mileage is None else next_due_mileage * k,
                           status)).fetchone()
        else:
            row = self._x("INSERT INTO maintenance_records (user_id, task, date, mileage,"
                          " next_due_date, next_due_mileage, created_at) VALUES"
                          " (%s, %s, %s, %s, %s, %s, %s) RETURNING id::text",
                          (uid, task, day, mileage, next_due_date, next_due_mileage,
                           EPOCH)).fetchone()
        return str(row[0])

    def vehicle(self, uid: UUID, *, name: str = "Rig", vehicle_type: str = "motorhome",
                fuel_type: str = "gasoline", tank_gallons: float | None = None,
                mpg: float | None = None, odometer_miles: int | None = None,
                registration_expires: date | None = None, insurance_expires: date | None = None,
                is_primary: bool = True) -> str:
        extra_cols, extra_vals = ("", ()) if not self.wwl else (
            ", fuel_consumption_mpg", (mpg,))
        row = self._x("INSERT INTO vehicles (user_id, name, vehicle_type, fuel_type,"
                      " fuel_capacity_gallons, mileage_current, registration_expires,"
                      f" insurance_expires, is_primary{extra_cols}) VALUES"
                      f" (%s, %s, %s, %s, %s, %s, %s, %s, %s{', %s' if self.wwl else ''})"
                      " RETURNING id::text",
                      (uid, name, vehicle_type, fuel_type, tank_gallons, odometer_miles,
                       registration_expires, insurance_expires, is_primary,
                       *extra_vals)).fetchone()
        return str(row[0])


def _json(value: Any) -> Any:
    """route_data as given: a dict becomes jsonb; a str is stored as a JSON *string*."""
    if value is None:
        return None
    if isinstance(value, str):
        return Jsonb(value)  # a JSON string value, e.g. text-encoded JSON or garbage
    return Jsonb(json.loads(json.dumps(value)))


def plant_budget_groups(uri: str, today: date) -> list[UUID]:
    """Seven seed-preset travelers for the job tests: five over a food budget
    (``budget_exceeded``, the monitor job's group), one on pace to overspend fuel (the
    predictive job's group) and one with nothing to say."""
    with Planter(uri, "seed") as p:
        users = [p.user() for _ in range(7)]
        for u in users[:5]:
            p.budget(u, "food", 100)
            p.expense(u, 120, "food", today)
        p.budget(users[5], "fuel", 100)
        p.expense(users[5], 85, "fuel", today)
    return users
