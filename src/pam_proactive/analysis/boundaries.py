"""Time boundaries: the pure time helpers every detector's boundary is built from.

A traveler's suggestions depend on two things: their rows, and the clock. Rows are watched by
the change feed; the clock is handled by each detector's boundary function, which lives next
to its detector (``suggestions/detectors/<name>.py``, named in its spec): for a context,
``now`` and the detector settings, it returns the earliest future moment at which its
detector's candidates (type, dedup key, priority, title, message, data) could differ from
those computed at ``now``, or None when only new data can change them.

Two kinds of time dependence exist in the detectors:

* sub-day, through ``now``: the hours until an event or a departure, which decide the window
  and the priority only (messages and ``data`` name dates and times, never a count of hours
  from ``now``, so no rounding grid moves them). Each is a linear function of ``now``; its
  next crossing of a threshold is computed exactly (:func:`crossing`), less a margin.
* daily, through ``ctx.today`` (the user's local date): budget periods and pace, due dates,
  expiry dates, a trip's elapsed share, data windows, the days counted in a message ('in 5
  days', 'tomorrow'). These change only at a local midnight (:func:`day_boundary`,
  :func:`next_local_midnight`).

:func:`earliest_recheck` takes the earliest of the detectors' boundaries, of a refresh ahead
of each rolling ``expires_at``, and of the next local midnight (a traveler is rechecked at
least once per local day whatever the detectors say).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import chain

from pam_proactive.analysis.dates import add_days, aware, zone, zone_midnight
from pam_proactive.analysis.records import quick_init
from pam_proactive.context import UserContext

# Subtracted from every computed crossing: float arithmetic on hours must never put a
# boundary after the moment the output really changes.
MARGIN = timedelta(seconds=1)
_MARGIN_SECONDS = MARGIN.total_seconds()


# The reasons of a recheck that no detector gives (a detector's name is its own).
RECHECK_REASONS = frozenset({"expiry_refresh", "daily"})


@quick_init
@dataclass(frozen=True, slots=True)
class Recheck:
    """When to look at a traveler again, and which rule decided it."""

    at: datetime  # aware, UTC
    reason: str  # a detector's name, 'expiry_refresh' or 'daily'


def zone_of(ctx: UserContext) -> tzinfo:
    """The user's zone (UTC when the profile holds no zone name)."""
    return zone(ctx.profile.timezone if isinstance(ctx.profile.timezone, str) else None)


def _now(now: datetime) -> datetime:
    """``now`` with a timezone (a naive value is taken as UTC)."""
    return aware(now, UTC)


def midnight_of(ctx: UserContext, day: date) -> datetime | None:
    """Local midnight starting ``day`` in the user's zone (aware), or None out of range."""
    name = ctx.profile.timezone
    return zone_midnight(day, name if isinstance(name, str) else None)


def next_local_midnight(ctx: UserContext) -> datetime | None:
    """The start of the user's next local day after ``ctx.today``."""
    if ctx.today >= date.max:
        return None
    return midnight_of(ctx, add_days(ctx.today, 1))


def earliest(moments: Iterable[datetime | None]) -> datetime | None:
    """The earliest of ``moments`` (None ignored), or None when there is none."""
    found = [m for m in moments if m is not None]
    if len(found) < 2:  # the common case: no need to compare instants
        return found[0] if found else None
    return min(found, key=lambda m: m.astimezone(UTC))


def day_boundary(ctx: UserContext, day: date | None) -> datetime | None:
    """Local midnight of ``day`` when it is after today (a daily condition flips then)."""
    if not isinstance(day, date) or day <= ctx.today:
        return None
    return midnight_of(ctx, day)


def earliest_day_boundary(ctx: UserContext, days: Iterable[date | None]) -> datetime | None:
    """``earliest(day_boundary(ctx, d) for d in days)``, with one local midnight computed:
    a later local date never starts at an earlier instant (no zone moves its clocks by more
    than a day), so the earliest date after today starts the earliest boundary. Out of range
    (None) only at the ends of the calendar, where every date is looked at."""
    ahead = [d for d in days if isinstance(d, date) and d > ctx.today]
    if not ahead:
        return None
    moment = midnight_of(ctx, min(ahead))
    if moment is not None:
        return moment
    return earliest(midnight_of(ctx, d) for d in ahead)


def tomorrow(ctx: UserContext) -> date:
    """The user's next local date: its day boundary is :func:`next_local_midnight` (none
    when ``ctx.today`` is the last date, where this is ``ctx.today`` itself)."""
    return add_days(ctx.today, 1)


def crossing(now: datetime, hours: float, *, inclusive: Iterable[float] = (),
             strict: Iterable[float] = ()) -> datetime | None:
    """When a figure of ``hours`` that falls by one per hour first crosses a threshold, less
    the margin; never before ``now``. ``inclusive`` thresholds flip as the figure reaches
    them (``hours <= t``), ``strict`` ones as it passes them (``hours < t``). None when out
    of range or no threshold lies ahead."""
    if not math.isfinite(hours):
        return None
    # The nearest threshold ahead: the largest one the figure has not yet crossed (one
    # pass, no lists: every traveler's boundaries compute a few of these).
    nearest: float | None = None
    for t in inclusive:
        if t < hours and (nearest is None or t > nearest):
            nearest = t
    for t in strict:
        if t <= hours and (nearest is None or t > nearest):
            nearest = t
    if nearest is None:
        return None
    gap = max(0.0, hours - nearest) * 3600.0 - _MARGIN_SECONDS
    try:
        return _now(now) + timedelta(0, max(0.0, gap))  # (days, seconds): positional is cheaper
    except OverflowError:
        return None


def expiry_refresh(now: datetime, expiries: Iterable[datetime | None],
                   margin: timedelta) -> datetime | None:
    """``margin`` before the earliest ``expires_at`` of the candidates: a full sweep rewrites
    a rolling expiry (computed from ``now``) at every run, so the incremental path must
    re-evaluate before it lapses, or the suggestion would expire there and not in a full
    sweep. Never before ``now``."""
    first = earliest(expiries)
    if first is None:
        return None
    try:
        return max(_now(now), first - margin)
    except OverflowError:
        return _now(now)


def earliest_recheck(ctx: UserContext, now: datetime, boundaries: Mapping[str, datetime],
                     expiries: Iterable[datetime | None] = (),
                     refresh_margin: timedelta = timedelta(hours=1)) -> Recheck:
    """The earliest of the detectors' ``boundaries`` (by detector name, in the order ties
    are credited), the expiry refreshes and the next local midnight; falls back to ``now``
    + 1 day when no local midnight can be represented."""
    return recheck_from(now, boundaries, next_local_midnight(ctx), expiries, refresh_margin)


def recheck_from(now: datetime, boundaries: Mapping[str, datetime], midnight: datetime | None,
                 expiries: Iterable[datetime | None] = (),
                 refresh_margin: timedelta = timedelta(hours=1)) -> Recheck:
    """:func:`earliest_recheck` given the context's :func:`next_local_midnight`
    (``midnight``), for a caller that has it already (``recheck_at`` bounds the daily
    boundaries with it)."""
    refresh = expiry_refresh(now, expiries, refresh_margin)
    daily = midnight if midnight is not None else _now(now) + timedelta(days=1)
    engine = (() if refresh is None else (("expiry_refresh", refresh),)) + (("daily", daily),)
    # One pass over the options in credit order, each converted to UTC once: a strictly
    # earlier instant replaces the one kept, so a tie stays with the first.
    reason, first = "daily", None
    for name, moment in chain(boundaries.items(), engine):
        instant = moment.astimezone(UTC)
        if first is None or instant < first:
            reason, first = name, instant
    assert first is not None  # the daily option is always there
    # A context whose local day is already over (only a stale or replayed one) is due now.
    return Recheck(max(first, _now(now).astimezone(UTC)), reason)
