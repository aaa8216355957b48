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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
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
    """A recurring payment: its category, cadence, latest amount and every occurrence found
    (oldest first; the last is the latest payment)."""

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


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= AMOUNT_TOLERANCE * b


class _Category:
    """One category's payments, indexed by day for the backward walks."""

    def __init__(self, payments: Sequence[Payment], members: Sequence[int]) -> None:
        self.payments = payments
        self.by_day: dict[date, list[int]] = {}
        for i in members:
            self.by_day.setdefault(payments[i].day, []).append(i)

    def near(self, day: date, amount: float, spread: int) -> list[int]:
        """Payments within ``spread`` days of ``day`` whose amount is close to ``amount``."""
        found: list[int] = []
        for offset in range(-spread, spread + 1):
            for i in self.by_day.get(day + timedelta(days=offset), ()):
                if _close(self.payments[i].amount, amount):
                    found.append(i)
        return found

    def chain(self, head: int, cadence: Cadence) -> list[int]:
        """The payments before ``head`` one cadence apart at its amount (``head`` first):
        every one within a band of 2 x :data:`DAY_TOLERANCE` days on the regular grid
        through ``head``, i.e. each within the tolerance of one anchor date."""
        amount = self.payments[head].amount
        start = self.payments[head].day
        chain, lo, hi = [head], 0, 0
        width = 2 * DAY_TOLERANCE
        while True:
            expected = _grid(start, cadence, len(chain))
            before = self.payments[chain[-1]].day
            options = []
            for i in self.near(expected, amount, width):
                day = self.payments[i].day
                dev = (day - expected).days
                band = max(hi, dev) - min(lo, dev)
                if day < before and band <= width:
                    options.append((band, abs(dev), -day.toordinal(), i))
            if not options:
                return chain
            _band, _dev, _day, best = min(options)
            dev = (self.payments[best].day - expected).days
            chain.append(best)
            lo, hi = min(lo, dev), max(hi, dev)

    def clean(self, chain: Sequence[int]) -> bool:
        """No other payment of the chain's amount between its first and last day."""
        amount = self.payments[chain[0]].amount
        first, last = self.payments[chain[-1]].day, self.payments[chain[0]].day
        between = sum(
            1
            for offset in range((last - first).days + 1)
            for i in self.by_day.get(first + timedelta(days=offset), ())
            if _close(self.payments[i].amount, amount)
        )
        return between == len(chain)


def find_schedules(payments: Sequence[Payment]) -> ScheduleView:
    """The recurring series in ``payments`` (see the module's rule)."""
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
            for cadence in CADENCES:
                chain = index.chain(i, cadence)
                if len(chain) >= MIN_OCCURRENCES and index.clean(chain):
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
