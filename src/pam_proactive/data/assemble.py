"""The per-traveler rules the column-wise assembly shares (pure): each written once here.

What a section needs value by value, or once per traveler, lives here: the traveler's local
date, the profile, the expense windows and budget periods, coordinates and text-encoded
routes, the rules that tell two texts alike, where trips put a traveler, the completeness of
the sections and the positions of the traveler's free text in the user rows. The sections of
``data/columnar`` apply them to whole batches (one traveler is a batch of one). A malformed
value is skipped or repaired and counted in the user's ``DataQuality``, never allowed to crash
the batch and never replaced by a made-up value.
"""

from __future__ import annotations

import calendar
import json
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any

from pam_proactive.analysis.dates import known_zone
from pam_proactive.analysis.schedules import STALE_DAYS
from pam_proactive.analysis.vehicles import is_towing, normalize_vehicle_class
from pam_proactive.context import Coordinates, Location, Profile, QualityBuilder, Trip
from pam_proactive.data.rows import UserRow


def local_today(timezone: str | None, now: datetime) -> tuple[date, str, bool]:
    """The user's local date at ``now``; returns (date, zone used, whether the stored zone
    was invalid). A zone that is not an IANA name the tz database knows (an empty string, a
    path, 'Mars/Olympus_Mons') is invalid, not missing: UTC is used, and said."""
    found = known_zone(timezone)
    if found is None or timezone is None:
        return now.astimezone(UTC).date(), "UTC", timezone is not None
    return now.astimezone(found).date(), timezone, False


def finite(value: Any) -> float | None:
    """A finite float, or None for NULL, NaN, infinities and non-numbers."""
    # Fast paths: the views return double precision, so nearly every value is a float or None.
    if value is None:
        return None
    if value.__class__ is float:
        return value if math.isfinite(value) else None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def coordinates(lat: Any, lng: Any) -> Coordinates | None:
    """A point (degrees) from a latitude and a longitude of any type; None when either is
    missing, not a finite number or out of range."""
    if lat is None or lng is None:
        return None
    la, ln = finite(lat), finite(lng)
    if la is None or ln is None or not (-90 <= la <= 90 and -180 <= ln <= 180):
        return None
    return Coordinates(la, ln)


def build_profile(row: UserRow, timezone: str, quality: QualityBuilder) -> Profile:
    """Profile from a ``traveler_users`` row, with the timezone already validated."""
    currency, vehicle_type = row.currency, row.vehicle_type
    quiet_start, quiet_end, daily_cap = row.quiet_start, row.quiet_end, row.daily_cap
    cur = (currency or "").strip().upper()
    if len(cur) != 3 or not cur.isalpha():
        if currency:
            quality.repair("currency_defaulted")
        cur = "USD"
    return Profile(
        user_id=row.user_id,
        status=row.status or "active",
        units="imperial" if row.units == "imperial" else "metric",
        timezone=timezone,
        currency=cur,
        region=row.region,
        vehicle_class=normalize_vehicle_class(vehicle_type),
        fuel_type=(row.fuel_type or "").strip().lower() or None,
        towing=is_towing(row.towing, vehicle_type),
        coordinates=coordinates(row.latitude, row.longitude),
        opted_out=bool(row.opted_out),
        disabled_types=frozenset(row.disabled_types or ()),
        quiet_start=quiet_start if isinstance(quiet_start, time) else None,
        quiet_end=quiet_end if isinstance(quiet_end, time) else None,
        daily_cap=daily_cap if isinstance(daily_cap, int) and daily_cap >= 0 else None,
    )


FAR_FUTURE_DAYS = 365  # an expense dated further ahead than this is a typo
BASELINE_DAYS = (-97, -7)  # the anomaly baseline: the 90 days before the last 7
SPENT_DAYS = 30  # CategoryStats.spent_30d and count_30d: the last 30 days, today included
# A budget's alert threshold (percent of its limit) when it has none, or one outside (0, 100].
DEFAULT_ALERT_PCT = 80.0


def judged_since(today: date, yearly: bool) -> date:
    """The first day whose payments the schedule finder judges (older ones are history):
    the start of this week, this month and :data:`STALE_DAYS` ago, whichever is earliest
    (and of this year with a yearly budget)."""
    starts = [period_bounds(p, today)[0] for p in ("weekly", "monthly", "yearly")]
    since = min(starts[0], starts[1], today - timedelta(days=STALE_DAYS))
    return min(since, starts[2]) if yearly else since


def prior_month_offsets(today: date) -> tuple[tuple[int, int], ...]:
    """Day offsets from ``today`` (first, last, inclusive) of months -1, -2 and -3 over days
    1..today's day of month, each clamped to the month's last day."""
    spans = []
    year, month = today.year, today.month
    for _ in range(3):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        first = date(year, month, 1)
        last = date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
        spans.append((first.toordinal() - today.toordinal(),
                      last.toordinal() - today.toordinal()))
    return tuple(spans)


# A batch's travelers share a few todays (one per time zone's date): each distinct one is
# computed once, not per budget and traveler.
@lru_cache(maxsize=1024)
def period_bounds(period: str, today: date) -> tuple[date, date]:
    """First and last day (inclusive) of the calendar period containing ``today``."""
    if period == "weekly":
        start = date.fromordinal(today.toordinal() - today.weekday())
        return start, date.fromordinal(start.toordinal() + 6)
    if period == "yearly":
        return date(today.year, 1, 1), date(today.year, 12, 31)
    start = today.replace(day=1)
    nxt = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    return start, date.fromordinal(nxt.toordinal() - 1)


def route_text_coordinates(
    text: str | None,
) -> tuple[Coordinates | None, Coordinates | None, bool]:
    """Coordinates from text-encoded route JSON; the flag says whether it was malformed."""
    try:
        data = json.loads(text or "")
    except (TypeError, ValueError):
        return None, None, True
    if not isinstance(data, dict):
        return None, None, True

    def point(key: str) -> Coordinates | None:
        p = data.get(key)
        return coordinates(p.get("lat"), p.get("lng")) if isinstance(p, dict) else None

    return point("origin"), point("destination"), False


def trip_location(trips: Sequence[Trip]) -> Location | None:
    """Where the trips put a traveler without profile coordinates: the destination of the
    last active trip, else of the latest completed one (by end, else start date, then id)."""
    active = [t for t in trips if t.status == "active"]
    done = [t for t in trips if t.status == "completed"]
    if active:
        t = active[-1]
        return Location(t.destination_coordinates, t.destination, "active_trip")
    if done:
        t = max(done, key=lambda t: (t.end_date or t.start_date or date.min, t.trip_id))
        return Location(t.destination_coordinates, t.destination, "last_trip")
    return None


def same_text(text: str | None) -> str:
    """Text as the duplicate rules compare it: case and runs of blanks ignored."""
    return " ".join((text or "").split()).casefold()


def in_zone(moment: datetime, tz: tzinfo) -> datetime:
    """The same instant written in ``tz`` (unchanged when out of range or naive)."""
    if moment.tzinfo is None:
        return moment
    try:
        return moment.astimezone(tz)
    except (OverflowError, ValueError):
        return moment


# Each section's sources, in the order the completeness lists the missing ones.
COMPLETENESS_SOURCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("profile", ("timezone", "vehicle_type")),
    ("financial", ("expenses", "budgets")),
    ("travel", ("trips", "location")),
    ("calendar", ("calendar_events",)),
    ("vehicle", ("vehicles", "fuel_log", "maintenance_records")),
)


def completeness(quality: QualityBuilder, present: Sequence[bool]) -> None:
    """Each section's share of sources present (``present``: one flag per source of
    :data:`COMPLETENESS_SOURCES`, in order); a source absent because its value was invalid
    (counted as skipped, e.g. ``timezone_invalid``) is not also called missing."""
    flags = iter(present)
    for section, names in COMPLETENESS_SOURCES:
        sources = {name: next(flags) for name in names}
        quality.sections[section] = round(sum(sources.values()) / len(sources), 3)
        quality.missing_sources.extend(
            name for name, ok in sources.items()
            if not ok and name not in quality.recorded_after_now
            and f"{name}_invalid" not in quality.skipped)


# Positions of the traveler's free text in the user row (region, vehicle_type, fuel_type),
# cut by analysis.bounds.cut_text before anything is built from them: a title, message or
# `data` can then quote them without growing past the documented bounds.
USER_TEXT = tuple(UserRow._fields.index(f) for f in ("region", "vehicle_type", "fuel_type"))
