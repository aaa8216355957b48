"""Helpers shared by the detectors: building candidates with JSON-safe data, notes, zones."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from pam_proactive.analysis.dates import aware, shift, zone, zone_midnight
from pam_proactive.context import UserContext
from pam_proactive.suggestions.models import Candidate, DetectorResult, Note, Priority

TITLE_MAX = 80


class Findings:
    """What one detector run gathers before it returns (local to the run: the context is
    never written)."""

    __slots__ = ("_reasons", "_skipped", "detector")

    def __init__(self, detector: str) -> None:
        self.detector = detector
        # The reasons noted, in their first order: each becomes one Note in the result (a
        # detector notes the same reason once per row, and a str key is cheaper than a Note).
        # Both dicts are made at their first entry (None until then, never empty): most of
        # the eight runs per traveler fill neither, and two dicts each are 16 allocations per
        # traveler that the cyclic collector would count and walk.
        self._reasons: dict[str, None] | None = None
        self._skipped: dict[str, int] | None = None

    def note(self, reason: str) -> None:
        """Say, once, why the detector stayed silent or left something out."""
        reasons = self._reasons
        if reasons is None:
            self._reasons = {reason: None}
        else:
            reasons[reason] = None

    def skip(self, reason: str, count: int) -> None:
        """Report ``count`` rows of the context unusable for ``reason`` (a total, not a
        delta: reporting twice keeps the larger)."""
        if count > 0:  # mostly 0: nothing to keep
            skipped = self._skipped
            if skipped is None:
                self._skipped = {reason: count}
            elif count > skipped.get(reason, 0):
                skipped[reason] = count

    def result(self, candidates: Iterable[Candidate] = ()) -> DetectorResult:
        """The run's :class:`DetectorResult`."""
        skipped = self._skipped
        reasons = self._reasons
        # Most runs: one shared immutable value rather than a new one. An empty list or tuple
        # (most detectors pass their list) is seen without making a tuple of it; any other
        # iterable (a generator is never false) is made one first.
        if reasons is None and skipped is None and not candidates:
            return NOTHING
        found = tuple(candidates)
        if not found and reasons is None and skipped is None:
            return NOTHING
        detector = self.detector
        return DetectorResult(
            found, tuple(Note(detector, r) for r in reasons) if reasons is not None else (),
            tuple(sorted(skipped.items())) if skipped is not None else ())


NOTHING = DetectorResult()  # a run that found nothing and has nothing to say


def user_zone(ctx: UserContext) -> tzinfo:
    """The user's timezone (the context holds a validated IANA name)."""
    return zone(ctx.profile.timezone)


def aware_now(now: datetime) -> datetime:
    """``now`` with a timezone (a naive value is taken as UTC)."""
    return aware(now, UTC)


def day_start(ctx: UserContext, day: date) -> datetime | None:
    """Local midnight starting ``day`` in the user's timezone, or None out of range."""
    return zone_midnight(day, ctx.profile.timezone)


def after(now: datetime, **delta: float) -> datetime | None:
    """``now`` + a timedelta, or None out of range."""
    return shift(aware_now(now), timedelta(**delta))


_PLAIN = (str, int, bool, type(None))  # exact types returned as they are


def json_safe(value: Any) -> Any:
    """``value`` made strictly JSON-serialisable: non-finite floats become None, dates ISO
    strings, tuples and sets lists, other objects their string."""
    kind = value.__class__
    if kind in _PLAIN:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is dict:  # the common case: a detector's flat data, one level deep
        # Plain values and finite floats (x - x is 0.0 only for those) as they are, without
        # a call each; the rest through json_safe.
        return {k if k.__class__ is str else str(k):
                v if v.__class__ in _PLAIN or (v.__class__ is float and v - v == 0.0)
                else json_safe(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return str(value)


def short(text: str, limit: int = TITLE_MAX) -> str:
    """``text`` on one line, at most ``limit`` characters: cut at a word boundary with an
    ellipsis, so that no amount or name is ever cut in half (a single word longer than the
    limit is cut)."""
    flat = " ".join(str(text).split())
    if len(flat) <= limit:
        return flat
    head = flat[: limit - 1]
    cut = head.rfind(" ")
    return (head[:cut] if cut > 0 else head).rstrip(" ,;:") + "…"


def candidate(
    ctx: UserContext,
    now: datetime,
    *,
    type: str,
    priority: Priority,
    title: str,
    message: str,
    dedup_key: str,
    data: Mapping[str, Any],
    expires_at: datetime | None,
    tags: tuple[str, ...] = (),
    subjects: Iterable[str] = (),
) -> Candidate:
    """A :class:`Candidate` for ``ctx``'s user, computed for ``now``, with JSON-safe data;
    ``subjects`` without duplicates, in their first order."""
    return Candidate(  # positional, in field order: keywords cost ~30 % more
        str(ctx.user_id),
        type,
        priority,
        short(title),
        " ".join(message.split()),  # message
        dedup_key,
        json_safe(dict(data)),  # data
        now,  # computed_for
        expires_at,
        tags,
        tuple(dict.fromkeys(subjects)),  # subjects
    )


def r1(value: float) -> float:
    """Rounded to one decimal for ``data`` (non-finite values pass through to json_safe)."""
    return round(value, 1) if math.isfinite(value) else value


def r2(value: float) -> float:
    """Rounded to two decimals for ``data``."""
    return round(value, 2) if math.isfinite(value) else value
