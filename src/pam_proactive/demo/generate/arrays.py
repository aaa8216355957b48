"""Numpy helpers shared by the generators: per-user row segments, amounts, created_at."""

from __future__ import annotations

import numpy as np

from pam_proactive.demo.encoding import (
    DAY,
    Clock,
    FloatArr,
    IntArr,
    Rng,
)


def segments(counts: IntArr) -> tuple[IntArr, IntArr]:
    """For per-user row counts: each row's user (owner) and its position within the user."""
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(len(owner)) - starts[owner]


def segment_cumsum(values: FloatArr, pos: IntArr) -> FloatArr:
    """Running sum of `values` restarting at each user's first row."""
    total: FloatArr = np.cumsum(values)
    first = np.arange(len(values)) - pos
    restarted: FloatArr = total - (total[first] - values[first])
    return restarted


def lognormal_cents(rng: Rng, median: FloatArr, sigma: float) -> IntArr:
    """Amounts in cents, log-normal around `median` dollars."""
    dollars = median * np.exp(sigma * rng.standard_normal(len(median)))
    return np.maximum(np.rint(dollars * 100), 50).astype(np.int64)


def created_at_seconds(rng: Rng, clock: Clock, days: IntArr) -> IntArr:
    """created_at (unix seconds) of rows dated `days`: a few hours into the day, never after now."""
    seconds = days * DAY + rng.integers(7 * 3600, 22 * 3600, len(days))
    created: IntArr = np.minimum(seconds, clock.now_s - rng.integers(60, 3600, len(days)))
    return created


# --------------------------------------------------------------------------------------------
# The travelers of one chunk: numeric facts first, text last.
