"""When a failed delivery is tried again, and when it is dead. Pure functions.

A notification's first attempt is made when it is due; after the n-th failed attempt the next
waits ``delays[n - 1]`` (PAM_DELIVERY_RETRY_SCHEDULE, default Svix's 5 s, 5 min, 30 min, 2 h,
5 h, 10 h, 10 h), scaled by a random jitter so that rows failed together do not all come back
in the same second. A receiver's ``Retry-After`` pushes the retry later, never sooner, and at
most the schedule's longest delay. After the attempt that follows the last delay fails, the
row is dead: nothing retries it until an operator replays it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime


def attempts_allowed(delays: Sequence[float]) -> int:
    """Attempts a notification gets before it is dead: the first, then one per delay."""
    return 1 + len(delays)


def next_attempt(now: datetime, tries: int, delays: Sequence[float], *, jitter: float = 0.0,
                 retry_after: float | None = None, rng: random.Random | None = None
                 ) -> datetime | None:
    """When to try again after ``tries`` failed attempts (counting the one just made), or
    None when that was the last one (the row is dead).

    ``retry_after``: seconds the receiver asked to wait (capped at ``max(delays)``).
    """
    if tries < 1:
        raise ValueError("tries counts the failed attempts made, at least 1")
    if tries > len(delays):
        return None
    factor = 1.0 + (rng or random).uniform(-jitter, jitter) if jitter else 1.0
    wait = delays[tries - 1] * factor
    if retry_after is not None:
        wait = max(wait, min(retry_after, max(delays)))
    return now + timedelta(seconds=wait)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait: delay-seconds or an HTTP-date (RFC 9110);
    None when absent or unreadable. ``now`` (default the wall clock) anchors an HTTP-date."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
