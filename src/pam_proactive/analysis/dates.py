"""Date and time arithmetic that never raises: out-of-range results clamp or give None.

Contexts may hold any date a database row allowed (year 1 or 9999, naive timestamps), and a
detector must not fail on them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo


def add_days(day: date, days: int) -> date:
    """``day`` + ``days``, clamped to [date.min, date.max]."""
    try:
        return day + timedelta(days)  # positional: half the cost of days= (called per row)
    except OverflowError:
        return date.max if days > 0 else date.min


# IANA names are at most a few dozen characters; anything longer is not one, and must not be
# kept as a cache key (a 10 MB string in a profile would stay in memory).
_MAX_ZONE_NAME = 64


def known_zone(name: str | None) -> ZoneInfo | None:
    """The IANA zone ``name``, or None when it is missing or unknown to the tz database (the
    one time-zone resolver: the data layer validates profiles with it, the rest uses
    :func:`zone`)."""
    if not name or len(name) > _MAX_ZONE_NAME:
        return None
    return _cached_zone(name)


@lru_cache(maxsize=1024)
def _cached_zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except Exception:  # invalid keys raise several unrelated exception types
        return None


# The latest (name, zone) :func:`zone` gave: a traveler's detectors and boundaries ask for
# their zone ~4 times in a row with the same name object, and an identity test is cheaper
# than the two calls and the cache lookup (~0.15 us each). A str cannot change, and the pair
# holds it, so an identical name always has this zone.
_latest_zone: tuple[str | None, tzinfo] = (None, UTC)


def zone(name: str | None) -> tzinfo:
    """The IANA zone ``name``, or UTC when it is missing or unknown."""
    global _latest_zone
    latest = _latest_zone  # one read: the pair is replaced whole, never half-updated
    if name is latest[0]:
        return latest[1]
    found = known_zone(name) or UTC
    _latest_zone = (name, found)
    return found


def require_aware(moment: datetime, what: str = "`now`") -> datetime:
    """``moment`` itself; raises ValueError naming ``what`` if it has no timezone (it would
    be ambiguous)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, e.g. 2026-11-25T12:00:00+00:00")
    return moment


def aware(moment: datetime, tz: tzinfo) -> datetime:
    """``moment`` with a timezone: a naive value is read as local time in ``tz``."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def local_midnight(day: date, tz: tzinfo) -> datetime | None:
    """The start of ``day`` in ``tz`` (aware), or None when it cannot be represented in UTC."""
    moment = datetime.combine(day, time.min, tzinfo=tz)
    try:
        moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return moment


def zone_midnight(day: date, name: str | None) -> datetime | None:
    """:func:`local_midnight` of ``day`` in the zone :func:`zone` gives for ``name``.

    Time boundaries and expiries ask for the same few local midnights (today's and the next
    days', in a handful of zones) for every traveler of a sweep; each is computed once."""
    if name is not None and len(name) > _MAX_ZONE_NAME:
        name = None  # zone() reads such a name as UTC, as it reads None: same result
    return _zone_midnight(day, name)


@lru_cache(maxsize=8192)
def _zone_midnight(day: date, name: str | None) -> datetime | None:
    return local_midnight(day, zone(name))


@lru_cache(maxsize=8192)
def midnight_in(day: date, tz: tzinfo) -> datetime | None:
    """:func:`local_midnight`, computed once per (date, zone): every traveler's all-day
    events start at one (detector and boundary each ask), and a sweep's fall on a few dates
    in a few zones (0.6 us per event instead of 1.1; the key is a date and a zone object,
    both immutable)."""
    return local_midnight(day, tz)


@lru_cache(maxsize=8192)
def utc_midnight_in(day: date, tz: tzinfo) -> datetime | None:
    """:func:`midnight_in` as a UTC instant (``tzinfo`` :data:`datetime.UTC`), computed once
    per (date, zone). The same moment: the hours from a UTC ``now`` to it are then a plain
    difference, where one to a local midnight asks its zone for the offset (~0.35 us for a
    ``ZoneInfo``, at each of a sweep's all-day events, twice: detector and boundary)."""
    moment = midnight_in(day, tz)
    return moment.astimezone(UTC) if moment is not None else None  # in range: local_midnight


def hours_until(moment: datetime, now: datetime, tz: tzinfo) -> float | None:
    """Hours from ``now`` to ``moment`` (negative when past; naive values are local to
    ``tz``), or None when out of range."""
    return hours_between(aware(moment, tz), aware(now, tz))


def hours_between(moment: datetime, now: datetime) -> float | None:
    """:func:`hours_until` of two aware values (hours from ``now`` to ``moment``), for a
    caller that made them aware once."""
    try:
        return (moment - now).total_seconds() / 3600.0
    except (OverflowError, ValueError):
        return None


def shift(moment: datetime, delta: timedelta) -> datetime | None:
    """``moment`` + ``delta``, or None when out of range."""
    try:
        return moment + delta
    except OverflowError:
        return None


def local_date(moment: datetime, tz: tzinfo) -> date | None:
    """The calendar date of ``moment`` in ``tz`` (naive values are already local), or None."""
    if moment.tzinfo is None:
        return moment.date()
    try:
        return moment.astimezone(tz).date()
    except (OverflowError, ValueError):
        return None


def all_day_date(moment: datetime, tz: tzinfo) -> date | None:
    """The date of an all-day calendar entry stored as a timestamp, never shifted by a zone.

    Calendar apps store an all-day event as midnight UTC of its date: that instant *is* the
    date (read in the traveler's zone it would fall on the day before west of UTC). Some apps
    store the traveler's local midnight instead; any instant that is not midnight UTC is read
    as the date it falls on in ``tz``. A naive value is the date itself. None out of range."""
    if moment.tzinfo is None:
        return moment.date()
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    if utc.time() == time.min:
        return utc.date()
    return local_date(moment, tz)


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_date(day: date) -> str:
    """A short, unambiguous date for messages: 'Mon Mar 3' (year added when not obvious is
    left to callers). English names whatever the process locale (strftime's %a/%b follow
    it, and cost a locale lookup per call)."""
    return f"{_WEEKDAYS[day.weekday()]} {_MONTHS[day.month - 1]} {day.day}"
