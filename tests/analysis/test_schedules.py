"""Recurring payments found in expenses: cadence within ±2 days, amount within 5 %."""

from __future__ import annotations

from datetime import date, timedelta

from pam_proactive.analysis.schedules import (
    Payment,
    Schedule,
    add_months,
    due_between,
    dues_by_category,
    find_schedules,
)


def pay(*items: tuple[date, float], category: str = "campground") -> list[Payment]:
    return [Payment(category, amount, day) for day, amount in items]


def test_monthly_across_month_ends() -> None:
    # Jan 31 -> Feb 28 -> Mar 31 -> Apr 30: the site fee on each month's last day.
    found = find_schedules(pay((date(2026, 1, 31), 800), (date(2026, 2, 28), 805),
                               (date(2026, 3, 31), 798), (date(2026, 4, 30), 800)))
    # The third and fourth occurrences fit (each has two before it); the first two cannot.
    assert found.scheduled == {2, 3}
    [series] = found.schedules
    assert (series.cadence, series.amount, series.last) == ("monthly", 800, date(2026, 4, 30))
    assert series.days == (date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30))
    assert series.expected(1) == date(2026, 5, 31) and series.expected(2) == date(2026, 6, 30)
    assert series.due(date(2026, 5, 2), date(2026, 5, 31)) == [date(2026, 5, 31)]


def test_monthly_with_two_days_of_jitter_either_way() -> None:
    found = find_schedules(pay((date(2026, 1, 15), 120), (date(2026, 2, 17), 120),
                               (date(2026, 3, 13), 120), (date(2026, 4, 15), 120)))
    assert found.scheduled == {2, 3}
    [series] = found.schedules
    assert series.expected(1) == date(2026, 5, 17)  # the latest day of month seen
    # Spread over more than 15th ± 2 is not the schedule.
    late = find_schedules(pay((date(2026, 1, 12), 120), (date(2026, 2, 17), 120),
                              (date(2026, 3, 15), 120)))
    assert late.scheduled == set() and late.schedules == ()


def test_weekly_and_biweekly() -> None:
    start = date(2026, 3, 2)
    weekly = find_schedules(pay(*((start + timedelta(days=7 * k + k % 2), 45.0)
                                  for k in range(6)), category="laundry"))
    assert weekly.scheduled == {2, 3, 4, 5}
    assert [s.cadence for s in weekly.schedules] == ["weekly"]
    biweekly = find_schedules(pay(*((start + timedelta(days=14 * k), 60.0) for k in range(4))))
    assert biweekly.scheduled == {2, 3}
    [series] = biweekly.schedules
    assert series.cadence == "biweekly"
    assert series.last == date(2026, 4, 13)
    assert series.due(date(2026, 4, 14), date(2026, 5, 31)) == [date(2026, 4, 27),
                                                                date(2026, 5, 11),
                                                                date(2026, 5, 25)]


def test_amount_tolerance_and_a_broken_schedule() -> None:
    days = [date(2026, 1, 5), date(2026, 2, 5), date(2026, 3, 5)]
    within = find_schedules(pay(*zip(days, (100.0, 103.0, 99.0), strict=True)))
    assert within.scheduled == {2}
    # The premium jumps to 20x: that payment fits no schedule (the anomaly rule judges it).
    broken = find_schedules(pay(*zip([*days, date(2026, 4, 5)], (100.0, 100.0, 100.0, 2000.0),
                                     strict=True)))
    assert broken.scheduled == {2}
    assert [s.last for s in broken.schedules] == [date(2026, 3, 5)]
    assert find_schedules(pay(*zip(days, (100.0, 100.0, 106.0), strict=True))).scheduled == set()


def test_the_same_amount_every_day_is_no_schedule() -> None:
    coffee = pay(*((date(2026, 3, 1) + timedelta(days=k), 4.5) for k in range(40)),
                 category="coffee")
    assert find_schedules(coffee).scheduled == set()


def test_series_are_kept_apart_by_category_and_amount() -> None:
    months = [date(2026, m, 3) for m in (1, 2, 3)]
    payments = (pay(*((d, 50.0) for d in months), category="subscriptions")
                + pay(*((d + timedelta(days=10), 15.0) for d in months), category="subscriptions")
                + pay(*((d, 50.0) for d in months[:2]), category="food"))
    found = find_schedules(payments)
    assert found.scheduled == {2, 5}
    assert [(s.category, s.amount) for s in found.schedules] == [
        ("subscriptions", 50.0), ("subscriptions", 15.0)]
    assert due_between(found.schedules, "subscriptions", date(2026, 4, 1),
                       date(2026, 4, 30)) == 65.0
    assert due_between(found.schedules, "food", date(2026, 4, 1), date(2026, 4, 30)) == 0.0
    assert due_between(found.schedules, None, date(2026, 4, 4), date(2026, 4, 30)) == 65.0


def test_a_stopped_schedule_expects_nothing() -> None:
    series = Schedule("insurance", "monthly", 90.0,
                      (date(2026, 1, 10), date(2026, 2, 10), date(2026, 3, 10)))
    assert series.due(date(2026, 4, 12), date(2026, 4, 30)) == [date(2026, 4, 10)]  # 2 late
    assert series.due(date(2026, 4, 13), date(2026, 4, 30)) == []  # 3 days late: stopped


def test_add_months_clamps_to_the_month() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)
    assert add_months(date(2026, 3, 1), -3, anchor=31) == date(2025, 12, 31)


def test_since_judges_only_the_later_payments_with_the_earlier_as_history() -> None:
    payments = pay(*((date(2026, m, 20), 800.0) for m in range(7, 12)))
    full = find_schedules(payments)
    assert full.scheduled == {2, 3, 4}
    later = find_schedules(payments, since=date(2026, 10, 23))  # only Nov 20 is judged
    assert later.scheduled == {4}
    assert later.schedules == full.schedules


def test_thousands_of_equal_amounts_are_judged_without_a_schedule() -> None:
    # A hostile (or buggy) import: 5,000 payments of 9.99 over 97 days, several a day.
    day0 = date(2026, 8, 20)
    flood = pay(*((day0 + timedelta(days=k % 97), 9.99) for k in range(5_000)))
    found = find_schedules(flood)
    assert found.scheduled == set() and found.schedules == ()


def test_dues_by_category_is_due_between_per_period_end() -> None:
    # Weekly, biweekly and monthly series (one stopped, one on month ends, odd amounts whose
    # sums depend on the order of addition), seen from every day of a year, with the ends
    # of the week, month and year as build_financial passes them (the week's may lie in the
    # next month or year): the same floats as one due_between per category and end.
    schedules = (
        Schedule("rent", "monthly", 800.1, (date(2026, 1, 31), date(2026, 2, 28),
                                            date(2026, 3, 31))),
        Schedule("rent", "weekly", 0.7, (date(2026, 3, 2), date(2026, 3, 9),
                                         date(2026, 3, 16))),
        Schedule("phone", "biweekly", 33.3, (date(2026, 2, 3), date(2026, 2, 17),
                                             date(2026, 3, 3))),
        Schedule("rent", "monthly", 0.1, (date(2026, 1, 15), date(2026, 2, 15),
                                          date(2026, 3, 15))),
    )
    for n in range(0, 300, 3):
        today = date(2026, 3, 10) + timedelta(days=n)
        monday = today - timedelta(days=today.weekday())
        month_end = add_months(today.replace(day=1), 1) - timedelta(days=1)
        ends = [monday + timedelta(days=6), month_end, date(today.year, 12, 31)]
        expected = {name: tuple(due_between(schedules, name, today, end) for end in ends)
                    for name in ("rent", "phone")}
        assert dues_by_category(schedules, today, ends) == expected
    assert dues_by_category((), date(2026, 3, 10), [date(2026, 3, 15)]) == {}
