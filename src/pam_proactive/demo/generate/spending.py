"""Generation of expenses (bills, camping, purchases, fuel, service) and budgets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.demo.encoding import (
    BoolArr,
    BytesArr,
    Clock,
    FloatArr,
    IntArr,
    Rng,
    ascii_array,
)
from pam_proactive.demo.generate.arrays import (
    lognormal_cents,
    segments,
)
from pam_proactive.demo.generate.travelers import (
    Trips,
    Users,
)
from pam_proactive.demo.generate.vehicles import (
    Fuel,
    Service,
)
from pam_proactive.demo.reference import (
    BUDGET_CATS,
    CAMPING,
    CATEGORIES,
    EXPENSE_TEXT,
    FOOD,
    FUEL,
    FUN,
    INSURANCE,
    MAINT,
    MISC,
    SHOPPING,
    TASKS,
    TOTAL,
    TOWN_ZONE,
    UTILITIES,
)
from pam_proactive.demo.ruled_out import forecast_possible, threshold_possible


@dataclass(frozen=True, eq=False)
class Spending:
    """Expenses (flat rows)."""

    owner: IntArr
    category: IntArr  # index into CATEGORIES
    day: IntArr
    cents: IntArr
    text: BytesArr  # description
    place: IntArr  # town, -1 when not entered

    @staticmethod
    def join(parts: Sequence[Spending]) -> Spending:
        """All rows of `parts`, in order."""
        return Spending(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in _SPENDING_FIELDS)
        )

    def take(self, index: IntArr) -> Spending:
        """The rows at `index`."""
        return Spending(*(getattr(self, f)[index] for f in _SPENDING_FIELDS))


_SPENDING_FIELDS = ("owner", "category", "day", "cents", "text", "place")
_HISTORY_DAYS = 120  # expenses cover the 120 days up to now


def _spending(
    rng: Rng,
    owner: IntArr,
    category: int,
    day: IntArr,
    cents: IntArr,
    trips: Trips,
    text: BytesArr | None = None,
) -> Spending:
    """Expense rows of one category, located in a town the user visited (or not located)."""
    m = len(owner)
    cat = np.full(m, category, dtype=np.int64)
    if text is None:
        text = EXPENSE_TEXT.pick(rng, cat)
    place = trips.places[owner, rng.integers(0, trips.completed[owner] + 1)]
    place = np.where(rng.random(m) < 0.3, -1, place)
    return Spending(owner, cat, day, cents, text, place)


def _monthly_bills(
    rng: Rng, clock: Clock, trips: Trips, category: int, share: float, median: float
) -> Spending:
    """A bill on the same day every month (insurance, phone...) for `share` of the users."""
    users = np.flatnonzero(rng.random(len(trips.count)) < share)
    amount = median * np.exp(0.3 * rng.standard_normal(len(users)))
    day_of_month = rng.integers(0, 28, len(users))
    month = np.datetime64(clock.today, "D").astype("datetime64[M]")
    owners, days, cents = [], [], []
    for back in range(5):
        first = (month - back).astype("datetime64[D]").astype(np.int64)
        day = first + day_of_month
        keep = (day <= clock.today) & (day > clock.today - _HISTORY_DAYS)
        owners.append(users[keep])
        days.append(day[keep])
        wobble = rng.uniform(0.97, 1.03, int(keep.sum()))
        cents.append(np.rint(amount[keep] * wobble * 100).astype(np.int64))
    return _spending(
        rng, np.concatenate(owners), category, np.concatenate(days), np.concatenate(cents), trips
    )


def _camping(rng: Rng, clock: Clock, users: Users, trips: Trips) -> Spending:
    """Campground stays of 1-7 nights paid on arrival; ~30% of stays are free boondocking."""
    n = users.n
    stays = 40
    nights = rng.integers(1, 8, (n, stays))
    arrival = clock.today - _HISTORY_DAYS + 1 - rng.integers(0, 10, (n, 1)) + np.cumsum(nights, 1)
    paid = (arrival > clock.today - _HISTORY_DAYS) & (arrival <= clock.today)
    paid &= rng.random((n, stays)) >= 0.3
    owner, slot = np.nonzero(paid)
    nightly = 38.0 * users.spend_scale[owner] * np.exp(0.25 * rng.standard_normal(len(owner)))
    cents = np.rint(nightly * nights[owner, slot] * 100).astype(np.int64)
    return _spending(rng, owner, CAMPING, arrival[owner, slot], cents, trips)


def _purchases(
    rng: Rng,
    clock: Clock,
    users: Users,
    trips: Trips,
    category: int,
    count: tuple[int, int],
    median: float,
    sigma: float,
) -> Spending:
    """`count` (inclusive range) one-off purchases per user, log-normal around `median` dollars."""
    owner, _ = segments(rng.integers(count[0], count[1] + 1, users.n))
    day = clock.today - rng.integers(0, _HISTORY_DAYS, len(owner))
    cents = lognormal_cents(rng, median * users.spend_scale[owner], sigma)
    return _spending(rng, owner, category, day, cents, trips)


def _outliers(rng: Rng, clock: Clock, users: Users, trips: Trips) -> Spending:
    """For ~0.6% of users, one food expense of 8-12x their usual in the last 7 days."""
    owner = np.flatnonzero(rng.random(users.n) < 0.006)
    day = clock.today - rng.integers(0, 7, len(owner))
    dollars = _FOOD_MEDIAN * users.spend_scale[owner] * rng.uniform(8, 12, len(owner))
    text = np.full(len(owner), b"Catering for the campground potluck")
    return _spending(rng, owner, FOOD, day, np.rint(dollars * 100).astype(np.int64), trips, text)


_FOOD_MEDIAN = 42.0  # dollars per food expense


def make_expenses(
    rng: Rng, clock: Clock, users: Users, trips: Trips, fuel: Fuel, service: Service
) -> tuple[Spending, Counter[str]]:
    """30-60 expenses per user over 120 days, sorted by user and day, with planted errors."""
    window = clock.today - _HISTORY_DAYS
    fills = np.flatnonzero(fuel.day > window)
    services = np.flatnonzero(service.day > window)
    outliers = _outliers(rng, clock, users, trips)
    parts = [
        _monthly_bills(rng, clock, trips, INSURANCE, 0.7, 160.0),
        _monthly_bills(rng, clock, trips, UTILITIES, 0.85, 110.0),
        _camping(rng, clock, users, trips),
        _purchases(rng, clock, users, trips, FOOD, (8, 16), _FOOD_MEDIAN, 0.45),
        _purchases(rng, clock, users, trips, FUN, (1, 4), 35.0, 0.7),
        _purchases(rng, clock, users, trips, SHOPPING, (1, 4), 55.0, 0.8),
        _spending(rng, fuel.owner[fills], FUEL, fuel.day[fills], fuel.cost_cents[fills], trips),
        _spending(
            rng,
            service.owner[services],
            MAINT,
            service.day[services],
            service.cost_cents[services],
            trips,
            ascii_array(TASKS)[service.task[services]],
        ),
        outliers,
    ]
    spent = Spending.join(parts)
    spent = spent.take(np.lexsort((spent.day, spent.owner)))
    planted: Counter[str] = Counter(expense_outliers=len(outliers.owner))
    _plant_expense_errors(rng, clock, spent, planted)
    return spent, planted


def _plant_expense_errors(rng: Rng, clock: Clock, spent: Spending, planted: Counter[str]) -> None:
    """Negative amounts (~0.2%), unknown categories (~0.1%), dates 3 years ahead (~0.05%)."""
    draw = rng.random(len(spent.owner))
    negative = draw < 0.002
    unknown = (draw >= 0.002) & (draw < 0.003)
    future = (draw >= 0.003) & (draw < 0.0035)
    spent.cents[negative] *= -1
    spent.category[unknown] = MISC
    spent.text[unknown] = b"Misc"
    spent.day[future] = clock.today + 3 * 365 + rng.integers(0, 30, int(future.sum()))
    planted.update(
        negative_expenses=int(negative.sum()),
        unknown_category_expenses=int(unknown.sum()),
        future_expenses=int(future.sum()),
    )


@dataclass(frozen=True, eq=False)
class Budgets:
    """Budgets (flat rows)."""

    owner: IntArr
    category: IntArr  # index into CATEGORIES, TOTAL for all spending
    cents: IntArr  # limit per period
    period: IntArr  # index into PERIODS
    start_day: IntArr
    end_day: IntArr  # -1: open-ended


_MONTHLY, _WEEKLY, _YEARLY = 0, 1, 2
PERIODS = ascii_array(("monthly", "weekly", "yearly"))
BUDGET_CATEGORY = ascii_array((*CATEGORIES, "total"))


def _spend_matrix(spent: Spending, n: int, first_day: int, last_day: int) -> FloatArr:
    """Cents spent per (user, category) in [first_day, last_day]; last column: all categories."""
    ok = (spent.day >= first_day) & (spent.day <= last_day) & (spent.cents > 0)
    width = len(CATEGORIES) + 1
    key = spent.owner[ok] * width + spent.category[ok]
    sums = np.bincount(key, weights=spent.cents[ok], minlength=n * width).astype(np.float64)
    sums = sums.reshape(n, width)
    sums[:, TOTAL] = sums[:, :TOTAL].sum(axis=1)
    return sums


_OVER_SHARE, _PAST_80_SHARE, _PACE_SHARE = 0.007, 0.01, 0.006
"""Shares of all budgets already over, past 80 %, and on pace to overspend on the demo's
date: most people set a budget they can keep."""


def _share_among(rng: Rng, eligible: BoolArr, share: float) -> BoolArr:
    """About ``share`` of all rows, drawn among the ``eligible`` ones (all of them at most
    half): the same count of budgets in that state whatever the date, as long as some
    budget can be in it."""
    count = int(eligible.sum())
    p = min(0.5, share * len(eligible) / count) if count else 0.0
    chosen: BoolArr = eligible & (rng.random(len(eligible)) < p)
    return chosen


def _limits(rng: Rng, spent: FloatArr, typical: FloatArr, days_in: IntArr,
            length: IntArr, allows: tuple[BoolArr, BoolArr]) -> IntArr:
    """Budget limits (cents): ~0.7% already over, ~1% past 80%, ~0.6% on pace to overspend,
    the rest comfortably above what the traveler spends.

    `spent` is the current period's spending so far, `typical` a usual full period's,
    `days_in` the period's days so far (today included) and `length` its days; `allows` says
    per budget whether the detector's rules let its period be past the alert threshold, and
    on pace to overspend, today (``demo.ruled_out``). Over or close to a limit only where the
    period's spending so far is a good part of a usual period's (nobody sets a $15 monthly
    budget): early in a month, few monthly budgets are. "On pace": 40% spent, and today's
    rate crossing the limit by a tenth before the period ends."""
    m = len(spent)
    elapsed = days_in / length
    projected = spent / elapsed
    healthy = np.maximum(typical * rng.uniform(1.2, 1.7, m), projected * rng.uniform(1.3, 1.8, m))
    healthy = np.ceil(np.maximum(healthy, 2_500) / 2_500) * 2_500  # people pick round numbers
    over = np.floor(spent * rng.uniform(0.75, 0.97, m) / 1_000) * 1_000
    past_80 = np.ceil(spent / rng.uniform(0.82, 0.97, m) / 1_000) * 1_000
    # On pace: not yet spent, but projected at least 12% over (a margin for outliers the
    # detector leaves out of the rate), and at least 42% spent.
    low, high = spent * 1.03, np.minimum(projected / 1.12, spent / 0.42)
    on_pace = rng.uniform(low, np.maximum(high, low))
    meaningful = (spent >= 2_000) & (spent >= 0.6 * typical)
    threshold_ok, pace_ok = allows
    can_pace = (spent >= 2_000) & pace_ok & (high > low * 1.01)
    is_over = _share_among(rng, meaningful, _OVER_SHARE)
    is_past_80 = _share_among(rng, meaningful & threshold_ok & ~is_over, _PAST_80_SHARE)
    is_pace = _share_among(rng, can_pace & ~is_over & ~is_past_80, _PACE_SHARE)
    limit = np.select([is_over, is_past_80, is_pace], [over, past_80, np.ceil(on_pace)], healthy)
    cents: IntArr = np.maximum(limit, 100).astype(np.int64)
    return cents


def _allowed(clock: Clock, period: IntArr, zone: BytesArr, threshold_ok: BoolArr,
             pace_ok: BoolArr) -> None:
    """Fill, per budget, whether the detector's rules let its period be past the alert
    threshold, and on pace to overspend, on its owner's local date (``zone``: the zone the
    demo records for them): in the evening across the US that is still the day before the
    UTC date the rows are generated for."""
    detector_settings = DetectorSettings()
    moment = datetime.fromtimestamp(clock.now_s, UTC)
    for name in np.unique(zone):
        day = moment.astimezone(ZoneInfo(name.decode("ascii"))).date()
        for code, label in enumerate(PERIODS):
            rows = (zone == name) & (period == code)
            threshold_ok[rows] = threshold_possible(label.decode("ascii"), day, detector_settings)
            pace_ok[rows] = forecast_possible(label.decode("ascii"), day, detector_settings)


def make_budgets(rng: Rng, clock: Clock, n: int, spent: Spending, trips: Trips
                  ) -> Budgets:
    """1-4 budgets per user on food, camping, fuel, entertainment; 20% keep a total budget."""
    today = clock.today
    per_user = rng.integers(1, 5, n)
    order = np.argsort(rng.random((n, len(BUDGET_CATS))), axis=1)
    owner, pos = segments(per_user)
    m = len(owner)
    category = np.array(BUDGET_CATS)[order[owner, pos]]
    total = (rng.random(n) < 0.2)[owner] & (pos == per_user[owner] - 1)
    category = np.where(total, TOTAL, category)
    draw = rng.random(m)
    # Some budget groceries by the week, or insurance and repairs by the year.
    period = np.where(draw < 0.09, _WEEKLY, np.where(draw < 0.17, _YEARLY, _MONTHLY))

    month = np.datetime64(today, "D").astype("datetime64[M]")
    month_start = int(month.astype("datetime64[D]").astype(np.int64))
    month_days = int((month + 1).astype("datetime64[D]").astype(np.int64)) - month_start
    week_start = today - (today + 3) % 7  # day 0 (1970-01-01) was a Thursday
    year_start = int(month.astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64))
    year_days = int((month.astype("datetime64[Y]") + 1).astype("datetime64[D]").astype(np.int64))
    baseline = _spend_matrix(spent, n, today - 90, today)[owner, category] / 90  # cents per day

    so_far = np.empty(m, dtype=np.float64)
    begin = np.empty(m, dtype=np.int64)
    length = np.empty(m, dtype=np.int64)
    threshold_ok = np.empty(m, dtype=np.bool_)
    pace_ok = np.empty(m, dtype=np.bool_)
    for code, first, days in (
        (_MONTHLY, month_start, month_days),
        (_WEEKLY, week_start, 7),
        (_YEARLY, year_start, year_days - year_start),
    ):
        rows = period == code
        so_far[rows] = _spend_matrix(spent, n, first, today)[owner[rows], category[rows]]
        begin[rows], length[rows] = first, days
    _allowed(clock, period, TOWN_ZONE[trips.here[owner]], threshold_ok, pace_ok)
    limits = _limits(rng, so_far, baseline * length, today - begin + 1, length,
                     (threshold_ok, pace_ok))

    start_day = np.minimum(month_start, week_start) - rng.integers(0, 366, m)
    end_day = np.where(rng.random(m) < 0.15, today + rng.integers(20, 366, m), -1)
    return Budgets(owner, category, limits, period, start_day, end_day)


# --------------------------------------------------------------------------------------------
# Text of each table
