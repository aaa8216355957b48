"""Recurring payments: schedules found in a traveler's expenses (pure).

A monthly campground site fee, an insurance premium or a subscription comes back at the same
amount on the same day: it is expected, not unusual, and a budget forecast should count the
occurrences still to come rather than spread it over every day as pace. Modelled on Actual
Budget's schedule finder: payments of one category whose amounts agree within
:data:`AMOUNT_TOLERANCE` and whose dates follow a weekly, biweekly or monthly cadence within
:data:`DAY_TOLERANCE` days.

A payment *fits a schedule* when, walking back from it one cadence at a time, at least
:data:`MIN_OCCURRENCES` - 1 earlier payments of its category and amount fall on the expected
dates (so it is the third occurrence or later), and no other payment of that category and
amount falls between them (a coffee bought every day is not a weekly schedule). The decision
for a payment depends only on the payments before it, so it does not change while the
payment stays recent. A payment much larger than its schedule's amount breaks it: it fits no
schedule and the anomaly rule judges it as any other.

"Within ±2 days" is read as Actual Budget does, around one anchor date: the occurrences lie
on the regular grid through the latest one, all within a band of 2 x ``DAY_TOLERANCE`` days
(the 13th and the 17th of two months are both 15th ± 2). Monthly grids count calendar months:
a month before the 15th is the 15th, clamped to the month's length (Mar 31 -> Feb 28), and a
payment on (or within the tolerance of) a month's last day is on month ends
(Feb 28 -> Jan 31).
"""

from __future__ import annotations

import calendar
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

Cadence = Literal["weekly", "biweekly", "monthly"]

DAY_TOLERANCE = 2  # days either side of the expected date
AMOUNT_TOLERANCE = 0.05  # relative difference from the payment's amount
MIN_OCCURRENCES = 3  # the payment and at least two before it
# Shortest first: a weekly series also has a payment every 14 days and (nearly) every month.
CADENCES: tuple[Cadence, ...] = ("weekly", "biweekly", "monthly")
_DAYS: dict[Cadence, int] = {"weekly": 7, "biweekly": 14}


@dataclass(frozen=True, slots=True)
class Payment:
    """One expense as the schedule finder sees it (amount in the user's currency, > 0)."""

    category: str
    amount: float
    day: date


@dataclass(frozen=True, slots=True)
class Schedule:
    """A recurring payment: its category, cadence, latest amount and its latest
    :data:`MIN_OCCURRENCES` occurrences (oldest first; the last is the latest payment)."""

    category: str
    cadence: Cadence
    amount: float
    days: tuple[date, ...]

    @property
    def last(self) -> date:
        """The latest occurrence."""
        return self.days[-1]

    def expected(self, after: int) -> date:
        """The ``after``-th expected date following the latest occurrence (``after`` >= 1);
        monthly on the largest day of month seen (clamped to each month's length)."""
        if self.cadence != "monthly":
            return self.last + timedelta(days=_DAYS[self.cadence] * after)
        anchor = max(d.day for d in self.days[-MIN_OCCURRENCES:])
        return add_months(self.last.replace(day=1), after, anchor)

    def due(self, today: date, last_day: date) -> list[date]:
        """The expected dates still to come up to ``last_day`` (inclusive), seen from
        ``today``: none when the next one is more than :data:`DAY_TOLERANCE` days overdue
        (the schedule has stopped); one up to that many days late still counts."""
        dates: list[date] = []
        k = 1
        nxt = self.expected(k)
        if nxt < today - timedelta(days=DAY_TOLERANCE):
            return dates
        while nxt <= last_day:
            dates.append(nxt)
            k += 1
            nxt = self.expected(k)
        return dates


@dataclass(frozen=True, slots=True)
class ScheduleView:
    """What the finder found in a list of payments: the indexes (into that list) of the
    payments that fit a schedule (each judged on the payments before it), and one
    :class:`Schedule` per recurring series, ending at its latest payment."""

    scheduled: frozenset[int]
    schedules: tuple[Schedule, ...]


def add_months(day: date, months: int, anchor: int | None = None) -> date:
    """``day`` moved by ``months`` calendar months, on day ``anchor`` (default: ``day``'s
    own) clamped to the target month's length."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(anchor or day.day, calendar.monthrange(year, month)[1]))


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _grid(head: date, cadence: Cadence, back: int) -> date:
    """The date ``back`` cadences before ``head`` on the regular grid through it; monthly on
    ``head``'s day of month (clamped), or on month ends when ``head`` is near its month's
    end (so Feb 28 -> Jan 31)."""
    if cadence != "monthly":
        return head - timedelta(days=_DAYS[cadence] * back)
    if (_month_end(head) - head).days <= DAY_TOLERANCE:
        return _month_end(add_months(head.replace(day=1), -back))
    return add_months(head, -back)


class _Category:
    """One category's payments, sorted by amount so that a walk only looks at the payments
    whose amount is close to its own (a handful, whatever the category's size)."""

    def __init__(self, payments: Sequence[Payment], members: Sequence[int]) -> None:
        self.payments = payments
        self.by_amount = sorted(members, key=lambda i: payments[i].amount)
        self.amounts = [payments[i].amount for i in self.by_amount]
        self.seen: dict[float, tuple[list[int], list[int]]] = {}

    def alike(self, head: int) -> tuple[list[int], list[int]]:
        """The payments whose amount is close to ``head``'s: their ordinal days, ascending,
        and their indexes in the same order."""
        amount = self.payments[head].amount
        known = self.seen.get(amount)  # a fixed bill repeats its exact amount
        if known is not None:
            return known
        lo = bisect_left(self.amounts, amount * (1 - AMOUNT_TOLERANCE))
        hi = bisect_right(self.amounts, amount * (1 + AMOUNT_TOLERANCE))
        found = sorted((self.payments[i].day.toordinal(), i) for i in self.by_amount[lo:hi])
        self.seen[amount] = result = ([d for d, _ in found], [i for _, i in found])
        return result

    def chain(self, head: int, cadence: Cadence, alike: tuple[list[int], list[int]]
              ) -> list[int]:
        """``head`` and up to :data:`MIN_OCCURRENCES` - 1 payments before it one cadence
        apart at its amount (``alike``; latest first), each the latest of that amount before
        the previous one: every one within a band of 2 x :data:`DAY_TOLERANCE` days on the
        regular grid through ``head``, i.e. each within the tolerance of one anchor date. (No
        further back: that is all a verdict needs, and each earlier occurrence has its own
        walk.)"""
        days, indexes = alike
        start = self.payments[head].day
        chain, lo, hi = [head], 0, 0
        width = 2 * DAY_TOLERANCE
        before = start.toordinal()
        while len(chain) < MIN_OCCURRENCES:
            expected = _grid(start, cadence, len(chain)).toordinal()
            # Only the latest payment of this amount before the last one found can continue
            # a clean chain (any other would lie between two occurrences): one look, O(log n)
            # even for a hostile list of thousands of equal amounts.
            k = bisect_left(days, before) - 1
            if k < 0:
                return chain
            dev = days[k] - expected
            if abs(dev) > width or max(hi, dev) - min(lo, dev) > width:
                return chain
            chain.append(indexes[k])
            lo, hi, before = min(lo, dev), max(hi, dev), days[k]
        return chain

    def clean(self, chain: Sequence[int], alike: tuple[list[int], list[int]]) -> bool:
        """No other payment of the chain's amount between its first and last day."""
        days = alike[0]
        first = self.payments[chain[-1]].day.toordinal()
        last = self.payments[chain[0]].day.toordinal()
        return bisect_right(days, last) - bisect_left(days, first) == len(chain)


# A series whose latest payment is older than this has stopped (its next one is overdue).
STALE_DAYS = 31 + DAY_TOLERANCE


def find_schedules(payments: Sequence[Payment], since: date | None = None) -> ScheduleView:
    """The recurring series in ``payments`` (see the module's rule). With ``since``, only
    the payments from that day on are judged (the earlier ones are their history): a
    series seen from ``since`` on covers every one still current if ``since`` is at least
    :data:`STALE_DAYS` before today."""
    by_category: dict[str, list[int]] = {}
    for i, p in enumerate(payments):
        if p.amount > 0:
            by_category.setdefault(p.category, []).append(i)
    scheduled: set[int] = set()
    schedules: list[Schedule] = []
    for category, members in by_category.items():
        index = _Category(payments, members)
        followed: set[int] = set()  # earlier occurrences of a series already found
        for i in sorted(members, key=lambda m: (payments[m].day, m), reverse=True):
            if since is not None and payments[i].day < since:
                break  # latest first: the rest are history only
            alike = index.alike(i)
            if len(alike[0]) < MIN_OCCURRENCES:  # the common case: no repeat of this amount
                continue
            for cadence in CADENCES:
                chain = index.chain(i, cadence, alike)
                if len(chain) >= MIN_OCCURRENCES and index.clean(chain, alike):
                    scheduled.add(i)
                    if i not in followed:  # the latest payment of its series
                        schedules.append(Schedule(
                            category, cadence, payments[i].amount,
                            tuple(sorted(payments[c].day for c in chain))))
                    followed.update(chain[1:])
                    break
    schedules.sort(key=lambda s: (s.category, s.last, s.amount))
    return ScheduleView(frozenset(scheduled), tuple(schedules))


def due_between(schedules: Iterable[Schedule], category: str | None, today: date,
                last_day: date) -> float:
    """Money (user's currency) of the scheduled payments of ``category`` (None: every
    category) still to come from ``today`` to ``last_day``."""
    return sum(
        s.amount * len(s.due(today, last_day))
        for s in schedules if category is None or s.category == category
    )


@lru_cache(maxsize=8192)
def due_counts(cadence: Cadence, days: tuple[date, ...], today: date,
               last_days: tuple[date, ...]) -> tuple[int, ...]:
    """How many expected dates a schedule of ``cadence`` and occurrences ``days`` still
    has from ``today`` up to each of ``last_days`` (``Schedule.due``, which needs no more
    than these). Remembered: a sweep's ~3,000 series share a few hundred day patterns and
    a batch's users a few todays, so each walk is done once per pattern. The schedule's
    expected dates are walked once, up to the latest of ``last_days``, and counted per
    day: ``Schedule.due`` is that walk cut at a day."""
    dates = Schedule("", cadence, 0.0, days).due(today, max(last_days))
    # ``dates`` ascend: those up to a day are its first ones.
    return tuple(bisect_right(dates, last_day) for last_day in last_days)


def dues_by_category(schedules: Sequence[Schedule], today: date, last_days: Sequence[date]
                     ) -> dict[str, tuple[float, ...]]:
    """Per category of ``schedules``: :func:`due_between` up to each of ``last_days``
    (money, user's currency), the same floats (the same products, summed in schedule
    order; the dates counted by :func:`due_counts`)."""
    products: dict[str, list[list[float]]] = {}
    ends = tuple(last_days)
    for s in schedules:
        counts = due_counts(s.cadence, s.days, today, ends)
        lists = products.setdefault(s.category, [[] for _ in ends])
        for k, count in enumerate(counts):
            lists[k].append(s.amount * count)
    return {name: tuple(sum(p) for p in lists) for name, lists in products.items()}
