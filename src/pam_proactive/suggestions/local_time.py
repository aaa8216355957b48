"""A traveler's local time: their zone, quiet hours and local days, as UTC instants.

Pure functions of a :class:`~pam_proactive.context.Profile` and the clock, shared by the store
(quiet hours, the daily cap's day) and the digest's schedule (:mod:`.digest`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from pam_proactive.analysis.dates import zone
from pam_proactive.context import Profile


def user_zone(profile: Profile) -> tzinfo:
    """The profile's time zone; UTC when its name is unknown to this system's tz database."""
    return zone(profile.timezone)


def local_instant(day: date, clock: time, tz: tzinfo) -> datetime:
    """The UTC instant of wall-clock ``clock`` on ``day`` in ``tz``."""
    return datetime.combine(day, clock.replace(tzinfo=None), tzinfo=tz).astimezone(UTC)


def quiet_hours_end(profile: Profile, now: datetime) -> datetime | None:
    """If ``now`` falls in the profile's quiet hours, the UTC instant they end; else None.

    The window is read in the user's time zone, from ``quiet_start`` (inclusive) to
    ``quiet_end`` (exclusive), and wraps midnight when ``quiet_start > quiet_end``
    (22:00-07:00). No window when either bound is missing or both are equal.
    """
    start, end = profile.quiet_start, profile.quiet_end
    if start is None or end is None or start == end:
        return None
    zone = user_zone(profile)
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    if start < end:
        inside, end_day = start <= clock < end, local.date()
    elif clock >= start:  # evening part of a window wrapping midnight: ends tomorrow
        inside, end_day = True, local.date() + timedelta(days=1)
    else:  # early-morning part (or outside): ends today
        inside, end_day = clock < end, local.date()
    if not inside:
        return None
    ends = local_instant(end_day, end, zone)
    # A DST jump can put the wall-clock end in the past; deliver now rather than never.
    return ends if ends > now else None


def local_day_bounds(profile: Profile, now: datetime) -> tuple[datetime, datetime]:
    """UTC instants [start, end) of the user's local calendar day containing ``now``."""
    zone = user_zone(profile)
    today = now.astimezone(zone).date()
    return (local_instant(today, time(0), zone),
            local_instant(today + timedelta(days=1), time(0), zone))
